"""A flood of 1 000 000 distinct label values: the guard keeps the series and the memory bounded
and loses no count.

The other faults of the production checklist are tested where their code lives: recording that
raises (tests/test_openai_instrumentation.py::test_fault_in_recording_never_reaches_the_caller,
tests/test_track.py), an NVML call that hangs (tests/test_gpu_collector.py::
test_hanging_call_scrapes_serve_the_cache_and_count_a_timeout), a multiprocess folder that is
missing, full or holds a broken file (tests/test_multiprocess.py).
"""

from __future__ import annotations

import tracemalloc

from prometheus_client import CollectorRegistry

from llm_exporter import catalog
from llm_exporter.guard import OVERFLOW_VALUE, GuardSettings
from llm_exporter.metrics import Metrics

FLOOD = 1_000_000
SETTINGS = GuardSettings()  # the defaults, whatever LLM_EXPORTER_MAX_LABEL_SETS says
CAP = SETTINGS.max_label_sets


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def test_a_million_distinct_values_stay_bounded_and_every_count_lands() -> None:
    registry = CollectorRegistry()
    retries = Metrics(registry, SETTINGS).family(catalog.RETRIES)  # the guard's default cap
    before = rss_bytes()
    # A bug that puts a user id where the model goes, on every call.
    for i in range(FLOOD - 100_000):
        retries.labels("chat", "openai", f"user-{i}", "api.local").inc(1)
    tracemalloc.start()
    start, _ = tracemalloc.get_traced_memory()
    for i in range(FLOOD - 100_000, FLOOD):
        retries.labels("chat", "openai", f"user-{i}", "api.local").inc(1)
    grown, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_growth = rss_bytes() - before

    assert retries.label_set_count == CAP
    # No growth per new value once the family is full (a few kB of interpreter noise at most),
    # and the whole flood within a few MB (unguarded, a million counters take about 850 MB).
    assert grown - start < 64 * 1024
    assert rss_growth < 32 * 1024 * 1024
    values = {(s.name, s.labels.get("metric", s.labels.get(catalog.REQUEST_MODEL))): s.value
              for f in registry.collect() for s in f.samples}  # fmt: skip
    assert values[(catalog.RETRIES.name, OVERFLOW_VALUE)] == FLOOD - (CAP - 1)
    assert values[(catalog.LABELS_FOLDED.name, catalog.RETRIES.name)] == FLOOD - (CAP - 1)
    assert sum(v for (name, _), v in values.items() if name == catalog.RETRIES.name) == FLOOD
