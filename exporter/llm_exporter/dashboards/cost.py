"""LLM cost: spend by model against the daily budget, cost per request, month to date and its
forecast, the calls no price covers; spend by team, feature and tenant (the attribution labels)
against their budgets; and the per-user budget tracker's counts."""

from __future__ import annotations

from collections.abc import Mapping

from .. import catalog as c
from ..rulegen import promql, recording
from ..rulegen.alerts import common as titles
from ..rulegen.thresholds import Config
from . import queries as q
from .common import COST_UID, OVERVIEW_UID, cost_per_hour_by_model, deploy_annotations, variables
from .model import Dashboard, Panel, Row, Target

TITLE = titles.COST
MODEL = c.REQUEST_MODEL
BUDGET = "daily budget"
TEAM_BUDGET, FEATURE_BUDGET, USER_CAP = "team budget", "feature budget", "per-user cap"


def build(config: Config) -> Dashboard:
    counted = q.counted(config.ignored_error_values())
    cost = c.COST.name
    month_to_date = f"sum (increase({q.sel(cost, q.LLM)}[$__range]))"
    forecast = (f"{month_to_date}\n+\n{q.sum_rate((), cost, q.LLM, window='1d')} * 86400 * "
                f"{promql.REMAINING_DAYS_IN_MONTH}")  # fmt: skip
    spend = Row("Spend", (
        Panel("Daily cost by model", "Spend over the trailing day (1d) by model, stacked, against "
              f"the daily budget (budgets.daily_usd, ${config.daily_budget_usd:,.2f}) as a dashed "
              "line.", "currencyUSD",
              (Target(f"sum by ({MODEL}) (increase({q.sel(cost, q.LLM)}[1d]))",
                      "{{gen_ai_request_model}}"),
               Target(f"vector({promql.number(config.daily_budget_usd)})", BUDGET)),
              stacked=True, reference_series=(BUDGET,), width=16, height=9),
        Panel("Month to date and forecast", "Spend since the first of the month, and where it "
              "ends if the last day's (1d) rate holds for the days left. The month-over-month "
              "alerts compare the same figures with last month's (recorded as "
              f"{recording.MONTH_TO_DATE}, {recording.LAST_MONTH_TO_DATE}, "
              f"{recording.LAST_MONTH}).",
              "currencyUSD",
              (Target(month_to_date, "month to date", instant=True),
               Target(forecast, "month-end forecast", instant=True)),
              kind="stat", time_from="now/M", width=8, height=9, decimals=2),
    ))  # fmt: skip
    unit = Row("Per request", (
        Panel("Cost per request", "Mean spend per call by model. Doubling after a prompt or "
              "routing change is an alert in the LLM cost write-ups.", "currencyUSD",
              (Target(f"{q.sum_rate((MODEL,), cost, q.LLM)}\n/\n"
                      f"{q.sum_rate((MODEL,), c.OPERATION_DURATION.count, q.LLM, *counted)}",
                      "{{gen_ai_request_model}}"),), decimals=5),
        cost_per_hour_by_model("Spend per hour at the current rate, by model."),
        Panel("Unpriced calls", "Calls per second to models the price table does not know: they "
              "add no cost, so add their prices (LLM_EXPORTER_MODELS).", "reqps",
              (Target(q.sum_rate((c.RESPONSE_MODEL,), c.UNPRICED_OPERATIONS.name,
                                 (q.JOB, q.PROVIDER)), "{{gen_ai_response_model}}"),)),
    ))  # fmt: skip
    return Dashboard(
        uid=COST_UID, title=TITLE,
        description="What the LLM calls cost: by model, per request, per day against the budget, "
        "month to date, by team, feature and tenant, and per user.",
        tags=("llm-exporter", "llm", "cost"), rows=(spend, unit, _attribution(config),
                                                    _users(config)), variables=variables(),
        annotations=deploy_annotations(), time_from="now-7d",
        links=((("LLM overview", OVERVIEW_UID)),),
    )  # fmt: skip


def _daily_by(label: str, budget: float, legend: str) -> tuple[Target, ...]:
    """Attributed spend over the trailing day by ``label``, and the default budget's line."""
    cost = q.sel(c.COST.name, q.LLM, promql.ne(label, ""))
    spend = Target(f"sum by ({label}) (increase({cost}[1d]))", "{{" + label + "}}")
    if budget <= 0:
        return (spend,)
    return (spend, Target(f"vector({promql.number(budget)})", legend))


def _budgets_text(what: str, listed: Mapping[str, float], default: float) -> str:
    named = ", ".join(f"{name} ${usd:,.2f}" for name, usd in listed.items())
    line = (
        f"the dashed line is the default {what} budget (budgets.{what}_default_daily_usd, "
        f"${default:,.2f})"
        if default > 0
        else f"no default {what} budget is set"
    )
    return f"{line}{'; listed: ' + named if named else ''}"


def _attribution(config: Config) -> Row:
    tokens = c.TOKENS.name
    by_tenant = q.sum_rate((c.TENANT,), c.COST.name, q.LLM, promql.ne(c.TENANT, ""))
    teams, features = config.team_budgets_usd, config.feature_budgets_usd
    return Row("Attribution", (
        Panel("Daily cost by team", "Spend over the trailing day (1d) by team, from the "
              "attribution the application sets (llm_exporter.attribute); unattributed spend is "
              f"left out; {_budgets_text('team', teams, config.team_default_budget_usd)}.",
              "currencyUSD",
              _daily_by(c.TEAM, config.team_default_budget_usd, TEAM_BUDGET),
              reference_series=(TEAM_BUDGET,), width=12),
        Panel("Daily cost by feature", "Spend over the trailing day (1d) by feature (or route); "
              f"{_budgets_text('feature', features, config.feature_default_budget_usd)}.",
              "currencyUSD",
              _daily_by(c.FEATURE, config.feature_default_budget_usd, FEATURE_BUDGET),
              reference_series=(FEATURE_BUDGET,), width=12),
        Panel("Cost per hour by tenant", "Spend per hour at the current rate of the ten tenants "
              "spending most.", "currencyUSD",
              (Target(f"topk(10, {by_tenant} * 3600)", "{{tenant}}"),), stacked=True),
        Panel("Tokens per second by team", "Input and output tokens per second by team, from "
              f"{tokens} (the same tokens as the conventions' histogram, with attribution).",
              "short",
              (Target(q.sum_rate((c.TEAM, c.TOKEN_TYPE), tokens, q.QUALITY),
                      "{{team}} {{gen_ai_token_type}}"),), stacked=True),
    ))  # fmt: skip


def _users(config: Config) -> Row:
    users = q.APP
    cap = config.user_daily_cap_usd
    today = q.sel(c.USER_TOP_SPEND.name, users, promql.eq("period", c.PERIOD_DAY))
    return Row("Users", (
        Panel("Users over the daily cap", "Users whose spend today (UTC) is above the per-user "
              "daily cap (cap_share 1) and above the warning share of it, from each process's "
              "tracker and its cap (LLM_EXPORTER_USER_DAILY_CAP_USD). No user id is exposed.",
              "short",
              (Target(f"sum by (cap_share) ({q.sel(c.USERS_OVER_DAILY_CAP.name, users)})",
                      "over {{cap_share}} of the cap"),), minimum=0),
        Panel("Top users' spend", "Spend today (UTC) of the top users by rank, the highest of "
              f"any process; the dashed line is the per-user cap (budgets.user_daily_usd, "
              f"${cap:,.2f}) the alert compares rank 1 with.", "currencyUSD",
              (Target(f"max by (rank) ({today})", "#{{rank}}"),
               Target(f"vector({promql.number(cap)})", USER_CAP)),
              reference_series=(USER_CAP,)),
        Panel("Tracked users", "Users the per-user trackers hold, and users dropped per second "
              "because a tracker was full (their spend is then forgotten: raise "
              "LLM_EXPORTER_USER_TRACKER_SIZE).", "short",
              (Target(f"sum ({q.sel(c.TRACKED_USERS.name, users)})", "tracked"),
               Target(q.or_zero(q.sum_rate((), c.TRACKED_USERS_EVICTED.name, users)),
                      "evicted per second"))),
    ))  # fmt: skip
