"""Every alert of the rule pack, in the order the files and the runbook list them."""

from __future__ import annotations

from ..model import AlertDef
from . import app, budgets, infra, quality, retrieval, slo

ALERTS: tuple[AlertDef, ...] = (*infra.ALERTS, *app.ALERTS, *budgets.ALERTS, *slo.ALERTS,
                                 *quality.ALERTS, *retrieval.ALERTS)  # fmt: skip
