"""The HTTP side: an OpenAI-compatible request handler and the Simulator that serves it."""

from __future__ import annotations

import contextlib
import json
import math
import random
import socket
import sys
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import responses as r
from .config import ERROR_CLASSES, SimulatorConfig

# Error classes answered with an HTTP error status; the rest answer 200 (or late, for timeout).
HTTP_ERRORS = frozenset({"rate_limit", "server_error", "context_length_exceeded", "auth"})

_STREAM_HEADERS = (
    ("Content-Type", "text/event-stream; charset=utf-8"),
    ("Cache-Control", "no-cache"),
)


class _Abort(Exception):
    """The simulator is stopping: drop the connection without answering."""


class _BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass
class _Overrides:
    """Per-request knobs from x-sim-* headers; None means "use the config"."""

    error: str | None = None  # "" forces no error
    latency: float | None = None
    first_chunk_delay: float | None = None
    inter_chunk: float | None = None
    output_tokens: int | None = None
    # x-sim-patch: a JSON object merged into every JSON object of the answer (a hostile
    # provider's usage block, model or error code); a key lands only where the answer has it.
    patch: dict[str, Any] | None = None


def _seconds_header(headers: Any, name: str) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise _BadRequest(f"{name}: expected seconds >= 0, got {raw!r}")
    return value


def _overrides(headers: Any) -> _Overrides:
    ov = _Overrides(
        latency=_seconds_header(headers, "x-sim-latency"),
        first_chunk_delay=_seconds_header(headers, "x-sim-first-chunk-delay"),
        inter_chunk=_seconds_header(headers, "x-sim-inter-chunk-delay"),
    )
    raw = headers.get("x-sim-error")
    if raw is not None:
        err = raw.strip().lower()
        if err in ("", "none"):
            ov.error = ""
        elif err in ERROR_CLASSES:
            ov.error = err
        else:
            expected = ", ".join(ERROR_CLASSES)
            raise _BadRequest(f"x-sim-error: unknown class {raw!r}, expected one of {expected}")
    raw = headers.get("x-sim-output-tokens")
    if raw is not None:
        if not raw.strip().isdigit():
            raise _BadRequest(f"x-sim-output-tokens: expected an integer >= 0, got {raw!r}")
        ov.output_tokens = int(raw)
    raw = headers.get("x-sim-patch")
    if raw is not None:
        try:
            ov.patch = json.loads(raw)  # NaN and Infinity allowed: hostile values are the point
        except ValueError:
            ov.patch = None
        if not isinstance(ov.patch, dict):
            raise _BadRequest(f"x-sim-patch: expected a JSON object, got {raw!r}")
    return ov


def _merge(target: Any, patch: dict[str, Any]) -> None:
    if not isinstance(target, dict):
        return
    for key, value in patch.items():
        if target.get(key) is None:
            continue
        if isinstance(value, dict) and isinstance(target[key], dict):
            _merge(target[key], value)
        else:
            target[key] = value


def _patched(data: bytes, patch: dict[str, Any]) -> bytes:
    """``data`` (a JSON body or SSE frames) with ``patch`` merged into each JSON object."""
    if data.startswith(b"{"):
        obj = json.loads(data)
        _merge(obj, patch)
        return json.dumps(obj, separators=(",", ":")).encode()
    lines = data.split(b"\n")
    for i, line in enumerate(lines):
        if line.startswith(b"data: {"):
            lines[i] = b"data: " + _patched(line[len(b"data: ") :], patch)
    return b"\n".join(lines)


def _int_param(body: dict[str, Any], *names: str) -> int | None:
    for name in names:
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _retry_after(seconds: float) -> str:
    return str(int(seconds)) if seconds.is_integer() else f"{seconds:g}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's httpx pool expects
    server_version = "llm-exporter-simulator"
    disable_nagle_algorithm = True  # small SSE writes must not wait on delayed ACKs
    timeout = 300  # reap idle keep-alive connections eventually
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet by design
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- plumbing ---------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        self.sim = self.server.sim
        # Stats: the outcome is counted just before the final write (so a client that reads
        # /_sim/stats after its response sees it), and endpoint is cleared once counted.
        self.endpoint: str | None = None
        self.outcome = "ok"
        self.out: list[bytes] = []
        self.patch: dict[str, Any] | None = None
        try:
            body = self._read_body()
            self._route(method, self.path.split("?", 1)[0], body)
        except _BadRequest as err:
            self.outcome = "bad_request"
            self._send_json(400, r.error_body(str(err), "invalid_request_error", None, err.param))
        except (_Abort, ConnectionError, TimeoutError):
            # The client went away (or we are stopping): no traceback, just drop the socket.
            self.close_connection = True
            self._count_once("disconnected")

    def _count_once(self, outcome: str) -> None:
        if self.endpoint:
            self.sim._count(self.endpoint, outcome)
            self.endpoint = None

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            return self.rfile.read(int(length))
        except ValueError as err:
            self.close_connection = True  # the body's end is unknown: resync by hanging up
            raise _BadRequest("invalid Content-Length") from err

    def _read_chunked(self) -> bytes:
        parts = []
        try:
            while size := int(self.rfile.readline().split(b";")[0], 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        except ValueError as err:
            self.close_connection = True
            raise _BadRequest("invalid chunked request body") from err
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
            pass
        return b"".join(parts)

    def _head(self, status: int, headers: tuple[tuple[str, str], ...], length: int | None):
        lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
        lines += [f"{k}: {v}" for k, v in headers]
        lines.append(f"x-request-id: {r.new_id('req_')}")
        if length is None:
            lines.append("Transfer-Encoding: chunked")
        else:
            lines.append(f"Content-Length: {length}")
        if self.close_connection:
            lines.append("Connection: close")
        self.out.append(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def _send_json(self, status: int, body: bytes, headers: tuple[tuple[str, str], ...] = ()):
        if self.patch:
            body = _patched(body, self.patch)
        self._head(status, (("Content-Type", "application/json"), *headers), len(body))
        self.out.append(body)
        self._flush(final=True)

    def _chunk(self, frames: list[bytes]) -> None:
        if self.patch:
            frames = [_patched(f, self.patch) for f in frames]
        data = b"".join(frames)
        if data:
            self.out.append(b"%x\r\n%b\r\n" % (len(data), data))

    def _flush(self, final: bool = False) -> None:
        if final:
            self._count_once(self.outcome)
        if self.out:
            self.wfile.write(b"".join(self.out))
            self.out.clear()

    def _wait(self, seconds: float) -> None:
        if seconds > 0 and self.sim._stopping.wait(seconds):
            raise _Abort

    def _stream(self, frames: r.StreamFrames, first_delay: float, gap: float) -> None:
        # Frames between waits are coalesced into one write: with no delays a whole stream
        # is a single syscall, which keeps benchmarks cheap.
        self._head(200, _STREAM_HEADERS, None)
        self._chunk(frames.preamble)
        if first_delay > 0:
            self._flush()
            self._wait(first_delay)
        self._chunk(frames.lead)
        for i, frame in enumerate(frames.tokens):
            if i and gap > 0:
                self._flush()
                self._wait(gap)
            self._chunk([frame])
        self._chunk(frames.tail)
        self.out.append(b"0\r\n\r\n")
        self._flush(final=True)

    # -- routing ----------------------------------------------------------------------------

    def _route(self, method: str, path: str, raw: bytes) -> None:
        api = path[3:] if path.startswith("/v1/") else path
        if api.startswith("/openai/deployments/"):
            # Azure OpenAI: /openai/deployments/{deployment}/chat/completions?api-version=...
            api = "/" + api.split("/", 4)[4] if api.count("/") >= 4 else api
        if method == "POST" and api in _GENERATORS:
            self.endpoint = _GENERATORS[api]
            self._generate(self.endpoint, self._json(raw))
        elif method == "GET" and api == "/models":
            self.endpoint = "models"
            self._send_json(200, r.models_list(self.sim._known_models()))
        elif method == "GET" and api.startswith("/models/"):
            name = api[len("/models/") :]
            if name in self.sim._known_models():
                self._send_json(200, r.dumps(r.model_object(name)))
            else:
                msg = f"The model '{name}' does not exist"
                self._send_json(404, r.error_body(msg, "invalid_request_error", "model_not_found"))
        elif api == "/_sim/config" and method in ("GET", "POST"):
            if method == "POST":
                try:
                    self.sim.apply_patch(self._json(raw))
                except ValueError as err:
                    raise _BadRequest(str(err), str(err).split(":", 1)[0]) from err
            self._send_json(200, r.dumps(self.sim.config.to_dict()))
        elif api == "/_sim/stats" and method in ("GET", "DELETE"):
            if method == "DELETE":
                self.sim.reset_stats()
            self._send_json(200, r.dumps(self.sim.stats()))
        else:
            msg = f"Invalid URL ({method} {path})"
            self._send_json(404, r.error_body(msg, "invalid_request_error"))

    def _json(self, raw: bytes) -> dict[str, Any]:
        try:
            body = json.loads(raw or b"{}")
        except ValueError as err:
            raise _BadRequest(f"We could not parse the JSON body of your request: {err}") from err
        if not isinstance(body, dict):
            raise _BadRequest("The request body must be a JSON object")
        return body

    # -- generation -------------------------------------------------------------------------

    def _generate(self, endpoint: str, body: dict[str, Any]) -> None:
        sim, cfg = self.sim, self.sim.config  # one config snapshot for the whole request
        ov = _overrides(self.headers)
        self.patch = ov.patch
        model = body.get("model")
        if "stream_options" in body and cfg.reject_stream_options:
            # As older Azure OpenAI API versions answered a field they did not know.
            raise _BadRequest("Unrecognized request argument supplied: stream_options",
                              "stream_options")  # fmt: skip
        if not isinstance(model, str) or not model:
            raise _BadRequest("you must provide a model parameter", "model")
        window = cfg.context_windows.get(model, cfg.default_context_window)

        inputs: list[tuple[str, int]] = []  # the embeddings' inputs
        if endpoint == "embeddings":
            given = r.embedding_inputs(body.get("input"))
            if given is None:
                raise _BadRequest("'input' must be a string or a non-empty array", "input")
            inputs = given
            prompt = max(n for _, n in inputs)  # the limit applies to each input
            wants_json = False
        elif endpoint == "chat.completions":
            prompt, wants_json = r.chat_prompt_tokens(body), r.wants_json(body, chat=True)
        else:
            prompt, wants_json = r.responses_prompt_tokens(body), r.wants_json(body, chat=False)

        error = sim._pick_error(cfg, ov.error, wants_json)
        if error is None and prompt > window:
            error = "context_length_exceeded"

        if error:
            self.outcome = error
        self._wait(ov.latency if ov.latency is not None else sim._latency(cfg))
        if error == "timeout":
            self._count_once("timeout")  # now, not after the long sleep
            self._wait(cfg.timeout_sleep_s)  # then answer normally, to whoever still listens
        elif error in HTTP_ERRORS:
            self._send_error_class(error, endpoint, cfg, model, prompt, window)
            return

        response_model = sim.response_model(cfg, model)
        if endpoint == "embeddings":
            as_b64 = body.get("encoding_format") == "base64"
            self.outcome = "ok"  # content_filter / malformed_json have no meaning here
            self._send_json(200, r.embeddings(response_model, inputs, cfg.embedding_dim, as_b64))
            return

        plan = self._plan(endpoint, body, cfg, ov, error, wants_json, prompt, response_model)
        first = cfg.first_chunk_delay_s if ov.first_chunk_delay is None else ov.first_chunk_delay
        gap = cfg.inter_chunk_s if ov.inter_chunk is None else ov.inter_chunk
        chat = endpoint == "chat.completions"
        if body.get("stream") is True:
            self._stream(r.chat_stream(plan) if chat else r.response_stream(plan), first, gap)
        else:
            # Take as long as the stream would have, so both modes show the same latency.
            self._wait(first + gap * max(len(plan.tokens) - 1, 0))
            self._send_json(200, r.chat_completion(plan) if chat else r.response(plan))

    def _plan(
        self,
        endpoint: str,
        body: dict[str, Any],
        cfg: SimulatorConfig,
        ov: _Overrides,
        error: str | None,
        wants_json: bool,
        prompt: int,
        response_model: str,
    ) -> r.Plan:
        n = ov.output_tokens if ov.output_tokens is not None else self.sim._draw_output(cfg)
        reasoning, finish = cfg.reasoning_tokens, "stop"
        if endpoint == "chat.completions":
            cap = _int_param(body, "max_completion_tokens", "max_tokens")
        else:
            cap = _int_param(body, "max_output_tokens")
        if cap is not None and n + reasoning > cap:
            reasoning = min(reasoning, cap)
            n, finish = cap - reasoning, "length"
        if error == "content_filter":
            n, finish = n // 2, "content_filter"
        malformed = error == "malformed_json"
        tokens = None
        if wants_json:
            schema = r.request_schema(body, chat=endpoint == "chat.completions")
            tokens = r.schema_tokens(schema, lambda: self.sim._score(cfg), malformed)
        if tokens is None:
            tokens = r.output_tokens(n, as_json=wants_json, malformed=malformed)
        stream_options = body.get("stream_options")
        return r.Plan(
            model=response_model,
            prompt_tokens=prompt,
            cached_tokens=int(prompt * cfg.cached_prompt_fraction),
            tokens=tokens,
            reasoning_tokens=reasoning,
            finish_reason=finish,
            include_usage=isinstance(stream_options, dict)
            and stream_options.get("include_usage") is True,
            request=body,
        )

    def _send_error_class(
        self, error: str, endpoint: str, cfg: SimulatorConfig, model: str, prompt: int, window: int
    ) -> None:
        if error == "rate_limit":
            msg = (
                f"Rate limit reached for {model} in organization org-simulator on requests per "
                f"min (RPM): Limit 500, Used 500, Requested 1. "
                f"Please try again in {_retry_after(cfg.retry_after_s)}s."
            )
            body = r.error_body(msg, "rate_limit_error", "rate_limit_exceeded")
            headers = (
                ("Retry-After", _retry_after(cfg.retry_after_s)),
                ("x-ratelimit-remaining-requests", "0"),
            )
            self._send_json(429, body, headers)
        elif error == "server_error":
            msg = "The server had an error while processing your request. Sorry about that!"
            self._send_json(500, r.error_body(msg, "server_error"))
        elif error == "auth":
            msg = (
                "Incorrect API key provided: sk-sim****. You can find your API key at "
                "https://platform.openai.com/account/api-keys."
            )
            self._send_json(401, r.error_body(msg, "invalid_request_error", "invalid_api_key"))
        else:  # context_length_exceeded
            if endpoint == "responses":
                msg, param = (
                    "Your input exceeds the context window of this model. "
                    "Please adjust your input and try again.",
                    "input",
                )
            else:
                msg = (
                    f"This model's maximum context length is {window} tokens. However, your "
                    f"messages resulted in {prompt} tokens. Please reduce the length of the "
                    "messages."
                )
                param = "messages" if endpoint == "chat.completions" else "input"
            body = r.error_body(msg, "invalid_request_error", "context_length_exceeded", param)
            self._send_json(400, body)


_GENERATORS = {
    "/chat/completions": "chat.completions",
    "/responses": "responses",
    "/embeddings": "embeddings",
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops SYNs under concurrent clients (1 s retransmit stalls);
    # the SDK also opens a fresh connection per stream, as it closes after [DONE].
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], sim: Simulator) -> None:
        self.sim = sim
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conn_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Unblock handler threads parked on idle keep-alive sockets."""
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, _Abort)):
            return  # a client hanging up is routine, not worth a traceback
        super().handle_error(request, client_address)


class Simulator:
    """An OpenAI-compatible HTTP server for tests, demos and benchmarks.

    >>> with Simulator(SimulatorConfig(output_tokens=5)) as sim:
    ...     client = openai.OpenAI(base_url=sim.base_url, api_key="x")
    """

    def __init__(
        self, config: SimulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self._config = config if config is not None else SimulatorConfig()
        self.host = host
        self._requested_port = port
        self._lock = threading.Lock()
        self._rng = random.Random(self._config.seed)
        self._stats: Counter[tuple[str, str]] = Counter()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def bind(self) -> Simulator:
        """Open the listening socket (start() and serve_forever() do it when needed)."""
        if self._server is None:
            self._stopping.clear()
            self._server = _Server((self.host, self._requested_port), self)
        return self

    def start(self) -> Simulator:
        """Serve in a daemon thread and return at once."""
        if self._thread is None:
            self.bind()
            assert self._server is not None
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},  # bounds how long stop() waits
                name=f"llm-simulator:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until stop() or KeyboardInterrupt."""
        self.bind()
        assert self._server is not None
        try:
            self._server.serve_forever(poll_interval=0.2)
        finally:
            self.stop()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes requests sleeping in a delay
        if self._thread is not None:
            server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        server.server_close()
        server.close_connections()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the simulator is not bound yet: call start()")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to pass to openai.OpenAI(base_url=...)."""
        return self.url + "/v1"

    # -- live configuration and stats -------------------------------------------------------

    @property
    def config(self) -> SimulatorConfig:
        return self._config

    def update(self, **knobs: Any) -> SimulatorConfig:
        """Merge knobs into the live config (see SimulatorConfig.merge); ValueError if bad."""
        return self.apply_patch(knobs)

    def apply_patch(self, patch: Mapping[str, Any]) -> SimulatorConfig:
        with self._lock:
            new = self._config.merge(patch)
            if "seed" in patch:
                self._rng.seed(new.seed)
            self._config = new  # swapped whole: requests in flight keep their snapshot
        return new

    def stats(self) -> dict[str, Any]:
        """{"total": N, "requests": {endpoint: {outcome: count}}}; outcome is "ok", an error
        class, "bad_request" or "disconnected"."""
        with self._lock:
            items = list(self._stats.items())
        out: dict[str, dict[str, int]] = {}
        for (endpoint, outcome), n in sorted(items):
            out.setdefault(endpoint, {})[outcome] = n
        return {"total": sum(n for _, n in items), "requests": out}

    def reset_stats(self) -> None:
        with self._lock:
            self._stats.clear()

    # -- helpers for the handler ------------------------------------------------------------

    def _count(self, endpoint: str, outcome: str) -> None:
        with self._lock:
            self._stats[(endpoint, outcome)] += 1

    def _known_models(self) -> set[str]:
        cfg = self._config
        return {*cfg.response_models, *cfg.context_windows, *cfg.model_switch} - {"*"}

    @staticmethod
    def response_model(cfg: SimulatorConfig, model: str) -> str:
        """The model name a response reports for a request model."""
        switched = cfg.model_switch.get(model) or cfg.model_switch.get("*")
        return switched or cfg.response_models.get(model, model)

    def _pick_error(self, cfg: SimulatorConfig, forced: str | None, wants_json: bool):
        if forced is not None:
            return forced or None
        if not cfg.error_rates:
            return None
        roll, acc = self._rng.random(), 0.0
        for cls in ERROR_CLASSES:
            acc += cfg.error_rates.get(cls, 0.0)
            if roll < acc:
                if cls == "malformed_json" and not (wants_json or cfg.malformed_json_any_request):
                    return None
                return cls
        return None

    def _latency(self, cfg: SimulatorConfig) -> float:
        jitter = cfg.latency_jitter_s
        if jitter:
            return cfg.latency_s + jitter * self._rng.lognormvariate(0.0, cfg.latency_sigma)
        return cfg.latency_s

    def _score(self, cfg: SimulatorConfig) -> float:
        value = self._rng.gauss(cfg.score, cfg.score_jitter) if cfg.score_jitter else cfg.score
        return min(1.0, max(0.0, value))

    def _draw_output(self, cfg: SimulatorConfig) -> int:
        n = cfg.output_tokens
        return self._rng.randint(*n) if isinstance(n, tuple) else n
