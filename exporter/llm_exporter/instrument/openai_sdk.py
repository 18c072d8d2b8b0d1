"""Hooks the official ``openai`` SDK (2.x and 3.x) at its one choke point.

Every resource method (``create``, ``parse``, the ``stream()`` helpers, ``with_raw_response``)
ends in the client's ``request()``, and every attempt, retries included, in ``_build_request()``.
Wrapping those two covers sync and async clients, streaming and not, without touching each
resource. Globally the wrappers go on the client base classes; for one client they are set on the
instance, calling the SDK's original functions, so both at once still record each call once.
A call OpenLIT records too (its span is current) is left to it: coexist.py.

The SDK's own exceptions propagate unchanged; a fault in our code is counted and the call goes on.
"""

from __future__ import annotations

import contextvars
import inspect
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import openai
from openai import AsyncStream, Stream
from openai._base_client import AsyncAPIClient, SyncAPIClient
from openai._legacy_response import LegacyAPIResponse

from ..metrics import Metrics, default_metrics
from ..pricing import ModelTable
from . import classify
from .coexist import openlit_records_this_call
from .record import Call, Recorder, text_or_empty, usage_triple

CHAT, RESPONSES, EMBEDDINGS = "chat.completions", "responses", "embeddings"
# options.url -> (gen_ai.operation.name, which API shape the result has)
_OPERATIONS = {
    "/chat/completions": ("chat", CHAT),
    "/responses": ("chat", RESPONSES),
    "/embeddings": ("embeddings", EMBEDDINGS),
}
JSON_CHECK, SCHEMA_CHECK = "json", "json_schema"

_current: contextvars.ContextVar[Call | None] = contextvars.ContextVar(
    "llm_exporter_openai_call", default=None
)
_lock = threading.Lock()
_ORIGINALS: dict[tuple[type, str], Callable[..., Any]] = {
    (SyncAPIClient, "request"): SyncAPIClient.request,
    (AsyncAPIClient, "request"): AsyncAPIClient.request,
    (SyncAPIClient, "_build_request"): SyncAPIClient._build_request,
    (AsyncAPIClient, "_build_request"): AsyncAPIClient._build_request,
}
_global_recorder: Recorder | None = None
_targets: weakref.WeakKeyDictionary[Any, tuple[str, str]] = weakref.WeakKeyDictionary()
# Base URLs that answered 400 to the stream_options we add: their streams go as written.
_refuses_stream_options: set[str] = set()


# -- set-up -----------------------------------------------------------------------------------


def instrument_openai(
    client: Any = None,
    *,
    metrics: Metrics | None = None,
    models_file: str | None = None,
) -> None:
    """Record every call of the openai SDK (``client=None``) or of one client.

    ``metrics`` defaults to the process-wide set on prometheus_client's global registry;
    ``models_file`` extends or overrides the shipped price and context-window table (a bad file
    raises ConfigError naming it, at set-up). Calling it again replaces the earlier set-up.
    """
    recorder = Recorder(metrics or default_metrics(), ModelTable.load(models_file))
    if client is None:
        global _global_recorder
        with _lock:
            _global_recorder = recorder
            for (cls, name), original in _ORIGINALS.items():
                setattr(cls, name, _wrap(original, lambda: _global_recorder, name))
        return
    if not isinstance(client, (SyncAPIClient, AsyncAPIClient)):
        raise TypeError(f"expected an openai client, got {type(client).__name__}")
    for name in ("request", "_build_request"):
        # Wrap what the client's own class resolves (AzureOpenAI overrides _build_request),
        # minus our global wrapper, so a call is recorded once by this client's recorder.
        original = getattr(type(client), name)
        original = getattr(original, "__wrapped__", original)
        wrapper = _wrap(original, lambda: recorder, name)
        setattr(client, name, wrapper.__get__(client))


def uninstrument_openai(client: Any = None) -> None:
    """Undo ``instrument_openai`` for the SDK (``client=None``) or for one client."""
    if client is None:
        global _global_recorder
        with _lock:
            for (cls, name), original in _ORIGINALS.items():
                setattr(cls, name, original)
            _global_recorder = None
        return
    for name in ("request", "_build_request"):
        client.__dict__.pop(name, None)


def _wrap(original: Callable, recorder_of: Callable[[], Recorder | None], name: str) -> Callable:
    if name == "_build_request":
        return _build_request_wrapper(original)
    if inspect.iscoroutinefunction(original):
        return _async_request_wrapper(original, recorder_of)
    return _sync_request_wrapper(original, recorder_of)


# -- the wrappers -----------------------------------------------------------------------------


def _sync_request_wrapper(original: Callable, recorder_of: Callable) -> Callable:
    def request(self: Any, cast_to: Any, options: Any, *args: Any, **kwargs: Any) -> Any:
        recorder = recorder_of()
        call = _begin(recorder, self, options, kwargs) if _ours(recorder) else None
        if call is None:
            return original(self, cast_to, options, *args, **kwargs)
        token = _current.set(call)
        try:
            try:
                result = original(self, cast_to, options, *args, **kwargs)
            except openai.BadRequestError as exc:
                if not _retry_without_stream_options(call, self, options, exc):
                    raise
                result = original(self, cast_to, options, *args, **kwargs)
        except BaseException as exc:
            call.fail(exc)
            raise
        finally:
            _current.reset(token)
        return _returned(call, result)

    request.__wrapped__ = original  # type: ignore[attr-defined]
    return request


def _async_request_wrapper(original: Callable, recorder_of: Callable) -> Callable:
    async def request(self: Any, cast_to: Any, options: Any, *args: Any, **kwargs: Any) -> Any:
        recorder = recorder_of()
        call = _begin(recorder, self, options, kwargs) if _ours(recorder) else None
        if call is None:
            return await original(self, cast_to, options, *args, **kwargs)
        token = _current.set(call)
        try:
            try:
                result = await original(self, cast_to, options, *args, **kwargs)
            except openai.BadRequestError as exc:
                if not _retry_without_stream_options(call, self, options, exc):
                    raise
                result = await original(self, cast_to, options, *args, **kwargs)
        except BaseException as exc:
            call.fail(exc)
            raise
        finally:
            _current.reset(token)
        return _returned(call, result)

    request.__wrapped__ = original  # type: ignore[attr-defined]
    return request


def _ours(recorder: Recorder | None) -> bool:
    """Whether this call is ours to record: instrumented, and not already OpenLIT's."""
    return recorder is not None and not openlit_records_this_call()


def _build_request_wrapper(original: Callable) -> Callable:
    def build_request(self: Any, options: Any, *args: Any, **kwargs: Any) -> Any:
        call = _current.get()
        if call is not None:
            retries = kwargs.get("retries_taken", 0)
            if retries > call.retries:
                call.retries = retries
        return original(self, options, *args, **kwargs)

    build_request.__wrapped__ = original  # type: ignore[attr-defined]
    return build_request


# -- call start and result ------------------------------------------------------------------


def _begin(recorder: Recorder, client: Any, options: Any, kwargs: dict[str, Any]) -> Call | None:
    try:
        api = _OPERATIONS.get(options.url)
        body = options.json_data
        if api is None or not isinstance(body, dict):
            return None
        op, kind = api
        provider, server = _target(client)
        streaming = bool(kwargs.get("stream") or body.get("stream"))
        call = Call(
            recorder,
            op,
            kind,
            provider,
            server,
            str(body.get("model", "")),
            body,
            _output_check(kind, body),
            has_output=kind != EMBEDDINGS,
        )
        if streaming:
            call.text = []
            if kind == CHAT and "stream_options" not in body and _asks_usage(client):
                # Ask for the usage chunk; _ChatChunks hides it again from the caller.
                options.json_data = {**body, "stream_options": {"include_usage": True}}
                call.hide_usage = True
        return call
    except Exception as exc:
        recorder.fault("begin", exc)
        return None


def _asks_usage(client: Any) -> bool:
    return str(client.base_url) not in _refuses_stream_options


def _retry_without_stream_options(call: Call, client: Any, options: Any, exc: Any) -> bool:
    """Whether a 400 is the provider refusing the stream_options we added (older Azure OpenAI
    API versions did): then the request goes again as the caller wrote it, so instrumentation
    never fails a call the raw SDK would make, and this endpoint is not asked again (its tokens
    are estimated)."""
    try:
        if not call.hide_usage:
            return False
        message = exc.body.get("message") if isinstance(exc.body, dict) else None
        named = exc.param if isinstance(getattr(exc, "param", None), str) else ""
        if "stream_options" not in named and "stream_options" not in str(message or exc.message):
            return False
        with _lock:
            if len(_refuses_stream_options) < 1000:  # bounded: endpoints come from the app
                _refuses_stream_options.add(str(client.base_url))
        options.json_data = call.body
        call.hide_usage = False
        return True
    except Exception as fault:
        call.recorder.fault("begin", fault)
        return False


def _target(client: Any) -> tuple[str, str]:
    """(gen_ai.provider.name, server.address) of a client, worked out once per client."""
    found = _targets.get(client)
    if found is None:
        azure = isinstance(client, (openai.AzureOpenAI, openai.AsyncAzureOpenAI))
        found = ("azure.ai.openai" if azure else "openai", str(client.base_url.host))
        _targets[client] = found
    return found


def _output_check(kind: str, body: dict[str, Any]) -> tuple[str, Any] | None:
    """(check name, JSON schema or None) when the request asks for JSON output."""
    if kind == CHAT:
        fmt = body.get("response_format")
    elif kind == RESPONSES:
        text = body.get("text")
        fmt = text.get("format") if isinstance(text, dict) else None
    else:
        return None
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_object":
        return (JSON_CHECK, None)
    if fmt.get("type") == "json_schema":
        holder = fmt.get("json_schema") if kind == CHAT else fmt
        schema = holder.get("schema") if isinstance(holder, dict) else None
        return (SCHEMA_CHECK, schema)
    return None


def _returned(call: Call, result: Any) -> Any:
    """Record a returned result (or wrap a stream to record at its end); never raises."""
    try:
        value = result
        if isinstance(result, LegacyAPIResponse):  # with_raw_response: body already read
            value = result.parse()  # cached by the SDK, so the caller's own parse() is free
        elif not isinstance(result, (Stream, AsyncStream, openai.BaseModel)):
            # with_streaming_response: the body is the caller's to read; time to headers only.
            call.complete()
            return result
        if isinstance(value, Stream):
            _wrap_sync_stream(value, call)
        elif isinstance(value, AsyncStream):
            _wrap_async_stream(value, call)
        else:
            _read_result(call, value)
            call.complete()
    except Exception as exc:
        call.recorder.fault("result", exc)
    return result


def _read_result(call: Call, result: Any) -> None:
    kind = call.kind
    call.response_model = text_or_empty(getattr(result, "model", None))
    usage = getattr(result, "usage", None)
    if kind == CHAT:
        if usage is not None:
            call.usage = usage_triple(usage, "prompt_tokens", "completion_tokens",
                                      "prompt_tokens_details")  # fmt: skip
        choices = result.choices
        if choices:
            choice = choices[0]
            if choice.finish_reason == "content_filter":
                call.error = classify.CONTENT_FILTER
            elif call.output_check is not None:
                call.text = [choice.message.content or ""]
    elif kind == RESPONSES:
        if usage is not None:
            call.usage = usage_triple(usage, "input_tokens", "output_tokens",
                                      "input_tokens_details")  # fmt: skip
        call.error = _responses_error(result)
        if call.output_check is not None and not call.error:
            call.text = [result.output_text]
    elif usage is not None:
        call.usage = (getattr(usage, "prompt_tokens", None), 0, 0)


def _responses_error(response: Any) -> str:
    status = getattr(response, "status", None)
    if status == "failed":
        return classify.SERVER_ERROR
    if status == "incomplete":
        details = getattr(response, "incomplete_details", None)
        if getattr(details, "reason", None) == "content_filter":
            return classify.CONTENT_FILTER
    return ""


# -- streams ----------------------------------------------------------------------------------


def _on_chunk(call: Call, chunk: Any) -> bool:
    """Observe one streamed item; True when the caller should not see it (the usage chunk we
    asked for ourselves)."""
    if call.kind == CHAT:
        if not call.response_model:
            call.response_model = text_or_empty(chunk.model)
        usage = chunk.usage
        if usage is not None:
            call.usage = usage_triple(usage, "prompt_tokens", "completion_tokens",
                                      "prompt_tokens_details")  # fmt: skip
        choices = chunk.choices
        if choices:
            # Only chunks with choices are output; the trailing usage chunk is bookkeeping.
            call.chunk_arrived()
            choice = choices[0]
            content = choice.delta.content
            if content:
                call.text.append(content)  # type: ignore[union-attr]
            if choice.finish_reason == "content_filter":
                call.error = classify.CONTENT_FILTER
            return False
        return usage is not None and call.hide_usage
    event_type = getattr(chunk, "type", "")
    if event_type == "response.output_text.delta":
        call.text.append(chunk.delta)  # type: ignore[union-attr]
    elif event_type in ("response.created", "response.completed", "response.incomplete",
                        "response.failed"):  # fmt: skip
        response = chunk.response
        call.response_model = text_or_empty(response.model) or call.response_model
        if response.usage is not None:
            call.usage = usage_triple(response.usage, "input_tokens", "output_tokens",
                                      "input_tokens_details")  # fmt: skip
        call.error = _responses_error(response) or call.error
    elif event_type == "error":
        call.error = classify.SERVER_ERROR
    call.chunk_arrived()
    return False


def _wrap_sync_stream(stream: Stream, call: Call) -> None:
    stream._iterator = _observe_sync(stream._iterator, call)
    original_close = stream.close

    def close() -> None:
        try:
            original_close()
        finally:
            call.abandon()

    stream.close = close  # type: ignore[method-assign]
    weakref.finalize(stream, call.abandon)


def _observe_sync(inner: Iterator[Any], call: Call) -> Iterator[Any]:
    try:
        for item in inner:
            try:
                hide = _on_chunk(call, item)
            except Exception as exc:
                call.recorder.fault("stream", exc)
                hide = False
            if not hide:
                yield item
    except GeneratorExit:
        call.abandon()
        raise
    except BaseException as exc:
        call.fail(exc)
        raise
    call.complete()


def _wrap_async_stream(stream: AsyncStream, call: Call) -> None:
    stream._iterator = _observe_async(stream._iterator, call)
    original_close = stream.close

    async def close() -> None:
        try:
            await original_close()
        finally:
            call.abandon()

    stream.close = close  # type: ignore[method-assign]
    weakref.finalize(stream, call.abandon)


async def _observe_async(inner: AsyncIterator[Any], call: Call) -> AsyncIterator[Any]:
    try:
        async for item in inner:
            try:
                hide = _on_chunk(call, item)
            except Exception as exc:
                call.recorder.fault("stream", exc)
                hide = False
            if not hide:
                yield item
    except GeneratorExit:
        call.abandon()
        raise
    except BaseException as exc:
        call.fail(exc)
        raise
    call.complete()
