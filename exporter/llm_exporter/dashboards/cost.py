"""LLM cost: spend by model against the daily budget, cost per request, month to date and its
forecast, and the calls no price covers."""

from __future__ import annotations

from .. import catalog as c
from ..rulegen import promql
from ..rulegen.thresholds import Config
from . import queries as q
from .common import COST_UID, OVERVIEW_UID, annotations, variables
from .model import Dashboard, Panel, Row, Target

TITLE = "LLM cost"
MODEL = c.REQUEST_MODEL
BUDGET = "daily budget"


def build(config: Config) -> Dashboard:
    counted = q.counted(config.ignored_error_values())
    cost = c.COST.name
    month_to_date = f"sum (increase({q.sel(cost, q.LLM)}[$__range]))"
    remaining_days = "(days_in_month() - day_of_month())"
    forecast = (
        f"{month_to_date}\n+\n{q.sum_rate((), cost, q.LLM, window='1d')} * 86400 * {remaining_days}"
    )
    spend = Row("Spend", (
        Panel("Daily cost by model", "Spend over the trailing day (1d) by model, stacked, against "
              f"the daily budget (budgets.daily_usd, ${config.daily_budget_usd:,.2f}) as a dashed "
              "line.", "currencyUSD",
              (Target(f"sum by ({MODEL}) (increase({q.sel(cost, q.LLM)}[1d]))",
                      "{{gen_ai_request_model}}"),
               Target(f"vector({promql.number(config.daily_budget_usd)})", BUDGET)),
              stacked=True, reference_series=(BUDGET,), width=16, height=9),
        Panel("Month to date and forecast", "Spend since the first of the month, and where it "
              "ends if the last day's (1d) rate holds for the days left.", "currencyUSD",
              (Target(month_to_date, "month to date", instant=True),
               Target(forecast, "month-end forecast", instant=True)),
              kind="stat", time_from="now/M", width=8, height=9, decimals=2),
    ))  # fmt: skip
    unit = Row("Per request", (
        Panel("Cost per request", "Mean spend per call by model. Doubling after a prompt or "
              "routing change is the seed's alert.", "currencyUSD",
              (Target(f"{q.sum_rate((MODEL,), cost, q.LLM)}\n/\n"
                      f"{q.sum_rate((MODEL,), c.OPERATION_DURATION.count, q.LLM, *counted)}",
                      "{{gen_ai_request_model}}"),), decimals=5),
        Panel("Cost per hour by model", "Spend per hour at the current rate, by model.",
              "currencyUSD",
              (Target(f"{q.sum_rate((MODEL,), cost, q.LLM)} * 3600", "{{gen_ai_request_model}}"),),
              stacked=True),
        Panel("Unpriced calls", "Calls per second to models the price table does not know: they "
              "add no cost, so add their prices (LLM_EXPORTER_MODELS).", "reqps",
              (Target(q.sum_rate((c.RESPONSE_MODEL,), c.UNPRICED_OPERATIONS.name,
                                 (q.JOB, q.PROVIDER)), "{{gen_ai_response_model}}"),)),
    ))  # fmt: skip
    return Dashboard(
        uid=COST_UID, title=TITLE,
        description="What the LLM calls cost: by model, per request, per day against the budget, "
        "and month to date.",
        tags=("llm-exporter", "llm", "cost"), rows=(spend, unit), variables=variables(),
        annotations=annotations(), time_from="now-7d", links=((("LLM overview", OVERVIEW_UID)),),
    )  # fmt: skip
