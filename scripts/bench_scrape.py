"""/metrics at scale: time and size at 1k, 10k and 100k series, and memory per series.

    uv run python scripts/bench_scrape.py [--sizes 1000,10000,100000] [--scrapes 15]

Series are built through this package's own guarded families (the guard's cap raised to fit),
in two shapes: LLM-call duration histograms (17 series per label set: 15 buckets, _sum, _count)
and cost counters (one series per label set). A child process holds the registry and serves it,
as an application would, and the parent scrapes it over loopback HTTP with a fresh connection
each time, as Prometheus does; medians over ``--scrapes``.

- ``generate_latest``: prometheus_client's bare call on the same registry, in the child;
- ``/metrics``: a plain GET (text format, no compression) of ``MetricsServer``: the target is
  within 1.2x of the bare call;
- "as Prometheus asks": the Accept and Accept-Encoding headers Prometheus sends (OpenMetrics,
  gzip), against ``MetricsServer`` and against prometheus_client's own ``start_http_server``;
- memory: what tracemalloc saw allocated while the series were built, per series.

``_created`` series are off, as in ``llm-exporter serve``. Exit 1 when /metrics is over 1.2x.

A second table times multiprocess mode (gunicorn, uvicorn workers): 4 worker processes each
write the same histogram series to a PROMETHEUS_MULTIPROC_DIR, and a fifth times
``generate_latest`` of ``llm_exporter.multiprocess.registry()``, which reads and merges every
file on each scrape.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable

from _measure import scrape  # scripts/, first on sys.path when a script runs
from prometheus_client import (
    CollectorRegistry,
    disable_created_metrics,
    generate_latest,
    start_http_server,
)

from llm_exporter import catalog, multiprocess
from llm_exporter.guard import GuardSettings
from llm_exporter.metrics import Metrics
from llm_exporter.server import MetricsServer

TARGET = 1.2
SHAPES = {"histogram": catalog.OPERATION_DURATION, "counter": catalog.COST}
PROMETHEUS_HEADERS = {  # what Prometheus 2.x/3.x sends on a scrape
    "Accept": "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
    "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "Accept-Encoding": "gzip",
}


def build(shape: str, series: int) -> tuple[CollectorRegistry, int, int]:
    """A registry holding about ``series`` series of ``shape``; (registry, series, bytes)."""
    spec = SHAPES[shape]
    # A histogram's label set: a bucket per boundary, +Inf, _sum and _count (_created is off).
    per_set = len(spec.buckets) + 3 if spec.buckets is not None else 1
    sets = max(1, series // per_set)
    gc.collect()
    tracemalloc.start()
    registry = CollectorRegistry()
    metrics = Metrics(registry, GuardSettings(max_label_sets=sets + 1))
    # The spec's own cap (the attributed families have one) would fold the larger sizes.
    family = metrics.family(dataclasses.replace(spec, max_label_sets=None))
    # Past the call labels: error_type, or the cost's attribution, all "".
    extra = ("",) * (len(spec.labels) - len(catalog.CALL_LABELS))
    for i in range(sets):
        child = family.labels("chat", "openai", f"model-{i}", f"model-{i}-2025", "api.local",
                              *extra)  # fmt: skip
        if spec.kind is catalog.Kind.HISTOGRAM:
            child.observe(0.2 + i % 7)
        else:
            child.inc(0.001 * (i % 13))
    allocated, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return registry, sets * per_set, allocated


def serve(shape: str, size: int) -> None:
    """The child: build, serve, and time a bare generate_latest whenever the parent asks."""
    disable_created_metrics()
    registry, series, allocated = build(shape, size)
    plain, _thread = start_http_server(0, "127.0.0.1", registry)
    with MetricsServer(registry, "127.0.0.1", 0) as server:
        print(json.dumps({"port": server.port, "plain_port": plain.server_port,
                          "series": series, "allocated": allocated}), flush=True)  # fmt: skip
        for _line in sys.stdin:
            start = time.perf_counter()
            body = generate_latest(registry)
            print(json.dumps([time.perf_counter() - start, len(body)]), flush=True)
    plain.shutdown()


def measure(shape: str, size: int, scrapes: int) -> dict:
    """The server in its own process, as Prometheus is in another, so the scrape's client side
    does not compete with it for one interpreter's lock. The bare call and the scrapes take
    turns, so a neighbour's load on a shared machine hits both alike."""
    child = subprocess.Popen([sys.executable, __file__, "--serve", f"{shape}:{size}"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip

    def bare() -> tuple[float, int]:
        child.stdin.write("go\n")
        child.stdin.flush()
        elapsed, length = json.loads(child.stdout.readline())
        return elapsed, length

    def timed(fn: Callable[[], int]) -> tuple[float, int]:
        start = time.perf_counter()
        length = fn()
        return time.perf_counter() - start, length

    try:
        m = json.loads(child.stdout.readline())
        port, plain = m["port"], m["plain_port"]
        runs: dict[str, list[tuple[float, int]]] = {k: [] for k in ("bare", "http", "prom",
                                                                    "client")}  # fmt: skip
        steps = (
            ("bare", bare),
            ("http", lambda: timed(lambda: len(scrape(port)))),
            ("prom", lambda: timed(lambda: len(scrape(port, PROMETHEUS_HEADERS)))),
            ("client", lambda: timed(lambda: len(scrape(plain, PROMETHEUS_HEADERS)))),
        )
        for i in range(scrapes + 1):  # the first round warms up
            # Each round starts one step later: whatever one step leaves behind (the garbage
            # the collector reclaims in the next) falls on every step in turn.
            for key, fn in steps[i % len(steps) :] + steps[: i % len(steps)]:
                result = fn()
                if i:
                    runs[key].append(result)
    finally:
        child.stdin.close()
        child.wait(timeout=60)
    for key, results in runs.items():
        m[key + "_ms"] = statistics.median(t for t, _ in results) * 1e3
        m[key + "_size"] = results[-1][1]
    if m["http_size"] != m["bare_size"]:
        raise SystemExit(f"body sizes differ: {m['http_size']} over HTTP, {m['bare_size']} bare")
    return m


def merge_ms(series: int, workers: int, scrapes: int) -> tuple[float, int]:
    """Multiprocess mode: ``workers`` processes write ``series`` each, then one scrape merges."""
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, multiprocess.ENV: folder}
        for _ in range(workers):
            subprocess.run([sys.executable, __file__, "--write", f"histogram:{series}"], env=env,
                           check=True)  # fmt: skip
        out = subprocess.run([sys.executable, __file__, "--merge", str(scrapes)], env=env,
                             check=True, capture_output=True, text=True).stdout  # fmt: skip
    elapsed, length = json.loads(out)
    return elapsed * 1e3, length


def merge(scrapes: int) -> None:
    registry = multiprocess.registry()
    generate_latest(registry)
    times = []
    for _ in range(scrapes):
        start = time.perf_counter()
        body = generate_latest(registry)
        times.append(time.perf_counter() - start)
    print(json.dumps([statistics.median(times), len(body)]))


def _size(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--scrapes", type=int, default=15)
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--write", help=argparse.SUPPRESS)
    parser.add_argument("--merge", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve or args.write:
        shape, size = (args.serve or args.write).split(":")
        if args.serve:
            serve(shape, int(size))
        else:
            disable_created_metrics()
            build(shape, int(size))
        return
    if args.merge:
        merge(args.merge)
        return
    print(f"medians of {args.scrapes} scrapes; Python {sys.version.split()[0]}\n")
    print("| series | shape | body | generate_latest | /metrics | ratio | as Prometheus asks: "
          "ours | prometheus_client's server | memory per series |")  # fmt: skip
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    worst = 0.0
    for size in (int(s) for s in args.sizes.split(",")):
        for shape in args.shapes.split(","):
            m = measure(shape, size, args.scrapes)
            ratio = m["http_ms"] / m["bare_ms"]
            worst = max(worst, ratio)
            print(f"| {m['series']:,} | {shape} | {_size(m['bare_size'])} | "
                  f"{m['bare_ms']:.1f} ms | {m['http_ms']:.1f} ms | {ratio:.2f}x | "
                  f"{m['prom_ms']:.1f} ms, {_size(m['prom_size'])} | "
                  f"{m['client_ms']:.1f} ms, {_size(m['client_size'])} | "
                  f"{m['allocated'] / m['series']:,.0f} B |", flush=True)  # fmt: skip
    print(f"\nworst /metrics over generate_latest: {worst:.2f}x (target {TARGET}x)")
    print(f"\nMultiprocess mode, {args.workers} workers with the same histogram series:\n")
    print("| series | body | generate_latest of the merged registry |")
    print("|---:|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        elapsed, length = merge_ms(size, args.workers, max(3, args.scrapes // 3))
        print(f"| {size:,} | {_size(length)} | {elapsed:.1f} ms |", flush=True)
    if worst > TARGET:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
