"""``llm-exporter demo``: the simulator, an instrumented workload and /metrics in one process.

No API key and no GPU: the workload calls the project's OpenAI-compatible simulator through the
real openai SDK, instrumented like any application, so /metrics shows what a production app would.
An incident can be injected after a delay, to watch the rules and dashboards react.
"""

from __future__ import annotations

import contextlib
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import openai
from prometheus_client import REGISTRY, CollectorRegistry

from . import catalog
from .instrument.openai_sdk import instrument_openai, uninstrument_openai
from .metrics import default_metrics
from .server import MetricsServer
from .simulator import Simulator, SimulatorConfig

# Knobs for a normal day: a few hundred ms per call, rare errors.
NORMAL = SimulatorConfig(
    latency_s=0.25,
    latency_jitter_s=0.15,
    first_chunk_delay_s=0.12,
    inter_chunk_s=0.01,
    output_tokens=(20, 120),
    error_rates={"rate_limit": 0.01, "server_error": 0.005},
)

# What each incident changes in the simulator while it lasts.
INCIDENTS: dict[str, dict[str, Any]] = {
    "error-burst": {"error_rates": {"server_error": 0.25, "rate_limit": 0.15}},
    "latency-spike": {"latency_s": 2.5, "first_chunk_delay_s": 1.5},
    "token-surge": {"output_tokens": [600, 1200]},
    "model-switch": {"model_switch": {"gpt-4o": "gpt-4o-mini-2024-07-18"}},
}

SYSTEM = "You are a concise assistant for an online bookshop."
QUESTIONS = (
    "Which of your science fiction titles are in stock?",
    "Summarise the return policy in two sentences.",
    "Recommend three books like The Left Hand of Darkness.",
    "Is there a paperback edition of Piranesi?",
    "Translate 'shipping is free over 30 euros' into German.",
)


@dataclass(frozen=True)
class Step:
    weight: float
    run: Callable[[openai.OpenAI, random.Random], None]


def _messages(rng: random.Random) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": rng.choice(QUESTIONS)}]  # fmt: skip


def _chat(model: str) -> Callable[[openai.OpenAI, random.Random], None]:
    def run(client: openai.OpenAI, rng: random.Random) -> None:
        client.chat.completions.create(model=model, messages=_messages(rng))

    return run


def _chat_stream(model: str) -> Callable[[openai.OpenAI, random.Random], None]:
    def run(client: openai.OpenAI, rng: random.Random) -> None:
        with client.chat.completions.create(model=model, messages=_messages(rng), stream=True) as s:
            for _ in s:
                pass

    return run


def _json_answer(client: openai.OpenAI, rng: random.Random) -> None:
    client.chat.completions.create(
        model="gpt-4o-mini", messages=_messages(rng), response_format={"type": "json_object"}
    )


def _responses(client: openai.OpenAI, rng: random.Random) -> None:
    client.responses.create(model="gpt-4o", instructions=SYSTEM, input=rng.choice(QUESTIONS))


def _embed(client: openai.OpenAI, rng: random.Random) -> None:
    client.embeddings.create(model="text-embedding-3-small", input=[rng.choice(QUESTIONS)])


WORKLOAD = (
    Step(0.30, _chat("gpt-4o-mini")),
    Step(0.15, _chat("gpt-4o")),
    Step(0.20, _chat_stream("gpt-4o")),
    Step(0.10, _chat_stream("gpt-4o-mini")),
    Step(0.05, _chat("llama-3.1-8b-instruct")),  # self-hosted: no price, counted as unpriced
    Step(0.08, _json_answer),
    Step(0.07, _responses),
    Step(0.05, _embed),
)


class Demo:
    def __init__(
        self,
        host: str,
        port: int,
        workers: int,
        rate: float,
        incident: str | None,
        incident_after: float,
        incident_for: float,
        seed: int | None = None,
    ) -> None:
        self.sim = Simulator(NORMAL)
        self.server = MetricsServer(REGISTRY, host, port)  # binds now: a busy port fails here
        self.workers = workers
        self.pause = workers / rate if rate > 0 else 0.0
        self.incident = incident
        self.incident_after = incident_after
        self.incident_for = incident_for
        self.rng = random.Random(seed)
        self.stop_event = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        default_metrics()
        self.sim.start()
        instrument_openai()
        self.server.start()
        for i in range(self.workers):
            seed = self.rng.random()
            thread = threading.Thread(
                target=self._work, args=(seed,), name=f"demo-{i}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        if self.incident:
            threading.Thread(target=self._incident, name="demo-incident", daemon=True).start()

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self._threads:
            thread.join(timeout=10)
        uninstrument_openai()
        self.server.stop()
        self.sim.stop()

    def _work(self, seed: float) -> None:
        rng = random.Random(seed)
        client = openai.OpenAI(base_url=self.sim.base_url, api_key="demo", max_retries=1,
                               timeout=10.0)  # fmt: skip
        steps = [s.run for s in WORKLOAD]
        weights = [s.weight for s in WORKLOAD]
        while not self.stop_event.is_set():
            step = rng.choices(steps, weights)[0]
            began = time.monotonic()
            # Failures are recorded by the instrumentation; a real app would handle them.
            with contextlib.suppress(openai.OpenAIError):
                step(client, rng)
            if self.pause:
                # Poisson arrivals at the target rate, less the time the call itself took.
                wait = rng.expovariate(1 / self.pause) - (time.monotonic() - began)
                self.stop_event.wait(max(0.0, wait))
        client.close()

    def _incident(self) -> None:
        assert self.incident is not None
        if self.stop_event.wait(self.incident_after):
            return
        normal = {key: getattr(NORMAL, key) for key in INCIDENTS[self.incident]}
        self.sim.update(**INCIDENTS[self.incident])
        _say(f"incident '{self.incident}' started; it lasts {self.incident_for:g}s")
        if self.stop_event.wait(self.incident_for):
            return
        self.sim.update(**normal)
        _say(f"incident '{self.incident}' over")


def summary(registry: CollectorRegistry = REGISTRY) -> str:
    """One line from the live metrics themselves: calls, errors, tokens, cost."""
    calls = errors = tokens = cost = 0.0
    wanted = {catalog.OPERATION_DURATION.count, catalog.TOKEN_USAGE.sum, catalog.COST.name}
    for family in registry.collect():
        for sample in family.samples:
            if sample.name not in wanted:
                continue
            if sample.name == catalog.OPERATION_DURATION.count:
                calls += sample.value
                if sample.labels.get(catalog.ERROR_TYPE):
                    errors += sample.value
            elif sample.name == catalog.TOKEN_USAGE.sum:
                tokens += sample.value
            else:
                cost += sample.value
    return f"calls {calls:,.0f}  errors {errors:,.0f}  tokens {tokens:,.0f}  cost ${cost:,.4f}"


def _say(text: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
    print(text, file=sys.stderr, flush=True)


def run(demo: Demo, duration: float | None, stop: threading.Event) -> None:
    demo.start()
    _say(f"metrics:   {demo.server.url}/metrics")
    _say(f"simulator: {demo.sim.base_url} (OpenAI-compatible; GET /_sim/config to see its knobs)")
    tty = sys.stderr.isatty()
    deadline = time.monotonic() + duration if duration else None
    try:
        while not stop.wait(1.0):
            if tty:
                sys.stderr.write("\r\033[K" + summary())
                sys.stderr.flush()
            if deadline is not None and time.monotonic() >= deadline:
                break
    finally:
        demo.stop()
        _say(summary())
