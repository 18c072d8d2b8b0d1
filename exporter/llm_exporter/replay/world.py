"""A synthetic LLM application, minute by minute, as llm-exporter would expose it.

Traffic follows a day (quiet nights, a daytime plateau), a week (quieter weekends) and noise;
two models share it; a quarter of it is agent requests with a vector search (and its retrieval
health: empty results, relevance, an index rebuilt every night at 02:00), stages, handoffs and
judge scores; two GPUs serve a self-hosted model. ``Conditions`` holds the knobs an
incident turns; everything else is derived. Counters are cumulative floats (expected values,
not draws), so a quiet minute is quiet, never empty by chance.

Series names come from the catalog; label values are those the instrumentation writes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import catalog as c
from ..errortypes import CONTEXT_LENGTH, OUTPUT_PARSE, RATE_LIMIT, SERVER_ERROR, TIMEOUT
from ..rulegen.alerts.infra import UP
from ..track.judge import CRITERIA, QUEUED
from ..track.tracker import HUMAN, INVALID, NEGATIVE, POSITIVE, VALID

MINUTE = 60.0
PEAK_CALLS_PER_S = 1.0
MODELS = {"gpt-4o": 0.45, "gpt-4o-mini": 0.55}
PRICES = {"gpt-4o": (2.50, 10.00), "gpt-4o-mini": (0.15, 0.60)}  # USD per million in/out
LATENCY_MEDIAN_S = {"gpt-4o": 1.1, "gpt-4o-mini": 0.6}
NORMAL_RESPONSE_MODELS = {"gpt-4o": "gpt-4o-2024-08-06", "gpt-4o-mini": "gpt-4o-mini-2024-07-18"}
APP = (("job", "app"), ("instance", "app:9464"))
GPU_NODE = (("job", "llm-exporter"), ("instance", "gpu-node-1:9464"))


@dataclass(frozen=True)
class Conditions:
    """The knobs of the application's behaviour; the defaults are a normal day."""

    traffic: float = 1.0
    error_rates: tuple[tuple[str, float], ...] = (
        (SERVER_ERROR, 0.002), (RATE_LIMIT, 0.0015), (TIMEOUT, 0.0005))  # fmt: skip
    context_overflow: float = 0.0  # share of calls rejected with context_length_exceeded
    latency: float = 1.0  # factor on the latency medians
    first_chunk: float = 1.0
    input_tokens: float = 1.0
    output_tokens: float = 1.0
    response_models: tuple[tuple[str, str], ...] = tuple(NORMAL_RESPONSE_MODELS.items())
    quality: float = 0.88  # mean judge score
    json_invalid: float = 0.004  # share of JSON answers that do not parse
    retries: float = 0.01  # SDK retries per call
    context: float = 0.006  # median share of the context window a prompt takes
    tool_timeout: float = 0.001
    tool_latency: float = 1.0
    deep_share: float = 0.0  # share of requests nesting 6 agents deep
    fanout: float = 2.0  # children per agent run
    handoff: float = 0.01  # handoffs per request
    negative_feedback: float = 0.06
    empty_retrievals: float = 0.02  # share of knowledge-base searches that find nothing
    relevance: float = 0.78  # mean relevance score of the best document found
    gpu_heat: float = 0.0  # degrees added to the GPUs' normal temperature


@dataclass
class Series:
    """Every series, its samples per minute (None before it exists)."""

    minutes: int
    values: dict[str, list[float | None]] = field(default_factory=dict)

    def _slot(self, key: str) -> list[float | None]:
        found = self.values.get(key)
        if found is None:
            found = self.values[key] = [None] * (self.minutes + 1)
        return found

    def add(self, key: str, m: int, amount: float) -> None:
        """A counter: its value at minute m is what it had at m-1 plus ``amount``."""
        slot = self._slot(key)
        before = slot[m - 1] if m > 0 and slot[m - 1] is not None else 0.0
        slot[m] = before + amount

    def carry(self, m: int) -> None:
        """Counters not touched this minute keep their value (a counter never disappears)."""
        for slot in self.values.values():
            if slot[m] is None and m > 0 and slot[m - 1] is not None:
                slot[m] = slot[m - 1]

    def set(self, key: str, m: int, value: float) -> None:
        self._slot(key)[m] = value


def key(name: str, *labels: tuple[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in labels)
    return f"{name}{{{inner}}}"


def lognormal_cdf(x: float, median: float, sigma: float) -> float:
    if x == math.inf:
        return 1.0
    return 0.5 * (1 + math.erf((math.log(x) - math.log(median)) / (sigma * math.sqrt(2))))


def daily_shape(minute: int) -> float:
    """Share of peak traffic at this time of day and week (minute 0 = Thursday 00:00 UTC)."""
    hour = (minute / 60.0) % 24
    day = (minute // 1440 + 3) % 7  # Monday = 0: 1970-01-01 was a Thursday
    shape = 0.15
    if 6 <= hour < 22:
        shape += 0.85 * math.sin(math.pi * (hour - 6) / 16) ** 1.2
    return shape * (0.7 if day >= 5 else 1.0)


class World:
    """Writes every series for minutes 0..N under conditions chosen per minute."""

    def __init__(self, minutes: int, conditions: Callable[[int], Conditions], seed: int = 7):
        self.minutes = minutes
        self.conditions = conditions
        self.series = Series(minutes)
        self._rng = random.Random(seed)
        self._slow = 0.0
        self._seen: set[tuple[str, str]] = set()  # error series that exist (born at the first)

    def run(self) -> Series:
        for m in range(self.minutes + 1):
            self._slow = 0.97 * self._slow + self._rng.gauss(0, 0.01)
            noise = max(0.5, 1 + self._slow + self._rng.gauss(0, 0.03))
            self._minute(m, self.conditions(m), noise)
            self.series.carry(m)
        return self.series

    def _minute(self, m: int, cond: Conditions, noise: float) -> None:
        calls = PEAK_CALLS_PER_S * MINUTE * daily_shape(m) * cond.traffic * noise if m else 0.0
        responses = dict(cond.response_models)
        total_ok = 0.0
        for model, share in MODELS.items():
            total_ok += self._llm(m, model, responses[model], calls * share, cond, noise)
        self._agents(m, calls / 4, cond, noise)
        self._judge(m, total_ok)
        self._gpus(m, cond)
        self._targets(m)

    # -- LLM calls -----------------------------------------------------------------------------

    def _llm(self, m: int, model: str, response: str, calls: float, cond: Conditions,
             noise: float) -> float:  # fmt: skip
        s = self.series
        base = (*APP, (c.OPERATION, "chat"), (c.PROVIDER, "openai"), (c.REQUEST_MODEL, model))
        server = ((c.SERVER_ADDRESS, "api.openai.com"),)
        failed = {cls: calls * rate for cls, rate in cond.error_rates}
        failed[CONTEXT_LENGTH] = calls * cond.context_overflow
        json_calls = calls * 0.1
        parse_errors = json_calls * cond.json_invalid
        ok = calls - sum(failed.values()) - parse_errors
        for cls, amount in failed.items():
            if amount or (cls, model) in self._seen:
                self._seen.add((cls, model))
                s.add(key(c.OPERATION_DURATION.count, *base, (c.RESPONSE_MODEL, ""), *server,
                          (c.ERROR_TYPE, cls)), m, amount)  # fmt: skip
        answered = (*base, (c.RESPONSE_MODEL, response), *server)
        s.add(key(c.OPERATION_DURATION.count, *answered, (c.ERROR_TYPE, OUTPUT_PARSE)), m,
              parse_errors)  # fmt: skip
        s.add(key(c.OPERATION_DURATION.count, *answered, (c.ERROR_TYPE, "")), m, ok)
        median = LATENCY_MEDIAN_S[model] * cond.latency * (0.95 + 0.05 * noise)
        for le in (*c.OPERATION_DURATION.buckets, math.inf):
            s.add(key(c.OPERATION_DURATION.bucket, *answered, (c.ERROR_TYPE, ""), ("le", _le(le))),
                  m, ok * lognormal_cdf(le, median, 0.5))  # fmt: skip
        streams = ok * 0.4
        for le in (*c.TIME_TO_FIRST_CHUNK.buckets, math.inf):
            s.add(key(c.TIME_TO_FIRST_CHUNK.bucket, *answered, ("le", _le(le))), m,
                  streams * lognormal_cdf(le, 0.35 * cond.first_chunk, 0.4))  # fmt: skip
        tokens_in, tokens_out = 600 * cond.input_tokens, 180 * cond.output_tokens
        for kind, per_call in (("input", tokens_in), ("output", tokens_out)):
            s.add(key(c.TOKEN_USAGE.sum, *answered, (c.TOKEN_TYPE, kind)), m, ok * per_call)
            s.add(key(c.TOKEN_USAGE.count, *answered, (c.TOKEN_TYPE, kind)), m, ok)
        price_in, price_out = PRICES[model]
        cost = ok * (tokens_in * price_in + tokens_out * price_out) / 1e6
        s.add(key(c.COST.name, *answered), m, cost)
        s.add(key(c.RETRIES.name, *base, *server), m, calls * cond.retries)
        context = (*APP, (c.OPERATION, "chat"), (c.PROVIDER, "openai"), (c.REQUEST_MODEL, model))
        for le in (*c.CONTEXT_WINDOW_USAGE.buckets, math.inf):
            s.add(key(c.CONTEXT_WINDOW_USAGE.bucket, *context, ("le", _le(le))), m,
                  ok * lognormal_cdf(le, cond.context, 0.3))  # fmt: skip
        checks = (*APP, (c.REQUEST_MODEL, model), (c.RESPONSE_MODEL, response), ("check", "json"))
        s.add(key(c.OUTPUT_CHECKS.name, *checks, ("result", VALID)), m, json_calls - parse_errors)
        s.add(key(c.OUTPUT_CHECKS.name, *checks, ("result", INVALID)), m, parse_errors)
        for evaluation in CRITERIA:
            scored = ok * 0.05
            mean = min(1.0, cond.quality + (0.06 if evaluation == "safety" else 0.0))
            labels = (*APP, (c.EVALUATION_NAME, evaluation), (c.REQUEST_MODEL, model))
            s.add(key(c.QUALITY_SCORE.count, *labels), m, scored)
            s.add(key(c.QUALITY_SCORE.sum, *labels), m, scored * mean)
        votes = ok * 0.02
        for feedback, share in ((NEGATIVE, cond.negative_feedback),
                                (POSITIVE, 1 - cond.negative_feedback)):  # fmt: skip
            s.add(key(c.FEEDBACK.name, *APP, (c.REQUEST_MODEL, model), (c.ROUTE, "/support"),
                      ("feedback", feedback)), m, votes * share)  # fmt: skip
        return ok

    # -- agents, tools, stages ---------------------------------------------------------------

    def _agents(self, m: int, requests: float, cond: Conditions, noise: float) -> None:
        s = self.series
        agent = (*APP, (c.AGENT_NAME, "support"))
        s.add(key(c.AGENT_DURATION.count, *agent, (c.ERROR_TYPE, "")), m, requests * 0.998)
        s.add(key(c.AGENT_DURATION.count, *agent, (c.ERROR_TYPE, TIMEOUT)), m, requests * 0.002)
        normal = ((1, 0.7), (2, 0.25), (3, 0.05))
        depths = [(d, share * (1 - cond.deep_share)) for d, share in normal]
        depths.append((6, cond.deep_share))
        for le in (*c.AGENT_DEPTH.buckets, math.inf):
            within = sum(share for d, share in depths if d <= le)
            s.add(key(c.AGENT_DEPTH.bucket, *agent, ("le", _le(le))), m, requests * within)
        s.add(key(c.AGENT_DEPTH.count, *agent), m, requests)
        s.add(key(c.AGENT_CHILD_INVOCATIONS.sum, *agent), m, requests * cond.fanout)
        s.add(key(c.AGENT_CHILD_INVOCATIONS.count, *agent), m, requests)
        tool = (*APP, (c.TOOL_NAME, "vector_search"))
        timeouts = requests * cond.tool_timeout
        s.add(key(c.TOOL_DURATION.count, *tool, (c.ERROR_TYPE, "")), m, requests - timeouts)
        s.add(key(c.TOOL_DURATION.count, *tool, (c.ERROR_TYPE, TIMEOUT)), m, timeouts)
        median = 0.12 * cond.tool_latency * (0.95 + 0.05 * noise)
        for le in (*c.TOOL_DURATION.buckets, math.inf):
            s.add(key(c.TOOL_DURATION.bucket, *tool, (c.ERROR_TYPE, ""), ("le", _le(le))), m,
                  (requests - timeouts) * lognormal_cdf(le, median, 0.45))  # fmt: skip
        retrieval = 0.45 * cond.tool_latency + cond.tool_timeout * 2.0
        for stage, seconds in (("retrieval", retrieval), ("llm", 0.6 * cond.latency),
                               ("postprocess", 0.12)):  # fmt: skip
            labels = (*APP, (c.STAGE, stage), (c.ERROR_TYPE, ""))
            s.add(key(c.STAGE_DURATION.sum, *labels), m, requests * seconds)
            s.add(key(c.STAGE_DURATION.count, *labels), m, requests)
        s.add(key(c.HANDOFFS.name, *APP, ("from_agent", "support"), ("to_agent", HUMAN),
                  ("reason", "low_confidence")), m, requests * cond.handoff)  # fmt: skip
        self._retrieval(m, requests, cond)

    def _retrieval(self, m: int, queries: float, cond: Conditions) -> None:
        s = self.series
        source = (*APP, (c.DATA_SOURCE, "kb"))
        empty = queries * cond.empty_retrievals
        found = queries - empty
        # A search that finds anything finds 2 to 5 documents, evenly.
        for le in (*c.RETRIEVAL_DOCUMENTS.buckets, math.inf):
            s.add(key(c.RETRIEVAL_DOCUMENTS.bucket, *source, ("le", _le(le))), m,
                  empty + found * min(1.0, max(0.0, (le - 1) / 4)))  # fmt: skip
        s.add(key(c.RETRIEVAL_DOCUMENTS.count, *source), m, queries)
        s.add(key(c.RETRIEVAL_DOCUMENTS.sum, *source), m, found * 3.5)
        s.add(key(c.RETRIEVAL_TOP_SCORE.count, *source), m, found)
        s.add(key(c.RETRIEVAL_TOP_SCORE.sum, *source), m, found * cond.relevance)
        rebuilt = (m * MINUTE - 7200) // 86400 * 86400 + 7200  # the last 02:00 UTC
        s.set(key(c.RETRIEVAL_INDEX_UPDATED.name, *source), m, rebuilt)

    def _judge(self, m: int, answered: float) -> None:
        s = self.series
        judged = answered * 0.05
        s.add(key(c.JUDGE_EVALUATIONS.name, *APP, (c.REQUEST_MODEL, "gpt-4o-mini"),
                  (c.ERROR_TYPE, "")), m, judged)  # fmt: skip
        s.add(key(c.JUDGE_SAMPLES.name, *APP, ("outcome", QUEUED)), m, judged)

    # -- GPUs and targets -------------------------------------------------------------------

    def _gpus(self, m: int, cond: Conditions) -> None:
        s = self.series
        for gpu in (0, 1):
            ident = (*GPU_NODE, ("gpu", str(gpu)), ("uuid", f"GPU-0000000{gpu}-replay"))
            s.set(key(c.GPU_INFO.name, *ident, ("name", "NVIDIA H100 80GB HBM3"),
                      ("pci_bus_id", f"00000000:1{gpu}:00.0"), ("driver_version", "550.54.15"),
                      ("cuda_version", "12.4")), m, 1)  # fmt: skip
            s.set(key(c.GPU_UP.name, *ident), m, 1)
            s.set(key(c.GPU_MEMORY_TOTAL.name, *ident), m, 80e9)
            s.set(key(c.GPU_MEMORY_USED.name, *ident), m, 80e9 * 0.72)
            temperature = 60 + 12 * daily_shape(m) + gpu + cond.gpu_heat
            s.set(key(c.GPU_TEMPERATURE.name, *ident), m, round(temperature, 1))
            s.set(key(c.GPU_TEMPERATURE_THRESHOLD.name, *ident, ("threshold", "slowdown")), m, 88)
            for reason in ("sw_thermal_slowdown", "hw_thermal_slowdown", "hw_slowdown",
                           "hw_power_brake_slowdown", "gpu_idle"):  # fmt: skip
                active = 1 if reason == "sw_thermal_slowdown" and temperature >= 88 else 0
                s.set(key(c.GPU_CLOCK_EVENT_ACTIVE.name, *ident, ("reason", reason)), m, active)
            s.set(key(c.GPU_ECC_ERRORS.name, *ident, ("error_type", "uncorrected"),
                      ("counter_type", "volatile")), m, 0)  # fmt: skip
            s.set(key(c.GPU_ROW_REMAP_PENDING.name, *ident), m, 0)
            s.set(key(c.GPU_ROW_REMAP_FAILED.name, *ident), m, 0)
        s.set(key(c.GPU_NVML_UP.name, *GPU_NODE), m, 1)
        s.set(key(c.GPU_DEVICES.name, *GPU_NODE), m, 2)
        s.set(key(c.GPU_LAST_SUCCESS.name, *GPU_NODE), m, m * MINUTE)
        s.set(key(c.GPU_COLLECTION_FAILURES.name, *GPU_NODE, ("error_class", "unknown")), m, 0)

    def _targets(self, m: int) -> None:
        s = self.series
        for target in (APP, GPU_NODE):
            s.set(key(UP, *target), m, 1)
            s.set(key(c.BUILD_INFO.name, *target, ("version", "0.1.0"),
                      ("python_version", "3.11.7")), m, 1)  # fmt: skip
        s.set(key(c.LABELS_FOLDED.name, *APP, ("metric", c.OPERATION_DURATION.name)), m, 0)


def _le(bound: float) -> str:
    return "+Inf" if bound == math.inf else repr(float(bound))
