"""Recording rules, named level:metric:operation, and the baselines that read them.

Levels: ``model`` = aggregate_by + gen_ai_provider_name + gen_ai_request_model; ``app`` =
aggregate_by alone; ``response_model``, ``tool``, ``stage``, ``agent``, ``team``, ``feature``,
``data_source`` and ``evaluation_model`` add that label to the model or app level. The recording
group runs every evaluation_interval; the baselines (averages and medians over baseline_window)
and the month's spend run every baseline_interval and read only recorded series, so a 7-day
window costs one sample per minute per series.

The LLM-call families are read alike from every producer (the thresholds file's producers.*):
``Ctx.calls`` takes the provider from gen_ai_system where a producer wrote only that, and
``Ctx.error_class`` matches other producers' error_type names (RateLimitError, 429) for ours.

Besides these, the recording group holds the windowed counts the alerts ask for through
``Ctx.recorded`` (``model:gen_ai_client_operations:increase30m``): their guards test one count
several ways, and a recorded count is one query of the raw series per window.
"""

from __future__ import annotations

from .. import catalog as c
from ..track.tracker import HUMAN, NEGATIVE
from . import promql
from .model import Ctx, Record

D, TTFC, TOK = c.OPERATION_DURATION, c.TIME_TO_FIRST_CHUNK, c.TOKEN_USAGE
RATE = "5m"

# -- names ------------------------------------------------------------------------------------

OPS = "model:gen_ai_client_operations:rate5m"
OPS_1H = "model:gen_ai_client_operations:rate1h"
ERRORS = "model:gen_ai_client_operation_errors:rate5m"
LATENCY = {q: f"model:{D.name}:p{q}_5m" for q in (50, 95)}
TTFC_Q = {q: f"model:{TTFC.name}:p{q}_5m" for q in (50,)}
TOKENS_PER_OP = f"model:{TOK.name}:per_operation_rate5m"
TOKENS_1H = f"model:{TOK.name}:increase1h"
COST_BASE = c.COST.base_name
COST_RATE = f"model:{COST_BASE}:rate5m"
COST_PER_OP = f"model:{COST_BASE}:per_operation_rate5m"
COST_1H = f"app:{COST_BASE}:increase1h"
COST_1D = f"app:{COST_BASE}:increase1d"
APP_OPS = "app:gen_ai_client_operations:rate5m"
APP_OPS_1H = "app:gen_ai_client_operations:increase1h"
SHARE = "model:gen_ai_client_operations:share5m"
RESPONSE_OPS = "response_model:gen_ai_client_operations:rate5m"
RETRIES_PER_OP = f"model:{c.RETRIES.base_name}:per_operation_rate5m"
CONTEXT_P95 = f"model:{c.CONTEXT_WINDOW_USAGE.name}:p95_5m"
TOOL_CALLS = "tool:gen_ai_execute_tool_calls:rate5m"
STAGE_SHARE = f"stage:{c.STAGE_DURATION.name}:share5m"
AGENT_RUNS = "agent:gen_ai_invoke_agent_runs:rate5m"
FANOUT_MEAN = f"agent:{c.AGENT_CHILD_INVOCATIONS.name}:mean_rate5m"
HUMAN_HANDOFFS = f"app:{c.HANDOFFS.base_name}:to_human_rate5m"
REQUESTS = f"app:{c.AGENT_DEPTH.name}:requests_rate5m"
HUMAN_SHARE = f"app:{c.HANDOFFS.base_name}:to_human_share"  # its baseline only
SCORE_MEAN = f"evaluation_model:{c.QUALITY_SCORE.name}:mean1h"
SCORE_COUNT = f"evaluation_model:{c.QUALITY_SCORE.name}:count1h"
NEGATIVE_RATIO = f"model:{c.FEEDBACK.base_name}:negative_ratio1h"
FEEDBACK_1H = f"model:{c.FEEDBACK.base_name}:increase1h"
TEAM_COST_1D = f"team:{COST_BASE}:increase1d"
FEATURE_COST_1D = f"feature:{COST_BASE}:increase1d"
MONTH_TO_DATE = f"app:{COST_BASE}:month_to_date"
LAST_MONTH_TO_DATE = f"app:{COST_BASE}:last_month_to_date"
LAST_MONTH = f"app:{COST_BASE}:last_month"
LAST_MONTH_HOURS = f"app:{COST_BASE}:last_month_hours"
RETRIEVALS = f"data_source:{c.RETRIEVAL_DOCUMENTS.name}:rate15m"
EMPTY_RATIO = f"data_source:{c.RETRIEVAL_DOCUMENTS.name}:empty_ratio_rate15m"
TOP_SCORE_MEAN = f"data_source:{c.RETRIEVAL_TOP_SCORE.name}:mean_rate15m"
JUDGE_BASE = c.JUDGE_EVALUATIONS.base_name
JUDGE_ERROR_RATIO = f"app:{JUDGE_BASE}:error_ratio_rate15m"
JUDGE_1H = f"app:{JUDGE_BASE}:increase1h"

# SLO windows: (long, short, burn-rate factor, pages) from the SRE workbook.
SLO_PAIRS = (("1h", "5m", 14.4, True), ("6h", "30m", 6.0, True),
             ("1d", "2h", 3.0, False), ("3d", "6h", 1.0, False))  # fmt: skip
SLO_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
# Windows of 6h and more average the recorded 5m rates (one point per 5m) instead of reading
# raw counters: a 3-day rate over raw series loads thousands of samples per series per
# evaluation, the averages a few hundred, and the ratio is the same to a close approximation.
LONG_SLO_WINDOWS = ("6h", "1d", "3d")
SUCCEEDED = "model:gen_ai_client_operations_succeeded:rate5m"
FAST = "model:gen_ai_client_operations_under_latency_threshold:rate5m"


# The calls an hour usually brings at this time of day, from the hour around this time yesterday
# and a week ago: the higher of the two (what a surge must beat) and the lower (what a drop must
# fall below). Mondays compare with last Monday as well as with Sunday, nights with nights; in a
# deployment's first week, with no last week to read, there is no usual and these alerts wait.
USUAL_OPS_HIGH = "app:gen_ai_client_operations:usual_high_rate1h"
USUAL_OPS_LOW = "app:gen_ai_client_operations:usual_low_rate1h"
SEASONS = ("1d", "1w")


def error_ratio(window: str) -> str:
    return f"model:gen_ai_client_operation_errors:ratio_rate{window}"


ERROR_RATIO = error_ratio(RATE)


def slow_ratio(window: str) -> str:
    return f"model:{D.name}:slow_ratio_rate{window}"


def baseline(name: str) -> str:
    """The baseline of a recorded series: its average over baseline_window."""
    return name + "_baseline"


def median(name: str) -> str:
    return name + "_median"


def seen(name: str) -> str:
    """Highest value over baseline_window: > 0 where the series had any traffic."""
    return name + "_seen"


# -- rules ------------------------------------------------------------------------------------


def _rate(sel: str, window: str = RATE) -> str:
    return f"rate({sel}[{window}])"


def _mean(x: Ctx, spec: c.MetricSpec, by: tuple[str, ...], window: str) -> str:
    """A histogram's mean over ``window``: the rate of its sum over the rate of its count."""
    return (f"sum {x.by(*by)} (rate({x.app(spec.sum)}[{window}])) / "
            f"sum {x.by(*by)} (rate({x.app(spec.count)}[{window}]))")  # fmt: skip


def defined(expr: str) -> str:
    """``expr`` without its NaN points: a quantile or a mean over a window with no event is
    NaN, and a NaN that reached a baseline's average would keep it NaN for the whole window.
    Every such series is recorded through this, so an empty window is a missing point."""
    return f"(\n  {expr}\n) >= 0"


def larger(a: str, b: str) -> str:
    """The larger of two vectors with the same labels; nothing where either is missing, so a
    comparison with "yesterday and last week" waits for a week of history instead of judging a
    Monday against a Sunday alone."""
    return f"({a} >= {b}) or ({b} > {a})"


def smaller(a: str, b: str) -> str:
    """The smaller of two vectors with the same labels; nothing where either is missing."""
    return f"({a} <= {b}) or ({b} < {a})"


def same_hour(series: str, season: str) -> str:
    """``series`` averaged over the hour centred on this time one ``season`` ago."""
    shifted = promql.parse_duration(season) - 1800
    return f"avg_over_time({series}[1h] offset {promql.number(shifted)}s)"


def _ratio_or_zero(numerator: str, denominator: str) -> str:
    """numerator / denominator, with 0 where the numerator has no series at all."""
    return f"(\n  {numerator}\nor\n  0 * {denominator}\n)\n/\n  {denominator}"


def recording_rules(x: Ctx) -> list[Record]:
    counted = x.counted()
    ok = promql.eq(c.ERROR_TYPE, "")

    def calls(sel: str, window: str = RATE, fn: str = "rate") -> str:
        """The per-series rate (or increase) of an LLM-call family, provider filled in."""
        return x.calls(f"{fn}({sel}[{window}])")

    ops = f"sum {x.by_model()} ({calls(x.app(D.count, *counted))})"
    errors_5m = f"sum {x.by_model()} ({calls(x.app(D.count, *x.errors()))})"
    rules = [
        Record(OPS, ops),
        # 0 where a model has calls but no error series yet: the long windows average this over
        # hours, and an average over only the minutes since the first error inflates the ratio.
        Record(ERRORS, f"(\n  {errors_5m}\nor\n  0 * {OPS}\n)"),
    ]
    fast = x.app(D.bucket, ok, promql.le(x.config.latency_threshold_s))
    rules += [
        Record(SUCCEEDED, f"sum {x.by_model()} ({calls(x.app(D.count, ok))})"),
        Record(FAST, f"sum {x.by_model()} ({calls(fast)})"),
    ]
    for window in SLO_WINDOWS:
        if window in LONG_SLO_WINDOWS:
            long = f"{window}:{RATE}"
            errors, total = (f"avg_over_time({ERRORS}[{long}])", f"avg_over_time({OPS}[{long}])")
            succeeded = f"avg_over_time({SUCCEEDED}[{long}])"
            fast_rate = f"avg_over_time({FAST}[{long}])"
        else:
            errors = f"sum {x.by_model()} ({calls(x.app(D.count, *x.errors()), window)})"
            total = f"sum {x.by_model()} ({calls(x.app(D.count, *counted), window)})"
            succeeded = f"sum {x.by_model()} ({calls(x.app(D.count, ok), window)})"
            fast_rate = f"sum {x.by_model()} ({calls(fast, window)})"
        rules.append(Record(error_ratio(window), _ratio_or_zero(errors, total)))
        rules.append(Record(slow_ratio(window), f"1 - {fast_rate} / {succeeded}"))
    rules.append(Record(OPS_1H, f"sum {x.by_model()} ({calls(x.app(D.count, *counted), '1h')})"))
    for q, name in LATENCY.items():
        buckets = f"sum {x.by_model('le')} ({calls(x.app(D.bucket, ok))})"
        rules.append(Record(name, defined(f"histogram_quantile({q / 100}, {buckets})")))
    for q, name in TTFC_Q.items():
        buckets = f"sum {x.by_model('le')} ({calls(x.app(TTFC.bucket))})"
        rules.append(Record(name, defined(f"histogram_quantile({q / 100}, {buckets})")))
    input_ops = f"sum {x.by_model()} ({calls(x.app(TOK.count, promql.eq(c.TOKEN_TYPE, 'input')))})"
    rules += [
        Record(TOKENS_PER_OP,
               defined(f"sum {x.by_model()} ({calls(x.app(TOK.sum))}) / {input_ops}")),
        Record(TOKENS_1H, f"sum {x.by_model()} ({calls(x.app(TOK.sum), '1h', 'increase')})"),
        Record(COST_RATE, f"sum {x.by_model()} ({calls(x.app(c.COST.name))})"),
        Record(COST_PER_OP, defined(f"{COST_RATE} / {OPS}")),
        Record(COST_1H, f"sum {x.by()} (increase({x.app(c.COST.name)}[1h]))"),
        Record(COST_1D, f"sum {x.by()} (increase({x.app(c.COST.name)}[1d]))"),
        _hourly_by_month(x),
        Record(APP_OPS, f"sum {x.by()} ({OPS})"),
        Record(APP_OPS_1H, f"sum {x.by()} (increase({x.app(D.count, *counted)}[1h]))"),
        Record(SHARE, defined(f"{OPS} / {x.on()} group_left {APP_OPS}")),
        Record(USUAL_OPS_HIGH, larger(*(same_hour(APP_OPS, season) for season in SEASONS))),
        Record(USUAL_OPS_LOW, smaller(*(same_hour(APP_OPS, season) for season in SEASONS))),
        Record(RESPONSE_OPS,
               f"sum {x.by_model(c.RESPONSE_MODEL)} ({calls(x.app(D.count, *counted))})"),
        Record(RETRIES_PER_OP,
               f"sum {x.by_model()} ({calls(x.app(c.RETRIES.name))}) / {OPS}"),
        Record(CONTEXT_P95, "histogram_quantile(0.95, sum "
                            f"{x.by_model('le')} ({calls(x.app(c.CONTEXT_WINDOW_USAGE.bucket))}))"),
    ]  # fmt: skip
    for name, label in ((TEAM_COST_1D, c.TEAM), (FEATURE_COST_1D, c.FEATURE)):
        spend = x.app(c.COST.name, promql.ne(label, ""))  # attributed spend only
        rules.append(Record(name, f"sum {x.by(label)} (increase({spend}[1d]))"))
    rules += _tool_and_agent_rules(x)
    rules += _retrieval_rules(x)
    rules += _quality_rules(x)
    return rules


def _retrieval_rules(x: Ctx) -> list[Record]:
    source = c.DATA_SOURCE
    docs = c.RETRIEVAL_DOCUMENTS
    queries = f"sum {x.by(source)} (rate({x.app(docs.count)}[15m]))"
    empty = f"sum {x.by(source)} (rate({x.app(docs.bucket, promql.le(0))}[15m]))"
    return [
        Record(RETRIEVALS, queries),
        Record(EMPTY_RATIO, defined(_ratio_or_zero(empty, queries))),
        Record(TOP_SCORE_MEAN, defined(_mean(x, c.RETRIEVAL_TOP_SCORE, (source,), "15m"))),
    ]  # fmt: skip


def _tool_and_agent_rules(x: Ctx) -> list[Record]:
    tool, agent = c.TOOL_NAME, c.AGENT_NAME
    calls = f"sum {x.by(tool)} ({_rate(x.app(c.TOOL_DURATION.count))})"
    stage_time = f"sum {x.by(c.STAGE)} ({_rate(x.app(c.STAGE_DURATION.sum))})"
    runs = f"sum {x.by(agent)} ({_rate(x.app(c.AGENT_DURATION.count, *x.counted()))})"
    to_human = x.app(c.HANDOFFS.name, promql.eq(c.HANDOFF_TARGET, HUMAN))
    return [
        Record(TOOL_CALLS, calls),
        Record(STAGE_SHARE, f"{stage_time} / {x.on()} group_left sum {x.by()} ({stage_time})"),
        Record(AGENT_RUNS, runs),
        Record(FANOUT_MEAN, defined(_mean(x, c.AGENT_CHILD_INVOCATIONS, (agent,), RATE))),
        Record(HUMAN_HANDOFFS, f"sum {x.by()} ({_rate(to_human)})"),
        Record(REQUESTS, f"sum {x.by()} ({_rate(x.app(c.AGENT_DEPTH.count))})"),
    ]  # fmt: skip


def _quality_rules(x: Ctx) -> list[Record]:
    ev, model = c.EVALUATION_NAME, c.REQUEST_MODEL
    score = c.QUALITY_SCORE
    feedback = f"sum {x.by(model)} (increase({x.app(c.FEEDBACK.name)}[1h]))"
    thumbs_down = x.app(c.FEEDBACK.name, promql.eq(c.FEEDBACK_KIND, NEGATIVE))
    negative = f"sum {x.by(model)} (increase({thumbs_down}[1h]))"
    judged = f"sum {x.by()} (rate({x.app(c.JUDGE_EVALUATIONS.name)}[15m]))"
    judge_errors = x.app(c.JUDGE_EVALUATIONS.name, promql.ne(c.ERROR_TYPE, ""))
    judge_failed = f"sum {x.by()} (rate({judge_errors}[15m]))"
    return [
        Record(SCORE_MEAN, defined(_mean(x, score, (ev, model), "1h"))),
        Record(SCORE_COUNT, f"sum {x.by(ev, model)} (increase({x.app(score.count)}[1h]))"),
        Record(FEEDBACK_1H, feedback),
        Record(NEGATIVE_RATIO, defined(_ratio_or_zero(negative, feedback))),
        Record(JUDGE_ERROR_RATIO, defined(_ratio_or_zero(judge_failed, judged))),
        Record(JUDGE_1H, f"sum {x.by()} (increase({x.app(c.JUDGE_EVALUATIONS.name)}[1h]))"),
    ]  # fmt: skip


# Each baseline weighs every point by the traffic behind it, sum(x * w) / sum(w) over the window:
# a quiet night's p95 of a dozen calls counts for a dozen calls, not as much as an afternoon's
# thousand, and a window with no value (no traffic, or every call failed) counts for nothing
# instead of NaN: its weight stays out of the denominator too.
# Quantiles are baselined over hours, not 5 minutes: a p95 of the dozen calls a small app makes
# in 5 minutes reads differently from one of an hour's hundreds, and an alert at low volume
# compares an hour's p95 with it.
HOURLY_LATENCY = {q: f"model:{D.name}:p{q}_1h" for q in (50, 95)}
HOURLY_TTFC = f"model:{TTFC.name}:p50_1h"
HOURLY_TOOL_P95 = f"tool:{c.TOOL_DURATION.name}:p95_1h"
WEIGHTS = {
    HOURLY_LATENCY[50]: SUCCEEDED, HOURLY_LATENCY[95]: SUCCEEDED, HOURLY_TTFC: SUCCEEDED,
    TOKENS_PER_OP: OPS, COST_PER_OP: OPS, HOURLY_TOOL_P95: TOOL_CALLS, FANOUT_MEAN: AGENT_RUNS,
    SCORE_MEAN: SCORE_COUNT,
    NEGATIVE_RATIO: FEEDBACK_1H, EMPTY_RATIO: RETRIEVALS, TOP_SCORE_MEAN: RETRIEVALS,
}  # fmt: skip
# A share whose parts are recorded: the baseline is the ratio of their sums over the window.
PARTS = {HUMAN_SHARE: (HUMAN_HANDOFFS, REQUESTS)}
BASELINED = (*WEIGHTS, *PARTS)
# Baselines read one point per 15 minutes (672 a week): enough for a weekly average, and within
# promtool's 10,000-sample budget a query may load with a few models. Judge scores are per
# criterion and model, hourly means already: one point an hour (168 a week) keeps three models of
# three criteria under that budget too.
STEP = "15m"
STEPS = {SCORE_MEAN: "1h"}


def _hourly_quantiles(x: Ctx) -> None:
    """Record the hour-long quantiles the baselines average (alerts may read them too)."""
    ok = promql.eq(c.ERROR_TYPE, "")
    for q, name in HOURLY_LATENCY.items():
        assert x.llm_quantile(q / 100, "1h", D, ok) == name
    assert x.llm_quantile(0.5, "1h", TTFC) == HOURLY_TTFC
    tool_ok = x.app(c.TOOL_DURATION.bucket, ok)
    x.recorded(
        HOURLY_TOOL_P95,
        defined(f"histogram_quantile(0.95, sum {x.by(c.TOOL_NAME, 'le')} (rate({tool_ok}[1h])))"),
    )


def baseline_rules(x: Ctx) -> list[Record]:
    """The baselines; the hour-long quantiles they read join Ctx.records for the recording
    group."""
    _hourly_quantiles(x)
    span = f"{x.config.baseline_window}:{STEP}"

    def over(n: str) -> str:
        return f"{x.config.baseline_window}:{STEPS.get(n, STEP)}"

    rules = [
        Record(baseline(n), defined(f"sum_over_time(({n} * {w})[{over(n)}])\n/ "
                                    f"sum_over_time(({w} and {n})[{over(n)}])"))
        for n, w in WEIGHTS.items()
    ]  # fmt: skip
    rules += [
        Record(baseline(n), defined(f"sum_over_time({a}[{span}]) / sum_over_time({b}[{span}])"))
        for n, (a, b) in PARTS.items()
    ]
    rules.append(Record(median(SHARE), f"quantile_over_time(0.5, {SHARE}[{span}])"))
    rules.append(Record(seen(RESPONSE_OPS), f"max_over_time({RESPONSE_OPS}[{span}])"))
    return rules


# -- the month's spend ----------------------------------------------------------------------------
# PromQL has no window "since the first of the month", and an offset or a range must be a
# literal. So the recording group keeps one sample an hour of the hour's spend (the one
# evaluation that falls in the first evaluation_interval of the hour), labelled with the month
# the hour belongs to (count_values turns month() into a label; the hour's midpoint decides). A
# month's spend is then the sum of its samples over a fixed 31- or 62-day range, and the hours it
# has data for their count. "The same point last month" is the month-to-date series one
# previous-month-length ago (28 to 31 days: one branch each), where today exists in last month.
# Exact to the last full hour.

MONTH_LABEL = "month"
COST_1H_BY_MONTH = f"app_month:{COST_BASE}:increase1h"
PREVIOUS_MONTH_DAYS = "days_in_month(vector(time()) - 86400 * day_of_month())"
PREVIOUS_MONTH = "month(vector(time()) - 86400 * day_of_month())"
# Last month is compared only when at least this share of its hours has spend data: a deployment
# younger than last month, or a Prometheus that was down for days, would make it look cheap.
LAST_MONTH_COVERAGE = 0.95


def _hourly_by_month(x: Ctx) -> Record:
    """The hour's spend, once an hour: exactly one evaluation of any interval falls in the
    first interval of each hour."""
    interval = promql.number(promql.parse_duration(x.config.evaluation_interval))
    months = f"count_values({promql.string(MONTH_LABEL)}, month(vector(time() - 1800)))"
    return Record(COST_1H_BY_MONTH, f"{COST_1H} * on () group_left ({MONTH_LABEL}) {months}\n"
                                    f"and on () vector(time() % 3600) < {interval}")  # fmt: skip


def _month(x: Ctx, fn: str, window: str, which: str) -> str:
    """``fn`` over the hourly samples of month ``which`` (a month() expression), per app."""
    wanted = f"count_values({promql.string(MONTH_LABEL)}, {which})"
    return (f"sum {x.by()} (\n  {fn}({COST_1H_BY_MONTH}[{window}])\n"
            f"  and on ({MONTH_LABEL}) {wanted}\n)")  # fmt: skip


def monthly_rules(x: Ctx) -> list[Record]:
    """Month to date, last month to the same point, last month's hours and total (in the
    baselines group, so alerts always find a recent sample)."""
    branches = "\nor ".join(
        f"({MONTH_TO_DATE} offset {days}d and on () {PREVIOUS_MONTH_DAYS} == {days})"
        for days in (28, 29, 30, 31)
    )
    complete = promql.number(round(LAST_MONTH_COVERAGE * 24, 6))
    return [
        Record(MONTH_TO_DATE, _month(x, "sum_over_time", "31d", "month()")),
        Record(LAST_MONTH_TO_DATE,
               f"(\n{branches}\n)\nand on () day_of_month() <= {PREVIOUS_MONTH_DAYS}"),
        Record(LAST_MONTH_HOURS, _month(x, "count_over_time", "62d", PREVIOUS_MONTH)),
        Record(LAST_MONTH,
               f"{_month(x, 'sum_over_time', '62d', PREVIOUS_MONTH)}\n"
               f"and {x.on()} {LAST_MONTH_HOURS} >= {complete} * "
               f"scalar({PREVIOUS_MONTH_DAYS})"),
    ]  # fmt: skip
