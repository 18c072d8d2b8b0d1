"""Infra tier: the targets, the GPUs under them, and the exporter's own health.

GPU series carry ``gpu`` and ``uuid`` (plus the scrape's ``job`` and ``instance``); these alerts
keep the series' own labels rather than aggregating. Selectors: ``selectors.infra``, except
the label guard and instrumentation self-metrics, which the instrumented apps export (so
``selectors.app``).
"""

from __future__ import annotations

from ... import catalog as c
from .. import promql
from ..model import GPU, INSTANCE, SECONDS, VALUE, AlertDef, Ctx, Param, Runbook, label_template
from ..thresholds import AlertSettings
from .common import GPU_DASH, OVERVIEW

S = AlertSettings
# Prometheus's own per-target series: not a catalog metric, and the only other name used here.
UP = "up"
TARGET = ("job", "instance")
# XIDs that mean a GPU or its memory needs attention (NVIDIA's XID catalogue): double-bit ECC,
# micro-controller halts, page retirement and row remapping, NVLink, fallen off the bus,
# contained and uncontained ECC, GSP errors.
CRITICAL_XIDS = ["48", "61", "62", "63", "64", "74", "79", "92", "94", "95", "119", "120"]
# Counted only while NVML is down (nvml_up 0, which the alert reads as a state): counted, they
# would keep increase()[10m] above 0 for 10m after NVML came back, so a short driver reload
# would fire after it ended (promtool-tests/infra.test.yaml has the case).
NO_GPU_CLASSES = ("library_not_found", "driver_not_loaded")


UNCORRECTED_VOLATILE = (
    promql.eq(c.ERROR_TYPE, "uncorrected"),
    promql.eq("counter_type", "volatile"),
)


def _clock_events(x: Ctx, *reasons: str) -> str:
    return x.infra(c.GPU_CLOCK_EVENT_ACTIVE.name, promql.re_in("reason", reasons))


def _target_down(x: Ctx, s: S) -> str:
    ours = f"max_over_time({x.infra(c.BUILD_INFO.name)}[1h])"
    return f"{x.infra(UP)} == 0\nand {promql.on(TARGET)} {ours}"


def _gpu_missing(x: Ctx, s: S) -> str:
    # A GPU the driver reports lost keeps only llm_exporter_gpu_up (0): its info series goes
    # too, so the second branch adds only GPUs the first does not cover (one alert per GPU).
    info = x.infra(c.GPU_INFO.name)
    gpu = promql.on((*TARGET, c.UUID))
    return (f"{x.infra(c.GPU_UP.name)} == 0\n"
            f"or {gpu} (max_over_time({info}[1h]) unless {gpu} {info})\n"
            f"and {promql.on(TARGET)} ({x.infra(UP)} == 1)")  # fmt: skip


def _had_gpus(x: Ctx) -> str:
    return f"{promql.on(TARGET)} (max_over_time({x.infra(c.GPU_DEVICES.name)}[1d]) > 0)"


def _collection_failing(x: Ctx, s: S) -> str:
    failures = x.infra(c.GPU_COLLECTION_FAILURES.name,
                       *promql.not_in("error_class", NO_GPU_CLASSES))  # fmt: skip
    return (f"sum {promql.by(TARGET)} (increase({failures}[10m])) > 0\nand {_had_gpus(x)}\n"
            f"or {x.infra(c.GPU_NVML_UP.name)} == 0\nand {_had_gpus(x)}")  # fmt: skip


def _new_or_increased(selector: str, window: str) -> str:
    """A counter that increased, or whose series first appeared, within ``window``: increase()
    alone misses the first event of a series born at 1."""
    return (
        f"(increase({selector}[{window}]) > 0\nor ({selector} unless {selector} offset {window}))"
    )


def _memory_share(x: Ctx) -> str:
    return f"{x.infra(c.GPU_MEMORY_USED.name)} / {x.infra(c.GPU_MEMORY_TOTAL.name)}"


ALERTS: tuple[AlertDef, ...] = (
    AlertDef(
        name="TargetDown",
        tier="infra",
        severity="critical",
        for_="2m",
        summary="A target that exposed llm-exporter metrics is down.",
        description=lambda s: (
            f"Prometheus cannot scrape {label_template('job')} at {INSTANCE}, which exposed "
            "llm-exporter metrics within the last hour."
        ),
        expr=_target_down,
        runbook=Runbook(
            "The scrape of a target that served llm-exporter metrics (an instrumented app or "
            "llm-exporter serve) fails. Every other alert for it goes blind.",
            (
                "The process crashed or was rescheduled.",
                "A network policy or firewall change.",
                "TLS or basic auth changed on one side only (web config).",
                "The port moved.",
            ),
            (
                "Open the target in Prometheus's Targets page: the error says why.",
                "Check the process's logs and restarts.",
            ),
            f"{OVERVIEW} / Exporter health",
        ),
    ),
    AlertDef(
        name="TargetAbsent",
        tier="infra",
        severity="warning",
        for_="10m",
        summary="No target exposes llm-exporter metrics.",
        description=lambda s: (
            f"No series of {c.BUILD_INFO.name} matches the infra selector: "
            "Prometheus scrapes no llm-exporter target at all."
        ),
        expr=lambda x, s: f"absent({x.infra(c.BUILD_INFO.name)})",
        runbook=Runbook(
            "Not one target with llm-exporter metrics is scraped: the scrape config lost them, "
            "or the selector in the thresholds file matches nothing.",
            (
                "A scrape config or service discovery change.",
                "selectors.infra does not match the targets' labels.",
            ),
            ("Check Prometheus's Targets page and the selector.",),
            f"{OVERVIEW} / Exporter health",
        ),
    ),
    AlertDef(
        name="GPUMemoryHigh",
        tier="infra",
        severity="warning",
        for_="10m",
        summary="GPU memory is nearly full.",
        description=lambda s: (
            f"GPU {GPU} uses {{{{ $value | humanizePercentage }}}} of its "
            f"memory (threshold {s.threshold * 100:g}%)."
        ),
        expr=lambda x, s: f"{_memory_share(x)} > {promql.number(s.threshold)}",
        params={
            "threshold": Param(
                0.97,
                "Share of the GPU's memory in use. Above what inference servers reserve at "
                "start (vLLM: 0.9 of the memory, plus the CUDA context).",
                "ratio",
            )
        },
        runbook=Runbook(
            "Used memory is above the threshold share of the GPU's total: the next allocation "
            "may fail. Inference servers that reserve memory up front (vLLM's "
            "gpu_memory_utilization is 0.9 by default) sit at about 92% by design, below the "
            "default threshold; on such a node, growth is the sign of trouble (the memory "
            "filling-up alert).",
            (
                "A model or KV cache larger than planned.",
                "A second process on the GPU.",
                "A memory leak in a long-running worker.",
            ),
            ("Open per-process GPU memory (serve --gpu-processes).",),
            f"{GPU_DASH} / Memory",
        ),
    ),
    AlertDef(
        name="GPUMemoryFillingUp",
        tier="infra",
        severity="warning",
        for_="5m",
        summary="GPU memory is growing towards full.",
        description=lambda s: (
            f"GPU {GPU} uses {{{{ $value | humanizePercentage }}}} of its memory and, at the "
            f"growth of the last {s.lookback}, fills it within {s.horizon}."
        ),
        expr=lambda x, s: (
            f"{_memory_share(x)} > {promql.number(s.floor)}\n"
            f"and predict_linear({x.infra(c.GPU_MEMORY_USED.name)}[{s.lookback}], "
            f"{promql.number(promql.parse_duration(s.horizon))})\n"
            f"  >= {x.infra(c.GPU_MEMORY_TOTAL.name)}"
        ),
        params={
            "lookback": Param("30m", "The growth is fitted over this window.", "duration"),
            "horizon": Param("1h", "How far ahead to project.", "duration"),
            "floor": Param(0.8, "Ignore while less than this share is in use.", "ratio"),
        },
        runbook=Runbook(
            "Used memory has been growing steadily and will reach the GPU's total within the "
            "horizon: a leak or a growing cache, before any allocation fails. A node whose "
            "inference server reserved its memory at start stays flat and never fires.",
            (
                "A memory leak in a long-running worker (fragmentation, tensors kept alive).",
                "A second process started on the GPU.",
                "A server without a memory reservation whose cache grows with traffic.",
            ),
            ("Open per-process GPU memory (serve --gpu-processes); restart the growing one.",),
            f"{GPU_DASH} / Memory",
        ),
    ),
    AlertDef(
        name="GPUTemperatureHigh",
        tier="infra",
        severity="warning",
        for_="5m",
        summary="A GPU is running hot.",
        description=lambda s: f"GPU {GPU} is at {VALUE} °C (threshold {s.threshold:g} °C).",
        expr=lambda x, s: f"{x.infra(c.GPU_TEMPERATURE.name)} > {promql.number(s.threshold)}",
        params={"threshold": Param(85.0, "Degrees Celsius.")},
        runbook=Runbook(
            "The GPU core is hotter than the threshold; near its slowdown temperature the GPU "
            "throttles its clocks.",
            (
                "Cooling (fans, airflow, a failed chassis fan).",
                "Ambient temperature in the rack.",
                "A sustained full load.",
            ),
            ("Compare with the slowdown threshold and fan speed on the panel.",),
            f"{GPU_DASH} / Temperature",
        ),
    ),
    AlertDef(
        name="GPUThermalThrottling",
        tier="infra",
        severity="warning",
        for_="5m",
        summary="A GPU is throttling its clocks for heat.",
        description=lambda s: f"GPU {GPU} reports clock event {label_template('reason')}.",
        expr=lambda x, s: f"{_clock_events(x, 'sw_thermal_slowdown', 'hw_thermal_slowdown')} == 1",
        runbook=Runbook(
            "The driver lowered the GPU's clocks to cool it down: inference slows while it lasts.",
            ("Cooling problems.", "A hot rack."),
            ("Open temperature and clocks for the GPU.",),
            f"{GPU_DASH} / Throttling",
        ),
    ),
    AlertDef(
        name="GPUPowerBrakeSlowdown",
        tier="infra",
        severity="critical",
        for_="2m",
        summary="A GPU's hardware slowdown or power brake is engaged.",
        description=lambda s: f"GPU {GPU} reports clock event {label_template('reason')}.",
        expr=lambda x, s: f"{_clock_events(x, 'hw_slowdown', 'hw_power_brake_slowdown')} == 1",
        runbook=Runbook(
            "The hardware cut the clocks sharply (by half or more): an external power brake "
            "signal or a hardware slowdown. Throughput collapses.",
            (
                "The power supply or the chassis asserting the power brake.",
                "Overheating past the hardware limit.",
                "A faulty board.",
            ),
            ("Check power draw against the limit, temperature, and the node's BMC logs.",),
            f"{GPU_DASH} / Throttling",
        ),
    ),
    AlertDef(
        name="GPUXidCritical",
        tier="infra",
        severity="critical",
        for_="0m",
        keep_firing_for="20m",
        summary="A GPU reported a critical XID error.",
        description=lambda s: f"GPU {GPU} reported XID {label_template('xid')} {SECONDS} ago.",
        expr=lambda x, s: (
            f"time() - {x.infra(c.GPU_XID_LAST_SEEN.name, promql.re_in('xid', s.xids))}"
            f" < {promql.number(promql.parse_duration(s.window))}"
        ),
        params={
            "xids": Param(CRITICAL_XIDS, "XID codes that page.", "list"),
            "window": Param("10m", "How recent an XID must be to fire.", "duration"),
        },
        runbook=Runbook(
            "The driver reported an XID error from the list: the GPU, its memory or its link "
            "failed. The last-seen timestamp catches an XID even between two scrapes.",
            (
                "48, 63, 64, 92, 94, 95: memory errors (ECC, page retirement, row remapping).",
                "79: the GPU fell off the bus.",
                "74: an NVLink error.",
                "61, 62, 119, 120: the GPU's micro-controllers or GSP stopped.",
            ),
            (
                "Read the XID in NVIDIA's XID catalogue.",
                "Check dmesg on the node.",
                "Drain the node if it repeats; most of these need a GPU reset.",
            ),
            f"{GPU_DASH} / ECC and XID",
        ),
    ),
    AlertDef(
        name="GPUUncorrectableECC",
        tier="infra",
        severity="critical",
        for_="0m",
        keep_firing_for="20m",
        summary="A GPU reported uncorrectable ECC errors.",
        description=lambda s: f"GPU {GPU} counted {VALUE} new uncorrectable ECC errors in 10m.",
        expr=lambda x, s: (
            f"increase({x.infra(c.GPU_ECC_ERRORS.name, *UNCORRECTED_VOLATILE)}[10m]) > 0"
        ),
        runbook=Runbook(
            "The GPU's memory produced errors it could not correct; the processes using it may "
            "have read corrupted data or crashed.",
            ("Failing memory on the board.",),
            ("Check remapped rows and retired pages.", "Drain the node and reset the GPU."),
            f"{GPU_DASH} / ECC and XID",
        ),
    ),
    AlertDef(
        name="GPURowRemapFailed",
        tier="infra",
        severity="critical",
        for_="0m",
        summary="A GPU failed to remap a faulty memory row.",
        description=lambda s: f"GPU {GPU} reports a failed row remapping.",
        expr=lambda x, s: f"{x.infra(c.GPU_ROW_REMAP_FAILED.name)} == 1",
        runbook=Runbook(
            "The GPU ran out of spare rows to remap failing memory: it needs replacing.",
            ("Memory degradation beyond the spare rows.",),
            ("Drain the node; open a hardware case.",),
            f"{GPU_DASH} / ECC and XID",
        ),
    ),
    AlertDef(
        name="GPURowRemapPending",
        tier="infra",
        severity="warning",
        for_="5m",
        summary="A GPU has a memory row remapping pending a reset.",
        description=lambda s: (
            f"GPU {GPU} has a row remapping pending; it applies at the next GPU reset."
        ),
        expr=lambda x, s: f"{x.infra(c.GPU_ROW_REMAP_PENDING.name)} == 1",
        runbook=Runbook(
            "A faulty memory row will be remapped at the next GPU reset; until then the row "
            "stays in use.",
            ("A memory error was found.",),
            ("Schedule a drain and GPU reset.",),
            f"{GPU_DASH} / ECC and XID",
        ),
    ),
    AlertDef(
        name="GPUMissing",
        tier="infra",
        severity="critical",
        for_="2m",
        summary="A GPU is lost or gone missing.",
        description=lambda s: (
            f"GPU {GPU} is lost (NVML: GPU is lost) or no longer listed, while its exporter is up."
        ),
        expr=_gpu_missing,
        runbook=Runbook(
            "NVML reports the GPU lost, or a GPU seen in the last hour is no longer listed "
            "while its exporter still answers.",
            (
                "The GPU fell off the bus (XID 79).",
                "A driver crash or reload.",
                "A hardware failure.",
            ),
            ("Check dmesg and nvidia-smi on the node; check XIDs.",),
            f"{GPU_DASH} / NVML health",
        ),
    ),
    AlertDef(
        name="GPUCollectionFailing",
        tier="infra",
        severity="warning",
        for_="10m",
        summary="Reading the GPUs through NVML fails.",
        description=lambda s: (
            f"GPU collection on {INSTANCE} fails or NVML stopped answering, "
            "on a node that had GPUs in the last day."
        ),
        expr=_collection_failing,
        runbook=Runbook(
            "NVML calls fail (timeouts, lost GPUs, driver errors) or NVML is no longer "
            "available on a node that had GPUs in the last day; GPU metrics are missing or "
            "stale.",
            (
                "A hanging or crashed driver.",
                "A driver upgrade without a reboot.",
                "The container lost access to /dev/nvidia*.",
            ),
            (
                "Read the exporter's log and the failures by error_class.",
                "Run nvidia-smi on the node.",
            ),
            f"{GPU_DASH} / NVML health",
        ),
    ),
    AlertDef(
        name="GPUCollectionStale",
        tier="infra",
        severity="warning",
        for_="5m",
        summary="GPU metrics are stale.",
        description=lambda s: (
            f"The last successful GPU collection on {INSTANCE} was "
            f"{SECONDS} ago (threshold {s.threshold:g}s)."
        ),
        expr=lambda x, s: (
            f"time() - {x.infra(c.GPU_LAST_SUCCESS.name)} > {promql.number(s.threshold)}"
        ),
        params={"threshold": Param(60.0, "Seconds since the last successful collection.")},
        runbook=Runbook(
            "The GPU collector has not completed a pass for a while: NVML hangs (the exporter "
            "serves its last values and says so) or the poller is stuck.",
            ("NVML hanging on a sick GPU.",),
            ("Check the exporter's log for the collection timeout.",),
            f"{GPU_DASH} / NVML health",
        ),
    ),
    AlertDef(
        name="LabelsFolded",
        tier="infra",
        severity="warning",
        for_="5m",
        summary="The label guard is folding new label values into 'other'.",
        description=lambda s: (
            f"Metric {label_template('metric')} on {INSTANCE} reached its cap "
            f"of label sets and folded {VALUE} observations into 'other' in 10m."
        ),
        expr=lambda x, s: f"increase({x.app(c.LABELS_FOLDED.name)}[10m]) > 0",
        runbook=Runbook(
            "A metric family hit LLM_EXPORTER_MAX_LABEL_SETS; new label combinations are "
            "recorded under 'other', so per-model or per-tool panels lose detail.",
            (
                "An unbounded value (a user id, a request id, a prompt) reaching a label.",
                "Genuinely many models or tools: raise the cap.",
                "An attribution dimension (metric attribution:tenant, ...) with more distinct "
                "values than LLM_EXPORTER_ATTRIBUTION_MAX_VALUES: attribute by a bounded set.",
            ),
            ("Compare label sets against the limit per metric.", "Find the label that grows."),
            f"{OVERVIEW} / Exporter health",
        ),
    ),
    AlertDef(
        name="InstrumentationErrors",
        tier="infra",
        severity="warning",
        for_="5m",
        summary="llm-exporter's own recording code hit faults.",
        description=lambda s: (
            f"Component {label_template('component')} on {INSTANCE} counted {VALUE} "
            f"{label_template('error_class')} faults in the last 10m (for a series that just "
            "appeared: since it appeared)."
        ),
        expr=lambda x, s: _new_or_increased(x.app(c.INSTRUMENTATION_ERRORS.name), "10m"),
        runbook=Runbook(
            "Recording code of llm-exporter failed (caught: the application is unaffected), so "
            "some observations are missing.",
            (
                "An SDK version whose response shape the instrumentation does not expect.",
                "A bug in llm-exporter.",
            ),
            ("Read the warning it logged once (with the traceback) and report it.",),
            f"{OVERVIEW} / Exporter health",
        ),
    ),
)
