"""Timed blocks for agent runs, tool calls and pipeline stages.

A scope is a context manager (``with`` or ``async with``) or a decorator of a sync or async
function; as a decorator each call gets a fresh scope, so one decorated function can run on many
threads and tasks at once. The application's exceptions pass through unchanged; a fault in our
own recording is counted and logged once, never raised.
"""

from __future__ import annotations

import functools
import inspect
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ..errortypes import classify_any
from . import nesting

if TYPE_CHECKING:
    from contextvars import Token

    from .tracker import Tracker

F = TypeVar("F", bound=Callable[..., Any])


class Scope:
    __slots__ = ("_error", "_start", "_tracker", "name")

    def __init__(self, tracker: Tracker, name: str) -> None:
        self._tracker = tracker
        self.name = name
        self._error: str | None = None
        self._start = 0.0

    def fail(self, error_type: str) -> None:
        """Mark the block failed without an exception, e.g. a tool that returned an error
        result; ``error_type`` should come from a small fixed set (``timeout``, ...)."""
        self._error = error_type

    # -- context manager --------------------------------------------------------------------

    def __enter__(self) -> Any:
        try:
            self._begin()
        except Exception as exc:
            self._tracker.metrics.fault(self._component, exc)
        self._start = time.perf_counter()
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        elapsed = time.perf_counter() - self._start
        try:
            error = self._error
            if error is None:
                error = "" if exc is None else classify_any(exc)
            self._end(elapsed, error)
        except Exception as fault:
            self._tracker.metrics.fault(self._component, fault)

    async def __aenter__(self) -> Any:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)

    # -- decorator --------------------------------------------------------------------------

    def __call__(self, fn: F) -> F:
        fresh = self._fresh
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with fresh() as scope:
                    return scope._returned(await fn(*args, **kwargs))

            return run_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            with fresh() as scope:
                return scope._returned(fn(*args, **kwargs))

        return run  # type: ignore[return-value]

    # -- what each kind records ---------------------------------------------------------------

    _component = "scope"

    def _fresh(self) -> Scope:
        return type(self)(self._tracker, self.name)

    def _begin(self) -> None:
        pass

    def _end(self, elapsed: float, error: str) -> None:
        raise NotImplementedError

    def _returned(self, value: Any) -> Any:
        return value


class AgentScope(Scope):
    """One agent invocation: duration by outcome, its fan-out, and (for a top-level run) the
    deepest nesting its request reached."""

    __slots__ = ("_frame", "_token")
    _component = "agent"

    def __init__(self, tracker: Tracker, name: str) -> None:
        super().__init__(tracker, name)
        self._frame: nesting.Frame | None = None
        self._token: Token | None = None

    def _begin(self) -> None:
        self._frame, self._token = nesting.enter(self.name)

    def _end(self, elapsed: float, error: str) -> None:
        tracker, frame = self._tracker, self._frame
        try:
            tracker.agent_duration.labels(self.name, error).observe(elapsed)
            if frame is not None:
                tracker.agent_fanout.labels(self.name).observe(frame.children)
                if frame.is_root:
                    tracker.agent_depth.labels(self.name).observe(frame.max_depth)
        finally:
            if self._token is not None:
                nesting.leave(self._token)


class ToolScope(Scope):
    """One tool call: duration by outcome, and the size of its result."""

    __slots__ = ("_measure",)
    _component = "tool"

    def __init__(self, tracker: Tracker, name: str, measure_result: bool = True) -> None:
        super().__init__(tracker, name)
        self._measure = measure_result

    def _fresh(self) -> Scope:
        return ToolScope(self._tracker, self.name, self._measure)

    def _begin(self) -> None:
        parent = nesting.current()
        if parent is not None:
            parent.count_child()

    def _end(self, elapsed: float, error: str) -> None:
        self._tracker.tool_duration.labels(self.name, error).observe(elapsed)

    def result(self, value: Any) -> Any:
        """Record the size of what the tool returned; returns ``value`` unchanged."""
        try:
            size = payload_size(value)
            if size is not None:
                self._tracker.tool_result_size.labels(self.name).observe(size)
        except Exception as exc:
            self._tracker.metrics.fault(self._component, exc)
        return value

    def _returned(self, value: Any) -> Any:
        return self.result(value) if self._measure else value


class StageScope(Scope):
    """One pipeline stage: duration by stage and outcome."""

    __slots__ = ()
    _component = "stage"

    def _end(self, elapsed: float, error: str) -> None:
        self._tracker.stage_duration.labels(self.name, error).observe(elapsed)


def payload_size(value: Any) -> int | None:
    """Bytes a result takes as the model would see it: raw bytes, UTF-8 text, else JSON.
    None when it cannot be serialised (nothing is recorded then)."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, memoryview):
        return value.nbytes
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    try:
        return len(json.dumps(value, default=str, ensure_ascii=False).encode("utf-8", "replace"))
    except (TypeError, ValueError, RecursionError):
        return None
