"""Instructions per LLM call under valgrind: uninstrumented, llm-exporter, and OpenLIT.

    uv run python scripts/bench_instructions.py [--calls 200] [--shape stream]

CPU time per call swings by ±15% between runs on a shared virtual machine, more than the overhead
being measured. Instruction counts (valgrind's cachegrind, no cache simulation) do not: the same
program and input give nearly the same count whatever else the machine does. Each mode runs twice,
with 10 and with 10 + N calls against the simulator over loopback; the difference divided by N is
the count per call, free of start-up and import cost. Slow (valgrind runs Python some 30x slower),
so it is part of `make bench`, not of the tests.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_overhead import MODES, SHAPES, _free_port, _wait_port

BASE_CALLS = 10
_IREFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def _instructions(mode: str, calls: int, base_url: str, shape: str) -> int:
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
           sys.executable, str(Path(__file__).with_name("bench_overhead.py")), "--worker", mode,
           "--base-url", base_url, "--calls", str(calls), "--warmup", "0", "--plain",
           "--shape", shape]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=1800)
    found = _IREFS.search(out.stderr)
    if not found:
        raise SystemExit(f"no instruction count from valgrind for {mode}:\n{out.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--shape", choices=SHAPES, default="plain")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    port = _free_port()
    sim = subprocess.Popen(
        [sys.executable, "-m", "llm_exporter.simulator", "--port", str(port),
         "--output-tokens", "16"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_port(port)
        url = f"http://127.0.0.1:{port}/v1"
        jobs = [(m, n) for m in MODES for n in (BASE_CALLS, BASE_CALLS + args.calls)]
        with ThreadPoolExecutor(max_workers=2) as pool:  # the machine has two cores
            counts = dict(zip(jobs, pool.map(lambda j: _instructions(*j, url, args.shape), jobs),
                              strict=True))  # fmt: skip
    finally:
        sim.terminate()
        sim.wait()
    per_call = {m: (counts[(m, BASE_CALLS + args.calls)] - counts[(m, BASE_CALLS)]) / args.calls
                for m in MODES}  # fmt: skip
    base = per_call["baseline"]
    kind = SHAPES[args.shape][1]
    print(f"\n{kind}: instructions per call (valgrind), {args.calls} calls\n")
    print("| mode | instructions/call | overhead | overhead % of the call |")
    print("|---|---:|---:|---:|")
    for mode in MODES:
        extra = per_call[mode] - base
        cell = "" if mode == "baseline" else f"{extra:+,.0f}"
        pct = "" if mode == "baseline" else f"{100 * extra / base:+.1f}%"
        print(f"| {mode} | {per_call[mode]:,.0f} | {cell} | {pct} |")
    ours = per_call["llm-exporter"] - base
    theirs = per_call["openlit"] - base
    if theirs > 0:
        print(f"\nllm-exporter's overhead is {ours / theirs:.3f}x OpenLIT's "
              f"(target: at most 0.10x, and at most 3% of the uninstrumented call)")  # fmt: skip


if __name__ == "__main__":
    main()
