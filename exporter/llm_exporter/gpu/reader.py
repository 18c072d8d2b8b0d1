"""One pass over every GPU: NVML calls in, a plain list of readings out.

Units become Prometheus base units here (percent to ratio, milliwatts to watts, millijoules to
joules, MHz to hertz). A field NVML answers NotSupported (or FunctionNotFound, on an older
driver) is left out of the reading, never reported as 0, and not asked for again until NVML is
re-initialised. Facts that cannot change while NVML stays initialised (UUID, name, PCI bus id,
temperature thresholds, fan count) are read once at discovery, so a steady-state pass makes only
the calls whose answers move.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import catalog
from ..catalog import MetricSpec
from .health import Health
from .nvml import (
    DEVICE_ERRORS,
    SESSION_ERRORS,
    UNSUPPORTED_ERRORS,
    as_text,
    error_class,
    is_error,
)

# Clock-event bits (nvml.h). The newer clock-events call and the older throttle-reasons call
# share them, so one table serves both.
CLOCK_EVENT_REASONS = (
    ("gpu_idle", 0x1),
    ("applications_clocks_setting", 0x2),
    ("sw_power_cap", 0x4),
    ("hw_slowdown", 0x8),
    ("sync_boost", 0x10),
    ("sw_thermal_slowdown", 0x20),
    ("hw_thermal_slowdown", 0x40),
    ("hw_power_brake_slowdown", 0x80),
    ("display_clock_setting", 0x100),
)
# Label value -> pynvml constant name of the threshold.
THRESHOLDS = (
    ("slowdown", "NVML_TEMPERATURE_THRESHOLD_SLOWDOWN"),
    ("shutdown", "NVML_TEMPERATURE_THRESHOLD_SHUTDOWN"),
    ("max_operating", "NVML_TEMPERATURE_THRESHOLD_GPU_MAX"),
    ("memory_max_operating", "NVML_TEMPERATURE_THRESHOLD_MEM_MAX"),
)
# Performance states run from P0 to P15; NVML says NVML_PSTATE_UNKNOWN (32) when it cannot tell,
# and that (or anything else out of range) is left out.
PSTATE_MAX = 15
MAX_PROCESS_NAME_LENGTH = 64
UNKNOWN_PROCESS = "unknown"


@dataclass(frozen=True)
class Field:
    """A counter-ish value read in one nvmlDeviceGetFieldValues batch per GPU, with the single
    call that answers it on drivers where the batch does not (``fallback``; ``pick`` indexes
    a tuple answer, so one nvmlDeviceGetRemappedRows call serves four fields)."""

    feature: str
    field_id: str
    spec: MetricSpec
    extra: tuple[str, ...] = ()
    scale: float = 1.0
    fallback: str | None = None
    fallback_args: tuple[str, ...] = ()
    pick: int | None = None
    flag: bool = False  # report 0/1, whatever non-zero value NVML gives


def _ecc(error_type: str, counter_type: str, field_id: str) -> Field:
    kind = "NVML_MEMORY_ERROR_TYPE_" + error_type.upper()
    counter = "NVML_VOLATILE_ECC" if counter_type == "volatile" else "NVML_AGGREGATE_ECC"
    return Field(f"ecc_{error_type}_{counter_type}", field_id, catalog.GPU_ECC_ERRORS,
                 (error_type, counter_type), fallback="nvmlDeviceGetTotalEccErrors",
                 fallback_args=(kind, counter))  # fmt: skip


def _remapped(feature: str, field_id: str, spec: MetricSpec, pick: int, *extra: str) -> Field:
    return Field(feature, field_id, spec, extra, fallback="nvmlDeviceGetRemappedRows",
                 pick=pick, flag=spec is not catalog.GPU_REMAPPED_ROWS)  # fmt: skip


FIELDS = (
    Field("energy", "NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION", catalog.GPU_ENERGY, scale=1e-3,
          fallback="nvmlDeviceGetTotalEnergyConsumption"),
    Field("pcie_replays", "NVML_FI_DEV_PCIE_REPLAY_COUNTER", catalog.GPU_PCIE_REPLAYS,
          fallback="nvmlDeviceGetPcieReplayCounter"),
    _ecc("corrected", "volatile", "NVML_FI_DEV_ECC_SBE_VOL_TOTAL"),
    _ecc("uncorrected", "volatile", "NVML_FI_DEV_ECC_DBE_VOL_TOTAL"),
    _ecc("corrected", "aggregate", "NVML_FI_DEV_ECC_SBE_AGG_TOTAL"),
    _ecc("uncorrected", "aggregate", "NVML_FI_DEV_ECC_DBE_AGG_TOTAL"),
    # No single call reports memory temperature: without the batch it is absent.
    Field("memory_temperature", "NVML_FI_DEV_MEMORY_TEMP", catalog.GPU_MEMORY_TEMPERATURE),
    Field("retired_pending", "NVML_FI_DEV_RETIRED_PENDING", catalog.GPU_RETIRED_PAGES_PENDING,
          fallback="nvmlDeviceGetRetiredPagesPendingStatus", flag=True),
    _remapped("remapped_correctable", "NVML_FI_DEV_REMAPPED_COR", catalog.GPU_REMAPPED_ROWS, 0,
              "correctable"),
    _remapped("remapped_uncorrectable", "NVML_FI_DEV_REMAPPED_UNC", catalog.GPU_REMAPPED_ROWS,
              1, "uncorrectable"),
    _remapped("remap_pending", "NVML_FI_DEV_REMAPPED_PENDING", catalog.GPU_ROW_REMAP_PENDING, 2),
    _remapped("remap_failed", "NVML_FI_DEV_REMAPPED_FAILURE", catalog.GPU_ROW_REMAP_FAILED, 3),
)  # fmt: skip

# c_nvmlValue_t member for each NVML_VALUE_TYPE_* (0..6).
_VALUE_MEMBERS = ("dVal", "uiVal", "ulVal", "ullVal", "sllVal", "siVal", "usVal")
# Per-field return codes that mean "this driver or GPU has no such field".
_FIELD_UNSUPPORTED = ("NVML_ERROR_NOT_SUPPORTED", "NVML_ERROR_INVALID_ARGUMENT",
                      "NVML_ERROR_FUNCTION_NOT_FOUND")  # fmt: skip


Sample = tuple[MetricSpec, tuple[str, ...], float]
InfoSample = tuple[MetricSpec, dict[str, str]]  # an info series: its labels, value 1


@dataclass
class GpuReading:
    """What one pass learnt about one GPU: samples keyed by catalog spec, each with its full
    label values (``gpu`` and ``uuid`` first), and info series with their labels as a dict, all
    built here in the poller so a scrape only hands them to metric families. A GPU that is down
    has ``up`` False and neither samples nor info."""

    index: int
    uuid: str
    up: bool
    samples: list[Sample] = field(default_factory=list)
    info: list[InfoSample] = field(default_factory=list)
    key: tuple[str, str] = field(init=False)  # the values of catalog.GPU_LABELS

    def __post_init__(self) -> None:
        self.key = (str(self.index), self.uuid)

    def put(self, spec: MetricSpec, value: float, *extra: str) -> None:
        self.samples.append((spec, self.key + extra, float(value)))

    def put_info(self, spec: MetricSpec, *extra: str) -> None:
        self.info.append((spec, dict(zip(spec.labels, self.key + extra, strict=True))))


@dataclass
class Device:
    """A GPU as discovered in the current NVML session, with what it has been found to lack."""

    index: int
    handle: Any
    uuid: str
    name: str = ""
    pci_bus_id: str = ""
    lost: bool = False
    thresholds: list[tuple[str, float]] = field(default_factory=list)
    fans: int = 0
    skip: set[str] = field(default_factory=set)  # features this GPU does not support
    unbatched: set[str] = field(default_factory=set)  # fields the batch cannot answer
    variant: dict[str, int] = field(default_factory=dict)  # which call of a chain answered
    max_mig: int | None = None
    mig_static: dict[str, tuple[str, str, str]] = field(default_factory=dict)


class _Unsupported(Exception):
    pass


class _Failed(Exception):
    """The call failed in a way already counted and logged; leave the field out this time."""

    def __init__(self, error_class: str) -> None:
        super().__init__(error_class)
        self.error_class = error_class


class Reader:
    """Reads every GPU through ``nvml`` (pynvml's API: the module, a fake, or a counting proxy).

    Device and session errors (GpuIsLost; Uninitialized, DriverNotLoaded) propagate out of the
    per-field helpers: the first takes one GPU down, the second the whole pass.
    """

    def __init__(
        self,
        nvml: Any,
        health: Health,
        *,
        batched: bool = True,
        processes: bool = False,
        processes_max: int = 20,
    ) -> None:
        self.nvml = nvml
        self.health = health
        self.batched = batched
        self.processes = processes
        self.processes_max = processes_max
        self.devices: list[Device] = []
        self.count = 0  # GPUs NVML reported at discovery (devices may also list vanished ones)
        self._process_names: dict[int, str] = {}
        self._pids_seen: set[int] = set()
        # Fields whose id this pynvml knows, with the id resolved once.
        self._fields = [(f, getattr(nvml, f.field_id)) for f in FIELDS if hasattr(nvml, f.field_id)]
        self._field_unsupported = {getattr(nvml, c) for c in _FIELD_UNSUPPORTED if hasattr(nvml, c)}

    # --- discovery ------------------------------------------------------------------------------

    def discover(self) -> None:
        """Find the GPUs of a freshly initialised session and read their fixed facts. A GPU lost
        before (known by its UUID) and not found now stays listed as down."""
        before: dict[int, Device] = {}
        for dev in self.devices:  # the GPU found at an index wins over a vanished one listed later
            before.setdefault(dev.index, dev)
        found: list[Device] = []
        self.count = int(self.nvml.nvmlDeviceGetCount())
        for index in range(self.count):
            try:
                found.append(self._open_device(index))
            except Exception as exc:
                if is_error(self.nvml, exc, SESSION_ERRORS):
                    raise
                cls = error_class(exc)
                prior = before.get(index)
                uuid = prior.uuid if prior else ""
                self.health.fail(cls, f"GPU {index}: cannot open it ({exc}); reporting it down",
                                 key=f"open:{cls}")  # fmt: skip
                found.append(Device(index, None, uuid, lost=True))
        seen = {d.uuid for d in found}
        found += [d for d in self.devices if d.lost and d.uuid and d.uuid not in seen]
        self.devices = found
        self._process_names.clear()

    def _open_device(self, index: int) -> Device:
        nvml = self.nvml
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        dev = Device(index, handle, as_text(nvml.nvmlDeviceGetUUID(handle)))
        dev.name = as_text(self._get(dev, "name", "nvmlDeviceGetName", handle) or "")
        pci = self._get(dev, "pci", "nvmlDeviceGetPciInfo", handle)
        dev.pci_bus_id = as_text(pci.busId) if pci is not None else ""
        for label, const in THRESHOLDS:
            if hasattr(nvml, const):
                value = self._get(dev, "threshold_" + label, "nvmlDeviceGetTemperatureThreshold",
                                  handle, getattr(nvml, const))  # fmt: skip
                if value is not None:
                    dev.thresholds.append((label, float(value)))
        dev.fans = int(self._get(dev, "fans", "nvmlDeviceGetNumFans", handle) or 0)
        return dev

    def live_devices(self) -> list[Device]:
        return [d for d in self.devices if not d.lost]

    @property
    def any_lost(self) -> bool:
        return any(d.lost for d in self.devices)

    # --- one pass -------------------------------------------------------------------------------

    def read(self, driver_version: str, cuda_version: str) -> list[GpuReading]:
        readings = []
        for dev in self.devices:
            if dev.lost:
                readings.append(GpuReading(dev.index, dev.uuid, up=False))
                continue
            try:
                readings.append(self._read_device(dev, driver_version, cuda_version))
            except Exception as exc:
                if is_error(self.nvml, exc, SESSION_ERRORS):
                    raise
                cls = error_class(exc)
                if is_error(self.nvml, exc, DEVICE_ERRORS):
                    dev.lost = True
                    message = f"GPU {dev.index} ({dev.uuid}) is lost ({exc}): reporting it down"
                else:  # a fault of ours: the GPU is unreadable this time, not lost
                    message = f"GPU {dev.index}: reading failed: {exc!r}"
                self.health.fail(cls, message, key=f"read:{cls}:{dev.uuid}")
                readings.append(GpuReading(dev.index, dev.uuid, up=False))
        if self.processes:  # forget the names of processes that ended (PIDs get reused)
            names, seen = self._process_names, self._pids_seen
            self._process_names = {pid: names[pid] for pid in seen if pid in names}
            seen.clear()
        return readings

    def _read_device(self, dev: Device, driver_version: str, cuda_version: str) -> GpuReading:
        nvml, h = self.nvml, dev.handle
        r = GpuReading(dev.index, dev.uuid, up=True)
        self._read_utilization(dev, r)
        self._read_memory(dev, r)
        gpu_sensor = nvml.NVML_TEMPERATURE_GPU
        temp = self._first(dev, "temperature", [
            ("nvmlDeviceGetTemperatureV", (h, gpu_sensor)),
            ("nvmlDeviceGetTemperature", (h, gpu_sensor)),  # before the versioned call existed
        ])  # fmt: skip
        if temp is not None:
            r.put(catalog.GPU_TEMPERATURE, temp[1])
        for label, value in dev.thresholds:
            r.put(catalog.GPU_TEMPERATURE_THRESHOLD, value, label)
        clock = "nvmlDeviceGetClockInfo"
        for spec, scale, feature, fn, args in (
            (catalog.GPU_POWER, 1e-3, "power", "nvmlDeviceGetPowerUsage", ()),  # mW
            (catalog.GPU_POWER_LIMIT, 1e-3, "power_limit", "nvmlDeviceGetEnforcedPowerLimit", ()),
            (catalog.GPU_SM_CLOCK, 1e6, "sm_clock", clock, (nvml.NVML_CLOCK_SM,)),  # MHz
            (catalog.GPU_MEMORY_CLOCK, 1e6, "mem_clock", clock, (nvml.NVML_CLOCK_MEM,)),
        ):
            value = self._get(dev, feature, fn, h, *args)
            if value is not None:
                r.put(spec, value * scale)
        pstate = self._get(dev, "pstate", "nvmlDeviceGetPerformanceState", h)
        if pstate is not None and 0 <= pstate <= PSTATE_MAX:
            r.put(catalog.GPU_PERFORMANCE_STATE, pstate)
        reasons = self._first(dev, "clock_events", [
            ("nvmlDeviceGetCurrentClocksEventReasons", (h,)),
            ("nvmlDeviceGetCurrentClocksThrottleReasons", (h,)),  # drivers before R535
        ])  # fmt: skip
        if reasons is not None:
            for label, bit in CLOCK_EVENT_REASONS:
                r.put(catalog.GPU_CLOCK_EVENT_ACTIVE, 1 if reasons[1] & bit else 0, label)
        for fan in range(dev.fans):
            speed = self._get(dev, f"fan{fan}", "nvmlDeviceGetFanSpeed_v2", h, fan)
            if speed is not None:
                r.put(catalog.GPU_FAN_SPEED, speed / 100, str(fan))
        self._read_fields(dev, r)
        self._read_mig(dev, r)
        if self.processes:
            self._read_processes(dev, r)
        # Added last, so a GPU lost half-way through yields no info series either.
        r.put_info(catalog.GPU_INFO, dev.name, dev.pci_bus_id, driver_version, cuda_version)
        return r

    def _read_utilization(self, dev: Device, r: GpuReading) -> None:
        h = dev.handle
        util = self._get(dev, "utilization", "nvmlDeviceGetUtilizationRates", h)
        if util is not None:
            r.put(catalog.GPU_UTILIZATION, util.gpu / 100)
            r.put(catalog.GPU_MEMORY_UTILIZATION, util.memory / 100)
        for feature, fn, spec in (
            ("encoder", "nvmlDeviceGetEncoderUtilization", catalog.GPU_ENCODER_UTILIZATION),
            ("decoder", "nvmlDeviceGetDecoderUtilization", catalog.GPU_DECODER_UTILIZATION),
        ):
            answer = self._get(dev, feature, fn, h)
            if answer is not None:
                r.put(spec, answer[0] / 100)  # [percent, sampling period in µs]

    def _read_memory(self, dev: Device, r: GpuReading) -> None:
        h = dev.handle
        chain: list[tuple[str, tuple[Any, ...]]] = [("nvmlDeviceGetMemoryInfo", (h,))]
        v2 = getattr(self.nvml, "nvmlMemory_v2", None)
        if v2 is not None:  # the v2 struct counts the driver's reserved memory apart from "used"
            chain.insert(0, ("nvmlDeviceGetMemoryInfo", (h, v2)))
        answer = self._first(dev, "memory", chain)
        if answer is None:
            return
        variant, mem = answer
        r.put(catalog.GPU_MEMORY_TOTAL, mem.total)
        r.put(catalog.GPU_MEMORY_USED, mem.used)
        r.put(catalog.GPU_MEMORY_FREE, mem.free)
        if len(chain) == 2 and variant == 0:
            r.put(catalog.GPU_MEMORY_RESERVED, mem.reserved)

    def _read_fields(self, dev: Device, r: GpuReading) -> None:
        """The counters and flags: one batched call where the driver has it, single calls for
        what the batch cannot answer."""
        nvml, h = self.nvml, dev.handle
        wanted = [(f, i) for f, i in self._fields if f.feature not in dev.skip]
        values: dict[str, float] = {}
        batch = [f for f, _ in wanted if f.feature not in dev.unbatched]
        if self.batched and batch and "field_values" not in dev.skip:
            ids = [i for f, i in wanted if f.feature not in dev.unbatched]
            success = nvml.NVML_SUCCESS
            try:
                answers = self._call(dev, "nvmlDeviceGetFieldValues", h, ids)
            except _Unsupported:
                dev.skip.add("field_values")
                answers = None
            except _Failed:
                answers = None
            for f, answer in zip(batch, answers or (), strict=False):
                ret = answer.nvmlReturn
                if ret == success:
                    values[f.feature] = _field_value(answer)
                elif ret in self._field_unsupported:
                    dev.unbatched.add(f.feature)
                else:  # GpuIsLost propagates; anything else is counted like a failed call
                    exc = nvml.NVMLError(ret)
                    if is_error(nvml, exc, DEVICE_ERRORS + SESSION_ERRORS):
                        raise exc
                    self._count(dev, f"nvmlDeviceGetFieldValues({f.field_id})", exc)
                    values[f.feature] = math.nan
        else:
            dev.unbatched.update(f.feature for f, _ in wanted)
        tuples: dict[str, Any] = {}  # one tuple-returning fallback call serves several fields
        for f, _ in wanted:
            value = values.get(f.feature)
            if value is None and f.feature in dev.unbatched:
                value = self._fallback(dev, f, tuples)
            if value is None or math.isnan(value):
                continue
            r.put(f.spec, (1.0 if value else 0.0) if f.flag else value * f.scale, *f.extra)

    def _fallback(self, dev: Device, f: Field, tuples: dict[str, Any]) -> float | None:
        if f.fallback is None:
            dev.skip.add(f.feature)
            return None
        if f.pick is not None:
            if f.fallback not in tuples:
                tuples[f.fallback] = self._get(dev, f.fallback, f.fallback, dev.handle)
            answer = tuples[f.fallback]
            return None if answer is None else float(answer[f.pick])
        args = tuple(getattr(self.nvml, a) for a in f.fallback_args)
        answer = self._get(dev, f.feature, f.fallback, dev.handle, *args)
        return None if answer is None else float(answer)

    def _read_mig(self, dev: Device, r: GpuReading) -> None:
        nvml, h = self.nvml, dev.handle
        mode = self._get(dev, "mig", "nvmlDeviceGetMigMode", h)
        if mode is None:
            return
        enabled = mode[0] == nvml.NVML_DEVICE_MIG_ENABLE
        r.put(catalog.GPU_MIG_ENABLED, 1 if enabled else 0)
        if not enabled:
            return
        if dev.max_mig is None:
            dev.max_mig = int(self._get(dev, "mig_count", "nvmlDeviceGetMaxMigDeviceCount", h) or 0)
        for slot in range(dev.max_mig):
            try:
                mig = self._call(dev, "nvmlDeviceGetMigDeviceHandleByIndex", h, slot,
                                 empty=("NVMLError_NotFound",))  # fmt: skip
                if mig is None:  # an empty slot
                    continue
                mig_uuid = as_text(self._call(dev, "nvmlDeviceGetUUID", mig))
                static = dev.mig_static.get(mig_uuid)
                if static is None:
                    static = dev.mig_static[mig_uuid] = self._mig_static(dev, mig)
                mem = self._call(dev, "nvmlDeviceGetMemoryInfo", mig)
            except (_Unsupported, _Failed):
                continue
            r.put_info(catalog.GPU_MIG_INFO, mig_uuid, *static)
            r.put(catalog.GPU_MIG_MEMORY_TOTAL, mem.total, mig_uuid)
            r.put(catalog.GPU_MIG_MEMORY_USED, mem.used, mig_uuid)

    def _mig_static(self, dev: Device, mig: Any) -> tuple[str, str, str]:
        """GPU instance id, compute instance id and profile name of a MIG device (fixed for as
        long as the instance exists, so read once per MIG UUID)."""
        gi = int(self._call(dev, "nvmlDeviceGetGpuInstanceId", mig))
        ci = int(self._call(dev, "nvmlDeviceGetComputeInstanceId", mig))
        attrs = self._call(dev, "nvmlDeviceGetAttributes", mig)
        gi_slices = int(attrs.gpuInstanceSliceCount)
        ci_slices = int(attrs.computeInstanceSliceCount)
        name = self._gi_profile_name(dev, gi)
        if not name:  # as nvidia-smi names them: slices, then memory rounded up to whole GiB
            name = f"{gi_slices}g.{math.ceil(int(attrs.memorySizeMB) / 1024)}gb"
        if ci_slices < gi_slices:
            name = f"{ci_slices}c.{name}"
        return str(gi), str(ci), name

    def _gi_profile_name(self, dev: Device, gi: int) -> str:
        """The driver's own name for the GPU instance's profile ("MIG 1g.10gb" -> "1g.10gb"),
        or "" where it will not say (older drivers, no permission)."""
        try:
            instance = self._call(dev, "nvmlDeviceGetGpuInstanceById", dev.handle, gi, quiet=True)
            info = self._call(dev, "nvmlGpuInstanceGetInfo", instance, quiet=True)
            profile = self._call(dev, "nvmlDeviceGetGpuInstanceProfileInfoById", dev.handle,
                                 info.profileId, quiet=True)  # fmt: skip
        except (_Unsupported, _Failed):
            return ""
        return as_text(profile.name).removeprefix("MIG ").strip()

    def _read_processes(self, dev: Device, r: GpuReading) -> None:
        used: dict[int, int] = {}
        for fn in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
            for proc in self._get(dev, fn, fn, dev.handle) or ():
                if proc.usedGpuMemory is not None:  # None: the driver cannot tell (WDDM)
                    used[proc.pid] = max(used.get(proc.pid, 0), int(proc.usedGpuMemory))
        largest = sorted(used.items(), key=lambda item: (-item[1], item[0]))[: self.processes_max]
        self._pids_seen.update(pid for pid, _ in largest)
        for pid, nbytes in largest:
            r.put(catalog.GPU_PROCESS_MEMORY_USED, nbytes, str(pid), self._process_name(dev, pid))

    def _process_name(self, dev: Device, pid: int) -> str:
        name = self._process_names.get(pid)
        if name is None:
            try:
                path = self._call(dev, "nvmlSystemGetProcessName", pid, quiet=True)
            except (_Unsupported, _Failed):  # another PID namespace, or already gone
                path = ""
            name = os.path.basename(as_text(path))[:MAX_PROCESS_NAME_LENGTH] or UNKNOWN_PROCESS
            self._process_names[pid] = name
        return name

    # --- calling NVML ---------------------------------------------------------------------------

    def _get(self, dev: Device, feature: str, fn_name: str, *args: Any) -> Any:
        """One field: its value, or None when it is unsupported (remembered) or failed."""
        if feature in dev.skip:
            return None
        try:
            return self._call(dev, fn_name, *args)
        except _Unsupported:
            dev.skip.add(feature)
        except _Failed as failed:
            if failed.error_class == "no_permission":  # will not change while the process runs
                dev.skip.add(feature)
        return None

    def _first(
        self, dev: Device, feature: str, chain: Sequence[tuple[str, tuple[Any, ...]]]
    ) -> tuple[int, Any] | None:
        """The first call of ``chain`` the driver supports (newest first), remembered, with its
        position; None when none does or the call failed."""
        if feature in dev.skip:
            return None
        for position in range(dev.variant.get(feature, 0), len(chain)):
            fn_name, args = chain[position]
            try:
                value = self._call(dev, fn_name, *args)
            except _Unsupported:
                continue
            except _Failed:
                return None
            dev.variant[feature] = position
            return position, value
        dev.skip.add(feature)
        return None

    def _call(
        self,
        dev: Device,
        fn_name: str,
        *args: Any,
        empty: tuple[str, ...] = (),
        quiet: bool = False,
    ) -> Any:
        """Call NVML. Unsupported raises _Unsupported; errors named in ``empty`` return None;
        device and session errors propagate; the rest are counted and raise _Failed (``quiet``:
        neither counted nor logged, for cosmetic lookups)."""
        fn: Callable[..., Any] | None = getattr(self.nvml, fn_name, None)
        if fn is None:  # a pynvml older than the call
            raise _Unsupported
        try:
            return fn(*args)
        except Exception as exc:
            if empty and is_error(self.nvml, exc, empty):
                return None
            if is_error(self.nvml, exc, UNSUPPORTED_ERRORS):
                raise _Unsupported from None
            if is_error(self.nvml, exc, DEVICE_ERRORS + SESSION_ERRORS):
                raise
            if not quiet:
                self._count(dev, fn_name, exc)
            raise _Failed(error_class(exc)) from None

    def _count(self, dev: Device, what: str, exc: Exception) -> None:
        cls = error_class(exc)
        self.health.fail(cls, f"GPU {dev.index}: {what} failed ({exc}); the field is omitted",
                         key=f"field:{cls}:{what}")  # fmt: skip


def _field_value(answer: Any) -> float:
    member = _VALUE_MEMBERS[int(answer.valueType)]
    return float(getattr(answer.value, member))
