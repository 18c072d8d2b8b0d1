"""The orchestration and quality signals of one registry.

``Tracker`` owns the families of agent runs, tool calls, stages, handoffs, quality scores, user
feedback, output checks and the application's version info. The module-level helpers in
``llm_exporter`` use one process-wide tracker on the default registry; tests and applications
with a registry of their own build their own.

Values out of range at record time (a score of 1.7, an unknown feedback value) are dropped,
counted in ``llm_exporter_rejected_observations_total`` and logged once; nothing here raises
into the application's request.
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import Any

from .. import catalog
from ..guard import GuardedFamily
from ..lazy import Lazy
from ..metrics import Metrics, default_metrics
from . import nesting
from . import retrieval as rag
from .retrieval import RetrievalScope
from .scopes import AgentScope, StageScope, ToolScope

POSITIVE, NEGATIVE = "positive", "negative"
_FEEDBACK_WORDS: dict[str, str] = {
    POSITIVE: POSITIVE, "up": POSITIVE, "thumbs_up": POSITIVE,
    NEGATIVE: NEGATIVE, "down": NEGATIVE, "thumbs_down": NEGATIVE,
}  # fmt: skip
VALID, INVALID = "valid", "invalid"
HUMAN = "human"  # to_agent of a handoff to a person
_APP_INFO_ENV = {
    "app_version": "LLM_EXPORTER_APP_VERSION",
    "git_commit": "LLM_EXPORTER_GIT_COMMIT",
    "prompt_version": "LLM_EXPORTER_PROMPT_VERSION",
}


class Tracker:
    def __init__(self, metrics: Metrics | None = None) -> None:
        self.metrics = metrics or default_metrics()

    # -- families, created on first use ------------------------------------------------------

    def _family(self, spec: catalog.MetricSpec) -> GuardedFamily:
        return self.metrics.family(spec)

    @cached_property
    def agent_duration(self) -> GuardedFamily:
        return self._family(catalog.AGENT_DURATION)

    @cached_property
    def agent_depth(self) -> GuardedFamily:
        return self._family(catalog.AGENT_DEPTH)

    @cached_property
    def agent_fanout(self) -> GuardedFamily:
        return self._family(catalog.AGENT_CHILD_INVOCATIONS)

    @cached_property
    def tool_duration(self) -> GuardedFamily:
        return self._family(catalog.TOOL_DURATION)

    @cached_property
    def tool_result_size(self) -> GuardedFamily:
        return self._family(catalog.TOOL_RESULT_SIZE)

    @cached_property
    def stage_duration(self) -> GuardedFamily:
        return self._family(catalog.STAGE_DURATION)

    @cached_property
    def retrieval_documents(self) -> GuardedFamily:
        return self._family(catalog.RETRIEVAL_DOCUMENTS)

    @cached_property
    def retrieval_top_score(self) -> GuardedFamily:
        return self._family(catalog.RETRIEVAL_TOP_SCORE)

    @cached_property
    def index_updated(self) -> GuardedFamily:
        return self._family(catalog.RETRIEVAL_INDEX_UPDATED)

    @cached_property
    def handoffs(self) -> GuardedFamily:
        return self._family(catalog.HANDOFFS)

    @cached_property
    def scores(self) -> GuardedFamily:
        return self._family(catalog.QUALITY_SCORE)

    @cached_property
    def feedback(self) -> GuardedFamily:
        return self._family(catalog.FEEDBACK)

    @cached_property
    def ratings(self) -> GuardedFamily:
        return self._family(catalog.FEEDBACK_RATING)

    @cached_property
    def output_checks(self) -> GuardedFamily:
        return self._family(catalog.OUTPUT_CHECKS)

    # -- timed blocks ----------------------------------------------------------------------------

    def agent(self, name: str) -> AgentScope:
        """An agent run: ``with tracker.agent("planner"):`` or ``@tracker.agent("planner")``."""
        return AgentScope(self, name)

    def tool(self, name: str, *, measure_result: bool = True) -> ToolScope:
        """A tool call. As a decorator the return value's size is recorded (``measure_result``);
        in a ``with`` block, pass the result to ``scope.result(value)``."""
        return ToolScope(self, name, measure_result)

    def stage(self, name: str) -> StageScope:
        """A pipeline stage (``retrieval``, ``llm``, ``postprocess``, ...)."""
        return StageScope(self, name)

    def retrieval(self, source: str) -> RetrievalScope:
        """A retrieval query against ``source`` (an index or store): as a decorator the return
        value is recorded; in a ``with`` block, pass the result to ``scope.result(docs)``."""
        return RetrievalScope(self, source)

    # -- events ----------------------------------------------------------------------------

    def record_retrieval(
        self, source: str, documents: Any, *, top_score: float | None = None
    ) -> None:
        """One retrieval query's result: ``documents`` (a sized result, or a count) and its best
        relevance score (default: the largest ``score`` on the documents, if they carry one)."""
        try:
            rag.record(self, source, documents, top_score)
        except Exception as exc:
            self.metrics.fault("retrieval", exc)

    def set_index_updated(self, source: str, timestamp: float | None = None) -> None:
        """The index behind ``source`` was updated at ``timestamp`` (Unix seconds; default now).
        Call it after each (re)index, or at start-up with the index's own build time."""
        try:
            self.index_updated.labels(source).set(rag.index_timestamp(timestamp))
        except Exception as exc:
            self.metrics.fault("retrieval", exc)

    def handoff(self, to_agent: str, reason: str = "", *, from_agent: str | None = None) -> None:
        """One handoff to another agent, or to a person (``to_agent="human"``). ``from_agent``
        defaults to the agent run in progress."""
        try:
            if from_agent is None:
                frame = nesting.current()
                from_agent = frame.name if frame is not None else ""
            self.handoffs.labels(from_agent, to_agent, reason).inc()
        except Exception as exc:
            self.metrics.fault("handoff", exc)

    def record_score(self, metric: str, value: float, *, model: str = "") -> None:
        """One quality score in 0..1 for evaluation ``metric`` (faithfulness, relevance, ...)."""
        try:
            if not rag.is_number(value) or not 0.0 <= value <= 1.0:
                self.metrics.reject("quality_score", "out_of_range",
                                    f"{metric}={value!r}, expected a number in 0..1")  # fmt: skip
                return
            self.scores.labels(metric, model).observe(value)
        except Exception as exc:
            self.metrics.fault("score", exc)

    def record_feedback(
        self,
        feedback: Any = None,
        *,
        rating: float | None = None,
        model: str = "",
        route: str = "",
    ) -> None:
        """A user's thumbs up or down (``"up"``/``"down"``, ``"positive"``/``"negative"``, or a
        bool), and/or a 1 to 5 ``rating``, for the answer of ``model`` on ``route``."""
        try:
            if feedback is not None:
                kind = _feedback_kind(feedback)
                if kind is None:
                    self.metrics.reject("feedback", "unknown_value",
                                        f"{feedback!r}, expected up/down, positive/negative "
                                        "or a bool")  # fmt: skip
                else:
                    self.feedback.labels(model, route, kind).inc()
            if rating is not None:
                if not rag.is_number(rating) or not 1 <= rating <= 5:
                    self.metrics.reject("feedback_rating", "out_of_range",
                                        f"{rating!r}, expected 1 to 5")  # fmt: skip
                else:
                    self.ratings.labels(model, route).observe(rating)
        except Exception as exc:
            self.metrics.fault("feedback", exc)

    def record_output_check(
        self, check: str, valid: bool, *, model: str = "", response_model: str = ""
    ) -> None:
        """The outcome of your own check of a structured output (JSON and JSON-schema outputs of
        instrumented calls are checked automatically)."""
        try:
            result = VALID if valid else INVALID
            self.output_checks.labels(model, response_model, check, result).inc()
        except Exception as exc:
            self.metrics.fault("output_check", exc)

    def set_app_info(
        self,
        app_version: str | None = None,
        git_commit: str | None = None,
        prompt_version: str | None = None,
    ) -> None:
        """Publish the application's version, commit and prompt version (each defaults to its
        LLM_EXPORTER_* environment variable). Call again when the prompt version changes; the
        series then carries the new values only."""
        given = {"app_version": app_version, "git_commit": git_commit,
                 "prompt_version": prompt_version}  # fmt: skip
        values = {
            key: str(value if value is not None else os.environ.get(_APP_INFO_ENV[key], ""))
            for key, value in given.items()
        }
        try:
            self.metrics.single(catalog.APP_INFO).info(values)
        except Exception as exc:  # a multiprocess folder that takes no writes
            self.metrics.fault("app_info", exc)


def _feedback_kind(value: Any) -> str | None:
    """positive/negative for a bool or a known word; None for anything else. Only a real bool
    counts: a 1 meant as a 1-to-5 rating must not become a thumbs up (True == 1 in a dict)."""
    if isinstance(value, bool):
        return POSITIVE if value else NEGATIVE
    return _FEEDBACK_WORDS.get(value) if isinstance(value, str) else None


_default: Lazy[Tracker] = Lazy(Tracker)


def default_tracker() -> Tracker:
    return _default.get()
