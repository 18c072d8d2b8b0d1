"""A world's rule files: the pack generated from the thresholds file beside the rules, with the
world's daily budget set (as ``llm-exporter rules generate`` would write them). A rules
directory without a thresholds file (hand-written rules) is used as it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..rulegen.alerts import ALERTS
from ..rulegen.render import rule_files
from ..rulegen.thresholds import load
from ..yamlfile import read_yaml
from .evaluate import rule_files_in

THRESHOLDS = "thresholds.yaml"


def world_rules(rules_dir: Path, daily_budget_usd: float, into: Path) -> list[Path]:
    source = rules_dir / THRESHOLDS
    if not source.is_file():
        return rule_files_in(rules_dir)
    data: dict[str, Any] = read_yaml(source) or {}
    budgets = data.setdefault("budgets", {})
    budgets["daily_usd"] = daily_budget_usd
    into.mkdir(parents=True, exist_ok=True)
    config_path = into / THRESHOLDS
    config_path.write_text(yaml.safe_dump(data, sort_keys=False))
    written = []
    for name, text in rule_files(load(config_path, ALERTS)).items():
        path = into / name
        path.write_text(text)
        written.append(path.resolve())
    return sorted(written)
