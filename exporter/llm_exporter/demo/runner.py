"""``llm-exporter demo``: the simulator, an instrumented workload and /metrics in one process.

No API key and no GPU: the workload calls the project's OpenAI-compatible simulator through the
real openai SDK, instrumented like any application, so /metrics shows what a production app would.
An incident can be injected after a delay, to watch the rules and dashboards react.
"""

from __future__ import annotations

import contextlib
import random
import subprocess
import sys
import threading
import time

import openai
from prometheus_client import REGISTRY, CollectorRegistry

from .. import __version__, catalog
from ..instrument.openai_sdk import instrument_openai, uninstrument_openai
from ..metrics import default_metrics
from ..server import MetricsServer
from ..simulator import Simulator, SimulatorConfig
from ..track import Judge, default_tracker
from .incidents import INCIDENTS, Workload, restore_patch
from .workload import KNOWLEDGE_BASE, WORKLOAD, Ctx, attributed

# Knobs for a normal day: a few hundred ms per call, rare errors, good judge scores.
NORMAL = SimulatorConfig(
    latency_s=0.25,
    latency_jitter_s=0.15,
    first_chunk_delay_s=0.12,
    inter_chunk_s=0.01,
    output_tokens=(20, 120),
    error_rates={"rate_limit": 0.01, "server_error": 0.005},
    score=0.88,
    score_jitter=0.06,
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
        seed: int | None,
        judge_sample_rate: float,
    ) -> None:
        self.sim = Simulator(NORMAL)
        self.judge_sample_rate = judge_sample_rate
        self.commit = _git_commit()  # published with each prompt-version change
        self.server = MetricsServer(REGISTRY, host, port)  # binds now: a busy port fails here
        self.workers = workers
        self.pause = workers / rate if rate > 0 else 0.0
        self.incident = incident
        self.incident_after = incident_after
        self.incident_for = incident_for
        self.rng = random.Random(seed)
        self.stop_event = threading.Event()
        self.workload = Workload()
        self.judge: Judge | None = None
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        default_metrics()
        self.sim.start()
        instrument_openai()
        self.judge = Judge(self._client(), model="gpt-4o-mini", sample_rate=self.judge_sample_rate,
                           seed=self.rng.randrange(2**32))  # fmt: skip
        self._publish_versions()
        # The knowledge base was rebuilt by a nightly job a few hours ago.
        default_tracker().set_index_updated(KNOWLEDGE_BASE, time.time() - 3 * 3600)
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
        if self.judge is not None:
            self.judge.close(timeout=2)
        uninstrument_openai()
        self.server.stop()
        self.sim.stop()

    def _client(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.sim.base_url, api_key="demo", max_retries=1,
                             timeout=10.0)  # fmt: skip

    def _publish_versions(self) -> None:
        default_tracker().set_app_info(__version__, self.commit,
                                       self.workload.conditions.prompt_version)  # fmt: skip

    def _work(self, seed: float) -> None:
        assert self.judge is not None
        rng = random.Random(seed)
        ctx = Ctx(self._client(), rng, default_tracker(), self.judge, self.workload)
        weights = [s.weight for s in WORKLOAD]
        while not self.stop_event.is_set():
            step = rng.choices(WORKLOAD, weights)[0]
            began = time.monotonic()
            # Failures are recorded by the instrumentation; a real app would handle them.
            with contextlib.suppress(openai.OpenAIError), attributed(step, rng):
                step.run(ctx)
            if self.pause:
                # Poisson arrivals at the target rate, less the time the call itself took.
                wait = rng.expovariate(1 / self.pause) - (time.monotonic() - began)
                self.stop_event.wait(max(0.0, wait))
        ctx.client.close()

    def _incident(self) -> None:
        assert self.incident is not None
        incident = INCIDENTS[self.incident]
        if self.stop_event.wait(self.incident_after):
            return
        self.sim.apply_patch(incident.simulator)
        self.workload.apply(incident.workload)
        self._publish_versions()
        _say(f"incident '{self.incident}' started ({incident.summary}); "
             f"it lasts {self.incident_for:g}s")  # fmt: skip
        if self.stop_event.wait(self.incident_for):
            return
        self.sim.apply_patch(restore_patch(NORMAL, incident))
        self.workload.reset()
        self._publish_versions()
        _say(f"incident '{self.incident}' over")


def _git_commit() -> str:
    """The commit of the checkout the demo runs from, for the app-info series; "" elsewhere."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=2, cwd=__file__.rsplit("/", 1)[0])  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


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
