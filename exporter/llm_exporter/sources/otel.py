"""OpenTelemetry metrics served from a prometheus_client registry: the bridge under use_openlit().

``RegistryReader`` is an OTel MetricReader. On each scrape of the registry it asks the SDK for
the current cumulative data and writes it as the OTel Prometheus exporter does (the OTel
compatibility spec): the instrument name sanitized, the unit as a suffix (``s`` to
``_seconds``, ``{token}`` adds nothing), attributes as labels, the instrumentation scope as
``otel_scope_*`` labels, a label that a point lacks written as "". So the rules and dashboards
read OTel GenAI metrics as they read them from a Collector. (opentelemetry-exporter-prometheus
does the same, but takes a registry other than the global one only in its recent versions;
tests/test_openlit.py checks that both write the same series.)

A ``Remap`` turns another producer's instrument into the catalog family that means the same
thing (OpenLIT's per-call cost histogram into the spend counter, its GPU gauges in MiB and whole
watts into bytes and watts); instruments in ``dropped`` are left out. Nothing is computed between
scrapes and nothing leaves the process.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    MetricReader,
    MetricsData,
    Sum,
)
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.metrics_core import Metric as Family

from ..catalog import Kind, MetricSpec, Origin, all_specs

_NAME_INVALID = re.compile(r"[^a-zA-Z0-9:]+")
_LABEL_INVALID = re.compile(r"[^a-zA-Z0-9]+")
_ANNOTATION = re.compile(r"{.*}")  # UCUM annotations such as {token} add no suffix
# Unit suffixes from the OTel compatibility spec, as the Collector and the Python exporter map them.
_UNITS = {"d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds",
          "us": "microseconds", "ns": "nanoseconds", "By": "bytes", "KiBy": "kibibytes",
          "MiBy": "mebibytes", "GiBy": "gibibytes", "TiBy": "tibibytes", "KBy": "kilobytes",
          "MBy": "megabytes", "GBy": "gigabytes", "TBy": "terabytes", "m": "meters",
          "V": "volts", "A": "amperes", "J": "joules", "W": "watts", "g": "grams",
          "Cel": "celsius", "Hz": "hertz", "1": "", "%": "percent"}  # fmt: skip
_PER_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week",
              "mo": "month", "y": "year"}  # fmt: skip

# Names, units and attribute keys come from a small fixed set (the instruments and attributes of
# the instrumentations) and are rewritten on every scrape: each is worked out once. The bounds
# only keep a producer with unbounded attribute keys from growing the caches.
_NAMES_CACHED = 1024
_Pairs = tuple[tuple[str, str], ...]


# -- names, as the OTel Prometheus exporter writes them ---------------------------------------


@functools.lru_cache(maxsize=_NAMES_CACHED)
def metric_name(name: str) -> str:
    if name[:1].isdigit():
        name = "_" + name[1:]
    return _NAME_INVALID.sub("_", name)


@functools.lru_cache(maxsize=_NAMES_CACHED)
def label_name(key: str) -> str:
    if key[:1].isdigit():
        key = "_" + key[1:]
    return _LABEL_INVALID.sub("_", key)


def label_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


@functools.lru_cache(maxsize=_NAMES_CACHED)
def unit_suffix(unit: str) -> str:
    unit = _ANNOTATION.sub("", unit)
    if unit in _UNITS:
        return _UNITS[unit]
    top, slash, bottom = unit.partition("/")
    bottom = _NAME_INVALID.sub("_", bottom)
    if slash and bottom:
        top = _NAME_INVALID.sub("_", top)
        top, bottom = _UNITS.get(top, top), _PER_UNITS.get(bottom, bottom)
        return f"{top}_per_{bottom}" if top else f"per_{bottom}"
    return _NAME_INVALID.sub("_", unit).strip("_")


# -- other producers' names onto the catalog -------------------------------------------------


@dataclass(frozen=True)
class Remap:
    """Another producer's instrument that the catalog has under its own name.

    ``value`` reads a data point (None: leave the point out); ``labels`` renames attributes to
    the catalog's label names; attributes in ``drop`` are left out, and points that then share
    their labels are summed. Every other attribute stays a label, as it would unmapped."""

    instrument: str  # the OTel instrument name, e.g. "gen_ai.usage.cost"
    target: MetricSpec
    value: Callable[[Any], float | None]
    labels: Mapping[str, str] = field(default_factory=dict)
    drop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.target.kind not in (Kind.COUNTER, Kind.GAUGE):
            raise ValueError(f"{self.target.name}: only counters and gauges can be mapped onto")


# -- translation -----------------------------------------------------------------------------


class _Families:
    """Families by (name, type); a family's label names are the union over its points, and a
    point without one writes "" (as the OTel exporter does). Points with equal labels add up."""

    def __init__(self) -> None:
        self._families: dict[tuple[str, Kind], tuple[str, str, dict[tuple, Any]]] = {}

    def add(self, kind: Kind, name: str, doc: str, unit: str, labels: dict[str, str],
            value: Any) -> None:  # fmt: skip
        _, _, points = self._families.setdefault((name, kind), (doc, unit, {}))
        key = tuple(sorted(labels.items()))
        old = points.get(key)
        if old is None:
            points[key] = value
        elif kind is Kind.HISTOGRAM:
            (bounds, counts, total), (_, more, extra) = old, value
            points[key] = (
                bounds,
                [a + b for a, b in zip(counts, more, strict=True)],
                total + extra,
            )
        else:
            points[key] = old + value

    def build(self) -> list[Family]:
        out: list[Family] = []
        for (name, kind), (doc, unit, points) in self._families.items():
            keys = sorted({k for labels in points for k, _ in labels})
            rows = [([dict(labels).get(k, "") for k in keys], value)
                    for labels, value in points.items()]  # fmt: skip
            if kind is Kind.HISTOGRAM:
                histogram = HistogramMetricFamily(name, doc, labels=keys, unit=unit)
                for row, (bounds, counts, total) in rows:
                    histogram.add_metric(row, buckets=_cumulative(bounds, counts), sum_value=total)
                out.append(histogram)
                continue
            family = (CounterMetricFamily if kind is Kind.COUNTER else GaugeMetricFamily)(
                name, doc, labels=keys, unit=unit
            )
            for row, number in rows:
                family.add_metric(row, number)
            out.append(family)
        return out


def _cumulative(bounds: Iterable[float], counts: Iterable[int]) -> list[tuple[str, float]]:
    buckets: list[tuple[str, float]] = []
    running = 0
    for bound, count in zip([*map(str, bounds), "+Inf"], counts, strict=True):
        running += count
        buckets.append((bound, running))
    return buckets


@functools.lru_cache(maxsize=_NAMES_CACHED)
def _scope_labels(scope: Any) -> _Pairs:
    """The ``otel_scope_*`` labels of an instrumentation scope (hashable: name, version, schema
    URL and its immutable attributes), as pairs so the cached value cannot be changed."""
    labels = {label_name("otel_scope_" + k): label_value(v)
              for k, v in (getattr(scope, "attributes", None) or {}).items()}  # fmt: skip
    labels["otel_scope_name"] = scope.name or ""
    labels["otel_scope_version"] = scope.version or ""
    labels["otel_scope_schema_url"] = scope.schema_url or ""
    return tuple(labels.items())


def _labels(scope: _Pairs, attributes: Mapping[str, Any] | None) -> dict[str, str]:
    labels = dict(scope)
    for key, value in (attributes or {}).items():
        labels[label_name(key)] = label_value(value)
    return labels


def translate(data: MetricsData, mappings: Mapping[str, list[Remap]],
              dropped: Collection[str]) -> list[Family]:  # fmt: skip
    """The Prometheus families of one collection of OTel metrics."""
    out = _Families()
    for resource in data.resource_metrics:
        for scoped in resource.scope_metrics:
            scope = _scope_labels(scoped.scope)
            for metric in scoped.metrics:
                if metric.name in dropped:
                    continue
                targets = mappings.get(metric.name)
                if targets:
                    for target in targets:
                        _map(target, metric, scope, out)
                else:
                    _translate(metric, scope, out)
    return out.build()


def _translate(metric: Any, scope: _Pairs, out: _Families) -> None:
    name, doc = metric_name(metric.name), metric.description or ""
    unit, data = unit_suffix(metric.unit or ""), metric.data
    if isinstance(data, Histogram):
        for p in data.data_points:
            value = (tuple(p.explicit_bounds), list(p.bucket_counts), p.sum)
            out.add(Kind.HISTOGRAM, name, doc, unit, _labels(scope, p.attributes), value)
        return
    if isinstance(data, Sum):
        # A cumulative sum that may go down is a gauge (the compatibility spec).
        up_down = not data.is_monotonic
        cumulative = data.aggregation_temporality == AggregationTemporality.CUMULATIVE
        kind = Kind.GAUGE if up_down and cumulative else Kind.COUNTER
    elif isinstance(data, Gauge):
        kind = Kind.GAUGE
    else:  # exponential histograms: no instrument of OpenLIT or the GenAI conventions uses one
        return
    for p in data.data_points:
        out.add(kind, name, doc, unit, _labels(scope, p.attributes), p.value)


def _map(m: Remap, metric: Any, scope: _Pairs, out: _Families) -> None:
    target = m.target  # a counter or a gauge (Remap checks)
    for p in metric.data.data_points:
        value = m.value(p)
        if value is None:
            continue
        attributes = {m.labels.get(k, k): v for k, v in p.attributes.items() if k not in m.drop}
        out.add(target.kind, target.name, target.help, target.unit, _labels(scope, attributes),
                value)  # fmt: skip


# -- the reader and its collector --------------------------------------------------------------


class RegistryReader(MetricReader):
    """An OTel MetricReader whose metrics ``registry`` serves, translated at each scrape.

    Give it to a MeterProvider (``MeterProvider(metric_readers=[reader])``). ``on_fault`` hears
    of a translation that failed; that scrape then goes without these families."""

    def __init__(
        self,
        registry: CollectorRegistry,
        remaps: Iterable[Remap] = (),
        dropped: Collection[str] = (),
        on_fault: Callable[[str, BaseException], None] | None = None,
    ) -> None:
        super().__init__()  # cumulative temporality for every instrument, as Prometheus needs
        self.registry = registry
        self._mappings: dict[str, list[Remap]] = {}
        for m in remaps:
            self._mappings.setdefault(m.instrument, []).append(m)
        self._dropped = frozenset(dropped)
        self._on_fault = on_fault
        self._received: MetricsData | None = None
        self._lock = threading.Lock()
        # The catalog names OTel data can arrive under: the conventions' and the remaps' own.
        self.names = frozenset(
            [s.name for s in all_specs() if s.origin is Origin.SEMCONV]
            + [m.target.name for m in remaps]
        )
        self._taken: list[Any] = []  # the registry's collectors this reader serves instead
        self._collector = _Collector(self)
        registry.register(self._collector)

    def take_over(self, collector: Any) -> None:
        """Serve ``collector`` (registered on the registry, writing some of ``names``) from this
        reader instead, its families merged with the OTel ones of the same name: a name written
        twice would be two families, which the exposition formats forbid."""
        try:
            self.registry.unregister(collector)
        except KeyError:  # not on this registry (multiprocess mode reads files instead)
            return
        with self._lock:
            self._taken.append(collector)

    def taken(self) -> list[Any]:
        with self._lock:
            return list(self._taken)

    def _receive_metrics(self, metrics_data: MetricsData, timeout_millis: float = 10_000,
                         **kwargs: Any) -> None:  # fmt: skip
        self._received = metrics_data

    def families(self) -> list[Family]:
        """What the SDK holds now, as Prometheus families."""
        with self._lock:
            self.collect()
            data, self._received = self._received, None
        return [] if data is None else translate(data, self._mappings, self._dropped)

    def fault(self, exc: BaseException) -> None:
        if self._on_fault is not None:
            self._on_fault("otel_bridge", exc)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        with contextlib.suppress(KeyError):  # shut down twice
            self.registry.unregister(self._collector)
        with self._lock:
            taken, self._taken = self._taken, []
        for collector in taken:  # the registry serves them itself again
            self.registry.register(collector)


class _Collector:
    def __init__(self, reader: RegistryReader) -> None:
        self._reader = reader

    def describe(self) -> list[Family]:
        # The families change with what was recorded; [] also keeps register() from collecting
        # before the reader belongs to a MeterProvider.
        return []

    def collect(self) -> Iterator[Family]:
        try:
            families = self._reader.families()
        except Exception as exc:  # a scrape must not fail for our sake
            self._reader.fault(exc)
            families = []
        by_name = {f.name: f for f in families}
        for collector in self._reader.taken():
            for family in collector.collect():
                mine = by_name.get(family.name)
                if mine is not None and mine.type == family.type:
                    mine.samples.extend(family.samples)
                    mine.documentation = family.documentation  # the catalog's help text
                else:
                    yield family
        yield from families
