"""Where exemplars get their trace id: the app's own context variable, else the active
OpenTelemetry span (looked up only if opentelemetry is importable)."""

from __future__ import annotations

import contextvars
from collections.abc import Callable

_trace_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "llm_exporter_trace_id", default=None
)


def set_trace_id(trace_id: str | None) -> contextvars.Token:
    """Attach ``trace_id`` to LLM calls made in this context (thread, task); returns the token
    for ``reset_trace_id``."""
    return _trace_id.set(trace_id)


def reset_trace_id(token: contextvars.Token) -> None:
    _trace_id.reset(token)


def _otel_lookup() -> Callable[[], str | None]:
    try:
        from opentelemetry import trace
    except ImportError:
        return lambda: None

    get_span = trace.get_current_span

    def lookup() -> str | None:
        ctx = get_span().get_span_context()
        return format(ctx.trace_id, "032x") if ctx.is_valid else None

    return lookup


_otel_trace_id = _otel_lookup()


def current_trace_id() -> str | None:
    return _trace_id.get() or _otel_trace_id()
