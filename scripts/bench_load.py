"""Load: instrumented calls from 8 threads while /metrics is scraped every 100 ms.

    uv run python scripts/bench_load.py [--threads 8] [--seconds 60] [--interval 0.1]

The simulator runs in its own process (the LLM API is elsewhere too) with no added latency, so
the threads call as fast as the machine lets them: the worst case for the scrape, which shares
the application's interpreter. One call in four streams. At the end the metrics must hold
exactly the calls the threads made, no thread or scrape may have failed, and no scrape may have
seen a count go down; the exit code says whether they did. Prints calls per second and the
scrape latency percentiles.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time

import openai
from _measure import scrape  # scripts/, first on sys.path when a script runs
from prometheus_client import CollectorRegistry

from llm_exporter import catalog, instrument_openai
from llm_exporter.metrics import Metrics
from llm_exporter.server import MetricsServer

MESSAGES = [{"role": "user", "content": "Summarise the return policy in two sentences."}]
COUNT_PREFIX = catalog.OPERATION_DURATION.count + "{"


def start_simulator() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "llm_exporter.simulator", "--port", "0"],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    line = proc.stdout.readline()
    return proc, line.rsplit(" ", 1)[-1].strip()


def calls_in(body: str) -> float:
    """The duration histogram's total _count, read from an exposition without a full parse."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
               if line.startswith(COUNT_PREFIX))  # fmt: skip


class Load:
    def __init__(self, base_url: str, threads: int, seconds: float, interval: float) -> None:
        self.registry = CollectorRegistry()
        self.client = openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0)
        instrument_openai(self.client, metrics=Metrics(self.registry))
        self.threads, self.seconds, self.interval = threads, seconds, interval
        self.made = [0] * threads
        self.errors: list[BaseException] = []
        self.scrape_s: list[float] = []
        self.went_down = 0
        self.stop = threading.Event()

    def call(self, index: int) -> None:
        try:
            i = 0
            while not self.stop.is_set():
                if i % 4 == 3:
                    for _ in self.client.chat.completions.create(
                        model="gpt-4o-mini", messages=MESSAGES, stream=True
                    ):
                        pass
                else:
                    self.client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
                i += 1
                self.made[index] = i
        except BaseException as exc:
            self.errors.append(exc)

    def scrape_loop(self, port: int) -> None:
        seen = 0.0
        try:
            while not self.stop.is_set():
                started = time.perf_counter()
                count = calls_in(scrape(port).decode())
                self.scrape_s.append(time.perf_counter() - started)
                self.went_down += count < seen
                seen = count
                self.stop.wait(max(0.0, self.interval - (time.perf_counter() - started)))
        except BaseException as exc:
            self.errors.append(exc)

    def run(self) -> int:
        with MetricsServer(self.registry, "127.0.0.1", 0) as server:
            workers = [threading.Thread(target=self.call, args=(i,)) for i in range(self.threads)]
            scraper = threading.Thread(target=self.scrape_loop, args=(server.port,))
            for t in (*workers, scraper):
                t.start()
            time.sleep(self.seconds)
            self.stop.set()
            for t in (*workers, scraper):
                t.join()
            final = calls_in(scrape(server.port).decode())
        made = sum(self.made)
        ms = sorted(s * 1e3 for s in self.scrape_s)
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        print(f"{self.threads} threads, {self.seconds:g} s, scrape every {self.interval:g} s; "
              f"Python {sys.version.split()[0]}\n")  # fmt: skip
        print("| calls made | calls counted | calls/s | exceptions | scrapes | count went down "
              "| scrape p50 | scrape p99 | scrape max |")  # fmt: skip
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        print(f"| {made:,} | {final:,.0f} | {made / self.seconds:,.0f} | {len(self.errors)} | "
              f"{len(ms):,} | {self.went_down} | {statistics.median(ms):.1f} ms | {p99:.1f} ms | "
              f"{ms[-1]:.1f} ms |")  # fmt: skip
        for exc in self.errors[:5]:
            print(f"exception: {exc!r}", file=sys.stderr)
        ok = not self.errors and final == made and not self.went_down
        print("\nOK" if ok else "\nFAILED: lost counts, exceptions or a count that went down")
        return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=0.1)
    args = parser.parse_args()
    sim, base_url = start_simulator()
    try:
        code = Load(base_url, args.threads, args.seconds, args.interval).run()
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    sys.exit(code)


if __name__ == "__main__":
    main()
