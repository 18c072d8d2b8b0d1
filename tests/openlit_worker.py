"""A process instrumented with OpenLIT through use_openlit(), for tests/test_openlit.py.

OpenLIT patches the SDK and sets OpenTelemetry's global providers for good, so every scenario
runs in a process of its own: ``python -m tests.openlit_worker SCENARIO [--otlp URL]``. It calls
the real openai SDK against the project's simulator and prints one JSON line: the samples of
its registry (``[name, labels, value]``) after each phase, how many calls each phase made, and
the registry's exposition at the end.

Scenarios:
  openlit-first  use_openlit() (GPU stats on, NVML faked), a round of calls; then
                 instrument_openai() as well, another round.
  native-first   instrument_openai(), then use_openlit(), a round; then a call through the bare
                 client.post(), which OpenLIT does not wrap.
  native-owns    use_openlit(disabled_instrumentors=["openai"], otlp_endpoint=--otlp,
                 otlp_headers=--otlp-headers) and instrument_openai(), a round, then the
                 providers flushed.
  metrics-off    use_openlit(disable_metrics=True) and instrument_openai(), a round: OpenLIT
                 still wraps the calls and opens its spans, but records no metrics.
  serve          use_openlit(), the registry on /metrics at --port (prints "port N" once
                 serving), calls until stdin closes: the scrape target of the live test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from typing import Any

MSG = [{"role": "user", "content": "Summarise the return policy in two sentences."}]


def _samples(registry: Any) -> list[list[Any]]:
    from tests.conftest import samples

    return [list(row) for row in samples(registry)]


def one_round(client: Any, aclient_factory: Any) -> int:
    """Every call shape once: chat, stream (asking for usage), embeddings, Responses, a model
    with no price, a 429, the stream() helper, an async chat. Returns the number of calls."""
    import openai

    client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    for _ in client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True,
                                            stream_options={"include_usage": True}):  # fmt: skip
        pass
    client.embeddings.create(model="text-embedding-3-small", input="refund policy")
    client.responses.create(model="gpt-4o-mini", input="hi")
    client.chat.completions.create(model="local-llama", messages=MSG)
    with contextlib.suppress(openai.RateLimitError):
        client.chat.completions.create(model="gpt-4o-mini", messages=MSG,
                                       extra_headers={"x-sim-error": "rate_limit"})  # fmt: skip
    with client.chat.completions.stream(model="gpt-4o-mini", messages=MSG) as stream:
        for _ in stream:
            pass

    async def chat_async() -> None:
        aclient = aclient_factory()
        await aclient.chat.completions.create(model="gpt-4o-mini", messages=MSG)
        await aclient.close()

    asyncio.run(chat_async())
    return 8


def _fake_gpus() -> None:
    """NVML faked (two GPUs) at the pynvml module OpenLIT imports: the one hardware boundary."""
    from tests.fake_nvml import FakeNVML

    sys.modules["pynvml"] = FakeNVML(2)  # type: ignore[assignment]


def _flush(handle: Any) -> None:
    from opentelemetry import _logs, trace

    handle.meter_provider.force_flush()
    trace.get_tracer_provider().force_flush()
    _logs.get_logger_provider().force_flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=("openlit-first", "native-first", "native-owns",
                                             "metrics-off", "serve"))  # fmt: skip
    parser.add_argument("--otlp")
    parser.add_argument("--otlp-headers")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    import openai
    from prometheus_client import CollectorRegistry, generate_latest

    import llm_exporter
    from llm_exporter.metrics import Metrics
    from llm_exporter.simulator import Simulator, SimulatorConfig

    metrics = Metrics(CollectorRegistry())
    # A first chunk a little after the request: OpenLIT records no time to first chunk of 0.
    config = SimulatorConfig(output_tokens=12, first_chunk_delay_s=0.002)
    out: dict[str, Any] = {}
    with Simulator(config) as sim:
        kw = {"base_url": sim.base_url, "api_key": "sim", "max_retries": 0}
        client = openai.OpenAI(**kw)

        def aclient() -> Any:
            return openai.AsyncOpenAI(**kw)

        if args.scenario == "openlit-first":
            _fake_gpus()
            handle = llm_exporter.use_openlit(metrics=metrics, collect_gpu_stats=True)
            out["calls1"] = one_round(client, aclient)
            out["phase1"] = _samples(metrics.registry)
            llm_exporter.instrument_openai(metrics=metrics)
            out["calls2"] = one_round(client, aclient)
            out["phase2"] = _samples(metrics.registry)
            again = llm_exporter.use_openlit(metrics=metrics)
            out["second_call_same_handle"] = again is handle
            _flush(handle)
        elif args.scenario == "native-first":
            llm_exporter.instrument_openai(metrics=metrics)
            llm_exporter.use_openlit(metrics=metrics)
            out["calls1"] = one_round(client, aclient)
            out["phase1"] = _samples(metrics.registry)
            from openai.types.chat import ChatCompletion

            client.post("/chat/completions", cast_to=ChatCompletion,
                        body={"model": "gpt-4o-mini", "messages": MSG})  # fmt: skip
            out["calls2"] = 1
            out["phase2"] = _samples(metrics.registry)
        elif args.scenario == "native-owns":
            handle = llm_exporter.use_openlit(metrics=metrics, otlp_endpoint=args.otlp,
                                              otlp_headers=args.otlp_headers,
                                              disabled_instrumentors=["openai"])  # fmt: skip
            llm_exporter.instrument_openai(metrics=metrics)
            out["calls1"] = one_round(client, aclient)
            out["phase1"] = _samples(metrics.registry)
            _flush(handle)
        elif args.scenario == "metrics-off":
            llm_exporter.use_openlit(metrics=metrics, disable_metrics=True)
            llm_exporter.instrument_openai(metrics=metrics)
            out["calls1"] = one_round(client, aclient)
            out["phase1"] = _samples(metrics.registry)
        else:
            _serve(metrics, client, aclient, args.port)
            return
    out["exposition"] = generate_latest(metrics.registry).decode()
    print(json.dumps(out))


def _serve(metrics: Any, client: Any, aclient: Any, port: int) -> None:
    import threading

    import llm_exporter
    from llm_exporter.server import MetricsServer

    llm_exporter.use_openlit(metrics=metrics)
    server = MetricsServer(metrics.registry, "127.0.0.1", port).start()
    print(f"port {server.port}", flush=True)
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    while not done.is_set():
        one_round(client, aclient)
        time.sleep(0.05)
    server.stop()


if __name__ == "__main__":
    main()
