"""Producers of the same metrics other than llm-exporter's own hooks.

``otel`` serves OpenTelemetry metrics from a prometheus_client registry, named as the OTel
Prometheus exporter names them, with another producer's names mapped onto the catalog where the
meaning matches; ``openlit`` sets OpenLIT up on top of it (``llm_exporter.use_openlit``). Both
import OpenTelemetry, so ``import llm_exporter`` never loads them.
"""
