"""App tier, budgets: a team's or a feature's daily budget, month-to-date spend against last
month's, and the per-user daily cap. The figures come from the thresholds file's ``budgets``
section; the team and feature budgets read the attribution labels of the cost counter (spend
without attribution is in the job's own budget, budgets.daily_usd, only)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ... import catalog as c
from .. import promql
from .. import recording as r
from ..model import NUMBER, USD, AlertDef, Ctx, Param, Runbook, Variant, label_template
from ..thresholds import AlertSettings, Config
from .common import COST, times, where

S = AlertSettings
_MIN_USD = Param(10.0, "Stay quiet while last month's spend to the same point (or in total, for "
                 "the forecast) is below this many US dollars.")  # fmt: skip


def _per_name(
    label: str,
    record: str,
    budgets: Callable[[Config], Mapping[str, float]],
    default: Callable[[Config], float],
) -> Callable[[Ctx, S], list[Variant]]:
    """One rule per listed budget, and one for every other value under the default budget.
    A listed budget of 0 exempts that value."""

    def describe(s: S, usd: float) -> str:
        return (f"{label.capitalize()} {label_template(label)} of {where(s)} spent ${USD} on LLM "
                f"calls in the last 24h; its daily budget is ${usd:,.2f}.")  # fmt: skip

    def variants(x: Ctx, s: S) -> list[Variant]:
        listed = budgets(s.config)
        out = [
            Variant(f"{promql.selector(record, (), promql.eq(label, name))} > "
                    f"{promql.number(usd)}", {}, s.severity, s.for_, describe(s, usd),
                    s.keep_firing_for)
            for name, usd in listed.items() if usd > 0
        ]  # fmt: skip
        fallback = default(s.config)
        if fallback > 0:
            others = promql.selector(record, (), *promql.not_in(label, listed))
            out.append(Variant(f"{others} > {promql.number(fallback)}", {}, s.severity, s.for_,
                               describe(s, fallback), s.keep_firing_for))  # fmt: skip
        return out

    return variants


MONTH_TO_DATE_HIGH = "MonthToDateSpendHigh"


def _month_to_date_high(x: Ctx, s: S) -> str:
    return (f"{r.MONTH_TO_DATE} / {r.LAST_MONTH_TO_DATE} > "
            f"{promql.number(s.config.month_over_month)}\n"
            f"and {x.on()} {r.LAST_MONTH_TO_DATE} > {promql.number(s.min_usd)}\n"
            f"and {x.on()} {r.LAST_MONTH}")  # fmt: skip


def _forecast(x: Ctx, s: S) -> str:
    """The month's forecast against last month's total; it gives way to MonthToDateSpendHigh
    while that one fires (its whole condition, guard included), and only then."""
    factor = promql.number(s.config.month_over_month)
    forecast = f"({r.MONTH_TO_DATE} + {r.COST_1D} * {promql.REMAINING_DAYS_IN_MONTH})"
    expr = (f"{forecast} / {r.LAST_MONTH} > {factor}\n"
            f"and {r.LAST_MONTH} > {promql.number(s.min_usd)}")  # fmt: skip
    month_to_date = s.config.alerts.get(MONTH_TO_DATE_HIGH)
    if month_to_date is not None and month_to_date.enabled:
        expr += f"\nunless {x.on()} (\n{_month_to_date_high(x, month_to_date)}\n)"
    return expr


ALERTS: tuple[AlertDef, ...] = (
    AlertDef(
        name="TeamDailyBudgetExceeded",
        tier="app",
        summary="A team's LLM spend in the last 24 hours passed its daily budget.",
        variants=_per_name(
            c.TEAM,
            r.TEAM_COST_1D,
            lambda cfg: cfg.team_budgets_usd,
            lambda cfg: cfg.team_default_budget_usd,
        ),
        shared_knobs=True,
        runbook=Runbook(
            "Spend attributed to the team (the team label the application sets with "
            "llm_exporter.attribute) over the last 24 hours passed its budget: "
            "budgets.team_daily_usd for the teams listed there, budgets.team_default_daily_usd "
            "for the others. A listed budget of 0 exempts a team.",
            (
                "More traffic from the team's features.",
                "A prompt change in one of its features (tokens per request up).",
                "A switch to a more expensive model.",
                "A loop in one of its agents.",
            ),
            (
                "Open daily cost by team, then daily cost by feature: which feature grew?",
                "Compare tokens per request and the prompt-version annotations.",
                "Run llm-exporter estimate on the prompt change before the next one.",
            ),
            f"{COST} / Daily cost by team",
        ),
    ),
    AlertDef(
        name="FeatureDailyBudgetExceeded",
        tier="app",
        summary="A feature's LLM spend in the last 24 hours passed its daily budget.",
        variants=_per_name(
            c.FEATURE,
            r.FEATURE_COST_1D,
            lambda cfg: cfg.feature_budgets_usd,
            lambda cfg: cfg.feature_default_budget_usd,
        ),
        shared_knobs=True,
        runbook=Runbook(
            "Spend attributed to the feature (or route: the feature label) over the last 24 "
            "hours passed its budget: budgets.feature_daily_usd for the features listed there, "
            "budgets.feature_default_daily_usd for the others.",
            (
                "The feature's traffic grew (a launch, a campaign, a client retrying).",
                "Its prompt grew: a prompt that goes from 150 to 500 tokens triples its bill.",
                "Its model changed to a pricier one.",
            ),
            (
                "Open daily cost by feature and tokens per second by team.",
                "Check the prompt-version annotations against the rise.",
            ),
            f"{COST} / Daily cost by feature",
        ),
    ),
    AlertDef(
        name=MONTH_TO_DATE_HIGH,
        tier="app",
        severity="warning",
        for_="15m",
        summary="Spend this month is far above last month's at the same point.",
        description=lambda s: (
            f"Month-to-date LLM spend of {where(s)} is {NUMBER}x what it was at the same point "
            f"last month (threshold {times(s.config.month_over_month)})."
        ),
        expr=_month_to_date_high,
        params={"min_usd": _MIN_USD},
        runbook=Runbook(
            "Spend since the first of the month (UTC) is more than budgets.month_over_month "
            "times the spend of last month to the same day and hour. PromQL has no 'since the "
            "first of the month' window, so the recording rules keep one sample an hour of the "
            "hour's spend, labelled with its month (count_values), and sum this month's "
            "samples over a fixed 31-day range; last month's figure is that series one "
            "previous-month-length (28 to 31 days) ago. On the 29th to 31st after a shorter "
            "month there is no same point, and this alert waits for the forecast's. Last month "
            "counts only when 95% of its hours have data (a deployment younger than a month, "
            "or a Prometheus down for days, stays quiet), and the rules read 62 days back: "
            "keep Prometheus's retention (or a long-term store's) above 63 days, or these "
            "alerts never fire.",
            (
                "Traffic grew this month.",
                "A prompt or model change raised the cost per request.",
                "A feature launched this month.",
            ),
            (
                "Open daily cost by team and by feature: where did the growth start?",
                "Compare cost per request now with a month ago.",
            ),
            f"{COST} / Month to date and forecast",
        ),
    ),
    AlertDef(
        name="MonthlySpendForecastHigh",
        tier="app",
        severity="warning",
        for_="30m",
        summary="This month's spend is on course to end far above last month's.",
        description=lambda s: (
            f"At the spend rate of the last 24h, the month-end LLM spend of {where(s)} comes to "
            f"{NUMBER}x last month's total (threshold {times(s.config.month_over_month)})."
        ),
        expr=_forecast,
        params={"min_usd": _MIN_USD},
        runbook=Runbook(
            "Month to date plus the last 24 hours' spend rate for the rest of the month (UTC) "
            "comes to more than budgets.month_over_month times last month's total. It gives way "
            "to MonthToDateSpendHigh once the month to date itself is past the factor. Month "
            "to date and last month are recorded as that alert's runbook says (retention above "
            "63 days).",
            (
                "A recent rise in traffic or cost per request that the month to date does not "
                "show yet.",
                "A launch or a prompt change in the last days.",
            ),
            (
                "Open month to date and forecast, and daily cost by model: when did the daily "
                "spend step up?",
            ),
            f"{COST} / Month to date and forecast",
        ),
    ),
    AlertDef(
        name="UserDailyCapExceeded",
        tier="app",
        severity="warning",
        for_="5m",
        summary="A user's LLM spend today passed the per-user daily cap.",
        description=lambda s: (
            f"The top user of {where(s)} spent ${USD} on LLM calls today (UTC); the per-user "
            f"daily cap is ${s.config.user_daily_cap_usd:,.2f}."
        ),
        expr=lambda x, s: (
            f"max {x.by()} ({x.app(c.USER_TOP_SPEND.name, promql.eq('period', c.PERIOD_DAY))}) > "
            f"{promql.number(s.config.user_daily_cap_usd)}"
        ),
        runbook=Runbook(
            "A user (set with llm_exporter.attribute(user=...)) spent more today than "
            "budgets.user_daily_usd. No user id is a label: the application's in-process "
            f"tracker exposes the top users' spend by rank ({c.USER_TOP_SPEND.name}) and the "
            f"number of users over the cap and near it ({c.USERS_OVER_DAILY_CAP.name}).",
            (
                "A heavy user, or a script or integration calling in a loop.",
                "Abuse: a leaked key or account.",
                "A feature that answers one user with many calls (an agent loop).",
            ),
            (
                "Open the top users' spend and the users over the cap: one user or many?",
                "Find the user in the application's own logs (the id never reaches Prometheus).",
            ),
            f"{COST} / Top users' spend",
        ),
    ),
)
