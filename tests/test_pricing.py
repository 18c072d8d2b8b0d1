"""The model table: snapshot resolution, cost arithmetic, user overrides and bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm_exporter.errors import ConfigError
from llm_exporter.pricing import ModelTable

from .conftest import run_cli


def test_shipped_table_entries_have_source_and_date() -> None:
    table = ModelTable.load()
    for name in table.names():
        info = table.lookup(name)
        assert info is not None and (not info.priced or (info.source and info.date)), name


def test_snapshots_resolve_to_their_base_model() -> None:
    table = ModelTable.load()
    assert table.lookup("gpt-4o-2024-08-06") is table.lookup("gpt-4o")
    assert table.lookup("gpt-4o-mini-2024-07-18").name == "gpt-4o-mini"
    assert table.lookup("no-such-model-2024-01-01") is None
    assert table.lookup("llama-3.1-8b-instruct") is None


def test_cost_arithmetic_with_cached_input() -> None:
    gpt4o = ModelTable.load().lookup("gpt-4o")
    # 1000 input of which 200 cached, 500 output, at 2.50 / 1.25 / 10.00 USD per million:
    # (800 * 2.50 + 200 * 1.25 + 500 * 10.00) / 1e6 = 0.00725
    assert gpt4o.cost(1000, 500, cached_tokens=200) == pytest.approx(0.00725)


def test_user_file_overrides_and_extends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(
        "models:\n"
        "  gpt-4o: {input: 1.0, output: 2.0, source: contract, date: '2026-01-01'}\n"
        "  llama-3.1-8b-instruct: {input: 0.05, output: 0.05, context_window: 131072,"
        " source: own GPU cost, date: '2026-02-01'}\n"
    )
    table = ModelTable.load(path)
    assert table.lookup("gpt-4o-2024-08-06").input == 1.0
    assert table.lookup("llama-3.1-8b-instruct").context_window == 131072
    assert table.lookup("gpt-4o-mini").input == 0.15  # untouched shipped entry
    monkeypatch.setenv("LLM_EXPORTER_MODELS", str(path))
    assert ModelTable.load().lookup("gpt-4o").input == 1.0


@pytest.mark.parametrize(
    ("content", "key", "problem"),
    [
        ("gpt-4o: {input: 1}\n", None, "expected a mapping with one key, models"),
        ("models:\n  m: {input: -1, source: s}\n", "models.m.input", "non-negative number"),
        ("models:\n  m: {input: cheap, source: s}\n", "models.m.input", "non-negative number"),
        ("models:\n  m: {input: 1}\n", "models.m.source", "needs a source"),
        ("models:\n  m: {output: 1, source: s}\n", "models.m.input", "required"),
        ("models:\n  m: {input: 1, source: s, contxt: 5}\n", "models.m.contxt", "unknown key"),
        ("models:\n  m: {context_window: 0}\n", "models.m.context_window", "positive integer"),
        ("models: [\n", None, "not valid YAML"),
        # NaN or infinite prices turned every cost counter they touched into NaN or +Inf.
        ("models:\n  m: {input: .nan, source: s}\n", "models.m.input", "finite"),
        ("models:\n  m: {input: 1, output: .inf, source: s}\n", "models.m.output", "finite"),
        (
            "models:\n  m: {input: 1, cached_input: 1e400, source: s}\n",
            "models.m.cached_input",
            "finite",
        ),
    ],
)
def test_bad_model_files(tmp_path: Path, content: str, key: str | None, problem: str) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        ModelTable.load(path)
    assert info.value.source == str(path) and info.value.key == key
    assert problem in info.value.problem


def test_check_config_models(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  m: {input: 1}\n")
    result = run_cli("check-config", "--models", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"llm-exporter: error: {bad}: models.m.source: "
        "every price needs a source (where it is from)"
    )
    good = tmp_path / "good.yaml"
    good.write_text("models:\n  m: {input: 1, source: s}\n")
    assert run_cli("check-config", "--models", str(good)).stdout.strip() == f"{good}: OK"
