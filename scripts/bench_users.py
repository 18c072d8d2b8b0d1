"""Memory and time of the per-user budget tracker under a million distinct users.

    uv run python scripts/bench_users.py [--users 1000000]

``--users`` distinct user ids each spend once (as many requests, each from a new user), through
the tracker of the recording path (``UserSpend.add``), with the tracker at its default size
(100 000 users, the LRU evicting the rest) and at a size that keeps them all. Reported: users
kept and evicted, the process's RSS growth, tracemalloc's peak over the whole run (a second pass,
since tracing slows it several times), the memory per user kept, and the time per call.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc

from _measure import rss_bytes  # scripts/, first on sys.path when a script runs
from prometheus_client import CollectorRegistry

from llm_exporter.cost.users import UserBudgetSettings, UserSpend
from llm_exporter.metrics import Metrics


def run(users: int, size: int, trace: bool) -> dict[str, float]:
    gc.collect()
    spend = UserSpend(Metrics(CollectorRegistry()), UserBudgetSettings(max_users=size))
    if trace:
        tracemalloc.start()
    before, started = rss_bytes(), time.perf_counter()
    for i in range(users):  # a new id string each call, as from requests: the tracker keeps it
        spend.add(f"user-{i:07d}", 0.001 * (i % 97))
    elapsed = time.perf_counter() - started
    state = spend.state()
    result = {"kept": state["tracked"], "evicted": state["evicted"],
              "rss": rss_bytes() - before, "s": elapsed}  # fmt: skip
    if trace:
        result["peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    del spend
    gc.collect()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}\n")
    print("| distinct users | tracker size | users kept | evicted | RSS growth | tracemalloc peak "
          "| per user kept | µs per call |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in (UserBudgetSettings().max_users, args.users):
        plain, traced = run(args.users, size, False), run(args.users, size, True)
        print(f"| {args.users:,} | {size:,} | {plain['kept']:,} | {plain['evicted']:,} | "
              f"{plain['rss'] / 1e6:.1f} MB | {traced['peak'] / 1e6:.1f} MB | "
              f"{traced['peak'] / plain['kept']:.0f} B | "
              f"{plain['s'] / args.users * 1e6:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
