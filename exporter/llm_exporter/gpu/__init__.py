"""GPU metrics from NVML for `llm-exporter serve`.

``nvml``: the pynvml boundary (errors, call counting, init/shutdown with back-off);
``reader``: one pass over every GPU into plain readings; ``xid``: the XID event thread;
``health``: failure counts and log-once; ``collector``: the prometheus_client collector and the
poller thread that keeps its snapshot fresh. Metric names come from ``llm_exporter.catalog``.
"""

from __future__ import annotations

from .collector import GpuCollector, GpuOptions

__all__ = ["GpuCollector", "GpuOptions"]
