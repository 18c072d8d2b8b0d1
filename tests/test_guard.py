"""The label guard bounds series per family and says what it folded."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from llm_exporter import catalog
from llm_exporter.guard import OVERFLOW_VALUE, GuardSettings
from llm_exporter.metrics import Metrics


def _samples(registry: CollectorRegistry, name: str) -> list:
    return [s for fam in registry.collect() for s in fam.samples if s.name == name]


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    assert value is not None, (name, labels)
    return value


def test_flood_of_model_names_stays_at_cap() -> None:
    cap, flood = 500, 100_000
    registry = CollectorRegistry()
    metrics = Metrics(registry, GuardSettings(max_label_sets=cap))
    fam = metrics.family(catalog.RETRIES)
    for i in range(flood):
        fam.labels("chat", "openai", f"model-{i}", "api.example").inc()
    series = _samples(registry, catalog.RETRIES.name)
    assert len(series) == cap
    overflow = [s for s in series if s.labels[catalog.REQUEST_MODEL] == OVERFLOW_VALUE]
    assert len(overflow) == 1 and all(v == OVERFLOW_VALUE for v in overflow[0].labels.values())
    folded = flood - (cap - 1)
    assert overflow[0].value == folded
    assert _value(registry, catalog.LABELS_FOLDED.name, metric=catalog.RETRIES.name) == folded
    assert _value(registry, catalog.LABEL_SETS.name, metric=catalog.RETRIES.name) == cap
    assert _value(registry, catalog.LABEL_SETS_LIMIT.name, metric=catalog.RETRIES.name) == cap
    # Nothing is lost: every increment landed in some series.
    assert sum(s.value for s in series) == flood


def test_admitted_sets_keep_recording_after_the_cap() -> None:
    registry = CollectorRegistry()
    fam = Metrics(registry, GuardSettings(max_label_sets=3)).family(catalog.UNPRICED_OPERATIONS)
    first = fam.labels("openai", "a")
    fam.labels("openai", "b")
    fam.labels("openai", "c").inc()  # folded
    assert fam.labels("openai", "a") is first
    first.inc(2)
    assert _value(registry, catalog.UNPRICED_OPERATIONS.name,
                  gen_ai_provider_name="openai", gen_ai_response_model="a") == 2  # fmt: skip
    assert _value(registry, catalog.UNPRICED_OPERATIONS.name,
                  gen_ai_provider_name="other", gen_ai_response_model="other") == 1  # fmt: skip


def test_long_values_are_cut_and_counted() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry, GuardSettings(max_value_length=8))
    metrics.family(catalog.UNPRICED_OPERATIONS).labels("openai", "x" * 100).inc()
    assert _value(registry, catalog.UNPRICED_OPERATIONS.name,
                  gen_ai_provider_name="openai", gen_ai_response_model="x" * 8) == 1  # fmt: skip
    name = catalog.LABEL_VALUES_TRUNCATED.name
    assert _value(registry, name, metric=catalog.UNPRICED_OPERATIONS.name) == 1


def test_settings_from_env_and_bounds() -> None:
    env = {"LLM_EXPORTER_MAX_LABEL_SETS": "42", "LLM_EXPORTER_MAX_LABEL_VALUE_LENGTH": "16"}
    assert GuardSettings.from_env(env) == GuardSettings(max_label_sets=42, max_value_length=16)
    for bad in ({"LLM_EXPORTER_MAX_LABEL_SETS": "many"}, {"LLM_EXPORTER_MAX_LABEL_SETS": "1"}):
        try:
            GuardSettings.from_env(bad)
        except ValueError as exc:
            assert "LLM_EXPORTER_MAX_LABEL_SETS" in str(exc) or "max_label_sets" in str(exc)
        else:
            raise AssertionError(f"{bad} accepted")
