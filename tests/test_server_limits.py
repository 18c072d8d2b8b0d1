"""The metrics server under crowds and slow clients, its methods and its listen address."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import time
from collections.abc import Iterator

import openai
import pytest
from prometheus_client import CollectorRegistry

from llm_exporter import instrument_openai, server
from llm_exporter.metrics import Metrics
from llm_exporter.server import MetricsServer, parse_listen_address

from .conftest import EXE, free_port, run_cli


@pytest.fixture
def metrics_server() -> Iterator[MetricsServer]:
    registry = CollectorRegistry()
    Metrics(registry)  # the self-metrics: a body to HEAD
    with MetricsServer(registry, "127.0.0.1", 0) as running:
        yield running


def test_a_crowd_of_fresh_connections_waits_in_the_backlog_not_for_a_syn_retry() -> None:
    # Not serving yet: every connection must sit in the listen backlog. With a backlog of 5,
    # the 7th SYN was dropped and its connect() waited a second for the retry.
    idle = MetricsServer(CollectorRegistry(), "127.0.0.1", 0)
    conns: list[socket.socket] = []
    try:
        for _ in range(100):
            conns.append(socket.create_connection(("127.0.0.1", idle.port), timeout=0.5))
    finally:
        for conn in conns:
            conn.close()
        idle.stop()
    assert len(conns) == 100


def test_a_client_dripping_bytes_is_cut_off_at_the_request_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(server._ThreadingServer, "request_timeout", 1.0)
    monkeypatch.setattr(server._ThreadingServer, "max_connections", 3)
    with MetricsServer(CollectorRegistry(), "127.0.0.1", 0) as running:
        drips = [socket.create_connection(("127.0.0.1", running.port)) for _ in range(3)]
        start = time.monotonic()
        # Each read gets a byte well within the 30 s per-read timeout, forever.
        closed: set[int] = set()
        while len(closed) < len(drips) and time.monotonic() - start < 5:
            for i, conn in enumerate(drips):
                if i in closed:
                    continue
                try:
                    conn.sendall(b"G")
                except OSError:
                    closed.add(i)
            time.sleep(0.2)
        cut_after = time.monotonic() - start
        # With every slot held by a dripper, a scrape still gets through once they are cut.
        conn = http.client.HTTPConnection("127.0.0.1", running.port, timeout=5)
        conn.request("GET", "/healthz")
        assert conn.getresponse().status == 200
        for drip in drips:
            drip.close()
    assert len(closed) == 3 and cut_after < 3, cut_after


@pytest.mark.parametrize("path", ["/", "/metrics", "/healthz"])
def test_every_path_answers_the_same_methods(metrics_server: MetricsServer, path: str) -> None:
    def ask(method: str) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", metrics_server.port, timeout=5)
        conn.request(method, path)
        response = conn.getresponse()
        response.body = response.read()  # type: ignore[attr-defined]
        return response

    get, head = ask("GET"), ask("HEAD")
    assert get.status == head.status == 200 and get.body and not head.body
    assert head.getheader("Content-Type") == get.getheader("Content-Type")
    assert int(head.getheader("Content-Length")) == len(get.body)
    options = ask("OPTIONS")
    assert options.status == 200 and options.getheader("Allow") == "GET, HEAD, OPTIONS"
    for method in ("POST", "PUT", "DELETE"):
        refused = ask(method)
        assert refused.status == 405 and refused.getheader("Allow") == "GET, HEAD, OPTIONS"


@pytest.mark.parametrize("address", ["[::1:5", "::1:5", "[::1]5:", "[foo]:5", "a]:5", "[]:5"])
def test_malformed_listen_addresses_are_refused(address: str) -> None:
    with pytest.raises(ValueError, match="IPv6"):
        parse_listen_address(address)


def test_a_bad_listen_address_is_one_line_exit_2() -> None:
    result = run_cli("serve", "--listen-address", "[::1:5")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "llm-exporter: error: --listen-address: expected host:port or [IPv6]:port, got '[::1:5'"
    ]


def test_serve_with_a_missing_multiprocess_folder_is_one_line_exit_2(tmp_path) -> None:
    missing = tmp_path / "nope"
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(missing)}
    result = subprocess.run([*EXE, "serve", "--listen-address", "127.0.0.1:0", "--no-gpu"],
                            capture_output=True, text=True, timeout=30, env=env)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"llm-exporter: error: PROMETHEUS_MULTIPROC_DIR: {missing} is not a folder: create it "
        "(empty) before the workers and serve start"
    ]


def test_simulate_on_a_busy_port_is_one_line() -> None:
    port = free_port()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        result = run_cli("simulate", "--port", str(port))
    assert result.returncode != 0
    assert result.stderr.splitlines() == [
        f"llm-exporter simulate: error: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]


def test_a_bad_user_cap_is_refused_at_set_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_EXPORTER_USER_DAILY_CAP_USD", "-3")
    client = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="x")
    with pytest.raises(ValueError, match="LLM_EXPORTER_USER_DAILY_CAP_USD"):
        instrument_openai(client, metrics=Metrics(CollectorRegistry()))
    monkeypatch.setenv("LLM_EXPORTER_USER_DAILY_CAP_USD", "ten")
    with pytest.raises(ValueError, match="LLM_EXPORTER_USER_DAILY_CAP_USD must be a number"):
        instrument_openai(client, metrics=Metrics(CollectorRegistry()))


@pytest.mark.parametrize(
    ("command", "variable", "value"),
    [
        ("serve", "LLM_EXPORTER_MAX_LABEL_SETS", "abc"),
        ("serve", "LLM_EXPORTER_MAX_LABEL_VALUE_LENGTH", "-1"),
        ("demo", "LLM_EXPORTER_USER_DAILY_CAP_USD", "ten"),
        ("demo", "LLM_EXPORTER_USER_TOP_N", "0"),
        ("demo", "LLM_EXPORTER_ATTRIBUTION", "department"),
        ("demo", "LLM_EXPORTER_MAX_LABEL_SETS", "1.5"),
    ],
)
def test_a_bad_setting_in_the_environment_is_one_line_exit_2(
    command: str, variable: str, value: str
) -> None:
    env = {**os.environ, variable: value}
    args = [*EXE, command, "--listen-address", "127.0.0.1:0"]
    result = subprocess.run(args, capture_output=True, text=True, timeout=30, env=env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("llm-exporter: error: environment: "), lines
    assert variable in lines[0]
