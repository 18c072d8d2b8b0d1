"""`llm-exporter serve` as a real process: scrape, negotiation, shutdown, user errors."""

from __future__ import annotations

import gzip
import signal
import socket
import urllib.request

import pytest

from llm_exporter import catalog

from .conftest import ServeProcess, http_get, promtool_check_metrics, run_cli


def test_metrics_pass_promtool_check(serve: ServeProcess) -> None:
    status, headers, body = http_get(serve.url + "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert f"{catalog.BUILD_INFO.name}{{".encode() in body
    result = promtool_check_metrics(body)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == ""


def test_openmetrics_when_asked(serve: ServeProcess) -> None:
    accept = "application/openmetrics-text; version=1.0.0; charset=utf-8"
    status, headers, body = http_get(serve.url + "/metrics", {"Accept": accept})
    assert status == 200
    assert headers["Content-Type"].startswith("application/openmetrics-text")
    assert body.rstrip().endswith(b"# EOF")


def test_gzip_when_asked(serve: ServeProcess) -> None:
    status, headers, body = http_get(serve.url + "/metrics", {"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    assert catalog.BUILD_INFO.name.encode() in gzip.decompress(body)
    # The header's XFL byte: 4 for the fastest level (ours, 1), 2 for prometheus_client's 9.
    assert body[8] == 4


def test_one_content_length_that_fits_the_body(serve: ServeProcess) -> None:
    for asked in ({}, {"Accept-Encoding": "gzip"}):
        request = urllib.request.Request(serve.url + "/metrics", headers=asked)
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.headers.get_all("Content-Length") == [str(len(resp.read()))], asked


def test_landing_healthz_and_404(serve: ServeProcess) -> None:
    status, _, body = http_get(serve.url + "/")
    assert status == 200 and b'href="/metrics"' in body
    assert http_get(serve.url + "/healthz")[:1] == (200,)
    assert http_get(serve.url + "/nope")[0] == 404


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_clean_shutdown_on_signal(sig: signal.Signals) -> None:
    proc = ServeProcess()
    proc.proc.send_signal(sig)
    assert proc.stop() == 0
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", proc.port), timeout=1):
        pass


def test_port_in_use_is_one_clear_line(serve: ServeProcess) -> None:
    result = run_cli("serve", "--listen-address", f"127.0.0.1:{serve.port}")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == [f"llm-exporter: error: cannot listen on 127.0.0.1:{serve.port}: "
                     "Address already in use"]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["serve", "--bogus"], "No such option '--bogus'"),
        (["--bogus"], "No such option '--bogus'"),
        (["serve", "--listen-address", "127.0.0.1:notaport"], "port must be a number"),
    ],
)
def test_bad_flags_are_one_line_exit_2(args: list[str], expect: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert expect in result.stderr and "Traceback" not in result.stderr


def test_version_and_help() -> None:
    from llm_exporter import __version__

    assert run_cli("--version").stdout.strip() == f"llm-exporter, version {__version__}"
    for cmd in (["--help"], ["serve", "--help"], ["check-config", "--help"]):
        result = run_cli(*cmd)
        assert result.returncode == 0 and "Usage:" in result.stdout
