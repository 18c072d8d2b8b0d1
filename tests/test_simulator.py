"""The OpenAI simulator driven by the real openai SDK (sync and async), one server per test."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator

import openai
import pytest

from llm_exporter.simulator import PER_MESSAGE_TOKENS, Simulator, SimulatorConfig

from .conftest import http_get

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "name three prime numbers"},
]
# 3 + 4 words, plus the per-message overhead for each of the two messages.
MESSAGES_TOKENS = 7 + 2 * PER_MESSAGE_TOKENS


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(SimulatorConfig(output_tokens=6)) as s:
        yield s


def client(sim: Simulator, **kw) -> openai.OpenAI:
    return openai.OpenAI(base_url=sim.base_url, api_key="sim", max_retries=0, **kw)


def async_client(sim: Simulator, **kw) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=sim.base_url, api_key="sim", max_retries=0, **kw)


def post_json(url: str, payload: dict) -> tuple[int, dict]:
    req = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


# -- chat completions -------------------------------------------------------------------------


def test_chat_non_stream(sim: Simulator) -> None:
    resp = client(sim).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert resp.object == "chat.completion"
    assert resp.model == "gpt-4o-2024-08-06"
    choice = resp.choices[0]
    assert choice.finish_reason == "stop"
    assert len(choice.message.content.split()) == 6
    assert resp.usage.prompt_tokens == MESSAGES_TOKENS
    assert resp.usage.completion_tokens == 6
    assert resp.usage.total_tokens == MESSAGES_TOKENS + 6
    assert resp.usage.prompt_tokens_details.cached_tokens == 0


def test_chat_stream_without_usage(sim: Simulator) -> None:
    stream = client(sim).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    chunks = list(stream)
    assert all(c.usage is None for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert {c.model for c in chunks} == {"gpt-4o-mini-2024-07-18"}
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) == 6


def test_chat_stream_with_usage_counts_match(sim: Simulator) -> None:
    stream = client(sim).chat.completions.create(
        model="gpt-4o",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={"x-sim-output-tokens": "11"},
    )
    chunks = list(stream)
    usage_chunks = [c for c in chunks if c.usage is not None]
    assert len(usage_chunks) == 1 and usage_chunks[0] is chunks[-1]
    assert chunks[-1].choices == []
    content = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert len(content) == chunks[-1].usage.completion_tokens == 11
    assert chunks[-1].usage.prompt_tokens == MESSAGES_TOKENS


def test_chat_async_stream_and_create(sim: Simulator) -> None:
    async def go() -> tuple[int, int, str]:
        aclient = async_client(sim)
        stream = await aclient.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        n_content, usage = 0, None
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                n_content += 1
            usage = chunk.usage or usage
        resp = await aclient.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        await aclient.close()
        return n_content, usage.completion_tokens, resp.choices[0].message.content

    n_content, completion_tokens, text = asyncio.run(go())
    assert n_content == completion_tokens == 6
    assert len(text.split()) == 6


def test_max_tokens_truncates_with_length(sim: Simulator) -> None:
    resp = client(sim).chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=2)
    assert resp.choices[0].finish_reason == "length"
    assert resp.usage.completion_tokens == 2


# -- responses --------------------------------------------------------------------------------


def test_responses_non_stream(sim: Simulator) -> None:
    resp = client(sim).responses.create(
        model="gpt-4o", input="hello there", instructions="be brief"
    )
    assert resp.status == "completed"
    assert resp.model == "gpt-4o-2024-08-06"
    assert len(resp.output_text.split()) == 6
    assert resp.usage.input_tokens == 2 + 2 + 2 * PER_MESSAGE_TOKENS
    assert resp.usage.output_tokens == 6
    assert resp.usage.total_tokens == resp.usage.input_tokens + 6
    assert resp.usage.output_tokens_details.reasoning_tokens == 0


def test_responses_stream_helper(sim: Simulator) -> None:
    with client(sim).responses.stream(model="gpt-4o-mini", input="hi") as stream:
        types = [event.type for event in stream]
        final = stream.get_final_response()
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert types.count("response.output_text.delta") == final.usage.output_tokens == 6
    assert len(final.output_text.split()) == 6
    assert final.model == "gpt-4o-mini-2024-07-18"


def test_responses_async_raw_stream(sim: Simulator) -> None:
    async def go() -> tuple[list[int], str, int]:
        aclient = async_client(sim)
        seqs, text, usage = [], "", None
        async for event in await aclient.responses.create(model="gpt-4o", input="x", stream=True):
            seqs.append(event.sequence_number)
            if event.type == "response.output_text.delta":
                text += event.delta
            if event.type == "response.completed":
                usage = event.response.usage.output_tokens
        await aclient.close()
        return seqs, text, usage

    seqs, text, usage = asyncio.run(go())
    assert seqs == list(range(len(seqs)))
    assert len(text.split()) == usage == 6


# -- embeddings and models --------------------------------------------------------------------


def test_embeddings_default_base64_and_float_agree() -> None:
    with Simulator(SimulatorConfig(embedding_dim=5)) as sim:
        c = client(sim)
        default = c.embeddings.create(model="text-embedding-3-small", input=["one two", "three"])
        floats = c.embeddings.create(
            model="text-embedding-3-small", input="one two", encoding_format="float"
        )
        raw = c.embeddings.create(
            model="text-embedding-3-small", input="one two", encoding_format="base64"
        )
    assert [len(d.embedding) for d in default.data] == [5, 5]
    assert default.data[0].embedding == floats.data[0].embedding
    assert default.data[0].embedding != default.data[1].embedding
    assert list(struct.unpack("<5f", base64.b64decode(raw.data[0].embedding))) == (
        floats.data[0].embedding
    )
    assert default.usage.prompt_tokens == default.usage.total_tokens == 3


def test_models_list(sim: Simulator) -> None:
    ids = {m.id for m in client(sim).models.list()}
    assert {"gpt-4o", "gpt-4o-mini", "text-embedding-3-small"} <= ids


# -- error injection --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "exc", "status"),
    [
        ("rate_limit", openai.RateLimitError, 429),
        ("server_error", openai.InternalServerError, 500),
        ("auth", openai.AuthenticationError, 401),
        ("context_length_exceeded", openai.BadRequestError, 400),
    ],
)
def test_forced_http_errors(error: str, exc: type[openai.APIStatusError], status: int) -> None:
    with Simulator(SimulatorConfig(retry_after_s=2)) as sim:
        with pytest.raises(exc) as info:
            client(sim).chat.completions.create(
                model="gpt-4o", messages=MESSAGES, extra_headers={"x-sim-error": error}
            )
        assert sim.stats()["requests"]["chat.completions"] == {error: 1}
    assert info.value.status_code == status
    if error == "rate_limit":
        assert info.value.response.headers["retry-after"] == "2"
        assert info.value.code == "rate_limit_exceeded"
        assert info.value.type == "rate_limit_error"
    if error == "context_length_exceeded":
        assert info.value.code == "context_length_exceeded"


def test_error_rates_knob_and_forced_none() -> None:
    with Simulator(SimulatorConfig(error_rates={"server_error": 1.0})) as sim:
        with pytest.raises(openai.InternalServerError):
            client(sim).responses.create(model="gpt-4o", input="x")
        forced_ok = client(sim).responses.create(
            model="gpt-4o", input="x", extra_headers={"x-sim-error": "none"}
        )
        assert forced_ok.status == "completed"
        sim.update(error_rates={"server_error": None})  # null deletes the key
        assert client(sim).responses.create(model="gpt-4o", input="x").status == "completed"
        assert sim.stats()["requests"]["responses"] == {"ok": 2, "server_error": 1}
        sim.reset_stats()
        assert sim.stats() == {"total": 0, "requests": {}}


def test_timeout_error_and_fast_stop() -> None:
    sim = Simulator(SimulatorConfig(timeout_sleep_s=30)).start()
    with pytest.raises(openai.APITimeoutError):
        client(sim, timeout=0.2).chat.completions.create(
            model="gpt-4o", messages=MESSAGES, extra_headers={"x-sim-error": "timeout"}
        )
    assert sim.stats()["requests"] == {"chat.completions": {"timeout": 1}}
    started = time.monotonic()
    sim.stop()  # must not wait out the 30 s sleep of the abandoned request
    assert time.monotonic() - started < 2


def test_context_window_table() -> None:
    with Simulator(SimulatorConfig(context_windows={"tiny": 10})) as sim:
        c = client(sim)
        c.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "a b"}])
        with pytest.raises(openai.BadRequestError) as info:
            c.chat.completions.create(
                model="tiny", messages=[{"role": "user", "content": "a " * 7}]
            )
        with pytest.raises(openai.BadRequestError):
            c.responses.create(model="tiny", input="a " * 7)
    assert info.value.code == "context_length_exceeded"
    assert "maximum context length is 10 tokens" in info.value.message


def test_content_filter(sim: Simulator) -> None:
    headers = {"x-sim-error": "content_filter"}
    c = client(sim)
    chat = c.chat.completions.create(model="gpt-4o", messages=MESSAGES, extra_headers=headers)
    assert chat.choices[0].finish_reason == "content_filter"
    assert chat.usage.completion_tokens == 3
    resp = c.responses.create(model="gpt-4o", input="x", extra_headers=headers)
    assert resp.status == "incomplete"
    assert resp.incomplete_details.reason == "content_filter"


def test_malformed_json(sim: Simulator) -> None:
    c = client(sim)
    fmt = {"type": "json_object"}
    ok = c.chat.completions.create(model="gpt-4o", messages=MESSAGES, response_format=fmt)
    assert len(json.loads(ok.choices[0].message.content)["text"].split()) == 6
    bad = c.chat.completions.create(
        model="gpt-4o",
        messages=MESSAGES,
        response_format=fmt,
        extra_headers={"x-sim-error": "malformed_json"},
    )
    with pytest.raises(json.JSONDecodeError):
        json.loads(bad.choices[0].message.content)
    assert bad.usage.completion_tokens == 6

    # As a rate it hits JSON-mode requests only, unless malformed_json_any_request is set.
    sim.update(error_rates={"malformed_json": 1.0})
    plain = c.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert not plain.choices[0].message.content.startswith("{")
    text = {"format": {"type": "json_object"}}
    resp = c.responses.create(model="gpt-4o", input="json please", text=text)
    with pytest.raises(json.JSONDecodeError):
        json.loads(resp.output_text)


# -- models, live config, timing --------------------------------------------------------------


def test_model_switch(sim: Simulator) -> None:
    c = client(sim)
    assert c.chat.completions.create(model="gpt-4o", messages=MESSAGES).model == (
        "gpt-4o-2024-08-06"
    )
    sim.update(model_switch={"gpt-4o": "gpt-4o-mini-2024-07-18"})
    assert c.chat.completions.create(model="gpt-4o", messages=MESSAGES).model == (
        "gpt-4o-mini-2024-07-18"
    )
    assert c.responses.create(model="gpt-4o", input="x").model == "gpt-4o-mini-2024-07-18"
    assert c.chat.completions.create(model="my-model", messages=MESSAGES).model == "my-model"


def test_sim_config_endpoint_patches_live(sim: Simulator) -> None:
    status, body = post_json(
        sim.url + "/_sim/config", {"output_tokens": 3, "model_switch": {"*": "gpt-3.5-turbo-0125"}}
    )
    assert status == 200 and body["output_tokens"] == 3
    resp = client(sim).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert resp.usage.completion_tokens == 3
    assert resp.model == "gpt-3.5-turbo-0125"

    status, body = post_json(sim.url + "/_sim/config", {"latency_s": "slow"})
    assert status == 400 and body["error"]["param"] == "latency_s"
    status, body = post_json(sim.url + "/_sim/config", {"no_such_knob": 1})
    assert status == 400 and "no_such_knob" in body["error"]["message"]
    status, _, raw = http_get(sim.url + "/_sim/config")
    assert status == 200 and json.loads(raw)["latency_s"] == 0.0

    status, _, raw = http_get(sim.url + "/_sim/stats")
    stats = json.loads(raw)
    assert stats["requests"] == {"chat.completions": {"ok": 1}} and stats["total"] == 1


def test_first_chunk_delay(sim: Simulator) -> None:
    def first_chunk_after(headers: dict[str, str]) -> float:
        started = time.monotonic()
        stream = client(sim).chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True, extra_headers=headers
        )
        next(iter(stream))
        elapsed = time.monotonic() - started
        stream.close()
        return elapsed

    baseline = first_chunk_after({})
    delayed = first_chunk_after({"x-sim-first-chunk-delay": "0.3"})
    assert delayed >= 0.3 and delayed > baseline
    sim.update(first_chunk_delay_s=0.25)
    assert first_chunk_after({}) >= 0.25


def test_latency_and_output_range_knobs() -> None:
    config = SimulatorConfig(output_tokens=(2, 4), seed=7)
    with Simulator(config) as sim:
        c = client(sim)
        counts = {
            c.chat.completions.create(model="gpt-4o", messages=MESSAGES).usage.completion_tokens
            for _ in range(30)
        }
        started = time.monotonic()
        c.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, extra_headers={"x-sim-latency": "0.2"}
        )
        assert time.monotonic() - started >= 0.2
    assert counts == {2, 3, 4}


def test_config_validation_names_the_knob() -> None:
    with pytest.raises(ValueError, match="latency_s"):
        SimulatorConfig(latency_s=-1)
    with pytest.raises(ValueError, match="error_rates"):
        SimulatorConfig(error_rates={"meteor": 0.1})
    with pytest.raises(ValueError, match="output_tokens"):
        SimulatorConfig().merge({"output_tokens": [5, 2]})
    merged = SimulatorConfig().merge({"model_switch": {"a": "b"}, "output_tokens": [1, 3]})
    assert merged.model_switch == {"a": "b"} and merged.output_tokens == (1, 3)


def test_client_disconnect_mid_stream_is_quiet(capfd: pytest.CaptureFixture[str]) -> None:
    with Simulator(SimulatorConfig(output_tokens=40, inter_chunk_s=0.02)) as sim:
        stream = client(sim).chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
        it = iter(stream)
        next(it), next(it)
        stream.close()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            if sim.stats()["requests"].get("chat.completions", {}).get("disconnected"):
                break
            time.sleep(0.02)
        assert sim.stats()["requests"]["chat.completions"] == {"disconnected": 1}
    assert capfd.readouterr().err == ""


def test_concurrent_clients_share_one_simulator(sim: Simulator) -> None:
    c = client(sim)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                list(c.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sim.stats()["requests"]["chat.completions"] == {"ok": 80}


def test_cli_runs_in_foreground() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "llm_exporter.simulator", "--port", "0", "--output-tokens", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("llm-exporter simulator listening on http://127.0.0.1:")
        base_url = line.split()[-1]
        c = openai.OpenAI(base_url=base_url, api_key="sim", max_retries=0)
        resp = c.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        assert resp.usage.completion_tokens == 3
    finally:
        proc.terminate()
        rc = proc.wait(timeout=10)
        stderr = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
    assert rc == 0 and stderr == ""
