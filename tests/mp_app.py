"""A WSGI app for the gunicorn test: each request to /call makes one instrumented openai call
against the simulator at $SIM_URL and answers the usage it got; /metrics merges every worker's
files (multiprocess mode, PROMETHEUS_MULTIPROC_DIR set by the test)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any

import openai

from llm_exporter import instrument_openai, multiprocess
from llm_exporter.server import make_app

client = openai.OpenAI(base_url=os.environ["SIM_URL"], api_key="sim", max_retries=0)
instrument_openai(client)
metrics_app = make_app(multiprocess.registry())
MESSAGES = [{"role": "user", "content": "how many workers does this app run"}]


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == "/metrics":
        return metrics_app(environ, start_response)
    resp = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    body = json.dumps({"pid": os.getpid(), "input": resp.usage.prompt_tokens,
                       "output": resp.usage.completion_tokens}).encode()  # fmt: skip
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])  # fmt: skip
    return [body]
