"""The incident replay: its series encoding and report parsing, and one incident replayed for
real through the rule pack with promtool (the whole week is `make replay`, minutes long)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from llm_exporter import catalog
from llm_exporter.errors import ConfigError
from llm_exporter.replay import evaluate
from llm_exporter.replay.report import report, run
from llm_exporter.replay.scenarios import by_name
from llm_exporter.replay.world import World

from .conftest import REPO, promtool, run_cli


def test_encode_folds_runs_and_missing_samples_as_promtool_reads_them(tmp_path: Path) -> None:
    values = [None, None, None, 1.0, 1.0, 2.5, 1e6, 1e6, 1e6]
    assert evaluate.encode(values) == "_x2 1x1 2.5 1000000x2"
    test = tmp_path / "t.yaml"
    test.write_text(
        "tests:\n  - interval: 1m\n    input_series:\n"
        f"      - series: 'x'\n        values: '{evaluate.encode(values)}'\n"
        "    promql_expr_test:\n"
        "      - expr: count_over_time(x[20m])\n        eval_time: 8m\n"
        "        exp_samples: [{labels: '{}', value: 6}]\n"
        "      - expr: sum_over_time(x[20m])\n        eval_time: 8m\n"
        "        exp_samples: [{labels: '{}', value: 3000004.5}]\n"
    )
    result = subprocess.run([promtool(), "test", "rules", str(test)], capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_parse_reads_every_series_of_promtools_report() -> None:
    report_text = (
        '    expr: "min_over_time(...)", time: 12h,\n        exp: nil\n'
        '        got: {alertname="B", alertstate="firing", job="app"} 3.642E+04, '
        '{alertname="A", alertstate="firing", gen_ai_tool_name="vector_search"} 3.63E+04, '
        '{alertname="A", alertstate="pending", job="app"} 60\n'
        '        got: {alertname="A", alertstate="firing", '
        'gen_ai_tool_name="vector_search"} 3.6E+04\n'
    )
    found = evaluate._parse(report_text)
    assert [(f.alert, f.minute) for f in found] == [("A", 600.0), ("B", 607.0)]
    assert found[0].labels["gen_ai_tool_name"] == "vector_search"
    with pytest.raises(ConfigError, match="too many samples"):
        evaluate._parse(
            "    rule: x, time: 1h, err: query processing would load too many samples\n"
        )


def test_the_world_is_deterministic_and_reacts_to_conditions() -> None:
    scenario = by_name()["tool-timeouts"]
    first = World(scenario.minutes, scenario.conditions).run().values
    second = World(scenario.minutes, scenario.conditions).run().values
    assert first == second
    timeouts = next(v for k, v in first.items()
                    if k.startswith(catalog.TOOL_DURATION.count + "{")
                    and 'error_type="timeout"' in k)  # fmt: skip
    start = scenario.start
    before = timeouts[start] - timeouts[start - 60]
    after = timeouts[start + 60] - timeouts[start]
    # 0.1% of searches time out before, 12% after (traffic also rises through the morning)
    assert after > 20 * before


def test_a_flaky_vector_store_is_caught_by_the_rule_pack_and_nothing_fires_before() -> None:
    (outcome,) = run([by_name()["tool-timeouts"]], REPO / "rules")
    assert outcome.before == []  # ten hours of normal traffic: no alert
    assert outcome.detect_minutes is not None and outcome.detect_minutes <= 7
    first = {f.alert for f in outcome.after if f.minute == outcome.after[0].minute}
    assert "LLMToolTimeouts" in first
    table, ok = report([outcome])
    assert ok and "| tool-timeouts |" in table and "LLMToolTimeouts" in table


def test_the_verdict_fails_a_missed_target() -> None:
    from llm_exporter.replay.evaluate import Firing
    from llm_exporter.replay.report import Outcome

    scenario = by_name()["tool-timeouts"]
    late = Outcome(scenario, [Firing("LLMToolTimeouts", scenario.start + 30, {})], 1.0)
    missed = Outcome(scenario, [], 1.0)
    early = [Firing("LLMTrafficSurge", 5, {}), Firing("LLMToolTimeouts", scenario.start + 2, {})]
    false_alarm = Outcome(scenario, early, 1.0)
    assert report([late])[1] is False  # 30 minutes > the 7-minute target
    assert "**not detected**" in report([missed])[0] and report([missed])[1] is False
    assert report([false_alarm])[1] is False


def test_replay_cli_exits_1_when_a_target_is_missed(tmp_path: Path) -> None:
    """An empty rule set detects nothing: the command says so with its exit code."""
    (tmp_path / "empty.rules.yaml").write_text("groups: []\n")
    result = run_cli("replay", "--scenario", "gpu-thermal", "--rules-dir", str(tmp_path),
                     timeout=120)  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "**not detected**" in result.stdout


def test_replay_cli_refuses_rules_promtool_cannot_load(tmp_path: Path) -> None:
    """Rules that do not parse fire nothing; that must not read as a quiet week."""
    (tmp_path / "broken.rules.yaml").write_text(
        "groups:\n- name: g\n  rules:\n  - alert: Broken\n    expr: sum((up)\n"
    )
    result = run_cli("replay", "--scenario", "normal-week", "--rules-dir", str(tmp_path),
                     timeout=120)  # fmt: skip
    assert result.returncode == 2, result.stdout
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"llm-exporter: error: {tmp_path}: promtool cannot use the rules: ")
    assert "could not parse expression" in line
