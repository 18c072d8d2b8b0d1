"""Turns one LLM call into observations, on pre-bound label children.

``Recorder`` owns the families and caches one ``Series`` (the bound children) per label tuple, so
the per-call cost is a dict lookup and a handful of observe()/inc() calls. ``Call`` is one
operation in flight: the SDK hook creates it, feeds it the result or the error, and it records
exactly once. The request's attribution (team, feature, tenant, user) is read from its context
variable when the call starts; the attributed counters hang off the series, one more dict lookup.
Faults in here are counted and logged once, never raised into the application.
"""

from __future__ import annotations

import json
import math
import threading
import time
from typing import Any

from .. import catalog
from ..cost import attribution
from ..cost.users import UserBudgetSettings, UserSpend
from ..lazy import Lazy
from ..metrics import Metrics
from ..pricing import ModelInfo, ModelTable
from ..track.schema import conforms
from ..track.tracker import INVALID, VALID
from . import classify
from .context import current_trace_id
from .tokens import count_tokens, request_text

INPUT, OUTPUT = "input", "output"
# Above any context window or output limit: a usage block past it is the provider's bug, and one
# such count would swamp every sum it lands in until restart.
MAX_TOKENS = 100_000_000
TOKEN_SIGNAL = "token_usage"
# Attributions whose bound counters one call shape keeps; past them each call asks the guarded
# families again (a dict lookup more), whose caps bound the series.
ATTRIBUTIONS_KEPT = 256


class Series:
    """The children for one (operation, provider, request model, response model, server), each
    bound on first use so a call shape that never records a signal adds no empty series."""

    __slots__ = ("_by_attribution", "_by_error", "_input", "_output", "_rec", "_tpoc", "_ttfc",
                 "_unpriced", "labels", "model", "priced")  # fmt: skip

    def __init__(self, rec: Recorder, labels: tuple[str, ...], model: ModelInfo | None) -> None:
        self._rec = rec
        self.labels = labels
        self.model = model
        self.priced = model is not None and model.priced
        self._by_error: dict[str, Any] = {}
        self._by_attribution: dict[tuple[str, ...], Attributed] = {}
        self._input = self._output = self._ttfc = self._tpoc = self._unpriced = None

    def duration(self, error_type: str) -> Any:
        child = self._by_error.get(error_type)
        if child is None:
            child = self._by_error[error_type] = self._rec.duration.labels(*self.labels, error_type)
        return child

    def input(self) -> Any:
        if self._input is None:
            self._input = self._rec.tokens.labels(*self.labels, INPUT)
        return self._input

    def output(self) -> Any:
        if self._output is None:
            self._output = self._rec.tokens.labels(*self.labels, OUTPUT)
        return self._output

    def ttfc(self) -> Any:
        if self._ttfc is None:
            self._ttfc = self._rec.ttfc.labels(*self.labels)
        return self._ttfc

    def tpoc(self) -> Any:
        if self._tpoc is None:
            self._tpoc = self._rec.tpoc.labels(*self.labels)
        return self._tpoc

    def attributed(self, values: tuple[str, ...]) -> Attributed:
        """The cost and token counters of this call shape under one attribution."""
        found = self._by_attribution.get(values)
        if found is None:
            found = Attributed(self._rec, self.labels, values)
            if len(self._by_attribution) < ATTRIBUTIONS_KEPT:
                self._by_attribution[values] = found
        return found

    def unpriced(self) -> Any:
        if self._unpriced is None:
            provider, response_model = self.labels[1], self.labels[3] or self.labels[2]
            self._unpriced = self._rec.unpriced.labels(provider, response_model)
        return self._unpriced


class Attributed:
    """The counters that carry attribution, bound on first use: spend, and tokens by type."""

    __slots__ = ("_cost", "_input", "_output", "_rec", "labels", "values")

    def __init__(self, rec: Recorder, labels: tuple[str, ...], values: tuple[str, ...]) -> None:
        self._rec = rec
        self.labels = labels
        self.values = values
        self._cost = self._input = self._output = None

    def cost(self) -> Any:
        if self._cost is None:
            self._cost = self._rec.cost.labels(*self.labels, *self.values)
        return self._cost

    def input(self) -> Any:
        if self._input is None:
            self._input = self._rec.tokens_total.labels(*self.values, self.labels[2], INPUT)
        return self._input

    def output(self) -> Any:
        if self._output is None:
            self._output = self._rec.tokens_total.labels(*self.values, self.labels[2], OUTPUT)
        return self._output


class Recorder:
    def __init__(self, metrics: Metrics, models: ModelTable) -> None:
        family = metrics.family
        self.metrics = metrics
        self.models = models
        self.duration = family(catalog.OPERATION_DURATION)
        self.tokens = family(catalog.TOKEN_USAGE)
        self.ttfc = family(catalog.TIME_TO_FIRST_CHUNK)
        self.tpoc = family(catalog.TIME_PER_OUTPUT_CHUNK)
        self.cost = family(catalog.COST)
        self.tokens_total = family(catalog.TOKENS)
        self.attribution = attribution.AttributionGuard(metrics)
        # Checked now, like every other LLM_EXPORTER_* setting: a bad value is a ValueError at
        # set-up, not a fault at the first call made for a user (when the tracker reads them).
        UserBudgetSettings.from_env()
        # The per-user spend tracker, built with the first call made for a user.
        self.users: Lazy[UserSpend] = Lazy(lambda: UserSpend(metrics))
        self.unpriced = family(catalog.UNPRICED_OPERATIONS)
        self.retries = family(catalog.RETRIES)
        self.context = family(catalog.CONTEXT_WINDOW_USAGE)
        self.estimated = family(catalog.ESTIMATED_TOKEN_OPERATIONS)
        self.output_checks = family(catalog.OUTPUT_CHECKS)
        # Multiprocess files have no room for exemplars: skip them rather than build and drop.
        self.exemplars = not metrics.multiprocess
        self._series: dict[tuple[str, ...], Series] = {}
        self._lock = threading.Lock()

    def series(self, labels: tuple[str, ...]) -> Series:
        found = self._series.get(labels)
        if found is None:
            with self._lock:
                found = self._series.get(labels)
                if found is None:
                    model = self.models.lookup(labels[3] or labels[2])
                    found = Series(self, labels, model)
                    if len(self._series) < 4 * self.duration.cap:  # the guard bounds the rest
                        self._series[labels] = found
        return found

    def fault(self, component: str, exc: BaseException) -> None:
        self.metrics.fault(component, exc)


class Call:
    """One operation in flight. Created by the SDK hook; records exactly once."""

    __slots__ = (
        "attribution",
        "body",
        "check_result",
        "done",
        "error",
        "hide_usage",
        "kind",
        "labels_prefix",
        "last",
        "model",
        "output_check",
        "output_tokens_apply",
        "recorder",
        "response_model",
        "retries",
        "server",
        "start",
        "stream_series",
        "text",
        "usage",
    )  # fmt: skip

    def __init__(
        self,
        recorder: Recorder,
        op: str,
        kind: str,
        provider: str,
        server: str,
        model: str,
        body: dict[str, Any],
        output_check: tuple[str, Any] | None,
        has_output: bool,
    ) -> None:
        self.recorder = recorder
        self.kind = kind  # which API shape the result has (the SDK hook's business)
        self.hide_usage = False  # the usage chunk was our request, not the caller's
        self.labels_prefix = (op, provider)
        self.server = server
        self.model = model
        self.body = body
        self.output_check = output_check  # (check name, schema or None) for JSON outputs
        self.check_result: str | None = None
        self.output_tokens_apply = has_output
        self.response_model = ""
        self.usage: tuple[Any, Any, Any] | None = None  # as sent; _checked_usage vets it
        self.error = ""
        self.retries = 0
        self.stream_series: Series | None = None
        self.last = 0.0
        self.text: list[str] | None = None
        self.done = False
        self.attribution = attribution.current()  # the request's, as the call starts
        self.start = time.perf_counter()

    # -- outcomes -----------------------------------------------------------------------------

    def fail(self, exc: BaseException) -> None:
        if self.done:
            return
        try:
            error = classify.classify(exc)
            if error == classify.OUTPUT_PARSE and self.output_check is not None:
                self.check_result = INVALID  # .parse() could not build the caller's model
            self._record(time.perf_counter(), error)
        except Exception as fault:
            self.recorder.fault("record", fault)

    def abandon(self) -> None:
        """The stream was closed, dropped or collected before its end."""
        if self.done:
            return
        try:
            self._record(time.perf_counter(), classify.CANCELLED)
        except Exception as fault:
            self.recorder.fault("record", fault)

    def complete(self) -> None:
        """The response (or the whole stream) arrived."""
        if self.done:
            return
        try:
            error = self.error
            check = self.output_check
            if not error and check is not None and self.text is not None:
                valid = _valid_output("".join(self.text), check[1])
                self.check_result = VALID if valid else INVALID
                error = "" if valid else classify.OUTPUT_PARSE
            self._record(time.perf_counter(), error)
        except Exception as fault:
            self.recorder.fault("record", fault)

    # -- the recording itself -----------------------------------------------------------------

    def _record(self, now: float, error: str) -> None:
        self.done = True
        rec = self.recorder
        labels = (*self.labels_prefix, self.model, self.response_model, self.server)
        series = rec.series(labels)
        elapsed = now - self.start
        trace_id = current_trace_id() if rec.exemplars else None
        duration = series.duration(error)
        if trace_id:
            duration.observe(elapsed, {"trace_id": trace_id})
        else:
            duration.observe(elapsed)
        if self.check_result is not None:
            rec.output_checks.labels(self.model, self.response_model, self.output_check[0],  # type: ignore[index]
                                     self.check_result).inc()  # fmt: skip
        if self.retries:
            retry_labels = (*self.labels_prefix, self.model, self.server)
            rec.retries.labels(*retry_labels).inc(self.retries)
        usage = self.usage
        if usage is not None:
            usage = _checked_usage(rec, usage)
        elif self.text is not None and error != classify.CANCELLED:
            usage = self._estimate_usage()
        if usage is None:
            return
        input_tokens, output_tokens, cached = usage
        attributed = series.attributed(rec.attribution.resolve(self.attribution.values))
        series.input().observe(input_tokens)
        attributed.input().inc(input_tokens)
        if self.output_tokens_apply:
            series.output().observe(output_tokens)
            attributed.output().inc(output_tokens)
        model = series.model
        if series.priced:
            usd = model.cost(input_tokens, output_tokens, cached)  # type: ignore[union-attr]
            attributed.cost().inc(usd)
            user = self.attribution.user
            if user is not None:
                rec.users.get().add(user, usd)
        else:
            series.unpriced().inc()
        if model is not None and model.context_window:
            ratio = input_tokens / model.context_window
            rec.context.labels(*self.labels_prefix, self.model).observe(ratio)

    def _estimate_usage(self) -> tuple[int, int, int]:
        name = self.response_model or self.model
        input_tokens = count_tokens(request_text(self.body), name)
        output_tokens = count_tokens("".join(self.text or ()), name)
        self.recorder.estimated.labels(*self.labels_prefix, self.model).inc()
        return input_tokens, output_tokens, 0

    # -- streaming ------------------------------------------------------------------------------

    def chunk_arrived(self) -> None:
        """Time to first chunk from the request's start, then the gap between chunks."""
        now = time.perf_counter()
        stream = self.stream_series
        if stream is None:
            labels = (*self.labels_prefix, self.model, self.response_model, self.server)
            stream = self.stream_series = self.recorder.series(labels)
            stream.ttfc().observe(now - self.start)
        else:
            stream.tpoc().observe(now - self.last)
        self.last = now


def _valid_output(text: str, schema: Any) -> bool:
    """The output parses as JSON and, when the request gave a schema, matches it."""
    try:
        value = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        return False
    return schema is None or conforms(value, schema)


def _checked_usage(rec: Recorder, usage: tuple) -> tuple[int, int, int] | None:
    """The provider's counts as ints, or None (the call is still recorded, its tokens and cost
    not) when one is negative, huge, NaN, infinite or not a number: such a count would make a
    histogram's _sum fall, or stick at NaN or +Inf, for the life of the process."""
    checked = []
    for value in usage:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or (isinstance(value, float) and not math.isfinite(value)):
            reason = "not_a_number"
        elif not 0 <= value <= MAX_TOKENS:
            reason = "out_of_range"
        else:
            checked.append(int(value))
            continue
        detail = f"{value!r:.40}, expected a token count in 0..{MAX_TOKENS}"
        rec.metrics.reject(TOKEN_SIGNAL, reason, detail)
        return None
    return checked[0], checked[1], checked[2]


def text_or_empty(value: Any) -> str:
    """A provider's string field (``model``), or "" when it sent something else."""
    return value if isinstance(value, str) else ""


def usage_triple(usage: Any, input_attr: str, output_attr: str, details_attr: str) -> tuple:
    """(input, output, cached input) from an SDK usage object."""
    details = getattr(usage, details_attr, None)
    cached = getattr(details, "cached_tokens", None) or 0
    return (getattr(usage, input_attr, 0) or 0, getattr(usage, output_attr, 0) or 0, cached)
