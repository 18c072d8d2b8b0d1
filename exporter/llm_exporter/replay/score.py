"""Scoring a world's alerts: which incidents were detected and when, what fired in the normal
week, which baselines read NaN.

An incident is detected when one of its detecting alerts fires on the entity it hits (where the
alert carries that label: model, tool, agent, stage, GPU) at or after its start and no later
than ``GRACE`` minutes after its end; the time to detect is that minute minus the start. An
alert already firing the minute before the start does not count: an alert that pages all the
time (GPU memory on a vLLM node) would otherwise detect every incident on its entity at once. Other
alerts during an incident are listed, not scored. In the normal week every app- or quality-tier
alert is a false alarm; infra alerts are listed.
"""

from __future__ import annotations

from dataclasses import dataclass

from .evaluate import WINDOW_MINUTES, Firing
from .incidents import DETECTED_BY, Staged

GRACE = 30
SCORED_TIERS = ("app", "quality")


@dataclass(frozen=True)
class Detection:
    incident: Staged
    minutes: float | None  # time to detect; None: missed
    by: str  # the alert that detected it
    others: tuple[str, ...]  # other alerts firing in its window


def _ident(f: Firing) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(f.labels.items()))


def _on_entity(f: Firing, entity: dict[str, str]) -> bool:
    return all(f.labels.get(label, value) == value for label, value in entity.items())


def detect(incident: Staged, firings: list[Firing]) -> Detection:
    last = incident.end + GRACE
    inside = [f for f in firings if incident.start <= f.minute <= last]
    wanted = DETECTED_BY[incident.name]
    # An alert already firing the minute before (a node that always pages) detected nothing.
    already = {_ident(f) for f in firings if f.minute == incident.start - 1}
    hits = [f for f in inside if f.alert in wanted and _on_entity(f, incident.entity)
            and _ident(f) not in already]  # fmt: skip
    first = min(hits, key=lambda f: f.minute, default=None)
    others = tuple(dict.fromkeys(f.alert for f in inside if f.alert not in wanted))
    if first is None:
        return Detection(incident, None, "", others)
    return Detection(incident, first.minute - incident.start, first.alert, others)


def episodes(firings: list[Firing], first: int, last: int) -> list[Firing]:
    """The alerts that began firing in [first, last): one per label set and episode. A window's
    answer that starts at the window's first minute continues the episode of the window before."""
    out: list[Firing] = []
    seen: dict[tuple[tuple[str, str], ...], float] = {}
    for f in sorted(firings, key=lambda f: f.minute):
        if not first <= f.minute < last:
            continue
        ident = _ident(f)
        before = seen.get(ident)
        seen[ident] = f.minute
        continuing = before is not None and f.minute % WINDOW_MINUTES == 0
        if not continuing:
            out.append(f)
    return out


def false_alarms(normal_week: list[Firing]) -> list[Firing]:
    return [f for f in normal_week if f.labels.get("tier") in SCORED_TIERS]
