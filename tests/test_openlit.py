"""OpenLIT as a source (use_openlit) and the rule pack on every producer of the GenAI metrics.

Real parts throughout: OpenLIT 1.45 instrumenting the real openai SDK against the simulator, in
processes of their own (tests/openlit_worker.py: OpenLIT patches for good), the OpenTelemetry
SDK, and a real Prometheus running the generated rules. NVML is faked for OpenLIT's GPU gauges.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from llm_exporter import catalog
from llm_exporter.dashboards import dashboards
from llm_exporter.errortypes import OUTPUT_PARSE, RATE_LIMIT, TIMEOUT
from llm_exporter.rulegen import recording, render, thresholds
from llm_exporter.rulegen.alerts import ALERTS
from llm_exporter.rulegen.alerts.app import class_errors
from llm_exporter.rulegen.model import increased

from .conftest import REPO, free_port, promtool_check_metrics, sample_sum
from .fake_nvml import MIB, FakeNVML
from .prometheus import Prometheus, rule_files
from .promql_names import metric_names

WORKER = [sys.executable, "-m", "tests.openlit_worker"]
CALLS = catalog.OPERATION_DURATION.count
# What OpenLIT 1.45 records for these calls under names the catalog does not have, left as they
# are (README, "OpenLIT and OTel Collectors"): the conventions' server-side histograms, which
# OpenLIT measures from the client, and the HTTP client metric of the httpx instrumentation.
LEFT_AS_IS = {
    "gen_ai_server_request_duration_seconds",
    "gen_ai_server_time_to_first_token_seconds",
    "gen_ai_server_time_per_output_token_seconds",
    "http_client_duration_milliseconds",
}


def _family(sample_name: str) -> str:
    return re.sub(r"_(bucket|sum|count)$", "", sample_name)


def _native(samples: list[list[Any]], name: str) -> float:
    """What llm-exporter's own hook recorded: OpenLIT's series carry telemetry_sdk_name."""
    return sum(v for n, lab, v in samples if n == name and "telemetry_sdk_name" not in lab)


# -- import hygiene and user errors (light subprocesses) -------------------------------------------


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env}, cwd=REPO)  # fmt: skip


def test_import_stays_light_and_a_missing_extra_names_the_install() -> None:
    result = _python(
        "import sys\n"
        "import llm_exporter\n"
        "heavy = lambda: sorted({m.split('.')[0] for m in sys.modules}\n"
        "                       & {'openlit', 'opentelemetry'})\n"
        "assert heavy() == [], heavy()\n"
        "use = llm_exporter.use_openlit\n"  # the lazy attribute loads our module, not OpenLIT
        "assert heavy() == [], heavy()\n"
        "sys.modules['openlit'] = None\n"  # as if the extra were not installed
        "try:\n    use()\nexcept ImportError as exc:\n    print(type(exc).__name__, exc)\n"
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "ImportError use_openlit() needs OpenLIT and the OpenTelemetry SDK: "
        "pip install 'llm-exporter[openlit]'"
    )


def test_a_meter_provider_set_before_is_refused_in_one_line() -> None:
    result = _python(
        "from opentelemetry import metrics\n"
        "from opentelemetry.sdk.metrics import MeterProvider\n"
        "metrics.set_meter_provider(MeterProvider())\n"
        "import llm_exporter\n"
        "try:\n    llm_exporter.use_openlit()\nexcept RuntimeError as exc:\n    print(exc)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines() == [
        "use_openlit(): an OpenTelemetry MeterProvider is already set in this process, and "
        "OpenLIT would record into it; add llm_exporter.sources.otel.RegistryReader(registry) to "
        "its metric_readers and call openlit.init() yourself"
    ]


# -- the bridge, in-process (its own MeterProvider, no global state) -------------------------------


def _record_like_openlit(meter: Any) -> None:
    """Instruments as OpenLIT creates them, one success and one failure recorded."""
    from opentelemetry.metrics import Observation

    attrs = {"telemetry.sdk.name": "openlit", "gen_ai.operation.name": "chat",
             "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
             "server.address": "api.openai.com", "server.port": 443,
             "gen_ai.request.stream": False}  # fmt: skip
    duration = meter.create_histogram("gen_ai.client.operation.duration", unit="s",
                                      explicit_bucket_boundaries_advisory=list(
                                          catalog.SEMCONV_DURATION_BUCKETS))  # fmt: skip
    duration.record(0.7, attrs)
    duration.record(0.05, {**attrs, "error.type": "RateLimitError"})
    tokens = meter.create_histogram("gen_ai.client.token.usage", unit="{token}",
                                    explicit_bucket_boundaries_advisory=list(
                                        catalog.SEMCONV_TOKEN_BUCKETS))  # fmt: skip
    tokens.record(1200, {**attrs, "gen_ai.token.type": "input"})
    meter.create_histogram("gen_ai.usage.cost", unit="USD").record(0.00042, attrs)
    meter.create_counter("db.total.requests", unit="1").add(3, {"db.system.name": "chroma"})
    meter.create_up_down_counter("queue.depth", unit="{request}").add(-2)
    gpu = {"gpu.index": "0", "gpu.uuid": "GPU-1"}
    meter.create_observable_gauge("gpu.utilization", callbacks=[lambda _: [Observation(37, gpu)]])


def _samples(registry: CollectorRegistry) -> set[tuple[str, tuple, float]]:
    return {(s.name, tuple(sorted(s.labels.items())), s.value)
            for fam in registry.collect() for s in fam.samples
            if s.name != "target_info"}  # fmt: skip


def test_the_bridge_writes_what_the_otel_prometheus_exporter_writes() -> None:
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.sdk.metrics import MeterProvider

    from llm_exporter.sources.otel import RegistryReader

    ours, theirs = CollectorRegistry(), CollectorRegistry()
    provider = MeterProvider(metric_readers=[RegistryReader(ours),
                                             PrometheusMetricReader(registry=theirs)])  # fmt: skip
    _record_like_openlit(provider.get_meter("openlit.otel.metrics", "0.1.0"))
    got, want = _samples(ours), _samples(theirs)
    provider.shutdown()
    assert got == want
    names = {name for name, _, _ in got}
    assert {CALLS, catalog.TOKEN_USAGE.bucket, "gen_ai_usage_cost_USD_sum",
            "db_total_requests_total", "queue_depth", "gpu_utilization"} <= names  # fmt: skip
    # Success writes error_type="" (a label on the family's other points), which PromQL reads
    # as no label: the rule pack's error_type="" matches it either way.
    assert (CALLS, (("error_type", ""),), 1.0) in {(n, tuple((k, v) for k, v in lab
                                                   if k == "error_type"), val)
                                                  for n, lab, val in got}  # fmt: skip


def test_the_bridge_serves_a_name_it_shares_with_our_families_as_one() -> None:
    """Our duration histogram and OTel data under the same name: one family holding both's
    series while the bridge runs, ours alone again after it shuts down."""
    from opentelemetry.sdk.metrics import MeterProvider
    from prometheus_client import generate_latest

    from llm_exporter.metrics import Metrics
    from llm_exporter.sources.otel import RegistryReader

    registry = CollectorRegistry()
    metrics = Metrics(registry)
    ours = metrics.family(catalog.OPERATION_DURATION)  # before the bridge, as native-first
    reader = RegistryReader(registry)
    metrics.share_with(reader)
    provider = MeterProvider(metric_readers=[reader])
    theirs = provider.get_meter("openlit.otel.metrics").create_histogram(
        "gen_ai.client.operation.duration", unit="s")  # fmt: skip
    ours.labels("chat", "openai", "gpt-4o", "gpt-4o", "api.openai.com", "").observe(0.5)
    theirs.record(0.7, {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"})
    text = generate_latest(registry)
    assert text.count(b"# TYPE " + catalog.OPERATION_DURATION.name.encode() + b" ") == 1
    assert sample_sum(text.decode(), CALLS) == 2
    result = promtool_check_metrics(text)
    assert result.returncode == 0, result.stdout + result.stderr
    provider.shutdown()
    assert sample_sum(registry, CALLS) == 1  # ours, served by the registry again


def test_openlit_cost_maps_onto_the_spend_counter_and_no_price_onto_unpriced() -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View

    from llm_exporter.sources.openlit import COST, DROPPED, _remaps
    from llm_exporter.sources.otel import RegistryReader

    registry = CollectorRegistry()
    view = View(instrument_name=COST, aggregation=ExplicitBucketHistogramAggregation((0.0,)))
    provider = MeterProvider(metric_readers=[RegistryReader(registry, _remaps(), DROPPED)],
                             views=[view])  # fmt: skip
    cost = provider.get_meter("openlit.otel.metrics").create_histogram(COST, unit="USD")
    known = {"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini"}
    cost.record(0.25, known)
    cost.record(0.5, known)
    cost.record(0.0, {**known, "error.type": "RateLimitError"})  # failed: no spend, not unpriced
    cost.record(0.0, {"gen_ai.provider.name": "openai", "gen_ai.request.model": "local-llama"})
    got = _samples(registry)
    provider.shutdown()
    spend = {dict(lab)["gen_ai_request_model"]: v for n, lab, v in got
             if n == catalog.COST.name}  # fmt: skip
    unpriced = {dict(lab)["gen_ai_request_model"]: v for n, lab, v in got
                if n == catalog.UNPRICED_OPERATIONS.name}  # fmt: skip
    assert spend == {"gpt-4o-mini": 0.75, "local-llama": 0.0}
    assert unpriced == {"gpt-4o-mini": 0.0, "local-llama": 1.0}
    assert not any(n.startswith("gen_ai_usage_cost") for n, _, _ in got)


# -- OpenLIT in its own processes --------------------------------------------------------------


class OtlpRecorder:
    """An OTLP/HTTP endpoint that accepts everything and notes what was posted where, and with
    which headers (names in lower case)."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                recorder.paths.append(self.path)
                recorder.headers.append({k.lower(): v for k, v in self.headers.items()})
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# Written as OTEL_EXPORTER_OTLP_HEADERS is: a plain value, spaces, a URL-encoded one.
OTLP_HEADERS = "Authorization=Bearer t0ken, X-Team = search%2Fads"
SENT_HEADERS = {"authorization": "Bearer t0ken", "x-team": "search/ads"}


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, Any]]:
    """The worker's scenarios, run side by side; each scenario's JSON, stdout and recorder."""
    quiet, asked = OtlpRecorder(), OtlpRecorder()
    # OpenLIT's own set-up would export to this endpoint; use_openlit() must not.
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": quiet.url}
    procs = {
        "openlit-first": subprocess.Popen([*WORKER, "openlit-first"], env=env, cwd=REPO,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True),
        "native-first": subprocess.Popen([*WORKER, "native-first"], cwd=REPO, text=True,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE),
        "native-owns": subprocess.Popen([*WORKER, "native-owns", "--otlp", asked.url,
                                         "--otlp-headers", OTLP_HEADERS], cwd=REPO, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE),
        "metrics-off": subprocess.Popen([*WORKER, "metrics-off"], cwd=REPO, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE),
    }  # fmt: skip
    out: dict[str, Any] = {"recorders": {"quiet": quiet, "asked": asked}}
    try:
        for name, proc in procs.items():
            stdout, stderr = proc.communicate(timeout=120)
            assert proc.returncode == 0, f"{name}: {stderr[-3000:]}"
            out[name] = {"result": json.loads(stdout.strip().splitlines()[-1]),
                         "stdout": stdout, "stderr": stderr}  # fmt: skip
        yield out
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
        quiet.stop()
        asked.stop()


def test_openlit_calls_are_served_under_catalog_names(runs: dict[str, Any]) -> None:
    result = runs["openlit-first"]["result"]
    samples, calls = result["phase1"], result["calls1"]
    assert sample_sum(samples, CALLS) == calls
    assert sample_sum(samples, CALLS, error_type="RateLimitError") == 1
    # Every call that answered has output tokens (all but the embeddings and the 429).
    assert sample_sum(samples, catalog.TOKEN_USAGE.count, gen_ai_token_type="output") == calls - 2
    assert sample_sum(samples, catalog.TOKEN_USAGE.count, gen_ai_token_type="input") == calls - 1
    # Both streams (stream=True, and the stream() helper) have a first chunk.
    assert sample_sum(samples, catalog.TIME_TO_FIRST_CHUNK.count) == 2
    assert sample_sum(samples, catalog.COST.name, gen_ai_request_model="gpt-4o-mini") > 0
    assert sample_sum(samples, catalog.UNPRICED_OPERATIONS.name) == 1  # local-llama
    assert sample_sum(samples, catalog.UNPRICED_OPERATIONS.name, gen_ai_request_model="local-llama")
    # Everything OpenLIT recorded is a catalog family or one of those documented as left as is.
    families = {_family(name) for name, _, _ in samples} - {"target_info"}
    unknown = families - {s.name for s in catalog.all_specs()} - LEFT_AS_IS
    assert not unknown, f"OpenLIT names neither mapped nor documented: {sorted(unknown)}"
    assert {s.name for s in catalog.all_specs()} & families >= {
        catalog.OPERATION_DURATION.name, catalog.TOKEN_USAGE.name, catalog.COST.name,
        catalog.TIME_TO_FIRST_CHUNK.name, catalog.TIME_PER_OUTPUT_CHUNK.name}  # fmt: skip


def test_openlit_gpu_gauges_are_read_in_the_catalogs_units(runs: dict[str, Any]) -> None:
    samples = runs["openlit-first"]["result"]["phase1"]
    gpu0 = {name: value for name, labels, value in samples
            if labels.get("uuid") == FakeNVML(2).gpus[0].uuid}  # fmt: skip
    fake = FakeNVML(2).gpus[0]
    # NVML's v1 memory struct, which OpenLIT reads, counts the driver's reserved memory as used.
    used_mib = (fake.memory_used + fake.memory_reserved) // MIB
    assert gpu0 == {
        catalog.GPU_UTILIZATION.name: fake.util_gpu / 100,
        catalog.GPU_ENCODER_UTILIZATION.name: fake.encoder / 100,
        catalog.GPU_DECODER_UTILIZATION.name: fake.decoder / 100,
        catalog.GPU_TEMPERATURE.name: fake.temperature,
        catalog.GPU_MEMORY_TOTAL.name: fake.memory_total // MIB * MIB,
        catalog.GPU_MEMORY_USED.name: used_mib * MIB,
        catalog.GPU_MEMORY_FREE.name: (fake.memory_total // MIB - used_mib) * MIB,
        catalog.GPU_POWER.name: fake.power_mw // 1000,
        catalog.GPU_POWER_LIMIT.name: fake.power_limit_mw // 1000,
    }
    labels = next(lab for name, lab, _ in samples if name == catalog.GPU_POWER.name)
    assert labels["gpu"] == "0" and labels["gpu_name"] == fake.name
    assert not [n for n, _, _ in samples if n.startswith("gpu_")]  # mapped or dropped, all


def test_both_instrumentations_count_each_call_once(runs: dict[str, Any]) -> None:
    # OpenLIT first, llm-exporter's hook added later: OpenLIT keeps the calls it wraps.
    first = runs["openlit-first"]["result"]
    assert sample_sum(first["phase1"], CALLS) == first["calls1"]
    assert sample_sum(first["phase2"], CALLS) == first["calls1"] + first["calls2"]
    assert _native(first["phase2"], CALLS) == 0
    assert sample_sum(first["phase2"], catalog.COST.name) == pytest.approx(
        2 * sample_sum(first["phase1"], catalog.COST.name))  # fmt: skip
    # llm-exporter first, then OpenLIT: the same; a call OpenLIT does not wrap is ours.
    native_first = runs["native-first"]["result"]
    assert sample_sum(native_first["phase1"], CALLS) == native_first["calls1"]
    assert _native(native_first["phase1"], CALLS) == 0
    assert sample_sum(native_first["phase2"], CALLS) == native_first["calls1"] + 1
    assert _native(native_first["phase2"], CALLS) == 1
    assert "leaves openai calls that OpenLIT records to OpenLIT" in runs["native-first"]["stderr"]
    # OpenLIT told to leave openai alone: every call is llm-exporter's, with its error classes.
    owns = runs["native-owns"]["result"]
    assert sample_sum(owns["phase1"], CALLS) == _native(owns["phase1"], CALLS) == owns["calls1"]
    assert sample_sum(owns["phase1"], CALLS, error_type="rate_limit") == 1
    # OpenLIT's metrics off (disable_metrics): it still wraps the calls, but records nothing,
    # so every call is llm-exporter's.
    off = runs["metrics-off"]
    samples, calls = off["result"]["phase1"], off["result"]["calls1"]
    assert sample_sum(samples, CALLS) == _native(samples, CALLS) == calls
    assert "leaves openai calls that OpenLIT records" not in off["stderr"]


def test_one_family_a_name_when_both_record(runs: dict[str, Any]) -> None:
    """Both write the GenAI families (and the spend counter) into one registry: the exposition
    holds each name once, with both producers' series, as promtool and OpenMetrics require."""
    ours = {spec.name for spec in catalog.all_specs()}
    for scenario in ("openlit-first", "native-first", "native-owns", "metrics-off"):
        result = promtool_check_metrics(runs[scenario]["result"]["exposition"].encode())
        report = (result.stdout + result.stderr).strip()
        # It parses; lint remarks may only concern OpenLIT's own names (milliseconds units).
        assert "error while linting" not in report, f"{scenario}: {report}"
        remarks = [line for line in report.splitlines() if line.split()[0] in ours]
        assert not remarks, f"{scenario}: {remarks}"
    # native-first's second phase has a call of each: both producers' series under one family.
    text = runs["native-first"]["result"]["exposition"]
    calls = [line for line in text.splitlines() if line.startswith(CALLS + "{")]
    assert {"otel_scope_name" in line for line in calls} == {True, False}, calls


def test_nothing_leaves_the_process_unless_asked(runs: dict[str, Any]) -> None:
    first = runs["openlit-first"]
    # OTEL_EXPORTER_OTLP_ENDPOINT was set, but use_openlit() gave OpenLIT providers without
    # exporters: nothing was sent, and no span was printed (OpenLIT's console default).
    assert runs["recorders"]["quiet"].paths == []
    assert first["stdout"].strip().count("\n") == 0
    assert first["result"]["second_call_same_handle"] is True
    # otlp_endpoint= given: spans (OpenLIT's httpx instrumentation) and metrics went there,
    # each with the otlp_headers= given as a string.
    asked = runs["recorders"]["asked"]
    assert {"/v1/traces", "/v1/metrics"} <= set(asked.paths)
    assert all(h.items() >= SENT_HEADERS.items() for h in asked.headers), asked.headers


def test_otlp_headers_read_as_the_sdk_reads_its_environment() -> None:
    from llm_exporter.sources.openlit import _headers

    assert _headers(OTLP_HEADERS) == SENT_HEADERS
    assert _headers("x-ok=1,no-equals-sign") == {"x-ok": "1"}  # the bad pair is left out
    assert _headers({"X-Key": "v"}) == {"X-Key": "v"}
    assert _headers(None) is None and _headers("") is None and _headers({}) is None


# -- the rule pack and the overview dashboard on OpenLIT and a Collector, in a real Prometheus -----


def _go_float(value: float) -> str:
    """A float as Go's strconv.FormatFloat(v, 'g', -1, 64) writes it, as the Collector does."""
    sign, digits, exponent = Decimal(repr(float(value))).normalize().as_tuple()
    point = len(digits) + exponent  # digits before the decimal point
    if point - 1 < -4 or point - 1 >= 6:  # Go's rule for the shortest format
        mantissa = "".join(map(str, digits))
        text = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
        return f"{'-' if sign else ''}{text}e{point - 1:+03d}"
    return format(Decimal(repr(float(value))).normalize(), "f")


class CollectorTarget:
    """/metrics as an OTel Collector's Prometheus exporter writes the GenAI metrics of the
    OpenTelemetry openai instrumentation: label names from the spec, no error_type on success,
    error_type a class name, job and instance from the resource, le in Go's float format. One
    app (gpt-4o) on the current conventions, one (gpt-4o-mini) still writing gen_ai_system.
    Counts grow with time: 10 calls a second each, one in ten of gpt-4o's rate limited."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = target.exposition().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def exposition(self) -> str:
        n = int((time.monotonic() - self.start) * 10) + 10
        common = {"exported_job": "chat-api", "exported_instance": "pod-7",
                  "otel_scope_name": "opentelemetry.instrumentation.openai_v2",
                  "otel_scope_version": "2.1b0", "gen_ai_operation_name": "chat",
                  "server_address": "api.openai.com", "server_port": "443"}  # fmt: skip
        current = {**common, "gen_ai_provider_name": "openai", "gen_ai_request_model": "gpt-4o",
                   "gen_ai_response_model": "gpt-4o-2024-08-06"}  # fmt: skip
        legacy = {**common, "gen_ai_system": "openai", "gen_ai_request_model": "gpt-4o-mini",
                  "gen_ai_response_model": "gpt-4o-mini-2024-07-18"}  # fmt: skip
        lines: list[str] = []
        duration, ttfc = catalog.OPERATION_DURATION, catalog.TIME_TO_FIRST_CHUNK
        self._histogram(lines, duration, [(current, n, 0.5), (legacy, n, 0.3),
                                          ({**current, "error_type": "RateLimitError"}, n // 10,
                                           0.05)])  # fmt: skip
        self._histogram(lines, ttfc, [(current, n, 0.2), (legacy, n, 0.1)])
        tokens = catalog.TOKEN_USAGE
        sizes = (("input", 900), ("output", 120))
        per_type = [({**app, "gen_ai_token_type": kind}, n, size)
                    for app in (current, legacy) for kind, size in sizes]  # fmt: skip
        self._histogram(lines, tokens, per_type)
        return "\n".join(lines) + "\n"

    @staticmethod
    def _histogram(lines: list[str], spec: catalog.MetricSpec,
                   series: list[tuple[dict[str, str], int, float]]) -> None:  # fmt: skip
        lines += [f"# HELP {spec.name} {spec.help}", f"# TYPE {spec.name} histogram"]
        for labels, count, each in series:
            text = ",".join(f'{k}="{v}"' for k, v in labels.items())
            for bound in (*(spec.buckets or ()), float("inf")):
                le = "+Inf" if bound == float("inf") else _go_float(bound)
                lines.append(f'{spec.bucket}{{{text},le="{le}"}} {count if each <= bound else 0}')
            lines.append(f"{spec.sum}{{{text}}} {_go_float(count * each)}")
            lines.append(f"{spec.count}{{{text}}} {count}")


def test_go_float_format() -> None:
    assert [_go_float(v) for v in (0.01, 5.12, 81.92, 1, 262144, 1048576, 67108864)] == [
        "0.01", "5.12", "81.92", "1", "262144", "1.048576e+06", "6.7108864e+07"]  # fmt: skip


RECORDING_GROUP = render.group_name(render.RECORDING)
JOBS = ("openlit", "collector")
# The 5-minute count of rate-limited calls the error-class alerts read: other producers'
# RateLimitError and 429 are counted as rate_limit.
RATE_LIMITED = increased("model", class_errors(RATE_LIMIT), "5m")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    workdir = tmp_path_factory.mktemp("prometheus-producers")
    rules = rule_files(workdir, "evaluation_interval: 1s\nbaseline_interval: 1s\n")
    port = free_port()
    log = (workdir / "worker.log").open("w")
    worker = subprocess.Popen([*WORKER, "serve", "--port", str(port)], cwd=REPO, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=log)  # fmt: skip
    collector = CollectorTarget()
    prometheus = None
    try:
        # Prometheus starts while OpenLIT does; the first scrapes of the worker may fail.
        targets = {"openlit": [f"127.0.0.1:{port}"], "collector": [collector.address]}
        prometheus = Prometheus(workdir, targets, rules)
        line = worker.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("port "), (workdir / "worker.log").read_text()[-3000:]
        _wait_for_rules(prometheus)
        yield prometheus
    finally:
        if prometheus is not None:
            prometheus.stop()
        collector.stop()
        worker.stdin.close()  # type: ignore[union-attr]
        worker.wait(timeout=30)
        log.close()


def _wait_for_rules(prometheus: Prometheus, timeout: float = 60) -> None:
    """Until the last LLM-call recording rules have series for both jobs (a few seconds)."""
    last = [f"{recording.COST_PER_OP}{{job='openlit'}}"] + [
        f"{RATE_LIMITED}{{job='{job}'}}" for job in JOBS]  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(prometheus.query(q).get("data", {}).get("result") for q in last):
            time.sleep(2)  # one more scrape and evaluation, so every rate has moved
            return
        time.sleep(0.5)
    raise AssertionError(f"no recorded series for {last} within {timeout}s")


def _names_of(prometheus: Prometheus, job: str) -> set[str]:
    result = prometheus.query(f'count by (__name__) ({{job="{job}"}})')["data"]["result"]
    return {r["metric"]["__name__"] for r in result}


def _recording_rules(prometheus: Prometheus) -> dict[str, str]:
    groups = prometheus.api("rules")["data"]["groups"]
    return {r["name"]: r["query"] for g in groups if g["name"] == RECORDING_GROUP
            for r in g["rules"]}  # fmt: skip


def _inputs(expr: str, rules: dict[str, str]) -> set[str]:
    """The scraped metric names an expression reads, through the recorded series it reads."""
    out: set[str] = set()
    for name in metric_names(expr):
        out |= _inputs(rules[name], rules) if name in rules else {name}
    return out


# The long SLO windows average recorded 5m rates at 5-minute marks, so a target scraped for
# seconds has none yet; their inputs are the 5m rates checked here.
FIVE_MINUTE_POINTS = {f(w) for w in recording.LONG_SLO_WINDOWS
                      for f in (recording.error_ratio, recording.slow_ratio)}  # fmt: skip
# Spend by team and feature reads the attribution labels only llm-exporter's own instrumentation
# writes; the month's hourly spend has a sample in the first minute of each hour only.
# The usual traffic for this hour needs yesterday's; the traffic has failures of one class only.
NOT_HERE = {recording.TEAM_COST_1D, recording.FEATURE_COST_1D, recording.COST_1H_BY_MONTH,
            recording.USUAL_OPS_HIGH, recording.USUAL_OPS_LOW} | {
    increased("model", class_errors(cls), window)
    for cls in (TIMEOUT, OUTPUT_PARSE) for window in ("2m", "5m", "30m")}  # fmt: skip


def test_the_recording_rules_read_openlit_and_a_collector(live: Prometheus) -> None:
    rules = _recording_rules(live)
    for job in JOBS:
        scraped = _names_of(live, job)
        covered, empty = [], []
        for record, expr in rules.items():
            if not _inputs(expr, rules) <= scraped:
                continue  # the producer has none of, say, the tool metrics
            if record in FIVE_MINUTE_POINTS or record in NOT_HERE:
                continue  # one point per 5-minute mark: data from the first mark on
            covered.append(record)
            if not live.query(f'{record}{{job="{job}"}}')["data"]["result"]:
                empty.append(record)
        assert not empty, f"{job}: recording rules without data: {empty}"
        assert {recording.OPS, recording.APP_OPS, recording.ERROR_RATIO,
                RATE_LIMITED, recording.LATENCY[95], recording.slow_ratio("5m"),
                recording.TTFC_Q[50], recording.TOKENS_PER_OP,
                recording.RESPONSE_OPS} <= set(covered), job  # fmt: skip
        if job == "openlit":
            assert recording.COST_PER_OP in covered
    # Other producers' error classes read as ours; gen_ai_system fills the provider.
    limited = live.query(f"{RATE_LIMITED} > 0")["data"]["result"]
    assert {r["metric"]["job"] for r in limited} == {"openlit", "collector"}
    ops = live.query(f'{recording.OPS}{{job="collector"}}')["data"]["result"]
    assert {(r["metric"]["gen_ai_provider_name"], r["metric"]["gen_ai_request_model"])
            for r in ops} == {("openai", "gpt-4o"), ("openai", "gpt-4o-mini")}  # fmt: skip


SUBSTITUTIONS = {"$__rate_interval": "15s", "$__range": "2m", "$__interval": "5s",
                 "$model": ".*", "$provider": ".*"}  # fmt: skip


def test_the_overview_dashboard_reads_openlit_and_a_collector(live: Prometheus) -> None:
    config = thresholds.load(REPO / "rules" / "thresholds.yaml", ALERTS)
    overview = dashboards(config)["llm-overview"]
    targets = [(p.title, t.expr) for p in overview.panels() for t in p.targets]
    for job in JOBS:
        scraped = _names_of(live, job)
        answered, empty = set(), []
        for title, expr in targets:
            if not metric_names(expr) <= scraped:
                continue  # agents, tools, retries: nothing this producer records
            query = expr.replace("$job", job)
            for var, value in SUBSTITUTIONS.items():
                query = query.replace(var, value)
            if live.query(query)["data"]["result"]:
                answered.add(title)
            else:
                empty.append(f"{title}: {query}")
        assert not empty, f"{job}: panels without data:\n" + "\n".join(empty)
        assert {
            "Calls per second",
            "Error ratio",
            "p95 latency",
            "Generations by model",
            "Latency p50 / p95",
            "Time to first chunk",
            "Tokens per request",
            "Tokens per second",
            "Errors by class",
            "Error ratio by model",
        } <= answered, job
        for var in overview.variables:
            found = re.fullmatch(r"label_values\((.+), (\w+)\)", var.query)
            assert found, var
            match = found.group(1).replace("$job", job)
            values = live.api(f"label/{found.group(2)}/values", **{"match[]": match})["data"]
            assert values, f"{job}: variable {var.name} has no values"
    # Errors by class shows the classes the alerts use, whatever the producer wrote.
    errors = next(e for t, e in targets if t == "Errors by class")
    result = live.query(errors.replace("$job", ".*").replace("$__rate_interval", "15s")
                        .replace("$model", ".*").replace("$provider", ".*"))  # fmt: skip
    assert {r["metric"]["error_type"] for r in result["data"]["result"]} == {"rate_limit"}
