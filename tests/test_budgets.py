"""Budgets in the thresholds file: listed team and feature budgets become one rule each, the
default covers the rest, a budget of 0 exempts; checked by promtool on a generated pack. The
alerts' severity and for reach every rule. (Bad budget knobs are among test_rules' bad
thresholds files: one line, exit 2.)"""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import yaml

from llm_exporter import catalog
from llm_exporter.rulegen import recording, render, thresholds
from llm_exporter.rulegen.alerts import ALERTS

from .conftest import promtool
from .prometheus import rule_files

SERIES = (catalog.COST.name + '{{job="app",instance="app:9464",gen_ai_operation_name="chat",'
          'gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o",gen_ai_response_model='
          '"gpt-4o-2024-08-06",server_address="api.openai.com",team="{team}",feature="",'
          'tenant=""}}')  # fmt: skip

# Spend per minute from t=0; the pack lists search at $80, ads at $20 and ops at 0 (exempt),
# and keeps the $50 default for the rest. At 56m: search $56 (< 80, though over the default),
# ads $28 (> 20 since 41m), ml $56 (> 50 since 51m), ops $280 (exempt).
PROMTOOL_TEST = """
rule_files: [{rules}/recording.rules.yaml, {rules}/app.rules.yaml]
evaluation_interval: 1m
group_eval_order: [{groups}]
tests:
  - interval: 1m
    input_series:
{series}
    alert_rule_test:
      - eval_time: 56m
        alertname: LLMTeamDailyBudgetExceeded
        exp_alerts:
          - exp_labels: {{severity: critical, tier: app, job: app, team: ads}}
            exp_annotations:
              summary: A team's LLM spend in the last 24 hours passed its daily budget.
              description: 'Team ads of app spent $28.00 on LLM calls in the last 24h; its daily
                budget is $20.00.'
              runbook_url: https://runbooks.example/llm.md#llmteamdailybudgetexceeded
          - exp_labels: {{severity: critical, tier: app, job: app, team: ml}}
            exp_annotations:
              summary: A team's LLM spend in the last 24 hours passed its daily budget.
              description: 'Team ml of app spent $56.00 on LLM calls in the last 24h; its daily
                budget is $50.00.'
              runbook_url: https://runbooks.example/llm.md#llmteamdailybudgetexceeded
"""
SPEND = {"search": 1.0, "ads": 0.5, "ml": 1.0, "ops": 5.0}


def test_listed_budgets_make_a_rule_each_and_the_default_covers_the_rest(tmp_path: Path) -> None:
    rule_files(tmp_path, "runbook_url: https://runbooks.example/llm.md\n"
               "budgets: {team_daily_usd: {search: 80, ads: 20, ops: 0}, "
               "feature_default_daily_usd: 0}\n"
               "alerts: {TeamDailyBudgetExceeded: {severity: critical, for: 5m}}\n")  # fmt: skip
    rules = tmp_path / "rules"
    app = yaml.safe_load((rules / "app.rules.yaml").read_text())["groups"][0]["rules"]
    teams = [r["expr"] for r in app if r["alert"] == "LLMTeamDailyBudgetExceeded"]
    assert teams == [
        f'{recording.TEAM_COST_1D}{{team="search"}} > 80',
        f'{recording.TEAM_COST_1D}{{team="ads"}} > 20',
        f'{recording.TEAM_COST_1D}{{team!~"search|ads|ops"}} > 50',
    ]
    # A default of 0 and no listed feature: no feature budget at all.
    assert not [r for r in app if r["alert"] == "LLMFeatureDailyBudgetExceeded"]
    series = "\n".join(f"      - series: '{SERIES.format(team=team)}'\n"
                       f"        values: '0+{usd}x60'" for team, usd in SPEND.items())  # fmt: skip
    test = tmp_path / "budgets.test.yaml"
    test.write_text(
        PROMTOOL_TEST.format(rules=rules, series=series, groups=", ".join(render.GROUP_ORDER))
    )
    result = subprocess.run([promtool(), "test", "rules", str(test)], capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_thresholds_files_severity_and_for_drive_every_budget_rule(tmp_path: Path) -> None:
    """The knobs the thresholds file advertises for the multi-rule budget alerts are the ones
    their rules take: the defaults as written there, and any change to them."""
    # A definition's own default is what the thresholds file writes and what the rules take.
    alerts = tuple(replace(d, for_="11m") if d.name == "TeamDailyBudgetExceeded" else d
                   for d in ALERTS)  # fmt: skip
    written = yaml.safe_load(thresholds.render_defaults(alerts))["alerts"]
    assert written["TeamDailyBudgetExceeded"]["for"] == "11m"
    defaults = thresholds.load(None, alerts)
    config_file = tmp_path / "thresholds.yaml"
    config_file.write_text(
        "budgets: {team_daily_usd: {search: 80}, feature_daily_usd: {chat: 5}}\n"
        "alerts: {TeamDailyBudgetExceeded: {severity: info, for: 17m},"
        " FeatureDailyBudgetExceeded: {for: 0m}}\n"
    )
    changed = thresholds.load(config_file, alerts)
    for name, changes in (("TeamDailyBudgetExceeded", {"severity": "info", "for": "17m"}),
                          ("FeatureDailyBudgetExceeded", {"for": None})):  # fmt: skip
        for config, expected in ((defaults, {}), (changed, changes)):
            app = yaml.safe_load(render.rule_files(config)["app.rules.yaml"])["groups"][0]
            rules = [r for r in app["rules"] if r["alert"] == "LLM" + name]
            assert len(rules) == (2 if config is changed else 1), rules  # listed + default
            want = {"severity": written[name]["severity"], "for": written[name]["for"],
                    **expected}  # fmt: skip
            for rule in rules:
                assert rule["labels"]["severity"] == want["severity"], rule
                assert rule.get("for") == want["for"], rule
