"""What a rule definition is: alerts with their knobs and runbook text, recording rules, and
the generation context that applies the user's selectors and aggregation labels."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import catalog
from . import promql
from .promql import Matcher

if TYPE_CHECKING:
    from .thresholds import AlertSettings, Config

TIERS = ("infra", "app", "quality")
SEVERITIES = ("critical", "warning", "info")


def label_template(label: str) -> str:
    """The Go template of a series' label value in an annotation: ``{{ $labels.<label> }}``."""
    return "{{ $labels." + label + " }}"


# Go-template pieces of annotations, so definitions read as plain f-strings.
VALUE = "{{ $value | humanize }}"  # large quantities: 1.5k tokens
NUMBER = '{{ $value | printf "%.3g" }}'  # may be below 1: humanize writes 0.75 as "750m"
PERCENT = "{{ $value | humanizePercentage }}"
SECONDS = "{{ $value | humanizeDuration }}"
USD = '{{ $value | printf "%.2f" }}'
USD_PRECISE = '{{ $value | printf "%.4f" }}'  # per-call costs are fractions of a cent
MODEL = label_template(catalog.REQUEST_MODEL)
PROVIDER = label_template(catalog.PROVIDER)
RESPONSE_MODEL = label_template(catalog.RESPONSE_MODEL)
TOOL = label_template(catalog.TOOL_NAME)
AGENT = label_template(catalog.AGENT_NAME)
STAGE = label_template(catalog.STAGE)
EVALUATION = label_template(catalog.EVALUATION_NAME)
ERROR_TYPE_VALUE = label_template(catalog.ERROR_TYPE)
INSTANCE = label_template("instance")  # the scrape's, set by Prometheus
GPU = f"{label_template(catalog.GPU)} ({label_template(catalog.UUID)}) on {INSTANCE}"


@dataclass(frozen=True)
class Param:
    """One knob of an alert beyond enabled/severity/for."""

    default: Any
    help: str
    kind: str = "number"  # number | ratio | duration | int | list | windows (short, long)
    minimum: float | None = 0.0
    choices: tuple[float, ...] | None = None  # e.g. a histogram's bucket boundaries


@dataclass(frozen=True)
class Runbook:
    meaning: str
    causes: tuple[str, ...]
    checks: tuple[str, ...]
    panel: str  # "Dashboard title / Panel title" in grafana/


@dataclass(frozen=True)
class Variant:
    """One rule of an alert that has several (the SLO window pairs)."""

    expr: str
    labels: Mapping[str, str]
    severity: str
    for_: str
    description: str  # Go template, says value and threshold (and, for a window pair, which)
    keep_firing_for: str | None = None

    @property
    def waits(self) -> bool:
        """Whether the rule has a ``for:`` at all (``0s``, ``0m``, ``0h`` ... fire at once)."""
        return promql.parse_duration(self.for_) > 0


@dataclass(frozen=True)
class AlertDef:
    name: str  # CamelCase, without the configured prefix
    tier: str
    summary: str  # static, one sentence
    runbook: Runbook
    # Go template, says value and threshold; only single-rule alerts: variants describe each rule.
    description: Callable[[AlertSettings], str] | None = None
    expr: Callable[[Ctx, AlertSettings], str] | None = None
    severity: str = "warning"
    for_: str = "5m"
    keep_firing_for: str | None = None
    params: Mapping[str, Param] = field(default_factory=dict)
    # Alerts made of several rules return them here; they take no severity/for knobs of their
    # own unless shared_knobs, where every rule takes the alert's severity, for and
    # keep_firing_for (one rule per budget, all alike).
    variants: Callable[[Ctx, AlertSettings], list[Variant]] | None = None
    shared_knobs: bool = False

    def __post_init__(self) -> None:
        if self.tier not in TIERS or self.severity not in SEVERITIES:
            raise ValueError(f"{self.name}: bad tier or severity")
        if (self.expr is None) == (self.variants is None):
            raise ValueError(f"{self.name}: give exactly one of expr and variants")
        if (self.description is None) != (self.expr is None):
            raise ValueError(f"{self.name}: a description for an expr, none for variants")
        if self.shared_knobs and self.variants is None:
            raise ValueError(f"{self.name}: shared_knobs is for alerts made of variants")

    def rules(self, x: Ctx, s: AlertSettings) -> list[Variant]:
        """The alert's rules: its variants, or the one rule its expression and knobs make."""
        if self.variants is not None:
            return self.variants(x, s)
        assert self.expr is not None and self.description is not None
        return [Variant(self.expr(x, s), {}, s.severity, s.for_, self.description(s),
                        s.keep_firing_for)]  # fmt: skip

    @property
    def standard_knobs(self) -> bool:
        """Whether severity, for and keep_firing_for are knobs of the alert."""
        return self.variants is None or self.shared_knobs

    @property
    def knobs(self) -> tuple[str, ...]:
        standard = ("enabled", "severity", "for", "keep_firing_for") if self.standard_knobs \
            else ("enabled",)  # fmt: skip
        return (*standard, *self.params)


@dataclass(frozen=True)
class Record:
    record: str
    expr: str


# Short names of the labels a recorded series is per, for its level (``tool_error_type``).
_LEVELS = {
    catalog.TOOL_NAME: "tool", catalog.AGENT_NAME: "agent", catalog.ERROR_TYPE: "error_type",
    catalog.EVALUATION_NAME: "evaluation", catalog.REQUEST_MODEL: "model",
    catalog.RESPONSE_MODEL: "response_model",
}  # fmt: skip


def increased(level: str, what: str, window: str) -> str:
    """A windowed count's recorded name: ``model:gen_ai_client_operations:increase5m``."""
    return f"{level}:{what}:increase{window}"


def _level(by: tuple[str, ...]) -> str:
    return "_".join(_LEVELS.get(label, label) for label in by) or "app"


class Ctx:
    """Selectors and aggregation as the thresholds file sets them."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.records: dict[str, str] = {}  # recording rules the alerts asked for
        self.agg: tuple[str, ...] = config.aggregate_by
        self.model: tuple[str, ...] = (*self.agg, catalog.PROVIDER, catalog.REQUEST_MODEL)

    def app(self, name: str, *extra: Matcher) -> str:
        return promql.selector(name, self.config.app_selector, *extra)

    def infra(self, name: str, *extra: Matcher) -> str:
        return promql.selector(name, self.config.infra_selector, *extra)

    def errors(self) -> tuple[Matcher, ...]:
        """The error_type matchers of an operation that counts as failed."""
        return (promql.ne(catalog.ERROR_TYPE, ""),
                *promql.not_in(catalog.ERROR_TYPE, self.config.ignored_error_values()))  # fmt: skip

    def counted(self) -> tuple[Matcher, ...]:
        """Operations that count at all (the ignored error classes, under any producer's name for
        them, are left out)."""
        return promql.not_in(catalog.ERROR_TYPE, self.config.ignored_error_values())

    def calls(self, vector: str) -> str:
        """A vector of LLM-call series, its provider label filled from the fallback label where
        the producer wrote only that (gen_ai_system), so every producer aggregates alike."""
        fallback = self.config.provider_fallback
        return promql.fill_label(vector, catalog.PROVIDER, fallback) if fallback else vector

    def recorded(self, name: str, expr: str) -> str:
        """``expr`` as a recording rule named ``name``, for the alerts to read by name: an alert
        that tests a count several ways (a share, a minimum, a z-score) then costs one query of
        the raw series per window, not one per use."""
        if self.records.setdefault(name, expr) != expr:
            raise ValueError(f"two expressions recorded as {name}")
        return name

    def increase(self, window: str, what: str, name: str, *matchers: Matcher,
                 by: tuple[str, ...] = ()) -> str:  # fmt: skip
        """How much a counter of the application grew over ``window``, per aggregate_by and
        ``by``: recorded as ``<level>:<what>:increase<window>``."""
        expr = f"sum {self.by(*by)} (increase({self.app(name, *matchers)}[{window}]))"
        return self.recorded(increased(_level(by), what, window), expr)

    def llm_calls(self, window: str, what: str, *matchers: Matcher) -> str:
        """LLM calls over ``window`` per model, every producer's alike."""
        spec = catalog.OPERATION_DURATION
        return self.llm_increase(window, what, spec.count, *matchers)

    def llm_increase(self, window: str, what: str, name: str, *matchers: Matcher) -> str:
        """An LLM-call counter's growth over ``window`` per model, every producer's alike."""
        grew = self.calls(f"increase({self.app(name, *matchers)}[{window}])")
        return self.recorded(increased("model", what, window), f"sum {self.by_model()} ({grew})")

    def llm_quantile(self, q: float, window: str, spec: catalog.MetricSpec,
                     *matchers: Matcher) -> str:  # fmt: skip
        """The ``q`` quantile of an LLM-call histogram over ``window``, per model; NaN-free."""
        rate = self.calls(f"rate({self.app(spec.bucket, *matchers)}[{window}])")
        expr = f"histogram_quantile({promql.number(q)}, sum {self.by_model('le')} ({rate}))"
        return self.recorded(f"model:{spec.name}:p{q * 100:g}_{window}", f"(\n  {expr}\n) >= 0")

    def error_class(self, error_type: str) -> Matcher:
        """error_type is ``error_type`` under any producer's name for it."""
        names = (error_type, *self.config.error_type_aliases.get(error_type, ()))
        return promql.re_in(catalog.ERROR_TYPE, dict.fromkeys(names))

    def by(self, *labels: str) -> str:
        return promql.by((*self.agg, *labels))

    def by_model(self, *labels: str) -> str:
        return promql.by((*self.model, *labels))

    def on(self, *labels: str) -> str:
        return promql.on((*self.agg, *labels))

    def on_model(self, *labels: str) -> str:
        return promql.on((*self.model, *labels))
