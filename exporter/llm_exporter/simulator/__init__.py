"""An OpenAI-compatible HTTP simulator (standard library only) for tests, demos and benchmarks.

    from llm_exporter.simulator import Simulator, SimulatorConfig

    with Simulator(SimulatorConfig(output_tokens=8)) as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="sim")

Per-request overrides ride on headers (x-sim-error, x-sim-latency, x-sim-first-chunk-delay,
x-sim-inter-chunk-delay, x-sim-output-tokens); GET/POST /_sim/config and GET/DELETE
/_sim/stats control a running instance.
"""

from .config import (
    DEFAULT_CONTEXT_WINDOWS,
    DEFAULT_RESPONSE_MODELS,
    ERROR_CLASSES,
    SimulatorConfig,
    parse_output_tokens,
)
from .responses import PER_MESSAGE_TOKENS
from .server import Simulator

__all__ = [
    "DEFAULT_CONTEXT_WINDOWS",
    "DEFAULT_RESPONSE_MODELS",
    "ERROR_CLASSES",
    "PER_MESSAGE_TOKENS",
    "Simulator",
    "SimulatorConfig",
    "parse_output_tokens",
]
