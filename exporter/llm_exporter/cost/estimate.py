"""``llm-exporter estimate``: what a prompt change will cost, before it ships.

    llm-exporter estimate --inputs samples.jsonl --current prompt.txt --candidate prompt-v2.txt \\
        --model gpt-4o-mini --monthly-requests 3000000 --max-increase 20

Each input (a JSON object per line; the first ``--limit``, 100 by default) fills both prompt
templates, and both versions are sent to the endpoint: the project's simulator, started in this
process, unless an API key is set (OPENAI_API_KEY, with ``--base-url`` for another
OpenAI-compatible provider). The tokens the endpoint reports are priced from the model table, and
the report gives tokens and cost per request for each version, the difference, and the monthly
effect at ``--monthly-requests``. With ``--max-increase`` the command exits 1 when the cost per
request rises by more than that many percent, so CI can gate a prompt change.

Templates are text files with ``{{ name }}`` placeholders, filled from the input's keys (strings
as they are, other values as JSON); the text is one user message. A ``.json``/``.yaml`` template
holds ``messages: [{role, content}, ...]``, each content a template. Braces otherwise stay as
written, so JSON examples in a prompt need no escaping.

The simulator counts prompt tokens deterministically (words plus a fixed overhead per message)
and answers ``--max-output-tokens`` tokens (100 by default) to either version: its input figures
are exact for its token rule, its output figures a placeholder. A real provider's are real.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..errortypes import AUTH, CONNECTION, classify_any
from ..pricing import ModelInfo
from ..yamlfile import parse_yaml

CURRENT, CANDIDATE = "current", "candidate"
VERSIONS = (CURRENT, CANDIDATE)
SIMULATOR_OUTPUT_TOKENS = 100
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")
_ROLES = ("system", "developer", "user", "assistant")


# -- templates ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    source: str
    messages: tuple[tuple[str, str], ...]  # (role, content with placeholders)

    @cached_property  # read for every input
    def variables(self) -> list[str]:
        names = (m.group(1) for _, text in self.messages for m in _PLACEHOLDER.finditer(text))
        return list(dict.fromkeys(names))

    def missing(self, values: dict[str, Any]) -> str | None:
        """The first placeholder ``values`` does not fill, or None."""
        return next((name for name in self.variables if name not in values), None)

    def render(self, values: dict[str, Any]) -> list[dict[str, str]]:
        def fill(match: re.Match[str]) -> str:
            value = values[match.group(1)]
            return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

        return [{"role": role, "content": _PLACEHOLDER.sub(fill, text)}
                for role, text in self.messages]  # fmt: skip


def load_template(path: Path, flag: str) -> Template:
    source = str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ConfigError(source, None, f"cannot read {flag}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(source, None, f"the {flag} template is not UTF-8 text (byte "
                          f"{exc.start})") from None  # fmt: skip
    if path.suffix.lower() not in (".json", ".yaml", ".yml"):
        if not text.strip():
            raise ConfigError(source, None, f"the {flag} template is empty")
        return Template(source, (("user", text),))
    data = parse_yaml(text, source)  # YAML reads JSON too
    messages = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(messages, list) or not messages:
        raise ConfigError(source, "messages", "expected a list of {role, content} messages")
    parsed = []
    for i, message in enumerate(messages):
        key = f"messages[{i}]"
        if not isinstance(message, dict) or set(message) != {"role", "content"}:
            raise ConfigError(source, key, "expected a mapping with role and content")
        if message["role"] not in _ROLES or not isinstance(message["content"], str):
            roles = ", ".join(_ROLES)
            raise ConfigError(source, key, f"role must be one of {roles}, content a string")
        parsed.append((message["role"], message["content"]))
    return Template(source, tuple(parsed))


# -- inputs -------------------------------------------------------------------------------------


@dataclass
class Inputs:
    source: str
    samples: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (line, object)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, why)
    last_line: int = 0


def read_inputs(path: Path, limit: int) -> Inputs:
    """The first ``limit`` JSON objects of a JSONL file. A malformed line is skipped and noted
    with its number; blank lines are ignored."""
    inputs = Inputs(str(path))
    try:
        handle = path.open(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ConfigError(str(path), None, f"cannot read --inputs: {exc.strerror or exc}") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if len(inputs.samples) >= limit:
                break
            inputs.last_line = number
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError as exc:  # a 5000-digit integer is a ValueError without .msg
                inputs.skipped.append((number, f"not valid JSON ({getattr(exc, 'msg', exc)})"))
                continue
            except RecursionError:
                inputs.skipped.append((number, "not valid JSON (nested too deeply)"))
                continue
            if not isinstance(value, dict):
                inputs.skipped.append((number, f"expected a JSON object, got {_kind(value)}"))
                continue
            inputs.samples.append((number, value))
    if not inputs.samples:
        raise ConfigError(str(path), None, "no usable input: expected one JSON object per line")
    return inputs


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def check_variables(inputs: Inputs, templates: dict[str, Template]) -> None:
    """Every input fills every placeholder of both templates; else one ConfigError naming the
    line, the variable and the template."""
    for number, values in inputs.samples:
        for template in templates.values():
            name = template.missing(values)
            if name is not None:
                raise ConfigError(inputs.source, f"line {number}",
                                  f"template variable {name!r} of {template.source} is missing "
                                  "from the input")  # fmt: skip


# -- sending and pricing ------------------------------------------------------------------------


@dataclass
class Totals:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0

    def per_request(self, attr: str) -> float:
        return getattr(self, attr) / self.requests if self.requests else 0.0


@dataclass
class Estimate:
    model: str
    endpoint: str
    inputs: Inputs
    totals: dict[str, Totals]
    failed: Counter = field(default_factory=Counter)  # error class -> inputs left out

    @property
    def cost_change(self) -> float:
        """Relative change of the cost per request (0.25 = +25%); inf from a cost of 0."""
        return _change(self.totals[CURRENT].per_request("cost"),
                       self.totals[CANDIDATE].per_request("cost"))  # fmt: skip


Send = Callable[[list[dict[str, str]]], tuple[int, int, int]]  # -> input, output, cached


def run(
    send: Send,
    price: ModelInfo,
    model: str,
    endpoint: str,
    inputs: Inputs,
    templates: dict[str, Template],
    concurrency: int = 4,
    progress: Callable[[int], None] | None = None,
    fatal: Callable[[BaseException], BaseException | None] = lambda exc: None,
) -> Estimate:
    """Send both versions of every input; inputs where either request failed are left out of
    both versions, so the two stay comparable. ``fatal(exc)`` may turn an error into one that
    stops everything (a refused key)."""

    def one(messages: list[dict[str, str]]) -> tuple[int, int, int] | str:
        try:
            return send(messages)
        except Exception as exc:  # an endpoint's error: counted, unless fatal
            stop = fatal(exc)
            if stop is not None:
                raise stop from None
            return classify_any(exc)

    results: dict[tuple[int, str], tuple[int, int, int] | str] = {}
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = {pool.submit(one, templates[version].render(values)): (number, version)
                   for number, values in inputs.samples for version in VERSIONS}  # fmt: skip
        try:
            for done in as_completed(futures):
                results[futures[done]] = done.result()
                if progress is not None:
                    progress(1)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    estimate = Estimate(model, endpoint, inputs, {v: Totals() for v in VERSIONS})
    for number, _ in inputs.samples:
        pair = [results[(number, v)] for v in VERSIONS]
        errors = [r for r in pair if isinstance(r, str)]
        counts = [r for r in pair if not isinstance(r, str)]
        if errors:
            estimate.failed[errors[0]] += 1
            continue
        for version, (input_tokens, output_tokens, cached) in zip(VERSIONS, counts, strict=True):
            totals = estimate.totals[version]
            totals.requests += 1
            totals.input_tokens += input_tokens
            totals.output_tokens += output_tokens
            totals.cost += price.cost(input_tokens, output_tokens, cached)
    return estimate


def chat_sender(client: Any, model: str, max_output_tokens: int | None) -> Send:
    """One chat completion per call, through the openai SDK; its usage block's tokens."""
    extra = {"max_tokens": max_output_tokens} if max_output_tokens else {}

    def send(messages: list[dict[str, str]]) -> tuple[int, int, int]:
        reply = client.chat.completions.create(model=model, messages=messages, **extra)
        usage = reply.usage
        if usage is None:
            raise ValueError("the endpoint's answer carries no usage block")
        details = getattr(usage, "prompt_tokens_details", None)
        cached = getattr(details, "cached_tokens", None) or 0
        return usage.prompt_tokens, usage.completion_tokens, cached

    return send


# -- the report ---------------------------------------------------------------------------------


def summary_lines(inputs: Inputs) -> Iterator[str]:
    """The skipped lines, one each, then what was used."""
    for number, why in inputs.skipped:
        yield f"{inputs.source}: line {number} skipped: {why}"
    skipped = len(inputs.skipped)
    lines = f"{skipped} malformed line{'s' if skipped != 1 else ''} skipped"
    yield (f"{inputs.source}: {len(inputs.samples)} inputs used from lines 1-{inputs.last_line}"
           f"{'; ' + lines if skipped else ''}")  # fmt: skip


def report(estimate: Estimate, monthly_requests: int) -> str:
    current, candidate = estimate.totals[CURRENT], estimate.totals[CANDIDATE]
    rows = [("", CURRENT, CANDIDATE, "change")]
    for label, attr, fmt in (("input tokens/request", "input_tokens", "{:,.1f}"),
                             ("output tokens/request", "output_tokens", "{:,.1f}"),
                             ("cost/request (USD)", "cost", "{:,.6f}")):  # fmt: skip
        before, after = current.per_request(attr), candidate.per_request(attr)
        rows.append((label, fmt.format(before), fmt.format(after),
                     f"{_signed(fmt, after - before)} ({_percent(before, after)})"))  # fmt: skip
    month_before = current.per_request("cost") * monthly_requests
    month_after = candidate.per_request("cost") * monthly_requests
    monthly = _signed("{:,.2f}", month_after - month_before)
    rows.append((f"monthly at {monthly_requests:,} requests (USD)", f"{month_before:,.2f}",
                 f"{month_after:,.2f}", monthly))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"model {estimate.model} on {estimate.endpoint}; {current.requests} inputs"]
    if estimate.failed:
        left = ", ".join(f"{cls} {n}" for cls, n in estimate.failed.most_common())
        lines[0] += f" ({sum(estimate.failed.values())} left out, a request failed: {left})"
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def as_json(estimate: Estimate, monthly_requests: int) -> str:
    versions = {
        version: {
            "requests": t.requests,
            "input_tokens": t.input_tokens,
            "output_tokens": t.output_tokens,
            "input_tokens_per_request": t.per_request("input_tokens"),
            "output_tokens_per_request": t.per_request("output_tokens"),
            "cost_per_request_usd": t.per_request("cost"),
            "monthly_cost_usd": t.per_request("cost") * monthly_requests,
        }
        for version, t in estimate.totals.items()
    }
    change = estimate.cost_change
    return json.dumps({
        "model": estimate.model,
        "endpoint": estimate.endpoint,
        "inputs_used": len(estimate.inputs.samples),
        "lines_skipped": [number for number, _ in estimate.inputs.skipped],
        "failed": dict(estimate.failed),
        "monthly_requests": monthly_requests,
        **versions,
        "cost_change_ratio": None if math.isinf(change) else change,
    }, indent=2) + "\n"  # fmt: skip


def fatal_endpoint_error(exc: BaseException, endpoint: str, model: str) -> Exception | None:
    """Errors no other request will get past: a refused key, an unknown model, no endpoint at
    all. A timeout, a 429 or a 5xx fails only its own request."""
    import openai

    if isinstance(exc, openai.NotFoundError):
        return ConfigError("--model", None, f"{endpoint} does not know model {model!r}")
    error_class = classify_any(exc)  # a timeout is a connection error too: classify's order
    if error_class == AUTH:
        return ConfigError(endpoint, None, f"the endpoint refused the API key "
                           f"({getattr(exc, 'status_code', exc)})")  # fmt: skip
    if error_class == CONNECTION:
        return ConfigError(endpoint, None, f"cannot connect: {exc}")
    return None


def _signed(fmt: str, value: float) -> str:
    return ("+" if value >= 0 else "-") + fmt.format(abs(value))


def _change(before: float, after: float) -> float:
    """after relative to before (0.25 = +25%); 0 from 0 to 0, inf from 0 to more."""
    if before == 0:
        return 0.0 if after == 0 else math.inf
    return after / before - 1


def _percent(before: float, after: float) -> str:
    if before == 0:
        return "n/a" if after == 0 else "new"
    return f"{_change(before, after) * 100:+.1f}%"
