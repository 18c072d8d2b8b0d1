"""Agent runs, tool calls, pipeline stages, handoffs, retrieval, quality scores, feedback and the
app's version, on the process-wide tracker (the default prometheus_client registry).

    with llm_exporter.agent("support"):
        with llm_exporter.stage("retrieval"):
            docs = search(query)
        ...

Build a ``Tracker`` of your own for another registry.
"""

from __future__ import annotations

from typing import Any

from .judge import Judge
from .retrieval import RetrievalScope
from .scopes import AgentScope, StageScope, ToolScope
from .tracker import Tracker, default_tracker


def agent(name: str) -> AgentScope:
    """An agent run, as ``with``/``async with`` or a decorator."""
    return default_tracker().agent(name)


def tool(name: str, *, measure_result: bool = True) -> ToolScope:
    """A tool call, as ``with``/``async with`` or a decorator."""
    return default_tracker().tool(name, measure_result=measure_result)


def stage(name: str) -> StageScope:
    """A pipeline stage, as ``with``/``async with`` or a decorator."""
    return default_tracker().stage(name)


def retrieval(source: str) -> RetrievalScope:
    """A retrieval query against ``source``, as ``with``/``async with`` or a decorator."""
    return default_tracker().retrieval(source)


def record_retrieval(source: str, documents: Any, *, top_score: float | None = None) -> None:
    default_tracker().record_retrieval(source, documents, top_score=top_score)


def set_index_updated(source: str, timestamp: float | None = None) -> None:
    default_tracker().set_index_updated(source, timestamp)


def handoff(to_agent: str, reason: str = "", *, from_agent: str | None = None) -> None:
    default_tracker().handoff(to_agent, reason, from_agent=from_agent)


def record_score(metric: str, value: float, *, model: str = "") -> None:
    default_tracker().record_score(metric, value, model=model)


def record_feedback(
    feedback: Any = None, *, rating: float | None = None, model: str = "", route: str = ""
) -> None:
    default_tracker().record_feedback(feedback, rating=rating, model=model, route=route)


def record_output_check(
    check: str, valid: bool, *, model: str = "", response_model: str = ""
) -> None:
    default_tracker().record_output_check(check, valid, model=model, response_model=response_model)


def set_app_info(
    app_version: str | None = None, git_commit: str | None = None, prompt_version: str | None = None
) -> None:
    default_tracker().set_app_info(app_version, git_commit, prompt_version)


__all__ = [
    "AgentScope",
    "Judge",
    "RetrievalScope",
    "StageScope",
    "ToolScope",
    "Tracker",
    "agent",
    "default_tracker",
    "handoff",
    "record_feedback",
    "record_output_check",
    "record_retrieval",
    "record_score",
    "retrieval",
    "set_app_info",
    "set_index_updated",
    "stage",
    "tool",
]
