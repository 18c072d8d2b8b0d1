"""A world's calendar: a week of history, a scored normal week, then every incident twice.

Each incident is staged once by day (local 09:00-18:00) and once at night (local 22:00-05:00;
the traffic drop in the late evening instead, since the pack's quiet hours legitimately mute
drops after midnight UTC), on different weekdays, one at a time, each followed by at least three
normal hours. Order and lengths come from the world's seed. Restarts, a deploy and scrape gaps
fall in the history and the normal week, where a false alarm from them counts.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from .incidents import INCIDENTS, Incident, Staged, staged
from .world import DAY, NORMAL, Conditions, Events, local_hour, local_weekday
from .worlds import WorldSpec

RECOVERY = 180  # normal minutes after each incident, so its alerts resolve
BUDGET_APART = 30 * 60  # a daily spend stays high for a day: keep the two budget incidents apart
STEP = 30  # incidents start on the half hour


@dataclass(frozen=True)
class Timeline:
    world: WorldSpec
    normal_start: int
    incidents_start: int
    minutes: int
    incidents: tuple[Staged, ...]
    events: Events

    def conditions_at(self) -> list[Conditions]:
        """The conditions of every minute (an index is cheaper than a search per minute)."""
        out = [NORMAL] * (self.minutes + 1)
        for s in self.incidents:
            for m in range(s.start, min(s.end, self.minutes + 1)):
                out[m] = s.change(m - s.start)
        return out


def _fits(w: WorldSpec, incident: Incident, start: int, minutes: int, night: bool) -> bool:
    """Whether every minute of the incident lies in its window of the local day."""
    for m in (start, start + minutes - 1):
        hour = local_hour(w, m)
        if incident.name == "traffic-drop" and night:
            utc = (m / 60) % 24
            if not (20 <= hour < 24 and utc >= 6):
                return False
        elif night:
            if not (hour >= 22 or hour < 5):
                return False
        elif not 9 <= hour < 18:
            return False
    return True


def build(w: WorldSpec, names: Sequence[str] = (), days_history: int | None = None,
          days_normal: int | None = None) -> Timeline:  # fmt: skip
    """The calendar; ``names`` keeps only these incidents, the days shorten a quick run."""
    rng = random.Random(w.seed * 7919 + 1)
    history = w.days_history if days_history is None else days_history
    normal_start = history * DAY
    incidents_start = normal_start + (w.days_normal if days_normal is None else days_normal) * DAY
    chosen = [i for i in INCIDENTS if not names or i.name in names]
    queues = {False: chosen[:], True: chosen[:]}
    for q in queues.values():
        rng.shuffle(q)
    placed: list[Staged] = []
    weekday: dict[str, int] = {}
    budget_end = -BUDGET_APART
    t = incidents_start + 9 * 60  # the first slot of the first incident day
    while queues[False] or queues[True]:
        t = -(-t // STEP) * STEP
        for night in (False, True):
            pick = None
            for incident in queues[night]:
                lo, hi = incident.minutes
                minutes = rng.randint(lo, hi)
                if not _fits(w, incident, t, minutes, night):
                    continue
                if weekday.get(incident.name) == local_weekday(w, t):
                    continue
                if incident.name == "daily-budget" and t < budget_end + BUDGET_APART:
                    continue
                pick = incident, minutes
                break
            if pick is not None:
                incident, minutes = pick
                queues[night].remove(incident)
                placed.append(staged(incident, w, t, minutes, night))
                weekday[incident.name] = local_weekday(w, t)
                if incident.name == "daily-budget":
                    budget_end = t + minutes
                t += minutes + RECOVERY
                break
        else:
            t += STEP
            if t > incidents_start + 60 * DAY:
                raise ValueError(f"{w.name}: cannot place {[i.name for i in queues[True]]}")
    end = (placed[-1].end + RECOVERY) if placed else incidents_start
    return Timeline(w, normal_start, incidents_start, end, tuple(placed),
                    _events(rng, normal_start, incidents_start))  # fmt: skip


def _events(rng: random.Random, normal_start: int, incidents_start: int) -> Events:
    """A scrape gap in the history; in the normal week a gap, a restart and a deploy."""
    week = incidents_start - normal_start

    def at(first: float, last: float, origin: int = normal_start, span: int = week) -> int:
        return origin + rng.randrange(int(first * span), max(int(first * span) + 1,
                                                             int(last * span)))  # fmt: skip

    gaps = [(at(0.15, 0.3), rng.randint(2, 4))]
    if normal_start >= DAY:
        gaps.insert(0, (at(0.4, 0.8, 0, normal_start), rng.randint(2, 4)))
    return Events(restarts=(at(0.45, 0.55),), deploys=(at(0.75, 0.85),), gaps=tuple(gaps))
