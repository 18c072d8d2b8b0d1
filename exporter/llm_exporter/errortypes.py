"""The bounded ``error_type`` label values, and the classifier for any exception.

LLM calls, tool calls, agent runs and pipeline stages share one vocabulary, so a dashboard's
"errors by class" means the same on every panel. ``classify_any`` looks at openai and httpx
exceptions only when those libraries are already imported (an exception cannot come from a
library that was never loaded), so the agent and tool helpers stay light to import.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys

TIMEOUT = "timeout"
RATE_LIMIT = "rate_limit"
SERVER_ERROR = "server_error"
AUTH = "auth"
BAD_REQUEST = "bad_request"
CONTEXT_LENGTH = "context_length_exceeded"
CONTENT_FILTER = "content_filter"
CONNECTION = "connection"
CANCELLED = "cancelled"
OUTPUT_PARSE = "output_parse"

# What other producers write in error.type for the same failures. OpenLIT and the OpenTelemetry
# instrumentations write the exception's class name (openai's and anthropic's SDKs share these
# names), some an HTTP status code. The rule pack reads these as the class they stand for (the
# thresholds file's producers.error_type_aliases); a 400 they cannot tell apart stays bad_request.
FOREIGN_NAMES: dict[str, tuple[str, ...]] = {
    TIMEOUT: ("APITimeoutError", "TimeoutError", "ReadTimeout", "WriteTimeout", "ConnectTimeout",
              "PoolTimeout", "408"),
    RATE_LIMIT: ("RateLimitError", "429"),
    SERVER_ERROR: ("InternalServerError", "ServiceUnavailableError", "OverloadedError",
                   "APIError", "500", "502", "503", "504", "529"),
    AUTH: ("AuthenticationError", "PermissionDeniedError", "401", "403"),
    BAD_REQUEST: ("BadRequestError", "NotFoundError", "ConflictError", "UnprocessableEntityError",
                  "400", "404", "409", "422"),
    CONTEXT_LENGTH: (),
    CONTENT_FILTER: ("ContentFilterFinishReasonError",),
    CONNECTION: ("APIConnectionError", "ConnectError", "RemoteProtocolError", "ConnectionError"),
    CANCELLED: ("CancelledError", "KeyboardInterrupt", "GeneratorExit"),
    OUTPUT_PARSE: ("LengthFinishReasonError", "JSONDecodeError", "ValidationError"),
}  # fmt: skip

# On Python 3.10 the asyncio and futures timeouts are not yet TimeoutError.
_TIMEOUTS = (TimeoutError, asyncio.TimeoutError, concurrent.futures.TimeoutError)


def classify_any(exc: BaseException) -> str:
    """The error class of an exception raised by application code, a tool or the SDK."""
    openai = sys.modules.get("openai")
    if openai is not None and isinstance(exc, openai.OpenAIError):
        from .instrument.classify import classify

        return classify(exc)
    if isinstance(exc, _TIMEOUTS):
        return TIMEOUT
    if isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt)):
        return CANCELLED
    if isinstance(exc, ConnectionError):
        return CONNECTION
    httpx = sys.modules.get("httpx")
    if httpx is not None:
        if isinstance(exc, httpx.TimeoutException):
            return TIMEOUT
        if isinstance(exc, httpx.TransportError):
            return CONNECTION
        if isinstance(exc, httpx.HTTPStatusError):
            status = exc.response.status_code
            if status == 429:
                return RATE_LIMIT
            return SERVER_ERROR if status >= 500 else BAD_REQUEST
    return type(exc).__qualname__
