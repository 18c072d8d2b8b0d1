"""The incidents the rule pack must catch: what each changes, what it hits, which alerts count.

``DETECTED_BY`` is the one table of which alert names count as detecting which incident; the
rule pack's author may rename alerts, so keep it next to the incidents and easy to edit. The
magnitudes sit clearly above the thresholds the rule-pack issue lists (a 50% threshold staged
at +100%, a 1-2% timeout threshold at 8%), as a real incident does, neither borderline nor
absurd.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from .world import (
    NORMAL,
    Conditions,
    expected_daily_cost,
    gpu_uuid,
    normal_temperature,
    shape,
)
from .worlds import WorldSpec

# incident -> alert names (the pack's prefix LLM included) that count as detecting it
DETECTED_BY: dict[str, frozenset[str]] = {
    k: frozenset(v)
    for k, v in {
        "traffic-stopped": {"LLMTrafficStopped"},
        "traffic-surge": {"LLMTrafficSurge"},
        "traffic-drop": {"LLMTrafficDrop"},
        "model-mix-shift": {"LLMModelMixShift"},
        "new-response-model": {"LLMNewResponseModel"},
        "tool-latency": {"LLMToolLatencyRegression"},
        "tool-timeouts": {"LLMToolTimeouts", "LLMToolErrors"},
        "tool-new-error": {"LLMToolErrors"},
        "tokens-per-request": {"LLMTokensPerRequestHigh"},
        "hourly-tokens": {"LLMHourlyTokenSurge", "LLMTokensPerRequestHigh"},
        "cost-outpacing-traffic": {"LLMCostOutpacingTraffic", "LLMCostPerRequestDoubled"},
        "daily-budget": {"LLMDailyBudgetExceeded", "LLMDailyBudgetForecast"},
        "latency-regression": {"LLMLatencyRegression", "LLMHighLatencyP95"},
        "latency-tail": {"LLMLatencyTailHeavy"},
        "first-chunk-slowdown": {"LLMFirstChunkSlowdown"},
        "stage-dominant": {"LLMStageDominant"},
        "server-errors": {"LLMHighErrorRate", "LLMErrorBudgetBurn"},
        "rate-limit-storm": {"LLMRateLimited", "LLMHighErrorRate"},
        "agent-depth": {"LLMAgentDepthHigh"},
        "human-handoffs": {"LLMHandoffRateRising"},
        "judge-scores": {"LLMQualityScoreDropping", "LLMQualityScoreLow"},
        "json-invalid": {"LLMStructuredOutputInvalid", "LLMOutputParseFailures"},
        "thumbs-down": {"LLMThumbsDownRising"},
        "gpu-temperature": {"LLMGPUTemperatureHigh", "LLMGPUThermalThrottling"},
        "gpu-throttling": {"LLMGPUThermalThrottling"},
        "gpu-xid": {"LLMGPUXidCritical"},
        "gpu-memory-leak": {"LLMGPUMemoryHigh", "LLMGPUMemoryFillingUp"},
    }.items()
}

# The alert label naming each kind of entity an incident hits.
ENTITY_LABELS = {"model": "gen_ai_request_model", "tool": "gen_ai_tool_name",
                 "agent": "gen_ai_agent_name", "stage": "stage", "gpu": "uuid"}  # fmt: skip

Change = Callable[[int], Conditions]  # minutes since the start -> the conditions then


@dataclass(frozen=True)
class Staged:
    """One incident staged in one world at one time."""

    name: str
    start: int  # minute
    minutes: int
    change: Change
    entity: dict[str, str]  # alert label -> value; alerts with the label must carry the value
    night: bool

    @property
    def end(self) -> int:
        return self.start + self.minutes


@dataclass(frozen=True)
class Incident:
    name: str
    summary: str
    entity: str  # model, tool, agent, stage, gpu or "" (the whole app)
    stage: Callable[[WorldSpec, int, bool], tuple[Conditions, str]]
    # (world, start minute, at night) -> (conditions while it lasts, the entity's value)
    # How long it lasts, picked by the world's seed: long enough for hour-long windows, short
    # enough for four incidents a day (each day has more slots than a 2-hour one leaves).
    minutes: tuple[int, int] = (60, 90)
    ramp: str = ""  # a knob that climbs from normal to its staged value over ``ramp_minutes``
    ramp_minutes: int = 0

    @property
    def detected_by(self) -> frozenset[str]:
        return DETECTED_BY[self.name]


def _main_model(w: WorldSpec) -> str:
    return max(w.models, key=lambda mo: mo.share).name


def _minor_model(w: WorldSpec) -> str:
    return min(w.models, key=lambda mo: mo.share).name


def _app(**knobs: object) -> Callable[[WorldSpec, int, bool], tuple[Conditions, str]]:
    return lambda _w, _start, _night: (replace(NORMAL, **knobs), "")  # type: ignore[arg-type]


def _on_model(pick: Callable[[WorldSpec], str], **knobs: object
              ) -> Callable[[WorldSpec, int, bool], tuple[Conditions, str]]:  # fmt: skip
    def stage(w: WorldSpec, _start: int, _night: bool) -> tuple[Conditions, str]:
        model = pick(w)
        return replace(NORMAL, model=model, **knobs), model  # type: ignore[arg-type]

    return stage


def _on(value: Callable[[WorldSpec], str], **knobs: object
        ) -> Callable[[WorldSpec, int, bool], tuple[Conditions, str]]:  # fmt: skip
    return lambda w, _start, _night: (replace(NORMAL, **knobs), value(w))  # type: ignore[arg-type]


def _on_gpu(**knobs: object) -> Callable[[WorldSpec, int, bool], tuple[Conditions, str]]:
    """GPU 0 of the vLLM node (reserving ~91% of memory) by day, of the other node at night.
    Heat and a leak are sized to the node: up to ~92 C, and from its normal use to full."""

    def stage(w: WorldSpec, start: int, night: bool) -> tuple[Conditions, str]:
        node = w.gpu_nodes[1 if night else 0]
        uuid = gpu_uuid(node, 0)
        sized = dict(knobs)
        if "gpu_heat" in sized:
            sized["gpu_heat"] = 92 - normal_temperature(shape(w, start))
        if "gpu_memory_leak" in sized:
            sized["gpu_memory_leak"] = 1.0 - node.memory_share
        return replace(NORMAL, gpu=uuid, **sized), uuid  # type: ignore[arg-type]

    return stage


def _budget(w: WorldSpec, start: int, _night: bool) -> tuple[Conditions, str]:
    """A runaway batch job on the same key: spend per call rises until the day's spend passes
    the budget (1.5x a normal day) within about two hours: the factor depends on the hour."""
    window = 150
    calls = sum(w.peak_calls_per_min * shape(w, start + m) for m in range(window))
    per_call = expected_daily_cost(w) / sum(
        w.peak_calls_per_min * shape(w, 4 * 1440 + m) for m in range(1440)
    )
    factor = 1 + 0.9 * expected_daily_cost(w) / max(calls * per_call, 1e-9)
    return replace(NORMAL, price=round(factor, 1)), ""


# fmt: off
INCIDENTS: tuple[Incident, ...] = (
    Incident("traffic-stopped", "no LLM call at all (a broken deploy, a dead queue)", "",
             _app(stopped=True)),
    Incident("traffic-surge", "three times the usual traffic for this hour (a retry loop "
             "upstream, a scraper)", "", _app(traffic=3.0)),
    Incident("traffic-drop", "traffic halves outside quiet hours (a region's clients fail)",
             "", _app(traffic=0.4)),
    Incident("model-mix-shift", "the router sends 35 more points of traffic to the minor model",
             "model", _on_model(_minor_model, share_gain=0.35)),
    Incident("new-response-model", "the provider answers the main model's calls with another "
             "model", "model", _on_model(_main_model, response_model="gpt-4.1-mini-2025-04-14")),
    Incident("tool-latency", "the busy tool's backend is 2.5x slower", "tool",
             _on(lambda w: w.tools[0], tool_latency=2.5)),
    Incident("tool-timeouts", "8% of the busy tool's calls time out", "tool",
             _on(lambda w: w.tools[0], tool_timeout=0.08)),
    Incident("tool-new-error", "10% of the busy tool's calls fail with a class it never had "
             "(connection)", "tool", _on(lambda w: w.tools[0], tool_new_error=0.10)),
    Incident("tokens-per-request", "the main model's prompts and answers double (a template "
             "change)", "model", _on_model(_main_model, tokens=2.0)),
    Incident("hourly-tokens", "every model's tokens triple for the hour (context stuffing)", "",
             _app(tokens=3.0)),
    Incident("cost-outpacing-traffic", "price per call up 2.5x with flat traffic (a pricier "
             "tier)", "", _app(price=2.5)),
    Incident("daily-budget", "a runaway batch job: the day's spend passes the budget",
             "", _budget, minutes=(150, 150)),
    Incident("latency-regression", "the main model's calls are 1.6x slower", "model",
             _on_model(_main_model, latency=1.6)),
    Incident("latency-tail", "10% of the main model's calls are 10x slower (a heavy tail)",
             "model", _on_model(_main_model, tail_share=0.10)),
    Incident("first-chunk-slowdown", "the first chunk takes twice as long, totals unchanged",
             "model", _on_model(_main_model, first_chunk=2.0)),
    Incident("stage-dominant", "retrieval takes 6x longer and most of each request's time",
             "stage", _on(lambda _w: "retrieval", retrieval_stage=6.0)),
    Incident("server-errors", "12% of calls fail with server errors", "",
             _app(server_error=0.12)),
    Incident("rate-limit-storm", "the provider answers 429 to 30% of calls", "",
             _app(rate_limit=0.30)),
    Incident("agent-depth", "10% of requests nest six agents deep (a recursion bug)", "agent",
             _on(lambda w: w.agents[0], deep_share=0.10)),
    Incident("human-handoffs", "handoffs to a human rise from 2% to 8% of runs", "agent",
             _on(lambda w: w.agents[0], human_handoff=0.08)),
    Incident("judge-scores", "the main model's judge scores fall from 0.88 to 0.65", "model",
             _on_model(_main_model, quality=0.65)),
    Incident("json-invalid", "15% of the main model's JSON answers do not parse", "model",
             _on_model(_main_model, json_invalid=0.15)),
    Incident("thumbs-down", "thumbs down on the main model's answers rise from 6% to 25%",
             "model", _on_model(_main_model, negative_feedback=0.25)),
    Incident("gpu-temperature", "a GPU's fan fails: it heats up to about 92 C", "gpu",
             _on_gpu(gpu_heat=0.0), ramp="gpu_heat", ramp_minutes=15),
    Incident("gpu-throttling", "a GPU's clocks are held down by a thermal clock event", "gpu",
             _on_gpu(gpu_throttle=True)),
    Incident("gpu-xid", "a GPU reports a critical XID (79, fallen off the bus)", "gpu",
             _on_gpu(gpu_xid="79"), minutes=(60, 60)),
    Incident("gpu-memory-leak", "a process leaks GPU memory until it is full, over an hour",
             "gpu", _on_gpu(gpu_memory_leak=0.0), ramp="gpu_memory_leak", ramp_minutes=60),
)
# fmt: on


def by_name() -> dict[str, Incident]:
    return {i.name: i for i in INCIDENTS}


def staged(incident: Incident, w: WorldSpec, start: int, minutes: int, night: bool) -> Staged:
    conditions, value = incident.stage(w, start, night)
    entity = {ENTITY_LABELS[incident.entity]: value} if incident.entity else {}
    if not incident.ramp:
        return Staged(incident.name, start, minutes, lambda _since: conditions, entity, night)
    target, knob, span = getattr(conditions, incident.ramp), incident.ramp, incident.ramp_minutes
    normal = getattr(NORMAL, knob)

    def change(since: int) -> Conditions:
        share = min(1.0, (since + 1) / span)
        return replace(conditions, **{knob: normal + (target - normal) * share})

    return Staged(incident.name, start, minutes, change, entity, night)
