"""App tier: the LLM calls, agents, tools and spend of the application itself.

Thresholds follow the field write-ups (Sentry's "The core KPIs of LLM performance" and others):
5% errors; p95 over 5s, 20% above the 7-day baseline, over 4x p50; flat traffic for 5m, 3x surges
for 10m, 50% drops outside quiet hours; a model's share 20 points off its median; tokens per
request +50%; hourly tokens 2x the same hour; the daily budget; tool timeouts over 2%, tool p95
+50%; a stage over 60% of the time; depth over 3. App alerts wait 2 to 5 minutes (``for``),
which one write-up measured to cut false alarms by 90%, and every share or quantile needs enough
events behind it (evidence.py), so the figures hold at one call a minute as at a thousand.
"""

from __future__ import annotations

from ... import catalog as c
from ...errortypes import OUTPUT_PARSE, RATE_LIMIT, TIMEOUT
from ...track.tracker import HUMAN
from .. import promql
from .. import recording as r
from ..evidence import (
    STILL,
    any_window,
    count_exceeds,
    count_falls_short,
    min_events_param,
    quantile_exceeds,
    seconds,
    share_exceeds,
    windows_param,
    z_param,
)
from ..model import (
    AGENT,
    ERROR_TYPE_VALUE,
    MODEL,
    NUMBER,
    PERCENT,
    PROVIDER,
    RESPONSE_MODEL,
    SECONDS,
    STAGE,
    TOOL,
    USD,
    USD_PRECISE,
    VALUE,
    AlertDef,
    Ctx,
    Param,
    Runbook,
)  # fmt: skip
from ..thresholds import AlertSettings
from .common import (
    COST,
    FLOOR_SECONDS,
    MIN_CALLS,
    MIN_EXPECTED,
    MIN_FAILURES,
    MIN_RATE,
    OVERVIEW,
    WINDOWS,
    hours,
    over,
    pct,
    secs,
    times,
    where,
)

S = AlertSettings


def _busy(x: Ctx, s: S) -> str:
    """The model is serving enough calls for its ratios to mean something."""
    return f"{r.OPS} > {promql.number(s.min_rate)}"


OK = promql.eq(c.ERROR_TYPE, "")
INPUT = promql.eq(c.TOKEN_TYPE, "input")
# What the windowed counts are of, in their recorded names (model:<what>:increase5m).
CALLS, SUCCEEDED = "gen_ai_client_operations", "gen_ai_client_operations_succeeded"
TOOL_CALLS, TOOL_SUCCEEDED = "gen_ai_execute_tool_calls", "gen_ai_execute_tool_succeeded"
REQUESTS, AGENT_RUNS = "gen_ai_invoke_agent_requests", "gen_ai_invoke_agent_runs"
AGENT_ERRORS, STREAMS = "gen_ai_invoke_agent_errors", "gen_ai_client_streams"
INPUT_USAGES = "gen_ai_client_token_usages_input"


ERRORS = "gen_ai_client_operation_errors"


def class_errors(error_type: str) -> str:
    """What the windowed count of one error class's calls is of."""
    return f"{ERRORS}_{error_type}"


def _failing(x: Ctx, s: S, what: str, *bad: promql.Matcher) -> str:
    """A share of the calls failing (``bad``) above the threshold, with enough failures behind
    it in the short or the long window."""
    threshold = promql.number(s.threshold)

    def share(w: str) -> str:
        return f"{x.llm_calls(w, what, *bad)} / {x.llm_calls(w, CALLS, *x.counted())}"

    def holds(w: str) -> str:
        failed, total = x.llm_calls(w, what, *bad), x.llm_calls(w, CALLS, *x.counted())
        held = share_exceeds(failed, total, threshold, threshold, s.min_events, s.z_score)
        return held if w != s.windows[0] else f"{held}\n  and {share(STILL)} > {threshold}"

    return any_window(s.windows, holds, lambda w: sparse(x.llm_calls(w, CALLS, *x.counted()), s))


def sparse(total: str, s: S, threshold: float | None = None) -> str:
    """The window's events are too few to hold min_events bad ones at the threshold share."""
    share = s.threshold if threshold is None else threshold
    return f"{total} < {promql.number(s.min_events / share)}"


def _failing_params(threshold: float, help_text: str) -> dict[str, Param]:
    return {
        "threshold": Param(threshold, help_text, "ratio"),
        "windows": WINDOWS,
        "min_events": MIN_FAILURES,
        "z_score": z_param(2.0),
    }


def _latency(x: Ctx, s: S, q: float, compare: str) -> str:
    """The ``q`` latency quantile of successful calls ({value} in ``compare``, the median as
    {p50}, their number as {calls}), in whichever window holds min_calls."""

    def over(w: str) -> str:
        value = x.llm_quantile(q, w, c.OPERATION_DURATION, OK)
        held = compare.replace("{value}", value).replace("{calls}", x.llm_calls(w, SUCCEEDED, OK))
        if "{p50}" in held:
            held = held.replace("{p50}", x.llm_quantile(0.5, w, c.OPERATION_DURATION, OK))
        return held

    def holds(w: str) -> str:
        held = f"{over(w)}\n  and {x.llm_calls(w, SUCCEEDED, OK)} >= {s.min_calls}"
        return held if w != s.windows[0] else f"{held}\n  and {over(STILL)}"

    def few(w: str) -> str:
        return f"{x.llm_calls(w, SUCCEEDED, OK)} < {s.min_calls}"

    return any_window(s.windows, holds, few)


# A blip of slow calls is a small part of an hour: the long window of latency alerts.
LATENCY_WINDOWS = windows_param("5m", "1h", "calls")


def _latency_params(threshold: Param, *extra: tuple[str, Param]) -> dict[str, Param]:
    return {"threshold": threshold, **dict(extra), "windows": LATENCY_WINDOWS,
            "min_calls": MIN_CALLS}  # fmt: skip


def _stopped(
    x: Ctx, s: S, what: str, name: str, *matchers: promql.Matcher, by: tuple[str, ...] = ()
) -> str:
    """No event in a window where, at the rate of the hour before it, min_expected were due:
    a silence scaled to how often the thing normally happens."""

    def holds(w: str) -> str:
        before = f"{x.increase('1h', what, name, *matchers, by=by)} offset {w}"
        share = promql.number(promql.parse_duration(w) / 3600)
        return (f"{x.increase(w, what, name, *matchers, by=by)} == 0\n"
                f"  and {before} * {share} >= {promql.number(s.min_expected)}")  # fmt: skip

    return any_window(s.windows, holds)


def _error_class(
    name: str,
    error_type: str,
    threshold: float,
    summary: str,
    meaning: str,
    causes: tuple[str, ...],
    checks: tuple[str, ...],
) -> AlertDef:
    def expr(x: Ctx, s: S) -> str:
        return _failing(x, s, class_errors(error_type), x.error_class(error_type))

    return AlertDef(
        name=name,
        tier="app",
        severity="warning",
        for_="5m",
        summary=summary,
        description=lambda s: (
            f"{PERCENT} of calls to {MODEL} failed with {error_type} {over(s)} "
            f"(threshold {pct(s.threshold)})."
        ),
        expr=expr,
        params=_failing_params(threshold, f"Share of calls failing with {error_type}."),
        runbook=Runbook(meaning, causes, checks, f"{OVERVIEW} / Errors by class"),
    )


def _quiet_hours_filter(start: int, end: int) -> str:
    """`and on() (...)`: true outside the quiet hours; empty string when there are none."""
    if start == end:
        return ""
    if start < end:
        return f"\nand on() (hour() < {start} or hour() >= {end})"
    return f"\nand on() (hour() >= {end} and hour() < {start})"


def _traffic_drop(x: Ctx, s: S) -> str:
    keep = 1 - s.threshold
    drops = any_window(s.windows, lambda w: count_falls_short(
        x.increase(w, CALLS, c.OPERATION_DURATION.count, *x.counted()),
        f"{r.USUAL_OPS_LOW} * {seconds(w)}", keep, s.z_score))  # fmt: skip
    quiet = _quiet_hours_filter(*x.config.quiet_hours)
    return f"(\n{drops}\n){quiet}" if quiet else drops


def _drop_description(s: S) -> str:
    start, end = s.config.quiet_hours
    quiet = "" if start == end else f" (quiet hours {hours(start)} to {hours(end)} excepted)"
    return (
        f"{where(s)} made {VALUE} LLM calls {over(s)}, less than {pct(1 - s.threshold)} of the "
        f"usual for this hour (the lower of yesterday's and last week's){quiet}."
    )


def _mix_shift(x: Ctx, s: S) -> str:
    """A model's share of the window's calls against its median share, with a binomial z-test
    so that a handful of calls cannot move it."""

    def holds(w: str) -> str:
        mine = x.llm_calls(w, CALLS, *x.counted())
        everyone = x.increase(w, CALLS, c.OPERATION_DURATION.count, *x.counted())
        total = f"(0 * {mine} + {x.on()} group_left {everyone})"
        usual = r.median(r.SHARE)
        return (
            f"abs({mine} / {total} - {usual}) > {promql.number(s.threshold)}\n"
            f"  and abs({mine} - {total} * {usual})\n"
            f"    / sqrt({total} * {usual} * (1 - {usual}) + 1) > {promql.number(s.z_score)}"
        )

    return any_window(s.windows, holds)


def _per_call(x: Ctx, s: S, w: str, amount: tuple[str, str], calls: tuple[str, str],
              baselined: str, *counted: promql.Matcher) -> str:  # fmt: skip
    """``amount`` (what, counter) per call (what, counter) over ``w`` above threshold times its
    baseline, with min_calls calls."""
    per_model = x.llm_increase(w, *amount)
    made = x.llm_increase(w, *calls, *counted)
    return (f"{per_model} / {made} > {promql.number(s.threshold)} * {r.baseline(baselined)}\n"
            f"  and {made} >= {s.min_calls}")  # fmt: skip


def _tool_failing(
    x: Ctx, s: S, what: str, bad: tuple[promql.Matcher, ...], by: tuple[str, ...]
) -> str:
    """A tool's calls failing (``bad``, per ``by`` too) above the threshold, with enough
    failures behind it."""
    tool, threshold = c.TOOL_NAME, promql.number(s.threshold)

    def holds(w: str) -> str:
        failed = x.increase(w, what, c.TOOL_DURATION.count, *bad, by=(tool, *by))
        calls = x.increase(w, TOOL_CALLS, c.TOOL_DURATION.count, by=(tool,))
        total = f"(0 * {failed} + {x.on(tool)} group_left {calls})" if by else calls
        return share_exceeds(failed, total, threshold, threshold, s.min_events, s.z_score)

    def few(w: str) -> str:
        return sparse(x.increase(w, TOOL_CALLS, c.TOOL_DURATION.count, by=(tool,)), s)

    return any_window(s.windows, holds, few)


def _tool_errors(x: Ctx, s: S) -> str:
    # Timeouts have their own alert; ignored classes are no failure.
    timeouts = (TIMEOUT, *x.config.error_type_aliases.get(TIMEOUT, ()))
    skip = promql.not_in(c.ERROR_TYPE, (*timeouts, *x.config.ignored_error_values()))
    bad = (promql.ne(c.ERROR_TYPE, ""), *skip)
    return _tool_failing(x, s, "gen_ai_execute_tool_errors", bad, (c.ERROR_TYPE,))


def _tool_latency(x: Ctx, s: S) -> str:
    tool = c.TOOL_NAME

    def holds(w: str) -> str:
        rate = f"rate({x.app(c.TOOL_DURATION.bucket, OK)}[{w}])"
        p95 = f"histogram_quantile(0.95, sum {x.by(tool, 'le')} ({rate}))"
        calls = x.increase(w, TOOL_SUCCEEDED, c.TOOL_DURATION.count, OK, by=(tool,))
        return (f"{p95} > {promql.number(s.threshold)} * {r.baseline(r.HOURLY_TOOL_P95)}\n"
                f"  and {p95} > {promql.number(s.floor_seconds)}\n"
                f"  and {calls} >= {s.min_calls}")  # fmt: skip

    def few(w: str) -> str:
        calls = x.increase(w, TOOL_SUCCEEDED, c.TOOL_DURATION.count, OK, by=(tool,))
        return f"{calls} < {s.min_calls}"

    return any_window(s.windows, holds, few)


def _first_chunk(x: Ctx, s: S) -> str:
    def holds(w: str) -> str:
        ttfc = x.llm_quantile(0.5, w, c.TIME_TO_FIRST_CHUNK)
        p50 = x.llm_quantile(0.5, w, c.OPERATION_DURATION, OK)
        streams = x.llm_increase(w, STREAMS, c.TIME_TO_FIRST_CHUNK.count)
        usual_p50 = r.baseline(r.HOURLY_LATENCY[50])
        return (f"{ttfc} > {promql.number(s.threshold)} * {r.baseline(r.HOURLY_TTFC)}\n"
                f"  and {ttfc} > {promql.number(s.floor_seconds)}\n"
                f"  and {p50} < {promql.number(s.flat_factor)} * {usual_p50}\n"
                f"  and {streams} >= {s.min_calls}")  # fmt: skip

    def few(w: str) -> str:
        return f"{x.llm_increase(w, STREAMS, c.TIME_TO_FIRST_CHUNK.count)} < {s.min_calls}"

    return any_window(s.windows, holds, few)


def _human_handoffs(x: Ctx, s: S) -> str:
    usual = r.baseline(r.HUMAN_SHARE)
    threshold = f"clamp_min({promql.number(s.threshold)} * {usual}, {promql.number(s.floor)})"
    normal = f"clamp_min({usual}, 0.001)"
    to_human = promql.eq(c.HANDOFF_TARGET, HUMAN)

    def requests(w: str) -> str:
        return x.increase(w, REQUESTS, c.AGENT_DEPTH.count)

    def holds(w: str) -> str:
        handed = x.increase(w, f"{c.HANDOFFS.base_name}_to_{HUMAN}", c.HANDOFFS.name, to_human)
        return share_exceeds(handed, requests(w), threshold, normal, s.min_events, s.z_score)

    return any_window(s.windows, holds, lambda w: sparse(requests(w), s, s.floor))


def _new_response_model(x: Ctx, s: S) -> str:
    # Only where the request model was already answered (by anything) an hour ago: in a fresh
    # deployment's first hour nothing is "seen" yet, and every model would look new.
    seen = f"{r.seen(r.RESPONSE_OPS)} offset 1h"
    answered = promql.selector(r.RESPONSE_OPS, (), promql.ne(c.RESPONSE_MODEL, ""))
    return (f"({answered} > 0)\n"
            f"unless {x.on_model(c.RESPONSE_MODEL)} ({seen})\n"
            f"and {x.on_model()} ({seen})")  # fmt: skip


def _complete(series: str, offset: str) -> str:
    """The series existed one more hour before ``offset``: the window compared there was
    whole (in a fresh deployment's first day, yesterday's hour is partly empty)."""
    return f"\nand ({series} offset {offset})"


def _agent_failures(x: Ctx, s: S) -> str:
    agent, threshold = (c.AGENT_NAME,), promql.number(s.threshold)

    def runs(w: str) -> str:
        return x.increase(w, AGENT_RUNS, c.AGENT_DURATION.count, *x.counted(), by=agent)

    def holds(w: str) -> str:
        failed = x.increase(w, AGENT_ERRORS, c.AGENT_DURATION.count, *x.errors(), by=agent)
        return share_exceeds(failed, runs(w), threshold, threshold, s.min_events, s.z_score)

    return any_window(s.windows, holds, lambda w: sparse(runs(w), s))


def _depth(x: Ctx, s: S) -> str:
    agent, threshold = c.AGENT_NAME, promql.number(s.threshold)

    def holds(w: str) -> str:
        total = x.increase(w, REQUESTS, c.AGENT_DEPTH.count, by=(agent,))
        shallow = f"gen_ai_invoke_agent_requests_within_depth{s.max_depth:g}"
        within = x.increase(w, shallow, c.AGENT_DEPTH.bucket, promql.le(s.max_depth), by=(agent,))
        deeper = f"({total} - {within})"
        return share_exceeds(deeper, total, threshold, threshold, s.min_events, s.z_score)

    def few(w: str) -> str:
        return sparse(x.increase(w, REQUESTS, c.AGENT_DEPTH.count, by=(agent,)), s)

    return any_window(s.windows, holds, few)


def _stage(x: Ctx, s: S) -> str:
    excluded = promql.not_in(c.STAGE, s.exclude_stages)
    share = promql.selector(r.STAGE_SHARE, (), *excluded)
    return f"{share} > {promql.number(s.threshold)}"


ALERTS: tuple[AlertDef, ...] = (
    AlertDef(
        name="HighErrorRate",
        tier="app",
        severity="critical",
        for_="5m",
        summary="LLM calls to a model are failing.",
        description=lambda s: (
            f"{PERCENT} of calls to {MODEL} ({PROVIDER}) failed {over(s)}; the threshold is "
            f"{pct(s.threshold)}."
        ),
        expr=lambda x, s: _failing(x, s, ERRORS, *x.errors()),
        params=_failing_params(0.05, "Share of failed calls (Sentry's LLM KPI write-up: 5%)."),
        runbook=Runbook(
            "More than the threshold share of calls to one model ended in an error of any "
            "class other than the ignored ones (a cancelled stream is not a failure).",
            (
                "The provider has an outage or returns 5xx (server_error).",
                "Rate limits (rate_limit) after a traffic increase or a quota change.",
                "An expired or rotated API key (auth).",
                "A deploy or prompt change that sends invalid requests (bad_request, "
                "context_length_exceeded).",
                "A network problem between the app and the provider (connection, timeout).",
            ),
            (
                "Open the panel and see which error_type dominates; each has its own alert.",
                "Check the provider's status page for the model.",
                "Compare with the deploy annotations: did it start with a release or prompt "
                "change?",
            ),
            f"{OVERVIEW} / Errors by class",
        ),
    ),
    _error_class(
        "RateLimited",
        RATE_LIMIT,
        0.05,
        "A model is answering with 429 rate limits.",
        "Calls to the model hit the provider's rate limit (HTTP 429) more often than the "
        "threshold share.",
        (
            "Traffic grew past the account's tokens-per-minute or requests-per-minute limit.",
            "A retry storm multiplying calls (see the retry alert).",
            "A runaway agent loop calling the model in a tight loop.",
            "Another service sharing the same API key or organisation.",
        ),
        (
            "Compare generations by model with the usual shape: a surge, or a loop?",
            "Check the provider's usage page for the organisation's limits.",
            "Look at retries per call: the SDK's own retries add to the 429s.",
        ),
    ),
    _error_class(
        "TimeoutsRising",
        TIMEOUT,
        0.02,
        "Calls to a model are timing out.",
        "Calls to the model hit the client timeout (or HTTP 408) more often than the threshold "
        "share.",
        (
            "The provider is slow or degraded for this model.",
            "Prompts grew (longer inputs take longer) after a prompt or retrieval change.",
            "Output length grew: max_tokens raised, or a prompt asking for longer answers.",
            "A client timeout set too tight for a slower model after a model switch.",
        ),
        (
            "Open the latency panel: did p95 rise before the timeouts?",
            "Compare tokens per request with its baseline.",
            "Check the provider's status page.",
        ),
    ),
    _error_class(
        "OutputParseFailures",
        OUTPUT_PARSE,
        0.02,
        "Structured outputs of a model fail to parse.",
        "Calls that asked for JSON mode or a JSON schema returned output that does not parse "
        "or does not match the schema.",
        (
            "A silent model update or a model switch that formats JSON differently.",
            "A prompt change that conflicts with the schema.",
            "Answers cut off by max_tokens (the JSON never closes).",
            "A provider that ignores response_format for this model.",
        ),
        (
            "Open the structured output validity panel by response model: did a new version "
            "appear?",
            "Look at the finish reasons: truncated outputs point to max_tokens.",
            "Compare with the prompt-version annotations.",
        ),
    ),
    AlertDef(
        name="HighLatencyP95",
        tier="app",
        severity="warning",
        for_="5m",
        summary="p95 latency of a model is high.",
        description=lambda s: (
            f"p95 latency of successful calls to {MODEL} is {SECONDS} {over(s)} "
            f"(threshold {secs(s.threshold)})."
        ),
        expr=lambda x, s: _latency(x, s, 0.95, f"{{value}} > {promql.number(s.threshold)}"),
        params=_latency_params(Param(5.0, "Seconds (5s in the LLM KPI write-ups).")),
        runbook=Runbook(
            "One call in twenty to the model takes longer than the threshold, from request to "
            "last chunk.",
            (
                "The provider is slow or overloaded.",
                "Longer prompts or longer answers.",
                "Retries inside the SDK adding their back-off to the call.",
                "A model switch to a slower model.",
            ),
            (
                "Compare p50 and p95: a fat tail or everything slower?",
                "Compare tokens per request with its baseline.",
                "Check retries per call and the time to first chunk.",
            ),
            f"{OVERVIEW} / Latency p50 / p95",
        ),
    ),
    AlertDef(
        name="LatencyRegression",
        tier="app",
        severity="warning",
        for_="5m",
        keep_firing_for="10m",
        summary="p95 latency of a model regressed against its baseline.",
        description=lambda s: (
            f"p95 latency of {MODEL} is {SECONDS} {over(s)}, more than {times(s.threshold)} "
            "its traffic-weighted baseline."
        ),
        expr=lambda x, s: _latency(
            x,
            s,
            0.95,
            quantile_exceeds(
                "{value}",
                r.baseline(r.HOURLY_LATENCY[95]),
                r.baseline(r.HOURLY_LATENCY[50]),
                s.threshold,
                "{calls}",
                s.z_score,
                0.95,
            )
            + f"\n  and {{value}} > {promql.number(s.floor_seconds)}",
        ),
        params=_latency_params(
            Param(1.2, "Factor over the baseline (20% in the LLM KPI write-ups)."),
            ("floor_seconds", FLOOR_SECONDS),
            ("z_score", z_param(3.0)),
        ),
        runbook=Runbook(
            "p95 latency is more than the threshold factor above its average over the baseline "
            "window (7 days by default): a creep that a fixed threshold would not catch yet.",
            (
                "A provider-side slowdown of this model.",
                "A prompt or retrieval change that made inputs longer.",
                "Answers getting longer.",
                "A change in region or endpoint.",
            ),
            (
                "Overlay the deploy and prompt-version annotations.",
                "Compare tokens per request and time to first chunk with their baselines.",
            ),
            f"{OVERVIEW} / Latency p50 / p95",
        ),
    ),
    AlertDef(
        name="LatencyTailHeavy",
        tier="app",
        severity="info",
        for_="5m",
        summary="The p95 latency of a model is far above its p50.",
        description=lambda s: (
            f"p95 latency of {MODEL} is {NUMBER}x its p50 {over(s)} (threshold "
            f"{times(s.threshold)})."
        ),
        expr=lambda x, s: _latency(
            x,
            s,
            0.95,
            f"{{value}} / {{p50}} > {promql.number(s.threshold)}",
        ),
        params=_latency_params(Param(4.0, "p95 over p50 (3 to 4 at most in the write-ups).")),
        runbook=Runbook(
            "The slowest calls are much slower than the typical one: some requests wait in a "
            "queue, retry, or produce far longer answers.",
            (
                "SDK retries with back-off on some calls.",
                "A mix of short and very long prompts on one model.",
                "Provider-side queuing under load.",
            ),
            ("Look at retries per call.", "Compare the token usage distribution's tail."),
            f"{OVERVIEW} / Latency p50 / p95",
        ),
    ),
    AlertDef(
        name="FirstChunkSlowdown",
        tier="app",
        severity="warning",
        for_="5m",
        summary="Time to first chunk rose while total latency stayed flat.",
        description=lambda s: (
            f"Median time to first chunk of {MODEL} is {SECONDS} {over(s)}, more than "
            f"{times(s.threshold)} its baseline, while total latency stayed within "
            f"{times(s.flat_factor)} of its own."
        ),
        expr=_first_chunk,
        params={
            "threshold": Param(1.5, "Factor of time to first chunk over its baseline."),
            "flat_factor": Param(1.1, "Total latency counts as flat below this factor."),
            "floor_seconds": Param(0.25, "Ignore while the first chunk comes faster."),
            "windows": WINDOWS,
            "min_calls": MIN_CALLS,
        },
        runbook=Runbook(
            "Users wait longer before anything appears, though calls take as long as usual in "
            "total: the wait moved to the start (what users feel most).",
            (
                "Provider-side queueing before generation starts.",
                "Longer prompts (prefill takes longer) with shorter answers.",
                "A proxy or gateway buffering the stream.",
            ),
            (
                "Compare input tokens per request with the baseline.",
                "Check whether a proxy was added or changed between the app and the provider.",
            ),
            f"{OVERVIEW} / Time to first chunk",
        ),
    ),
    AlertDef(
        name="TrafficStopped",
        tier="app",
        severity="critical",
        for_="2m",
        summary="LLM traffic stopped.",
        description=lambda s: (
            f"{where(s)} made {NUMBER} LLM calls over the last {s.windows[0]} or "
            f"{s.windows[1]}, where the hour before made {s.min_expected:g} or more due."
        ),
        expr=lambda x, s: _stopped(x, s, CALLS, c.OPERATION_DURATION.count, *x.counted()),
        params={"windows": WINDOWS, "min_expected": MIN_EXPECTED},
        runbook=Runbook(
            "The application still exposes metrics but has made no LLM call for five minutes, "
            "where it had traffic an hour ago: a flat line is the heartbeat stopping.",
            (
                "The front end or an upstream queue stopped sending requests.",
                "A feature flag or deploy that disabled the LLM path.",
                "Every call stuck before reaching the SDK (a dead lock, an exhausted pool).",
            ),
            ("Check the app's own request metrics and logs.", "Check recent deploys and flags."),
            f"{OVERVIEW} / Generations by model",
        ),
    ),
    AlertDef(
        name="TrafficSurge",
        tier="app",
        severity="warning",
        for_="10m",
        summary="LLM traffic is far above its baseline.",
        description=lambda s: (
            f"{where(s)} made {VALUE} LLM calls {over(s)}, more than {times(s.threshold)} the "
            "usual for this hour (the higher of yesterday's and last week's)."
        ),
        expr=lambda x, s: any_window(
            s.windows,
            lambda w: count_exceeds(
                x.increase(w, CALLS, c.OPERATION_DURATION.count, *x.counted()),
                f"{r.USUAL_OPS_HIGH} * {seconds(w)}",
                s.threshold,
                s.z_score,
            ),
        ),
        params={
            "threshold": Param(3.0, "Factor over the usual for this hour (3x in the write-ups)."),
            "windows": WINDOWS,
            "z_score": z_param(3.0),
        },
        runbook=Runbook(
            "Calls per second are several times their usual level for this hour: a flash "
            "crowd, or a loop. It needs a week of history (last week's hour) before it can fire.",
            (
                "An agent or retry loop calling the model repeatedly.",
                "A batch job or a client retrying aggressively.",
                "Real growth (a launch, a campaign).",
            ),
            (
                "Compare agent depth and invocations per request: a loop shows there.",
                "Compare retries per call.",
                "Check cost per hour against the budget.",
            ),
            f"{OVERVIEW} / Generations by model",
        ),
    ),
    AlertDef(
        name="TrafficDrop",
        tier="app",
        severity="warning",
        for_="5m",
        summary="LLM traffic dropped by half outside quiet hours.",
        description=_drop_description,
        expr=_traffic_drop,
        params={
            "threshold": Param(0.5, "Share of the traffic lost (50% in the write-ups).", "ratio"),
            "windows": WINDOWS,
            "z_score": z_param(3.0),
        },
        runbook=Runbook(
            "Calls per second fell below half of both the same time yesterday and a week ago, "
            "outside the configured quiet hours. It needs a week of history before it can fire.",
            (
                "An outage upstream of the LLM calls (front end, auth, queue).",
                "A deploy that broke one path of the app.",
                "A client integration that stopped calling.",
            ),
            ("Check the app's request metrics and error logs.", "Check the deploy annotations."),
            f"{OVERVIEW} / Generations by model",
        ),
    ),
    AlertDef(
        name="ModelMixShift",
        tier="app",
        severity="warning",
        for_="5m",
        summary="A model's share of the calls moved far from its usual share.",
        description=lambda s: (
            f"The share of calls served by {MODEL} moved {PERCENT} of all calls away from its "
            f"median over the baseline window {over(s)} (threshold {pct(s.threshold)})."
        ),
        expr=_mix_shift,
        params={
            "threshold": Param(0.2, "Points of share (20 in the write-ups).", "ratio"),
            "windows": WINDOWS,
            "z_score": z_param(3.0),
        },
        runbook=Runbook(
            "The routing mix changed: one model takes a very different share of the calls than "
            "over the last week. Routing changes move cost, latency and failure rates.",
            (
                "A routing or fallback rule kicking in (a fallback after errors on the primary).",
                "A feature flag or deploy that changed the model.",
                "A new feature that uses another model.",
            ),
            (
                "Open generations by model and the deploy annotations.",
                "Check errors on the model that lost share: fallbacks follow failures.",
            ),
            f"{OVERVIEW} / Generations by model",
        ),
    ),
    AlertDef(
        name="NewResponseModel",
        tier="app",
        severity="warning",
        for_="5m",
        summary="A model version never seen in the baseline window is answering.",
        description=lambda s: (
            f"{NUMBER} calls/s to {MODEL} are answered by {RESPONSE_MODEL}, which did "
            "not answer in the baseline window before the last hour."
        ),
        expr=_new_response_model,
        runbook=Runbook(
            "The provider reports a response model (a dated snapshot or another model) that "
            "did not answer this request model in the baseline window. Silent upgrades and "
            "routing changes are where quality and JSON formatting break.",
            (
                "The provider moved the alias (gpt-4o) to a new snapshot.",
                "A gateway or router now sends the requests elsewhere.",
                "A deploy changed the model.",
            ),
            (
                "Watch the quality panels (judge scores, structured output validity) for this "
                "response model.",
                "Check the provider's model deprecation notes.",
            ),
            "LLM quality / Response models",
        ),
    ),
    AlertDef(
        name="TokensPerRequestHigh",
        tier="app",
        severity="warning",
        for_="5m",
        summary="Tokens per request rose against the baseline.",
        description=lambda s: (
            f"Calls to {MODEL} use {VALUE} tokens each {over(s)}, more than "
            f"{times(s.threshold)} the baseline."
        ),
        expr=lambda x, s: any_window(
            s.windows,
            lambda w: _per_call(
                x,
                s,
                w,
                ("gen_ai_client_tokens", c.TOKEN_USAGE.sum),
                (INPUT_USAGES, c.TOKEN_USAGE.count),
                r.TOKENS_PER_OP,
                promql.eq(c.TOKEN_TYPE, "input"),
            ),
            lambda w: (
                f"{x.llm_increase(w, INPUT_USAGES, c.TOKEN_USAGE.count, INPUT)} < {s.min_calls}"
            ),
        ),
        params={
            "threshold": Param(1.5, "Factor over the baseline (+50% in the write-ups)."),
            "windows": WINDOWS,
            "min_calls": MIN_CALLS,
        },
        runbook=Runbook(
            "Input plus output tokens per call are well above their usual level. Tokens drive "
            "cost and latency: a prompt that grew from 150 to 500 tokens triples the bill.",
            (
                "A prompt change (longer instructions, more examples).",
                "Retrieval returning more or larger documents into the context.",
                "Longer answers (max_tokens, a prompt asking for detail).",
                "A loop feeding an agent's growing history back.",
            ),
            (
                "Split input from output tokens on the tokens panel.",
                "Check the prompt-version annotations.",
                "Run llm-exporter estimate on the prompt change before the next one.",
            ),
            f"{OVERVIEW} / Tokens per request",
        ),
    ),
    AlertDef(
        name="HourlyTokenSurge",
        tier="app",
        severity="warning",
        for_="10m",
        summary="Tokens used in the last hour are twice the same hour yesterday and last week.",
        description=lambda s: (
            f"{MODEL} used {VALUE} tokens in the last hour, more than "
            f"{times(s.threshold)} the same hour yesterday and a week ago."
        ),
        expr=lambda x, s: (
            f"{r.TOKENS_1H} > {promql.number(s.threshold)} * ("
            f"{r.larger(f'{r.TOKENS_1H} offset 1d', f'{r.TOKENS_1H} offset 1w')})\n"
            f"and {r.TOKENS_1H} > {promql.number(s.min_tokens)}"
            f"{_complete(r.TOKENS_1H, '169h')}"
        ),
        params={
            "threshold": Param(2.0, "Factor over the same hour (2x in the write-ups)."),
            "min_tokens": Param(10000, "Stay quiet below this many tokens an hour."),
        },
        runbook=Runbook(
            "This hour's tokens are more than double the same hour a day ago and a week ago: "
            "traffic, prompt size or a loop. It needs a week of history before it can fire.",
            (
                "A traffic surge (see generations).",
                "Tokens per request up (prompt change).",
                "An agent loop burning tokens.",
            ),
            ("Compare generations and tokens per request to tell which one grew.",),
            f"{OVERVIEW} / Tokens per request",
        ),
    ),
    AlertDef(
        name="DailyBudgetExceeded",
        tier="app",
        severity="warning",
        for_="5m",
        summary="LLM spend in the last 24 hours passed the daily budget.",
        description=lambda s: (
            f"{where(s)} spent ${USD} on LLM calls in the last 24h; the "
            f"daily budget is ${s.config.daily_budget_usd:,.2f}."
        ),
        expr=lambda x, s: f"{r.COST_1D} > {promql.number(s.config.daily_budget_usd)}",
        runbook=Runbook(
            "Spend over the last 24 hours, from the model price table, passed budgets.daily_usd.",
            (
                "More traffic.",
                "More tokens per request (a prompt change).",
                "A switch to a more expensive model.",
                "A loop.",
            ),
            (
                "Open daily cost by model: which model grew?",
                "Compare cost per request with its baseline.",
            ),
            f"{COST} / Daily cost by model",
        ),
    ),
    AlertDef(
        name="DailyBudgetForecast",
        tier="app",
        severity="warning",
        for_="5m",
        summary="LLM spend is on course to pass the daily budget.",
        description=lambda s: (
            f"At the trend of the last {s.lookback}, the 24-hour spend of "
            f"{where(s)} reaches ${USD} within {s.horizon}; the budget is "
            f"${s.config.daily_budget_usd:,.2f}."
        ),
        expr=lambda x, s: (
            f"predict_linear({r.COST_1D}[{s.lookback}], "
            f"{promql.number(promql.parse_duration(s.horizon))}) > "
            f"{promql.number(s.config.daily_budget_usd)}\n"
            f"and {r.COST_1D} <= {promql.number(s.config.daily_budget_usd)}"
        ),
        params={
            "lookback": Param("2h", "The trend is fitted over this window.", "duration"),
            "horizon": Param("6h", "How far ahead to project.", "duration"),
        },
        runbook=Runbook(
            "A linear fit of the 24-hour spend says it will pass budgets.daily_usd within the "
            "horizon: act before the budget alert fires.",
            ("Growing traffic or tokens per request.", "A switch to a more expensive model."),
            ("Open daily cost by model and the forecast.",),
            f"{COST} / Month to date and forecast",
        ),
    ),
    AlertDef(
        name="CostPerRequestDoubled",
        tier="app",
        severity="warning",
        for_="5m",
        summary="Cost per call of a model doubled against its baseline.",
        description=lambda s: (
            f"A call to {MODEL} costs ${USD_PRECISE} on average {over(s)}, more than "
            f"{times(s.threshold)} its baseline."
        ),
        expr=lambda x, s: any_window(
            s.windows,
            lambda w: _per_call(
                x,
                s,
                w,
                (r.COST_BASE, c.COST.name),
                (CALLS, c.OPERATION_DURATION.count),
                r.COST_PER_OP,
                *x.counted(),
            ),
            lambda w: f"{x.llm_calls(w, CALLS, *x.counted())} < {s.min_calls}",
        ),
        params={
            "threshold": Param(2.0, "Factor over the baseline (2x in the write-ups)."),
            "windows": WINDOWS,
            "min_calls": MIN_CALLS,
        },
        runbook=Runbook(
            "Each call costs at least twice what it did on average over the baseline window.",
            (
                "A prompt or retrieval change that grew the input.",
                "Longer answers.",
                "The response model changed to a pricier snapshot.",
                "Cached input no longer hitting (a prompt prefix changed).",
            ),
            ("Compare tokens per request.", "Check the response models panel."),
            f"{COST} / Cost per request",
        ),
    ),
    AlertDef(
        name="CostOutpacingTraffic",
        tier="app",
        severity="warning",
        for_="5m",
        summary="LLM spend grows faster than traffic.",
        description=lambda s: (
            f"Spend of {where(s)} this hour grew {NUMBER}x as fast as its "
            f"traffic against the same hour yesterday (threshold {times(s.threshold)})."
        ),
        expr=lambda x, s: (
            f"({r.COST_1H} / ({r.COST_1H} offset 1d))\n"
            f"/ ({r.APP_OPS_1H} / ({r.APP_OPS_1H} offset 1d)) > {promql.number(s.threshold)}\n"
            f"and {r.COST_1H} > {promql.number(s.min_usd)}"
            f"{_complete(r.COST_1H, '25h')}"
        ),
        params={
            "threshold": Param(1.5, "Cost growth over traffic growth."),
            "min_usd": Param(1.0, "Stay quiet below this spend an hour."),
        },
        runbook=Runbook(
            "Against the same hour yesterday, spend grew much more than the number of calls: "
            "each call got more expensive.",
            (
                "Tokens per request up.",
                "A model switch to a pricier model.",
                "Loops adding calls inside requests that the traffic count does not show.",
            ),
            ("Compare cost per request by model.",),
            f"{COST} / Cost per request",
        ),
    ),
    AlertDef(
        name="ToolTimeouts",
        tier="app",
        severity="warning",
        for_="5m",
        summary="A tool is timing out.",
        description=lambda s: (
            f"{PERCENT} of calls to tool {TOOL} timed out {over(s)} (threshold {pct(s.threshold)})."
        ),
        expr=lambda x, s: _tool_failing(
            x, s, "gen_ai_execute_tool_timeouts", (x.error_class(TIMEOUT),), ()
        ),
        params=_failing_params(0.02, "Share of calls timing out (1 to 2% in the write-ups)."),
        runbook=Runbook(
            "Calls to the tool end in a timeout. Agents often swallow tool timeouts and answer "
            "without the tool's result: a silent quality problem.",
            (
                "The tool's backend (a vector store, a search API) is slow or down.",
                "The tool returns much larger results than before.",
                "A timeout set too tight.",
            ),
            ("Check the tool's p95 and the backend's own dashboards.", "Check result sizes."),
            f"{OVERVIEW} / Tool calls and duration",
        ),
    ),
    AlertDef(
        name="ToolErrors",
        tier="app",
        severity="warning",
        for_="5m",
        summary="A tool's calls fail with one error class.",
        description=lambda s: (
            f"{PERCENT} of calls to tool {TOOL} failed with {ERROR_TYPE_VALUE} {over(s)} "
            f"(threshold {pct(s.threshold)})."
        ),
        expr=_tool_errors,
        params=_failing_params(0.05, "Share of a tool's calls failing with one class."),
        runbook=Runbook(
            "Calls to one tool fail with one error class (timeouts excepted: they have their "
            "own alert) more often than the threshold share. A class the tool never had, "
            "clustering on it, is the typical first sign of a broken dependency.",
            (
                "The service behind the tool changed its API or its credentials expired (auth, "
                "bad_request).",
                "The backend is down or unreachable (connection, server_error).",
                "An agent started calling the tool with arguments it rejects.",
            ),
            (
                "Break the tool's calls down by error_type on the panel.",
                "Compare with the deploy annotations and the backend's own status.",
            ),
            f"{OVERVIEW} / Tool calls and duration",
        ),
    ),
    AlertDef(
        name="ToolLatencyRegression",
        tier="app",
        severity="warning",
        for_="5m",
        keep_firing_for="10m",
        summary="A tool's p95 duration rose against its baseline.",
        description=lambda s: (
            f"p95 duration of tool {TOOL} is {SECONDS} {over(s)}, more than "
            f"{times(s.threshold)} its baseline."
        ),
        expr=_tool_latency,
        params={
            "threshold": Param(1.5, "Factor over the baseline (+50% in the write-ups)."),
            "floor_seconds": Param(0.1, "Ignore while the p95 is below this."),
            "windows": WINDOWS,
            "min_calls": MIN_CALLS,
        },
        runbook=Runbook(
            "The slowest tool calls take much longer than usual.",
            (
                "The backend behind the tool is degrading.",
                "Larger queries or results.",
                "Network between the app and the backend.",
            ),
            ("Open tool calls and duration; check the backend.",),
            f"{OVERVIEW} / Tool calls and duration",
        ),
    ),
    AlertDef(
        name="StageDominant",
        tier="app",
        severity="warning",
        for_="5m",
        summary="One pipeline stage takes most of the time.",
        description=lambda s: (
            f"Stage {STAGE} takes {PERCENT} of the pipeline's time over the "
            f"last 5m (threshold {pct(s.threshold)})."
        ),
        expr=_stage,
        params={
            "threshold": Param(0.6, "Share of the time (60% in the write-ups).", "ratio"),
            "exclude_stages": Param(
                [],
                "Stages never alerted on (a pipeline where one stage is expected to dominate).",
                "list",
            ),
        },
        runbook=Runbook(
            "In a balanced pipeline no stage dominates; one stage now takes most of the time.",
            (
                "Retrieval slowed (a vector store under load, a cold cache).",
                "The LLM stage slowed (see latency).",
                "Post-processing grew (a new guardrail).",
            ),
            ("Open stage durations and the stage's tools.",),
            f"{OVERVIEW} / Stage durations",
        ),
    ),
    AlertDef(
        name="AgentDepthHigh",
        tier="app",
        severity="warning",
        for_="2m",
        summary="Agent runs nest deeper than expected.",
        description=lambda s: (
            f"{PERCENT} of {AGENT} requests nested agents deeper than "
            f"{s.max_depth:g} {over(s)} (threshold {pct(s.threshold)})."
        ),
        expr=_depth,
        params={
            "max_depth": Param(
                3,
                "Deepest normal nesting (above 3 is a runaway loop in the write-ups).",
                "int",
                1,
                c.DEPTH_BUCKETS,
            ),
            "threshold": Param(0.01, "Share of requests allowed deeper.", "ratio"),
            "windows": WINDOWS,
            "min_events": min_events_param(3, "requests nested deeper"),
            "z_score": z_param(2.0),
        },
        runbook=Runbook(
            "Requests spawn agents inside agents deeper than the configured depth: the classic "
            "shape of a runaway loop that burns tokens.",
            (
                "An agent that keeps delegating to itself or to another agent.",
                "A stop condition that no longer triggers after a prompt or model change.",
            ),
            ("Open agent depth and invocations; compare tokens per request.",),
            f"{OVERVIEW} / Agent depth and invocations",
        ),
    ),
    AlertDef(
        name="AgentFanoutSurge",
        tier="app",
        severity="warning",
        for_="5m",
        summary="Agent runs start far more sub-agents and tools than usual.",
        description=lambda s: (
            f"Each {AGENT} run starts {NUMBER} agents and tools on average, more "
            f"than {times(s.threshold)} its baseline."
        ),
        expr=lambda x, s: (
            f"{r.FANOUT_MEAN} > {promql.number(s.threshold)} * "
            f"{r.baseline(r.FANOUT_MEAN)}\nand {r.FANOUT_MEAN} > {promql.number(s.floor)}"
        ),
        params={
            "threshold": Param(3.0, "Factor over the baseline."),
            "floor": Param(2.0, "Ignore while runs start fewer children than this."),
        },
        runbook=Runbook(
            "Each run of the agent invokes many more children (agents and tools) than usual.",
            (
                "A planning step that splits work too finely after a prompt change.",
                "A loop retrying a failing tool.",
            ),
            ("Open agent depth and invocations, and tool errors.",),
            f"{OVERVIEW} / Agent depth and invocations",
        ),
    ),
    AlertDef(
        name="HandoffRateRising",
        tier="app",
        severity="warning",
        for_="5m",
        summary="Requests handed to a person rose above their usual share.",
        description=lambda s: (
            f"{PERCENT} of the requests of {where(s)} were handed to a person {over(s)}, more "
            f"than {times(s.threshold)} the baseline share."
        ),
        expr=_human_handoffs,
        params={
            "threshold": Param(1.5, "Factor over the baseline share."),
            "floor": Param(
                0.01, "Ignore while fewer requests than this are handed to a person.", "ratio"
            ),
            "windows": windows_param("15m", "1h", "handoffs"),
            "min_events": min_events_param(5, "handoffs to a person"),
            "z_score": z_param(3.0),
        },
        runbook=Runbook(
            "More requests end in a handoff to another agent or to a person: the agents cover "
            "less, or users are more frustrated.",
            (
                "A model or prompt change that lowered answer quality.",
                "A new kind of request the agents do not handle.",
                "A tool that fails, so the agent gives up.",
            ),
            ("Break handoffs down by reason and target.", "Compare judge scores and feedback."),
            f"{OVERVIEW} / Handoffs",
        ),
    ),
    AlertDef(
        name="ContextWindowNearlyFull",
        tier="app",
        severity="warning",
        for_="5m",
        summary="Prompts fill most of the model's context window.",
        description=lambda s: (
            f"p95 of the prompt's share of the context window of {MODEL} is "
            f"{PERCENT} (threshold {pct(s.threshold)})."
        ),
        expr=lambda x, s: f"{r.CONTEXT_P95} > {promql.number(s.threshold)}",
        params={"threshold": Param(0.9, "Share of the context window.", "ratio")},
        runbook=Runbook(
            "One prompt in twenty fills most of the context window: the provider starts "
            "rejecting them (context_length_exceeded) or truncating.",
            (
                "A tool returning a huge payload (a JSON dump) into the conversation.",
                "A conversation history that is never trimmed.",
                "Retrieval stuffing too many documents.",
            ),
            ("Check tool result sizes.", "Check errors of class context_length_exceeded."),
            f"{OVERVIEW} / Context window use",
        ),
    ),
    AlertDef(
        name="RetryStorm",
        tier="app",
        severity="warning",
        for_="5m",
        summary="The SDK retries many calls.",
        description=lambda s: (
            f"Calls to {MODEL} are retried {NUMBER} times each on average "
            f"(threshold {s.threshold:g})."
        ),
        expr=lambda x, s: f"{r.RETRIES_PER_OP} > {promql.number(s.threshold)}\nand {_busy(x, s)}",
        params={"threshold": Param(0.5, "Retries per call."), "min_rate": MIN_RATE},
        runbook=Runbook(
            "The SDK retries calls on its own (429, 5xx, timeouts): a retry storm multiplies "
            "load on a struggling provider and burns tokens silently.",
            ("Rate limits or provider errors.", "Timeouts set too tight."),
            ("Open errors by class: retries follow them.",),
            f"{OVERVIEW} / Retries",
        ),
    ),
    AlertDef(
        name="AgentFailures",
        tier="app",
        severity="warning",
        for_="5m",
        summary="Agent runs are failing.",
        description=lambda s: (
            f"{PERCENT} of {AGENT} runs failed {over(s)} (threshold {pct(s.threshold)})."
        ),
        expr=_agent_failures,
        params=_failing_params(0.1, "Share of failed runs."),
        runbook=Runbook(
            "Agent runs end in an exception: a tool, a model call or the agent's own code.",
            (
                "Model errors (see errors by class).",
                "A tool failing or timing out.",
                "A code change in the agent.",
            ),
            ("Break the runs down by error_type.",),
            f"{OVERVIEW} / Agent traffic",
        ),
    ),
    AlertDef(
        name="AgentTrafficStopped",
        tier="app",
        severity="critical",
        for_="2m",
        summary="Agent runs stopped.",
        description=lambda s: (
            f"{AGENT} finished {NUMBER} runs over the last {s.windows[0]} or "
            f"{s.windows[1]}, where the hour before made {s.min_expected:g} or more due."
        ),
        expr=lambda x, s: _stopped(
            x, s, AGENT_RUNS, c.AGENT_DURATION.count, *x.counted(), by=(c.AGENT_NAME,)
        ),
        params={"windows": windows_param("5m", "1h", "runs"), "min_expected": MIN_EXPECTED},
        runbook=Runbook(
            "The agent's runs (its traffic heartbeat) stopped while the app still exposes metrics.",
            (
                "Requests no longer reach the agent (routing, a flag).",
                "The agent hangs before its first step.",
            ),
            ("Check the app's own request metrics and logs.",),
            f"{OVERVIEW} / Agent traffic",
        ),
    ),
)
