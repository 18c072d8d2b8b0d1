"""What a Prometheus user expects: node_exporter's flag names, a loopback demo, PrometheusRule
knobs, and a replay that says why it failed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from .conftest import REPO, ServeProcess, http_get, run_cli


def test_node_exporter_flag_names_are_aliases(tmp_path: Path) -> None:
    config = tmp_path / "web.yml"
    config.write_text("http_server_config:\n  headers: {X-Frame-Options: deny}\n")
    proc = ServeProcess("--no-gpu", "--web.config.file", str(config))
    try:
        assert http_get(proc.url + "/healthz")[1]["X-Frame-Options"] == "deny"
    finally:
        proc.stop()
    result = run_cli("--log.level", "error", "serve", "--web.listen-address", "[::1:5")
    assert result.returncode == 2 and "expected host:port or [IPv6]:port" in result.stderr


def test_the_demo_binds_loopback_by_default() -> None:
    result = run_cli("demo", "--help")
    assert "[default: 127.0.0.1:9464]" in " ".join(result.stdout.split())
    demo = [line for line in (REPO / "Makefile").read_text().splitlines()
            if "llm-exporter demo" in line]  # fmt: skip
    assert demo and all("127.0.0.1:" in line for line in demo)


def test_prometheusrule_takes_a_namespace_and_labels(tmp_path: Path) -> None:
    result = run_cli("rules", "generate", "--format", "prometheusrule", "--out", str(tmp_path),
                     "--namespace", "monitoring", "--label", "release=kube-prometheus-stack",
                     "--label", "team=ml")  # fmt: skip
    assert result.returncode == 0, result.stderr
    obj = yaml.safe_load((tmp_path / "llm-exporter.prometheusrule.yaml").read_text())
    assert obj["metadata"]["namespace"] == "monitoring"
    assert obj["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert obj["metadata"]["labels"]["team"] == "ml"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "prometheusrule", "--label", "release"], "--label: expected KEY=VALUE"),
        (["--format", "prometheusrule", "--label", "a b=c"], "--label: expected KEY=VALUE"),
        (["--format", "prometheusrule", "--namespace", "Not_Valid"], "--namespace: expected"),
        (["--namespace", "monitoring"], "need --format prometheusrule"),
    ],
)
def test_bad_prometheusrule_knobs_are_one_line_exit_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = run_cli("rules", "generate", "--out", str(tmp_path / "out"), *args)
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.splitlines()) == 1 and not (tmp_path / "out").exists()


def test_the_replay_cli_says_why_it_exits_1(tmp_path: Path) -> None:
    (tmp_path / "empty.rules.yaml").write_text("groups: []\n")  # detects nothing
    result = run_cli("replay", "--world", "small-legal", "--incident", "gpu-xid",
                     "--days-history", "0", "--days-normal", "1", "--rules-dir", str(tmp_path),
                     timeout=300)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith(
        "llm-exporter: replay missed a target: small-legal: 2 incidents not detected: "
    ), result.stderr


def test_smaller_inconsistencies() -> None:
    result = run_cli("check-config")
    assert result.returncode == 2 and result.stderr.count("--help") == 1, result.stderr
    assert "runbook.md" in " ".join(run_cli("docs", "generate", "--help").stdout.split())
    readme = (REPO / "README.md").read_text()
    make = (REPO / "Makefile").read_text()
    # The replay's duration is said once in the Makefile's help and once in the README, alike.
    minutes = re.search(r"^replay:.*\(~(\d+) min", make, re.M)
    assert minutes is not None, "the Makefile's replay help gives no duration"
    assert f"(`make replay`, about {minutes.group(1)} minutes" in readme


def test_the_demo_and_the_replay_share_incident_names() -> None:
    from llm_exporter.demo.incidents import INCIDENTS
    from llm_exporter.replay.incidents import INCIDENTS as STAGED

    shared = set(INCIDENTS) & {i.name for i in STAGED}
    assert shared >= {"tool-timeouts", "latency-regression"}
