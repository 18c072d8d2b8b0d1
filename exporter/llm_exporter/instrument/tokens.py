"""Token estimates for responses that carry no usage block. tiktoken where it is installed and
its encoding is available offline; otherwise about four characters a token. Always reported as
estimated."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=64)
def _encoder(model: str) -> Callable[[str], int] | None:
    try:
        import tiktoken

        try:
            enc = tiktoken.encoding_for_model(model)
        except KeyError:
            enc = tiktoken.get_encoding("o200k_base")
        enc.encode("warm up")  # fails here, not per call, when the encoding cannot be loaded
    except Exception:
        return None
    return lambda text: len(enc.encode(text, disallowed_special=()))


def count_tokens(text: str, model: str) -> int:
    if not text:
        return 0
    encode = _encoder(model)
    if encode is not None:
        return encode(text)
    return max(1, (len(text) + 3) // 4)


def request_text(body: dict[str, Any]) -> str:
    """The text a request sends: chat messages, responses input, or embeddings input."""
    parts: list[str] = []
    for message in body.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        _collect(content, parts)
    _collect(body.get("instructions"), parts)
    _collect(body.get("input"), parts)
    return "\n".join(parts)


def _collect(value: Any, parts: list[str]) -> None:
    if isinstance(value, str):
        parts.append(value)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                parts.append(item)
            elif isinstance(item, dict):
                _collect(item.get("text") or item.get("content"), parts)
