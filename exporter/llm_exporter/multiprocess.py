"""prometheus_client's multiprocess mode, for gunicorn and uvicorn workers.

Set ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder every worker can write, in the environment
the server starts with: prometheus_client reads it once, when it is first imported. Each process
then writes its values to mmap'd files there, and whichever process serves /metrics merges them
with ``registry()``. What changes in this mode:

- counters and histograms are summed over processes, exited ones included;
- a gauge merges as its catalog spec's ``multiprocess_mode`` says (the label guard's gauges take
  the fullest live process, the judge queue the sum of the live ones);
- info metrics become gauges of value 1 with the same name and labels (prometheus_client's Info
  cannot be shared); a changed value leaves the old label set behind at 0;
- exemplars are dropped: the files have no room for them;
- series cannot be removed: ``remove()`` and ``clear()`` act on one process's memory only;
- the label guard caps each process on its own, so a family can reach workers x cap series.

A process that cannot write the folder (missing, not writable, disk full) keeps serving its
application: the failed write is counted in ``catalog.INSTRUMENTATION_ERRORS`` and
logged once, in the shared files when they still take it, otherwise in the process's memory,
which ``registry()`` adds when that process serves the scrape.
"""

from __future__ import annotations

import collections
import errno
import glob
import logging
import os
import threading
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.samples import Sample

from . import catalog

ENV = "PROMETHEUS_MULTIPROC_DIR"
log = logging.getLogger("llm_exporter")


def active() -> bool:
    """Whether prometheus_client runs in multiprocess mode in this process (decided when it was
    imported, so setting the variable later changes nothing)."""
    from prometheus_client import values

    return values.ValueClass is not values.MutexValue


def directory() -> str | None:
    return os.environ.get(ENV) or None


# -- serving: the merged view ---------------------------------------------------------------------


def registry(path: str | None = None) -> CollectorRegistry:
    """A fresh registry holding every process's values: serve this one on /metrics (never the
    default registry, whose objects hold only this process's share)."""
    reg = CollectorRegistry()
    reg.register(MergedCollector(path))
    return reg


class MergedCollector:
    """prometheus_client's MultiProcessCollector, made to keep serving when the folder does: a
    missing folder yields nothing, an unreadable file is skipped (and logged once) instead of
    failing the whole scrape, and this process's unstored faults are added. A skipped file is
    left out of later scrapes until its size changes, so it costs one read, not three a scrape."""

    def __init__(self, path: str | None = None) -> None:
        self._path = path
        self._skipped: dict[str, int] = {}  # unreadable file -> its size then

    def collect(self) -> Iterable[Metric]:
        from prometheus_client.multiprocess import MultiProcessCollector

        path = self._path or directory()
        files = sorted(glob.glob(os.path.join(path, "*.db"))) if path else []
        skipped = self._skipped
        files = [f for f in files if f not in skipped or skipped[f] != _size(f)]
        try:
            merged = list(MultiProcessCollector.merge(files, accumulate=True))
        except Exception:
            merged = list(MultiProcessCollector.merge(self._readable(files), accumulate=True))
        return _add_unstored(merged)

    def _readable(self, files: list[str]) -> list[str]:
        from prometheus_client.mmap_dict import MmapedDict

        good = []
        for name in files:
            try:
                for _ in MmapedDict.read_all_values_from_file(name):
                    pass
                good.append(name)
            except Exception as exc:
                if name not in self._skipped:
                    log.warning("llm-exporter skips unreadable multiprocess file %s: %r", name, exc)
                self._skipped[name] = _size(name)
        return good


def _size(name: str) -> int:
    try:
        return os.path.getsize(name)
    except OSError:
        return -1


# -- faults that could not be written to the folder ----------------------------------------------

_unstored: collections.Counter[tuple[str, str]] = collections.Counter()
_unstored_lock = threading.Lock()


def count_unstored(component: str, error_class: str) -> None:
    """A fault whose count the shared files would not take: kept in this process's memory."""
    with _unstored_lock:
        _unstored[(component, error_class)] += 1


def unstored() -> dict[tuple[str, str], int]:
    with _unstored_lock:
        return dict(_unstored)


def _add_unstored(merged: list[Metric]) -> list[Metric]:
    extra = unstored()
    if not extra:
        return merged
    spec = catalog.INSTRUMENTATION_ERRORS
    family = next((m for m in merged if m.name == spec.base_name), None)
    if family is None:
        family = CounterMetricFamily(spec.base_name, spec.help, labels=spec.labels)
        merged.append(family)
    samples: list[Sample] = []
    for sample in family.samples:
        key = (sample.labels.get(spec.labels[0], ""), sample.labels.get(spec.labels[1], ""))
        if sample.name == spec.name and key in extra:
            sample = sample._replace(value=sample.value + extra.pop(key))
        samples.append(sample)
    for (component, error_class), count in extra.items():
        labels = dict(zip(spec.labels, (component, error_class), strict=True))
        samples.append(Sample(spec.name, labels, float(count), None, None))
    family.samples = samples
    return merged


# -- set-up and clean-up --------------------------------------------------------------------------


def clean(path: str | None = None) -> None:
    """Empty the folder (creating it if needed) before any worker starts: files of a previous
    run would otherwise be summed into this one."""
    path = path or directory()
    if not path:
        raise ValueError(f"{ENV} is not set")
    os.makedirs(path, exist_ok=True)
    for name in glob.glob(os.path.join(path, "*.db")):
        os.remove(name)


def mark_process_dead(pid: int, path: str | None = None) -> None:
    """Drop an exited process's live gauges (its counters and histograms stay in the sums)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, path or directory())


def on_starting(server: Any) -> None:
    """gunicorn server hook: an empty folder for this run."""
    clean()


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn server hook: a worker exited (or was killed); drop its live gauges."""
    mark_process_dead(worker.pid)


# -- writing: no SIGBUS on a full disk ------------------------------------------------------------

_guard_lock = threading.Lock()
_guarded = False


def guard_storage() -> bool:
    """Make prometheus_client allocate its files' blocks before it maps them.

    prometheus_client grows a file with truncate(), which leaves a hole, then writes to the mapped
    pages: on a full disk the kernel has no block for the page and kills the process with SIGBUS,
    which no except clause can catch. With the blocks allocated first (posix_fallocate), a full
    disk is an OSError (ENOSPC) at the write that needed the space, which the recording path
    counts like any fault. Installed once per process, before the first file is opened; returns
    whether the guard is in place.
    """
    global _guarded
    with _guard_lock:
        if _guarded:
            return True
        from prometheus_client import mmap_dict, values

        base = getattr(values, "MmapedDict", None)
        if not hasattr(os, "posix_fallocate") or base is None \
                or not hasattr(base, "_init_value"):  # fmt: skip
            log.debug("llm-exporter cannot pre-allocate multiprocess files here")
            return False
        setattr(values, "MmapedDict", _allocating(base, mmap_dict._INITIAL_MMAP_SIZE))  # noqa: B010
        _guarded = True
        return True


def _fallocate(fd: int, size: int) -> None:
    """The boundary to the file system (a test replaces it to stage a full disk)."""
    os.posix_fallocate(fd, 0, size)


def _allocate(fd: int, size: int) -> None:
    try:
        _fallocate(fd, size)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            return  # a file system without fallocate: behave as prometheus_client does
        raise


def _allocate_file(filename: str, initial: int) -> None:
    existed = os.path.exists(filename)
    fd = os.open(filename, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _allocate(fd, max(initial, os.fstat(fd).st_size))
    except OSError:
        if not existed:  # an empty file would break every scrape's merge
            os.unlink(filename)
        raise
    finally:
        os.close(fd)


def _entry_size(key: str) -> int:
    """Bytes prometheus_client's MmapedDict appends for a key: length, padded key, 2 doubles."""
    encoded = len(key.encode("utf-8"))
    return 4 + encoded + (8 - (encoded + 4) % 8) + 16


def _allocating(base: type, initial: int) -> type:
    class AllocatingMmapedDict(base):
        def __init__(self, filename: str, read_mode: bool = False) -> None:
            if not read_mode:
                _allocate_file(filename, initial)
            super().__init__(filename, read_mode)

        def _init_value(self, key: str) -> None:
            capacity = self._capacity
            while self._used + _entry_size(key) > capacity:
                capacity *= 2
            if capacity != self._capacity:
                _allocate(self._f.fileno(), capacity)
            super()._init_value(key)

    return AllocatingMmapedDict


# Importing this module early (a gunicorn.conf.py does) guards every file the workers open,
# the application's own metrics' included, not only those opened after llm-exporter's first use.
if active():
    guard_storage()
