"""Run the rule pack over a world with promtool, and read back which alerts fired when and which
baselines read NaN.

The world's series become one promtool test file (one sample a minute); promtool evaluates
every rule group every minute exactly as Prometheus would (for, keep_firing_for, recording
before alerting). The test then asks questions that expect nothing, and promtool's report of
what it got instead is the answer:
- per window (each incident's, and two-hour windows elsewhere), the earliest minute each alert
  was firing (the ALERTS series), and which alerts were firing the minute before an incident;
- per baseline and six hours, the earliest minute it read NaN (``x != x`` holds only for NaN).
Windows keep each query under promtool's cap of 10 000 samples.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import ConfigError
from ..rulegen.render import GROUP_ORDER
from .world import MINUTE, Series

WINDOW_MINUTES = 120
NAN_WINDOW_MINUTES = 360  # x != x holds both sides in memory: 9 series x 361 x 2 stay < 10 000
BASELINE_SUFFIXES = ("_baseline", "_median", "_seen")  # the rule pack's baseline convention
_EXPR = re.compile(r'expr: "(.*)", time: ')
_GOT = re.compile(r"(\{[^{}]*\})\s+([0-9.eE+-]+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
_NAN_QUERY = re.compile(r"timestamp\(([a-zA-Z_:][a-zA-Z0-9_:]*) != ")


@dataclass(frozen=True)
class Firing:
    alert: str
    minute: float  # first minute it was firing in the window asked about
    labels: dict[str, str]


@dataclass(frozen=True)
class Answer:
    firings: list[Firing]
    nan: dict[str, float]  # baseline name -> the first minute it read NaN
    unanswered: list[str] = field(default_factory=list)  # the replay's questions that failed


def encode(values: Iterable[float]) -> str:
    """promtool's series notation, runs folded, NaN as a missing sample: '_x3 1x20 2 3' (in
    promtool '_x3' is three missing samples but '1x20' is twenty-one ones)."""
    out: list[str] = []
    run_value: str | None = None
    run = 0
    for value in values:
        text = "_" if value != value else _number(value)
        if text == run_value:
            run += 1
            continue
        if run_value is not None:
            out.append(_run(run_value, run))
        run_value, run = text, 1
    if run_value is not None:
        out.append(_run(run_value, run))
    return " ".join(out)


def _run(text: str, length: int) -> str:
    if length == 1:
        return text
    return f"_x{length}" if text == "_" else f"{text}x{length - 1}"


def _number(value: float) -> str:
    # Counters grow to tens of millions: integers in full, fractions to ten digits.
    return str(int(value)) if value.is_integer() else f"{value:.10g}"


def baseline_names(rule_files: list[Path]) -> list[str]:
    names = set()
    for path in rule_files:
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups") or []:
            for rule in group.get("rules") or []:
                record = rule.get("record", "")
                if record.endswith(BASELINE_SUFFIXES):
                    names.add(record)
    return sorted(names)


def windows(first: int, last: int, size: int = WINDOW_MINUTES) -> list[tuple[int, int]]:
    return [(s, min(s + size, last)) for s in range(first, last, size)]


def test_file(series: Series, rule_files: list[Path], alert_windows: list[tuple[int, int]],
              nan_names: list[str], firing_at: Iterable[int] = ()) -> str:  # fmt: skip
    """The test: the series, then the questions: each window's first firing minute per alert,
    the alerts firing at each minute of ``firing_at``, each baseline's first NaN per window."""
    lines = ["rule_files:", *(f"  - {p}" for p in rule_files), "evaluation_interval: 1m",
             "group_eval_order:", *(f"  - {g}" for g in GROUP_ORDER), "tests:",
             "  - interval: 1m", "    input_series:"]  # fmt: skip
    for name, values in sorted(series.values.items()):
        lines += [f"      - series: '{name}'", f"        values: '{encode(values)}'"]
    lines.append("    promql_expr_test:")
    for start, end in alert_windows:
        # The subquery takes in its first step too (promtool 3): [start, end].
        lines += ['      - expr: min_over_time(timestamp(ALERTS{alertstate="firing"})'
                  f"[{end - start}m:1m])",
                  f"        eval_time: {end}m", "        exp_samples: []"]  # fmt: skip
    for minute in firing_at:
        lines += ['      - expr: timestamp(ALERTS{alertstate="firing"})',
                  f"        eval_time: {minute}m", "        exp_samples: []"]  # fmt: skip
    for name in nan_names:
        for start, end in windows(0, series.minutes, NAN_WINDOW_MINUTES):
            lines += [f"      - expr: min_over_time(timestamp({name} != {name})"
                      f"[{end - start}m:1m])",
                      f"        eval_time: {end}m", "        exp_samples: []"]  # fmt: skip
    return "\n".join(lines) + "\n"


def rule_files_in(rules_dir: Path) -> list[Path]:
    found = sorted(rules_dir.resolve().glob("*.rules.yaml"))
    if not found:
        raise ConfigError(str(rules_dir), None, "holds no *.rules.yaml (run make rules)")
    return found


def run_promtool(test: Path, rules_dir: Path) -> Answer:
    promtool = shutil.which("promtool")
    if promtool is None:
        raise ConfigError("promtool", None, "not found: apt-get install prometheus")
    out = subprocess.run([promtool, "test", "rules", str(test)], capture_output=True, text=True,
                         timeout=6 * 3600)  # fmt: skip
    report = out.stdout + out.stderr
    # The test expects nothing, so promtool fails whenever anything fires; failing with
    # nothing reported ("got:") means it could not load the rules, which would read as quiet.
    if out.returncode != 0 and "got:" not in report:
        raise ConfigError(str(rules_dir), None, f"promtool cannot use the rules: {_gist(report)}")
    return parse(report)


def _gist(report: str) -> str:
    """promtool's first line that says what is wrong."""
    headers = ("Unit Testing", "FAILED")
    lines = (line.strip() for line in report.splitlines())
    return next((line for line in lines if line and not line.startswith(headers)), "?")


def parse(report: str) -> Answer:
    # A rule that fails to evaluate (promtool's "err:" lines) voids the whole replay; one of
    # the replay's own questions failing (a window over the sample cap) is reported instead.
    errors = [line.strip() for line in report.splitlines() if " err: " in line]
    rule_errors = [e for e in errors if not e.startswith("expr:")]
    if rule_errors:
        raise ConfigError(
            "promtool", None, f"a rule fails to evaluate in the replay: {rule_errors[0]}"
        )
    unanswered = [e for e in errors if e.startswith("expr:")]
    firings: list[Firing] = []
    nan: dict[str, float] = {}
    expr = ""
    for line in report.splitlines():
        found_expr = _EXPR.search(line)
        if found_expr:
            expr = found_expr.group(1)
            continue
        if "got:" not in line:
            continue
        baseline = _NAN_QUERY.search(expr)
        for found in _GOT.finditer(line):
            minute = float(found.group(2)) / MINUTE
            if baseline:
                name = baseline.group(1)
                nan[name] = min(minute, nan.get(name, minute))
                continue
            labels = dict(_LABEL.findall(found.group(1)))
            if labels.get("alertstate") == "firing":
                firings.append(Firing(labels["alertname"], minute, labels))
    firings.sort(key=lambda f: (f.minute, f.alert))
    return Answer(firings, nan, unanswered)
