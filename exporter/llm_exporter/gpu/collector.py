"""The prometheus_client collector for GPUs, and the poller that feeds it.

NVML can hang on a sick GPU, so a scrape never calls it: ``collect()`` only turns the latest
snapshot into metric families. A worker thread refreshes the snapshot every refresh interval; a
scheduler thread watches it, and a pass still running after ``timeout`` is counted as a
``timeout`` failure and reported as NVML not answering, while scrapes keep serving the last
snapshot. Per-GPU series older than ``max_age`` are withdrawn rather than served as if current;
the last-success timestamp (``catalog.GPU_LAST_SUCCESS``) tells how old the data is.

NVML missing (no driver, no libnvidia-ml) is a state, not an error: the collector reports
``catalog.GPU_NVML_UP`` 0, logs it once, and retries initialisation with back-off. A lost GPU
reports ``catalog.GPU_UP`` 0 and NVML is re-initialised, with back-off, until it is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from prometheus_client.core import Metric

from .. import catalog
from ..catalog import MetricSpec
from ..metrics import Family, add_sample, metric_family
from .health import Health
from .nvml import Backoff, CountingNVML, Session, error_class, load_pynvml
from .reader import GpuReading, Reader
from .xid import XidCounts, XidWatcher

log = logging.getLogger("llm_exporter.gpu")

GPU_SPECS = tuple(spec for spec in catalog.all_specs() if spec.group == "gpu")


@dataclass(frozen=True)
class GpuOptions:
    refresh_interval: float = 5.0
    timeout: float = 5.0
    processes: bool = False
    processes_max: int = 20
    # Read counters and flags in one nvmlDeviceGetFieldValues call per GPU (off: single calls).
    batched: bool = True
    # Per-GPU series older than this are withdrawn; None: 2 refresh intervals plus the timeout.
    max_age: float | None = None
    xid: bool = True
    xid_wait_ms: int = 1000

    def __post_init__(self) -> None:
        for name in ("refresh_interval", "timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.processes_max < 1:
            raise ValueError(f"processes_max must be at least 1, got {self.processes_max}")

    @property
    def stale_after(self) -> float:
        if self.max_age is not None:
            return self.max_age
        return 2 * self.refresh_interval + self.timeout


@dataclass(frozen=True)
class Snapshot:
    """One collection, as scrapes serve it. ``finished`` is on the collector's monotonic clock;
    ``success_time`` (unix time) carries over from the last success when a pass fails."""

    nvml_up: bool = False
    devices: int | None = None
    gpus: tuple[GpuReading, ...] = ()
    finished: float | None = None
    success_time: float | None = None
    duration: float | None = None
    calls: int | None = None


class GpuCollector:
    """Register on a CollectorRegistry, then ``start()``; ``stop()`` on shutdown.

    ``nvml`` is pynvml's API: the module itself by default, a fake in tests. ``poll_once()`` runs
    one pass in the caller's thread (tests and benchmarks use it instead of ``start()``).
    """

    def __init__(
        self,
        nvml: Any = None,
        options: GpuOptions | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.options = options or GpuOptions()
        self._stale_after = self.options.stale_after  # options are frozen: once, not per scrape
        self._monotonic = monotonic
        self._wall = wall
        self.health = Health()
        module = nvml if nvml is not None else load_pynvml()
        self.nvml = CountingNVML(module) if module is not None else None
        opts = self.options
        self.session = Session(self.nvml, close_wait_s=opts.xid_wait_ms / 1000 + 1)
        self.reader = Reader(
            self.nvml,
            self.health,
            batched=opts.batched,
            processes=opts.processes,
            processes_max=opts.processes_max,
        )
        self.backoff = Backoff(clock=monotonic)  # 1 s doubling to 60 s, as the XID watcher
        self.xid_counts = XidCounts()
        self.xid = (
            XidWatcher(module, self.session, self.reader.live_devices, self.xid_counts,
                       self.health, wait_ms=opts.xid_wait_ms, clock=wall)
            if opts.xid and module is not None else None
        )  # fmt: skip
        self._snapshot = Snapshot()
        self._down_key: str | None = None
        self._ever_up = False
        self._hung = False
        self._stop = threading.Event()
        self._go = threading.Event()
        self._done = threading.Event()
        self._first = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- the poller -----------------------------------------------------------------------------

    def start(self, wait: bool = True) -> GpuCollector:
        """Start polling; with ``wait``, return after the first pass (or the timeout)."""
        for target, name in ((self._work, "llm-exporter-gpu-poll"),
                             (self._schedule, "llm-exporter-gpu-watchdog")):  # fmt: skip
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        if wait:
            self._first.wait(self.options.timeout)
        return self

    def stop(self) -> None:
        """Stop the threads and shut NVML down, unless a pass is stuck inside it."""
        self._stop.set()
        self._go.set()
        self._done.set()
        for thread in self._threads:
            thread.join(timeout=1.0)
        if self.xid is not None:
            self.xid.stop()
        stuck = any(t.is_alive() for t in self._threads[:1])  # the worker is the one in NVML
        if not stuck and self.session.up:
            self.session.close()

    def _work(self) -> None:
        while True:
            self._go.wait()
            if self._stop.is_set():
                self._done.set()  # the watchdog may just have asked for a pass: release it
                return
            self._go.clear()
            try:
                self.poll_once()
            finally:
                self._first.set()
                self._done.set()

    def _schedule(self) -> None:
        """Triggers a pass every refresh interval and stands watch over it."""
        interval, timeout = self.options.refresh_interval, self.options.timeout
        next_at = time.monotonic()
        while not self._stop.is_set():
            self._done.clear()
            self._go.set()
            if not self._done.wait(timeout) and not self._stop.is_set():
                self._hung = True
                self.health.fail("timeout", f"GPU collection still running after {timeout:g}s "
                                 "(--gpu-timeout): NVML is hanging; serving the last values",
                                 key="timeout")  # fmt: skip
                # One pass at a time, however long: a second thread would hang on NVML too.
                while not self._done.wait(interval) and not self._stop.is_set():
                    pass
                self._hung = False
            next_at = max(next_at + interval, time.monotonic())
            self._stop.wait(next_at - time.monotonic())

    def poll_once(self) -> Snapshot:
        """One collection pass; publishes and returns its snapshot. Never raises."""
        started = time.perf_counter()
        if self.nvml is not None:
            self.nvml.calls = 0
        try:
            snap = self._pass()
        except Exception as exc:  # a fault of ours: count it, keep serving
            self.health.fail("internal", f"GPU collection failed: {exc!r}", key="internal")
            log.debug("GPU collection failed", exc_info=True)
            snap = Snapshot(success_time=self._snapshot.success_time)
        calls = self.nvml.calls if self.nvml is not None else 0
        snap = replace(snap, finished=self._monotonic(), duration=time.perf_counter() - started,
                       calls=calls)  # fmt: skip
        self._snapshot = snap  # one reference swap: scrapes see the old or the new, whole
        return snap

    def _pass(self) -> Snapshot:
        last_success = self._snapshot.success_time
        if self.nvml is None:
            self._session_failed("library_not_found", "the nvidia-ml-py package (module "
                                 "pynvml) is not installed", retry=False)  # fmt: skip
            return Snapshot(success_time=last_success)
        session, reader = self.session, self.reader
        if session.up and reader.any_lost and self.backoff.ready():
            self.health.once("reinit", "re-initialising NVML to look for lost GPUs (with "
                             "back-off while they stay lost)", logging.INFO)  # fmt: skip
            session.close()
        reopened = False
        if not session.up:
            if not self.backoff.ready():
                return Snapshot(success_time=last_success)
            try:
                session.open()
                reader.discover()
            except Exception as exc:
                session.close()
                self._failed(exc)
                return Snapshot(success_time=last_success)
            reopened = True
            self._came_up()
        try:
            readings = reader.read(session.driver_version, session.cuda_version)
        except Exception as exc:  # only session errors get out of read()
            session.close()
            self._failed(exc)
            return Snapshot(success_time=last_success)
        if reader.any_lost:
            if reopened or not self.backoff.pending:
                self.backoff.failed()
        else:
            self.backoff.reset()
        return Snapshot(nvml_up=True, devices=reader.count, gpus=tuple(readings),
                        success_time=self._wall())  # fmt: skip

    def _failed(self, exc: Exception) -> None:
        cls = error_class(exc)
        self._session_failed(cls, repr(exc) if cls == "internal" else str(exc))

    def _session_failed(self, cls: str, problem: str, retry: bool = True) -> None:
        key = "session:" + cls
        if retry:
            delay = self.backoff.failed()
            message = (
                f"NVML unavailable ({problem}): no GPU metrics, {catalog.GPU_NVML_UP.name} is "
                f"0; retrying with back-off (next in {delay:g}s, at most every "
                f"{self.backoff.maximum:g}s)"
            )
        else:
            if self._down_key == key:
                return  # nothing will change without a restart: count and say it once
            message = f"NVML unavailable ({problem}): no GPU metrics"
        self.health.fail(cls, message, key=key)
        self._down_key = key

    def _came_up(self) -> None:
        # Said at start and after NVML was unavailable; a routine re-init for a lost GPU is quiet.
        news = self._down_key is not None or not self._ever_up
        if self._down_key is not None:
            self.health.forget(self._down_key)
            self._down_key = None
        self._ever_up = True
        log.log(logging.INFO if news else logging.DEBUG, "NVML up: %d GPU(s), driver %s, CUDA %s",
                len(self.reader.devices), self.session.driver_version or "?",
                self.session.cuda_version or "?")  # fmt: skip
        if self.xid is not None:
            self.xid.ensure_running()

    # --- the prometheus_client collector --------------------------------------------------------

    def describe(self) -> Iterator[Metric]:
        """The families this collector may yield, so the registry can catch name clashes
        without a collection."""
        for spec in GPU_SPECS:
            yield metric_family(spec)

    def collect(self) -> Iterator[Metric]:
        """The scrape path: the reader built every label tuple and the info labels already."""
        snap = self._snapshot
        families: dict[str, Family] = {}

        def family(spec: MetricSpec) -> Family:
            found = families.get(spec.name)
            if found is None:
                found = families[spec.name] = metric_family(spec)
            return found

        def add(spec: MetricSpec, labels: tuple[str, ...], value: float) -> None:
            add_sample(family(spec), labels, value)

        fresh = snap.finished is not None and (
            self._monotonic() - snap.finished <= self._stale_after
        )
        answering = snap.nvml_up and fresh and not self._hung
        add(catalog.GPU_NVML_UP, (), 1.0 if answering else 0.0)
        if snap.devices is not None:
            add(catalog.GPU_DEVICES, (), snap.devices)
        if snap.duration is not None:
            add(catalog.GPU_COLLECTION_DURATION, (), snap.duration)
        if snap.success_time is not None:
            add(catalog.GPU_LAST_SUCCESS, (), snap.success_time)
        if snap.calls is not None:
            add(catalog.GPU_NVML_CALLS, (), snap.calls)
        for cls, count in sorted(self.health.failures().items()):
            add(catalog.GPU_COLLECTION_FAILURES, (cls,), count)
        if fresh:
            for gpu in snap.gpus:
                add(catalog.GPU_UP, gpu.key, 1.0 if gpu.up else 0.0)
                for spec, info in gpu.info:
                    add_sample(family(spec), (), info)
                for spec, labels, value in gpu.samples:
                    add(spec, labels, value)
        for labels, xids, seen in self.xid_counts.items():
            add(catalog.GPU_XID_ERRORS, labels, xids)
            add(catalog.GPU_XID_LAST_SEEN, labels, seen)
        for spec in GPU_SPECS:  # catalog order, so the exposition reads like the reference
            if spec.name in families:
                yield families[spec.name]

    @property
    def hung(self) -> bool:
        return self._hung
