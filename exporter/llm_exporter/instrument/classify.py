"""Maps an exception (or a response field) to the bounded ``error_type`` label.

Classes come from the SDK's exception types and the error body's ``code``, never from message text.
"""

from __future__ import annotations

import asyncio
import json

import openai

from ..errortypes import (
    AUTH,
    BAD_REQUEST,
    CANCELLED,
    CONNECTION,
    CONTENT_FILTER,
    CONTEXT_LENGTH,
    OUTPUT_PARSE,
    RATE_LIMIT,
    SERVER_ERROR,
    TIMEOUT,
)

_CONTENT_FILTER_CODES = frozenset({"content_filter", "content_policy_violation"})

try:  # pydantic is the SDK's own dependency; its ValidationError is what .parse() raises.
    from pydantic import ValidationError as _ValidationError
except ImportError:  # pragma: no cover
    _ValidationError = ValueError  # type: ignore[misc,assignment]


def classify(exc: BaseException) -> str:
    # Order matters: APITimeoutError is an APIConnectionError, RateLimitError an APIStatusError.
    if isinstance(exc, openai.APITimeoutError):
        return TIMEOUT
    if isinstance(exc, openai.APIConnectionError):
        return CONNECTION
    if isinstance(exc, openai.APIStatusError):
        return _classify_status(exc)
    if isinstance(exc, openai.ContentFilterFinishReasonError):
        return CONTENT_FILTER
    if isinstance(exc, (openai.LengthFinishReasonError, json.JSONDecodeError, _ValidationError)):
        return OUTPUT_PARSE
    if isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt, GeneratorExit)):
        return CANCELLED
    if isinstance(exc, openai.APIError):
        # An error event inside a stream: the provider failed after answering 200.
        return SERVER_ERROR
    return type(exc).__qualname__


def _classify_status(exc: openai.APIStatusError) -> str:
    status = exc.status_code
    if status == 429:
        return RATE_LIMIT
    if status >= 500:
        return SERVER_ERROR
    if status in (401, 403):
        return AUTH
    if status == 408:
        return TIMEOUT
    code = getattr(exc, "code", None)
    if not isinstance(code, str):  # a provider's error body may hold anything here
        return BAD_REQUEST
    if code == CONTEXT_LENGTH:
        return CONTEXT_LENGTH
    if code in _CONTENT_FILTER_CODES:
        return CONTENT_FILTER
    return BAD_REQUEST
