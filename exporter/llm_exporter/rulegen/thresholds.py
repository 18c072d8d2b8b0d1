"""The thresholds file: every knob of the rule pack, its defaults, and its strict validation.

A file may set any subset of the knobs; the rest keep their defaults, which follow the published
figures. ``render_defaults()`` writes the complete file with a comment on every knob (that is
rules/thresholds.yaml). Any mistake is a ConfigError naming the file and the dotted key.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .. import catalog
from ..errors import ConfigError
from ..errortypes import FOREIGN_NAMES
from ..yamlfile import read_yaml
from . import promql
from .model import SEVERITIES, AlertDef, Param
from .promql import Matcher

DEFAULT_RUNBOOK_URL = "https://github.com/llm-exporter/llm-exporter/blob/main/docs/runbook.md"
_PREFIX = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
MAX_INTERVAL_S = 300  # recording rules are evaluated every 5m or less

# Top-level knobs: dotted key -> (default, kind, help).
GLOBALS: dict[str, tuple[Any, str, str]] = {
    "prefix": ("LLM", "prefix", "Prefix of every alert name (CamelCase)."),
    "runbook_url": (
        DEFAULT_RUNBOOK_URL,
        "str",
        "Where docs/runbook.md is published; each alert links to its section.",
    ),
    "selectors.app": (
        "",
        "selector",
        "Label matchers added to every LLM, agent and quality "
        "metric, e.g. 'job=~\"chat-api|agents\"'. Empty: every target.",
    ),
    "selectors.infra": (
        "",
        "selector",
        "Label matchers added to GPU metrics, the targets' up "
        "and build info, and the collectors' own health, e.g. "
        "'job=\"llm-exporter\"'.",
    ),
    "aggregate_by": (
        ["job"],
        "labels",
        "Labels kept in every aggregation besides the model, "
        "tool, stage or agent (add cluster or namespace if you have them).",
    ),
    "evaluation_interval": ("1m", "interval", "How often the recording and alert groups run."),
    "baseline_interval": ("5m", "interval", "How often the baselines are recomputed."),
    "baseline_window": (
        "7d",
        "duration",
        "The window a baseline averages over (7 days, as in the LLM KPI write-ups).",
    ),
    "ignored_error_types": (
        ["cancelled"],
        "list",
        "error_type classes that do not count as "
        "failures (a user abandoning a stream is not an outage).",
    ),
    "producers.provider_label_fallback": (
        "gen_ai_system",
        "label_or_empty",
        "Label read as the provider where " + catalog.PROVIDER + " is absent: producers on the "
        "GenAI conventions before gen_ai.system was renamed (older OpenLIT, the OpenTelemetry "
        "openai instrumentation) write gen_ai_system. Empty: off.",
    ),
    **{
        f"producers.error_type_aliases.{cls}": (
            list(names),
            "list",
            (
                "OpenLIT and the OpenTelemetry instrumentations write the exception's class name "
                "in error_type, some an HTTP status code; the rules read these as the class they "
                "stand for. "
                if i == 0
                else ""
            )
            + f"The values read as {cls}.",
        )
        for i, (cls, names) in enumerate(FOREIGN_NAMES.items())
    },
    "quiet_hours.start": (
        0,
        "hour",
        "Start of the quiet hours, UTC hour 0-23: traffic drops then do not alert.",
    ),
    "quiet_hours.end": (6, "hour", "End of the quiet hours (exclusive); equal to start: none."),
    "budgets.daily_usd": (
        100.0,
        "number",
        "Daily spend budget in US dollars, all models, per "
        "value of aggregate_by (per job by default).",
    ),
    "budgets.team_daily_usd": (
        {},
        "budget_map",
        "Daily budgets in US dollars per team (the team attribution label), e.g. "
        "{search: 50, support: 20}; per value of aggregate_by.",
    ),
    "budgets.team_default_daily_usd": (
        50.0,
        "number",
        "The daily budget of every team not listed in team_daily_usd; 0: none.",
    ),
    "budgets.feature_daily_usd": (
        {},
        "budget_map",
        "Daily budgets in US dollars per feature (the feature attribution label), e.g. "
        "{autocomplete: 5}; per value of aggregate_by.",
    ),
    "budgets.feature_default_daily_usd": (
        25.0,
        "number",
        "The daily budget of every feature not listed in feature_daily_usd; 0: none.",
    ),
    "budgets.user_daily_usd": (
        catalog.DEFAULT_USER_DAILY_CAP_USD,
        "number",
        "Per-user daily cap in US dollars: the top user's spend today (UTC) above it alerts. "
        "Give the application the same cap (LLM_EXPORTER_USER_DAILY_CAP_USD) for its counts of "
        "users over and near it.",
    ),
    "budgets.month_over_month": (
        1.5,
        "factor",
        "Month-to-date spend above this factor of last month's at the same point, or a "
        "month-end forecast above this factor of last month's total, alerts.",
    ),
    "slos.availability.objective": (
        0.99,
        "objective",
        "Share of LLM calls that must succeed, per model.",
    ),
    "slos.latency.objective": (
        0.95,
        "objective",
        "Share of successful LLM calls that must finish under the latency threshold, per model.",
    ),
    "slos.latency.threshold_seconds": (
        5.12,
        "bucket",
        "The latency threshold; must be a bucket "
        "boundary of " + catalog.OPERATION_DURATION.name + ".",
    ),
}


@dataclass(frozen=True)
class AlertSettings:
    """One alert's knobs after the file is applied; params read as attributes (``s.threshold``)."""

    name: str  # with the prefix
    enabled: bool
    severity: str
    for_: str
    keep_firing_for: str | None
    values: Mapping[str, Any]
    config: Config

    def __getattr__(self, key: str) -> Any:
        try:
            return self.values[key]
        except KeyError:
            raise AttributeError(key) from None


@dataclass(frozen=True)
class Config:
    source: str
    prefix: str
    runbook_url: str
    app_selector: tuple[Matcher, ...]
    infra_selector: tuple[Matcher, ...]
    aggregate_by: tuple[str, ...]
    evaluation_interval: str
    baseline_interval: str
    baseline_window: str
    ignored_error_types: tuple[str, ...]
    provider_fallback: str
    error_type_aliases: Mapping[str, tuple[str, ...]]
    quiet_hours: tuple[int, int]
    daily_budget_usd: float
    team_budgets_usd: Mapping[str, float]
    team_default_budget_usd: float
    feature_budgets_usd: Mapping[str, float]
    feature_default_budget_usd: float
    user_daily_cap_usd: float
    month_over_month: float
    availability_objective: float
    latency_objective: float
    latency_threshold_s: float
    alerts: Mapping[str, AlertSettings]

    def ignored_error_values(self) -> tuple[str, ...]:
        """The ignored error classes with every other producer's names for them."""
        values = list(self.ignored_error_types)
        for cls in self.ignored_error_types:
            values += [v for v in self.error_type_aliases.get(cls, ()) if v not in values]
        return tuple(values)


def load(path: str | Path | None, definitions: Sequence[AlertDef]) -> Config:
    """The config from ``path`` (None: the defaults), validated; ConfigError on any mistake."""
    source = str(path) if path is not None else "<defaults>"
    data = read_yaml(path) if path is not None else {}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, None, "expected a mapping of knobs at the top level")
    return _Loader(source, definitions).load(data)


class _Loader:
    def __init__(self, source: str, definitions: Sequence[AlertDef]) -> None:
        self.source = source
        self.definitions = {d.name: d for d in definitions}

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.source, key, problem)

    def load(self, data: dict[str, Any]) -> Config:
        flat = self._flatten_globals(data)
        values = {key: self._global(key, flat.get(key, spec[0])) for key, spec in GLOBALS.items()}
        quiet = (values["quiet_hours.start"], values["quiet_hours.end"])
        config = Config(
            source=self.source,
            prefix=values["prefix"],
            runbook_url=values["runbook_url"],
            app_selector=values["selectors.app"],
            infra_selector=values["selectors.infra"],
            aggregate_by=tuple(values["aggregate_by"]),
            evaluation_interval=values["evaluation_interval"],
            baseline_interval=values["baseline_interval"],
            baseline_window=values["baseline_window"],
            ignored_error_types=tuple(values["ignored_error_types"]),
            provider_fallback=values["producers.provider_label_fallback"],
            error_type_aliases={
                cls: tuple(values[f"producers.error_type_aliases.{cls}"]) for cls in FOREIGN_NAMES
            },
            quiet_hours=quiet,
            daily_budget_usd=values["budgets.daily_usd"],
            team_budgets_usd=values["budgets.team_daily_usd"],
            team_default_budget_usd=values["budgets.team_default_daily_usd"],
            feature_budgets_usd=values["budgets.feature_daily_usd"],
            feature_default_budget_usd=values["budgets.feature_default_daily_usd"],
            user_daily_cap_usd=values["budgets.user_daily_usd"],
            month_over_month=values["budgets.month_over_month"],
            availability_objective=values["slos.availability.objective"],
            latency_objective=values["slos.latency.objective"],
            latency_threshold_s=values["slos.latency.threshold_seconds"],
            alerts={},
        )
        alerts = data.get("alerts") or {}
        if not isinstance(alerts, dict):
            raise self.fail("alerts", "expected a mapping of alert name to its knobs")
        for name in alerts:
            if name not in self.definitions:
                known = ", ".join(sorted(self.definitions))
                raise self.fail(f"alerts.{name}", f"unknown alert (expected one of: {known})")
        settings = {
            name: self._alert(config, definition, alerts.get(name))
            for name, definition in self.definitions.items()
        }
        object.__setattr__(config, "alerts", settings)
        return config

    # -- globals ----------------------------------------------------------------------------

    def _flatten_globals(self, data: dict[str, Any]) -> dict[str, Any]:
        flat: dict[str, Any] = {}
        sections = {key.split(".")[0] for key in GLOBALS} | {"alerts"}
        for key, value in data.items():
            if key not in sections:
                raise self.fail(
                    key, f"unknown key (expected one of: {', '.join(sorted(sections))})"
                )
            if key == "alerts":
                continue
            if any(g.startswith(key + ".") for g in GLOBALS):
                self._flatten_section(key, value, flat)
            else:
                flat[key] = value
        return flat

    def _flatten_section(self, prefix: str, value: Any, flat: dict[str, Any]) -> None:
        if not isinstance(value, dict):
            raise self.fail(prefix, "expected a mapping")
        children = sorted({g[len(prefix) + 1:].split(".")[0] for g in GLOBALS
                           if g.startswith(prefix + ".")})  # fmt: skip
        for key, child in value.items():
            dotted = f"{prefix}.{key}"
            if key not in children:
                raise self.fail(dotted, f"unknown key (expected one of: {', '.join(children)})")
            if dotted in GLOBALS:
                flat[dotted] = child
            else:
                self._flatten_section(dotted, child, flat)

    def _global(self, key: str, value: Any) -> Any:
        kind = GLOBALS[key][1]
        if kind == "prefix":
            if not isinstance(value, str) or not _PREFIX.match(value):
                raise self.fail(key, f"expected a CamelCase word like LLM, got {value!r}")
            return value
        if kind == "str":
            if not isinstance(value, str):
                raise self.fail(key, f"expected a string, got {value!r}")
            return value
        if kind == "selector":
            if not isinstance(value, str):
                raise self.fail(key, f"expected label matchers as a string, got {value!r}")
            try:
                return promql.parse_selector(value)
            except ValueError as exc:
                raise self.fail(key, f"not a valid PromQL label selector: {exc}") from None
        if kind == "label_or_empty":
            if not isinstance(value, str) or (value and not _LABEL.match(value)):
                raise self.fail(key, f"expected a label name or '', got {value!r}")
            return value
        if kind == "labels":
            if not isinstance(value, list) or not all(
                isinstance(v, str) and _LABEL.match(v) for v in value
            ):
                raise self.fail(key, f"expected a list of label names, got {value!r}")
            return value
        if kind == "list":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise self.fail(key, f"expected a list of strings, got {value!r}")
            unknown = [v for v in value if v not in FOREIGN_NAMES]
            if key == "ignored_error_types" and unknown:
                # A typo would silently leave the class counted as a failure.
                known = ", ".join(FOREIGN_NAMES)
                raise self.fail(key, f"unknown error class {unknown[0]!r} (expected: {known})")
            return value
        if kind in ("interval", "duration"):
            seconds = self._duration(key, value)
            if kind == "interval" and seconds > MAX_INTERVAL_S:
                raise self.fail(key, f"must be 5m or less, got {value!r}")
            return value
        if kind == "hour":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 23:
                raise self.fail(key, f"expected a UTC hour 0-23, got {value!r}")
            return value
        if kind == "budget_map":
            if value is None:
                return {}
            if not isinstance(value, dict):
                raise self.fail(key, f"expected a mapping of name to US dollars a day, got "
                                     f"{value!r}")  # fmt: skip
            budgets: dict[str, float] = {}
            for name, usd in value.items():
                if not isinstance(name, str) or not name:
                    raise self.fail(key, f"expected non-empty names, got {name!r}")
                number = self._number(f"{key}.{name}", usd)
                if number < 0:
                    raise self.fail(f"{key}.{name}", f"must not be negative, got {usd!r}")
                budgets[name] = number
            return budgets
        if kind == "factor":
            number = self._number(key, value)
            if number <= 1:
                raise self.fail(key, f"expected a factor above 1, like 1.5, got {value!r}")
            return number
        if kind == "objective":
            number = self._number(key, value)
            if not 0 < number < 1:
                raise self.fail(key, f"expected a share between 0 and 1, like 0.99, got {value!r}")
            return number
        if kind == "bucket":
            number = self._number(key, value)
            buckets = catalog.OPERATION_DURATION.buckets or ()
            if number not in buckets:
                allowed = ", ".join(f"{b:g}" for b in buckets)
                raise self.fail(key, f"must be a bucket boundary ({allowed}), got {value!r}")
            return number
        number = self._number(key, value)
        if number < 0:
            raise self.fail(key, f"must not be negative, got {value!r}")
        return number

    def _number(self, key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"expected a number, got {value!r}")
        try:
            number = float(value)
        except OverflowError:  # a 5000-digit integer
            raise self.fail(key, "expected a number, got an integer too large") from None
        if not math.isfinite(number):  # a NaN threshold makes an alert that can never fire
            raise self.fail(key, f"expected a finite number, got {value!r}")
        return number

    def _duration(self, key: str, value: Any) -> float:
        if isinstance(value, str) and value.strip().startswith("-"):
            raise self.fail(key, f"a duration cannot be negative, got {value!r}")
        try:
            return promql.parse_duration(value)
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None

    def _windows_fit(self, key: str, windows: list[str], evaluation_interval: str) -> None:
        """A rate needs two samples in its window, and the long window must add events the
        short one lacks; otherwise the guard can never see enough of them."""
        short, long = (promql.parse_duration(w) for w in windows)
        least = 2 * promql.parse_duration(evaluation_interval)
        if short < least:
            raise self.fail(key, f"the short window {windows[0]} holds fewer than two "
                            f"evaluations ({evaluation_interval} apart): use at least twice "
                            "the evaluation interval")  # fmt: skip
        if long <= short:
            raise self.fail(key, f"the long window {windows[1]} must be longer than the "
                            f"short one {windows[0]}")  # fmt: skip

    # -- alerts -----------------------------------------------------------------------------

    def _alert(self, config: Config, definition: AlertDef, given: Any) -> AlertSettings:
        base = f"alerts.{definition.name}"
        given = {} if given is None else given
        if not isinstance(given, dict):
            raise self.fail(base, "expected a mapping of knobs")
        for key in given:
            if key not in definition.knobs:
                allowed = ", ".join(definition.knobs)
                raise self.fail(f"{base}.{key}", f"unknown knob (expected one of: {allowed})")
        enabled = given.get("enabled", True)
        if not isinstance(enabled, bool):
            raise self.fail(f"{base}.enabled", f"expected true or false, got {enabled!r}")
        severity = given.get("severity", definition.severity)
        if severity not in SEVERITIES:
            expected = ", ".join(SEVERITIES)
            raise self.fail(f"{base}.severity", f"expected one of {expected}, got {severity!r}")
        for_ = given.get("for", definition.for_)
        self._duration(f"{base}.for", for_)
        keep = given.get("keep_firing_for", definition.keep_firing_for)
        if keep is not None:
            self._duration(f"{base}.keep_firing_for", keep)
        values = {
            name: self._param(f"{base}.{name}", param, given.get(name, param.default))
            for name, param in definition.params.items()
        }
        for name, param in definition.params.items():
            if param.kind == "windows":
                self._windows_fit(f"{base}.{name}", values[name], config.evaluation_interval)
        return AlertSettings(config.prefix + definition.name, enabled, severity, for_, keep,
                             values, config)  # fmt: skip

    def _param(self, key: str, param: Param, value: Any) -> Any:
        if param.kind == "severity":
            if value not in SEVERITIES:
                raise self.fail(key, f"expected one of {', '.join(SEVERITIES)}, got {value!r}")
            return value
        if param.kind == "duration":
            self._duration(key, value)
            return value
        if param.kind == "windows":
            if not isinstance(value, list) or len(value) != 2:
                raise self.fail(key, f"expected two durations [short, long], got {value!r}")
            for window in value:
                self._duration(key, window)
            return [str(v) for v in value]
        if param.kind == "list":
            if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
                raise self.fail(key, f"expected a list, got {value!r}")
            return [str(v) for v in value]
        if param.kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
            raise self.fail(key, f"expected a whole number, got {value!r}")
        number = self._number(key, value)
        if param.minimum is not None and number < param.minimum:
            raise self.fail(key, f"must be at least {param.minimum:g}, got {value!r}")
        if param.kind == "ratio" and number > 1:
            raise self.fail(key, f"expected a share between 0 and 1, got {value!r}")
        if param.choices is not None and number not in param.choices:
            allowed = ", ".join(f"{v:g}" for v in param.choices)
            raise self.fail(key, f"must be one of {allowed} (bucket boundaries), got {value!r}")
        return int(number) if param.kind == "int" else number


# -- the complete defaults file -----------------------------------------------------------------


def render_defaults(definitions: Sequence[AlertDef]) -> str:
    """Every knob with its default value and a comment: what rules/thresholds.yaml holds."""
    lines = [
        "# llm-exporter rule pack: every knob, with its default.",
        "# Generated by `llm-exporter rules init`; copy it, change what you need (any subset),",
        "# then: llm-exporter rules generate --config thresholds.yaml --out rules/",
        "",
    ]
    tree: dict[str, Any] = {}
    for key, (default, _kind, help_text) in GLOBALS.items():
        parts = key.split(".")
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = (default, help_text)
    lines += _render_tree(tree, 0)
    lines += ["", "alerts:"]
    for definition in definitions:
        lines.append(f"  # {definition.tier}: {definition.summary}")
        lines.append(f"  {definition.name}:")
        lines.append("    enabled: true")
        if definition.standard_knobs:
            lines.append(f"    severity: {definition.severity}")
            lines.append(f"    for: {definition.for_}")
            if definition.keep_firing_for:
                lines.append(f"    keep_firing_for: {definition.keep_firing_for}")
        for name, param in definition.params.items():
            lines.append(f"    {name}: {_scalar(param.default)}  # {param.help}")
    return "\n".join(lines) + "\n"


def _render_tree(tree: dict[str, Any], depth: int) -> list[str]:
    lines: list[str] = []
    pad = "  " * depth
    for key, value in tree.items():
        if isinstance(value, dict):
            lines.append(f"{pad}{key}:")
            lines += _render_tree(value, depth + 1)
        else:
            default, help_text = value
            lines += [f"{pad}# {line}" for line in textwrap.wrap(help_text, 96 - len(pad))]
            lines.append(f"{pad}{key}: {_scalar(default)}")
    return lines


def _scalar(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=1000).strip().removesuffix("\n...")
