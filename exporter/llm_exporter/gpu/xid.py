"""XID errors from NVML's event API, counted the moment they arrive.

A daemon thread registers every GPU for critical XID events and blocks in nvmlEventSetWait_v2
(a bounded wait, so it notices shutdown and NVML re-initialisation). Counts live here, outside
the collection snapshot, so every event between two scrapes is in the next one. The thread runs
only while the current NVML session has something to watch: no GPU that supports the events
means no thread; the poller starts it again after each re-initialisation.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from ..guard import OVERFLOW_VALUE
from .health import Health
from .nvml import UNSUPPORTED_ERRORS, Backoff, Session, as_text, error_class, is_error
from .reader import Device

log = logging.getLogger("llm_exporter.gpu")

# Distinct XID codes kept per GPU; further codes fold into the label guard's overflow value
# ("other"), so labels stay bounded even if a broken driver reports garbage codes.
MAX_XID_CODES = 64


def handle_key(handle: Any) -> Hashable:
    """A hashable identity for a device handle: the pointer value of a pynvml handle (the event
    data carries a new ctypes object for the same device), the object itself otherwise."""
    try:
        return ctypes.cast(handle, ctypes.c_void_p).value
    except (ctypes.ArgumentError, TypeError):
        return id(handle)


class XidCounts:
    """Per GPU and XID code: events seen and the unix time of the last one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, str], list[float]] = {}
        self._codes: dict[str, set[str]] = {}

    def record(self, index: int, uuid: str, code: int, now: float) -> None:
        xid = str(code)
        with self._lock:
            codes = self._codes.setdefault(uuid, set())
            if xid not in codes:
                xid = xid if len(codes) < MAX_XID_CODES else OVERFLOW_VALUE
                codes.add(xid)
            entry = self._counts.setdefault((str(index), uuid, xid), [0.0, 0.0])
            entry[0] += 1
            entry[1] = now

    def items(self) -> list[tuple[tuple[str, str, str], float, float]]:
        """((gpu, uuid, xid), count, last seen) for every code seen, sorted."""
        with self._lock:
            return [(key, count, seen) for key, (count, seen) in sorted(self._counts.items())]


class XidWatcher:
    def __init__(
        self,
        nvml: Any,
        session: Session,
        devices: Callable[[], list[Device]],
        counts: XidCounts,
        health: Health,
        wait_ms: int = 1000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.nvml = nvml
        self.session = session
        self.devices = devices
        self.counts = counts
        self.health = health
        self.wait_ms = wait_ms
        self._clock = clock
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._backoff = Backoff()
        self.watching = 0  # GPUs registered for events right now

    @property
    def running(self) -> bool:
        with self._lock:
            return self._thread is not None

    def ensure_running(self) -> None:
        """Start the thread unless it runs; called after every successful NVML init."""
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="llm-exporter-gpu-xid",
                                                daemon=True)  # fmt: skip
                self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout if timeout is not None else self.wait_ms / 1000 + 2)

    def _run(self) -> None:
        while True:
            with self._lock:  # exit decisions under the lock, so ensure_running cannot miss one
                gen = self.session.generation
                if self._stop.is_set() or not self.session.acquire(gen):
                    self._thread = None
                    return
            try:
                pause = self._watch(gen)
            except Exception as exc:  # never let a fault kill the exporter, count it instead
                self.health.fail(error_class(exc), f"XID watcher failed: {exc!r}", key="xid:run")
                pause = self._backoff.failed()
            finally:
                self.session.release()
            if pause is None:
                with self._lock:
                    self._thread = None
                return
            if pause:  # outside the session use, so a re-initialisation need not wait for it
                self._stop.wait(pause)

    def _watch(self, gen: int) -> float | None:
        """Register the session's GPUs and count events until the session moves on. Returns
        the pause before watching again (after an error), or None when there is nothing to
        watch in this session."""
        nvml = self.nvml
        try:
            event_set = nvml.nvmlEventSetCreate()
        except Exception as exc:
            self._problem(exc, "nvmlEventSetCreate")
            return None
        try:
            watched = self._register(event_set)
            if not watched:
                return None
            self.watching = len(watched)
            while not self._stop.is_set() and self.session.generation == gen:
                try:
                    data = nvml.nvmlEventSetWait_v2(event_set, self.wait_ms)
                except Exception as exc:
                    if is_error(nvml, exc, ("NVMLError_Timeout",)):
                        self._backoff.reset()
                        continue
                    self._problem(exc, "nvmlEventSetWait_v2")
                    # Re-create the event set after a pause rather than spin on the error.
                    return self._backoff.failed()
                self._backoff.reset()
                self._record(data, watched)
            return 0.0
        finally:
            self.watching = 0
            try:
                nvml.nvmlEventSetFree(event_set)
            except Exception as exc:
                log.debug("nvmlEventSetFree failed: %s", exc)

    def _register(self, event_set: Any) -> dict[Hashable, Device]:
        nvml = self.nvml
        watched: dict[Hashable, Device] = {}
        for dev in self.devices():
            try:
                nvml.nvmlDeviceRegisterEvents(dev.handle, nvml.nvmlEventTypeXidCriticalError,
                                              event_set)  # fmt: skip
            except Exception as exc:
                self._problem(exc, f"nvmlDeviceRegisterEvents on GPU {dev.index}")
                continue
            watched[handle_key(dev.handle)] = dev
        if not watched:
            self.health.once("xid:none", "XID events: no GPU supports them; not watching",
                             logging.INFO)  # fmt: skip
        return watched

    def _record(self, data: Any, watched: dict[Hashable, Device]) -> None:
        if not int(data.eventType) & int(self.nvml.nvmlEventTypeXidCriticalError):
            return
        dev = watched.get(handle_key(data.device))
        if dev is None:  # a handle we do not recognise: match it by UUID instead
            try:
                uuid = as_text(self.nvml.nvmlDeviceGetUUID(data.device))
            except Exception:
                uuid = ""
            dev = next((d for d in watched.values() if d.uuid == uuid), None)
        if dev is None:
            self.health.once("xid:unknown-gpu", "XID event from a GPU not being watched: ignored")
            return
        code = int(data.eventData)
        self.counts.record(dev.index, dev.uuid, code, self._clock())
        self.health.once(f"xid:{dev.uuid}:{code}", f"GPU {dev.index} ({dev.uuid}): XID {code} "
                         "(logged once per GPU and code; the counter has them all)")  # fmt: skip

    def _problem(self, exc: Exception, what: str) -> None:
        if is_error(self.nvml, exc, UNSUPPORTED_ERRORS):
            self.health.once(f"xid:unsupported:{what}", f"XID events: {what}: not supported",
                             logging.INFO)  # fmt: skip
            return
        cls = error_class(exc)
        self.health.fail(cls, f"XID events: {what} failed ({exc})", key=f"xid:{cls}:{what}")
