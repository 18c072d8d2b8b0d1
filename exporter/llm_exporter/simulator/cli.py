"""Thin argparse front end: flags become a config patch, then the server runs in the foreground."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .config import ERROR_CLASSES, SimulatorConfig, parse_output_tokens
from .server import Simulator


def parse_assignments(items: Sequence[str], knob: str, convert: Callable[[str], Any]) -> dict:
    """["k=v", ...] -> {k: convert(v)}; ValueError naming the knob on a malformed item."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{knob}: expected KEY=VALUE, got {item!r}")
        try:
            out[key] = convert(value)
        except ValueError as err:
            raise ValueError(f"{knob}[{key!r}]: {err}") from err
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m llm_exporter.simulator",
        description="Serve an OpenAI-compatible API simulator in the foreground.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on start)")
    p.add_argument("--config", metavar="FILE", help="JSON object of knobs, applied first")
    p.add_argument("--latency", type=float, dest="latency_s", metavar="S")
    p.add_argument("--latency-jitter", type=float, dest="latency_jitter_s", metavar="S")
    p.add_argument("--latency-sigma", type=float, dest="latency_sigma", metavar="SIGMA")
    p.add_argument("--seed", type=int)
    p.add_argument("--first-chunk-delay", type=float, dest="first_chunk_delay_s", metavar="S")
    p.add_argument("--inter-chunk", type=float, dest="inter_chunk_s", metavar="S")
    p.add_argument("--output-tokens", metavar="N|MIN-MAX")
    p.add_argument("--reasoning-tokens", type=int)
    p.add_argument("--cached-fraction", type=float, dest="cached_prompt_fraction")
    p.add_argument("--embedding-dim", type=int)
    p.add_argument("--retry-after", type=float, dest="retry_after_s", metavar="S")
    p.add_argument("--timeout-sleep", type=float, dest="timeout_sleep_s", metavar="S")
    p.add_argument(
        "--error",
        action="append",
        default=[],
        metavar="CLASS=P",
        help=f"error probability per request; CLASS in {', '.join(ERROR_CLASSES)}",
    )
    p.add_argument("--model-switch", action="append", default=[], metavar="FROM=TO")
    p.add_argument("--context-window", action="append", default=[], metavar="MODEL=TOKENS")
    p.add_argument("--malformed-json-any-request", action="store_true", default=None)
    p.add_argument("--reject-stream-options", action="store_true", default=None,
                   help="answer 400 to requests with stream_options, as older Azure OpenAI "
                   "API versions did")  # fmt: skip
    p.add_argument(
        "--score",
        type=float,
        metavar="0..1",
        help="mean of the numbers in JSON-schema answers (a judge's scores)",
    )
    p.add_argument("--score-jitter", type=float, metavar="SD")
    return p


_SCALARS = (
    "latency_s",
    "latency_jitter_s",
    "latency_sigma",
    "seed",
    "first_chunk_delay_s",
    "inter_chunk_s",
    "reasoning_tokens",
    "cached_prompt_fraction",
    "embedding_dim",
    "retry_after_s",
    "timeout_sleep_s",
    "malformed_json_any_request",
    "reject_stream_options",
    "score",
    "score_jitter",
)


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    config = SimulatorConfig()
    if args.config:
        with open(args.config, encoding="utf-8") as f:
            config = config.merge(json.load(f))
    patch: dict[str, Any] = {k: getattr(args, k) for k in _SCALARS if getattr(args, k) is not None}
    if args.output_tokens is not None:
        patch["output_tokens"] = parse_output_tokens(args.output_tokens)
    if args.error:
        patch["error_rates"] = parse_assignments(args.error, "error_rates", float)
    if args.model_switch:
        patch["model_switch"] = parse_assignments(args.model_switch, "model_switch", str)
    if args.context_window:
        patch["context_windows"] = parse_assignments(args.context_window, "context_windows", int)
    return config.merge(patch)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except (OSError, ValueError) as err:
        parser.error(str(err))
    try:
        sim = Simulator(config, host=args.host, port=args.port).bind()
    except OSError as err:
        # A busy port is one line, like serve's, not a traceback.
        print(f"llm-exporter simulate: error: cannot listen on {args.host}:{args.port}: "
              f"{err.strerror or err}", file=sys.stderr)  # fmt: skip
        return 1
    # SIGTERM from a benchmark harness should shut down as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(f"llm-exporter simulator listening on {sim.base_url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        sim.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
