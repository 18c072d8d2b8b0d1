"""Correctness under load, briefly (scripts/bench_load.py runs it for a minute and times it):
8 threads of instrumented calls, plain and streaming, while /metrics is scraped without pause.
No exception, no lost count, and no scrape sees a count go down."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import openai
import pytest
from prometheus_client import CollectorRegistry

from llm_exporter import catalog, instrument_openai
from llm_exporter.metrics import Metrics
from llm_exporter.server import MetricsServer
from llm_exporter.simulator import Simulator, SimulatorConfig

from .conftest import http_get, sample_sum

MSG = [{"role": "user", "content": "under load"}]
THREADS, CALLS = 8, 40


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(SimulatorConfig(output_tokens=9)) as running:
        yield running


def test_concurrent_calls_and_scrapes_lose_nothing(sim: Simulator) -> None:
    registry = CollectorRegistry()
    client = openai.OpenAI(base_url=sim.base_url, api_key="sim", max_retries=0)
    instrument_openai(client, metrics=Metrics(registry))
    errors: list[BaseException] = []
    seen: list[float] = []
    done = threading.Event()

    def call() -> None:
        try:
            for i in range(CALLS):
                if i % 4 == 3:
                    for _ in client.chat.completions.create(
                        model="gpt-4o-mini", messages=MSG, stream=True
                    ):
                        pass
                else:
                    client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def scrape(url: str) -> None:
        try:
            while not done.is_set():
                status, _, body = http_get(url)
                assert status == 200
                seen.append(sample_sum(body.decode(), catalog.OPERATION_DURATION.count))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    with MetricsServer(registry, "127.0.0.1", 0) as server:
        url = server.url + "/metrics"
        scraper = threading.Thread(target=scrape, args=(url,))
        callers = [threading.Thread(target=call) for _ in range(THREADS)]
        scraper.start()
        for t in callers:
            t.start()
        for t in callers:
            t.join()
        done.set()
        scraper.join()
        body = http_get(url)[2].decode()
    assert not errors
    assert len(seen) >= 2 and seen == sorted(seen)  # never a count that goes down
    assert sample_sum(body, catalog.OPERATION_DURATION.count) == THREADS * CALLS
    output = sample_sum(body, catalog.TOKEN_USAGE.sum, gen_ai_token_type="output")
    assert output == 9 * THREADS * CALLS
