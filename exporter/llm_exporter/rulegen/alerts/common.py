"""Knobs and wording shared by several alerts."""

from __future__ import annotations

from ..evidence import min_events_param, windows_param
from ..model import Param, label_template
from ..thresholds import AlertSettings

# The dashboards' titles: runbooks point at "<dashboard> / <panel>", and the dashboards take
# their titles from here.
OVERVIEW, COST, QUALITY, GPU_DASH = "LLM overview", "LLM cost", "LLM quality", "GPUs"

MIN_RATE = Param(0.05, "Stay quiet below this many calls per second (0.05 = 3 a minute), so a "
                 "handful of calls cannot page.")  # fmt: skip
# The guards of evidence.py, with the defaults most alerts share: 5 minutes (the write-ups'
# window) at volume, 30 minutes when calls are too few for it.
WINDOWS = windows_param("5m", "30m", "calls")
MIN_FAILURES = min_events_param(5, "failures")
MIN_CALLS = Param(50, "Fewest calls in a window before its quantile or mean can fire (a p95 "
                  "needs 20 calls to have one above it).", "int", minimum=20)  # fmt: skip
MIN_EXPECTED = Param(10, "Calls the hour before must have made due in a silent window before "
                     "its silence counts (no call by luck: e^-10, 1 in 22,000).",
                     minimum=1)  # fmt: skip
FLOOR_SECONDS = Param(1.0, "Ignore regressions while the value is below this many seconds.")


def pct(share: float) -> str:
    return f"{share * 100:g}%"


def secs(seconds: float) -> str:
    return f"{seconds:g}s"


def times(factor: float) -> str:
    return f"{factor:g}x"


def hours(hour: int) -> str:
    return f"{hour:02d}:00 UTC"


def over(s: AlertSettings) -> str:
    """Which windows the value comes from, for an alert with the windows knob."""
    short, long = s.windows
    return f"over the last {short} (or {long} when {short} has too few events)"


def where(s: AlertSettings) -> str:
    """The aggregation labels as a template ("{{ $labels.job }}"), or "the application"."""
    labels = s.config.aggregate_by
    if not labels:
        return "the application"
    return "/".join(label_template(label) for label in labels)
