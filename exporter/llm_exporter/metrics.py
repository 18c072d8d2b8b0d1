"""Builds prometheus_client objects from the catalog, each family behind the label guard.

``Metrics`` owns one registry's families. ``default_metrics()`` is the process-wide instance on
prometheus_client's global REGISTRY, which is what an application that already serves
prometheus_client metrics exposes; tests build their own on a private registry.
``metric_family()`` makes the empty ``*MetricFamily`` a custom collector (the GPU collector)
fills at scrape time.
"""

from __future__ import annotations

import platform
import threading
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)

from . import __version__, catalog
from .catalog import Kind, MetricSpec
from .guard import GuardedFamily, GuardSettings


def create_metric(spec: MetricSpec, registry: CollectorRegistry | None) -> Any:
    """The plain prometheus_client object for one spec, registered on ``registry``."""
    common: dict[str, Any] = {"registry": registry}
    if spec.unit:
        common["unit"] = spec.unit
    if spec.kind is Kind.COUNTER:
        return Counter(spec.base_name, spec.help, spec.labels, **common)
    if spec.kind is Kind.GAUGE:
        return Gauge(spec.base_name, spec.help, spec.labels, **common)
    if spec.kind is Kind.HISTOGRAM:
        return Histogram(spec.base_name, spec.help, spec.labels, buckets=spec.buckets, **common)
    # An info metric's "labels" are its keys, given once through .info().
    return Info(spec.base_name, spec.help, registry=registry)


def metric_family(spec: MetricSpec) -> Metric:
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


class Metrics:
    """The families of one registry, created on first use so an application exposes only what
    it records."""

    def __init__(
        self, registry: CollectorRegistry | None = REGISTRY, settings: GuardSettings | None = None
    ) -> None:
        self.registry = registry
        self.settings = settings or GuardSettings.from_env()
        self._families: dict[str, GuardedFamily] = {}
        self._lock = threading.Lock()
        build = create_metric(catalog.BUILD_INFO, registry)
        build.info({"version": __version__, "python_version": platform.python_version()})
        self._label_sets = create_metric(catalog.LABEL_SETS, registry)
        self._label_sets_limit = create_metric(catalog.LABEL_SETS_LIMIT, registry)
        self._folded = create_metric(catalog.LABELS_FOLDED, registry)
        self._truncated = create_metric(catalog.LABEL_VALUES_TRUNCATED, registry)
        self._errors = create_metric(catalog.INSTRUMENTATION_ERRORS, registry)

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
        return fam

    def _build(self, spec: MetricSpec) -> GuardedFamily:
        if spec.kind is Kind.INFO or not spec.labels:
            raise ValueError(f"{spec.name} has no labels to guard; create it with create_metric")
        sets = self._label_sets.labels(spec.name)
        fam = GuardedFamily(
            spec,
            create_metric(spec, self.registry),
            self.settings,
            on_fold=self._folded.labels(spec.name).inc,
            on_truncate=self._truncated.labels(spec.name).inc,
            on_new_set=sets.set,
        )
        self._label_sets_limit.labels(spec.name).set(fam.cap)
        sets.set(0)
        return fam

    def count_error(self, component: str, exc: BaseException) -> None:
        """Count a fault in our own recording code (never raised into the application)."""
        self._errors.labels(component, type(exc).__name__).inc()


_default: Metrics | None = None
_default_lock = threading.Lock()


def default_metrics() -> Metrics:
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Metrics()
    return _default
