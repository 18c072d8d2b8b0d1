"""The replay's report: per world and in total, incidents detected and how fast, every alert of
the normal weeks, NaN baselines, a Markdown table for the README, and the verdict against the
targets (every incident detected in every world; median time to detect at most 7 minutes on
medium and large worlds and 15 on small ones; no app or quality alert in any normal week; no
baseline ever NaN)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from .evaluate import Firing
from .run import WorldResult
from .score import Detection
from .world import DAY

TARGET_MEDIAN_MINUTES = {"small": 15.0, "medium": 7.0, "large": 7.0}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_ENTITY = ("gen_ai_request_model", "gen_ai_tool_name", "gen_ai_agent_name", "stage", "uuid",
           "gen_ai_evaluation_name", "instance")  # fmt: skip


def when(minute: float) -> str:
    """'d9 Sat 03:14' (UTC): the day of the run, the weekday and the time."""
    m = int(minute)
    return f"d{m // DAY} {_DAYS[(m // DAY + 3) % 7]} {m % DAY // 60:02d}:{m % 60:02d}"


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _minutes(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} min"


def _alert(f: Firing) -> str:
    entity = ",".join(f"{k}={f.labels[k]}" for k in _ENTITY if k in f.labels)
    return f"{f.alert}{'{' + entity + '}' if entity else ''} at {when(f.minute)}"


def _times(detections: Sequence[Detection], night: bool | None = None) -> list[float]:
    return [d.minutes for d in detections if d.minutes is not None
            and (night is None or d.incident.night == night)]  # fmt: skip


def world_section(r: WorldResult) -> list[str]:
    w, raw = r.world, r.raw
    times = _times(r.detections)
    lines = [f"== {w.name} ({w.size}, peak {w.peak_calls_per_min:g} calls/min, UTC"
             f"{w.utc_offset_h:+d}, random seed {w.seed}): {raw.days:.1f} days, {raw.series} "
             f"series, generated in {raw.generate_s:.0f}s, promtool {raw.promtool_s:.0f}s",
             f"incidents detected: {len(times)} of {len(r.detections)}; time to detect: median "
             f"{_minutes(_median(times))} (by day {_minutes(_median(_times(r.detections, False)))}"
             f", at night {_minutes(_median(_times(r.detections, True)))}), worst "
             f"{_minutes(max(times, default=None))}"]  # fmt: skip
    for d in r.detections:
        s = d.incident
        what = f"{d.by} after {d.minutes:.0f} min" if d.minutes is not None else "NOT DETECTED"
        others = f"; also {', '.join(d.others[:5])}" if d.others else ""
        lines.append(f"  {s.name:<24} {'night' if s.night else 'day':<5} {when(s.start)} "
                     f"{s.minutes:>3} min: {what}{others}")  # fmt: skip
    scored = r.false_alarms
    lines.append(
        f"normal week (d{r.timeline.normal_start // DAY}-d"
        f"{r.timeline.incidents_start // DAY}): {len(scored)} app/quality alerts"
    )
    lines += [f"  {_alert(f)} [{f.labels.get('tier', '?')}]" for f in r.normal_week]
    history = sorted({f.alert for f in r.history})
    lines.append(f"history (not scored): {len(r.history)} alerts: {', '.join(history) or 'none'}")
    if r.nan:
        lines.append(
            "baselines reading NaN: "
            + ", ".join(
                f"{name} from {when(m)}" for name, m in sorted(r.nan.items(), key=lambda x: x[1])
            )
        )
    else:
        lines.append("baselines reading NaN: none")
    return lines


def table(results: Sequence[WorldResult]) -> list[str]:
    lines = ["| world | calls/min at peak | incidents detected | median time to detect "
             "(day / night) | worst | app/quality alerts in the normal week | NaN baselines |",
             "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for r in results:
        times = _times(r.detections)
        lines.append(
            f"| {r.world.name} ({r.world.size}) | {r.world.peak_calls_per_min:g} | "
            f"{len(times)} of {len(r.detections)} | {_minutes(_median(times))} "
            f"({_minutes(_median(_times(r.detections, False)))} / "
            f"{_minutes(_median(_times(r.detections, True)))}) | "
            f"{_minutes(max(times, default=None))} | {len(r.false_alarms)} | {len(r.nan)} |"
        )
    every = [d for r in results for d in r.detections]
    times = _times(every)
    lines.append(f"| **all** | | {len(times)} of {len(every)} | {_minutes(_median(times))} | "
                 f"{_minutes(max(times, default=None))} | "
                 f"{sum(len(r.false_alarms) for r in results)} | "
                 f"{sum(len(r.nan) for r in results)} |")  # fmt: skip
    return lines


def missed_targets(results: Sequence[WorldResult]) -> list[str]:
    missed = []
    for r in results:
        name = r.world.name
        undetected = [d.incident.name + (" (night)" if d.incident.night else " (day)")
                      for d in r.detections if d.minutes is None]  # fmt: skip
        if undetected:
            missed.append(f"{name}: {len(undetected)} incidents not detected: "
                          f"{', '.join(undetected)}")  # fmt: skip
        median = _median(_times(r.detections))
        limit = TARGET_MEDIAN_MINUTES[r.world.size]
        if median is not None and median > limit:
            missed.append(f"{name}: median time to detect {median:.0f} min > {limit:.0f} min")
        if r.false_alarms:
            names = sorted({f.alert for f in r.false_alarms})
            missed.append(f"{name}: {len(r.false_alarms)} app/quality alerts in the normal week "
                          f"({', '.join(names)})")  # fmt: skip
        if r.nan:
            missed.append(f"{name}: baselines read NaN: {', '.join(sorted(r.nan))}")
        if r.raw.answer.unanswered:
            missed.append(f"{name}: {len(r.raw.answer.unanswered)} of the replay's queries "
                          f"failed, first: {r.raw.answer.unanswered[0]}")  # fmt: skip
    return missed


def report(results: Sequence[WorldResult], sections: bool = True) -> tuple[str, bool]:
    """The whole report (without the worlds' sections where they were printed as each world
    finished), and whether every target was met."""
    lines: list[str] = []
    for r in results if sections else ():
        lines += [*world_section(r), ""]
    lines += table(results)
    missed = missed_targets(results)
    lines.append("")
    lines += [f"target missed: {m}" for m in missed] or ["every target met"]
    return "\n".join(lines) + "\n", not missed
