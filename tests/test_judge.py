"""LLM-as-a-judge through the real openai SDK against the simulator: scores, sampling, outages,
the queue bound; and automatic output checks of JSON and JSON-schema calls."""

from __future__ import annotations

import time
from collections.abc import Iterator

import openai
import pytest
from prometheus_client import CollectorRegistry

from llm_exporter import catalog, instrument_openai
from llm_exporter.metrics import Metrics
from llm_exporter.simulator import Simulator, SimulatorConfig
from llm_exporter.track import Judge, Tracker

SCORE = catalog.QUALITY_SCORE
EVALS = catalog.JUDGE_EVALUATIONS.name
SAMPLES = catalog.JUDGE_SAMPLES.name
JUDGE_MODEL = "gpt-4o-mini"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(SimulatorConfig(score=0.8, score_jitter=0.0)) as running:
        yield running


class Env:
    def __init__(self, base_url: str) -> None:
        self.registry = CollectorRegistry()
        self.tracker = Tracker(Metrics(self.registry))
        self.client = openai.OpenAI(base_url=base_url, api_key="sim", max_retries=0, timeout=10)

    def judge(self, **kw: object) -> Judge:
        return Judge(self.client, model=JUDGE_MODEL, tracker=self.tracker, **kw)  # type: ignore[arg-type]

    def value(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0


def test_sampled_answers_are_scored_and_the_judges_own_calls_recorded(sim: Simulator) -> None:
    env = Env(sim.base_url)
    with env.judge(sample_rate=1.0) as judge:
        for _ in range(5):
            assert judge.submit("What is a histogram?", "A bucketed count.", model="gpt-4o")
        assert judge.drain(timeout=30)
    for criterion in ("faithfulness", "relevance", "safety"):
        labels = {"gen_ai_evaluation_name": criterion, "gen_ai_request_model": "gpt-4o"}
        assert env.value(SCORE.count, **labels) == 5
        assert env.value(SCORE.sum, **labels) == pytest.approx(5 * 0.8)
    assert env.value(EVALS, gen_ai_request_model=JUDGE_MODEL, error_type="") == 5
    # The judge's own call is an LLM call like any other: tokens and cost under its model.
    calls = sum(s.value for f in env.registry.collect() for s in f.samples
                if s.name == catalog.OPERATION_DURATION.count
                and s.labels["gen_ai_request_model"] == JUDGE_MODEL)  # fmt: skip
    assert calls == 5
    cost = sum(s.value for f in env.registry.collect() for s in f.samples
               if s.name == catalog.COST.name
               and s.labels["gen_ai_request_model"] == JUDGE_MODEL)  # fmt: skip
    assert cost > 0
    checks = catalog.OUTPUT_CHECKS.name
    assert sum(s.value for f in env.registry.collect() for s in f.samples
               if s.name == checks and s.labels["check"] == "json_schema"
               and s.labels["result"] == "valid") == 5  # fmt: skip


def test_sampling_rate_within_statistical_bounds(sim: Simulator) -> None:
    env = Env(sim.base_url)
    with env.judge(sample_rate=0.05, queue_size=10_000) as judge:
        sampled = sum(judge.submit("q", "a", model="gpt-4o") for _ in range(10_000))
        assert judge.drain(timeout=60)
    # Binomial(10 000, 0.05): mean 500, sd 21.8; five sd either side.
    assert 391 <= sampled <= 609
    assert env.value(SAMPLES, outcome="queued") == sampled
    assert env.value(EVALS, gen_ai_request_model=JUDGE_MODEL, error_type="") == sampled


@pytest.mark.parametrize(
    ("failure", "error_type"),
    [({"server_error": 1.0}, "server_error"), ({"malformed_json": 1.0}, "output_parse")],
)
def test_a_judge_outage_never_slows_the_request_path(
    failure: dict[str, float], error_type: str
) -> None:
    slow_and_broken = SimulatorConfig(latency_s=0.3, error_rates=failure)
    with Simulator(slow_and_broken) as judge_sim:
        env = Env(judge_sim.base_url)
        judge = env.judge(sample_rate=1.0, workers=2)
        submit_times = []
        for _ in range(10):
            began = time.perf_counter()
            judge.submit("q", "a", model="gpt-4o")
            submit_times.append(time.perf_counter() - began)
        # Each judge call takes at least 0.3 s; the request path never waits for one.
        assert max(submit_times) < 0.05
        assert judge.drain(timeout=30)
        judge.close()
    assert env.value(EVALS, gen_ai_request_model=JUDGE_MODEL, error_type=error_type) == 10
    assert env.value(EVALS, gen_ai_request_model=JUDGE_MODEL, error_type="") == 0
    assert env.value(SCORE.count, gen_ai_evaluation_name="relevance",
                     gen_ai_request_model="gpt-4o") == 0  # fmt: skip


def test_the_queue_bound_holds_and_drops_are_counted() -> None:
    with Simulator(SimulatorConfig(latency_s=0.5)) as judge_sim:
        env = Env(judge_sim.base_url)
        judge = env.judge(sample_rate=1.0, queue_size=3, workers=1)
        accepted = sum(judge.submit("q", "a", model="gpt-4o") for _ in range(20))
        length = env.registry.get_sample_value(catalog.JUDGE_QUEUE_LENGTH.name)
        queued, dropped = (
            env.value(SAMPLES, outcome="queued"),
            env.value(SAMPLES, outcome="dropped"),
        )
        judge.close(timeout=10)
    assert queued == accepted and queued + dropped == 20
    assert 3 <= queued <= 4  # three waiting, at most one already taken by the worker
    # the gauge reads the queue: three waiting, or two once the worker took the first
    assert length is not None and 2 <= length <= 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"sample_rate": 1.5}, "sample_rate"), ({"sample_rate": -0.1}, "sample_rate"),
     ({"queue_size": 0}, "queue_size"), ({"workers": 0}, "workers"),
     ({"criteria": []}, "criteria")],
)  # fmt: skip
def test_bad_judge_configuration_fails_at_set_up(kwargs: dict, message: str) -> None:
    env = Env("http://127.0.0.1:9/v1")
    with pytest.raises(ValueError, match=message):
        env.judge(**kwargs)


# -- automatic output checks of instrumented calls ------------------------------------------------

SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}


def _schema_format(schema: dict) -> dict:
    return {"type": "json_schema", "json_schema": {"name": "out", "schema": schema}}


def test_json_and_schema_outputs_are_checked_by_model(sim: Simulator) -> None:
    env = Env(sim.base_url)
    instrument_openai(env.client, metrics=env.tracker.metrics)
    msgs = [{"role": "user", "content": "answer in JSON"}]
    chat = env.client.chat.completions.create
    chat(model="gpt-4o", messages=msgs, response_format={"type": "json_object"})
    chat(model="gpt-4o", messages=msgs, response_format=_schema_format(SCHEMA))
    broken = {"extra_headers": {"x-sim-error": "malformed_json"}}
    chat(model="gpt-4o", messages=msgs, response_format=_schema_format(SCHEMA), **broken)
    # Parses, but misses a required key: invalid against the schema.
    mismatch = {**SCHEMA, "required": ["answer", "sources"]}
    chat(model="gpt-4o", messages=msgs, response_format=_schema_format(mismatch))
    with env.client.responses.stream(
        model="gpt-4o", input="answer in JSON",
        text={"format": {"type": "json_schema", "name": "out", "schema": SCHEMA}},
    ) as stream:  # fmt: skip
        for _ in stream:
            pass
    checks = catalog.OUTPUT_CHECKS.name
    base = {"gen_ai_request_model": "gpt-4o", "gen_ai_response_model": "gpt-4o-2024-08-06"}
    assert env.value(checks, check="json", result="valid", **base) == 1
    assert env.value(checks, check="json_schema", result="valid", **base) == 2
    assert env.value(checks, check="json_schema", result="invalid", **base) == 2
    parse_errors = sum(s.value for f in env.registry.collect() for s in f.samples
                       if s.name == catalog.OPERATION_DURATION.count
                       and s.labels["error_type"] == "output_parse")  # fmt: skip
    assert parse_errors == 2
