"""Token counting and the JSON bodies / SSE frames of the OpenAI API, with no I/O.

Token rule (deterministic, so instrumentation tests can compare metrics to usage):
- prompt tokens: whitespace-separated words of every message's text, plus
  PER_MESSAGE_TOKENS per message (chat messages; responses `instructions` and each `input`
  item, a string `input` being one message); embeddings: words per input, no overhead
  (a token-id array counts its length).
- output tokens: one per generated word; each streamed content delta is exactly one word
  (with its trailing space), so content chunks == completion_tokens - reasoning_tokens.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import struct
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

PER_MESSAGE_TOKENS = 4

# Filler words for generated text; cycled, so output is deterministic.
_VOCABULARY = (
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "metrics",
    "scrape",
    "every",
    "fifteen",
    "seconds",
    "and",
    "latency",
    "histograms",
    "record",
    "each",
    "token",
    "streamed",
    "back",
    "to",
    "the",
    "client",
)


@dataclass
class Plan:
    """What one successful (HTTP 200) generation answers; built by the server per request."""

    model: str  # the model name reported back (after the response table and model switch)
    prompt_tokens: int
    cached_tokens: int
    tokens: list[str]  # visible output, one entry per token
    reasoning_tokens: int = 0
    finish_reason: str = "stop"  # stop | length | content_filter
    include_usage: bool = False  # chat streaming only
    request: dict[str, Any] = field(default_factory=dict)

    @property
    def completion_tokens(self) -> int:
        return len(self.tokens) + self.reasoning_tokens

    @property
    def text(self) -> str:
        return "".join(self.tokens)


@dataclass
class StreamFrames:
    """SSE frames in the order the server writes them, grouped by the delay before each.

    preamble goes out with the headers, lead after first_chunk_delay_s together with the
    first token frame, tokens are spaced by inter_chunk_s, tail follows the last token.
    """

    preamble: list[bytes]
    lead: list[bytes]
    tokens: list[bytes]
    tail: list[bytes]


# -- token counting ---------------------------------------------------------------------------


def _words(content: Any) -> int:
    if isinstance(content, str):
        return len(content.split())
    if isinstance(content, list):
        return sum(_words(p.get("text") if isinstance(p, dict) else p) for p in content)
    return 0


def chat_prompt_tokens(body: dict[str, Any]) -> int:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return 0
    return sum(
        _words(m.get("content")) + PER_MESSAGE_TOKENS for m in messages if isinstance(m, dict)
    )


def responses_prompt_tokens(body: dict[str, Any]) -> int:
    total = 0
    if isinstance(body.get("instructions"), str):
        total += _words(body["instructions"]) + PER_MESSAGE_TOKENS
    items = body.get("input")
    if isinstance(items, str):
        total += _words(items) + PER_MESSAGE_TOKENS
    elif isinstance(items, list):
        for item in items:
            if isinstance(item, dict):
                content = item.get("content", item.get("output"))
                total += _words(content) + PER_MESSAGE_TOKENS
    return total


def embedding_inputs(value: Any) -> list[tuple[str, int]] | None:
    """(text key, token count) per input; None when `input` has no valid shape."""
    if isinstance(value, str):
        return [(value, _words(value))]
    if isinstance(value, list) and value:
        if all(isinstance(v, int) for v in value):  # one pre-tokenized input
            return [(repr(value), len(value))]
        out: list[tuple[str, int]] = []
        for v in value:
            if isinstance(v, str):
                out.append((v, _words(v)))
            elif isinstance(v, list) and all(isinstance(t, int) for t in v):
                out.append((repr(v), len(v)))
            else:
                return None
        return out
    return None


# -- generated content ------------------------------------------------------------------------


def output_tokens(n: int, as_json: bool = False, malformed: bool = False) -> list[str]:
    """n tokens of filler text; as_json wraps them as {"text": "..."}, malformed drops the
    closing brace so json.loads fails. The token count stays n either way."""
    tokens = [_VOCABULARY[i % len(_VOCABULARY)] + " " for i in range(n)]
    if tokens:
        tokens[-1] = tokens[-1].rstrip()
        if as_json or malformed:
            tokens[0] = '{"text": "' + tokens[0]
            tokens[-1] += '"' if malformed else '"}'
    return tokens


def schema_tokens(
    schema: Any, draw_number: Callable[[], float], malformed: bool = False
) -> list[str] | None:
    """A JSON object shaped like ``schema``'s top-level properties, split into tokens at
    spaces; None when the schema names no properties. Numbers come from ``draw_number``."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict) or not properties:
        return None
    obj = {key: _sample_value(sub, draw_number) for key, sub in properties.items()}
    text = json.dumps(obj)
    if malformed:
        text = text[:-1]
    words = text.split(" ")
    return [w + " " for w in words[:-1]] + [words[-1]]


def _sample_value(schema: Any, draw_number: Callable[[], float]) -> Any:
    if not isinstance(schema, dict):
        return "ok"
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "number":
        return round(draw_number(), 3)
    return {"integer": 1, "boolean": True, "array": [], "object": {}}.get(str(kind), "ok")


def _output_format(body: dict[str, Any], chat: bool) -> dict[str, Any] | None:
    """The output format a chat (response_format) or responses (text.format) request asks for."""
    if chat:
        fmt = body.get("response_format")
    else:
        text = body.get("text")
        fmt = text.get("format") if isinstance(text, dict) else None
    return fmt if isinstance(fmt, dict) else None


def wants_json(body: dict[str, Any], chat: bool) -> bool:
    fmt = _output_format(body, chat)
    return fmt is not None and fmt.get("type") in ("json_object", "json_schema")


def request_schema(body: dict[str, Any], chat: bool) -> Any:
    """The JSON schema a chat or responses request asks its output to follow, if any."""
    fmt = _output_format(body, chat)
    # chat nests it under json_schema; responses puts it in the format itself
    holder = (fmt.get("json_schema") if chat else fmt) if fmt is not None else None
    return holder.get("schema") if isinstance(holder, dict) else None


@functools.lru_cache(maxsize=4096)
def embedding_vector(key: str, dim: int) -> tuple[float, ...]:
    """A unit vector derived from a hash of the input, so equal inputs embed equally."""
    raw = hashlib.shake_128(key.encode()).digest(4 * dim)
    values = [v / 0xFFFFFFFF * 2 - 1 for v in struct.unpack(f"<{dim}I", raw)]
    norm = sum(v * v for v in values) ** 0.5 or 1.0
    # Round through float32 so the float and base64 encodings decode to identical values.
    return struct.unpack(f"<{dim}f", struct.pack(f"<{dim}f", *(v / norm for v in values)))


# -- bodies -----------------------------------------------------------------------------------


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:24]


def error_body(message: str, type_: str, code: str | None = None, param: str | None = None):
    return dumps({"error": {"message": message, "type": type_, "param": param, "code": code}})


def models_list(names: Iterable[str]) -> bytes:
    return dumps({"object": "list", "data": [model_object(n) for n in sorted(set(names))]})


def model_object(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 1_700_000_000, "owned_by": "system"}


def _chat_usage(plan: Plan) -> dict[str, Any]:
    return {
        "prompt_tokens": plan.prompt_tokens,
        "completion_tokens": plan.completion_tokens,
        "total_tokens": plan.prompt_tokens + plan.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": plan.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": plan.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def chat_completion(plan: Plan) -> bytes:
    return dumps(
        {
            "id": new_id("chatcmpl-"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": plan.model,
            "system_fingerprint": "fp_simulator",
            "service_tier": "default",
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": plan.text,
                        "refusal": None,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": plan.finish_reason,
                }
            ],
            "usage": _chat_usage(plan),
        }
    )


def _sse(data: bytes, event: str | None = None) -> bytes:
    if event is None:
        return b"data: " + data + b"\n\n"
    return b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"


def chat_stream(plan: Plan) -> StreamFrames:
    base: dict[str, Any] = {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": plan.model,
        "system_fingerprint": "fp_simulator",
        "service_tier": "default",
    }
    if plan.include_usage:  # the real API sends usage: null on every chunk in this mode
        base["usage"] = None

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return _sse(dumps({**base, "choices": [choice]}))

    # Serialise the envelope once and splice each token in: the per-token cost stays small.
    head, _, tail = chunk({"content": "\x00"}).partition(b'"\\u0000"')
    tokens = [head + json.dumps(t).encode() + tail for t in plan.tokens]
    end = [chunk({}, plan.finish_reason)]
    if plan.include_usage:
        end.append(_sse(dumps({**base, "choices": [], "usage": _chat_usage(plan)})))
    end.append(b"data: [DONE]\n\n")
    role = chunk({"role": "assistant", "content": "", "refusal": None})
    return StreamFrames(preamble=[], lead=[role], tokens=tokens, tail=end)


def _responses_usage(plan: Plan) -> dict[str, Any]:
    return {
        "input_tokens": plan.prompt_tokens,
        "input_tokens_details": {"cached_tokens": plan.cached_tokens, "cache_write_tokens": 0},
        "output_tokens": plan.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": plan.reasoning_tokens},
        "total_tokens": plan.prompt_tokens + plan.completion_tokens,
    }


def _incomplete_reason(plan: Plan) -> str | None:
    return {"length": "max_output_tokens", "content_filter": "content_filter"}.get(
        plan.finish_reason
    )


def _response_object(
    plan: Plan, resp_id: str, created: int, status: str, output: list[dict[str, Any]]
) -> dict[str, Any]:
    req = plan.request
    instructions = req.get("instructions")
    reason = _incomplete_reason(plan) if status == "incomplete" else None
    text = req.get("text") if isinstance(req.get("text"), dict) else {"format": {"type": "text"}}
    return {
        "id": resp_id,
        "object": "response",
        "created_at": created,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": {"reason": reason} if reason else None,
        "instructions": instructions if isinstance(instructions, str) else None,
        "max_output_tokens": req.get("max_output_tokens"),
        "metadata": req.get("metadata") or {},
        "model": plan.model,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": req.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "default",
        "store": bool(req.get("store", True)),
        "temperature": req.get("temperature", 1.0),
        "text": text,
        "tool_choice": "auto",
        "tools": [],
        "top_p": req.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": _responses_usage(plan) if status != "in_progress" else None,
        "user": None,
    }


def _final_status(plan: Plan) -> str:
    return "completed" if plan.finish_reason == "stop" else "incomplete"


def _message_item(item_id: str, text: str | None, status: str) -> dict[str, Any]:
    content = [] if text is None else [_text_part(text)]
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def response(plan: Plan) -> bytes:
    status = _final_status(plan)
    item = _message_item(new_id("msg_"), plan.text, status)
    return dumps(_response_object(plan, new_id("resp_"), int(time.time()), status, [item]))


def response_stream(plan: Plan) -> StreamFrames:
    resp_id, item_id, created = new_id("resp_"), new_id("msg_"), int(time.time())
    status = _final_status(plan)
    seq = 0

    def event(type_: str, **fields: Any) -> bytes:
        nonlocal seq
        frame = _sse(dumps({"type": type_, "sequence_number": seq, **fields}), type_)
        seq += 1
        return frame

    started = _response_object(plan, resp_id, created, "in_progress", [])
    preamble = [
        event("response.created", response=started),
        event("response.in_progress", response=started),
    ]
    where = {"item_id": item_id, "output_index": 0, "content_index": 0}
    lead = [
        event(
            "response.output_item.added",
            output_index=0,
            item=_message_item(item_id, None, "in_progress"),
        ),
        event("response.content_part.added", part=_text_part(""), **where),
    ]
    # Same splice trick as chat: sequence_number goes last so only it and the delta vary.
    envelope = dumps({"type": "response.output_text.delta", **where, "logprobs": []})
    head = b"event: response.output_text.delta\ndata: " + envelope[:-1] + b","
    tokens = []
    for tok in plan.tokens:
        tokens.append(
            head
            + b'"delta":'
            + json.dumps(tok).encode()
            + b',"sequence_number":'
            + str(seq).encode()
            + b"}\n\n"
        )
        seq += 1
    text = plan.text
    item = _message_item(item_id, text, status)
    tail = [
        event("response.output_text.done", text=text, logprobs=[], **where),
        event("response.content_part.done", part=_text_part(text), **where),
        event("response.output_item.done", output_index=0, item=item),
        event(
            f"response.{status}", response=_response_object(plan, resp_id, created, status, [item])
        ),
    ]
    return StreamFrames(preamble=preamble, lead=lead, tokens=tokens, tail=tail)


def embeddings(model: str, inputs: list[tuple[str, int]], dim: int, as_base64: bool) -> bytes:
    data = []
    for i, (key, _) in enumerate(inputs):
        vec = embedding_vector(key, dim)
        emb: Any = (
            base64.b64encode(struct.pack(f"<{dim}f", *vec)).decode() if as_base64 else list(vec)
        )
        data.append({"object": "embedding", "index": i, "embedding": emb})
    total = sum(n for _, n in inputs)
    return dumps(
        {
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": total, "total_tokens": total},
        }
    )
