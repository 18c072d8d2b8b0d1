"""The replay's table and its verdict against the targets (every incident detected, median
time to detect 7 minutes or less, no alert in the normal week)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .evaluate import Firing, firings
from .scenarios import Scenario

TARGET_MEDIAN_MINUTES = 7.0


@dataclass(frozen=True)
class Outcome:
    scenario: Scenario
    firings: list[Firing]
    seconds: float  # how long promtool took

    @property
    def before(self) -> list[Firing]:
        """Alerts during the history before the incident (or before the scored week)."""
        return [f for f in self.firings if f.minute < self.scenario.start]

    @property
    def after(self) -> list[Firing]:
        return [f for f in self.firings if f.minute >= self.scenario.start]

    @property
    def detect_minutes(self) -> float | None:
        after = self.after
        return after[0].minute - self.scenario.start if after else None


def run(scenarios: Iterable[Scenario], rules_dir: Path, progress=None) -> list[Outcome]:  # type: ignore[no-untyped-def]
    outcomes = []
    for scenario in scenarios:
        began = time.monotonic()
        found = firings(scenario, rules_dir)
        outcomes.append(Outcome(scenario, found, time.monotonic() - began))
        if progress is not None:
            progress(outcomes[-1])
    return outcomes


def _alerts(found: list[Firing]) -> str:
    """The alerts that fired, each once, in the order they first did."""
    return ", ".join(dict.fromkeys(f.alert for f in found)) or "none"


def report(outcomes: list[Outcome]) -> tuple[str, bool]:
    """The Markdown table, and whether every target was met."""
    incidents = [o for o in outcomes if o.scenario.incident]
    lines = ["| incident | what happens | first alert | time to detect | then |",
             "|---|---|---|---:|---|"]  # fmt: skip
    for o in incidents:
        after, detect = o.after, o.detect_minutes
        first = after[0].alert if after else "**not detected**"
        when = f"{detect:.0f} min" if detect is not None else "—"
        others = [a for a in dict.fromkeys(f.alert for f in after[1:]) if a != first]
        lines.append(f"| {o.scenario.name} | {o.scenario.summary} | {first} | {when} | "
                     f"{', '.join(others[:4]) or '—'} |")  # fmt: skip
    times = [o.detect_minutes for o in incidents if o.detect_minutes is not None]
    median = statistics.median(times) if times else None
    lines.append("")
    detected = f"{len(times)} of {len(incidents)} incidents detected"
    lines.append(f"{detected}; median time to detect {median:.0f} min"
                 if median is not None else detected)  # fmt: skip
    ok = not incidents or (
        len(times) == len(incidents) and median is not None and median <= TARGET_MEDIAN_MINUTES
    )
    for o in outcomes:
        if not o.scenario.incident:
            lines.append(f"{o.scenario.name}: alerts in the scored week: {_alerts(o.after)}; "
                         f"in the history before it: {_alerts(o.before)}")  # fmt: skip
            ok = ok and not o.after and not o.before
        elif o.before:
            lines.append(f"{o.scenario.name}: alerts in the hours before the incident: "
                         f"{_alerts(o.before)}")  # fmt: skip
            ok = False
    return "\n".join(lines) + "\n", ok
