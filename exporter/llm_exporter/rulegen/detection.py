"""How long a guarded alert takes to fire at a given traffic: the runbook's detection table.

The guards of evidence.py trade speed for certainty at low volume. This works the trade out for
the configured windows, minimum counts and z-scores, in expectation: an incident moves a share
from its normal value to a bad one at minute 0, events arrive at a steady rate, and the alert
fires at the first minute when some window holds the evidence, plus its ``for``. Real traffic is
noisier, so read the figures as typical, not as bounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import promql
from .evidence import STILL
from .thresholds import AlertSettings

# Events a minute of the thing the alert counts, from a very small app to a large one.
RATES = (1.0, 5.0, 50.0, 500.0)


@dataclass(frozen=True)
class Incident:
    """A share moving from ``normal`` to ``bad`` (e.g. errors 0.5% -> 12%)."""

    alert: str
    what: str  # "calls", "tool calls", "feedback events"...
    normal: float
    bad: float
    factor_of_normal: bool = False  # the threshold is a factor over the normal share
    confirmed: bool = False  # the short window must hold over the last STILL too


INCIDENTS = (
    Incident("HighErrorRate", "calls", 0.005, 0.12, confirmed=True),
    Incident("ToolTimeouts", "tool calls", 0.001, 0.08),
    Incident("ThumbsDownRising", "feedback events", 0.06, 0.25, factor_of_normal=True),
    Incident("StructuredOutputInvalid", "output checks", 0.004, 0.15),
)


def _minutes(d: str) -> float:
    return promql.parse_duration(d) / 60


def minutes_to_detect(s: AlertSettings, incident: Incident, rate: float) -> float | None:
    """Minutes from the incident's start to the alert firing, or None when no window ever
    holds enough events at this rate."""
    threshold = s.threshold * incident.normal if incident.factor_of_normal else s.threshold
    threshold = max(threshold, getattr(s, "floor", 0.0))
    null = incident.normal if incident.factor_of_normal else s.threshold
    short = s.windows[0]
    for minute in range(1, int(_minutes(s.windows[-1])) + 1):
        for window in s.windows:
            length = _minutes(window)
            inside = min(minute, length)
            total = rate * length
            bad = rate * (incident.bad * inside + incident.normal * (length - inside))
            # the arcsine-scale test of evidence.share_exceeds
            arcsine = math.asin(math.sqrt(bad / total)) - math.asin(math.sqrt(null))
            z = 2 * math.sqrt(total) * arcsine
            held = bad / total > threshold and bad >= s.min_events and z > s.z_score
            if window == short and incident.confirmed:  # the last STILL must be bad too
                held = held and minute >= _minutes(STILL)
            if held:
                return minute + _minutes(s.for_)
    return None


def table(alerts: dict[str, AlertSettings]) -> list[str]:
    """The Markdown table of minutes to detect per alert and events a minute."""
    head = " | ".join(f"{r:g}/min" for r in RATES)
    lines = [f"| alert | incident | {head} |", "|---|---|" + "---:|" * len(RATES)]
    for incident in INCIDENTS:
        s = alerts[incident.alert]
        cells = []
        for rate in RATES:
            found = minutes_to_detect(s, incident, rate)
            cells.append(f"{found:.0f} min" if found is not None else "not within " + s.windows[-1])
        change = f"{incident.what}: {incident.normal:.1%} → {incident.bad:.0%} bad"
        lines.append(f"| {s.name} | {change} | {' | '.join(cells)} |")
    return lines
