"""Memory under a flood of distinct label values: what the label guard holds it to.

    uv run python scripts/bench_flood.py [--values 1000000]

A bug puts a user id where the model label goes, on every call: ``--values`` distinct values
through one guarded family (the retries counter, default cap of 1000 label sets). Reported: the
label sets kept, the process's RSS growth, tracemalloc's peak over the whole flood (a second
pass, since tracing slows it several times), and the time per value.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc

from _measure import rss_bytes  # scripts/, first on sys.path when a script runs
from prometheus_client import CollectorRegistry

from llm_exporter import catalog
from llm_exporter.metrics import Metrics


def flood(n: int, trace: bool) -> dict[str, float]:
    family = Metrics(CollectorRegistry()).family(catalog.RETRIES)
    if trace:
        tracemalloc.start()
    before, started = rss_bytes(), time.perf_counter()
    for i in range(n):
        family.labels("chat", "openai", f"user-{i}", "api.local").inc(1)
    elapsed = time.perf_counter() - started
    result = {"sets": family.label_set_count, "rss": rss_bytes() - before, "s": elapsed}
    if trace:
        result["peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--values", type=int, default=1_000_000)
    args = parser.parse_args()
    plain, traced = flood(args.values, False), flood(args.values, True)
    print(f"Python {sys.version.split()[0]}\n")
    print("| distinct values | label sets kept | RSS growth | tracemalloc peak | µs per value |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| {args.values:,} | {plain['sets']:,} | {plain['rss'] / 1e6:.1f} MB | "
          f"{traced['peak'] / 1e6:.1f} MB | {plain['s'] / args.values * 1e6:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
