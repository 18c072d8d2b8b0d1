"""OpenLIT as a source of the same metrics: ``llm_exporter.use_openlit()``.

OpenLIT instruments dozens of providers and frameworks and records the OTel GenAI metrics. Before
``openlit.init()`` this sets up what makes those metrics land in the registry that llm-exporter's
own metrics and /metrics use, with nothing leaving the process unless asked:

- a MeterProvider whose reader is the bridge of ``sources/otel.py`` (OpenLIT 1.40 and later
  reuse a global MeterProvider that exists before init), with OpenLIT's cost histogram and GPU
  gauges mapped onto the catalog (``_remaps()``, ``DROPPED``);
- a TracerProvider and a LoggerProvider without exporters where the process has none; otherwise
  OpenLIT adds its own: console exporters (every span printed on stdout) or, with
  OTEL_EXPORTER_OTLP_ENDPOINT set, OTLP ones. ``otlp_endpoint=`` sends spans, metrics and events
  there, from background threads;
- a pricing file written from llm-exporter's model table, so OpenLIT does not fetch its own from
  GitHub at start-up (up to 20 s when that is unreachable) and prices agree with ours
  (cached input aside: its format has no price for it).

With llm-exporter's openai hook on too, a call OpenLIT records is left to it
(``instrument/coexist.py``), so each call is counted once.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import catalog
from ..metrics import Metrics, default_metrics
from ..pricing import PER_MILLION, ModelTable

log = logging.getLogger("llm_exporter")

INSTALL_HINT = "pip install 'llm-exporter[openlit]'"
MIN_VERSION = (1, 40)
COST = "gen_ai.usage.cost"  # OpenLIT's per-call cost histogram, in USD
MIB = 1024 * 1024

_lock = threading.Lock()
_active: OpenLIT | None = None


@dataclass(frozen=True)
class OpenLIT:
    """What use_openlit() set up: the registry's metrics and the MeterProvider OpenLIT records
    into."""

    metrics: Metrics
    meter_provider: Any


def _remaps() -> tuple[Any, ...]:
    from .otel import Remap

    def scaled(factor: float) -> Any:
        return lambda point: point.value * factor

    def as_is(point: Any) -> float:
        return point.value

    gpu = {"gpu.index": catalog.GPU, "gpu.uuid": catalog.UUID}
    return (
        # The histogram's sum is the spend so far: the counter the catalog has for it.
        Remap(COST, catalog.COST, lambda p: p.sum, drop=("error.type",)),
        # OpenLIT prices a model it does not know at 0: successful calls in the (-inf, 0] bucket
        # are the ones no price covers. (A call priced at exactly 0 would count here too.)
        Remap(COST, catalog.UNPRICED_OPERATIONS,
              lambda p: None if "error.type" in p.attributes else p.bucket_counts[0]),
        Remap("gpu.utilization", catalog.GPU_UTILIZATION, scaled(0.01), gpu),
        Remap("gpu.enc.utilization", catalog.GPU_ENCODER_UTILIZATION, scaled(0.01), gpu),
        Remap("gpu.dec.utilization", catalog.GPU_DECODER_UTILIZATION, scaled(0.01), gpu),
        Remap("gpu.temperature", catalog.GPU_TEMPERATURE, as_is, gpu),
        Remap("gpu.memory.total", catalog.GPU_MEMORY_TOTAL, scaled(MIB), gpu),
        Remap("gpu.memory.used", catalog.GPU_MEMORY_USED, scaled(MIB), gpu),
        Remap("gpu.memory.free", catalog.GPU_MEMORY_FREE, scaled(MIB), gpu),
        Remap("gpu.power.draw", catalog.GPU_POWER, as_is, gpu),
        Remap("gpu.power.limit", catalog.GPU_POWER_LIMIT, as_is, gpu),
    )  # fmt: skip


# gpu.memory.available is the same NVML reading as gpu.memory.free; gpu.fan_speed is a constant
# 0 on NVIDIA GPUs (OpenLIT 1.45 does not read the fan), and a 0 reads as a stopped fan.
DROPPED = ("gpu.memory.available", "gpu.fan_speed")


def use_openlit(
    *,
    metrics: Metrics | None = None,
    models_file: str | None = None,
    otlp_endpoint: str | None = None,
    otlp_headers: Mapping[str, str] | str | None = None,
    collect_gpu_stats: bool = False,
    capture_message_content: bool = False,
    disable_events: bool = True,
    **openlit_options: Any,
) -> OpenLIT:
    """Set up OpenLIT so its metrics are served with llm-exporter's, then ``openlit.init()``.

    ``metrics`` names the registry (default: prometheus_client's global one, which
    ``start_http_server`` and ``llm-exporter``'s servers expose); ``models_file`` extends the
    model table the prices come from (pass ``pricing_json=`` to use OpenLIT's own table
    instead). ``otlp_endpoint`` (an OTLP/HTTP base URL) also exports spans, metrics and, with
    ``disable_events=False``, events. GPU stats are off: ``llm-exporter serve`` reads the GPUs
    in full. Prompts and completions stay out of spans unless ``capture_message_content=True``.
    Other keywords go to ``openlit.init()`` as they are (``disabled_instrumentors``,
    ``application_name``, ...). A second call changes nothing and returns the first set-up.
    """
    global _active
    openlit = _import_openlit()
    with _lock:
        if _active is not None:
            log.warning("use_openlit() already ran in this process; this call changes nothing")
            return _active
        metrics = metrics or default_metrics()
        if metrics.registry is None:
            raise ValueError("use_openlit() needs metrics on a registry, got registry=None")
        meter_provider = _meter_provider(metrics, otlp_endpoint, otlp_headers)
        _tracer_and_logger_providers(otlp_endpoint, otlp_headers, disable_events)
        options: dict[str, Any] = {
            "disable_events": disable_events,
            "collect_gpu_stats": collect_gpu_stats,
            "capture_message_content": capture_message_content,
            **openlit_options,
        }
        pricing = None
        if "pricing_json" not in options:
            pricing = options["pricing_json"] = _pricing_file(ModelTable.load(models_file))
        try:
            openlit.init(**options)
        finally:
            if pricing is not None:
                os.unlink(pricing)  # read during init
        _active = OpenLIT(metrics, meter_provider)
        return _active


def _import_openlit() -> Any:
    try:
        from importlib.metadata import version

        import openlit
        import opentelemetry.sdk  # noqa: F401 - only whether it is there
    except ImportError as exc:
        raise ImportError(f"use_openlit() needs OpenLIT and the OpenTelemetry SDK: "
                          f"{INSTALL_HINT}") from exc  # fmt: skip
    found = version("openlit")
    if tuple(int(p) for p in found.split(".")[:2] if p.isdigit()) < MIN_VERSION:
        wanted = ".".join(map(str, MIN_VERSION))
        raise ImportError(f"use_openlit() needs OpenLIT {wanted} or later (found {found}), which "
                          f"reuses the MeterProvider set up for it: {INSTALL_HINT}")  # fmt: skip
    return openlit


def _meter_provider(metrics: Metrics, endpoint: str | None, headers: Any) -> Any:
    from opentelemetry import metrics as otel_metrics
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View

    from .otel import RegistryReader

    if isinstance(otel_metrics.get_meter_provider(), MeterProvider):
        raise RuntimeError(
            "use_openlit(): an OpenTelemetry MeterProvider is already set in this process, and "
            "OpenLIT would record into it; add llm_exporter.sources.otel.RegistryReader(registry) "
            "to its metric_readers and call openlit.init() yourself"
        )
    if metrics.registry is None:
        raise RuntimeError("use_openlit(): the Metrics given have no registry to record into")
    reader = RegistryReader(metrics.registry, _remaps(), DROPPED, on_fault=metrics.fault)
    metrics.share_with(reader)  # our openai hook writes the same families: one family a name
    readers: list[Any] = [reader]
    if endpoint:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        exporter = OTLPMetricExporter(endpoint=_url(endpoint, "metrics"), headers=_headers(headers))
        readers.append(PeriodicExportingMetricReader(exporter))
    # Cost per call needs one boundary: the (-inf, 0] bucket holds the calls with no price. (An
    # OTLP export, if asked for, gets the cost histogram with that one boundary too.)
    cost = View(instrument_name=COST, aggregation=ExplicitBucketHistogramAggregation((0.0,)))
    provider = MeterProvider(metric_readers=readers, views=[cost])
    otel_metrics.set_meter_provider(provider)
    return provider


def _tracer_and_logger_providers(endpoint: str | None, headers: Any, no_events: bool) -> None:
    from opentelemetry import _logs, trace
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk.trace import TracerProvider

    tracer_provider = trace.get_tracer_provider()
    if not isinstance(tracer_provider, TracerProvider):
        tracer_provider = TracerProvider()
        trace.set_tracer_provider(tracer_provider)
    if endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        spans = OTLPSpanExporter(endpoint=_url(endpoint, "traces"), headers=_headers(headers))
        tracer_provider.add_span_processor(BatchSpanProcessor(spans))
    logger_provider = _logs.get_logger_provider()
    if not isinstance(logger_provider, LoggerProvider):
        logger_provider = LoggerProvider()
        _logs.set_logger_provider(logger_provider)
    if endpoint and not no_events:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

        events = OTLPLogExporter(endpoint=_url(endpoint, "logs"), headers=_headers(headers))
        logger_provider.add_log_record_processor(BatchLogRecordProcessor(events))


def _url(endpoint: str, signal: str) -> str:
    return f"{endpoint.rstrip('/')}/v1/{signal}"


def _headers(headers: Mapping[str, str] | str | None) -> dict[str, str] | None:
    """OTLP request headers. A string reads as OTEL_EXPORTER_OTLP_HEADERS does in the
    OpenTelemetry SDK: ``key=value`` pairs split by commas, URL-encoded values decoded, plain
    ones (``Authorization=Bearer t0ken``) taken as they are, names in lower case."""
    if isinstance(headers, str):
        from opentelemetry.util.re import parse_env_headers

        return dict(parse_env_headers(headers, liberal=True)) or None
    return dict(headers) if headers else None


def openlit_pricing(table: ModelTable) -> dict[str, dict[str, Any]]:
    """The model table in OpenLIT's pricing format: USD per thousand tokens, by request model.
    Every priced model goes in both sections, since OpenLIT looks models up by operation. The
    format has no cached-input price: OpenLIT bills cached tokens at the input price."""
    chat: dict[str, dict[str, float]] = {}
    embeddings: dict[str, float] = {}
    per_thousand = 1000 / PER_MILLION
    for name in table.names():
        info = table.lookup(name)
        if info is None or info.input is None:  # not priced
            continue
        chat[name] = {"promptPrice": info.input * per_thousand,
                      "completionPrice": (info.output or 0.0) * per_thousand}  # fmt: skip
        embeddings[name] = info.input * per_thousand
    return {"chat": chat, "embeddings": embeddings}


def _pricing_file(table: ModelTable) -> str:
    fd, path = tempfile.mkstemp(prefix="llm-exporter-openlit-pricing-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(openlit_pricing(table), f)
    return path
