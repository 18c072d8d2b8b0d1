"""One world's series, minute by minute, as its application and GPU nodes would expose them.

Every count is a random draw from the world's seed: calls, errors, feedback, checks and judge
scores per minute are Poisson or binomial draws and histogram buckets a multinomial draw, so a
small app at night has minutes without a call, five-minute windows without a success, an hour
with one invalid JSON answer among fifteen, and a sub-agent silent for an hour, as real small
apps have. ``Conditions`` holds the knobs an incident turns; ``Events`` the restarts, deploys
and scrape gaps. Minute 0 is Thursday 1970-01-01 00:00 UTC (promtool's clock).

Series names come from the catalog; label values are those the instrumentation writes.
"""

from __future__ import annotations

import functools
import math
import random
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import catalog as c
from ..errortypes import CONNECTION, OUTPUT_PARSE, RATE_LIMIT, SERVER_ERROR, TIMEOUT
from ..rulegen.alerts.infra import UP
from ..track.judge import CRITERIA, QUEUED
from ..track.tracker import HUMAN, INVALID, NEGATIVE, POSITIVE, VALID
from .sampling import binomial, bucket_probs, lognormal_cdf, multinomial, poisson, total_of
from .worlds import GpuNode, ModelSpec, WorldSpec

MINUTE = 60.0
DAY = 1440
APP_JOB, APP_INSTANCE = "app", "app:9464"
APP = (("job", APP_JOB), ("instance", APP_INSTANCE))
GPU_JOB = "llm-exporter"
NEW_TOOL_ERROR = CONNECTION  # the class a tool starts failing with in the new-error incident
STAGES = (("retrieval", 0.5), ("guardrails", 0.3), ("llm", 0.8), ("postprocess", 0.25))
MISSING = math.nan  # a minute without a sample (before a series exists, in a scrape gap)


@dataclass(frozen=True)
class Conditions:
    """The knobs of the application's behaviour; the defaults are a normal minute.
    Knobs named per model apply to ``model`` only (every model when it is empty)."""

    traffic: float = 1.0
    stopped: bool = False
    model: str = ""
    share_gain: float = 0.0  # share points ``model`` takes from the others
    response_model: str = ""  # what the provider names instead of the usual response model
    server_error: float = 0.002
    rate_limit: float = 0.0015
    timeout: float = 0.0005
    latency: float = 1.0
    tail_share: float = 0.0  # calls ten times slower than the rest
    first_chunk: float = 1.0
    tokens: float = 1.0
    price: float = 1.0  # cost per token (all models)
    retrieval_stage: float = 1.0  # factor on the retrieval stage's duration
    tool_latency: float = 1.0  # the busy tool
    tool_timeout: float = 0.001
    tool_new_error: float = 0.0  # share of the busy tool's calls failing with NEW_TOOL_ERROR
    deep_share: float = 0.0  # requests nesting 6 agents deep
    human_handoff: float = 0.02  # of the main agent's runs
    quality: float = 0.88
    json_invalid: float = 0.004
    negative_feedback: float = 0.06
    gpu: str = ""  # uuid of the GPU the knobs below act on
    gpu_heat: float = 0.0
    gpu_throttle: bool = False
    gpu_xid: str = ""
    gpu_memory_leak: float = 0.0  # share of memory a leak adds on top of the normal use


NORMAL = Conditions()


@dataclass(frozen=True)
class Events:
    """Minutes of the app's restarts (counters back to 0), deploys (a restart with a new
    version) and scrape gaps (every series missing)."""

    restarts: tuple[int, ...] = ()
    deploys: tuple[int, ...] = ()
    gaps: tuple[tuple[int, int], ...] = ()  # (first minute, length)


@dataclass
class Series:
    """Every series's samples, one a minute (NaN where there is none)."""

    minutes: int
    values: dict[str, array] = field(default_factory=dict)

    def column(self, name: str) -> array:
        return self.values[name]

    def blank(self, first: int, length: int, only: str = "") -> None:
        for name, column in self.values.items():
            if only in name:
                for m in range(first, min(first + length, self.minutes + 1)):
                    column[m] = MISSING


@functools.lru_cache(maxsize=4096)  # the same few hundred series, every minute
def key(name: str, *labels: tuple[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in labels)
    return f"{name}{{{inner}}}"


def _le(bound: float) -> str:
    return "+Inf" if bound == math.inf else repr(float(bound))


@functools.lru_cache(maxsize=1024)
def _histogram_keys(spec: c.MetricSpec, labels: tuple[tuple[str, str], ...]
                    ) -> tuple[tuple[str, ...], str]:  # fmt: skip
    bounds = (*(spec.buckets or ()), math.inf)
    buckets = tuple(key(spec.bucket, *labels, ("le", _le(b))) for b in bounds)
    return buckets, key(spec.count, *labels)


@functools.lru_cache(maxsize=1024)
def lognormal_probs(spec: c.MetricSpec, median: float, sigma: float, tail: float = 0.0
                    ) -> tuple[float, ...]:  # fmt: skip
    """The bins' probabilities for a lognormal duration, ``tail`` of it ten times slower."""
    bounds = (*(spec.buckets or ()), math.inf)
    cdf = [(1 - tail) * lognormal_cdf(b, median, sigma) + tail * lognormal_cdf(b, 10 * median, 0.3)
           for b in bounds]  # fmt: skip
    return tuple(bucket_probs(cdf))


def local_hour(spec: WorldSpec, minute: int) -> float:
    return (minute / 60.0 + spec.utc_offset_h) % 24


def local_weekday(spec: WorldSpec, minute: int) -> int:
    """Monday = 0 (1970-01-01, minute 0, was a Thursday)."""
    return int((minute + spec.utc_offset_h * 60) // DAY + 3) % 7


def shape(spec: WorldSpec, minute: int) -> float:
    """Share of the peak at this minute of the app's local day and week."""
    hour = local_hour(spec, minute)
    day = 0.0
    if 7 <= hour < 23:
        day = math.sin(math.pi * (hour - 7) / 16) ** 1.5
    lunch = spec.lunch_bump * math.exp(-(((hour - 12.5) / 0.9) ** 2))
    level = spec.night_floor + (1 - spec.night_floor) * day + lunch
    weekend = spec.weekend_dip if local_weekday(spec, minute) >= 5 else 1.0
    return level * weekend / (1 + spec.lunch_bump)


def call_cost(model: ModelSpec) -> float:
    return (model.input_tokens * model.price[0] + model.output_tokens * model.price[1]) / 1e6


def expected_daily_cost(spec: WorldSpec) -> float:
    """A normal weekday's spend (Monday), from the expected traffic."""
    per_call = sum(mo.share * call_cost(mo) for mo in spec.models)
    monday = 4 * DAY  # minute 0 is a Thursday
    calls = sum(spec.peak_calls_per_min * shape(spec, monday + m) for m in range(DAY))
    return calls * per_call


class World:
    """Writes every series for minutes 0..N under the conditions of each minute."""

    def __init__(self, spec: WorldSpec, minutes: int, conditions: Callable[[int], Conditions],
                 events: Events = Events()) -> None:  # fmt: skip
        self.spec = spec
        self.minutes = minutes
        self.conditions = conditions
        self.events = events
        self._rng = random.Random(spec.seed)
        self._current: dict[str, float] = {}
        self._counters: set[str] = set()
        self._series = Series(minutes)
        self._slow = 0.0
        self._version = 0
        self._models = {mo.name: mo for mo in spec.models}
        self._per_call_share = spec.peak_calls_per_min * 60

    def run(self) -> Series:
        restarts = set(self.events.restarts) | set(self.events.deploys)
        deploys = set(self.events.deploys)
        for m in range(self.minutes + 1):
            if m in restarts:
                self._restart(m in deploys)
            self._minute(m, self.conditions(m))
            self._snapshot(m)
        for m in sorted(r for r in restarts if r <= self.minutes):
            # the restart itself: one failed scrape of the app
            self._series.blank(m, 1, only=f'instance="{APP_INSTANCE}"')
            self._series.values[key(UP, *APP)][m] = 0
        for first, length in self.events.gaps:
            self._series.blank(first, length)
        return self._series

    # -- bookkeeping ---------------------------------------------------------------------------

    def _add(self, name: str, amount: float, create: bool = False) -> None:
        """A counter; it comes into being at its first increment (or when ``create``)."""
        if name in self._current:
            self._current[name] += amount
        elif amount or create:
            self._current[name] = amount
            self._counters.add(name)

    def _set(self, name: str, value: float) -> None:
        self._current[name] = value

    def _snapshot(self, m: int) -> None:
        values = self._series.values
        for name, value in self._current.items():
            column = values.get(name)
            if column is None:
                column = values[name] = array("d", [MISSING]) * (self.minutes + 1)
            column[m] = value

    def _restart(self, deploy: bool) -> None:
        app = f'instance="{APP_INSTANCE}"'
        for name in self._counters:
            if app in name:
                self._current[name] = 0.0
        if deploy:
            info = (c.APP_INFO.name, c.BUILD_INFO.name)
            for name in [n for n in self._current if n.startswith(info) and app in n]:
                del self._current[name]
            self._version += 1

    def _histogram(self, spec: c.MetricSpec, labels: tuple[tuple[str, str], ...],
                   probs: tuple[float, ...], n: int) -> None:  # fmt: skip
        """n observations drawn into the buckets (a multinomial over the bins)."""
        buckets, count = _histogram_keys(spec, labels)
        if n <= 0 and count not in self._current:
            return
        total = 0
        for name, drawn in zip(buckets, multinomial(self._rng, n, probs), strict=True):
            total += drawn
            self._add(name, total, create=True)
        self._add(count, n, create=True)

    # -- one minute ----------------------------------------------------------------------------

    def _minute(self, m: int, cond: Conditions) -> None:
        spec, rng = self.spec, self._rng
        self._slow = 0.98 * self._slow + rng.gauss(0, 0.015)
        expected = spec.peak_calls_per_min * shape(spec, m) * cond.traffic * math.exp(self._slow)
        calls = 0 if cond.stopped or m == 0 else poisson(rng, expected)
        shares = self._shares(cond)
        per_model = multinomial(rng, calls, [shares[mo.name] for mo in spec.models])
        answered = 0
        for model, n in zip(spec.models, per_model, strict=True):
            answered += self._llm(model, n, cond)
        runs = binomial(rng, calls, 0.4)
        self._agents(m, runs, cond)
        self._judge(answered)
        self._gpus(m, cond, calls / max(1.0, spec.peak_calls_per_min))
        self._targets(m)

    def _shares(self, cond: Conditions) -> dict[str, float]:
        shares = {mo.name: mo.share for mo in self.spec.models}
        if cond.share_gain and cond.model in shares:
            others = 1 - shares[cond.model]
            gain = min(cond.share_gain, others)
            for name in shares:
                if name == cond.model:
                    shares[name] += gain
                else:
                    shares[name] -= gain * shares[name] / others
        return shares

    def _llm(self, model: ModelSpec, n: int, cond: Conditions) -> int:
        rng, spec = self._rng, self.spec
        hit = not cond.model or cond.model == model.name
        base = (*APP, (c.OPERATION, "chat"), (c.PROVIDER, "openai"), (c.REQUEST_MODEL, model.name))
        server = ((c.SERVER_ADDRESS, "api.openai.com"),)
        left = n
        for cls, rate in ((SERVER_ERROR, cond.server_error), (RATE_LIMIT, cond.rate_limit),
                          (TIMEOUT, cond.timeout)):  # fmt: skip
            failed = binomial(rng, left, rate)
            left -= failed
            self._add(key(c.OPERATION_DURATION.count, *base, (c.RESPONSE_MODEL, ""), *server,
                          (c.ERROR_TYPE, cls)), failed)  # fmt: skip
        self._add(key(c.RETRIES.name, *base, *server),
                  poisson(rng, n * (0.01 + 1.5 * cond.rate_limit)))  # fmt: skip
        response = cond.response_model if hit and cond.response_model else model.response
        answered = (*base, (c.RESPONSE_MODEL, response), *server)
        checks = binomial(rng, left, min(1.0, spec.json_checks_per_hour / self._per_call_share))
        invalid = binomial(rng, checks, cond.json_invalid if hit else NORMAL.json_invalid)
        ok = left - invalid
        self._add(key(c.OPERATION_DURATION.count, *answered, (c.ERROR_TYPE, OUTPUT_PARSE)), invalid)
        check = (*APP, (c.REQUEST_MODEL, model.name), (c.RESPONSE_MODEL, response),
                 ("check", "json"))  # fmt: skip
        self._add(key(c.OUTPUT_CHECKS.name, *check, ("result", VALID)), checks - invalid)
        self._add(key(c.OUTPUT_CHECKS.name, *check, ("result", INVALID)), invalid)

        median = model.latency_s * (cond.latency if hit else 1.0)
        tail = cond.tail_share if hit else 0.0

        ok_labels = (*answered, (c.ERROR_TYPE, ""))
        self._histogram(c.OPERATION_DURATION, ok_labels,
                        lognormal_probs(c.OPERATION_DURATION, median, 0.45, tail), ok)  # fmt: skip
        streams = binomial(rng, ok, 0.4)
        first = 0.3 * model.latency_s * (cond.first_chunk if hit else 1.0)
        self._histogram(c.TIME_TO_FIRST_CHUNK, answered,
                        lognormal_probs(c.TIME_TO_FIRST_CHUNK, first, 0.4), streams)  # fmt: skip
        factor = cond.tokens if hit else 1.0
        spent = 0.0
        for kind, mean, price in (("input", model.input_tokens, model.price[0]),
                                  ("output", model.output_tokens, model.price[1])):  # fmt: skip
            tokens = round(total_of(rng, ok, mean * factor, 0.6))
            labels = (*answered, (c.TOKEN_TYPE, kind))
            self._add(key(c.TOKEN_USAGE.sum, *labels), tokens)
            self._add(key(c.TOKEN_USAGE.count, *labels), ok)
            spent += tokens * price * cond.price / 1e6
        self._add(key(c.COST.name, *answered), spent)
        self._quality(model, ok, cond, hit)
        return ok

    def _quality(self, model: ModelSpec, ok: int, cond: Conditions, hit: bool) -> None:
        rng, spec = self._rng, self.spec
        judged = binomial(rng, ok, spec.judge_share)
        for evaluation in CRITERIA:
            mean = cond.quality if hit else NORMAL.quality
            mean = min(0.99, mean + (0.07 if evaluation == "safety" else 0.0))
            labels = (*APP, (c.EVALUATION_NAME, evaluation), (c.REQUEST_MODEL, model.name))
            self._add(key(c.QUALITY_SCORE.count, *labels), judged)
            score = min(float(judged), total_of(rng, judged, mean, 0.15))
            self._add(key(c.QUALITY_SCORE.sum, *labels), round(score, 4))
        votes = binomial(rng, ok, min(1.0, spec.feedback_per_hour / self._per_call_share))
        negative = binomial(rng, votes, cond.negative_feedback if hit else NORMAL.negative_feedback)
        route = (*APP, (c.REQUEST_MODEL, model.name), (c.ROUTE, "/chat"))
        self._add(key(c.FEEDBACK.name, *route, ("feedback", NEGATIVE)), negative)
        self._add(key(c.FEEDBACK.name, *route, ("feedback", POSITIVE)), votes - negative)

    def _judge(self, answered: int) -> None:
        judged = binomial(self._rng, answered, self.spec.judge_share)
        judge = self.spec.models[-1].name
        self._add(key(c.JUDGE_EVALUATIONS.name, *APP, (c.REQUEST_MODEL, judge),
                      (c.ERROR_TYPE, "")), judged)  # fmt: skip
        self._add(key(c.JUDGE_SAMPLES.name, *APP, ("outcome", QUEUED)), judged)

    # -- agents, tools, stages, retrieval ------------------------------------------------------

    def _agents(self, m: int, runs: int, cond: Conditions) -> None:
        rng, spec = self._rng, self.spec
        main, sub = spec.agents
        agent = (*APP, (c.AGENT_NAME, main))
        failed = binomial(rng, runs, 0.003)
        self._add(key(c.AGENT_DURATION.count, *agent, (c.ERROR_TYPE, "")), runs - failed)
        self._add(key(c.AGENT_DURATION.count, *agent, (c.ERROR_TYPE, TIMEOUT)), failed)
        deep = cond.deep_share
        probs = [0.7 * (1 - deep), 0.25 * (1 - deep), 0.05 * (1 - deep), 0, 0, deep]
        depths = multinomial(rng, runs, probs)
        self._add_depths(agent, depths)
        children = sum(count * (1 + d) for d, count in enumerate(depths, 1))
        self._add(key(c.AGENT_CHILD_INVOCATIONS.sum, *agent), children)
        self._add(key(c.AGENT_CHILD_INVOCATIONS.count, *agent), runs)
        # The sub-agent runs a few times an hour, each run a handoff from the main agent.
        sub_runs = poisson(rng, spec.sub_agent_per_hour / 60 * shape(spec, m) * cond.traffic)
        if cond.stopped:
            sub_runs = 0
        self._add(key(c.AGENT_DURATION.count, *APP, (c.AGENT_NAME, sub), (c.ERROR_TYPE, "")),
                  sub_runs)  # fmt: skip
        handoff = (*APP, ("from_agent", main))
        self._add(key(c.HANDOFFS.name, *handoff, ("to_agent", sub), ("reason", "delegate")),
                  sub_runs)  # fmt: skip
        self._add(key(c.HANDOFFS.name, *handoff, ("to_agent", HUMAN), ("reason", "low_confidence")),
                  binomial(rng, runs, cond.human_handoff))  # fmt: skip
        self._tools(m, runs, cond)
        self._stages(runs, cond)

    def _add_depths(self, agent: tuple[tuple[str, str], ...], depths: list[int]) -> None:
        """The depth histogram from the drawn depths (1, 2, 3 or 6 deep)."""
        for bound in (*(c.AGENT_DEPTH.buckets or ()), math.inf):
            within = sum(n for d, n in enumerate(depths, 1) if d <= bound)
            name = key(c.AGENT_DEPTH.bucket, *agent, ("le", _le(bound)))
            self._add(name, within, create=True)
        self._add(key(c.AGENT_DEPTH.count, *agent), sum(depths), create=True)

    def _tools(self, m: int, runs: int, cond: Conditions) -> None:
        rng, spec = self._rng, self.spec
        busy, rare = spec.tools
        rare_calls = 0 if cond.stopped else poisson(
            rng, spec.tool_rare_per_hour / 60 * shape(spec, m) * cond.traffic)  # fmt: skip
        for tool, calls, median in ((busy, runs, 0.12), (rare, rare_calls, 0.8)):
            is_busy = tool == busy
            labels = (*APP, (c.TOOL_NAME, tool))
            timeouts = binomial(rng, calls, cond.tool_timeout if is_busy else 0.001)
            new = binomial(rng, calls - timeouts, cond.tool_new_error if is_busy else 0.0)
            self._add(key(c.TOOL_DURATION.count, *labels, (c.ERROR_TYPE, TIMEOUT)), timeouts)
            self._add(key(c.TOOL_DURATION.count, *labels, (c.ERROR_TYPE, NEW_TOOL_ERROR)), new)
            ok = calls - timeouts - new
            slow = median * (cond.tool_latency if is_busy else 1.0)
            self._histogram(c.TOOL_DURATION, (*labels, (c.ERROR_TYPE, "")),
                            lognormal_probs(c.TOOL_DURATION, slow, 0.45), ok)  # fmt: skip
            if is_busy:
                self._retrieval(m, ok)

    def _stages(self, runs: int, cond: Conditions) -> None:
        for stage, seconds in STAGES:
            if stage == "retrieval":
                seconds *= cond.retrieval_stage
            labels = (*APP, (c.STAGE, stage), (c.ERROR_TYPE, ""))
            self._add(key(c.STAGE_DURATION.sum, *labels),
                      round(total_of(self._rng, runs, seconds, 0.5), 3))  # fmt: skip
            self._add(key(c.STAGE_DURATION.count, *labels), runs)

    def _retrieval(self, m: int, queries: int) -> None:
        rng = self._rng
        source = (*APP, (c.DATA_SOURCE, "kb"))
        empty = binomial(rng, queries, 0.03)
        found = queries - empty
        docs = multinomial(rng, found, [0.25, 0.25, 0.25, 0.25])  # 2 to 5 documents
        self._add_documents(source, empty, docs)
        self._add(key(c.RETRIEVAL_TOP_SCORE.count, *source), found)
        self._add(key(c.RETRIEVAL_TOP_SCORE.sum, *source),
                  round(min(float(found), total_of(rng, found, 0.78, 0.1)), 4))  # fmt: skip
        rebuilt = (m * MINUTE - 7200) // 86400 * 86400 + 7200  # the last 02:00 UTC
        self._set(key(c.RETRIEVAL_INDEX_UPDATED.name, *source), max(0.0, rebuilt))

    def _add_documents(self, source: tuple[tuple[str, str], ...], empty: int,
                       docs: list[int]) -> None:  # fmt: skip
        found = dict(zip((2, 3, 4, 5), docs, strict=True))
        for bound in (*(c.RETRIEVAL_DOCUMENTS.buckets or ()), math.inf):
            within = empty + sum(n for d, n in found.items() if d <= bound)
            self._add(key(c.RETRIEVAL_DOCUMENTS.bucket, *source, ("le", _le(bound))), within,
                      create=True)  # fmt: skip
        self._add(key(c.RETRIEVAL_DOCUMENTS.count, *source), empty + sum(docs), create=True)
        self._add(key(c.RETRIEVAL_DOCUMENTS.sum, *source),
                  sum(d * n for d, n in found.items()), create=True)  # fmt: skip

    # -- GPUs and targets ----------------------------------------------------------------------

    def _gpus(self, m: int, cond: Conditions, load: float) -> None:
        for node in self.spec.gpu_nodes:
            target = (("job", GPU_JOB), ("instance", node.instance))
            for gpu in range(node.gpus):
                self._gpu(m, cond, load, node, target, gpu)
            self._set(key(c.GPU_NVML_UP.name, *target), 1)
            self._set(key(c.GPU_DEVICES.name, *target), node.gpus)
            self._set(key(c.GPU_LAST_SUCCESS.name, *target), m * MINUTE)
            self._set(key(c.GPU_COLLECTION_FAILURES.name, *target, ("error_class", "unknown")), 0)

    def _gpu(self, m: int, cond: Conditions, load: float, node: GpuNode,
             target: tuple[tuple[str, str], ...], gpu: int) -> None:  # fmt: skip
        uuid = gpu_uuid(node, gpu)
        ident = (*target, (c.GPU, str(gpu)), (c.UUID, uuid))
        hit = cond.gpu == uuid
        self._set(key(c.GPU_INFO.name, *ident, ("name", "NVIDIA H100 80GB HBM3"),
                      ("pci_bus_id", f"00000000:1{gpu}:00.0"), ("driver_version", "550.54.15"),
                      ("cuda_version", "12.4")), 1)  # fmt: skip
        self._set(key(c.GPU_UP.name, *ident), 1)
        total = 80 * 2**30
        self._set(key(c.GPU_MEMORY_TOTAL.name, *ident), total)
        use = node.memory_share
        if node.memory_share < 0.8:  # a node without a reserving server follows its load
            use += 0.08 * min(1.0, load) + self._rng.gauss(0, 0.01)
        if hit:
            use += cond.gpu_memory_leak
        used = min(total, round(total * min(1.0, use) / 2**20) * 2**20)
        self._set(key(c.GPU_MEMORY_USED.name, *ident), used)
        heat = cond.gpu_heat if hit else 0.0
        temperature = round(normal_temperature(load) + 2 * gpu + heat + self._rng.gauss(0, 0.6))
        self._set(key(c.GPU_TEMPERATURE.name, *ident), temperature)
        self._set(key(c.GPU_TEMPERATURE_THRESHOLD.name, *ident, ("threshold", "slowdown")), 88)
        thermal = temperature >= 88 or (hit and cond.gpu_throttle)
        for reason in ("sw_thermal_slowdown", "hw_thermal_slowdown", "hw_power_brake_slowdown"):
            active = 1 if reason == "sw_thermal_slowdown" and thermal else 0
            self._set(key(c.GPU_CLOCK_EVENT_ACTIVE.name, *ident, ("reason", reason)), active)
        self._set(key(c.GPU_ECC_ERRORS.name, *ident, ("error_type", "uncorrected"),
                      ("counter_type", "volatile")), 0)  # fmt: skip
        self._set(key(c.GPU_ROW_REMAP_PENDING.name, *ident), 0)
        self._set(key(c.GPU_ROW_REMAP_FAILED.name, *ident), 0)
        if hit and cond.gpu_xid:
            xid = (*ident, ("xid", cond.gpu_xid))
            seen = key(c.GPU_XID_LAST_SEEN.name, *xid)
            if seen not in self._current:  # one event at the incident's first minute
                self._add(key(c.GPU_XID_ERRORS.name, *xid), 1)
                self._set(seen, m * MINUTE)

    def _targets(self, m: int) -> None:
        version = f"1.{4 + self._version}.0"
        self._set(key(UP, *APP), 1)
        self._set(key(c.BUILD_INFO.name, *APP, ("version", f"0.1.{self._version}"),
                      ("python_version", "3.11.7")), 1)  # fmt: skip
        self._set(key(c.APP_INFO.name, *APP, ("app_version", version),
                      ("git_commit", f"{self.spec.seed:04x}{self._version:03x}"),
                      ("prompt_version", "v3")), 1)  # fmt: skip
        self._add(key(c.LABELS_FOLDED.name, *APP, ("metric", c.OPERATION_DURATION.name)), 0,
                  create=True)  # fmt: skip
        for node in self.spec.gpu_nodes:
            target = (("job", GPU_JOB), ("instance", node.instance))
            self._set(key(UP, *target), 1)
            self._set(key(c.BUILD_INFO.name, *target, ("version", "0.1.0"),
                          ("python_version", "3.11.7")), 1)  # fmt: skip


def normal_temperature(load: float) -> float:
    """A GPU's temperature at this share of its peak load (GPU 0; the others run warmer)."""
    return 52 + 16 * min(1.0, load)


def gpu_uuid(node: GpuNode, gpu: int) -> str:
    return f"GPU-{node.instance.split(':')[0]}-{gpu}"
