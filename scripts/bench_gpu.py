"""Cost of the NVML GPU collector for 8 fake GPUs: collection time and NVML calls per collection.

    uv run python scripts/bench_gpu.py [--gpus 8] [--collections 200]

Runs against the fake NVML of the tests (tests/fake_nvml.py), so the times are the collector's
own Python overhead around NVML: a fake call costs about a microsecond, a real one from tens of
microseconds to milliseconds, depending on the call and the driver. The call counts are what a
real driver would see. The first collection initialises NVML and reads the fixed facts (UUID,
name, PCI bus id, thresholds, fan count); later ones read only what moves. "scrape" is one
collect() plus the text exposition, the work a Prometheus scrape causes (it never calls NVML).
Prints a markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prometheus_client import CollectorRegistry, generate_latest
from tests.fake_nvml import MIB, FakeNVML, FakeProcess

from llm_exporter.gpu import GpuCollector, GpuOptions

MODES = (
    ("batched field reads (default)", {}, False),
    ("single calls, no nvmlDeviceGetFieldValues", {"batched": False}, False),
    ("default + --gpu-processes, MIG on one GPU", {"processes": True}, True),
)


def _fake(gpus: int, busy: bool) -> FakeNVML:
    fake = FakeNVML(gpus)
    if busy:  # 4 processes per GPU and 3 MIG instances on GPU 0
        for gpu in fake.gpus:
            gpu.processes = [FakeProcess(1000 * gpu.index + n, (n + 1) * 100 * MIB)
                             for n in range(4)]  # fmt: skip
        fake.process_names = {p.pid: "python3" for g in fake.gpus for p in g.processes}
        fake.enable_mig(0)
    return fake


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def measure(gpus: int, collections: int, options: dict, busy: bool) -> dict[str, object]:
    collector = GpuCollector(_fake(gpus, busy), GpuOptions(xid=False, **options))
    first = collector.poll_once().calls
    times, calls = [], set()
    for _ in range(collections):
        started = time.perf_counter()
        snap = collector.poll_once()
        times.append(time.perf_counter() - started)
        calls.add(snap.calls)
    registry = CollectorRegistry()
    registry.register(collector)
    scrapes = []
    for _ in range(collections):
        started = time.perf_counter()
        generate_latest(registry)
        scrapes.append(time.perf_counter() - started)
    collector.stop()
    return {
        "first": first,
        "calls": "/".join(str(c) for c in sorted(calls)),
        "median": statistics.median(times),
        "p99": statistics.quantiles(times, n=100)[98],
        "scrape": statistics.median(scrapes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gpus", type=int, default=8)
    parser.add_argument("--collections", type=int, default=200)
    args = parser.parse_args()
    print(f"{args.gpus} fake GPUs, {args.collections} collections per mode, Python "
          f"{sys.version.split()[0]}\n")  # fmt: skip
    print("| mode | NVML calls, first collection | NVML calls per collection | "
          "collection median | collection p99 | scrape median |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    for name, options, busy in MODES:
        r = measure(args.gpus, args.collections, options, busy)
        print(f"| {name} | {r['first']} | {r['calls']} | {_ms(r['median'])} | "
              f"{_ms(r['p99'])} | {_ms(r['scrape'])} |")  # fmt: skip


if __name__ == "__main__":
    main()
