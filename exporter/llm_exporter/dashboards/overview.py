"""LLM overview: the ten core KPIs of the field write-ups (agent traffic, generations by model,
tool calls and duration, tokens, cost, latency and first chunk, stage durations, errors by class,
agent depth and invocations, handoffs), plus retries, context windows and the exporter's health."""

from __future__ import annotations

from .. import catalog as c
from ..rulegen.alerts import common as titles
from ..rulegen.thresholds import Config
from . import queries as q
from .common import (
    COST_UID,
    GPU_UID,
    OVERVIEW_UID,
    QUALITY_UID,
    cost_per_hour_by_model,
    deploy_annotations,
    variables,
)
from .model import Dashboard, Panel, Row, Target, Threshold

TITLE = titles.OVERVIEW
D, TTFC, TOK = c.OPERATION_DURATION, c.TIME_TO_FIRST_CHUNK, c.TOKEN_USAGE
MODEL, PROV, ETYPE = c.REQUEST_MODEL, c.PROVIDER, c.ERROR_TYPE
AGENT, TOOL, STAGE = c.AGENT_NAME, c.TOOL_NAME, c.STAGE


def build(config: Config) -> Dashboard:
    ignored = config.ignored_error_values()
    counted, failed = q.counted(ignored), q.failed(ignored)
    calls = q.sum_rate((), D.count, q.LLM, *counted)
    errors = q.sum_rate((), D.count, q.LLM, *failed)
    by_model_calls = q.sum_rate((MODEL,), D.count, q.LLM, *counted)
    by_model_errors = q.sum_rate((MODEL,), D.count, q.LLM, *failed)
    headline = Row("Traffic", (
        Panel("Calls per second", "LLM calls per second, all models.", "reqps",
              (Target(calls, "calls/s"),), kind="stat", height=4),
        Panel("Error ratio", "Share of LLM calls that failed (ignored classes such as cancelled "
              "streams left out). The app-tier alert fires at "
              f"{config.alerts['HighErrorRate'].threshold:.0%}.", "percentunit",
              (Target(q.ratio(errors, calls), "errors"),), kind="stat", height=4,
              thresholds=(Threshold(None, "green"),
                          Threshold(config.alerts["HighErrorRate"].threshold, "red"))),
        Panel("p95 latency", "95th percentile of successful LLM calls, request to last chunk.",
              "s", (Target(q.quantile(0.95, D, (), q.LLM, q.OK), "p95"),), kind="stat",
              height=4, thresholds=(Threshold(None, "green"),
                                    Threshold(config.alerts["HighLatencyP95"].threshold, "red"))),
        Panel("Cost per hour", "Spend per hour at the current rate, from the model price table.",
              "currencyUSD", (Target(f"{q.sum_rate((), c.COST.name, q.LLM)} * 3600", "USD/h"),),
              kind="stat", height=4, decimals=2),
        Panel("Agent traffic", "Agent runs per second by agent and outcome: the heartbeat. A "
              "flat line is an outage, a spike a loop or a flash crowd.", "reqps",
              (Target(q.sum_rate((AGENT, ETYPE), c.AGENT_DURATION.count, q.APP),
                      "{{gen_ai_agent_name}} {{error_type}}"),), width=12),
        Panel("Generations by model", "LLM calls per second by request model: the routing mix. "
              "A model whose share moves is a routing change.", "reqps",
              (Target(by_model_calls, "{{gen_ai_request_model}}"),), width=12, stacked=True),
    ))  # fmt: skip
    latency = Row("Latency", (
        Panel("Latency p50 / p95", "Successful LLM calls, from before the request is sent to the "
              "last chunk. p95 should stay within 3 to 4 times p50.", "s",
              (Target(q.quantile(0.5, D, (MODEL,), q.LLM, q.OK), "{{gen_ai_request_model}} p50"),
               Target(q.quantile(0.95, D, (MODEL,), q.LLM, q.OK),
                      "{{gen_ai_request_model}} p95"))),
        Panel("Time to first chunk", "Streaming calls: time from the request to the first chunk, "
              "what a user feels. Rising while totals stay flat points at queueing or prefill.",
              "s", (Target(q.quantile(0.5, TTFC, (MODEL,), q.LLM),
                           "{{gen_ai_request_model}} p50"),
                    Target(q.quantile(0.95, TTFC, (MODEL,), q.LLM),
                           "{{gen_ai_request_model}} p95"))),
    ))  # fmt: skip
    tokens = Row("Tokens and cost", (
        Panel("Tokens per request", "Mean input and output tokens per call, by model. A jump "
              "points at a prompt or retrieval change, or a loop.", "short",
              (Target(q.mean(TOK, (MODEL, c.TOKEN_TYPE), q.LLM),
                      "{{gen_ai_request_model}} {{gen_ai_token_type}}"),)),
        Panel("Tokens per second", "Input and output tokens per second, by model.", "short",
              (Target(q.sum_rate((MODEL, c.TOKEN_TYPE), TOK.sum, q.LLM),
                      "{{gen_ai_request_model}} {{gen_ai_token_type}}"),), stacked=True),
        cost_per_hour_by_model("Spend per hour at the current rate, by model (models without "
                               "a price add nothing; see the cost dashboard)."),
    ))  # fmt: skip
    # Other producers' class names (RateLimitError, 429) shown as the class the alerts use.
    by_class = q.error_classes(q.rate(D.count, q.LLM, *failed), config)
    errors_row = Row("Errors", (
        Panel("Errors by class", "Failed LLM calls per second by error_type: rate_limit, timeout, "
              "server_error, output_parse, ... Each class has its own alert.", "reqps",
              (Target(f"sum by ({ETYPE}) ({by_class})", "{{error_type}}"),),
              stacked=True, bars=True),
        Panel("Error ratio by model", "Share of failed calls per model.", "percentunit",
              (Target(q.ratio(by_model_errors, by_model_calls), "{{gen_ai_request_model}}"),),
              minimum=0),
    ))  # fmt: skip
    tools = Row("Tools and stages", (
        Panel("Tool calls and duration", "p95 duration of successful tool calls, by tool. Tools "
              "(vector stores, search APIs) are common failure and slowness points.", "s",
              (Target(q.quantile(0.95, c.TOOL_DURATION, (TOOL,), q.APP, q.OK),
                      "{{gen_ai_tool_name}} p95"),)),
        Panel("Tool calls by outcome", "Tool calls per second by tool and error_type (timeouts "
              "included).", "reqps",
              (Target(q.sum_rate((TOOL, ETYPE), c.TOOL_DURATION.count, q.APP),
                      "{{gen_ai_tool_name}} {{error_type}}"),), stacked=True),
        Panel("Tool result size", "p95 size of what tools return, in bytes: a payload that fills "
              "the context window shows here first.", "bytes",
              (Target(q.quantile(0.95, c.TOOL_RESULT_SIZE, (TOOL,), q.APP),
                      "{{gen_ai_tool_name}} p95"),)),
        Panel("Stage durations", "Each pipeline stage's share of the time spent in stages. In a "
              "balanced pipeline no stage dominates (the alert fires above "
              f"{config.alerts['StageDominant'].threshold:.0%}).", "percentunit",
              (Target(f"{q.sum_rate((STAGE,), c.STAGE_DURATION.sum, q.APP)}\n/ ignoring ({STAGE})"
                      f" group_left\n{q.sum_rate((), c.STAGE_DURATION.sum, q.APP)}",
                      "{{stage}}"),), stacked=True, minimum=0, maximum=1),
    ))  # fmt: skip
    agents = Row("Agents", (
        Panel("Agent depth and invocations", "p95 nesting depth of requests (by the top-level "
              "agent) and mean agent runs and tool calls started per run (by agent). Depth above "
              "3 is a runaway loop.", "short",
              (Target(q.quantile(0.95, c.AGENT_DEPTH, (AGENT,), q.APP),
                      "{{gen_ai_agent_name}} depth p95"),
               Target(q.mean(c.AGENT_CHILD_INVOCATIONS, (AGENT,), q.APP),
                      "{{gen_ai_agent_name}} children per run"))),
        Panel("Handoffs", "Handoffs per second to another agent or to a human, by target and "
              "reason. A rising rate means the agents cover less.", "reqps",
              (Target(q.sum_rate(("to_agent", "reason"), c.HANDOFFS.name, q.APP),
                      "to {{to_agent}}: {{reason}}"),), stacked=True),
        Panel("Retries", "Retries the SDK made per call, by model: a retry storm multiplies "
              "load and cost.", "short",
              (Target(f"{q.sum_rate((MODEL,), c.RETRIES.name, q.LLM)}\n/\n{by_model_calls}",
                      "{{gen_ai_request_model}}"),)),
        Panel("Context window use", "p95 of the prompt's share of the model's context window.",
              "percentunit",
              (Target(q.quantile(0.95, c.CONTEXT_WINDOW_USAGE, (MODEL,), q.LLM),
                      "{{gen_ai_request_model}}"),), minimum=0, maximum=1),
    ))  # fmt: skip
    health = Row("Exporter health", (
        Panel("Exporter health", "Scrape status (1 up, 0 down) of every target that serves "
              "llm-exporter metrics.", "short",
              (Target(f'{q.sel("up", q.APP)}\nand on (job, instance)\n'
                      f"max by (job, instance) ({q.sel(c.BUILD_INFO.name, q.APP)})",
                      "{{job}} {{instance}}"),), minimum=0, maximum=1),
        Panel("Label sets against their cap", "Each metric family's distinct label sets over its "
              "cap; at 100% new values fold into 'other'.", "percentunit",
              (Target(f"max by (metric) ({q.sel(c.LABEL_SETS.name, q.APP)}\n/ "
                      f"{q.sel(c.LABEL_SETS_LIMIT.name, q.APP)})", "{{metric}}"),),
              minimum=0, maximum=1),
        Panel("Folded, rejected and faulted", "Observations folded into 'other', observations "
              "rejected as out of range, and faults inside llm-exporter's own code, per second.",
              "short",
              (Target(q.or_zero(q.sum_rate(("metric",), c.LABELS_FOLDED.name, q.APP)),
                      "folded {{metric}}"),
               Target(q.or_zero(q.sum_rate(("signal",), c.REJECTED_OBSERVATIONS.name, q.APP)),
                      "rejected {{signal}}"),
               Target(q.or_zero(q.sum_rate(("component",), c.INSTRUMENTATION_ERRORS.name,
                                           q.APP)), "fault {{component}}"))),
    ))  # fmt: skip
    return Dashboard(
        uid=OVERVIEW_UID,
        title=TITLE,
        description="LLM calls, agents, tools, tokens, cost and errors, from llm-exporter or any "
        "producer of the OpenTelemetry GenAI metrics.",
        tags=("llm-exporter", "llm"),
        rows=(headline, latency, tokens, errors_row, tools, agents, health),
        variables=variables(),
        annotations=deploy_annotations(),
        links=(("LLM cost", COST_UID), ("LLM quality", QUALITY_UID), ("GPUs", GPU_UID)),
    )
