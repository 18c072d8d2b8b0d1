"""The GPU collector's own health: failures counted by class, each kind of problem logged once."""

from __future__ import annotations

import logging
import threading
from collections import Counter

log = logging.getLogger("llm_exporter.gpu")

# Present at 0 from the first scrape, so rate() and increase() see the first failure too.
SEEDED_CLASSES = (
    "gpu_is_lost",
    "timeout",
    "library_not_found",
    "driver_not_loaded",
    "not_found",
    "no_permission",
    "unknown",
    "internal",
)


class Health:
    """Thread-safe failure counts plus log-once bookkeeping (the poller, its watchdog and the
    XID watcher all report here; scrapes only read the counts)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: Counter[str] = Counter(dict.fromkeys(SEEDED_CLASSES, 0))
        self._logged: set[str] = set()

    def fail(self, error_class: str, message: str | None = None, key: str | None = None) -> None:
        """Count one failure; log ``message`` the first time ``key`` (default: the class) is
        seen, and only at debug level after that."""
        with self._lock:
            self._failures[error_class] += 1
        if message is not None:
            self.once(key or error_class, message)

    def once(self, key: str, message: str, level: int = logging.WARNING) -> None:
        with self._lock:
            first = key not in self._logged
            self._logged.add(key)
        log.log(level if first else logging.DEBUG, "%s", message)

    def forget(self, key: str) -> None:
        """Let ``key`` log again: the problem went away, so its return is news."""
        with self._lock:
            self._logged.discard(key)

    def failures(self) -> dict[str, int]:
        with self._lock:
            return dict(self._failures)
