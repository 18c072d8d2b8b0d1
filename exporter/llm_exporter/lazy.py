"""A process-wide value built on first use: the default metrics, tracker and settings."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Lazy(Generic[T]):
    """Builds its value once, on the first ``get()``, even when threads race for it; ``set()``
    replaces it (a ``configure_*`` call)."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        value = self._value
        if value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
                value = self._value
        return value

    def set(self, value: T) -> T:
        with self._lock:
            self._value = value
        return value
