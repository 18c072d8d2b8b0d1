"""Malformed files of every kind a user hands llm-exporter: one line naming the file, exit 2,
never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm_exporter.errors import ConfigError
from llm_exporter.rulegen import thresholds
from llm_exporter.rulegen.alerts import ALERTS


@pytest.mark.parametrize(
    ("content", "key"),
    [
        ("budgets: {daily_usd: .nan}\n", "budgets.daily_usd"),
        ("budgets: {user_daily_usd: .NaN}\n", "budgets.user_daily_usd"),
        ("budgets: {team_daily_usd: {search: .nan}}\n", "budgets.team_daily_usd.search"),
        ("budgets: {month_over_month: .inf}\n", "budgets.month_over_month"),
        ("alerts: {HighErrorRate: {threshold: .nan}}\n", "alerts.HighErrorRate.threshold"),
    ],
)
def test_nan_and_infinite_thresholds_are_refused(tmp_path: Path, content: str, key: str) -> None:
    # A NaN budget generated an alert that could never fire.
    path = tmp_path / "thresholds.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        thresholds.load(path, ALERTS)
    assert info.value.key == key and "finite" in info.value.problem


def test_an_unknown_ignored_error_class_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.yaml"
    path.write_text("ignored_error_types: [cancelled, canceled]\n")  # a typo counted as failures
    with pytest.raises(ConfigError) as info:
        thresholds.load(path, ALERTS)
    assert info.value.key == "ignored_error_types" and "'canceled'" in info.value.problem
