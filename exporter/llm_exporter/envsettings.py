"""Settings from LLM_EXPORTER_* environment variables: one reader, one shape of error."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")

_EXPECTED = {int: "an integer", float: "a number"}


def read_env(
    wanted: Mapping[str, tuple[str, Callable[[str], Any]]], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """``{attr: parse(value)}`` for each ``attr: (variable, parse)`` whose variable is set in
    ``environ`` (default: the process's); a value ``parse`` refuses is a ValueError that names
    the variable."""
    env = os.environ if environ is None else environ
    found: dict[str, Any] = {}
    for attr, (name, parse) in wanted.items():
        if name not in env:
            continue
        try:
            found[attr] = parse(env[name])
        except ValueError as exc:
            expected = _EXPECTED.get(parse)  # type: ignore[call-overload]
            reason = f"must be {expected}, got {env[name]!r}" if expected else f": {exc}"
            raise ValueError(f"{name} {reason}".replace(" :", ":")) from None
    return found


def settings_from_env(
    cls: Callable[..., T],
    wanted: Mapping[str, tuple[str, Callable[[str], Any]]],
    environ: Mapping[str, str] | None = None,
) -> T:
    """``cls(**read_env(wanted, environ))``; a value ``cls`` refuses (out of range) is a
    ValueError that names the variable it came from, not only the field."""
    values = read_env(wanted, environ)
    try:
        return cls(**values)
    except ValueError as exc:
        field = str(exc).split(" ", 1)[0]
        if field in values:
            raise ValueError(f"{wanted[field][0]}: {exc}") from None
        raise
