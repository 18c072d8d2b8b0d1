"""The HTTP endpoint: /metrics, /healthz and a landing page, optionally behind TLS and basic auth.

/metrics is prometheus_client's own WSGI app, so content negotiation (OpenMetrics when the
Accept header asks) and ``name[]`` filtering behave exactly as in the client library. Only gzip
is ours: prometheus_client compresses at level 9, and Prometheus asks for gzip on every scrape;
level 1 takes an eighth of the time for a body about a quarter larger (README, Scrape at scale).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import gzip
import html
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import gzip_accepted

from . import __version__
from .webconfig import WebConfig

DEFAULT_PORT = 9464
# A client that connects and then says nothing must not pin a thread forever: each read waits
# this long at most, and a whole request (read, answer, write) too, however slowly it drips.
CONNECTION_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 30.0
# Requests served at once (one thread each); more wait in the listen backlog, whose default of 5
# left parallel scrapes waiting a second or two for a SYN retry.
MAX_CONNECTIONS = 64
LISTEN_BACKLOG = 1024
GZIP_LEVEL = 1
# Every path answers the same methods: HEAD is GET without the body.
METHODS = ("GET", "HEAD", "OPTIONS")

StartResponse = Callable[..., Any]
Environ = dict[str, Any]


def parse_listen_address(address: str) -> tuple[str, int]:
    """``host:port``, ``:port`` (all interfaces) or ``[v6]:port``; raises ValueError."""
    host, sep, port_text = address.rpartition(":")
    if not sep:
        raise ValueError(f"expected host:port, got {address!r}")
    if host.startswith("[") or host.endswith("]") or ":" in host:
        # IPv6 only in brackets, as Go's net.SplitHostPort: '[::1:5' must not listen on port 5.
        inner = host[1:-1] if host.startswith("[") and host.endswith("]") else None
        try:
            ipaddress.IPv6Address(inner or "")
        except ValueError:
            raise ValueError(f"expected host:port or [IPv6]:port, got {address!r}") from None
        host = inner  # type: ignore[assignment]
    host = host or "0.0.0.0"
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"port must be a number, got {port_text!r}") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be 0..65535, got {port}")
    return host, port


def _landing_page(links: Iterable[tuple[str, str]]) -> bytes:
    items = "".join(
        f'<li><a href="{html.escape(href)}">{html.escape(href)}</a> {html.escape(text)}</li>'
        for href, text in links
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>llm-exporter</title></head>"
        f"<body><h1>llm-exporter {html.escape(__version__)}</h1>"
        "<p>Prometheus metrics for LLM applications and the GPUs under them.</p>"
        f"<ul>{items}</ul></body></html>"
    ).encode()


def make_app(registry: CollectorRegistry, web_config: WebConfig | None = None) -> Callable:
    """The WSGI application serving /, /metrics and /healthz."""
    config = web_config or WebConfig()
    metrics_app = make_wsgi_app(registry, disable_compression=True)
    landing = _landing_page([("/metrics", "metrics for Prometheus"), ("/healthz", "liveness")])
    extra_headers = list(config.headers.items())

    def respond(start: StartResponse, status: str, body: bytes, ctype: str) -> list[bytes]:
        headers = [("Content-Type", ctype), ("Content-Length", str(len(body))), *extra_headers]
        start(status, headers)
        return [body]

    def metrics(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        answer: list[Any] = []

        def capture(status: str, headers: list, exc_info: Any = None) -> None:
            answer[:] = [status, headers]

        body = b"".join(metrics_app(environ, capture))
        # prometheus_client's app sets no Content-Length (only Content-Type and, on OPTIONS or
        # other methods, Allow): the one below is the only one.
        status, headers = answer
        if (
            body
            and status.startswith("200")
            and gzip_accepted(environ.get("HTTP_ACCEPT_ENCODING", ""))
        ):
            body = gzip.compress(body, compresslevel=GZIP_LEVEL)
            headers.append(("Content-Encoding", "gzip"))
        start_response(status, [*headers, ("Content-Length", str(len(body))), *extra_headers])
        return [body]

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if config.auth_required and not _authorized(config, environ):
            body = b"Unauthorized\n"
            start_response(
                "401 Unauthorized",
                [("Content-Type", "text/plain"), ("Content-Length", str(len(body))),
                 ("WWW-Authenticate", 'Basic realm="llm-exporter"'), *extra_headers],
            )  # fmt: skip
            return [body]
        method = environ.get("REQUEST_METHOD", "GET")
        if method != "GET":
            allow = ("Allow", ", ".join(METHODS))
            if method == "OPTIONS":
                start_response("200 OK", [("Content-Length", "0"), allow, *extra_headers])
                return []
            if method != "HEAD":
                body = f"{method} not allowed; use {', '.join(METHODS)}\n".encode()
                start_response("405 Method Not Allowed",
                               [("Content-Type", "text/plain"), ("Content-Length", str(len(body))),
                                allow, *extra_headers])  # fmt: skip
                return [body]
            # HEAD: the GET's status and headers (Content-Length included), no body.
            b"".join(app({**environ, "REQUEST_METHOD": "GET"}, start_response))
            return []
        path = environ.get("PATH_INFO") or "/"
        if path == "/metrics":
            return metrics(environ, start_response)
        if path == "/healthz":
            return respond(start_response, "200 OK", b"ok\n", "text/plain; charset=utf-8")
        if path == "/":
            return respond(start_response, "200 OK", landing, "text/html; charset=utf-8")
        return respond(start_response, "404 Not Found", b"Not Found\n", "text/plain")

    return app


def _authorized(config: WebConfig, environ: Environ) -> bool:
    header = environ.get("HTTP_AUTHORIZATION", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return bool(sep) and config.check_basic_auth(user, password)


class _QuietHandler(WSGIRequestHandler):
    # Buffered: wsgiref writes the status line, each preamble header, the headers and the body
    # separately, one send() each on an unbuffered socket; buffered, the response leaves in
    # one or two.
    wbufsize = -1

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True  # rebinding after a restart; a port in use still fails
    request_queue_size = LISTEN_BACKLOG
    tls: ssl.SSLContext | None = None
    max_connections = MAX_CONNECTIONS
    request_timeout = REQUEST_TIMEOUT_S

    def server_activate(self) -> None:
        super().server_activate()
        self._slots = threading.BoundedSemaphore(self.max_connections)
        self._deadlines: dict[Any, float] = {}
        self._deadlines_lock = threading.Lock()
        self._closing = False

    def process_request(self, request: Any, client_address: Any) -> None:
        # At the cap, wait for a slot (the rest queue in the backlog), reaping the overdue.
        while not self._slots.acquire(timeout=0.25):
            self.service_actions()
            if self._closing:
                self.shutdown_request(request)
                return
        with self._deadlines_lock:
            self._deadlines[request] = time.monotonic() + self.request_timeout
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._release(request)
            raise

    def _release(self, request: Any) -> None:
        with self._deadlines_lock:
            if self._deadlines.pop(request, None) is not None:
                self._slots.release()

    def service_actions(self) -> None:
        """Run by serve_forever about twice a second: cut off requests past their deadline (a
        client dripping a byte at a time resets no per-read timeout here)."""
        now = time.monotonic()
        with self._deadlines_lock:
            overdue = [r for r, deadline in self._deadlines.items() if deadline <= now]
        for request in overdue:
            with contextlib.suppress(OSError):
                request.shutdown(socket.SHUT_RDWR)

    def close_connections(self) -> None:
        self._closing = True
        with self._deadlines_lock:
            for request in self._deadlines:
                self._deadlines[request] = 0.0
        self.service_actions()

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = super().get_request()
        conn.settimeout(CONNECTION_TIMEOUT_S)
        if self.tls is not None:
            # The handshake runs on the request thread, so one slow client cannot stall accept().
            conn = self.tls.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        return conn, addr

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            if isinstance(request, ssl.SSLSocket):
                try:
                    request.do_handshake()
                except (ssl.SSLError, OSError):
                    self.shutdown_request(request)
                    return
            super().process_request_thread(request, client_address)
        finally:
            self._release(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-response is routine for an exporter, not worth a traceback.
        pass


def _server_class(host: str) -> type[_ThreadingServer]:
    if ":" in host:
        return type("_ThreadingServer6", (_ThreadingServer,), {"address_family": socket.AF_INET6})
    return _ThreadingServer


class MetricsServer:
    """Binds on construction (so a busy port fails at once) and serves on a background thread."""

    def __init__(
        self,
        registry: CollectorRegistry,
        host: str = "0.0.0.0",
        port: int = DEFAULT_PORT,
        web_config: WebConfig | None = None,
    ) -> None:
        config = web_config or WebConfig()
        self._httpd = make_server(
            host, port, make_app(registry, config), _server_class(host), handler_class=_QuietHandler
        )
        self._httpd.tls = config.tls
        self.scheme = "https" if config.tls else "http"
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = str(self._httpd.server_address[0])  # a TCP server's: always a string
        host = f"[{host}]" if ":" in host else host
        if host in ("0.0.0.0", "[::]"):
            host = "localhost"
        return f"{self.scheme}://{host}:{self.port}"

    def start(self) -> MetricsServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="llm-exporter-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.close_connections()
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> MetricsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
