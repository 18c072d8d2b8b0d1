"""`llm-exporter estimate` against the simulator: exact token differences for a known template
change, the monthly effect, the CI gate's exit code, and bad input (a malformed JSONL line, a
missing template variable, an unpriced model) reported as the issue asks."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import httpx
import openai
import pytest

from llm_exporter.cost import estimate as est
from llm_exporter.errors import ConfigError
from llm_exporter.pricing import ModelTable
from llm_exporter.simulator import PER_MESSAGE_TOKENS, Simulator, SimulatorConfig

from .conftest import EXE, free_port

CURRENT = "Answer the question briefly: {{question}}\n"  # 5 words + the question's
ADDED = "You are a friendly support agent for a bookshop. Cite the return policy where it applies."
CANDIDATE = f"{ADDED}\n{CURRENT}"  # 16 more words a request
QUESTIONS = ("Where is my order?", "Can I return a paperback after thirty days?",
             "Do you ship to Canada?", "Is Piranesi in stock?", "Hello")  # fmt: skip
PRICE = ModelTable.load().lookup("gpt-4o-mini")


def words(text: str) -> int:
    return len(text.split())


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "current.txt").write_text(CURRENT)
    (tmp_path / "candidate.txt").write_text(CANDIDATE)
    lines = [json.dumps({"question": q, "locale": "en"}) for q in QUESTIONS]
    lines.insert(2, '{"question": "unterminated')  # line 3
    lines.insert(4, '["not", "an", "object"]')  # line 5
    lines.insert(6, "")  # line 7, blank: ignored
    (tmp_path / "inputs.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path


def estimate(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}  # the simulator
    return subprocess.run(
        [*EXE, "estimate", "--inputs", str(folder / "inputs.jsonl"), "--current",
         str(folder / "current.txt"), "--candidate", str(folder / "candidate.txt"), *args],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip


def test_exact_token_differences_and_the_monthly_effect(files: Path) -> None:
    result = estimate(files, "--json", "--max-output-tokens", "20", "--monthly-requests",
                      "2000000", "--max-increase", "1000")  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    # The simulator's rule: words of every message plus PER_MESSAGE_TOKENS per message.
    current_in = [words(CURRENT.replace("{{question}}", q)) + PER_MESSAGE_TOKENS
                  for q in QUESTIONS]  # fmt: skip
    mean = sum(current_in) / len(QUESTIONS)
    current, candidate = report["current"], report["candidate"]
    assert current["requests"] == candidate["requests"] == len(QUESTIONS) == report["inputs_used"]
    assert current["input_tokens_per_request"] == mean
    assert current["input_tokens"] == sum(current_in)
    assert candidate["input_tokens"] - current["input_tokens"] == 5 * words(ADDED) == 5 * 16
    assert current["output_tokens_per_request"] == candidate["output_tokens_per_request"] == 20
    cost = sum(PRICE.cost(n, 20) for n in current_in) / len(QUESTIONS)
    more = sum(PRICE.cost(n + 16, 20) for n in current_in) / len(QUESTIONS)
    assert current["cost_per_request_usd"] == pytest.approx(cost)
    assert candidate["monthly_cost_usd"] == pytest.approx(more * 2_000_000)
    assert report["cost_change_ratio"] == pytest.approx(more / cost - 1)
    # The malformed lines are skipped with their numbers; the summary says what was used.
    assert report["lines_skipped"] == [3, 5]
    err = result.stderr
    assert "inputs.jsonl: line 3 skipped: not valid JSON" in err
    assert "inputs.jsonl: line 5 skipped: expected a JSON object, got an array" in err
    assert "inputs.jsonl: 5 inputs used from lines 1-8; 2 malformed lines skipped" in err


def test_the_gate_exits_1_past_max_increase(files: Path) -> None:
    # 16 more input tokens on about 12, beside 100 output tokens: +3.9%.
    result = estimate(files, "--max-increase", "2", "--limit", "2")
    assert result.returncode == 1, result.stderr
    assert "model gpt-4o-mini on the simulator; 2 inputs" in result.stdout
    assert "input tokens/request" in result.stdout and "+16.0 (" in result.stdout
    assert "monthly at 1,000,000 requests (USD)" in result.stdout
    (last,) = result.stderr.strip().splitlines()[-1:]
    assert last.startswith("llm-exporter: cost per request +") and "over --max-increase 2%" in last


def test_a_missing_variable_or_price_is_one_line_exit_2(files: Path) -> None:
    (files / "candidate.txt").write_text("{{question}} for {{product}}")
    result = estimate(files)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"llm-exporter: error: {files / 'inputs.jsonl'}: line 1: template variable 'product' of "
        f"{files / 'candidate.txt'} is missing from the input"
    ]
    (files / "candidate.txt").write_text(CANDIDATE)
    result = estimate(files, "--model", "llama-3.1-8b-instruct")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "llm-exporter: error: --model: 'llama-3.1-8b-instruct' has no price in the model table "
        "(give one with --models FILE)"
    )


def test_message_templates_and_the_api(tmp_path: Path) -> None:
    """A YAML template of messages, through the module's own API: each message adds its
    overhead, and inputs whose request failed are left out of both versions."""
    path = tmp_path / "candidate.yaml"
    path.write_text("messages:\n  - {role: system, content: 'Reply in {{ locale }}, politely.'}\n"
                    "  - {role: user, content: '{{question}}'}\n")  # fmt: skip
    candidate = est.load_template(path, "--candidate")
    assert candidate.variables == ["locale", "question"]
    (tmp_path / "current.txt").write_text("{{question}}")
    templates = {est.CURRENT: est.load_template(tmp_path / "current.txt", "--current"),
                 est.CANDIDATE: candidate}  # fmt: skip
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text("".join(json.dumps({"question": q, "locale": "en"}) + "\n"
                              for q in QUESTIONS))  # fmt: skip
    samples = est.read_inputs(inputs, limit=3)
    assert [n for n, _ in samples.samples] == [1, 2, 3]
    with Simulator(SimulatorConfig(output_tokens=8)) as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="sim", max_retries=0)
        send = est.chat_sender(client, "gpt-4o-mini", None)
        calls = []

        def flaky(messages: list[dict[str, str]]) -> tuple[int, int, int]:
            calls.append(messages)
            if "Canada" in messages[-1]["content"] and len(messages) == 2:
                raise openai.RateLimitError("slow down", response=_response(429), body=None)
            return send(messages)

        result = est.run(flaky, PRICE, "gpt-4o-mini", "the simulator", samples, templates)
    assert len(calls) == 6
    assert result.failed == {"rate_limit": 1}  # the third input, left out of both versions
    used = QUESTIONS[:2]
    current = sum(words(q) + PER_MESSAGE_TOKENS for q in used) / 2
    assert result.totals[est.CURRENT].per_request("input_tokens") == current
    # "Reply in en, politely." is 4 words, plus one more message's overhead.
    assert result.totals[est.CANDIDATE].per_request("input_tokens") == (
        current + 4 + PER_MESSAGE_TOKENS
    )
    assert result.totals[est.CANDIDATE].per_request("output_tokens") == 8


def test_only_a_refused_key_an_unknown_model_or_no_endpoint_stops_the_run(tmp_path: Path) -> None:
    """A timeout fails its own request (it is an APIConnectionError too, so the order of the
    checks matters); a refused key, an unknown model or no endpoint stops the run."""
    request = httpx.Request("POST", "http://sim/v1/chat/completions")
    (tmp_path / "t.txt").write_text("{{question}}")
    template = est.load_template(tmp_path / "t.txt", "--current")
    templates = {est.CURRENT: template, est.CANDIDATE: template}
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"question": q}) + "\n"
                                               for q in QUESTIONS))  # fmt: skip
    samples = est.read_inputs(tmp_path / "in.jsonl", limit=10)

    def fatal(exc: BaseException) -> BaseException | None:
        return est.fatal_endpoint_error(exc, "the endpoint", "gpt-4o-mini")

    def failing(error: Exception) -> est.Send:
        def send(messages: list[dict[str, str]]) -> tuple[int, int, int]:
            if "Canada" in messages[-1]["content"]:
                raise error
            return 10, 5, 0

        return send

    result = est.run(failing(openai.APITimeoutError(request)), PRICE, "gpt-4o-mini",
                     "the endpoint", samples, templates, fatal=fatal)  # fmt: skip
    assert result.failed == {"timeout": 1}
    assert result.totals[est.CURRENT].requests == len(QUESTIONS) - 1
    stops = {
        "cannot connect": openai.APIConnectionError(request=request),
        "refused the API key (401)": openai.AuthenticationError("no", response=_response(401),
                                                                 body=None),
        "does not know model 'gpt-4o-mini'": openai.NotFoundError("no", response=_response(404),
                                                                   body=None),
    }  # fmt: skip
    for message, error in stops.items():
        with pytest.raises(ConfigError, match=re.escape(message)):
            est.run(failing(error), PRICE, "gpt-4o-mini", "the endpoint", samples, templates,
                    fatal=fatal)  # fmt: skip


def test_no_endpoint_is_one_line_exit_2(files: Path) -> None:
    env = {**os.environ, "OPENAI_API_KEY": "sk-test"}
    result = subprocess.run(
        [*EXE, "estimate", "--inputs", str(files / "inputs.jsonl"), "--current",
         str(files / "current.txt"), "--candidate", str(files / "candidate.txt"),
         "--base-url", f"http://127.0.0.1:{free_port()}/v1"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("llm-exporter: error: http://127.0.0.1:") and "cannot connect" in last
    assert "Traceback" not in result.stderr


def _response(status: int) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("POST", "http://sim/v1/chat/completions"))
