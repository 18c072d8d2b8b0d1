"""PromQL for panels: catalog names, the dashboard's template variables as selectors, and
``$__rate_interval`` for rates, so a panel follows the scrape interval Grafana knows."""

from __future__ import annotations

from .. import catalog as c
from ..rulegen import promql
from ..rulegen.promql import Matcher
from ..rulegen.thresholds import Config

RATE = "$__rate_interval"

JOB = Matcher("job", "=~", "$job")
MODEL = Matcher(c.REQUEST_MODEL, "=~", "$model")
PROVIDER = Matcher(c.PROVIDER, "=~", "$provider")
INSTANCE = Matcher("instance", "=~", "$instance")
GPU = Matcher(c.GPU, "=~", "$gpu")

LLM = (JOB, PROVIDER, MODEL)  # LLM-call families
APP = (JOB,)  # agents, tools, stages, self-health
QUALITY = (JOB, MODEL)  # scores, feedback, output checks
GPUS = (INSTANCE, GPU)

OK = promql.eq(c.ERROR_TYPE, "")


def counted(ignored: tuple[str, ...]) -> tuple[Matcher, ...]:
    """Operations that count (the thresholds file's ignored error classes left out, under every
    producer's name for them: Config.ignored_error_values)."""
    return promql.not_in(c.ERROR_TYPE, ignored)


def failed(ignored: tuple[str, ...]) -> tuple[Matcher, ...]:
    return (promql.ne(c.ERROR_TYPE, ""), *promql.not_in(c.ERROR_TYPE, ignored))


def sel(name: str, base: tuple[Matcher, ...], *extra: Matcher) -> str:
    return promql.selector(name, base, *extra)


def rate(name: str, base: tuple[Matcher, ...], *extra: Matcher, window: str = RATE) -> str:
    return f"rate({sel(name, base, *extra)}[{window}])"


def sum_rate(by: tuple[str, ...], name: str, base: tuple[Matcher, ...], *extra: Matcher,
             window: str = RATE) -> str:  # fmt: skip
    grouping = f" {promql.by(by)}" if by else ""
    return f"sum{grouping} ({rate(name, base, *extra, window=window)})"


def quantile(q: float, spec: c.MetricSpec, by: tuple[str, ...], base: tuple[Matcher, ...],
             *extra: Matcher, window: str = RATE) -> str:  # fmt: skip
    buckets = sum_rate((*by, "le"), spec.bucket, base, *extra, window=window)
    return f"histogram_quantile({q}, {buckets})"


def mean(spec: c.MetricSpec, by: tuple[str, ...], base: tuple[Matcher, ...], *extra: Matcher,
         window: str = RATE) -> str:  # fmt: skip
    """A histogram's mean over the window: rate of its sum over rate of its count."""
    return (f"{sum_rate(by, spec.sum, base, *extra, window=window)}\n/\n"
            f"{sum_rate(by, spec.count, base, *extra, window=window)}")  # fmt: skip


def ratio(part: str, whole: str) -> str:
    """part / whole, 0 where the part has no series (no errors is a ratio of 0, not no data)."""
    return f"(\n  {part}\nor\n  0 * {whole}\n)\n/\n  {whole}"


def or_zero(expr: str) -> str:
    """A count that may have no series yet: 0 instead of "No data"."""
    return f"{expr} or vector(0)"


def error_classes(vector: str, config: Config) -> str:
    """Other producers' error_type values (RateLimitError, 429) shown as the class they stand
    for, as the rule pack reads them."""
    return promql.relabel_values(vector, c.ERROR_TYPE, config.error_type_aliases)
