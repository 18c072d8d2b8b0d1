"""Another instrumentation already recording the call: OpenLIT.

OpenLIT wraps the openai SDK's resource methods, which sit outside the client's ``request()``
where llm-exporter's hook is, and opens its span before the request goes out. So when our hook
starts and the current span is an OpenLIT span of a model call, OpenLIT will record that call's
metrics too; our hook then leaves the call alone, and each call is counted once whichever was set
up first. Calls OpenLIT does not wrap are ours: all of them with
``use_openlit(disabled_instrumentors=["openai"])``, or with OpenLIT's metrics off. Spans dropped
by a sampler carry nothing to recognise, so this needs OpenLIT's spans recorded (the default).

Neither OpenTelemetry nor OpenLIT is imported here: both are looked up in ``sys.modules``, so
a process without them pays one dict lookup a call.
"""

from __future__ import annotations

import logging
import sys

log = logging.getLogger("llm_exporter")

# OpenLIT's spans come from tracers named after its modules (openlit.instrumentation.openai).
OPENLIT_SCOPE = "openlit."
# gen_ai.operation.name of the calls OpenLIT records client metrics for.
MODEL_CALLS = frozenset({"chat", "text_completion", "embeddings", "generate_content"})

_told = False


def openlit_records_this_call() -> bool:
    """True when an OpenLIT span of a model call is current and OpenLIT's metrics are on."""
    if "openlit" not in sys.modules:
        return False
    try:
        span = sys.modules["opentelemetry.trace"].get_current_span()
        scope = getattr(span, "instrumentation_scope", None)
        if scope is None or not scope.name.startswith(OPENLIT_SCOPE):
            return False
        if (span.attributes or {}).get("gen_ai.operation.name") not in MODEL_CALLS:
            return False
        config = sys.modules.get("openlit._config")
        if config is not None and getattr(config.OpenlitConfig, "disable_metrics", False):
            return False
    except Exception:  # an OpenTelemetry or OpenLIT we do not know: record as usual
        return False
    _tell_once()
    return True


def _tell_once() -> None:
    global _told
    if not _told:
        _told = True
        log.warning(
            "llm-exporter leaves openai calls that OpenLIT records to OpenLIT, so each call is "
            "counted once; to have llm-exporter record them, pass "
            "disabled_instrumentors=['openai'] to use_openlit() or openlit.init()"
        )
