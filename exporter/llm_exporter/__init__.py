"""llm-exporter: Prometheus metrics for LLM applications and the GPUs under them.

``instrument_openai()`` records every call of the openai SDK; ``attribute()`` attributes its
cost to a team, feature, tenant and user; ``agent()``, ``tool()``, ``stage()``, ``retrieval()``,
``handoff()``, ``record_score()``, ``record_feedback()``, ``Judge`` and ``set_app_info()``
record what single calls do not show; ``use_openlit()`` serves OpenLIT's metrics alongside.
The metric families are defined in ``llm_exporter.catalog``. Heavy imports
(the openai SDK, OpenLIT, OpenTelemetry) wait until first use.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "instrument_openai": "llm_exporter.instrument.openai_sdk",
    "uninstrument_openai": "llm_exporter.instrument.openai_sdk",
    "set_trace_id": "llm_exporter.instrument.context",
    "reset_trace_id": "llm_exporter.instrument.context",
    "use_openlit": "llm_exporter.sources.openlit",
    **{
        name: "llm_exporter.cost"
        for name in ("attribute", "set_attribution", "reset_attribution", "configure_attribution",
                     "configure_user_budgets")
    },
    **{
        name: "llm_exporter.track"
        for name in ("agent", "tool", "stage", "handoff", "retrieval", "record_retrieval",
                     "set_index_updated", "record_score", "record_feedback",
                     "record_output_check", "set_app_info", "Judge", "Tracker")
    },
}  # fmt: skip

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llm_exporter' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
