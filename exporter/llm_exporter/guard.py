"""The label guard: keeps every metric family's series count bounded.

A family admits at most ``max_label_sets`` distinct label sets, the overflow set included: once
``max_label_sets - 1`` real sets exist, any new set is recorded under a set whose every value is
``other``, and counted. Label values longer than ``max_value_length`` are cut. So a bug that puts a
user id into a model label costs one extra series, not a million.

The hot path is one dict lookup of the caller's value tuple; only a set not seen before takes the
lock. The cache holds admitted sets only, so a flood of distinct values cannot grow memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .catalog import MetricSpec
from .envsettings import settings_from_env

OVERFLOW_VALUE = "other"


@dataclass(frozen=True)
class GuardSettings:
    max_label_sets: int = 1000
    max_value_length: int = 128

    def __post_init__(self) -> None:
        if self.max_label_sets < 2:
            raise ValueError(f"max_label_sets must be at least 2, got {self.max_label_sets}")
        if self.max_value_length < 1:
            raise ValueError(f"max_value_length must be at least 1, got {self.max_value_length}")

    def cap_for(self, spec: MetricSpec) -> int:
        """A family's cap on label sets: the catalog's where it sets one, else this one."""
        return spec.max_label_sets or self.max_label_sets

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> GuardSettings:
        """Read LLM_EXPORTER_MAX_LABEL_SETS and LLM_EXPORTER_MAX_LABEL_VALUE_LENGTH."""
        return settings_from_env(cls, {
            "max_label_sets": ("LLM_EXPORTER_MAX_LABEL_SETS", int),
            "max_value_length": ("LLM_EXPORTER_MAX_LABEL_VALUE_LENGTH", int)}, environ)  # fmt: skip


class GuardedFamily:
    """A labelled prometheus_client metric behind the guard. ``labels(*values)`` returns the
    child to record on; callers on a hot path keep the child (it stays valid)."""

    def __init__(
        self,
        spec: MetricSpec,
        metric: Any,
        settings: GuardSettings,
        on_fold: Callable[[], None],
        on_truncate: Callable[[], None],
        on_new_set: Callable[[int], None],
    ) -> None:
        self.spec = spec
        self.metric = metric
        self.cap = settings.cap_for(spec)
        self._max_len = settings.max_value_length
        self._children: dict[tuple[Any, ...], Any] = {}
        self._real_sets = 0
        self._overflow_key = (OVERFLOW_VALUE,) * len(spec.labels)
        self._lock = threading.Lock()
        self._on_fold = on_fold
        self._on_truncate = on_truncate
        self._on_new_set = on_new_set

    def labels(self, *values: Any) -> Any:
        child = self._children.get(values)
        if child is not None:
            return child
        return self._admit(values)

    def _admit(self, values: tuple[Any, ...]) -> Any:
        if len(values) != len(self.spec.labels):
            raise ValueError(
                f"{self.spec.name} takes labels {self.spec.labels}, got {len(values)} values"
            )
        clean = tuple(self._clip(v) for v in values)
        with self._lock:
            child = self._children.get(clean)
            if child is not None:
                return child
            if self._real_sets >= self.cap - 1 and clean != self._overflow_key:
                self._on_fold()
                return self._overflow_child()
            child = self.metric.labels(*clean)
            self._children[clean] = child
            if clean != self._overflow_key:
                self._real_sets += 1
            self._on_new_set(len(self._children))
            return child

    def _overflow_child(self) -> Any:
        child = self._children.get(self._overflow_key)
        if child is None:
            child = self.metric.labels(*self._overflow_key)
            self._children[self._overflow_key] = child
            self._on_new_set(len(self._children))
        return child

    def _clip(self, value: Any) -> str:
        text = value if isinstance(value, str) else ("" if value is None else str(value))
        if len(text) > self._max_len:
            self._on_truncate()
            return text[: self._max_len]
        return text

    @property
    def label_set_count(self) -> int:
        return len(self._children)
