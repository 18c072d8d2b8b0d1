"""The real openai SDK over HTTP against the project's simulator, instrumented."""

from __future__ import annotations

import asyncio
import gc
import json
import threading
from collections.abc import Iterator

import openai
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from llm_exporter import (
    catalog,
    instrument_openai,
    reset_trace_id,
    set_trace_id,
    uninstrument_openai,
)
from llm_exporter.instrument import openai_sdk
from llm_exporter.instrument.record import Recorder
from llm_exporter.metrics import Metrics
from llm_exporter.pricing import ModelTable
from llm_exporter.simulator import Simulator, SimulatorConfig

from .conftest import free_port

MSG = [{"role": "user", "content": "tell me about prometheus histograms"}]
DURATION = catalog.OPERATION_DURATION


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(SimulatorConfig(output_tokens=12)) as running:
        yield running


class Meter:
    """One instrumented sync and async client on a private registry."""

    def __init__(self, base_url: str, **client_kw: object) -> None:
        self.registry = CollectorRegistry()
        self.metrics = Metrics(self.registry)
        kw = {"base_url": base_url, "api_key": "sim", "max_retries": 0, **client_kw}
        self.client = openai.OpenAI(**kw)
        self.aclient = openai.AsyncOpenAI(**kw)
        instrument_openai(self.client, metrics=self.metrics)
        instrument_openai(self.aclient, metrics=self.metrics)

    def value(self, name: str, **labels: str) -> float:
        total = 0.0
        for family in self.registry.collect():
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    total += sample.value
        return total

    def calls(self, **labels: str) -> float:
        return self.value(DURATION.count, **labels)


@pytest.fixture
def meter(sim: Simulator) -> Meter:
    return Meter(sim.base_url)


def err(kind: str) -> dict[str, dict[str, str]]:
    return {"extra_headers": {"x-sim-error": kind}}


# -- what a call records ------------------------------------------------------------------------


def test_chat_records_labels_tokens_and_cost(meter: Meter) -> None:
    resp = meter.client.chat.completions.create(model="gpt-4o", messages=MSG)
    labels = {"gen_ai_operation_name": "chat", "gen_ai_provider_name": "openai",
              "gen_ai_request_model": "gpt-4o", "gen_ai_response_model": resp.model,
              "server_address": "127.0.0.1"}  # fmt: skip
    assert resp.model == "gpt-4o-2024-08-06"
    assert meter.calls(**labels, error_type="") == 1
    tokens = catalog.TOKEN_USAGE.sum
    assert meter.value(tokens, **labels, gen_ai_token_type="input") == resp.usage.prompt_tokens
    assert meter.value(tokens, **labels, gen_ai_token_type="output") == resp.usage.completion_tokens
    # The dated snapshot is priced as gpt-4o.
    price = ModelTable.load().lookup("gpt-4o")
    expected = price.cost(resp.usage.prompt_tokens, resp.usage.completion_tokens)
    assert meter.value(catalog.COST.name, **labels) == pytest.approx(expected)
    ratio = resp.usage.prompt_tokens / price.context_window
    assert meter.value(catalog.CONTEXT_WINDOW_USAGE.sum) == pytest.approx(ratio)
    # Non-streaming calls have no chunk timings.
    assert meter.value(catalog.TIME_TO_FIRST_CHUNK.count) == 0


def test_stream_tokens_match_usage_and_usage_chunk_stays_hidden(meter: Meter) -> None:
    stream = meter.client.chat.completions.create(model="gpt-4o-mini", messages=MSG, stream=True)
    chunks = list(stream)
    assert chunks and all(chunk.choices for chunk in chunks)  # the caller never sees our extra
    assert meter.calls(error_type="") == 1
    # What the simulator reports when asked for usage on the same request:
    reference = openai.OpenAI(base_url=meter.client.base_url, api_key="x").chat.completions
    last = list(reference.create(model="gpt-4o-mini", messages=MSG, stream=True,
                                 stream_options={"include_usage": True}))[-1]  # fmt: skip
    tokens = catalog.TOKEN_USAGE.sum
    assert meter.value(tokens, gen_ai_token_type="input") == last.usage.prompt_tokens
    assert meter.value(tokens, gen_ai_token_type="output") == last.usage.completion_tokens
    assert meter.value(catalog.TIME_TO_FIRST_CHUNK.count) == 1
    assert meter.value(catalog.TIME_PER_OUTPUT_CHUNK.count) == len(chunks) - 1
    assert meter.value(catalog.ESTIMATED_TOKEN_OPERATIONS.name) == 0


def test_caller_asking_for_usage_sees_the_usage_chunk(meter: Meter) -> None:
    usage = {"include_usage": True}
    chunks = list(meter.client.chat.completions.create(
        model="gpt-4o", messages=MSG, stream=True, stream_options=usage))  # fmt: skip
    assert chunks[-1].usage is not None and chunks[-1].choices == []
    output = catalog.TOKEN_USAGE.sum
    assert meter.value(output, gen_ai_token_type="output") == chunks[-1].usage.completion_tokens


def test_stream_without_usage_is_estimated_and_marked(meter: Meter) -> None:
    no_usage = {"include_usage": False}
    list(meter.client.chat.completions.create(
        model="gpt-4o", messages=MSG, stream=True, stream_options=no_usage))  # fmt: skip
    assert meter.value(catalog.ESTIMATED_TOKEN_OPERATIONS.name, gen_ai_request_model="gpt-4o") == 1
    assert meter.value(catalog.TOKEN_USAGE.count, gen_ai_token_type="output") == 1
    assert meter.value(catalog.TOKEN_USAGE.sum, gen_ai_token_type="output") > 0


def test_responses_and_embeddings(meter: Meter) -> None:
    resp = meter.client.responses.create(model="gpt-4o", input="hello there")
    tokens = catalog.TOKEN_USAGE.sum
    assert meter.value(tokens, gen_ai_token_type="input") == resp.usage.input_tokens
    with meter.client.responses.stream(model="gpt-4o", input="hello there") as stream:
        final = None
        for event in stream:
            if event.type == "response.completed":
                final = event.response
    assert final is not None
    assert meter.calls(gen_ai_operation_name="chat", error_type="") == 2
    assert meter.value(tokens, gen_ai_token_type="output") == (
        resp.usage.output_tokens + final.usage.output_tokens
    )
    assert meter.value(catalog.TIME_TO_FIRST_CHUNK.count) == 1
    emb = meter.client.embeddings.create(model="text-embedding-3-small", input=["a b c", "d"])
    assert meter.calls(gen_ai_operation_name="embeddings") == 1
    assert meter.value(tokens, gen_ai_operation_name="embeddings") == emb.usage.prompt_tokens
    assert meter.value(catalog.TOKEN_USAGE.count, gen_ai_operation_name="embeddings",
                       gen_ai_token_type="output") == 0  # fmt: skip


def test_with_raw_response_and_parse(meter: Meter) -> None:
    raw = meter.client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MSG)
    assert raw.headers.get("content-type", "").startswith("application/json")
    completion = raw.parse()
    assert meter.calls(error_type="") == 1
    output = catalog.TOKEN_USAGE.sum
    assert meter.value(output, gen_ai_token_type="output") == completion.usage.completion_tokens
    raw_stream = meter.client.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=MSG, stream=True
    )
    assert sum(1 for _ in raw_stream.parse()) > 0
    assert meter.calls(error_type="") == 2


def test_async_client_stream_and_plain(meter: Meter) -> None:
    async def run() -> int:
        await meter.aclient.chat.completions.create(model="gpt-4o", messages=MSG)
        stream = await meter.aclient.chat.completions.create(
            model="gpt-4o", messages=MSG, stream=True
        )
        return len([c async for c in stream])

    assert asyncio.run(run()) > 0
    assert meter.calls(error_type="") == 2
    assert meter.value(catalog.TIME_TO_FIRST_CHUNK.count) == 1


def test_first_chunk_delay_lands_in_its_bucket(meter: Meter) -> None:
    # 0.4 s lies between the semconv bounds 0.32 and 0.64.
    list(meter.client.chat.completions.create(
        model="gpt-4o", messages=MSG, stream=True,
        extra_headers={"x-sim-first-chunk-delay": "0.4"}))  # fmt: skip
    bucket = catalog.TIME_TO_FIRST_CHUNK.bucket
    assert meter.value(bucket, le="0.32") == 0
    assert meter.value(bucket, le="0.64") == 1
    assert meter.value(DURATION.bucket, le="0.32") == 0


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "error_type", "exc"),
    [
        ("rate_limit", "rate_limit", openai.RateLimitError),
        ("server_error", "server_error", openai.InternalServerError),
        ("context_length_exceeded", "context_length_exceeded", openai.BadRequestError),
        ("auth", "auth", openai.AuthenticationError),
    ],
)
def test_error_classes(meter: Meter, header: str, error_type: str, exc: type) -> None:
    with pytest.raises(exc):
        meter.client.chat.completions.create(model="gpt-4o", messages=MSG, **err(header))
    assert meter.calls(error_type=error_type) == 1
    assert meter.calls() == 1


def test_timeout(sim: Simulator) -> None:
    meter = Meter(sim.base_url, timeout=0.2)
    with pytest.raises(openai.APITimeoutError):
        meter.client.chat.completions.create(model="gpt-4o", messages=MSG, **err("timeout"))
    assert meter.calls(error_type="timeout") == 1


def test_connection_error() -> None:
    meter = Meter(f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(openai.APIConnectionError):
        meter.client.chat.completions.create(model="gpt-4o", messages=MSG)
    assert meter.calls(error_type="connection", server_address="127.0.0.1") == 1


def test_content_filter_and_output_parse(meter: Meter) -> None:
    meter.client.chat.completions.create(model="gpt-4o", messages=MSG, **err("content_filter"))
    assert meter.calls(error_type="content_filter") == 1
    json_mode = {"response_format": {"type": "json_object"}}
    ok = meter.client.chat.completions.create(model="gpt-4o", messages=MSG, **json_mode)
    assert ok.choices[0].message.content.startswith("{")
    assert meter.calls(error_type="") == 1
    meter.client.chat.completions.create(model="gpt-4o", messages=MSG, **json_mode,
                                         **err("malformed_json"))  # fmt: skip
    list(meter.client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True,
                                              **json_mode, **err("malformed_json")))  # fmt: skip
    assert meter.calls(error_type="output_parse") == 2


def test_sdk_retries_are_counted(sim: Simulator) -> None:
    meter = Meter(sim.base_url, max_retries=2)
    with pytest.raises(openai.RateLimitError):
        meter.client.chat.completions.create(model="gpt-4o", messages=MSG, **err("rate_limit"))
    assert meter.calls(error_type="rate_limit") == 1  # one operation, three attempts
    assert meter.value(catalog.RETRIES.name, gen_ai_request_model="gpt-4o") == 2


def test_unknown_model_is_unpriced_not_zero(meter: Meter) -> None:
    meter.client.chat.completions.create(model="local-llama-3-8b", messages=MSG)
    assert meter.value(catalog.UNPRICED_OPERATIONS.name,
                       gen_ai_response_model="local-llama-3-8b") == 1  # fmt: skip
    assert not any(s.name == catalog.COST.name for f in meter.registry.collect() for s in f.samples)


# -- abandoned streams --------------------------------------------------------------------------


def test_stream_broken_off_and_closed_is_cancelled_once(meter: Meter) -> None:
    with meter.client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True) as s:
        for _ in s:
            break
    assert meter.calls(error_type="cancelled") == 1
    s.close()
    del s
    gc.collect()
    assert meter.calls() == 1


def test_stream_dropped_without_close_is_cancelled_once(meter: Meter) -> None:
    stream = meter.client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True)
    next(iter(stream))
    del stream
    gc.collect()
    assert meter.calls(error_type="cancelled") == 1
    never_read = meter.client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True)
    del never_read
    gc.collect()
    assert meter.calls(error_type="cancelled") == 2 and meter.calls() == 2


def test_exception_in_caller_loop_is_cancelled_once(meter: Meter) -> None:
    with pytest.raises(RuntimeError, match="app bug"):  # noqa: SIM117 - the order is the point
        with meter.client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True) as s:
            for _ in s:
                raise RuntimeError("app bug")
    gc.collect()
    assert meter.calls(error_type="cancelled") == 1 and meter.calls() == 1


def test_completed_stream_then_close_stays_success(meter: Meter) -> None:
    with meter.client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True) as s:
        list(s)
    gc.collect()
    assert meter.calls(error_type="") == 1 and meter.calls() == 1


# -- concurrency, faults, set-up ----------------------------------------------------------------


def test_exact_counts_under_16_threads(sim: Simulator) -> None:
    meter = Meter(sim.base_url)
    threads, per_thread = 16, 500
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(per_thread):
                meter.client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert not errors
    total = threads * per_thread
    assert meter.calls(error_type="") == total
    assert meter.value(catalog.TOKEN_USAGE.count, gen_ai_token_type="output") == total
    assert meter.value(catalog.TOKEN_USAGE.sum, gen_ai_token_type="output") == 12 * total


def test_fault_in_recording_never_reaches_the_caller(
    meter: Meter, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Recorder, labels: tuple) -> None:
        raise ZeroDivisionError("injected")

    monkeypatch.setattr(Recorder, "series", broken)
    resp = meter.client.chat.completions.create(model="gpt-4o", messages=MSG)
    assert resp.choices[0].message.content
    chunks = list(meter.client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True))
    assert chunks
    with pytest.raises(openai.RateLimitError):  # the SDK's own exception still propagates
        meter.client.chat.completions.create(model="gpt-4o", messages=MSG, **err("rate_limit"))
    faults = meter.value(catalog.INSTRUMENTATION_ERRORS.name, error_class="ZeroDivisionError")
    assert faults >= 3


def test_exemplar_carries_the_trace_id(meter: Meter) -> None:
    token = set_trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
    try:
        meter.client.chat.completions.create(model="gpt-4o", messages=MSG)
    finally:
        reset_trace_id(token)
    text = openmetrics_latest(meter.registry).decode()
    assert '# {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"}' in text


def test_global_instrumentation_and_undo(sim: Simulator) -> None:
    registry = CollectorRegistry()
    instrument_openai(metrics=Metrics(registry))
    try:
        client = openai.OpenAI(base_url=sim.base_url, api_key="sim", max_retries=0)
        client.chat.completions.create(model="gpt-4o", messages=MSG)
        # A client instrumented on its own as well still counts each call once.
        own = Metrics(CollectorRegistry())
        instrument_openai(client, metrics=own)
        client.chat.completions.create(model="gpt-4o", messages=MSG)
        assert registry.get_sample_value(DURATION.count, _labels(sim)) == 1
        assert own.registry.get_sample_value(DURATION.count, _labels(sim)) == 1
        uninstrument_openai(client)
    finally:
        uninstrument_openai()
    client.chat.completions.create(model="gpt-4o", messages=MSG)
    # Undone everywhere: the third call is not recorded.
    assert registry.get_sample_value(DURATION.count, _labels(sim)) == 1


def _labels(sim: Simulator) -> dict[str, str]:
    return {"gen_ai_operation_name": "chat", "gen_ai_provider_name": "openai",
            "gen_ai_request_model": "gpt-4o", "gen_ai_response_model": "gpt-4o-2024-08-06",
            "server_address": "127.0.0.1", "error_type": ""}  # fmt: skip


def test_async_stream_broken_off_is_cancelled_once(meter: Meter) -> None:
    async def run() -> None:
        stream = await meter.aclient.chat.completions.create(
            model="gpt-4o", messages=MSG, stream=True
        )
        async with stream:
            async for _ in stream:
                break

    asyncio.run(run())
    gc.collect()
    assert meter.calls(error_type="cancelled") == 1 and meter.calls() == 1


def test_exemplar_from_an_active_opentelemetry_span(meter: Meter) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("handle-request") as span:
        meter.client.chat.completions.create(model="gpt-4o", messages=MSG)
        trace_id = format(span.get_span_context().trace_id, "032x")
    assert f'# {{trace_id="{trace_id}"}}' in openmetrics_latest(meter.registry).decode()


def test_azure_client_keeps_its_own_request_building(sim: Simulator) -> None:
    # AzureOpenAI overrides _build_request to route by deployment; instrumenting one client must
    # keep that, and label the provider as Azure.
    registry = CollectorRegistry()
    client = openai.AzureOpenAI(azure_endpoint=sim.url, api_key="sim", api_version="2024-10-21",
                                max_retries=0)  # fmt: skip
    instrument_openai(client, metrics=Metrics(registry))
    resp = client.chat.completions.create(model="gpt-4o", messages=MSG)
    assert resp.choices[0].message.content
    count = registry.get_sample_value(DURATION.count, {
        "gen_ai_operation_name": "chat", "gen_ai_provider_name": "azure.ai.openai",
        "gen_ai_request_model": "gpt-4o", "gen_ai_response_model": resp.model,
        "server_address": "127.0.0.1", "error_type": ""})  # fmt: skip
    assert count == 1


# -- hostile provider data ----------------------------------------------------------------------


def patch(value: dict) -> dict[str, dict[str, str]]:
    """The simulator merges this into every JSON object it answers (NaN allowed)."""
    return {"extra_headers": {"x-sim-patch": json.dumps(value)}}


@pytest.mark.parametrize("count", [-5, 1e30, 10**30, float("nan"), float("inf"), "many", [3]])
@pytest.mark.parametrize("stream", [False, True])
def test_hostile_token_counts_are_rejected_and_the_call_still_counts(
    meter: Meter, count: object, stream: bool
) -> None:
    hostile = patch({"usage": {"prompt_tokens": count}})
    good = meter.client.chat.completions.create(model="gpt-4o", messages=MSG)
    result = meter.client.chat.completions.create(model="gpt-4o", messages=MSG, stream=stream,
                                                  **hostile)  # fmt: skip
    if stream:
        list(result)
    assert meter.calls(error_type="") == 2
    tokens = catalog.TOKEN_USAGE
    # Only the good call's counts: _sum neither fell, nor went NaN, +Inf or huge.
    assert meter.value(tokens.sum, gen_ai_token_type="input") == good.usage.prompt_tokens
    assert meter.value(tokens.count, gen_ai_token_type="input") == 1
    assert meter.value(catalog.REJECTED_OBSERVATIONS.name, signal="token_usage") == 1
    # prometheus_client's own OpenMetrics parser takes the exposition back.
    exposition = openmetrics_latest(meter.registry).decode()
    assert list(text_string_to_metric_families(exposition))


def test_a_model_that_is_not_a_string_still_counts_the_call(meter: Meter) -> None:
    meter.client.chat.completions.create(model="gpt-4o", messages=MSG, **patch({"model": [1]}))
    list(meter.client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True,
                                              **patch({"model": {"a": 1}})))  # fmt: skip
    meter.client.responses.create(model="gpt-4o", input="hi", **patch({"model": 7}))
    assert meter.calls(error_type="", gen_ai_response_model="") == 3


def test_an_error_code_that_is_a_list_still_counts_the_call(meter: Meter) -> None:
    headers = {
        "x-sim-error": "context_length_exceeded",
        "x-sim-patch": json.dumps({"error": {"code": ["context_length_exceeded"]}}),
    }
    hostile = {"extra_headers": headers}
    with pytest.raises(openai.BadRequestError):
        meter.client.chat.completions.create(model="gpt-4o", messages=MSG, **hostile)
    assert meter.calls(error_type="bad_request") == 1


# -- providers that refuse stream_options --------------------------------------------------------


def test_a_provider_refusing_stream_options_gets_the_stream_as_written() -> None:
    with Simulator(SimulatorConfig(output_tokens=12, reject_stream_options=True)) as strict:
        raw = openai.OpenAI(base_url=strict.base_url, api_key="sim", max_retries=0)
        chunks = list(raw.chat.completions.create(model="gpt-4o", messages=MSG, stream=True))
        meter = Meter(strict.base_url)
        seen = list(meter.client.chat.completions.create(model="gpt-4o", messages=MSG,
                                                         stream=True))  # fmt: skip
        # What the raw SDK got, chunk for chunk: the 400 to our stream_options was retried
        # without it, and the tokens are estimated instead.
        assert [c.choices[0].delta.content for c in seen] == [
            c.choices[0].delta.content for c in chunks
        ]
        assert meter.calls(error_type="") == 1
        assert meter.value(catalog.ESTIMATED_TOKEN_OPERATIONS.name) == 1
        assert strict.stats()["requests"]["chat.completions"] == {"ok": 2, "bad_request": 1}

        async def stream() -> int:
            reply = await meter.aclient.chat.completions.create(model="gpt-4o", messages=MSG,
                                                                stream=True)  # fmt: skip
            return len([c async for c in reply])

        assert asyncio.run(stream()) == len(chunks)
        # The endpoint is remembered: no second refused request.
        assert strict.stats()["requests"]["chat.completions"] == {"ok": 3, "bad_request": 1}
        assert meter.calls(error_type="") == 2
        # The caller's own stream_options is theirs: its 400 reaches them unchanged.
        with pytest.raises(openai.BadRequestError):
            own = {"include_usage": True}
            meter.client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True,
                                                 stream_options=own)  # fmt: skip
        assert meter.calls(error_type="bad_request") == 1
    # A later simulator on the same port must not inherit the memory.
    openai_sdk._refuses_stream_options.clear()
