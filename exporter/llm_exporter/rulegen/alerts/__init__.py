"""Every alert of the rule pack, in the order the files and the runbook list them."""

from __future__ import annotations

from ..model import AlertDef
from . import app, infra, quality, slo

ALERTS: tuple[AlertDef, ...] = (*infra.ALERTS, *app.ALERTS, *slo.ALERTS, *quality.ALERTS)
