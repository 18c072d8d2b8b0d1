"""A fake NVML at the pynvml API boundary, for the GPU collector's tests and benchmark.

Functions carry pynvml's names and signatures; constants, ctypes structures and the NVMLError
classes are pynvml's own (looked up on the real module), so the collector's except clauses meet
the real classes, and a function the fake lacks is an AttributeError, not a silent pass.

Knobs: ``gpus`` (FakeGpu values, ``unsupported`` features, ``lost``, ``mig``, processes),
``library_missing``, ``fail_all`` (an NVML error code every call answers: a driver unloaded),
``missing_functions`` (an older driver), ``hang_on`` (a call that blocks until ``release`` is
set) and ``xid()`` (queue an XID event for nvmlEventSetWait_v2).
"""

from __future__ import annotations

import ctypes
import queue
import threading
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pynvml

GIB = 1024**3
MIB = 1024**2
HANG_LIMIT_S = 20.0  # a hung fake call gives up eventually, so a broken test cannot hang forever

# Which feature of a FakeGpu a call reads: listing the feature in ``unsupported`` makes every
# call (and batched field) that reads it answer NotSupported.
FUNCTION_FEATURES = {
    "nvmlDeviceGetUtilizationRates": "utilization",
    "nvmlDeviceGetEncoderUtilization": "encoder",
    "nvmlDeviceGetDecoderUtilization": "decoder",
    "nvmlDeviceGetMemoryInfo": "memory",
    "nvmlDeviceGetTemperature": "temperature",
    "nvmlDeviceGetTemperatureV": "temperature",
    "nvmlDeviceGetPowerUsage": "power",
    "nvmlDeviceGetEnforcedPowerLimit": "power_limit",
    "nvmlDeviceGetTotalEnergyConsumption": "energy",
    "nvmlDeviceGetClockInfo": "clocks",
    "nvmlDeviceGetPerformanceState": "pstate",
    "nvmlDeviceGetCurrentClocksEventReasons": "clock_events",
    "nvmlDeviceGetCurrentClocksThrottleReasons": "clock_events",
    "nvmlDeviceGetTotalEccErrors": "ecc",
    "nvmlDeviceGetRemappedRows": "remapped_rows",
    "nvmlDeviceGetRetiredPagesPendingStatus": "retired_pages",
    "nvmlDeviceGetPcieReplayCounter": "pcie_replays",
    "nvmlDeviceGetNumFans": "fan",
    "nvmlDeviceGetFanSpeed_v2": "fan",
    "nvmlDeviceGetMigMode": "mig",
    "nvmlDeviceRegisterEvents": "events",
    "nvmlDeviceGetComputeRunningProcesses": "processes",
    "nvmlDeviceGetGraphicsRunningProcesses": "processes",
}
_P = pynvml
FIELD_FEATURES = {
    _P.NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION: "energy",
    _P.NVML_FI_DEV_PCIE_REPLAY_COUNTER: "pcie_replays",
    _P.NVML_FI_DEV_ECC_SBE_VOL_TOTAL: "ecc",
    _P.NVML_FI_DEV_ECC_DBE_VOL_TOTAL: "ecc",
    _P.NVML_FI_DEV_ECC_SBE_AGG_TOTAL: "ecc",
    _P.NVML_FI_DEV_ECC_DBE_AGG_TOTAL: "ecc",
    _P.NVML_FI_DEV_MEMORY_TEMP: "memory_temperature",
    _P.NVML_FI_DEV_RETIRED_PENDING: "retired_pages",
    _P.NVML_FI_DEV_REMAPPED_COR: "remapped_rows",
    _P.NVML_FI_DEV_REMAPPED_UNC: "remapped_rows",
    _P.NVML_FI_DEV_REMAPPED_PENDING: "remapped_rows",
    _P.NVML_FI_DEV_REMAPPED_FAILURE: "remapped_rows",
}
CORRECTED, UNCORRECTED = _P.NVML_MEMORY_ERROR_TYPE_CORRECTED, _P.NVML_MEMORY_ERROR_TYPE_UNCORRECTED
VOLATILE, AGGREGATE = _P.NVML_VOLATILE_ECC, _P.NVML_AGGREGATE_ECC
_FIELD_VALUES = {
    _P.NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION: lambda g: g.energy_mj,
    _P.NVML_FI_DEV_PCIE_REPLAY_COUNTER: lambda g: g.pcie_replays,
    _P.NVML_FI_DEV_ECC_SBE_VOL_TOTAL: lambda g: g.ecc.get((CORRECTED, VOLATILE), 0),
    _P.NVML_FI_DEV_ECC_DBE_VOL_TOTAL: lambda g: g.ecc.get((UNCORRECTED, VOLATILE), 0),
    _P.NVML_FI_DEV_ECC_SBE_AGG_TOTAL: lambda g: g.ecc.get((CORRECTED, AGGREGATE), 0),
    _P.NVML_FI_DEV_ECC_DBE_AGG_TOTAL: lambda g: g.ecc.get((UNCORRECTED, AGGREGATE), 0),
    _P.NVML_FI_DEV_MEMORY_TEMP: lambda g: g.memory_temperature,
    _P.NVML_FI_DEV_RETIRED_PENDING: lambda g: g.retired_pending,
    _P.NVML_FI_DEV_REMAPPED_COR: lambda g: g.remapped[0],
    _P.NVML_FI_DEV_REMAPPED_UNC: lambda g: g.remapped[1],
    _P.NVML_FI_DEV_REMAPPED_PENDING: lambda g: g.remapped[2],
    _P.NVML_FI_DEV_REMAPPED_FAILURE: lambda g: g.remapped[3],
}


def nvml_error(code: int) -> pynvml.NVMLError:
    """The pynvml exception for ``code`` (NVMLError maps codes to its own subclasses)."""
    return pynvml.NVMLError(code)


@dataclass
class FakeMig:
    uuid: str
    gpu_instance: int
    compute_instance: int
    gi_slices: int
    ci_slices: int
    memory_mb: int
    profile_name: str  # what the driver calls the GPU instance profile, "1g.10gb"
    profile_id: int = 19
    memory_used: int = 0
    handle: Any = None


@dataclass
class FakeProcess:
    pid: int
    used: int | None


@dataclass
class FakeGpu:
    """One GPU's answers, in NVML's own units (percent, milliwatts, millijoules, MHz)."""

    index: int
    uuid: str
    name: str = "NVIDIA H100 80GB HBM3"
    pci_bus_id: str = ""
    memory_total: int = 80 * GIB
    memory_used: int = 10 * GIB
    memory_reserved: int = 512 * MIB
    util_gpu: int = 50
    util_memory: int = 20
    encoder: int = 0
    decoder: int = 0
    temperature: int = 40
    memory_temperature: int = 50
    thresholds: dict[int, int] = field(
        default_factory=lambda: {
            _P.NVML_TEMPERATURE_THRESHOLD_SHUTDOWN: 92,
            _P.NVML_TEMPERATURE_THRESHOLD_SLOWDOWN: 89,
            _P.NVML_TEMPERATURE_THRESHOLD_GPU_MAX: 87,
            _P.NVML_TEMPERATURE_THRESHOLD_MEM_MAX: 95,
        }
    )
    power_mw: int = 300_000
    power_limit_mw: int = 700_000
    energy_mj: int = 123_456_789
    sm_mhz: int = 1980
    memory_mhz: int = 2619
    pstate: int = 0
    clock_events: int = 0
    ecc: dict[tuple[int, int], int] = field(default_factory=dict)
    # correctable, uncorrectable, pending, failed
    remapped: tuple[int, int, int, int] = (0, 0, 0, 0)
    retired_pending: int = 0
    pcie_replays: int = 0
    fans: list[int] = field(default_factory=list)
    mig: list[FakeMig] | None = None  # None: MIG off; a list: MIG on with these instances
    processes: list[FakeProcess] = field(default_factory=list)
    graphics_processes: list[FakeProcess] = field(default_factory=list)
    unsupported: set[str] = field(default_factory=set)
    unbatched_fields: set[int] = field(default_factory=set)  # NotSupported in the batch only
    lost: bool = False
    handle: Any = None


def make_gpu(i: int) -> FakeGpu:
    """GPU ``i`` with values that differ per GPU, so a test can tell them apart."""
    return FakeGpu(
        index=i,
        uuid=f"GPU-{i:08d}-1111-2222-3333-444444444444",
        pci_bus_id=f"00000000:{0x18 + i:02X}:00.0",
        memory_used=(10 + i) * GIB,
        util_gpu=50 + i,
        util_memory=20 + i,
        encoder=i,
        decoder=2 * i,
        temperature=40 + i,
        memory_temperature=50 + i,
        power_mw=300_000 + 1_000 * i + 500,
        energy_mj=123_456_789 + i,
        sm_mhz=1980 - i,
        pstate=i % 3,
        clock_events=0x4 | 0x8 if i == 1 else 0,
        ecc={
            (CORRECTED, VOLATILE): i,
            (UNCORRECTED, VOLATILE): 0,
            (CORRECTED, AGGREGATE): 10 + i,
            (UNCORRECTED, AGGREGATE): 1,
        },
        remapped=(i, 0, 0, 0),
        pcie_replays=5 * i,
        fans=[40 + i],
    )


def mig_instances(gpu_index: int, count: int = 3) -> list[FakeMig]:
    return [
        FakeMig(
            uuid=f"MIG-{gpu_index}-{n}-aaaa-bbbb-cccc",
            gpu_instance=n + 1,
            compute_instance=0,
            gi_slices=1,
            ci_slices=1,
            memory_mb=9984,
            profile_name="1g.10gb",
            memory_used=(n + 1) * GIB,
        )
        for n in range(count)
    ]


class _Handle:
    def __init__(self, gpu: FakeGpu) -> None:
        self.gpu = gpu


class _MigHandle:
    def __init__(self, gpu: FakeGpu, mig: FakeMig) -> None:
        self.gpu = gpu
        self.mig = mig


class _EventSet:
    def __init__(self) -> None:
        self.queue: queue.Queue[Any] = queue.Queue()
        self.handles: set[int] = set()
        self.closed = False


class FakeNVML:
    def __init__(self, gpus: int | list[FakeGpu] = 8) -> None:
        self.gpus = [make_gpu(i) for i in range(gpus)] if isinstance(gpus, int) else gpus
        for gpu in self.gpus:
            gpu.handle = _Handle(gpu)
        self.driver_version = "550.54.15"
        self.cuda_version = 12040
        self.library_missing = False
        self.fail_all: int | None = None
        self.missing_functions: set[str] = set()
        self.process_names: dict[int, str] = {}
        self.hang_on: str | None = None
        self.hanging = threading.Event()  # set while a call is blocked in hang_on
        self.release = threading.Event()
        self.initialized = 0
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._event_sets: list[_EventSet] = []

    def __getattr__(self, name: str) -> Any:
        value = getattr(pynvml, name)
        if name.startswith("nvml") and callable(value):
            raise AttributeError(f"the fake NVML has no {name}")
        return value

    # --- test controls --------------------------------------------------------------------------

    def xid(self, index: int, code: int) -> None:
        """An XID event from GPU ``index``, for every event set it is registered in."""
        handle = self.gpus[index].handle
        event = SimpleNamespace(
            device=handle,
            eventType=pynvml.nvmlEventTypeXidCriticalError,
            eventData=code,
            gpuInstanceId=0xFFFFFFFF,
            computeInstanceId=0xFFFFFFFF,
        )
        with self._lock:
            sets = [s for s in self._event_sets if not s.closed and id(handle) in s.handles]
        for event_set in sets:
            event_set.queue.put(event)

    def enable_mig(self, index: int, count: int = 3) -> list[FakeMig]:
        gpu = self.gpus[index]
        gpu.mig = mig_instances(index, count)
        for mig in gpu.mig:
            mig.handle = _MigHandle(gpu, mig)
        return gpu.mig

    def total_calls(self) -> int:
        with self._lock:
            return sum(self.calls.values())

    # --- plumbing -------------------------------------------------------------------------------

    def _enter(self, name: str, needs_init: bool = True) -> None:
        with self._lock:
            self.calls[name] += 1
        if self.fail_all is not None:
            raise nvml_error(self.fail_all)
        if name in self.missing_functions:
            raise nvml_error(pynvml.NVML_ERROR_FUNCTION_NOT_FOUND)
        if needs_init and not self.initialized:
            raise nvml_error(pynvml.NVML_ERROR_UNINITIALIZED)
        if self.hang_on == name and not self.release.is_set():
            self.hanging.set()
            self.release.wait(HANG_LIMIT_S)
            self.hanging.clear()

    def _gpu(self, name: str, handle: Any, feature: str | None = None) -> FakeGpu:
        self._enter(name)
        gpu: FakeGpu = handle.gpu
        if gpu.lost:
            raise nvml_error(pynvml.NVML_ERROR_GPU_IS_LOST)
        feature = feature or FUNCTION_FEATURES.get(name)
        if feature in gpu.unsupported:
            raise nvml_error(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return gpu

    # --- library and system ---------------------------------------------------------------------

    def nvmlInit(self) -> None:
        self._enter("nvmlInit", needs_init=False)
        if self.library_missing:
            raise nvml_error(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)
        self.initialized += 1

    def nvmlShutdown(self) -> None:
        self._enter("nvmlShutdown")
        self.initialized -= 1
        if not self.initialized:
            with self._lock:
                for event_set in self._event_sets:
                    event_set.closed = True

    def nvmlSystemGetDriverVersion(self) -> str:
        self._enter("nvmlSystemGetDriverVersion")
        return self.driver_version

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        self._enter("nvmlSystemGetCudaDriverVersion")
        return self.cuda_version

    def nvmlSystemGetProcessName(self, pid: int) -> str:
        self._enter("nvmlSystemGetProcessName")
        if pid not in self.process_names:
            raise nvml_error(pynvml.NVML_ERROR_NOT_FOUND)
        return self.process_names[pid]

    # --- devices --------------------------------------------------------------------------------

    def nvmlDeviceGetCount(self) -> int:
        self._enter("nvmlDeviceGetCount")
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> Any:
        self._enter("nvmlDeviceGetHandleByIndex")
        if not 0 <= index < len(self.gpus):
            raise nvml_error(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        if self.gpus[index].lost:
            raise nvml_error(pynvml.NVML_ERROR_GPU_IS_LOST)
        return self.gpus[index].handle

    def nvmlDeviceGetUUID(self, handle: Any) -> str:
        gpu = self._gpu("nvmlDeviceGetUUID", handle)
        return handle.mig.uuid if isinstance(handle, _MigHandle) else gpu.uuid

    def nvmlDeviceGetName(self, handle: Any) -> str:
        return self._gpu("nvmlDeviceGetName", handle).name

    def nvmlDeviceGetPciInfo(self, handle: Any) -> Any:
        gpu = self._gpu("nvmlDeviceGetPciInfo", handle)
        info = pynvml.nvmlPciInfo_t()
        info.busId = gpu.pci_bus_id.encode()
        return info

    def nvmlDeviceGetUtilizationRates(self, handle: Any) -> Any:
        gpu = self._gpu("nvmlDeviceGetUtilizationRates", handle)
        if gpu.mig is not None:  # as on real hardware: no utilisation in MIG mode
            raise nvml_error(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return pynvml.c_nvmlUtilization_t(gpu=gpu.util_gpu, memory=gpu.util_memory)

    def nvmlDeviceGetEncoderUtilization(self, handle: Any) -> list[int]:
        return [self._gpu("nvmlDeviceGetEncoderUtilization", handle).encoder, 167_000]

    def nvmlDeviceGetDecoderUtilization(self, handle: Any) -> list[int]:
        return [self._gpu("nvmlDeviceGetDecoderUtilization", handle).decoder, 167_000]

    def nvmlDeviceGetMemoryInfo(self, handle: Any, version: int | None = None) -> Any:
        gpu = self._gpu("nvmlDeviceGetMemoryInfo", handle)
        if isinstance(handle, _MigHandle):
            mig = handle.mig
            total = mig.memory_mb * MIB
            return pynvml.c_nvmlMemory_t(
                total=total, free=total - mig.memory_used, used=mig.memory_used
            )
        free = gpu.memory_total - gpu.memory_used - gpu.memory_reserved
        if version:
            if "nvmlDeviceGetMemoryInfo_v2" in self.missing_functions:
                raise nvml_error(pynvml.NVML_ERROR_FUNCTION_NOT_FOUND)
            return pynvml.c_nvmlMemory_v2_t(
                version=version,
                total=gpu.memory_total,
                reserved=gpu.memory_reserved,
                free=free,
                used=gpu.memory_used,
            )
        # The v1 struct counts reserved memory as used.
        return pynvml.c_nvmlMemory_t(
            total=gpu.memory_total, free=free, used=gpu.memory_used + gpu.memory_reserved
        )

    def nvmlDeviceGetTemperatureV(self, handle: Any, sensor: int) -> int:
        return self._gpu("nvmlDeviceGetTemperatureV", handle).temperature

    def nvmlDeviceGetTemperature(self, handle: Any, sensor: int) -> int:
        return self._gpu("nvmlDeviceGetTemperature", handle).temperature

    def nvmlDeviceGetTemperatureThreshold(self, handle: Any, threshold: int) -> int:
        gpu = self._gpu("nvmlDeviceGetTemperatureThreshold", handle)
        if threshold not in gpu.thresholds:
            raise nvml_error(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return gpu.thresholds[threshold]

    def nvmlDeviceGetPowerUsage(self, handle: Any) -> int:
        return self._gpu("nvmlDeviceGetPowerUsage", handle).power_mw

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: Any) -> int:
        return self._gpu("nvmlDeviceGetEnforcedPowerLimit", handle).power_limit_mw

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: Any) -> int:
        return self._gpu("nvmlDeviceGetTotalEnergyConsumption", handle).energy_mj

    def nvmlDeviceGetClockInfo(self, handle: Any, clock: int) -> int:
        gpu = self._gpu("nvmlDeviceGetClockInfo", handle)
        return gpu.sm_mhz if clock == pynvml.NVML_CLOCK_SM else gpu.memory_mhz

    def nvmlDeviceGetPerformanceState(self, handle: Any) -> int:
        return self._gpu("nvmlDeviceGetPerformanceState", handle).pstate

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle: Any) -> int:
        return self._gpu("nvmlDeviceGetCurrentClocksEventReasons", handle).clock_events

    def nvmlDeviceGetCurrentClocksThrottleReasons(self, handle: Any) -> int:
        return self._gpu("nvmlDeviceGetCurrentClocksThrottleReasons", handle).clock_events

    def nvmlDeviceGetTotalEccErrors(self, handle: Any, error_type: int, counter: int) -> int:
        return self._gpu("nvmlDeviceGetTotalEccErrors", handle).ecc[(error_type, counter)]

    def nvmlDeviceGetRemappedRows(self, handle: Any) -> tuple[int, int, int, int]:
        return self._gpu("nvmlDeviceGetRemappedRows", handle).remapped

    def nvmlDeviceGetRetiredPagesPendingStatus(self, handle: Any) -> int:
        return self._gpu("nvmlDeviceGetRetiredPagesPendingStatus", handle).retired_pending

    def nvmlDeviceGetPcieReplayCounter(self, handle: Any) -> int:
        return self._gpu("nvmlDeviceGetPcieReplayCounter", handle).pcie_replays

    def nvmlDeviceGetNumFans(self, handle: Any) -> int:
        return len(self._gpu("nvmlDeviceGetNumFans", handle).fans)

    def nvmlDeviceGetFanSpeed_v2(self, handle: Any, fan: int) -> int:
        return self._gpu("nvmlDeviceGetFanSpeed_v2", handle).fans[fan]

    def nvmlDeviceGetFieldValues(self, handle: Any, field_ids: list[int]) -> Any:
        gpu = self._gpu("nvmlDeviceGetFieldValues", handle)
        values = (pynvml.c_nvmlFieldValue_t * len(field_ids))()
        # Fill the real pynvml structs the way the C library does, past pynvml's Python-level
        # __setattr__, so the benchmark times the collector rather than the fake.
        put = ctypes.Structure.__setattr__
        for slot, field_id in zip(values, field_ids, strict=True):
            put(slot, "fieldId", field_id)
            feature = FIELD_FEATURES.get(field_id)
            if feature is None or feature in gpu.unsupported or field_id in gpu.unbatched_fields:
                put(slot, "nvmlReturn", pynvml.NVML_ERROR_NOT_SUPPORTED)
                continue
            put(slot, "nvmlReturn", pynvml.NVML_SUCCESS)
            put(slot, "valueType", pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG)
            slot.value.ullVal = _FIELD_VALUES[field_id](gpu)
        return values

    # --- MIG ------------------------------------------------------------------------------------

    def nvmlDeviceGetMigMode(self, handle: Any) -> list[int]:
        gpu = self._gpu("nvmlDeviceGetMigMode", handle)
        mode = pynvml.NVML_DEVICE_MIG_ENABLE if gpu.mig is not None else 0
        return [mode, mode]

    def nvmlDeviceGetMaxMigDeviceCount(self, handle: Any) -> int:
        self._gpu("nvmlDeviceGetMaxMigDeviceCount", handle)
        return 7

    def nvmlDeviceGetMigDeviceHandleByIndex(self, handle: Any, index: int) -> Any:
        gpu = self._gpu("nvmlDeviceGetMigDeviceHandleByIndex", handle)
        if gpu.mig is None or index >= len(gpu.mig):
            raise nvml_error(pynvml.NVML_ERROR_NOT_FOUND)
        return gpu.mig[index].handle

    def nvmlDeviceGetGpuInstanceId(self, handle: Any) -> int:
        self._gpu("nvmlDeviceGetGpuInstanceId", handle)
        return handle.mig.gpu_instance

    def nvmlDeviceGetComputeInstanceId(self, handle: Any) -> int:
        self._gpu("nvmlDeviceGetComputeInstanceId", handle)
        return handle.mig.compute_instance

    def nvmlDeviceGetAttributes(self, handle: Any) -> Any:
        self._gpu("nvmlDeviceGetAttributes", handle)
        mig = handle.mig
        return pynvml.c_nvmlDeviceAttributes(
            gpuInstanceSliceCount=mig.gi_slices,
            computeInstanceSliceCount=mig.ci_slices,
            memorySizeMB=mig.memory_mb,
        )

    def nvmlDeviceGetGpuInstanceById(self, handle: Any, gpu_instance: int) -> Any:
        gpu = self._gpu("nvmlDeviceGetGpuInstanceById", handle, feature="mig_profiles")
        mig = next(m for m in gpu.mig or () if m.gpu_instance == gpu_instance)
        return SimpleNamespace(mig=mig)

    def nvmlGpuInstanceGetInfo(self, instance: Any) -> Any:
        self._enter("nvmlGpuInstanceGetInfo")
        return SimpleNamespace(id=instance.mig.gpu_instance, profileId=instance.mig.profile_id)

    def nvmlDeviceGetGpuInstanceProfileInfoById(self, handle: Any, profile_id: int) -> Any:
        gpu = self._gpu("nvmlDeviceGetGpuInstanceProfileInfoById", handle, feature="mig_profiles")
        mig = next(m for m in gpu.mig or () if m.profile_id == profile_id)
        return SimpleNamespace(name=f"MIG {mig.profile_name}".encode())

    # --- processes ------------------------------------------------------------------------------

    def _processes(self, procs: list[FakeProcess]) -> list[Any]:
        return [
            SimpleNamespace(
                pid=p.pid,
                usedGpuMemory=p.used,
                gpuInstanceId=0xFFFFFFFF,
                computeInstanceId=0xFFFFFFFF,
            )
            for p in procs
        ]

    def nvmlDeviceGetComputeRunningProcesses(self, handle: Any) -> list[Any]:
        return self._processes(self._gpu("nvmlDeviceGetComputeRunningProcesses", handle).processes)

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle: Any) -> list[Any]:
        gpu = self._gpu("nvmlDeviceGetGraphicsRunningProcesses", handle)
        return self._processes(gpu.graphics_processes)

    # --- events ---------------------------------------------------------------------------------

    def nvmlEventSetCreate(self) -> _EventSet:
        self._enter("nvmlEventSetCreate")
        event_set = _EventSet()
        with self._lock:
            self._event_sets.append(event_set)
        return event_set

    def nvmlDeviceRegisterEvents(self, handle: Any, event_types: int, event_set: _EventSet) -> None:
        self._gpu("nvmlDeviceRegisterEvents", handle)
        event_set.handles.add(id(handle))

    def nvmlEventSetWait_v2(self, event_set: _EventSet, timeout_ms: int) -> Any:
        self._enter("nvmlEventSetWait_v2")
        if event_set.closed:
            raise nvml_error(pynvml.NVML_ERROR_UNINITIALIZED)
        try:
            return event_set.queue.get(timeout=timeout_ms / 1000)
        except queue.Empty:
            raise nvml_error(pynvml.NVML_ERROR_TIMEOUT) from None

    def nvmlEventSetFree(self, event_set: _EventSet) -> None:
        self._enter("nvmlEventSetFree", needs_init=False)
        event_set.closed = True
        with self._lock:
            self._event_sets.remove(event_set)
