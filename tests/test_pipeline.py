"""The whole chain, for real: the demo's error burst is scraped by Prometheus, fires the rule
pack's LLMHighErrorRate, is routed by Alertmanager (deploy/alertmanager.yml) to the page receiver,
reaches the webhook receiver with the right labels, and resolves after recovery."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import EXE, REPO, free_port, wait_http
from .prometheus import Prometheus, rule_files

# Short waits so the test takes about a minute, and a lighter evidence guard: on a loaded machine
# the demo's 25-second burst is a few dozen calls a model, where the defaults (5 failures, z 2)
# are sized for minutes of production traffic. Everything else is the shipped rule pack.
TEST_THRESHOLDS = """
evaluation_interval: 1s
baseline_interval: 5s
alerts:
  HighErrorRate: {for: 5s, min_events: 3, z_score: 1}
"""
DEMO_MODELS = {"gpt-4o", "gpt-4o-mini", "llama-3.1-8b-instruct", "text-embedding-3-small"}


def _alertmanager_config(hook_port: int) -> dict[str, Any]:
    config = yaml.safe_load((REPO / "deploy" / "alertmanager.yml").read_text())
    config["route"].update(group_wait="1s", group_interval="1s", repeat_interval="1h")
    for receiver in config["receivers"]:
        for hook in receiver["webhook_configs"]:
            hook["url"] = f"http://127.0.0.1:{hook_port}/{receiver['name']}"
    return config


def _notifications(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def _wait_for(log: Path, match: Callable[[dict, dict], bool], timeout: float) -> tuple[dict, dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for note in _notifications(log):
            for alert in note["alerts"]:
                if match(note, alert):
                    return note, alert
        time.sleep(0.5)
    raise AssertionError(f"no matching notification in {timeout}s: {_notifications(log)}")


def test_an_error_burst_pages_then_resolves(tmp_path: Path) -> None:
    alertmanager_bin = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if alertmanager_bin is None:
        pytest.fail("Alertmanager is not installed (make install-tools)")
    rules = rule_files(tmp_path, TEST_THRESHOLDS)
    hook_port, am_port, demo_port = free_port(), free_port(), free_port()
    (tmp_path / "am.yml").write_text(yaml.safe_dump(_alertmanager_config(hook_port)))
    log = tmp_path / "alerts.jsonl"
    procs: list[subprocess.Popen] = []
    prometheus = None

    def start(cmd: list[str], name: str) -> subprocess.Popen:
        out = (tmp_path / f"{name}.log").open("w")
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    try:
        hook = start([sys.executable, str(REPO / "deploy" / "webhook_receiver.py"),
                      "--listen", f"127.0.0.1:{hook_port}", "--log", str(log)], "hook")  # fmt: skip
        wait_http(f"http://127.0.0.1:{hook_port}/healthz", hook)
        am = start([alertmanager_bin, f"--config.file={tmp_path / 'am.yml'}",
                    f"--storage.path={tmp_path / 'am-data'}",
                    f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="],
                   "alertmanager")  # fmt: skip
        wait_http(f"http://127.0.0.1:{am_port}/-/ready", am)
        # Prometheus first, so it scrapes the demo from its start: a burst it first saw already
        # counted would be no increase to it (a loaded machine once started it after the burst).
        prometheus = Prometheus(tmp_path, {"demo": [f"127.0.0.1:{demo_port}"]},
                                rules,
                                alertmanagers=[f"127.0.0.1:{am_port}"],
                                extra_args=("--rules.alert.resend-delay=1s",))  # fmt: skip
        # 25s of error burst from 10s on: about 16% of calls fail (two failed attempts), so the
        # error ratio passes 5% at once and falls under it about a minute after the burst.
        demo = start([*EXE, "demo", "--listen-address", f"127.0.0.1:{demo_port}", "--rate", "20",
                      "--seed", "5", "--incident", "error-burst", "--incident-after", "10",
                      "--incident-for", "25"], "demo")  # fmt: skip
        wait_http(f"http://127.0.0.1:{demo_port}/healthz", demo)

        def paged(note: dict, alert: dict) -> bool:
            return (alert["labels"].get("alertname") == "LLMHighErrorRate"
                    and alert["status"] == "firing")  # fmt: skip

        note, alert = _wait_for(log, paged, timeout=150)
        labels = alert["labels"]
        assert note["receiver"] == "page"
        assert labels["severity"] == "critical" and labels["tier"] == "app"
        assert labels["job"] == "demo" and labels["gen_ai_provider_name"] == "openai"
        assert labels["gen_ai_request_model"] in DEMO_MODELS
        assert alert["annotations"]["runbook_url"].endswith("#llmhigherrorrate")
        assert "threshold is 5%" in alert["annotations"]["description"]
        model = labels["gen_ai_request_model"]

        def resolved(note: dict, alert: dict) -> bool:
            return (paged(note, {**alert, "status": "firing"}) and alert["status"] == "resolved"
                    and alert["labels"]["gen_ai_request_model"] == model)  # fmt: skip

        note, _ = _wait_for(log, resolved, timeout=300)
        assert note["receiver"] == "page"
        # The routing tree pages only critical infra and app alerts.
        for note in _notifications(log):
            for alert in note["alerts"]:
                if note["receiver"] == "page":
                    assert alert["labels"]["severity"] == "critical", alert
                    assert alert["labels"]["tier"] in ("infra", "app"), alert
    finally:
        if prometheus is not None:
            prometheus.stop()
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
