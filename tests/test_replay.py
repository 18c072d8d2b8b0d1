"""The replay: its worlds (seeded draws, empty windows, restarts, gaps), its scoring, and one
incident replayed for real through the rule pack with promtool (every world is `make replay`,
many minutes long)."""

from __future__ import annotations

import math
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from llm_exporter import catalog
from llm_exporter.errors import ConfigError
from llm_exporter.replay import evaluate, score, timeline
from llm_exporter.replay.evaluate import Answer, Firing
from llm_exporter.replay.incidents import DETECTED_BY, INCIDENTS, Staged
from llm_exporter.replay.report import missed_targets, report, when
from llm_exporter.replay.rules import world_rules
from llm_exporter.replay.run import Options, Raw, WorldResult, replay
from llm_exporter.replay.world import DAY, NORMAL, Events, World, local_hour
from llm_exporter.replay.worlds import WORLDS, WorldSpec, by_name

from .conftest import REPO, promtool, run_cli

SMALL = by_name()["small-helpdesk"]


def _calls(values: dict, m: int) -> float:
    """Successful LLM calls so far at minute m, all models."""
    return sum(v[m] for k, v in values.items()
               if k.startswith(catalog.OPERATION_DURATION.count + "{")
               and 'error_type=""' in k)  # fmt: skip


def test_encode_folds_runs_and_missing_samples_as_promtool_reads_them(tmp_path: Path) -> None:
    values = [math.nan, math.nan, math.nan, 1.0, 1.0, 2.5, 1e6, 1e6, 1e6]
    assert evaluate.encode(values) == "_x3 1x1 2.5 1000000x2"
    assert evaluate.encode([math.nan, 1.0]) == "_ 1"
    assert evaluate.encode([123456789.0, 0.1 + 0.2]) == "123456789 0.3"
    test = tmp_path / "t.yaml"
    test.write_text(
        "tests:\n  - interval: 1m\n    input_series:\n"
        f"      - series: 'x'\n        values: '{evaluate.encode(values)}'\n"
        "    promql_expr_test:\n"
        "      - expr: count_over_time(x[20m])\n        eval_time: 8m\n"
        "        exp_samples: [{labels: '{}', value: 6}]\n"
        "      - expr: sum_over_time(x[20m])\n        eval_time: 8m\n"
        "        exp_samples: [{labels: '{}', value: 3000004.5}]\n"
        "      - expr: timestamp(x)\n        eval_time: 3m\n"  # the first sample is at 3m
        "        exp_samples: [{labels: '{}', value: 180}]\n"
    )
    result = subprocess.run([promtool(), "test", "rules", str(test)], capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_parse_tells_alerts_from_nan_baselines_and_refuses_rule_errors() -> None:
    text = (
        '    expr: "min_over_time(timestamp(ALERTS{alertstate=\\"firing\\"})[121m:1m])", '
        "time: 12h,\n        exp: nil\n"
        '        got: {alertname="B", alertstate="firing", tier="app"} 3.642E+04, '
        '{alertname="A", alertstate="firing", gen_ai_tool_name="t"} 3.63E+04, '
        '{alertname="A", alertstate="pending"} 60\n'
        '    expr: "min_over_time(timestamp(model:x:p95_5m_baseline != '
        'model:x:p95_5m_baseline)[1441m:1m])", time: 1d,\n'
        '        got: {gen_ai_request_model="m"} 7200, {gen_ai_request_model="n"} 600\n'
    )
    answer = evaluate.parse(text)
    assert [(f.alert, f.minute) for f in answer.firings] == [("A", 605.0), ("B", 607.0)]
    assert answer.nan == {"model:x:p95_5m_baseline": 10.0}
    with pytest.raises(ConfigError, match="too many samples"):
        evaluate.parse("    rule: x, time: 1h, err: query processing would load too many samples\n")


def test_a_world_is_deterministic_for_its_seed_and_differs_across_seeds() -> None:
    def run(world: WorldSpec) -> dict[str, str]:
        values = World(world, 600, lambda _m: NORMAL).run().values
        return {k: evaluate.encode(v) for k, v in values.items()}  # NaN != NaN: compare text

    first = run(SMALL)
    assert run(SMALL) == first
    assert run(replace(SMALL, seed=12)) != first and run(by_name()["small-legal"]) != first
    # Series names come from the catalog only.
    families = {n for spec in catalog.all_specs() for n in spec.sample_names()} | {"up"}
    assert {k.split("{")[0] for k in first} <= families


def test_poisson_counts_leave_a_small_app_empty_windows_at_night() -> None:
    minutes = 2 * DAY
    values = World(SMALL, minutes, lambda _m: NORMAL).run().values
    night = [m for m in range(5, minutes) if local_hour(SMALL, m) < 5]
    empty = [m for m in night if _calls(values, m) == _calls(values, m - 5)]
    assert empty, "a small app at night has 5-minute windows without a successful call"
    idle = sum(1 for m in night if _calls(values, m) == _calls(values, m - 1))
    assert idle > len(night) * 0.1  # minutes without a call are common at night
    busy = [m for m in range(5, minutes) if 11 <= local_hour(SMALL, m) < 15]
    assert not [m for m in busy if _calls(values, m) == _calls(values, m - 5)]


def test_a_restart_resets_counters_and_a_scrape_gap_leaves_every_series_missing() -> None:
    events = Events(restarts=(700,), gaps=((800, 3),))
    values = World(SMALL, 900, lambda _m: NORMAL, events).run().values
    assert _calls(values, 701) < _calls(values, 699)  # a counter reset
    count = next(v for k, v in values.items() if k.startswith(catalog.OPERATION_DURATION.count))
    assert math.isnan(count[700])  # the restart's failed scrape
    assert all(math.isnan(v[m]) for v in values.values() for m in (800, 801, 802))
    assert all(not math.isnan(v[803]) for v in values.values() if not math.isnan(v[799]))


def test_every_world_stages_every_incident_by_day_and_at_night_one_at_a_time() -> None:
    assert len(WORLDS) >= 5 and set(DETECTED_BY) == {i.name for i in INCIDENTS}
    w = by_name()["large-apac"]  # local day 8 hours ahead of UTC
    cal = timeline.build(w)
    assert sorted(s.name for s in cal.incidents) == sorted(2 * [i.name for i in INCIDENTS])
    for s in cal.incidents:
        hours = (local_hour(w, s.start), local_hour(w, s.end - 1))
        assert all(h >= 20 or h < 5 for h in hours) if s.night else all(9 <= h < 18 for h in hours)
    for before, after in zip(cal.incidents, cal.incidents[1:], strict=False):
        assert after.start >= before.end + timeline.RECOVERY
    assert cal.incidents[0].start >= cal.incidents_start == 9 * DAY


def _staged(entity: dict[str, str]) -> Staged:
    return Staged("tool-timeouts", 1000, 60, lambda _m: NORMAL, entity, night=False)


def test_scoring_counts_the_right_alert_on_the_right_entity_in_time() -> None:
    incident = _staged({"gen_ai_tool_name": "search"})
    on = {"gen_ai_tool_name": "search", "tier": "app"}
    off = {"gen_ai_tool_name": "other", "tier": "app"}
    assert score.detect(incident, [Firing("LLMToolTimeouts", 1004, on)]).minutes == 4
    wrong_entity = score.detect(incident, [Firing("LLMToolTimeouts", 1004, off)])
    assert wrong_entity.minutes is None
    too_late = score.detect(incident, [Firing("LLMToolTimeouts", 1091, on)])
    assert too_late.minutes is None
    app = {"tier": "app"}
    unrelated = score.detect(
        incident, [Firing("LLMTrafficSurge", 1002, app), Firing("LLMToolErrors", 1089, app)]
    )
    assert unrelated.minutes == 89 and unrelated.by == "LLMToolErrors"  # no tool label: counts
    assert unrelated.others == ("LLMTrafficSurge",)
    always = [Firing("LLMToolTimeouts", 999, on), Firing("LLMToolTimeouts", 1000, on)]
    assert score.detect(incident, always).minutes is None  # firing before it began


def test_normal_week_alerts_and_nan_baselines_miss_their_targets() -> None:
    cal = timeline.build(SMALL, ("gpu-xid",), days_history=1, days_normal=1)
    firings = [
        Firing("LLMThumbsDownRising", DAY + 125, {"tier": "quality"}),
        Firing("LLMThumbsDownRising", DAY + 240, {"tier": "quality"}),  # the same episode
        Firing("LLMGPUTemperatureHigh", DAY + 300, {"tier": "infra"}),
        Firing("LLMGPUXidCritical", cal.incidents[0].start + 1,
               {"tier": "infra", "uuid": cal.incidents[0].entity["uuid"]}),
    ]  # fmt: skip
    week = score.episodes(firings, cal.normal_start, cal.incidents_start)
    assert [f.alert for f in week] == ["LLMThumbsDownRising", "LLMGPUTemperatureHigh"]
    result = WorldResult(SMALL, cal, [score.detect(s, firings) for s in cal.incidents], [], week,
                         {"model:x:p95_5m_baseline": 30.0},
                         Raw(Answer(firings, {}), 3.0, 10, 1.0, 2.0))  # fmt: skip
    missed = missed_targets([result])
    assert any("1 incidents not detected: gpu-xid (night)" in m for m in missed)
    assert any("1 app/quality alerts in the normal week (LLMThumbsDownRising)" in m for m in missed)
    assert any("baselines read NaN: model:x:p95_5m_baseline" in m for m in missed)
    text, ok = report([result])
    assert not ok and "LLMThumbsDownRising at d1 Fri 02:05" in text and "| small-helpdesk" in text
    assert when(DAY + 125) == "d1 Fri 02:05"


def test_each_world_gets_the_pack_generated_with_its_daily_budget(tmp_path: Path) -> None:
    files = world_rules(REPO / "rules", 12.5, tmp_path)
    assert {p.name for p in files} == {p.name for p in (REPO / "rules").glob("*.rules.yaml")}
    budget = next(
        p for p in files if "app:llm_exporter_cost_usd:increase1d > 12.5" in p.read_text()
    )
    assert budget.parent == tmp_path


def test_a_gpu_xid_is_caught_by_the_rule_pack_end_to_end(tmp_path: Path) -> None:
    """The whole pipeline on a short world: the calendar, the draws, promtool, the parse and
    the scoring (the infra rules alone, to keep it quick; the whole pack is `make replay`)."""
    (tmp_path / "infra.rules.yaml").write_text((REPO / "rules/infra.rules.yaml").read_text())
    options = Options(("gpu-xid",), days_history=0, days_normal=1)
    (result,) = replay([by_name()["small-legal"]], tmp_path, options, jobs=1)
    assert [d.incident.night for d in result.detections] == [False, True]
    for d in result.detections:
        assert d.by == "LLMGPUXidCritical" and d.minutes is not None and d.minutes <= 5


def test_replay_cli_exits_1_when_a_target_is_missed(tmp_path: Path) -> None:
    """An empty rule set detects nothing: the command says so with its exit code."""
    (tmp_path / "empty.rules.yaml").write_text("groups: []\n")
    result = run_cli("replay", "--world", "small-legal", "--incident", "gpu-xid",
                     "--days-history", "0", "--days-normal", "1", "--rules-dir", str(tmp_path),
                     timeout=120)  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "NOT DETECTED" in result.stdout and "target missed: small-legal: 2 incidents" in (
        result.stdout
    )


def test_replay_cli_refuses_rules_promtool_cannot_load(tmp_path: Path) -> None:
    """Rules that do not parse fire nothing; that must not read as a quiet week."""
    (tmp_path / "broken.rules.yaml").write_text(
        "groups:\n- name: g\n  rules:\n  - alert: Broken\n    expr: sum((up)\n"
    )
    result = run_cli("replay", "--world", "small-legal", "--incident", "gpu-xid",
                     "--days-history", "0", "--days-normal", "1", "--rules-dir", str(tmp_path),
                     timeout=120)  # fmt: skip
    assert result.returncode == 2, result.stdout
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"llm-exporter: error: {tmp_path}: promtool cannot use the rules: ")
    assert "could not parse expression" in line


def test_a_config_error_crosses_a_process_boundary_whole() -> None:
    """The replay runs worlds in worker processes; their ConfigError must reach the CLI as one
    line, not as a BrokenProcessPool traceback."""
    import pickle

    error = pickle.loads(pickle.dumps(ConfigError("promtool", None, "too many samples")))
    assert isinstance(error, ConfigError) and str(error) == "promtool: too many samples"
