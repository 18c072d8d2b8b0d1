"""CPU cost per LLM call: uninstrumented, llm-exporter, and OpenLIT, through the real openai SDK.

    uv run python scripts/bench_overhead.py [--calls 2000] [--runs 5] [--shape stream]

The simulator runs in its own process with no added latency, so the figures are the client
process's CPU time (time.process_time) per call. CPU time per call differs by several percent from
one process to the next on a shared machine, more than llm-exporter's overhead, so that overhead is
measured paired: one process alternates calls, one by one, between an instrumented and a plain
client, and the overhead is the difference of their median CPU time per call. OpenLIT patches
globally and cannot be undone, so it runs in its own processes against uninstrumented ones,
interleaved run by run. Medians over runs. scripts/bench_instructions.py gives the steadier
instruction counts.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, ClassVar

MODES = ("baseline", "llm-exporter", "openlit")
MESSAGES = [{"role": "user", "content": "Summarise the return policy in two sentences."}]
# The request each call makes, and how the tables title it. "stream-usage": the caller asks for
# the usage chunk itself, so both sides receive the same bytes and the difference is our code
# alone; in "stream" llm-exporter asks for it, and the SDK parsing that chunk counts against us.
SHAPES: dict[str, tuple[dict[str, Any], str]] = {
    "plain": ({}, "chat, non-streaming"),
    "stream": ({"stream": True}, "streaming chat, 16 chunks"),
    "stream-usage": ({"stream": True, "stream_options": {"include_usage": True}},
                     "streaming chat, 16 chunks, the caller asking for usage"),
}  # fmt: skip


# -- worker side: one mode, one measurement ---------------------------------------------------


def _setup(mode: str) -> None:
    if mode == "llm-exporter":
        import llm_exporter

        llm_exporter.instrument_openai()
    elif mode == "openlit":
        # OpenLIT reuses global providers that exist before init: a MeterProvider on the
        # Prometheus reader and a TracerProvider without exporter, so nothing leaves the process.
        from opentelemetry import metrics, trace
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.trace import TracerProvider

        metrics.set_meter_provider(MeterProvider(metric_readers=[PrometheusMetricReader()]))
        trace.set_tracer_provider(TracerProvider())
        import openlit

        pricing = os.path.join(tempfile.mkdtemp(), "pricing.json")
        with open(pricing, "w") as f:  # a local table: OpenLIT would otherwise fetch one
            json.dump({"chat": {"gpt-4o-mini": {"promptPrice": 0.00015,
                                                "completionPrice": 0.0006}}}, f)  # fmt: skip
        openlit.init(pricing_json=pricing, disable_events=True, collect_gpu_stats=False)


def _one_call(client: Any, shape: str) -> None:
    extra = SHAPES[shape][0]
    result = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, **extra)
    if extra.get("stream"):
        for _ in result:
            pass


def _cpu_per_call(client: Any, calls: int, shape: str) -> float:
    if calls <= 0:
        return 0.0
    start = time.process_time()
    for _ in range(calls):
        _one_call(client, shape)
    return (time.process_time() - start) / calls * 1e6


def worker(
    mode: str, base_url: str, calls: int, warmup: int, shape: str, paired: bool = True
) -> dict[str, float]:
    import openai

    paired = paired and mode == "llm-exporter"
    if not paired:
        _setup(mode)
    client = openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0)
    if not paired:
        _cpu_per_call(client, warmup, shape)
        return {"cpu_us": _cpu_per_call(client, calls, shape)}
    import llm_exporter

    # Two clients on one connection pool's worth of set-up each, one instrumented; calls
    # alternate one by one, so whatever else the machine does hits both sides alike.
    metered = openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0)
    llm_exporter.instrument_openai(metered)
    off: list[float] = []
    on: list[float] = []
    pairs = ((client, off), (metered, on))
    for i in range(warmup + calls):
        # Alternate which side goes first: the second call of a pair runs on warmer caches.
        for target, sink in pairs if i % 2 else pairs[::-1]:
            start = time.process_time()
            _one_call(target, shape)
            if i >= warmup:
                sink.append((time.process_time() - start) * 1e6)
    return {"cpu_us": statistics.median(on), "off_us": statistics.median(off),
            "overhead_us": statistics.median(on) - statistics.median(off)}  # fmt: skip


def recording_path_us(iterations: int = 20000) -> float:
    """llm-exporter's own work per non-streaming call, without HTTP: start, read result, record."""
    import openai
    from openai.types.chat import ChatCompletion
    from prometheus_client import CollectorRegistry

    from llm_exporter.instrument import openai_sdk
    from llm_exporter.instrument.record import Recorder
    from llm_exporter.metrics import Metrics
    from llm_exporter.pricing import ModelTable

    recorder = Recorder(Metrics(CollectorRegistry()), ModelTable.load())
    result = ChatCompletion.model_validate({
        "id": "x", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "hi"}}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 16, "total_tokens": 36},
    })  # fmt: skip

    class Options:
        url = "/chat/completions"
        json_data: ClassVar[dict[str, Any]] = {"model": "gpt-4o-mini", "messages": MESSAGES}

    client = openai.OpenAI(api_key="unused", base_url="http://127.0.0.1:9/v1")

    def one() -> None:
        openai_sdk._returned(openai_sdk._begin(recorder, client, Options, {}), result)

    for _ in range(2000):
        one()
    start = time.process_time()
    for _ in range(iterations):
        one()
    return (time.process_time() - start) / iterations * 1e6


# -- driver side ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the simulator did not start")


def _run_worker(mode: str, args: argparse.Namespace, base_url: str) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--worker", mode, "--base-url", base_url,
           "--calls", str(args.calls), "--warmup", str(args.warmup),
           "--shape", args.shape]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=900)
    return json.loads(out.stdout.strip().splitlines()[-1])


def drive(args: argparse.Namespace) -> None:
    port = _free_port()
    sim = subprocess.Popen(
        [sys.executable, "-m", "llm_exporter.simulator", "--port", str(port),
         "--output-tokens", "16"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_port(port)
        base_url = f"http://127.0.0.1:{port}/v1"
        runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
        for run in range(args.runs):
            for mode in MODES:
                runs[mode].append(_run_worker(mode, args, base_url))
            print(f"run {run + 1}/{args.runs}: "
                  + ", ".join(f"{m} {runs[m][-1]['cpu_us']:.0f} us" for m in MODES),
                  file=sys.stderr)  # fmt: skip
    finally:
        sim.terminate()
        sim.wait()

    def med(mode: str, key: str = "cpu_us") -> float:
        return statistics.median(r[key] for r in runs[mode])

    base, ours = med("baseline"), med("llm-exporter", "overhead_us")
    paired_base = med("llm-exporter", "off_us")
    openlit = med("openlit") - base
    kind = SHAPES[args.shape][1]
    print(f"\n{kind}: {args.calls} calls x {args.runs} runs; CPU time per call, medians\n")
    print("| mode | CPU µs/call | overhead µs | overhead % of the call |")
    print("|---|---:|---:|---:|")
    print(f"| uninstrumented | {base:.0f} | | |")
    print(f"| llm-exporter (paired in-process) | {paired_base + ours:.0f} | {ours:+.0f} | "
          f"{100 * ours / paired_base:+.1f}% |")  # fmt: skip
    print(f"| OpenLIT {_openlit_version()} | {med('openlit'):.0f} | {openlit:+.0f} | "
          f"{100 * openlit / base:+.1f}% |")  # fmt: skip
    if args.shape == "plain":
        print(f"\nllm-exporter's recording path alone, without HTTP: {recording_path_us():.1f} µs")
    if openlit > 0:
        print(f"llm-exporter's overhead is {ours / openlit:.3f}x OpenLIT's "
              f"(target: at most 0.10x, and at most 3% of the uninstrumented call)")  # fmt: skip


def _openlit_version() -> str:
    from importlib.metadata import version

    return version("openlit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--shape", choices=SHAPES, default="plain", help="the request each call makes"
    )
    parser.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--plain", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = worker(args.worker, args.base_url, args.calls, args.warmup, args.shape,
                        paired=not args.plain)  # fmt: skip
        print(json.dumps(result))
    else:
        drive(args)


if __name__ == "__main__":
    main()
