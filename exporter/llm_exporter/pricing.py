"""The model table: per-model prices (USD per million tokens) and context windows.

Loaded once at set-up from the shipped models.yaml, then a user's file merged over it. Lookups are
cached per model name, so the per-call cost is one dict hit; the snapshot-suffix regex runs once
per distinct model name, never per call.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .yamlfile import parse_yaml, read_yaml

PER_MILLION = 1_000_000.0
# gpt-4o-2024-08-06, gpt-4-0613, o3-mini-2025-01-31: a dated snapshot of a base model.
_SNAPSHOT = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")
_PRICE_KEYS = ("input", "cached_input", "output")
_KEYS = {*_PRICE_KEYS, "context_window", "source", "date"}


@dataclass(frozen=True)
class ModelInfo:
    name: str
    input: float | None = None
    cached_input: float | None = None
    output: float | None = None
    context_window: int | None = None
    source: str = ""
    date: str = ""

    @property
    def priced(self) -> bool:
        return self.input is not None

    def cost(self, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> float:
        """USD for one call. Cached input is billed at its own price where the table has one."""
        assert self.input is not None
        cached = min(cached_tokens, input_tokens) if self.cached_input is not None else 0
        total = (input_tokens - cached) * self.input
        if cached:
            total += cached * self.cached_input  # type: ignore[operator]
        if output_tokens and self.output is not None:
            total += output_tokens * self.output
        return total / PER_MILLION


class ModelTable:
    def __init__(self, models: dict[str, ModelInfo]) -> None:
        self._models = models
        self._resolved: dict[str, ModelInfo | None] = {}

    @classmethod
    def load(cls, user_file: str | Path | None = None) -> ModelTable:
        """The shipped table, with ``user_file`` (default: $LLM_EXPORTER_MODELS) merged over it."""
        user_file = user_file or os.environ.get("LLM_EXPORTER_MODELS") or None
        shipped = resources.files("llm_exporter").joinpath("models.yaml")
        models = _parse(parse_yaml(shipped.read_text(), "llm_exporter/models.yaml"), "models.yaml")
        if user_file is not None:
            models.update(_parse(read_yaml(user_file), str(user_file)))
        return cls(models)

    def lookup(self, model: str) -> ModelInfo | None:
        """The entry for ``model``, or for its base model when it is a dated snapshot."""
        try:
            return self._resolved[model]
        except KeyError:
            pass
        info = self._models.get(model)
        if info is None:
            base = _SNAPSHOT.sub("", model)
            info = self._models.get(base) if base != model else None
        if len(self._resolved) < 10_000:  # bounded: model names come from responses
            self._resolved[model] = info
        return info

    def __contains__(self, model: str) -> bool:
        return self.lookup(model) is not None

    def names(self) -> list[str]:
        return sorted(self._models)


def _parse(data: Any, src: str) -> dict[str, ModelInfo]:
    if (
        not isinstance(data, dict)
        or set(data) != {"models"}
        or not isinstance(data.get("models"), dict)
    ):
        raise ConfigError(src, None, "expected a mapping with one key, models: {name: {...}}")
    out: dict[str, ModelInfo] = {}
    for name, entry in data["models"].items():
        key = f"models.{name}"
        if not isinstance(entry, dict):
            raise ConfigError(src, key, "expected a mapping of prices and context_window")
        unknown = set(entry) - _KEYS
        if unknown:
            expected = ", ".join(sorted(_KEYS))
            problem = f"unknown key (expected one of: {expected})"
            raise ConfigError(src, f"{key}.{sorted(unknown)[0]}", problem)
        fields: dict[str, Any] = {"name": str(name)}
        for price in _PRICE_KEYS:
            if price in entry:
                fields[price] = _number(src, f"{key}.{price}", entry[price])
        if ("output" in fields or "cached_input" in fields) and "input" not in fields:
            raise ConfigError(src, f"{key}.input", "required when other prices are given")
        if "context_window" in entry:
            window = entry["context_window"]
            if not isinstance(window, int) or isinstance(window, bool) or window <= 0:
                raise ConfigError(src, f"{key}.context_window", "expected a positive integer")
            fields["context_window"] = window
        for text_key in ("source", "date"):
            if text_key in entry:
                if isinstance(entry[text_key], (list, dict)):  # a date may be a YAML date
                    raise ConfigError(src, f"{key}.{text_key}", "expected a string")
                fields[text_key] = str(entry[text_key])
        if "input" in fields and not fields.get("source"):
            raise ConfigError(src, f"{key}.source", "every price needs a source (where it is from)")
        out[str(name)] = ModelInfo(**fields)
    return out


def _number(src: str, key: str, value: Any) -> float:
    number = math.nan
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        with contextlib.suppress(OverflowError):
            number = float(value)
    # NaN or an infinite price would turn every cost counter it touches into NaN or +Inf.
    if not (math.isfinite(number) and number >= 0):
        problem = (
            f"expected a finite non-negative number (USD per million tokens), got {value!r:.40}"
        )
        raise ConfigError(src, key, problem)
    return number
