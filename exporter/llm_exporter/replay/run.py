"""Replay worlds through the rule pack: one promtool process per world, worlds in parallel.

A worker builds the world's calendar and series, writes its rules and test file, runs promtool
and returns what it answered; the parent rebuilds the calendar (cheap, deterministic) to score
it, so only plain data crosses the process boundary.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from . import evaluate, rules, score, timeline
from .evaluate import Answer, Firing
from .world import World
from .worlds import WorldSpec


@dataclass(frozen=True)
class Options:
    incidents: tuple[str, ...] = ()  # empty: all
    days_history: int | None = None  # None: the world's own
    days_normal: int | None = None


@dataclass(frozen=True)
class Raw:
    answer: Answer
    days: float
    series: int
    generate_s: float
    promtool_s: float


@dataclass(frozen=True)
class WorldResult:
    world: WorldSpec
    timeline: timeline.Timeline
    detections: list[score.Detection]
    history: list[Firing]  # alert episodes before the normal week (not scored)
    normal_week: list[Firing]
    nan: dict[str, float]
    raw: Raw

    @property
    def false_alarms(self) -> list[Firing]:
        return score.false_alarms(self.normal_week)


def _calendar(world: WorldSpec, options: Options) -> timeline.Timeline:
    return timeline.build(world, options.incidents, options.days_history, options.days_normal)


def evaluate_world(world: WorldSpec, rules_dir: Path, options: Options) -> Raw:
    began = time.monotonic()
    cal = _calendar(world, options)
    series = World(world, cal.minutes, cal.conditions_at().__getitem__, cal.events).run()
    with tempfile.TemporaryDirectory(prefix=f"llm-replay-{world.name}-") as tmp:
        files = rules.world_rules(rules_dir, world.daily_budget_usd, Path(tmp) / "rules")
        windows = [(s.start, s.end + score.GRACE) for s in cal.incidents]
        windows += evaluate.windows(0, cal.incidents_start)
        test = Path(tmp) / "replay.test.yaml"
        before = [s.start - 1 for s in cal.incidents]
        nan_names = evaluate.baseline_names(files)
        test.write_text(evaluate.test_file(series, files, windows, nan_names, before))
        generated = time.monotonic()
        answer = evaluate.run_promtool(test, rules_dir)
    return Raw(answer, cal.minutes / 1440, len(series.values), generated - began,
               time.monotonic() - generated)  # fmt: skip


def result(world: WorldSpec, raw: Raw, options: Options) -> WorldResult:
    cal = _calendar(world, options)
    firings = raw.answer.firings
    return WorldResult(
        world, cal, [score.detect(s, firings) for s in cal.incidents],
        score.episodes(firings, 0, cal.normal_start),
        score.episodes(firings, cal.normal_start, cal.incidents_start), raw.answer.nan, raw,
    )  # fmt: skip


def replay(worlds: Sequence[WorldSpec], rules_dir: Path, options: Options = Options(),
           jobs: int = 2, progress: Callable[[WorldResult], None] | None = None
           ) -> list[WorldResult]:  # fmt: skip
    """Every world's result, in the order given."""
    done: dict[str, WorldResult] = {}
    if jobs <= 1 or len(worlds) <= 1:
        for w in worlds:
            done[w.name] = result(w, evaluate_world(w, rules_dir, options), options)
            if progress:
                progress(done[w.name])
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(evaluate_world, w, rules_dir, options): w for w in worlds}
            for future in as_completed(futures):
                w = futures[future]
                done[w.name] = result(w, future.result(), options)
                if progress:
                    progress(done[w.name])
    return [done[w.name] for w in worlds]
