"""SLO burn-rate alerts, per model: multi-window, multi-burn-rate, as the SRE workbook sets them.

One rule per window pair, the pair in the ``long_window``/``short_window`` labels:
5m/1h at 14.4x and 30m/6h at 6x page (critical), 2h/1d at 3x and 6h/3d at 1x open a ticket
(warning). Each rule keeps firing for a while after its short window dips below the burn rate
(``keep_firing_for``), so a burn that continues does not resolve and re-fire its alert as the
short window wobbles; Alertmanager groups the pairs by alertname and model, so a pair taking
over from another updates the same notification instead of sending a new one.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import promql
from .. import recording as r
from ..model import MODEL, PERCENT, AlertDef, Ctx, Param, Runbook, Variant
from ..thresholds import AlertSettings
from .common import MIN_RATE, pct

S = AlertSettings
PAGE_KEEP, TICKET_KEEP = "5m", "15m"


def _variants(
    ratio_of: Callable[[str], str],
    objective_of: Callable[[S], float],
    describe: Callable[[S, str, str], str],
) -> Callable[[Ctx, S], list[Variant]]:
    def variants(x: Ctx, s: S) -> list[Variant]:
        objective = objective_of(s)
        out = []
        for long, short, factor, pages in r.SLO_PAIRS:
            burn = promql.number(round(factor * (1 - objective), 6))
            expr = (f"{ratio_of(long)} > {burn}\nand {ratio_of(short)} > {burn}\n"
                    f"and {r.OPS_1H} > {promql.number(s.min_rate)}")  # fmt: skip
            out.append(Variant(
                expr=expr,
                labels={"long_window": long, "short_window": short},
                severity=s.page_severity if pages else s.ticket_severity,
                for_=s.page_for if pages else s.ticket_for,
                keep_firing_for=PAGE_KEEP if pages else TICKET_KEEP,
                # A rule's own labels are not in $labels when annotations are expanded, so
                # each pair's windows are written into its description.
                description=describe(s, long, short),
            ))  # fmt: skip
        return out

    return variants


def _availability(s: S, long: str, short: str) -> str:
    objective = pct(s.config.availability_objective)
    return (f"{PERCENT} of calls to {MODEL} failed over the last {long} (and its {short}), "
            f"burning the error budget of the {objective} objective too fast.")  # fmt: skip


def _latency(s: S, long: str, short: str) -> str:
    objective = pct(s.config.latency_objective)
    return (f"{PERCENT} of successful calls to {MODEL} took longer than "
            f"{s.config.latency_threshold_s:g}s over the last {long} (and its {short}), "
            f"burning the budget of the {objective} objective too fast.")  # fmt: skip


_KNOBS = {
    "page_severity": Param("critical", "Severity of the 5m/1h and 30m/6h pairs.", "severity"),
    "ticket_severity": Param("warning", "Severity of the 2h/1d and 6h/3d pairs.", "severity"),
    "page_for": Param("2m", "for: of the paging pairs.", "duration"),
    "ticket_for": Param("15m", "for: of the ticket pairs.", "duration"),
    "min_rate": MIN_RATE,
}

ALERTS: tuple[AlertDef, ...] = (
    AlertDef(
        name="ErrorBudgetBurn",
        tier="app",
        summary="A model is burning its availability error budget too fast.",
        variants=_variants(r.error_ratio, lambda s: s.config.availability_objective, _availability),
        params=_KNOBS,
        runbook=Runbook(
            "The failure ratio over both windows of the pair burns the error budget of "
            "slos.availability.objective fast enough to spend it early: at 14.4x a 30-day "
            "budget is gone in about 2 days, at 1x in the 30 days. Paging pairs call for "
            "action now, ticket pairs for action this week.",
            (
                "Any of the error classes (see errors by class).",
                "A slow burn from a steady low error rate (ticket pairs).",
            ),
            ("Open errors by class for the model and the window of the pair.",),
            "LLM overview / Errors by class",
        ),
    ),
    AlertDef(
        name="LatencyBudgetBurn",
        tier="app",
        summary="A model is burning its latency error budget too fast.",
        variants=_variants(r.slow_ratio, lambda s: s.config.latency_objective, _latency),
        params=_KNOBS,
        runbook=Runbook(
            "Too many successful calls exceed slos.latency.threshold_seconds for "
            "slos.latency.objective to hold, over both windows of the pair.",
            ("Provider slowness.", "Longer prompts or answers.", "Retries adding back-off."),
            ("Open latency p50 / p95 and tokens per request for the model.",),
            "LLM overview / Latency p50 / p95",
        ),
    ),
)
