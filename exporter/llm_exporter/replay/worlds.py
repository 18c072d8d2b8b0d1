"""The worlds the replay judges the rule pack on: applications of different sizes and shapes.

Each world is a ``WorldSpec``: its traffic shape (peak, night floor, lunchtime bump, weekend
dip, its local day against UTC), its models, tools, agents, feedback and checks volumes, its
GPU nodes and a random seed. Nothing in the rule pack is tuned to these figures; add a world
rather than change one to make a rule pass.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelSpec:
    name: str
    response: str  # the response model the provider normally names
    share: float  # of the app's calls
    price: tuple[float, float]  # USD per million input / output tokens
    latency_s: float  # median duration of a call
    input_tokens: float  # mean per call
    output_tokens: float


@dataclass(frozen=True)
class GpuNode:
    instance: str
    gpus: int
    memory_share: float  # of each GPU's memory normally in use (vLLM reserves ~0.9 at start)


@dataclass(frozen=True)
class WorldSpec:
    name: str
    seed: int
    size: str  # small, medium or large: which median time-to-detect target applies
    peak_calls_per_min: float
    night_floor: float  # share of the peak at the quietest hour
    lunch_bump: float  # extra share of the peak around 12:30 local
    weekend_dip: float  # factor on Saturday and Sunday traffic
    utc_offset_h: int  # local time = UTC + this
    models: tuple[ModelSpec, ...]
    tools: tuple[str, str]  # a busy one (every agent run searches) and a rare one
    tool_rare_per_hour: float  # calls of the rare tool an hour at peak
    agents: tuple[str, str]  # the main agent and a low-volume sub-agent
    sub_agent_per_hour: float  # sub-agent runs an hour at peak (a few, or less)
    feedback_per_hour: float  # thumbs up/down an hour at peak
    json_checks_per_hour: float  # JSON output checks an hour at peak
    gpu_nodes: tuple[GpuNode, ...]
    judge_share: float = 0.05  # of answers sampled for the judge
    # Not scored: the baselines fill up (they average whatever history exists, as a fresh
    # deployment's do). Two days, not seven: promtool takes ~40 s of CPU per simulated day and
    # rule pack, and seven would put `make replay` past an hour on two cores.
    days_history: int = 2
    days_normal: int = 7  # scored: every app/quality alert is a false alarm

    @property
    def daily_budget_usd(self) -> float:
        """About 1.5 times a normal weekday's spend: the budget the world's rules are given."""
        from .world import expected_daily_cost

        return round(1.5 * expected_daily_cost(self), 2)


_GPT4O = ("gpt-4o", "gpt-4o-2024-08-06", (2.50, 10.00), 1.1)
_MINI = ("gpt-4o-mini", "gpt-4o-mini-2024-07-18", (0.15, 0.60), 0.6)
_SONNET = ("claude-sonnet-4", "claude-sonnet-4-20250514", (3.00, 15.00), 1.4)
_VLLM = GpuNode("gpu-a:9464", 2, 0.915)
_SPARE = GpuNode("gpu-b:9464", 2, 0.60)


def _model(base: tuple[str, str, tuple[float, float], float], share: float, tokens_in: float,
           tokens_out: float) -> ModelSpec:  # fmt: skip
    name, response, price, latency = base
    return ModelSpec(name, response, share, price, latency, tokens_in, tokens_out)


# fmt: off
# In the order a replay starts them: with two jobs, a small and a large world report first.
WORLDS: tuple[WorldSpec, ...] = (
    WorldSpec(
        name="small-helpdesk", seed=11, size="small", peak_calls_per_min=12, night_floor=0.1,
        lunch_bump=0.15, weekend_dip=0.55, utc_offset_h=1,
        models=(_model(_MINI, 0.75, 900, 220), _model(_GPT4O, 0.25, 1400, 300)),
        tools=("search_kb", "issue_refund"), tool_rare_per_hour=3,
        agents=("helpdesk", "billing"), sub_agent_per_hour=2,
        feedback_per_hour=20, json_checks_per_hour=15, gpu_nodes=(_VLLM, _SPARE),
    ),
    WorldSpec(
        name="large-apac", seed=53, size="large", peak_calls_per_min=500, night_floor=0.08,
        lunch_bump=0.25, weekend_dip=0.7, utc_offset_h=8,
        models=(_model(_MINI, 0.7, 500, 120), _model(_GPT4O, 0.3, 1100, 250)),
        tools=("search_catalog", "translate"), tool_rare_per_hour=10,
        agents=("concierge", "escalations"), sub_agent_per_hour=2,
        feedback_per_hour=600, json_checks_per_hour=4000, gpu_nodes=(_VLLM, _SPARE),
    ),
    WorldSpec(
        name="medium-shop", seed=37, size="medium", peak_calls_per_min=60, night_floor=0.12,
        lunch_bump=0.2, weekend_dip=1.15, utc_offset_h=-1,
        models=(_model(_MINI, 0.65, 700, 160), _model(_GPT4O, 0.35, 1200, 260)),
        tools=("search_products", "track_order"), tool_rare_per_hour=6,
        agents=("shopper", "returns"), sub_agent_per_hour=4,
        feedback_per_hour=120, json_checks_per_hour=300, gpu_nodes=(_VLLM, _SPARE),
    ),
    WorldSpec(
        name="small-legal", seed=23, size="small", peak_calls_per_min=7, night_floor=0.15,
        lunch_bump=0.0, weekend_dip=0.35, utc_offset_h=0,
        models=(_model(_SONNET, 0.6, 3000, 500), _model(_MINI, 0.4, 800, 150)),
        tools=("search_contracts", "send_email"), tool_rare_per_hour=1.5,
        agents=("drafter", "reviewer"), sub_agent_per_hour=1,
        feedback_per_hour=18, json_checks_per_hour=14, gpu_nodes=(_VLLM, _SPARE),
    ),
    WorldSpec(
        name="large-saas", seed=41, size="large", peak_calls_per_min=200, night_floor=0.1,
        lunch_bump=0.1, weekend_dip=0.6, utc_offset_h=0,
        models=(_model(_GPT4O, 0.5, 1500, 300), _model(_MINI, 0.35, 600, 150),
                _model(_SONNET, 0.15, 2500, 400)),
        tools=("search_docs", "run_sql"), tool_rare_per_hour=8,
        agents=("assistant", "analyst"), sub_agent_per_hour=3,
        feedback_per_hour=300, json_checks_per_hour=1500, gpu_nodes=(_VLLM, _SPARE),
    ),
)
# fmt: on


def by_name() -> dict[str, WorldSpec]:
    return {w.name: w for w in WORLDS}
