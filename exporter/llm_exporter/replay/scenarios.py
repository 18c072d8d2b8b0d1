"""The normal week and the incidents the seeds describe, as conditions over time.

Every incident starts at 10:00 UTC on a Thursday after six hours of normal traffic (the
baselines average whatever history exists, as a fresh deployment's do); the normal week gets
two days of history first and is then scored for seven days, every alert counting as a false
alarm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ..errortypes import RATE_LIMIT, SERVER_ERROR, TIMEOUT
from .world import NORMAL_RESPONSE_MODELS, Conditions

DAY = 1440
NORMAL = Conditions()


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    minutes: int
    start: int  # the minute the incident begins (for the normal week: the scoring starts)
    change: Callable[[int], Conditions]  # minutes since start -> conditions then
    incident: bool = True

    def conditions(self, minute: int) -> Conditions:
        return NORMAL if minute < self.start else self.change(minute - self.start)


def _steady(**knobs: object) -> Callable[[int], Conditions]:
    incident = replace(NORMAL, **knobs)  # type: ignore[arg-type]
    return lambda _since: incident


def _ramp(knob: str, start: float, per_minute: float, limit: float) -> Callable[[int], Conditions]:
    def change(since: int) -> Conditions:
        return replace(NORMAL, **{knob: min(limit, start + per_minute * since)})

    return change


def _creep(since: int) -> Conditions:
    """Prompts grow 10% an hour (retrieval stuffing more context each release)."""
    return replace(NORMAL, input_tokens=1.1 ** (since / 60))


INCIDENT_AT = 600  # 10:00 UTC, day 0 (a Thursday)

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "normal-week",
        "seven ordinary days (after two days of history): seasonality, "
        "quiet nights, weekends, noise, two models",
        9 * DAY,
        2 * DAY,
        lambda _since: NORMAL,
        incident=False,
    ),
    Scenario(
        "agent-loop",
        "a research agent recurses: 30% of requests nest 6 deep, fan-out 12, prompts 3x longer",
        12 * 60,
        INCIDENT_AT,
        _steady(deep_share=0.3, fanout=12.0, input_tokens=3.0),
    ),
    Scenario(
        "model-downgrade",
        "gpt-4o is silently answered by a smaller model: judge scores "
        "0.62, 15% of JSON answers broken",
        12 * 60,
        INCIDENT_AT,
        _steady(
            response_models=tuple(
                {**NORMAL_RESPONSE_MODELS, "gpt-4o": "gpt-4o-mini-2024-07-18"}.items()
            ),
            quality=0.62,
            json_invalid=0.15,
        ),
    ),
    Scenario(
        "tool-timeouts",
        "the vector store behind vector_search is flaky: 12% of "
        "searches time out, the rest 3x slower",
        12 * 60,
        INCIDENT_AT,
        _steady(tool_timeout=0.12, tool_latency=3.0),
    ),
    Scenario(
        "rate-limit-storm",
        "the provider answers 429 to 30% of calls; the SDK retries",
        12 * 60,
        INCIDENT_AT,
        _steady(
            error_rates=((SERVER_ERROR, 0.002), (RATE_LIMIT, 0.3), (TIMEOUT, 0.0005)),
            retries=0.9,
        ),
    ),
    Scenario(
        "context-overflow",
        "a tool's JSON fills the context window: prompts at 93% of it, 8% rejected as too long",
        12 * 60,
        INCIDENT_AT,
        _steady(context=0.93, context_overflow=0.08, input_tokens=40.0),
    ),
    Scenario(
        "latency-regression",
        "the provider slows down: every call 2.2x slower",
        12 * 60,
        INCIDENT_AT,
        _steady(latency=2.2, first_chunk=2.2),
    ),
    Scenario(
        "cost-creep",
        "prompts grow 10% an hour: spend creeps up with flat traffic",
        20 * 60,
        INCIDENT_AT,
        _creep,
    ),
    Scenario(
        "retrieval-drift",
        "the embedding model is upgraded without a re-index: 25% of knowledge-base searches "
        "come back empty, relevance falls from 0.78 to 0.55",
        12 * 60,
        INCIDENT_AT,
        _steady(empty_retrievals=0.25, relevance=0.55),
    ),
    Scenario(
        "gpu-thermal",
        "a GPU fan fails: temperature climbs 3 C a minute up to +30 C",
        12 * 60,
        INCIDENT_AT,
        _ramp("gpu_heat", 0.0, 3.0, 30.0),
    ),
)


def by_name() -> dict[str, Scenario]:
    return {s.name: s for s in SCENARIOS}
