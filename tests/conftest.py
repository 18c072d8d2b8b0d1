"""Shared helpers: free loopback ports and `llm-exporter` run as a real subprocess."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parent.parent
EXE = [sys.executable, "-m", "llm_exporter.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EXE, *args], capture_output=True, text=True, timeout=timeout)


class ServeProcess:
    """`llm-exporter serve` on a free loopback port, waited for until it answers."""

    def __init__(
        self, *extra: str, scheme: str = "http", env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [*EXE, "serve", "--listen-address", f"127.0.0.1:{self.port}", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self._wait_listening()

    def _wait_listening(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited early: {self.proc.stderr.read()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("serve did not start listening")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout=10)
        finally:
            self.proc.stdout.close()
            self.proc.stderr.close()


@pytest.fixture
def serve() -> Iterator[ServeProcess]:
    proc = ServeProcess()
    yield proc
    proc.stop()


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    """Until ``url`` answers 200; RuntimeError when ``proc`` exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 within {timeout}s")


def http_get(url: str, headers: dict[str, str] | None = None, **kw) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10, **kw) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def samples(source: Any) -> list[tuple[str, dict[str, str], float]]:
    """(name, labels, value) of every sample in ``source``: a registry, an exposition in the text
    format, or such rows already (as lists, the way JSON gives them back)."""
    if isinstance(source, str):
        families = text_string_to_metric_families(source)
    elif hasattr(source, "collect"):
        families = source.collect()
    else:
        return [(name, labels, value) for name, labels, value in source]
    return [(s.name, s.labels, s.value) for family in families for s in family.samples]


def sample_sum(source: Any, name: str, **labels: str) -> float:
    """The sum of the samples of ``source`` (as for ``samples``) named ``name`` that carry every
    one of ``labels`` with that value."""
    return sum(v for n, lab, v in samples(source)
               if n == name and all(lab.get(k) == want for k, want in labels.items()))  # fmt: skip


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is not installed (make install-tools, or apt-get install prometheus)")
    return path


def promtool_check_metrics(exposition: bytes) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), "check", "metrics"],
        input=exposition.decode(),
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "NO_COLOR": "1"},
    )
