"""A real gunicorn app with 4 workers in multiprocess mode: after N requests, each one
instrumented openai call against the simulator, the app's /metrics holds exactly N calls and
the exact token sums, across workers and across a worker killed and replaced."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from llm_exporter import __version__, catalog, multiprocess
from llm_exporter.simulator import Simulator, SimulatorConfig

from .conftest import REPO, free_port, http_get, sample_sum, samples

WORKERS = 4


class Gunicorn:
    def __init__(self, folder: Path, sim_url: str) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, multiprocess.ENV: str(folder), "SIM_URL": sim_url}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--bind",
             f"127.0.0.1:{self.port}", "--config", str(REPO / "tests" / "gunicorn_conf.py"),
             "--chdir", str(REPO), "--log-level", "warning", "tests.mp_app:app"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip

    def get(self, path: str) -> bytes:
        status, _, body = http_get(self.url + path)
        assert status == 200, f"{path}: {status} {body[:300]!r}"
        return body

    def wait_ready(self, timeout: float = 30) -> None:
        """Until every worker has imported the app (each writes its build info on import)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.proc.stdout.read()}")
            if len(list(self.folder.glob("gauge_livemax_*.db"))) >= WORKERS:
                with contextlib.suppress(OSError):
                    if http_get(self.url + "/metrics")[0] == 200:
                        return
            time.sleep(0.1)
        raise RuntimeError("gunicorn's workers did not all start")

    def calls(self, n: int) -> list[dict[str, int]]:
        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(lambda _: json.loads(self.get("/call")), range(n)))

    def scrape(self) -> list[tuple[str, dict[str, str], float]]:
        return samples(self.get("/metrics").decode())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        finally:
            self.proc.stdout.close()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Gunicorn]:
    with Simulator(SimulatorConfig(output_tokens=7)) as sim:
        running = Gunicorn(tmp_path / "metrics", sim.base_url)
        try:
            running.wait_ready()
            yield running
        finally:
            running.stop()


def test_four_workers_count_every_call_exactly(app: Gunicorn) -> None:
    first = app.calls(60)
    assert len({r["pid"] for r in first}) > 1  # the calls really spread over workers
    scraped = app.scrape()
    check_totals(scraped, first)
    build = [ls for n, ls, v in scraped if n == catalog.BUILD_INFO.name and v == 1]
    assert len(build) == 1 and build[0]["version"] == __version__
    sets = sample_sum(scraped, catalog.LABEL_SETS.name, metric=catalog.OPERATION_DURATION.name)
    assert sets == 1  # livemax: one label set in every worker, not one per worker

    # A worker killed mid-run: gunicorn's child_exit hook drops its live gauges, its counts
    # stay in the sums, and the replacement adds to them.
    victim = first[0]["pid"]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while any(app.folder.glob(f"gauge_live*_{victim}.db")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(app.folder.glob(f"gauge_live*_{victim}.db"))
    assert any(app.folder.glob(f"histogram_{victim}.db"))
    second = app.calls(30)
    scraped = app.scrape()
    check_totals(scraped, first + second)
    assert sample_sum(scraped, catalog.BUILD_INFO.name) == 1


def check_totals(scraped: list[tuple[str, dict[str, str], float]], calls: list[dict]) -> None:
    duration, tokens = catalog.OPERATION_DURATION, catalog.TOKEN_USAGE
    assert sample_sum(scraped, duration.count) == len(calls)
    assert sample_sum(scraped, duration.count, error_type="") == len(calls)
    assert sample_sum(scraped, tokens.count, gen_ai_token_type="input") == len(calls)
    inputs = sum(r["input"] for r in calls)
    assert sample_sum(scraped, tokens.sum, gen_ai_token_type="input") == inputs
    assert sample_sum(scraped, tokens.sum, gen_ai_token_type="output") == 7 * len(calls)
    assert sample_sum(scraped, catalog.INSTRUMENTATION_ERRORS.name) == 0
