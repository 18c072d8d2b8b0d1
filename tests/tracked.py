"""A Tracker on a private registry, and reads of what it recorded."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from llm_exporter.metrics import Metrics
from llm_exporter.track import Tracker


class Reader:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.tracker = Tracker(Metrics(self.registry))

    def value(self, name: str, **labels: str) -> float:
        """One sample's value; 0 when it was never recorded."""
        return self.registry.get_sample_value(name, labels) or 0.0

    def samples(self, name: str) -> list:
        return [s for f in self.registry.collect() for s in f.samples if s.name == name]
