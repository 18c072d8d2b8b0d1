"""What each incident the demo can stage changes: simulator knobs and workload conditions.

The same incidents drive the rule pack's end-to-end test and the dashboards' checks; each one is
a failure the LLM observability write-ups describe.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ..simulator import SimulatorConfig


@dataclass(frozen=True)
class Conditions:
    """Workload-side knobs (the simulator's own are in SimulatorConfig)."""

    tool_timeout_rate: float = 0.005  # share of vector searches that time out
    research_depth: int = 1  # nested research agents below the support agent
    research_fanout: int = 2  # tool calls per research agent
    prompt_version: str = "support-v1"
    empty_retrievals: float = 0.03  # share of knowledge-base searches that find nothing
    relevance: float = 0.82  # mean relevance score of the best document found


@dataclass(frozen=True)
class Incident:
    summary: str
    simulator: dict[str, Any] = field(default_factory=dict)
    workload: dict[str, Any] = field(default_factory=dict)


# Named as the replay's scenarios where they stage the same failure (latency-regression,
# model-downgrade, agent-loop, tool-timeouts, retrieval-drift), so one name means one thing.
INCIDENTS: dict[str, Incident] = {
    "error-burst": Incident(
        "the provider answers 5xx and 429",
        simulator={"error_rates": {"server_error": 0.25, "rate_limit": 0.15}},
    ),
    "latency-regression": Incident(
        "every call and its first chunk get slower",
        simulator={"latency_s": 2.5, "first_chunk_delay_s": 1.5},
    ),
    "token-surge": Incident(
        "a prompt change makes answers five times longer",
        simulator={"output_tokens": [600, 1200]},
        workload={"prompt_version": "support-v2"},
    ),
    "model-switch": Incident(
        "gpt-4o requests are answered by another model",
        simulator={"model_switch": {"gpt-4o": "gpt-4o-mini-2024-07-18"}},
    ),
    "agent-loop": Incident(
        "the research agent recurses and fans out",
        workload={"research_depth": 6, "research_fanout": 8},
    ),
    "tool-timeouts": Incident(
        "a flaky vector store times out", workload={"tool_timeout_rate": 0.3}
    ),
    "retrieval-drift": Incident(
        "the embedding model changed without a re-index: empty and irrelevant search results",
        workload={"empty_retrievals": 0.3, "relevance": 0.55},
    ),
    "model-downgrade": Incident(
        "a silent model downgrade: another model, worse judge scores, broken JSON",
        simulator={
            "model_switch": {"gpt-4o": "gpt-4o-mini-2024-07-18"},
            "score": 0.55,
            "error_rates": {"malformed_json": 0.3},
        },
    ),
}

_CONDITION_FIELDS = {f.name for f in fields(Conditions)}
assert all(set(i.workload) <= _CONDITION_FIELDS for i in INCIDENTS.values())


def restore_patch(normal: SimulatorConfig, incident: Incident) -> dict[str, Any]:
    """The simulator patch that undoes ``incident``: dict knobs get back their normal keys and
    lose the ones the incident added (a merge alone would keep a model switch forever)."""
    patch: dict[str, Any] = {}
    for knob, value in incident.simulator.items():
        before = getattr(normal, knob)
        if isinstance(before, dict):
            patch[knob] = {key: before.get(key) for key in value}
        else:
            patch[knob] = list(before) if isinstance(before, tuple) else before
    return patch


class Workload:
    """The conditions in force, swapped whole so a worker reads one consistent set."""

    def __init__(self) -> None:
        self._conditions = Conditions()
        self._lock = threading.Lock()

    @property
    def conditions(self) -> Conditions:
        return self._conditions

    def apply(self, changes: dict[str, Any]) -> None:
        with self._lock:
            self._conditions = replace(self._conditions, **changes)

    def reset(self) -> None:
        with self._lock:
            self._conditions = Conditions()
