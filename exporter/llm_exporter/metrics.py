"""Builds prometheus_client objects from the catalog, each family behind the label guard.

``Metrics`` owns one registry's families. ``default_metrics()`` is the process-wide instance on
prometheus_client's global REGISTRY, which is what an application that already serves
prometheus_client metrics exposes; tests build their own on a private registry.
``metric_family()`` makes the empty ``*MetricFamily`` a custom collector (the GPU collector)
fills at scrape time. In prometheus_client's multiprocess mode (``llm_exporter.multiprocess``)
gauges take their spec's ``multiprocess_mode`` and info metrics become gauges of 1.
"""

from __future__ import annotations

import logging
import platform
import threading
from collections.abc import Callable, Sequence
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
)

from . import __version__, catalog, multiprocess
from .catalog import Kind, MetricSpec
from .guard import GuardedFamily, GuardSettings
from .lazy import Lazy

log = logging.getLogger("llm_exporter")

# What metric_family() makes: the empty family of a custom collector.
Family = CounterMetricFamily | GaugeMetricFamily | InfoMetricFamily


def create_metric(
    spec: MetricSpec, registry: CollectorRegistry | None, shared: bool | None = None
) -> Any:
    """The plain prometheus_client object for one spec, registered on ``registry``. ``shared``
    (default: whether multiprocess mode is on) builds what that mode can merge."""
    shared = multiprocess.active() if shared is None else shared
    common: dict[str, Any] = {"registry": registry}
    if spec.unit:
        common["unit"] = spec.unit
    if spec.kind is Kind.COUNTER:
        return Counter(spec.base_name, spec.help, spec.labels, **common)
    if spec.kind is Kind.HISTOGRAM:
        buckets = spec.buckets if spec.buckets is not None else Histogram.DEFAULT_BUCKETS
        return Histogram(spec.base_name, spec.help, spec.labels, buckets=buckets, **common)
    if shared and not spec.multiprocess_mode:
        raise ValueError(f"{spec.name}: a {spec.kind.value} recorded in multiprocess mode needs "
                         "a multiprocess_mode in the catalog")  # fmt: skip
    mode = spec.multiprocess_mode or "all"
    if spec.kind is Kind.GAUGE:
        return Gauge(spec.base_name, spec.help, spec.labels, multiprocess_mode=mode, **common)
    if shared:
        gauge = Gauge(spec.name, spec.help, spec.labels, multiprocess_mode=mode, **common)
        return InfoGauge(spec, gauge)
    # An info metric's "labels" are its keys, given once through .info().
    return Info(spec.base_name, spec.help, registry=registry)


class InfoGauge:
    """An info metric as a gauge of 1 with the same name and labels, for multiprocess mode,
    where prometheus_client's Info does not work. A label set replaced by ``info()`` stays, at 0:
    series cannot be removed across processes."""

    def __init__(self, spec: MetricSpec, gauge: Gauge) -> None:
        self._keys = spec.labels
        self._gauge = gauge
        self._current: tuple[str, ...] | None = None
        self._lock = threading.Lock()

    def info(self, values: dict[str, str]) -> None:
        unknown = set(values) - set(self._keys)
        if unknown:
            raise ValueError(f"unknown info labels {sorted(unknown)}; expected {self._keys}")
        key = tuple(str(values.get(name, "")) for name in self._keys)
        with self._lock:
            if self._current is not None and self._current != key:
                self._gauge.labels(*self._current).set(0)
            self._gauge.labels(*key).set(1)
            self._current = key


def metric_family(spec: MetricSpec) -> Family:
    """An empty family for a custom collector's ``collect()``, with the spec's label names.

    prometheus_client adds ``_total`` to counters and ``_info`` to info metrics itself, so they
    get the base name; an info family's labels are all given as the dict of ``add_metric``.
    """
    if spec.kind is Kind.COUNTER:
        return CounterMetricFamily(spec.base_name, spec.help, labels=spec.labels, unit=spec.unit)
    if spec.kind is Kind.GAUGE:
        return GaugeMetricFamily(spec.name, spec.help, labels=spec.labels, unit=spec.unit)
    if spec.kind is Kind.INFO:
        return InfoMetricFamily(spec.base_name, spec.help, labels=())
    raise ValueError(f"{spec.name}: a custom collector has no use for a {spec.kind.value} family")


def add_sample(family: Family, labels: Sequence[str], value: float | dict[str, str]) -> None:
    """One sample on a family from ``metric_family``: a number, or an info metric's labels."""
    if isinstance(family, InfoMetricFamily):
        if not isinstance(value, dict):
            raise TypeError(f"{family.name}: an info sample is a dict of labels")
        family.add_metric(labels, value)
    elif isinstance(value, dict):
        raise TypeError(f"{family.name}: a {family.type} sample is a number")
    else:
        family.add_metric(labels, value)


class Metrics:
    """The families of one registry, created on first use so an application exposes only what
    it records."""

    def __init__(
        self, registry: CollectorRegistry | None = REGISTRY, settings: GuardSettings | None = None
    ) -> None:
        self.registry = registry
        self.settings = settings or GuardSettings.from_env()
        # Multiprocess mode: values live in shared files that a full or missing folder can
        # refuse; every write below the families is then a fault, never an exception.
        self.multiprocess = multiprocess.active()
        if self.multiprocess:
            multiprocess.guard_storage()
        self._families: dict[str, GuardedFamily] = {}
        self._singles: dict[str, Any] = {}
        self._bridge: Any = None  # an OTel bridge writing some of the same names (share_with)
        self._lock = threading.Lock()
        self._logged: set[tuple[str, str]] = set()
        self._logged_lock = threading.Lock()  # apart: fault() runs under _lock in _build()
        build = create_metric(catalog.BUILD_INFO, registry, self.multiprocess)
        self._label_sets = create_metric(catalog.LABEL_SETS, registry, self.multiprocess)
        self._label_sets_limit = create_metric(catalog.LABEL_SETS_LIMIT, registry,
                                               self.multiprocess)  # fmt: skip
        self._folded = create_metric(catalog.LABELS_FOLDED, registry)
        self._truncated = create_metric(catalog.LABEL_VALUES_TRUNCATED, registry)
        self._errors = create_metric(catalog.INSTRUMENTATION_ERRORS, registry)
        self._rejected = create_metric(catalog.REJECTED_OBSERVATIONS, registry)
        try:
            build.info({"version": __version__, "python_version": platform.python_version()})
        except Exception as exc:
            self.fault("metrics", exc)

    def family(self, spec: MetricSpec) -> GuardedFamily:
        """The guarded family for ``spec``; cheap after the first call, but hot paths should keep
        the result (or its children) rather than ask again."""
        fam = self._families.get(spec.name)
        if fam is None:
            with self._lock:
                fam = self._families.get(spec.name)
                if fam is None:
                    fam = self._build(spec)
                    self._families[spec.name] = fam
                    self._hand_over(spec.name, fam.metric)
        return fam

    def single(self, spec: MetricSpec) -> Any:
        """The prometheus_client object of a family with no label guard to pass: an info metric
        or one without labels. Created once per registry."""
        if spec.kind is not Kind.INFO and spec.labels:
            raise ValueError(f"{spec.name} has labels; use family()")
        with self._lock:
            metric = self._singles.get(spec.name)
            if metric is None:
                metric = self._singles[spec.name] = create_metric(
                    spec, self.registry, self.multiprocess
                )
                self._hand_over(spec.name, metric)
        return metric

    def share_with(self, bridge: Any) -> None:
        """``bridge`` (``sources.otel.RegistryReader``, set up by ``use_openlit()``) writes OTel
        data into this registry under some of the catalog's names (``bridge.names``): it serves
        those families from now on, merged with its own, so each name stays one family."""
        with self._lock:
            self._bridge = bridge
            owned = [(n, f.metric) for n, f in self._families.items()] + list(self._singles.items())
            for name, metric in owned:
                self._hand_over(name, metric)

    def _hand_over(self, name: str, metric: Any) -> None:
        if self._bridge is not None and name in self._bridge.names:
            self._bridge.take_over(metric)

    def _build(self, spec: MetricSpec) -> GuardedFamily:
        if spec.kind is Kind.INFO or not spec.labels:
            raise ValueError(f"{spec.name} has no labels to guard; create it with create_metric")
        on_fold, on_new_set = self.cap_hooks(spec.name, self.settings.cap_for(spec))
        return GuardedFamily(
            spec,
            create_metric(spec, self.registry, self.multiprocess),
            self.settings,
            on_fold=on_fold,
            on_truncate=self._self_metric(self._truncated, spec.name, "inc"),
            on_new_set=on_new_set,
        )

    def cap_hooks(self, name: str, cap: int) -> tuple[Callable[[], None], Callable[[int], None]]:
        """(on_fold, on_count) for a cap on ``name``'s label sets or values, the guard's or one
        kept outside the families (the attribution dimensions): folds in
        labels_folded_total{metric=name}, what is kept in label_sets{metric=name} against
        label_sets_limit."""
        count = self._self_metric(self._label_sets, name, "set")
        self._self_metric(self._label_sets_limit, name, "set")(cap)
        count(0)
        return self._self_metric(self._folded, name, "inc"), count

    def _self_metric(self, metric: Any, name: str, method: str) -> Callable[..., None]:
        """``metric.labels(name).<method>``, bound on first use; a failure to record the
        guard's own bookkeeping is a fault, never a failed observation."""
        bound: Callable[..., None] | None = None

        def call(*args: Any) -> None:
            nonlocal bound
            try:
                if bound is None:
                    bound = getattr(metric.labels(name), method)
                bound(*args)
            except Exception as exc:
                self.fault("metrics", exc)

        return call

    def fault(self, component: str, exc: BaseException) -> None:
        """A bug or surprise in our own recording code: counted, logged once per kind, never
        raised into the application. When the count itself cannot be written (a multiprocess
        folder that is missing or full), it is kept in this process's memory."""
        error_class = type(exc).__name__
        try:
            try:
                self._errors.labels(component, error_class).inc()
            except Exception:
                multiprocess.count_unstored(component, error_class)
            if self._first((component, error_class)):
                log.warning("llm-exporter %s fault (further ones only counted): %r", component,
                            exc, exc_info=exc)  # fmt: skip
        except Exception:  # pragma: no cover - the last line of defence
            pass

    def reject(self, signal: str, reason: str, detail: str) -> None:
        """An application passed a value out of range: dropped, counted, logged once per kind."""
        try:
            self._rejected.labels(signal, reason).inc()
            if self._first((signal, reason)):
                log.warning("llm-exporter dropped a %s observation (%s: %s); further ones are "
                            "only counted", signal, reason, detail)  # fmt: skip
        except Exception:  # pragma: no cover
            pass

    def _first(self, key: tuple[str, str]) -> bool:
        with self._logged_lock:
            if key in self._logged:
                return False
            self._logged.add(key)
            return True


_default: Lazy[Metrics] = Lazy(Metrics)


def default_metrics() -> Metrics:
    return _default.get()
