"""Simulator knobs: one dataclass, validated on construction, merged from JSON patches."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Order matters: one random roll walks these cumulatively, so the rates are exclusive.
ERROR_CLASSES: tuple[str, ...] = (
    "rate_limit",
    "server_error",
    "timeout",
    "context_length_exceeded",
    "auth",
    "content_filter",
    "malformed_json",
)

# Request model -> the dated snapshot name the real API reports back in `model`.
DEFAULT_RESPONSE_MODELS: dict[str, str] = {
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "gpt-4-turbo": "gpt-4-turbo-2024-04-09",
    "gpt-3.5-turbo": "gpt-3.5-turbo-0125",
    "o3-mini": "o3-mini-2025-01-31",
    "o4-mini": "o4-mini-2025-04-16",
}

DEFAULT_CONTEXT_WINDOWS: dict[str, int] = {
    "gpt-4o": 128_000,
    "gpt-4o-mini": 128_000,
    "gpt-4.1": 1_047_576,
    "gpt-4.1-mini": 1_047_576,
    "gpt-4.1-nano": 1_047_576,
    "gpt-4-turbo": 128_000,
    "gpt-3.5-turbo": 16_385,
    "o3-mini": 200_000,
    "o4-mini": 200_000,
    "text-embedding-3-small": 8_191,
    "text-embedding-3-large": 8_191,
    "text-embedding-ada-002": 8_191,
}


@dataclass
class SimulatorConfig:
    """Every knob of the simulator; defaults answer instantly so tests stay fast.

    Treat instances as immutable: the server swaps in a new one on each update, so a request
    in flight keeps a consistent snapshot.
    """

    # Delay before the response starts: latency_s + latency_jitter_s * lognormal(0, sigma).
    latency_s: float = 0.0
    latency_jitter_s: float = 0.0
    latency_sigma: float = 0.5
    seed: int | None = None
    # Generation time: first_chunk_delay_s, then inter_chunk_s between content tokens.
    first_chunk_delay_s: float = 0.0
    inter_chunk_s: float = 0.0
    # Visible output tokens: a fixed count, or (min, max) drawn uniformly per request.
    output_tokens: int | tuple[int, int] = 16
    # Hidden reasoning tokens added to completion/output usage (not streamed).
    reasoning_tokens: int = 0
    # Share of prompt tokens reported as cached (prompt_tokens_details.cached_tokens).
    cached_prompt_fraction: float = 0.0
    embedding_dim: int = 8
    response_models: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_RESPONSE_MODELS))
    # Request model (or "*" for all) -> response model, overriding response_models.
    model_switch: dict[str, str] = field(default_factory=dict)
    context_windows: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_CONTEXT_WINDOWS))
    default_context_window: int = 128_000
    # Error class -> probability per request; see ERROR_CLASSES.
    error_rates: dict[str, float] = field(default_factory=dict)
    retry_after_s: float = 0.0
    timeout_sleep_s: float = 30.0
    # malformed_json normally hits only requests that ask for JSON output; this widens it.
    malformed_json_any_request: bool = False
    # Answer 400 to any request with stream_options, as older Azure OpenAI API versions did.
    reject_stream_options: bool = False
    # A JSON-schema request gets an object of the schema's shape; its numbers (a judge's
    # scores) are drawn from normal(score, score_jitter), clipped to 0..1.
    score: float = 0.9
    score_jitter: float = 0.05

    def __post_init__(self) -> None:
        for name in (
            "latency_s",
            "latency_jitter_s",
            "latency_sigma",
            "first_chunk_delay_s",
            "inter_chunk_s",
            "retry_after_s",
            "timeout_sleep_s",
            "score_jitter",
        ):
            setattr(self, name, _non_negative_float(name, getattr(self, name)))
        self.cached_prompt_fraction = _fraction(
            "cached_prompt_fraction", self.cached_prompt_fraction
        )
        self.score = _fraction("score", self.score)
        if self.seed is not None:
            _int("seed", self.seed, minimum=None)
        _int("reasoning_tokens", self.reasoning_tokens)
        _int("embedding_dim", self.embedding_dim, minimum=1)
        _int("default_context_window", self.default_context_window, minimum=1)
        self.output_tokens = _output_tokens(self.output_tokens)
        for name in ("malformed_json_any_request", "reject_stream_options"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}: expected a boolean")
        self.response_models = _str_map("response_models", self.response_models)
        self.model_switch = _str_map("model_switch", self.model_switch)
        self.context_windows = {
            k: _int(f"context_windows[{k!r}]", v, minimum=1)
            for k, v in _mapping("context_windows", self.context_windows).items()
        }
        rates = _mapping("error_rates", self.error_rates)
        for key in rates:
            if key not in ERROR_CLASSES:
                raise ValueError(f"error_rates: unknown error class {key!r}")
        self.error_rates = {k: _fraction(f"error_rates[{k!r}]", v) for k, v in rates.items() if v}
        if sum(self.error_rates.values()) > 1.0 + 1e-9:
            raise ValueError("error_rates: probabilities add up to more than 1")

    def merge(self, patch: Mapping[str, Any]) -> SimulatorConfig:
        """A new config with `patch` applied; dict knobs merge key by key, null deletes a key.

        Raises ValueError naming the offending knob.
        """
        if not isinstance(patch, Mapping):
            raise ValueError("config patch: expected a JSON object")
        changes: dict[str, Any] = {}
        for name, value in patch.items():
            if name not in _FIELDS:
                raise ValueError(f"{name}: unknown knob")
            current = getattr(self, name)
            if isinstance(current, dict):
                if not isinstance(value, Mapping):
                    raise ValueError(f"{name}: expected a JSON object")
                merged = dict(current)
                for k, v in value.items():
                    if v is None:
                        merged.pop(k, None)
                    else:
                        merged[k] = v
                value = merged
            changes[name] = value
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        if isinstance(self.output_tokens, tuple):
            data["output_tokens"] = list(self.output_tokens)
        return data


_FIELDS = frozenset(f.name for f in dataclasses.fields(SimulatorConfig))


def parse_output_tokens(text: str) -> int | tuple[int, int]:
    """CLI form of output_tokens: "N" or "MIN-MAX"."""
    lo, sep, hi = text.partition("-")
    try:
        return _output_tokens((int(lo), int(hi)) if sep else int(lo))
    except (TypeError, ValueError) as err:
        raise ValueError(f"output_tokens: expected N or MIN-MAX, got {text!r}") from err


def _non_negative_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name}: expected a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")
    return float(value)


def _fraction(name: str, value: Any) -> float:
    value = _non_negative_float(name, value)
    if value > 1:
        raise ValueError(f"{name}: expected a probability in [0, 1], got {value!r}")
    return value


def _int(name: str, value: Any, minimum: int | None = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}: expected an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return value


def _output_tokens(value: Any) -> int | tuple[int, int]:
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"output_tokens: expected [min, max], got {value!r}")
        lo, hi = (_int("output_tokens", v) for v in value)
        if lo > hi:
            raise ValueError(f"output_tokens: min {lo} is above max {hi}")
        return (lo, hi)
    return _int("output_tokens", value)


def _mapping(name: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ValueError(f"{name}: expected an object with string keys")
    return value


def _str_map(name: str, value: Any) -> dict[str, str]:
    value = _mapping(name, value)
    for k, v in value.items():
        if not isinstance(v, str) or not v:
            raise ValueError(f"{name}[{k!r}]: expected a non-empty string, got {v!r}")
    return dict(value)
