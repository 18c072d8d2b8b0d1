"""The rule pack: generated files are current, valid for promtool, name only catalog metrics,
carry the alert conventions, have runbook sections and promtool unit tests; bad thresholds
files are one line and exit 2."""

from __future__ import annotations

import glob
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from llm_exporter import catalog
from llm_exporter.rulegen import render, runbook, thresholds
from llm_exporter.rulegen.alerts import ALERTS
from llm_exporter.rulegen.promql import parse_duration

from .conftest import REPO, promtool, run_cli
from .promql_names import metric_names

RULES = REPO / "rules"
RULE_FILES = sorted(RULES.glob("*.rules.yaml"))
PROMTOOL_TESTS = sorted((REPO / "promtool-tests").glob("*.test.yaml"))
# Prometheus's own per-target series, the one name a rule reads that no exporter declares.
PROMETHEUS_SERIES = {"up"}
# Alerts on a state (a flag set, a target down or absent): their value is 1 or 0 and says
# nothing, so their description names the state instead.
STATE_ALERTS = {"LLMTargetDown", "LLMTargetAbsent", "LLMGPUThermalThrottling",
                "LLMGPUPowerBrakeSlowdown", "LLMGPURowRemapFailed", "LLMGPURowRemapPending",
                "LLMGPUMissing", "LLMGPUCollectionFailing"}  # fmt: skip


def _rules() -> list[dict[str, Any]]:
    return [rule for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"]]  # fmt: skip


def _alerts() -> list[dict[str, Any]]:
    return [rule for rule in _rules() if "alert" in rule]


def test_committed_rules_are_what_the_thresholds_file_generates() -> None:
    config = thresholds.load(RULES / "thresholds.yaml", ALERTS)
    generated = render.rule_files(config)
    assert sorted(generated) == [p.name for p in RULE_FILES]
    for name, text in generated.items():
        assert (RULES / name).read_text() == text, f"rules/{name} is stale: run make rules"
    # The committed thresholds file is every default, so it generates what the defaults do.
    defaults = render.rule_files(thresholds.load(None, ALERTS))
    assert {k: v.split("\n", 2)[2] for k, v in defaults.items()} == {
        k: v.split("\n", 2)[2] for k, v in generated.items()
    }
    assert (RULES / "thresholds.yaml").read_text() == thresholds.render_defaults(ALERTS)


def test_promtool_accepts_the_rules_without_warnings() -> None:
    result = subprocess.run([promtool(), "check", "rules", *map(str, RULE_FILES)],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warn" not in (result.stdout + result.stderr).lower()
    assert result.stdout.count("SUCCESS") == len(RULE_FILES)


def test_metric_names_extraction() -> None:
    expr = (
        'sum by (job, le) (rate(a_bucket{le=~"3(\\\\.0+)?",job="x"}[5m])) / on (job) group_left '
        'b:c:d offset 1h > 0.05 and hour() >= 6 or absent(up{job="x"}) unless '
        "predict_linear(e_total[2h:5m], 21600) > 1e3"
    )
    assert metric_names(expr) == {"a_bucket", "b:c:d", "up", "e_total"}


def test_rules_read_only_catalog_metrics_and_recorded_series() -> None:
    recorded = {rule["record"] for rule in _rules() if "record" in rule}
    known = set(catalog.series_names()) | recorded | PROMETHEUS_SERIES
    used: set[str] = set()
    for rule in _rules():
        names = metric_names(rule["expr"])
        assert names, rule
        assert names <= known, f"{rule.get('alert') or rule.get('record')}: {names - known}"
        used |= names
    # Every recording rule's output is read by something (an alert, a baseline, another
    # recording rule): a series nothing reads costs evaluation for nobody. The dashboards read
    # the raw families, and the README documents no recorded series for users' own queries.
    assert recorded - used == set(), "recorded series that no rule reads"
    # And the rules do read the catalog's LLM, agent, quality and GPU families.
    for spec in (catalog.OPERATION_DURATION, catalog.TOOL_DURATION, catalog.QUALITY_SCORE,
                 catalog.GPU_TEMPERATURE, catalog.GPU_XID_LAST_SEEN):  # fmt: skip
        assert used & set(spec.sample_names()), spec.name


def test_every_alert_follows_the_conventions() -> None:
    alerts = _alerts()
    assert len({a["alert"] for a in alerts}) == len(ALERTS)
    for alert in alerts:
        name, labels, notes = alert["alert"], alert["labels"], alert["annotations"]
        assert re.fullmatch(r"LLM[A-Z][A-Za-z0-9]+", name), name
        assert labels["severity"] in ("critical", "warning", "info"), name
        assert labels["tier"] in ("infra", "app", "quality"), name
        assert set(notes) == {"summary", "description", "runbook_url"}, name
        assert "{{" not in notes["summary"], f"{name}: the summary is static"
        if name not in STATE_ALERTS:
            assert "{{ $value" in notes["description"], f"{name}: the description says the value"
        assert notes["runbook_url"].endswith("#" + name.lower()), name
        # No alert hard-codes a job: the selectors are knobs, empty by default.
        assert not re.search(r"\bjob\s*=", alert["expr"]), name
        if labels["tier"] == "app":
            assert parse_duration(alert.get("for", "0s")) >= 120, f"{name}: app alerts wait 2m+"


def test_every_alert_has_a_runbook_section_with_a_dashboard_panel() -> None:
    runbook = (REPO / "docs" / "runbook.md").read_text()
    sections = dict(re.findall(r"^### (LLM\w+)\n(.*?)(?=^### |\Z)", runbook, re.M | re.S))
    assert set(sections) == {a["alert"] for a in _alerts()}
    for name, body in sections.items():
        for part in ("**What it means.**", "**Likely causes.**", "**First checks.**",
                     "**Dashboard:** open *"):  # fmt: skip
            assert part in body, f"{name}: runbook section lacks {part}"


def test_selectors_and_aggregation_come_from_the_thresholds_file(tmp_path: Path) -> None:
    config_file = tmp_path / "t.yaml"
    config_file.write_text(
        "selectors: {app: 'job=~\"chat-.*\"', infra: 'job=\"gpu-nodes\"'}\n"
        "aggregate_by: [cluster]\nalerts: {HighErrorRate: {threshold: 0.1, for: 4m}, "
        "RetryStorm: {enabled: false}}\n"
    )
    config = thresholds.load(config_file, ALERTS)
    groups = render.groups(config)
    every = [rule for gs in groups.values() for g in gs for rule in g["rules"]]
    raw_selectors = [m for rule in every for m in re.findall(r"\b[a-z_]+\{[^}]*\}", rule["expr"])
                     if not m.startswith("model") and ":" not in m.split("{")[0]]  # fmt: skip
    assert raw_selectors
    for sel in raw_selectors:
        if sel.startswith((catalog.PREFIX + "gpu", "up{", catalog.BUILD_INFO.name)):
            assert 'job="gpu-nodes"' in sel, sel
        else:
            assert 'job=~"chat-.*"' in sel, sel
    # Every aggregation keeps the configured labels; per-target ones keep the target's.
    clauses = [c for r in every for c in re.findall(r"\bby \([^)]*\)", r["expr"])]
    assert clauses and all(c.startswith("by (cluster") or c == "by (job, instance)"
                           for c in clauses), clauses  # fmt: skip
    error_rate = next(r for r in every if r.get("alert") == "LLMHighErrorRate")
    assert "> 0.1\n" in error_rate["expr"] and error_rate["for"] == "4m"
    assert not [r for r in every if r.get("alert") == "LLMRetryStorm"]


def test_a_for_of_zero_in_any_unit_fires_at_once(tmp_path: Path) -> None:
    """The rule files and the runbook agree on what a zero ``for`` is, whatever its unit."""
    config_file = tmp_path / "t.yaml"
    config_file.write_text("alerts: {HighErrorRate: {for: 0h}, RetryStorm: {for: 0s}}\n")
    config = thresholds.load(config_file, ALERTS)
    every = [rule for gs in render.groups(config).values() for g in gs for rule in g["rules"]]
    for name in ("LLMHighErrorRate", "LLMRetryStorm"):
        (rule,) = [r for r in every if r.get("alert") == name]
        assert "for" not in rule, rule
        section = runbook.render_runbook(config).split(f"### {name}\n", 1)[1]
        assert "at once." in section.split("**What it means.**", 1)[0], section[:300]


def test_prometheusrule_holds_the_rule_files_groups_and_promtool_accepts_them(
    tmp_path: Path,
) -> None:
    """The operator loads spec.groups as a rule file: the same groups as the committed files,
    valid for promtool without warnings."""
    config = thresholds.load(RULES / "thresholds.yaml", ALERTS)
    (text,) = render.prometheus_rule(config).values()
    obj = yaml.safe_load(text)
    assert obj["apiVersion"] == "monitoring.coreos.com/v1" and obj["kind"] == "PrometheusRule"
    groups = obj["spec"]["groups"]
    committed = [g for path in RULE_FILES for g in yaml.safe_load(path.read_text())["groups"]]
    assert sorted(g["name"] for g in groups) == sorted(g["name"] for g in committed)
    by_name = {g["name"]: g for g in committed}
    assert all(g == by_name[g["name"]] for g in groups)
    extracted = tmp_path / "spec.rules.yaml"
    extracted.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    result = subprocess.run([promtool(), "check", "rules", str(extracted)], capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warn" not in (result.stdout + result.stderr).lower()
    assert f"SUCCESS: {sum(len(g['rules']) for g in committed)} rules found" in result.stdout


def test_generate_cli_writes_both_formats(tmp_path: Path) -> None:
    result = run_cli("rules", "generate", "--out", str(tmp_path / "p"))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == [p.name for p in RULE_FILES]
    result = run_cli(
        "rules", "generate", "--out", str(tmp_path / "k"), "--format", "prometheusrule"
    )
    assert result.returncode == 0 and (tmp_path / "k" / "llm-exporter.prometheusrule.yaml").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("bogus: 1\n", "bogus: unknown key"),
        ("alerts: {HighErrorRate: {threshold: high}}\n",
         "alerts.HighErrorRate.threshold: expected a number, got 'high'"),
        ("alerts: {HighErrorRate: {for: -5m}}\n",
         "alerts.HighErrorRate.for: a duration cannot be negative"),
        ('selectors: {app: \'job="x" env\'}\n', "selectors.app: not a valid PromQL label selector"),
        ("selectors: {app: 'job=~\"(\"'}\n", "selectors.app: not a valid PromQL label selector"),
        ("alerts: {NoSuchAlert: {}}\n", "alerts.NoSuchAlert: unknown alert"),
        ("alerts: {HighErrorRate: {treshold: 0.1}}\n", "alerts.HighErrorRate.treshold: unknown"),
        ("evaluation_interval: 10m\n", "evaluation_interval: must be 5m or less"),
        ("slos: {latency: {threshold_seconds: 5}}\n", "must be a bucket boundary"),
        ("alerts: {AgentDepthHigh: {max_depth: 7}}\n", "alerts.AgentDepthHigh.max_depth"),
        ("[1, 2\n", "not valid YAML"),
        ("producers: {provider_label_fallback: gen_ai.system}\n",
         "producers.provider_label_fallback: expected a label name"),
        ("producers: {error_type_aliases: {rate_limit: RateLimitError}}\n",
         "producers.error_type_aliases.rate_limit: expected a list of strings"),
        ("producers: {error_type_aliases: {ratelimit: []}}\n",
         "producers.error_type_aliases.ratelimit: unknown key"),
        ("budgets: {team_daily_usd: [search]}\n",
         "budgets.team_daily_usd: expected a mapping of name to US dollars a day"),
        ("budgets: {team_daily_usd: {search: -5}}\n",
         "budgets.team_daily_usd.search: must not be negative"),
        ("budgets: {feature_daily_usd: {search: lots}}\n",
         "budgets.feature_daily_usd.search: expected a number, got 'lots'"),
        ("budgets: {month_over_month: 1}\n", "budgets.month_over_month: expected a factor above 1"),
        ("budgets: {user_daily_usd: -1}\n", "budgets.user_daily_usd: must not be negative"),
        ("alerts: {TeamDailyBudgetExceeded: {severity: page}}\n",
         "alerts.TeamDailyBudgetExceeded.severity: expected one of"),
        # Guards that could never hold: a rate needs two evaluations in its window, and the
        # long window must add events the short one lacks.
        ("alerts: {HighErrorRate: {windows: [1m, 30m]}}\n",
         "alerts.HighErrorRate.windows: the short window 1m holds fewer than two evaluations"),
        ("evaluation_interval: 5m\n",
         "alerts.HighErrorRate.windows: the short window 5m holds fewer than two evaluations"),
        ("alerts: {ThumbsDownRising: {windows: [1h, 15m]}}\n",
         "alerts.ThumbsDownRising.windows: the long window 15m must be longer than the short"),
        ("alerts: {HighErrorRate: {windows: 5m}}\n",
         "alerts.HighErrorRate.windows: expected two durations [short, long]"),
        ("alerts: {HighLatencyP95: {min_calls: 5}}\n",
         "alerts.HighLatencyP95.min_calls: must be at least 20"),
        ("alerts: {HighErrorRate: {min_events: 0}}\n",
         "alerts.HighErrorRate.min_events: must be at least 1"),
    ],
)  # fmt: skip
def test_bad_thresholds_files_are_one_line_exit_2(tmp_path: Path, content: str,
                                                 message: str) -> None:  # fmt: skip
    path = tmp_path / "thresholds.yaml"
    path.write_text(content)
    generate = ["rules", "generate", "--config", str(path), "--out", str(tmp_path / "out")]
    for args in (["check-config", "--thresholds", str(path)], generate):
        result = run_cli(*args)
        assert result.returncode == 2, result
        assert result.stderr.strip().splitlines() == [result.stderr.strip()], result.stderr
        assert str(path) in result.stderr and message in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()


# -- promtool unit tests ----------------------------------------------------------------------


def test_promtool_unit_tests_pass() -> None:
    assert PROMTOOL_TESTS, "promtool-tests/ holds no *.test.yaml"
    result = subprocess.run([promtool(), "test", "rules", *(p.name for p in PROMTOOL_TESTS)],
                            cwd=REPO / "promtool-tests", capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert result.stdout.count("SUCCESS") == len(PROMTOOL_TESTS)


def test_every_alert_has_a_firing_and_a_quiet_promtool_case() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in glob.glob(str(REPO / "promtool-tests" / "*.test.yaml")):
        for group in yaml.safe_load(Path(path).read_text())["tests"]:
            for case in group.get("alert_rule_test") or ():
                (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
                for alert in case.get("exp_alerts") or ():
                    assert {"severity", "tier"} <= set(alert.get("exp_labels") or {}), case
                    assert {"summary", "description", "runbook_url"} <= set(
                        alert.get("exp_annotations") or {}
                    ), case
    names = {a["alert"] for a in _alerts()}
    assert names - firing == set(), "alerts without a firing case"
    assert names - quiet == set(), "alerts without a case that stays quiet"


def test_producer_knobs_shape_the_recording_rules(tmp_path: Path) -> None:
    """On by default (promtool-tests/producers.test.yaml checks what they do); off, the rules
    read only this project's own names."""
    on = render.rule_files(thresholds.load(None, ALERTS))["recording.rules.yaml"]
    assert '"gen_ai_system"' in on and 'error_type=~"rate_limit|RateLimitError|429"' in on
    assert 'error_type!~"cancelled|CancelledError|KeyboardInterrupt|GeneratorExit"' in on
    path = tmp_path / "off.yaml"
    aliases = ", ".join(f"{cls}: []" for cls in thresholds.FOREIGN_NAMES)
    off_knobs = f'{{provider_label_fallback: "", error_type_aliases: {{{aliases}}}}}'
    path.write_text(f"producers: {off_knobs}\n")
    off = render.rule_files(thresholds.load(path, ALERTS))["recording.rules.yaml"]
    assert "label_join" not in off and "label_replace" not in off
    assert 'error_type!~"cancelled"' in off
