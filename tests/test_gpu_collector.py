"""The NVML GPU collector against a fake NVML: values, units, missing fields, lost GPUs, a missing
library, a hanging call, XID events, MIG and per-process memory, and promtool on the result."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pynvml
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families

from llm_exporter import catalog
from llm_exporter.gpu import GpuCollector, GpuOptions
from llm_exporter.gpu.collector import GPU_SPECS
from llm_exporter.gpu.nvml import Backoff, CountingNVML, error_class
from llm_exporter.gpu.reader import CLOCK_EVENT_REASONS
from llm_exporter.metrics import Metrics

from .conftest import promtool_check_metrics, wait_for
from .fake_nvml import GIB, MIB, FakeNVML, FakeProcess


class Clock:
    """A monotonic clock the test moves by hand (back-off and snapshot age)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def make() -> Iterator[Callable[..., GpuCollector]]:
    made: list[GpuCollector] = []

    def build(fake: Any, clock: Clock | None = None, **options: Any) -> GpuCollector:
        options.setdefault("xid", False)
        options.setdefault("xid_wait_ms", 20)
        kwargs = {"monotonic": clock} if clock else {}
        collector = GpuCollector(fake, GpuOptions(**options), **kwargs)
        made.append(collector)
        return collector

    yield build
    for collector in made:
        collector.stop()


def exposition(collector: GpuCollector) -> bytes:
    registry = CollectorRegistry()
    registry.register(collector)
    return generate_latest(registry)


class Scrape:
    """The parsed exposition: look samples up by name and a subset of their labels."""

    def __init__(self, collector: GpuCollector) -> None:
        text = exposition(collector).decode()
        self.samples = [s for fam in text_string_to_metric_families(text) for s in fam.samples]

    def find(self, name: str, **labels: str) -> list[Any]:
        return [
            s
            for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        ]

    def value(self, name: str, **labels: str) -> float:
        found = self.find(name, **labels)
        assert len(found) == 1, f"{name}{labels}: {len(found)} samples"
        return found[0].value

    def has(self, name: str, **labels: str) -> bool:
        return bool(self.find(name, **labels))

    def names(self) -> set[str]:
        return {s.name for s in self.samples}


def gpu(i: int, fake: FakeNVML) -> dict[str, str]:
    return {"gpu": str(i), "uuid": fake.gpus[i].uuid}


# --- values, names, labels, units ---------------------------------------------------------------


def test_eight_gpus_land_with_names_labels_and_base_units(make) -> None:
    fake = FakeNVML(8)
    collector = make(fake)
    collector.poll_once()
    s = Scrape(collector)
    assert s.value(catalog.GPU_NVML_UP.name) == 1 and s.value(catalog.GPU_DEVICES.name) == 8
    for i in range(8):
        g = gpu(i, fake)
        assert s.value(catalog.GPU_UP.name, **g) == 1
        assert s.value(catalog.GPU_UTILIZATION.name, **g) == pytest.approx((50 + i) / 100)
        assert s.value(catalog.GPU_MEMORY_UTILIZATION.name, **g) == pytest.approx((20 + i) / 100)
        assert s.value(catalog.GPU_ENCODER_UTILIZATION.name, **g) == pytest.approx(i / 100)
        assert s.value(catalog.GPU_DECODER_UTILIZATION.name, **g) == pytest.approx(2 * i / 100)
        assert s.value(catalog.GPU_MEMORY_TOTAL.name, **g) == 80 * GIB
        assert s.value(catalog.GPU_MEMORY_USED.name, **g) == (10 + i) * GIB
        assert s.value(catalog.GPU_MEMORY_RESERVED.name, **g) == 512 * MIB
        assert s.value(catalog.GPU_MEMORY_FREE.name, **g) == 80 * GIB - (10 + i) * GIB - 512 * MIB
        assert s.value(catalog.GPU_TEMPERATURE.name, **g) == 40 + i
        assert s.value(catalog.GPU_MEMORY_TEMPERATURE.name, **g) == 50 + i
        assert s.value(catalog.GPU_TEMPERATURE_THRESHOLD.name, threshold="slowdown", **g) == 89
        assert s.value(catalog.GPU_TEMPERATURE_THRESHOLD.name, threshold="shutdown", **g) == 92
        assert s.value(catalog.GPU_POWER.name, **g) == pytest.approx(300.5 + i)  # from milliwatts
        assert s.value(catalog.GPU_POWER_LIMIT.name, **g) == 700
        # From millijoules, as a counter.
        assert s.value(catalog.GPU_ENERGY.name, **g) == pytest.approx((123_456_789 + i) / 1000)
        assert s.value(catalog.GPU_SM_CLOCK.name, **g) == (1980 - i) * 1_000_000  # from MHz
        assert s.value(catalog.GPU_MEMORY_CLOCK.name, **g) == 2619 * 1_000_000
        assert s.value(catalog.GPU_PERFORMANCE_STATE.name, **g) == i % 3
        assert (
            s.value(
                catalog.GPU_ECC_ERRORS.name, error_type="corrected", counter_type="volatile", **g
            )
            == i
        )
        assert (
            s.value(
                catalog.GPU_ECC_ERRORS.name, error_type="corrected", counter_type="aggregate", **g
            )
            == 10 + i
        )
        assert (
            s.value(
                catalog.GPU_ECC_ERRORS.name, error_type="uncorrected", counter_type="aggregate", **g
            )
            == 1
        )
        assert s.value(catalog.GPU_REMAPPED_ROWS.name, error_type="correctable", **g) == i
        assert s.value(catalog.GPU_REMAPPED_ROWS.name, error_type="uncorrectable", **g) == 0
        assert s.value(catalog.GPU_ROW_REMAP_PENDING.name, **g) == 0
        assert s.value(catalog.GPU_ROW_REMAP_FAILED.name, **g) == 0
        assert s.value(catalog.GPU_RETIRED_PAGES_PENDING.name, **g) == 0
        assert s.value(catalog.GPU_PCIE_REPLAYS.name, **g) == 5 * i
        assert s.value(catalog.GPU_FAN_SPEED.name, fan="0", **g) == pytest.approx((40 + i) / 100)
        assert s.value(catalog.GPU_MIG_ENABLED.name, **g) == 0
    assert s.value(catalog.GPU_NVML_CALLS.name) > 0
    assert s.value(catalog.GPU_COLLECTION_DURATION.name) > 0
    assert s.value(catalog.GPU_LAST_SUCCESS.name) == pytest.approx(time.time(), abs=60)


def test_info_series_carries_the_join_labels(make) -> None:
    fake = FakeNVML(8)
    collector = make(fake)
    collector.poll_once()
    info = Scrape(collector).find(catalog.GPU_INFO.name)
    assert len(info) == 8
    by_gpu = {s.labels["gpu"]: s for s in info}
    assert by_gpu["3"].value == 1
    assert by_gpu["3"].labels == {
        "gpu": "3",
        "uuid": fake.gpus[3].uuid,
        "name": "NVIDIA H100 80GB HBM3",
        "pci_bus_id": "00000000:1B:00.0",
        "driver_version": "550.54.15",
        "cuda_version": "12.4",
    }


def test_clock_events_one_series_per_reason(make) -> None:
    fake = FakeNVML(2)  # GPU 1 is held by sw_power_cap and hw_slowdown
    collector = make(fake)
    collector.poll_once()
    s = Scrape(collector)
    reasons = {label for label, _ in CLOCK_EVENT_REASONS}
    assert {
        x.labels["reason"] for x in s.find(catalog.GPU_CLOCK_EVENT_ACTIVE.name, gpu="1")
    } == reasons
    active = {
        x.labels["reason"] for x in s.find(catalog.GPU_CLOCK_EVENT_ACTIVE.name, gpu="1") if x.value
    }
    assert active == {"sw_power_cap", "hw_slowdown"}
    assert not any(x.value for x in s.find(catalog.GPU_CLOCK_EVENT_ACTIVE.name, gpu="0"))
    # The bits are NVML's, the same for the clock-event and the older throttle-reasons call.
    for label, bit in CLOCK_EVENT_REASONS:
        camel = "".join(word.title() for word in label.split("_"))
        assert getattr(pynvml, "nvmlClocksEventReason" + camel) == bit, label
        assert getattr(pynvml, "nvmlClocksThrottleReason" + camel) == bit, label


def test_collect_only_reads_the_snapshot(make) -> None:
    fake = FakeNVML(8)
    collector = make(fake)
    collector.poll_once()
    before = fake.total_calls()
    for _ in range(3):
        Scrape(collector)
    assert fake.total_calls() == before


# --- what NVML does not support -----------------------------------------------------------------


def test_not_supported_fields_are_absent_not_zero_and_not_asked_again(make) -> None:
    fake = FakeNVML(8)
    fake.gpus[2].unsupported = {
        "fan",
        "memory_temperature",
        "ecc",
        "encoder",
        "power",
        "remapped_rows",
        "mig",
    }
    fake.gpus[2].thresholds = {}
    collector = make(fake)
    first = collector.poll_once().calls
    s = Scrape(collector)
    g2, g3 = gpu(2, fake), gpu(3, fake)
    for spec in (
        catalog.GPU_FAN_SPEED,
        catalog.GPU_MEMORY_TEMPERATURE,
        catalog.GPU_ECC_ERRORS,
        catalog.GPU_ENCODER_UTILIZATION,
        catalog.GPU_POWER,
        catalog.GPU_REMAPPED_ROWS,
        catalog.GPU_ROW_REMAP_PENDING,
        catalog.GPU_TEMPERATURE_THRESHOLD,
        catalog.GPU_MIG_ENABLED,
    ):
        assert not s.has(spec.name, **g2), spec.name
        assert s.has(spec.name, **g3), spec.name
    assert s.value(catalog.GPU_UP.name, **g2) == 1
    assert s.value(catalog.GPU_DECODER_UTILIZATION.name, **g2) == pytest.approx(0.04)
    # Unsupported is not a failure: no class of collection_failures_total counts it.
    assert sum(x.value for x in s.find(catalog.GPU_COLLECTION_FAILURES.name)) == 0
    # A second pass does not ask again for what the GPU lacks.
    fake.calls.clear()
    steady = collector.poll_once().calls
    assert fake.calls["nvmlDeviceGetPowerUsage"] == 7
    assert fake.calls["nvmlDeviceGetEncoderUtilization"] == 7
    assert fake.calls["nvmlDeviceGetMigMode"] == 7
    assert steady < first


def test_batched_reads_cut_calls_and_agree_with_single_calls(make) -> None:
    batched, single = FakeNVML(8), FakeNVML(8)
    with_batch = make(batched)
    without = make(single, batched=False)
    with_batch.poll_once(), without.poll_once()
    batched.calls.clear(), single.calls.clear()
    calls_batched = with_batch.poll_once().calls
    calls_single = without.poll_once().calls
    assert batched.calls["nvmlDeviceGetFieldValues"] == 8
    assert single.calls["nvmlDeviceGetFieldValues"] == 0
    assert single.calls["nvmlDeviceGetTotalEccErrors"] == 8 * 4
    assert calls_batched + 8 * 7 == calls_single  # 8 single calls become 1 per GPU
    a, b = Scrape(with_batch), Scrape(without)
    for spec in (
        catalog.GPU_ENERGY,
        catalog.GPU_PCIE_REPLAYS,
        catalog.GPU_ECC_ERRORS,
        catalog.GPU_REMAPPED_ROWS,
        catalog.GPU_ROW_REMAP_FAILED,
        catalog.GPU_RETIRED_PAGES_PENDING,
    ):
        assert [(x.labels, x.value) for x in a.find(spec.name)] == [
            (x.labels, x.value) for x in b.find(spec.name)
        ], spec.name
    # Memory temperature exists only as a field: without the batch it is absent, not 0.
    memory_temperature = catalog.GPU_MEMORY_TEMPERATURE.name
    assert a.has(memory_temperature) and not b.has(memory_temperature)


def test_field_the_batch_cannot_answer_falls_back_to_its_single_call(make) -> None:
    fake = FakeNVML(2)
    fake.gpus[1].unbatched_fields = {
        pynvml.NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION,
        pynvml.NVML_FI_DEV_REMAPPED_PENDING,
    }
    fake.gpus[1].remapped = (3, 1, 1, 0)
    collector = make(fake)
    collector.poll_once()
    s = Scrape(collector)
    assert s.value(catalog.GPU_ENERGY.name, gpu="1") == pytest.approx(123_456.790)
    assert s.value(catalog.GPU_ROW_REMAP_PENDING.name, gpu="1") == 1
    assert fake.calls["nvmlDeviceGetTotalEnergyConsumption"] == 1
    assert fake.calls["nvmlDeviceGetRemappedRows"] == 1


def test_older_driver_fallbacks(make) -> None:
    fake = FakeNVML(2)
    fake.missing_functions = {
        "nvmlDeviceGetCurrentClocksEventReasons",
        "nvmlDeviceGetMemoryInfo_v2",
        "nvmlDeviceGetTemperatureV",
        "nvmlDeviceGetFieldValues",
    }
    collector = make(fake)
    for _ in range(2):
        collector.poll_once()
    s = Scrape(collector)
    g = gpu(1, fake)
    active = {
        x.labels["reason"] for x in s.find(catalog.GPU_CLOCK_EVENT_ACTIVE.name, **g) if x.value
    }
    assert active == {"sw_power_cap", "hw_slowdown"}  # from the throttle-reasons call
    assert s.value(catalog.GPU_TEMPERATURE.name, **g) == 41
    # v1 memory: reserved counts as used, and there is no reserved series.
    assert s.value(catalog.GPU_MEMORY_USED.name, **g) == 11 * GIB + 512 * MIB
    assert not s.has(catalog.GPU_MEMORY_RESERVED.name)
    assert s.value(catalog.GPU_ENERGY.name, **g) == pytest.approx(123_456.790)
    # The calls that failed once are not tried again.
    assert fake.calls["nvmlDeviceGetCurrentClocksEventReasons"] == 2
    assert fake.calls["nvmlDeviceGetFieldValues"] == 2


def test_an_unexpected_fault_is_counted_and_the_rest_still_served(make) -> None:
    fake = FakeNVML(2)

    def broken(handle: Any) -> int:
        raise RuntimeError("bug")

    fake.nvmlDeviceGetPowerUsage = broken  # type: ignore[method-assign]
    collector = make(fake)
    collector.poll_once()
    s = Scrape(collector)
    assert not s.has(catalog.GPU_POWER.name)
    assert s.value(catalog.GPU_COLLECTION_FAILURES.name, error_class="internal") == 2
    assert s.value(catalog.GPU_UP.name, gpu="0") == 1 and s.has(
        catalog.GPU_POWER_LIMIT.name, gpu="0"
    )


# --- lost GPUs, missing library, unloaded driver ------------------------------------------------


def test_lost_gpu_goes_down_and_recovers_after_backoff(make) -> None:
    fake, clock = FakeNVML(8), Clock()
    collector = make(fake, clock)
    collector.poll_once()
    fake.gpus[3].lost = True
    collector.poll_once()
    s = Scrape(collector)
    assert s.value(catalog.GPU_UP.name, **gpu(3, fake)) == 0
    assert [x.name for x in s.samples if x.labels.get("gpu") == "3"] == [catalog.GPU_UP.name]
    assert s.value(catalog.GPU_UP.name, **gpu(4, fake)) == 1 and s.has(
        catalog.GPU_POWER.name, gpu="4"
    )
    assert s.value(catalog.GPU_COLLECTION_FAILURES.name, error_class="gpu_is_lost") == 1
    assert s.value(catalog.GPU_NVML_UP.name) == 1  # the other seven are fine
    fake.gpus[3].lost = False
    collector.poll_once()  # within the back-off: no re-initialisation yet
    assert fake.calls["nvmlInit"] == 1
    assert Scrape(collector).value(catalog.GPU_UP.name, **gpu(3, fake)) == 0
    clock.advance(1.0)
    collector.poll_once()
    s = Scrape(collector)
    assert fake.calls["nvmlInit"] == 2 and fake.calls["nvmlShutdown"] == 1
    assert fake.initialized == 1
    assert s.value(catalog.GPU_UP.name, **gpu(3, fake)) == 1
    assert s.value(catalog.GPU_POWER.name, **gpu(3, fake)) == pytest.approx(303.5)
    assert s.value(catalog.GPU_COLLECTION_FAILURES.name, error_class="gpu_is_lost") == 1


def test_backoff_doubles_while_the_gpu_stays_lost() -> None:
    clock = Clock()
    backoff = Backoff(1.0, 4.0, clock=clock)
    assert backoff.ready() and [backoff.failed() for _ in range(4)] == [1.0, 2.0, 4.0, 4.0]
    assert not backoff.ready()
    clock.advance(4.0)
    assert backoff.ready()


def test_gpu_lost_at_discovery_is_retried_with_growing_delays(make, caplog) -> None:
    caplog.set_level(logging.INFO, logger="llm_exporter.gpu")
    fake, clock = FakeNVML(4), Clock()
    fake.gpus[1].lost = True
    collector = make(fake, clock)
    collector.poll_once()
    assert (
        Scrape(collector).value(catalog.GPU_UP.name, gpu="1", uuid="") == 0
    )  # never seen: no UUID yet
    inits = []
    for _ in range(14):  # 0.5 s steps: re-initialised after 1 s, then 2 s later, then 4 s
        clock.advance(0.5)
        collector.poll_once()
        inits.append(fake.calls["nvmlInit"])
    assert inits == [1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 4]
    assert Scrape(collector).value(catalog.GPU_UP.name, gpu="0") == 1
    # Each retry is not news: the log says it once.
    info = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert sum("re-initialising NVML" in m for m in info) == 1
    assert sum(m.startswith("NVML up") for m in info) == 1
    assert sum("cannot open it" in m for m in info) == 1


def test_gpu_gone_after_reinitialisation_stays_reported_down_by_uuid(make) -> None:
    fake, clock = FakeNVML(4), Clock()
    collector = make(fake, clock)
    collector.poll_once()
    lost = fake.gpus[3]
    lost.lost = True
    collector.poll_once()
    fake.gpus.remove(lost)  # fell off the bus: NVML now counts three
    clock.advance(1.0)
    collector.poll_once()
    s = Scrape(collector)
    assert s.value(catalog.GPU_UP.name, gpu="3", uuid=lost.uuid) == 0
    assert [s.value(catalog.GPU_UP.name, gpu=str(i)) for i in range(3)] == [1, 1, 1]
    assert s.value(catalog.GPU_DEVICES.name) == 3


def test_library_missing_reports_nvml_down_logs_once_and_stays_valid(make, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="llm_exporter.gpu")
    fake, clock = FakeNVML(8), Clock()
    fake.library_missing = True
    collector = make(fake, clock)
    for _ in range(3):
        collector.poll_once()
        clock.advance(10)
    s = Scrape(collector)
    assert s.value(catalog.GPU_NVML_UP.name) == 0
    assert s.value(catalog.GPU_COLLECTION_FAILURES.name, error_class="library_not_found") == 3
    assert not s.has(catalog.GPU_UP.name) and not s.has(catalog.GPU_DEVICES.name)
    assert not s.has(catalog.GPU_LAST_SUCCESS.name)
    warnings = [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and "NVML unavailable" in r.getMessage()
    ]
    assert len(warnings) == 1 and "Library Not Found" in warnings[0].getMessage()
    result = promtool_check_metrics(exposition(collector))
    assert result.returncode == 0, result.stdout + result.stderr
    # The driver appears later: picked up without a restart, and said so.
    fake.library_missing = False
    collector.poll_once()
    assert Scrape(collector).value(catalog.GPU_NVML_UP.name) == 1
    assert any("NVML up: 8 GPU(s)" in r.getMessage() for r in caplog.records)


def test_no_pynvml_at_all_is_a_down_state_not_a_crash(make, monkeypatch) -> None:
    monkeypatch.setattr("llm_exporter.gpu.collector.load_pynvml", lambda: None)
    collector = make(None)
    collector.poll_once()
    collector.poll_once()
    s = Scrape(collector)
    assert s.value(catalog.GPU_NVML_UP.name) == 0
    assert s.value(catalog.GPU_COLLECTION_FAILURES.name, error_class="library_not_found") == 1


def test_driver_unloaded_mid_run_takes_nvml_down_then_back(make) -> None:
    fake, clock = FakeNVML(4), Clock()
    collector = make(fake, clock)
    collector.poll_once()
    fake.fail_all = pynvml.NVML_ERROR_DRIVER_NOT_LOADED
    collector.poll_once()
    s = Scrape(collector)
    assert s.value(catalog.GPU_NVML_UP.name) == 0 and not s.has(catalog.GPU_UP.name)
    assert s.value(catalog.GPU_COLLECTION_FAILURES.name, error_class="driver_not_loaded") == 1
    assert s.has(catalog.GPU_LAST_SUCCESS.name)  # still says when data was last good
    fake.fail_all = None
    clock.advance(1.0)
    collector.poll_once()
    s = Scrape(collector)
    assert s.value(catalog.GPU_NVML_UP.name) == 1 and s.value(catalog.GPU_UP.name, gpu="2") == 1


# --- hangs and staleness ------------------------------------------------------------------------


def test_hanging_call_scrapes_serve_the_cache_and_count_a_timeout(make) -> None:
    fake = FakeNVML(2)
    collector = make(fake, refresh_interval=0.05, timeout=0.2, max_age=30)
    collector.start()
    assert Scrape(collector).value(catalog.GPU_POWER.name, gpu="1") == pytest.approx(301.5)
    fake.hang_on = "nvmlDeviceGetPowerUsage"
    try:
        assert fake.hanging.wait(2)
        started = time.perf_counter()
        s = Scrape(collector)
        assert time.perf_counter() - started < 0.2  # the scrape does not wait for NVML
        assert s.value(catalog.GPU_POWER.name, gpu="1") == pytest.approx(301.5)  # the cache
        wait_for(lambda: collector.hung)
        s = Scrape(collector)
        assert s.value(catalog.GPU_COLLECTION_FAILURES.name, error_class="timeout") == 1
        assert s.value(catalog.GPU_NVML_UP.name) == 0
        assert s.value(catalog.GPU_UP.name, gpu="0") == 1 and s.has(catalog.GPU_POWER.name, gpu="0")
    finally:
        fake.release.set()
    wait_for(lambda: Scrape(collector).value(catalog.GPU_NVML_UP.name) == 1)
    assert Scrape(collector).value(catalog.GPU_COLLECTION_FAILURES.name, error_class="timeout") == 1


def test_stale_snapshot_is_withdrawn_not_served_as_current(make) -> None:
    fake, clock = FakeNVML(2), Clock()
    collector = make(fake, clock, refresh_interval=5, timeout=5)  # stale after 2*5+5 s
    collector.poll_once()
    clock.advance(14.9)
    assert Scrape(collector).has(catalog.GPU_POWER.name)
    clock.advance(0.2)
    s = Scrape(collector)
    assert not s.has(catalog.GPU_POWER.name) and not s.has(catalog.GPU_UP.name)
    assert s.value(catalog.GPU_NVML_UP.name) == 0 and s.has(catalog.GPU_LAST_SUCCESS.name)


def test_start_and_stop_leave_no_threads_and_nvml_shut_down(make) -> None:
    fake = FakeNVML(2)
    collector = make(fake, refresh_interval=0.05, xid=True)
    collector.start()
    wait_for(lambda: collector.xid.watching == 2)
    collector.stop()
    assert fake.initialized == 0
    names = {t.name for t in threading.enumerate()}
    assert not {n for n in names if n.startswith("llm-exporter-gpu")}


# --- XID events ---------------------------------------------------------------------------------


def test_xid_events_between_two_scrapes_are_all_counted(make) -> None:
    fake = FakeNVML(8)
    collector = make(fake, xid=True)
    collector.poll_once()
    wait_for(lambda: collector.xid.watching == 8)
    assert not Scrape(collector).has(catalog.GPU_XID_ERRORS.name)
    before = time.time()
    for index, code in ((2, 79), (2, 79), (5, 48), (2, 13)):
        fake.xid(index, code)
    wait_for(lambda: sum(c for _, c, _ in collector.xid_counts.items()) == 4)
    s = Scrape(collector)
    assert s.value(catalog.GPU_XID_ERRORS.name, xid="79", **gpu(2, fake)) == 2
    assert s.value(catalog.GPU_XID_ERRORS.name, xid="13", **gpu(2, fake)) == 1
    assert s.value(catalog.GPU_XID_ERRORS.name, xid="48", **gpu(5, fake)) == 1
    seen = s.value(catalog.GPU_XID_LAST_SEEN.name, xid="48", gpu="5")
    assert before <= seen <= time.time()
    # Counted once, not again on the next scrape.
    assert Scrape(collector).value(catalog.GPU_XID_ERRORS.name, xid="79", gpu="2") == 2


def test_xid_watching_resumes_after_reinitialisation(make) -> None:
    fake, clock = FakeNVML(4), Clock()
    collector = make(fake, clock, xid=True)
    collector.poll_once()
    wait_for(lambda: collector.xid.watching == 4)
    fake.gpus[3].lost = True
    collector.poll_once()
    fake.gpus[3].lost = False
    clock.advance(1.0)
    collector.poll_once()  # re-initialises NVML: the watcher lets go and registers again
    assert fake.calls["nvmlInit"] == 2 and fake.initialized == 1
    wait_for(lambda: collector.xid.watching == 4)
    fake.xid(3, 94)
    wait_for(lambda: collector.xid_counts.items() != [])
    assert Scrape(collector).value(catalog.GPU_XID_ERRORS.name, xid="94", gpu="3") == 1


def test_xid_not_supported_means_no_thread_and_no_failure(make) -> None:
    fake = FakeNVML(2)
    for g in fake.gpus:
        g.unsupported.add("events")
    collector = make(fake, xid=True)
    collector.poll_once()
    wait_for(lambda: not collector.xid.running)
    assert fake.calls["nvmlEventSetCreate"] == 1  # the watcher did start, and tried each GPU
    assert fake.calls["nvmlDeviceRegisterEvents"] == 2
    s = Scrape(collector)
    assert s.value(catalog.GPU_NVML_UP.name) == 1 and not s.has(catalog.GPU_XID_ERRORS.name)
    assert sum(x.value for x in s.find(catalog.GPU_COLLECTION_FAILURES.name)) == 0


# --- MIG and processes --------------------------------------------------------------------------


def test_mig_instances_memory_and_info(make) -> None:
    fake = FakeNVML(3)
    migs = fake.enable_mig(0, count=3)
    migs[2].ci_slices, migs[2].gi_slices = 1, 3  # a compute instance smaller than its GI
    migs[2].profile_name, migs[2].profile_id = "3g.40gb", 9
    fake.gpus[2].unsupported.add("mig")
    collector = make(fake)
    collector.poll_once()
    collector.poll_once()
    s = Scrape(collector)
    assert s.value(catalog.GPU_MIG_ENABLED.name, **gpu(0, fake)) == 1
    assert s.value(catalog.GPU_MIG_ENABLED.name, **gpu(1, fake)) == 0
    assert not s.has(catalog.GPU_MIG_ENABLED.name, gpu="2")  # no MIG support: absent, not 0
    assert not s.has(catalog.GPU_UTILIZATION.name, gpu="0")  # NVML has none in MIG mode
    info = {x.labels["mig_uuid"]: x.labels for x in s.find(catalog.GPU_MIG_INFO.name)}
    assert info[migs[0].uuid] == {
        "gpu": "0",
        "uuid": fake.gpus[0].uuid,
        "mig_uuid": migs[0].uuid,
        "gpu_instance": "1",
        "compute_instance": "0",
        "profile": "1g.10gb",
    }
    assert info[migs[2].uuid]["profile"] == "1c.3g.40gb"
    for n, mig in enumerate(migs):
        assert s.value(catalog.GPU_MIG_MEMORY_TOTAL.name, mig_uuid=mig.uuid, gpu="0") == 9984 * MIB
        assert (
            s.value(catalog.GPU_MIG_MEMORY_USED.name, mig_uuid=mig.uuid, gpu="0") == (n + 1) * GIB
        )
    # Static facts are read once per instance, not every pass.
    assert fake.calls["nvmlDeviceGetAttributes"] == 3


@pytest.mark.parametrize("answer", ["not_supported", "no_permission"])
def test_mig_profile_name_derived_when_the_driver_will_not_say(make, answer: str) -> None:
    fake = FakeNVML(1)
    fake.enable_mig(0, count=1)
    asked = []
    if answer == "not_supported":
        fake.gpus[0].unsupported.add("mig_profiles")
    else:  # a real failure, not "unsupported": the lookup is quiet, so it is not counted

        def denied(handle: Any, gpu_instance: int) -> Any:
            asked.append(gpu_instance)
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NO_PERMISSION)

        fake.nvmlDeviceGetGpuInstanceById = denied  # type: ignore[method-assign]
    collector = make(fake)
    collector.poll_once()
    (info,) = Scrape(collector).find(catalog.GPU_MIG_INFO.name)
    assert info.labels["profile"] == "1g.10gb"  # 1 slice, 9984 MiB rounded up to 10 GiB
    s = Scrape(collector)
    assert s.value(catalog.GPU_COLLECTION_FAILURES.name, error_class="unknown") == 0
    assert sum(x.value for x in s.find(catalog.GPU_COLLECTION_FAILURES.name)) == 0
    if answer == "not_supported":
        assert fake.calls["nvmlDeviceGetGpuInstanceById"] == 1
    else:
        assert asked == [1]


def test_process_memory_is_off_by_default_and_bounded_largest_first(make) -> None:
    fake = FakeNVML(2)
    fake.gpus[1].processes = [FakeProcess(1000 + n, n * MIB) for n in range(30)]
    fake.gpus[1].graphics_processes = [FakeProcess(1029, 100 * MIB), FakeProcess(7, None)]
    fake.process_names = {1029: "/opt/venv/bin/python3", 1028: "vllm"}
    assert not Scrape(_polled(make(fake))).has(catalog.GPU_PROCESS_MEMORY_USED.name)
    collector = _polled(make(fake, processes=True, processes_max=5))
    found = Scrape(collector).find(catalog.GPU_PROCESS_MEMORY_USED.name, **gpu(1, fake))
    assert [(x.labels["pid"], x.value) for x in found] == [
        ("1029", 100 * MIB),
        ("1028", 28 * MIB),
        ("1027", 27 * MIB),
        ("1026", 26 * MIB),
        ("1025", 25 * MIB),
    ]
    names = {x.labels["pid"]: x.labels["process_name"] for x in found}
    assert names["1029"] == "python3" and names["1028"] == "vllm" and names["1027"] == "unknown"
    # Three names NVML answered NotFound for: looked up quietly, so not counted as failures.
    assert fake.calls["nvmlSystemGetProcessName"] == 5
    s = Scrape(collector)
    assert s.value(catalog.GPU_COLLECTION_FAILURES.name, error_class="not_found") == 0
    assert sum(x.value for x in s.find(catalog.GPU_COLLECTION_FAILURES.name)) == 0


def _polled(collector: GpuCollector) -> GpuCollector:
    collector.poll_once()
    return collector


# --- the whole exposition -----------------------------------------------------------------------


def _full(make) -> tuple[FakeNVML, GpuCollector]:
    fake = FakeNVML(8)
    fake.enable_mig(7, count=2)
    fake.gpus[0].processes = [FakeProcess(4242, 3 * GIB)]
    fake.process_names = {4242: "python3"}
    collector = make(fake, processes=True, xid=True)
    collector.poll_once()
    wait_for(lambda: collector.xid.watching == 8)
    fake.xid(4, 79)
    wait_for(lambda: collector.xid_counts.items() != [])
    return fake, collector


def test_full_eight_gpu_exposition_passes_promtool(make) -> None:
    _, collector = _full(make)
    body = exposition(collector)
    result = promtool_check_metrics(body)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == ""
    # OpenMetrics too: units must suffix their names there.
    registry = CollectorRegistry()
    registry.register(collector)
    families = {f.name: f for f in parse_om(generate_openmetrics(registry).decode())}
    assert families[catalog.GPU_ENERGY.base_name].unit == "joules"
    assert families[catalog.GPU_POWER.name].unit == "watts"


def test_catalog_and_collector_agree_on_every_gpu_family(make) -> None:
    _, collector = _full(make)
    s = Scrape(collector)
    assert s.names() == {spec.name for spec in GPU_SPECS}
    # And the registry learns the names without a collection, clash-free beside the others.
    registry = CollectorRegistry()
    Metrics(registry)
    registry.register(collector)
    with pytest.raises(ValueError, match="Duplicated"):
        registry.register(GpuCollector(FakeNVML(1), GpuOptions(xid=False)))


# --- the NVML boundary --------------------------------------------------------------------------


def test_error_classes_are_bounded_snake_case() -> None:
    assert error_class(pynvml.NVMLError(pynvml.NVML_ERROR_GPU_IS_LOST)) == "gpu_is_lost"
    assert error_class(pynvml.NVMLError_LibraryNotFound()) == "library_not_found"
    assert error_class(pynvml.NVMLError_LibRmVersionMismatch()) == "lib_rm_version_mismatch"
    assert error_class(pynvml.NVMLError(12345)) == "unknown"  # a code pynvml has no class for
    assert error_class(ZeroDivisionError()) == "internal"


def test_counting_proxy_counts_calls_not_constants() -> None:
    fake = FakeNVML(1)
    proxy = CountingNVML(fake)
    proxy.nvmlInit()
    proxy.nvmlDeviceGetCount()
    assert proxy.NVML_CLOCK_SM == pynvml.NVML_CLOCK_SM
    assert proxy.NVMLError_GpuIsLost is pynvml.NVMLError_GpuIsLost
    assert proxy.calls == 2
