"""Knobs and wording shared by several alerts."""

from __future__ import annotations

from ..model import Param, label_template
from ..thresholds import AlertSettings

# The dashboards' titles: runbooks point at "<dashboard> / <panel>", and the dashboards take
# their titles from here.
OVERVIEW, COST, QUALITY, GPU_DASH = "LLM overview", "LLM cost", "LLM quality", "GPUs"

MIN_RATE = Param(0.05, "Stay quiet below this many calls per second (0.05 = 3 a minute), so a "
                 "handful of calls cannot page.")  # fmt: skip
FLOOR_SECONDS = Param(1.0, "Ignore regressions while the value is below this many seconds.")


def pct(share: float) -> str:
    return f"{share * 100:g}%"


def secs(seconds: float) -> str:
    return f"{seconds:g}s"


def times(factor: float) -> str:
    return f"{factor:g}x"


def hours(hour: int) -> str:
    return f"{hour:02d}:00 UTC"


def where(s: AlertSettings) -> str:
    """The aggregation labels as a template ("{{ $labels.job }}"), or "the application"."""
    labels = s.config.aggregate_by
    if not labels:
        return "the application"
    return "/".join(label_template(label) for label in labels)
