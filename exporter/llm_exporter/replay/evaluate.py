"""Run the rule pack over a scenario with promtool, and read back which alerts fired when.

The scenario's series become a promtool test file (one sample a minute); promtool evaluates
every rule group every minute exactly as Prometheus would (for, keep_firing_for, recording
before alerting). Each alert's firing state is in the ALERTS series; the test asks, per
six-hour window, for the earliest minute each alert was firing, expecting nothing, and
promtool's report of what it got instead is the answer. (Six hours keeps each query under
promtool's cap of 10 000 samples.)
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..rulegen.render import GROUP_ORDER
from .scenarios import Scenario
from .world import MINUTE, World

WINDOW_MINUTES = 360
# promtool prints what it got as "{labels} value, {labels} value, ..." on one line.
_GOT = re.compile(r"(\{[^{}]*\})\s+([0-9.eE+-]+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Firing:
    alert: str
    minute: float  # first minute it was firing, from the scenario's start (minute 0)
    labels: dict[str, str]


def encode(values: list[float | None]) -> str:
    """promtool's series notation, runs of equal values folded: '_x9 1x20 2 3'."""
    out: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[i]:
            j += 1
        text = "_" if values[i] is None else f"{values[i]:.7g}"
        out.append(f"{text}x{j - i}" if j > i else text)
        i = j + 1
    return " ".join(out)


def test_file(scenario: Scenario, rule_files: list[Path]) -> str:
    series = World(scenario.minutes, scenario.conditions).run()
    lines = ["rule_files:", *(f"  - {p}" for p in rule_files), "evaluation_interval: 1m",
             "group_eval_order:", *(f"  - {g}" for g in GROUP_ORDER), "tests:",
             "  - interval: 1m", "    input_series:"]  # fmt: skip
    for name, values in sorted(series.values.items()):
        lines += [f"      - series: '{name}'", f"        values: '{encode(values)}'"]
    lines.append("    promql_expr_test:")
    for end in range(WINDOW_MINUTES, scenario.minutes + WINDOW_MINUTES, WINDOW_MINUTES):
        end = min(end, scenario.minutes)
        lines += [
            '      - expr: min_over_time(timestamp(ALERTS{alertstate="firing"})'
            f"[{WINDOW_MINUTES}m:1m])",
            f"        eval_time: {end}m",
            "        exp_samples: []",
        ]
    return "\n".join(lines) + "\n"


def firings(scenario: Scenario, rules_dir: Path) -> list[Firing]:
    """Every alert that fired in the scenario, at its first firing minute."""
    promtool = shutil.which("promtool")
    if promtool is None:
        raise ConfigError("promtool", None, "not found: apt-get install prometheus")
    rule_files = sorted(rules_dir.resolve().glob("*.rules.yaml"))
    if not rule_files:
        raise ConfigError(str(rules_dir), None, "holds no *.rules.yaml (run make rules)")
    with tempfile.TemporaryDirectory(prefix="llm-replay-") as tmp:
        path = Path(tmp) / "replay.test.yaml"
        path.write_text(test_file(scenario, rule_files))
        out = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True,
                             text=True, timeout=3600)  # fmt: skip
    report = out.stdout + out.stderr
    # The test expects no alert, so promtool fails whenever one fires; failing with no alert
    # reported ("got:") means it could not load the rules, which would otherwise read as quiet.
    if out.returncode != 0 and "got:" not in report:
        raise ConfigError(str(rules_dir), None, f"promtool cannot use the rules: {_gist(report)}")
    return _parse(report)


def _gist(report: str) -> str:
    """promtool's first line that says what is wrong."""
    headers = ("Unit Testing", "FAILED")
    lines = (line.strip() for line in report.splitlines())
    return next((line for line in lines if line and not line.startswith(headers)), "?")


def _parse(report: str) -> list[Firing]:
    # A rule that fails to evaluate (promtool's "err:" lines) voids the whole replay.
    errors = [line.strip() for line in report.splitlines() if " err: " in line]
    if errors:
        raise ConfigError("promtool", None, f"a rule fails to evaluate in the replay: {errors[0]}")
    first: dict[tuple[tuple[str, str], ...], Firing] = {}
    for line in report.splitlines():
        if "got:" not in line:
            continue
        for found in _GOT.finditer(line):
            labels = dict(_LABEL.findall(found.group(1)))
            if labels.get("alertstate") != "firing":
                continue
            minute = float(found.group(2)) / MINUTE
            ident = tuple(sorted(labels.items()))
            if ident not in first or minute < first[ident].minute:
                first[ident] = Firing(labels["alertname"], minute, labels)
    return sorted(first.values(), key=lambda f: (f.minute, f.alert))
