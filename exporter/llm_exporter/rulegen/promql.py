"""Small PromQL builders, and the check of a user's label selector.

Every metric name comes from a catalog spec, never typed here; selectors from the thresholds
file are parsed strictly, so a typo fails at generation time with the key named instead of
inside Prometheus at load time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_OP = re.compile(r"=~|!~|!=|=")
_DURATION = re.compile(r"^(?:\d+(?:ms|[smhdwy]))+$")
_DURATION_PART = re.compile(r"(\d+)(ms|[smhdwy])")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
# Days left in the month (UTC), today's remaining hours included, as a scalar: what a daily
# rate is multiplied by to forecast the month's end (the forecast alert and the cost dashboard).
REMAINING_DAYS_IN_MONTH = "(scalar(days_in_month() - day_of_month()) + 1 - time() % 86400 / 86400)"


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    value: str

    def render(self) -> str:
        return f"{self.label}{self.op}{string(self.value)}"


def string(value: str) -> str:
    """A PromQL double-quoted string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def parse_selector(text: str) -> tuple[Matcher, ...]:
    """``job="app", env=~"prod|staging"`` (braces optional) into matchers; ValueError saying
    what is wrong and where."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1].strip()
    matchers: list[Matcher] = []
    pos = 0
    while pos < len(body):
        pos = _skip_space(body, pos)
        label = _LABEL.match(body, pos)
        if label is None:
            raise ValueError(f"expected a label name at character {pos + 1}: {body[pos:]!r}")
        pos = _skip_space(body, label.end())
        op = _OP.match(body, pos)
        if op is None:
            raise ValueError(f"expected =, !=, =~ or !~ after {label.group()!r}")
        pos = _skip_space(body, op.end())
        value, pos = _string(body, pos, label.group())
        if op.group() in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"bad regular expression for {label.group()!r}: {exc}") from None
        matchers.append(Matcher(label.group(), op.group(), value))
        pos = _skip_space(body, pos)
        if pos < len(body):
            if body[pos] != ",":
                raise ValueError(f"expected ',' between matchers at character {pos + 1}")
            pos += 1
    return tuple(matchers)


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _string(text: str, pos: int, label: str) -> tuple[str, int]:
    if pos >= len(text) or text[pos] not in "\"'`":
        raise ValueError(f"expected a quoted value for {label!r}")
    quote, pos = text[pos], pos + 1
    out: list[str] = []
    while pos < len(text):
        ch = text[pos]
        if ch == quote:
            return "".join(out), pos + 1
        if ch == "\\" and quote != "`" and pos + 1 < len(text):
            nxt = text[pos + 1]
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
            pos += 2
            continue
        out.append(ch)
        pos += 1
    raise ValueError(f"unterminated value for {label!r}")


def parse_duration(text: str) -> float:
    """Prometheus duration (``90s``, ``1h30m``, ``7d``) in seconds; ValueError otherwise."""
    if not isinstance(text, str) or not _DURATION.match(text):
        raise ValueError(f"expected a duration like 30s, 5m or 7d, got {text!r}")
    return sum(int(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(text))


def selector(name: str, base: Iterable[Matcher], *extra: Matcher) -> str:
    """``name{base..., extra...}``; an extra matcher on a label the base also sets is added too,
    which PromQL reads as both must hold."""
    parts = [m.render() for m in (*base, *extra)]
    return f"{name}{{{','.join(parts)}}}" if parts else name


def eq(label: str, value: str) -> Matcher:
    return Matcher(label, "=", value)


def ne(label: str, value: str) -> Matcher:
    return Matcher(label, "!=", value)


def re_in(label: str, values: Iterable[str]) -> Matcher:
    return Matcher(label, "=~", "|".join(re.escape(v) for v in values))


def not_in(label: str, values: Iterable[str]) -> tuple[Matcher, ...]:
    """No matcher at all for an empty list (a ``!~""`` would exclude the empty value)."""
    values = list(values)
    return (Matcher(label, "!~", "|".join(re.escape(v) for v in values)),) if values else ()


def le(bound: float) -> Matcher:
    """The bucket whose upper bound is ``bound``, however the producer wrote it: prometheus_client
    writes ``3.0``, OTel exporters ``3``, both ``5.12``."""
    text = repr(float(bound))
    whole = text.removesuffix(".0")
    if whole != text:
        return Matcher("le", "=~", f"{re.escape(whole)}(\\.0+)?")
    return Matcher("le", "=~", re.escape(text))


def by(labels: Iterable[str]) -> str:
    return f"by ({', '.join(labels)})"


def on(labels: Iterable[str]) -> str:
    return f"on ({', '.join(labels)})"


def number(value: float) -> str:
    """A float as PromQL takes it, without noise: 0.05, 14.4, 3."""
    return repr(float(value)).removesuffix(".0")


def fill_label(expr: str, label: str, fallback: str) -> str:
    """``expr`` with ``label`` taken from ``fallback`` on the series that lack it; a series that
    has ``label`` keeps its own value. label_join writes "own;fallback", then label_replace keeps
    the part before the ";" if there is one, else the part after it."""
    joined = f'label_join({expr}, {string(label)}, ";", {string(label)}, {string(fallback)})'
    return (f"label_replace({joined}, {string(label)}, \"${{1}}${{2}}\", {string(label)}, "
            f'"([^;]+);.*|;(.*)")')  # fmt: skip


def relabel_values(expr: str, label: str, aliases: Mapping[str, Iterable[str]]) -> str:
    """``expr`` with every alias of a value of ``label`` rewritten to that value. The original
    value is kept in ``<label>_original``, so two series that differ only by aliases of one value
    stay two series until the caller aggregates them."""
    if not any(n != value for value, names in aliases.items() for n in names):
        return expr
    keep = string(label + "_original")
    expr = f'label_replace({expr}, {keep}, "$1", {string(label)}, "(.+)")'
    for value, names in aliases.items():
        others = [n for n in names if n != value]
        if others:
            regex = "|".join(re.escape(n) for n in others)
            expr = (f"label_replace({expr}, {string(label)}, {string(value)}, {string(label)}, "
                    f"{string(regex)})")  # fmt: skip
    return expr
