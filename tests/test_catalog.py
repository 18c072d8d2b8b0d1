"""The catalog is well-formed, follows the naming rules, and the reference doc is current."""

from __future__ import annotations

import re

from llm_exporter import catalog
from llm_exporter.catalog import Kind, Origin
from llm_exporter.docs import render_metrics_reference

from .conftest import REPO

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def test_names_are_unique_and_valid() -> None:
    specs = catalog.all_specs()
    assert len({s.name for s in specs}) == len(specs)
    for spec in specs:
        assert NAME.match(spec.name), spec.name
        assert all(LABEL.match(label) and not label.startswith("__") for label in spec.labels)
        assert len(set(spec.labels)) == len(spec.labels), spec.name
        if spec.origin is Origin.PROJECT:
            assert spec.name.startswith(catalog.PREFIX), spec.name
        if spec.unit:
            assert spec.name.removesuffix("_total").endswith("_" + spec.unit), spec.name


def test_semconv_metrics_match_the_otel_prometheus_form() -> None:
    semconv = {s.name: s for s in catalog.all_specs() if s.origin is Origin.SEMCONV}
    assert set(semconv) >= {
        "gen_ai_client_operation_duration_seconds",
        "gen_ai_client_token_usage",
        "gen_ai_client_operation_time_to_first_chunk_seconds",
        "gen_ai_client_operation_time_per_output_chunk_seconds",
    }
    for spec in semconv.values():
        assert spec.kind is Kind.HISTOGRAM
        if spec.name.startswith("gen_ai_client_"):
            assert set(catalog.CALL_LABELS) <= set(spec.labels)
    # Agent and tool metrics carry their own name and error.type, as the conventions define.
    assert catalog.AGENT_DURATION.labels == (catalog.AGENT_NAME, catalog.ERROR_TYPE)
    assert catalog.TOOL_DURATION.labels == (catalog.TOOL_NAME, catalog.ERROR_TYPE)
    assert semconv["gen_ai_invoke_agent_duration_seconds"] is catalog.AGENT_DURATION
    assert semconv["gen_ai_execute_tool_duration_seconds"] is catalog.TOOL_DURATION
    assert catalog.TOKEN_USAGE.buckets[0] == 1 and catalog.TOKEN_USAGE.buckets[-1] == 67108864
    assert catalog.OPERATION_DURATION.buckets[-1] == 81.92


def test_metrics_reference_is_current() -> None:
    committed = (REPO / "docs" / "metrics.md").read_text()
    assert committed == render_metrics_reference(), "docs/metrics.md is stale: run `make docs`"
    for spec in catalog.all_specs():
        assert f"### `{spec.name}`" in committed
