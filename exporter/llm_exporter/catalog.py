"""The metric catalog: the one place every metric family of this project is defined.

Instrumentation, collectors, the rule and dashboard generators and docs/metrics.md all read these
specs; no other module spells a metric name. Names follow the OpenTelemetry GenAI semantic
conventions where they define the signal, written the way the OTel Prometheus exporter writes
them (dots to ``_``, unit ``s`` to ``_seconds``, ``{token}`` adds nothing), with the spec's
explicit bucket boundaries. Signals the conventions lack take the ``llm_exporter_`` prefix and
Prometheus naming practice (base units, ``_total`` on counters, ``_ratio`` for 0..1).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal, get_args


class Kind(str, enum.Enum):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"
    INFO = "info"


# How prometheus_client's multiprocess mode merges one gauge's values across processes (see
# llm_exporter.multiprocess). Every gauge or info family that application processes record
# declares one; the "live" modes drop the values of processes that have exited.
MultiprocessMode = Literal["livesum", "livemax", "livemin", "liveall", "livemostrecent",
                           "sum", "max", "min", "all", "mostrecent"]  # fmt: skip
MULTIPROCESS_MODES: tuple[MultiprocessMode, ...] = get_args(MultiprocessMode)


class Origin(str, enum.Enum):
    SEMCONV = "OpenTelemetry GenAI semantic conventions"
    PROJECT = "llm-exporter"


PREFIX = "llm_exporter_"

# Bucket boundaries given by the OTel GenAI conventions.
SEMCONV_DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
SEMCONV_TOKEN_BUCKETS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
RATIO_BUCKETS = (0.1, 0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)
SCORE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)
# Agent nesting depth; the write-ups call depth above 3 a runaway loop.
DEPTH_BUCKETS = (1, 2, 3, 4, 5, 6, 8, 10, 15, 20)
FANOUT_BUCKETS = (0, 1, 2, 3, 4, 5, 8, 13, 21, 34, 55, 89)
# Tool results from a few hundred bytes to the multi-megabyte JSON that fills a context window.
SIZE_BUCKETS = (256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216)
RATING_BUCKETS = (1, 2, 3, 4, 5)

# Label names (Prometheus forms of the OTel attribute names).
OPERATION = "gen_ai_operation_name"
PROVIDER = "gen_ai_provider_name"
REQUEST_MODEL = "gen_ai_request_model"
RESPONSE_MODEL = "gen_ai_response_model"
SERVER_ADDRESS = "server_address"
ERROR_TYPE = "error_type"
TOKEN_TYPE = "gen_ai_token_type"
AGENT_NAME = "gen_ai_agent_name"
TOOL_NAME = "gen_ai_tool_name"
EVALUATION_NAME = "gen_ai_evaluation_name"
STAGE = "stage"
ROUTE = "route"
DATA_SOURCE = "gen_ai_data_source_id"  # the OTel attribute of a retrieval's index or store
HANDOFF_TARGET = "to_agent"
FEEDBACK_KIND = "feedback"  # positive or negative
CHECK_RESULT = "result"  # valid or invalid
# Cost attribution: bounded dimensions the application sets once per request
# (llm_exporter.attribute); "" where unset or switched off, so rules can rely on them.
TEAM, FEATURE, TENANT = "team", "feature", "tenant"
ATTRIBUTION_LABELS = (TEAM, FEATURE, TENANT)
# Attributed families multiply the call labels by the attribution values: a larger cap.
ATTRIBUTED_MAX_LABEL_SETS = 5000

# Every LLM-call metric carries these, so any two of them join on the same labels.
CALL_LABELS = (OPERATION, PROVIDER, REQUEST_MODEL, RESPONSE_MODEL, SERVER_ADDRESS)


@dataclass(frozen=True)
class MetricSpec:
    """One metric family. ``name`` is the name a Prometheus user queries (counters end in
    ``_total``; histograms add ``_bucket``/``_sum``/``_count``; info metrics end in ``_info``)."""

    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()
    unit: str = ""
    buckets: tuple[float, ...] | None = None
    origin: Origin = Origin.PROJECT
    group: str = "llm"
    # Per-family cap on distinct label sets; None takes the guard's configured default.
    max_label_sets: int | None = None
    # Gauges and info metrics recorded in application processes: how multiprocess mode merges
    # them. "" for families only custom collectors produce (the GPU gauges).
    multiprocess_mode: MultiprocessMode | Literal[""] = ""
    notes: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.kind is Kind.COUNTER and not self.name.endswith("_total"):
            raise ValueError(f"counter {self.name} must end in _total")
        if self.kind is Kind.INFO and not self.name.endswith("_info"):
            raise ValueError(f"info metric {self.name} must end in _info")
        if (self.kind is Kind.HISTOGRAM) != (self.buckets is not None):
            raise ValueError(f"{self.name}: buckets go with histograms and only with them")
        if self.multiprocess_mode and (
            self.kind not in (Kind.GAUGE, Kind.INFO)
            or self.multiprocess_mode not in MULTIPROCESS_MODES
        ):
            raise ValueError(f"{self.name}: multiprocess_mode {self.multiprocess_mode!r} needs a "
                             f"gauge or info family and one of {MULTIPROCESS_MODES}")  # fmt: skip

    @property
    def base_name(self) -> str:
        """The name prometheus_client takes (it adds ``_total`` / ``_info`` itself)."""
        if self.kind is Kind.COUNTER:
            return self.name.removesuffix("_total")
        if self.kind is Kind.INFO:
            return self.name.removesuffix("_info")
        return self.name

    @property
    def bucket(self) -> str:
        return self._series("_bucket")

    @property
    def sum(self) -> str:
        return self._series("_sum")

    @property
    def count(self) -> str:
        return self._series("_count")

    def _series(self, suffix: str) -> str:
        if self.kind is not Kind.HISTOGRAM:
            raise ValueError(f"{self.name} is a {self.kind.value}, it has no {suffix} series")
        return self.name + suffix

    def sample_names(self) -> tuple[str, ...]:
        """Every sample name this family puts in a scrape."""
        if self.kind is Kind.HISTOGRAM:
            return (self.bucket, self.sum, self.count)
        if self.kind is Kind.COUNTER:
            return (self.name, self.base_name + "_created")
        return (self.name,)


# --- LLM calls (OTel GenAI semantic conventions) -------------------------------------------------

OPERATION_DURATION = MetricSpec(
    name="gen_ai_client_operation_duration_seconds",
    kind=Kind.HISTOGRAM,
    help="GenAI operation duration, from before the request is sent to the last chunk or error.",
    labels=(*CALL_LABELS, ERROR_TYPE),
    unit="seconds",
    buckets=SEMCONV_DURATION_BUCKETS,
    origin=Origin.SEMCONV,
    notes='error_type is "" on success, so selectors also match producers that omit the label.',
)

TOKEN_USAGE = MetricSpec(
    name="gen_ai_client_token_usage",
    kind=Kind.HISTOGRAM,
    help="Number of input and output tokens used per GenAI operation.",
    labels=(*CALL_LABELS, TOKEN_TYPE),
    buckets=SEMCONV_TOKEN_BUCKETS,
    origin=Origin.SEMCONV,
    notes="gen_ai_token_type is input or output.",
)

TIME_TO_FIRST_CHUNK = MetricSpec(
    name="gen_ai_client_operation_time_to_first_chunk_seconds",
    kind=Kind.HISTOGRAM,
    help="Time from issuing a streaming request to receiving the first chunk.",
    labels=CALL_LABELS,
    unit="seconds",
    buckets=SEMCONV_DURATION_BUCKETS,
    origin=Origin.SEMCONV,
    notes="Streaming calls only.",
)

TIME_PER_OUTPUT_CHUNK = MetricSpec(
    name="gen_ai_client_operation_time_per_output_chunk_seconds",
    kind=Kind.HISTOGRAM,
    help="Time between consecutive chunks of a streaming response, after the first.",
    labels=CALL_LABELS,
    unit="seconds",
    buckets=SEMCONV_DURATION_BUCKETS,
    origin=Origin.SEMCONV,
    notes="Streaming calls only.",
)

# --- LLM calls (project signals) -----------------------------------------------------------------

COST = MetricSpec(
    name=PREFIX + "cost_usd_total",
    kind=Kind.COUNTER,
    help="Estimated spend on GenAI operations in US dollars, from the pricing table.",
    labels=(*CALL_LABELS, *ATTRIBUTION_LABELS),
    max_label_sets=ATTRIBUTED_MAX_LABEL_SETS,
    notes="Calls to a model the pricing table does not know add nothing here and count in "
    f"{PREFIX}unpriced_operations_total instead. team, feature and tenant are the request's "
    'attribution (llm_exporter.attribute), "" where unset.',
)

TOKENS = MetricSpec(
    name=PREFIX + "tokens_total",
    kind=Kind.COUNTER,
    help="Tokens used by GenAI operations, by the request's attribution, model and token type.",
    labels=(*ATTRIBUTION_LABELS, REQUEST_MODEL, TOKEN_TYPE),
    max_label_sets=ATTRIBUTED_MAX_LABEL_SETS,
    notes=f"The same tokens as {TOKEN_USAGE.name}, whose labels stay the conventions' own; this "
    'counter carries team, feature and tenant ("" where unset). gen_ai_token_type is input or '
    "output.",
)

UNPRICED_OPERATIONS = MetricSpec(
    name=PREFIX + "unpriced_operations_total",
    kind=Kind.COUNTER,
    help="GenAI operations whose model is missing from the pricing table, so no cost was recorded.",
    labels=(PROVIDER, RESPONSE_MODEL),
)

RETRIES = MetricSpec(
    name=PREFIX + "retries_total",
    kind=Kind.COUNTER,
    help="Retries the SDK made on its own within GenAI operations.",
    labels=(OPERATION, PROVIDER, REQUEST_MODEL, SERVER_ADDRESS),
)

CONTEXT_WINDOW_USAGE = MetricSpec(
    name=PREFIX + "context_window_usage_ratio",
    kind=Kind.HISTOGRAM,
    help="Prompt tokens over the model's context window (0..1).",
    labels=(OPERATION, PROVIDER, REQUEST_MODEL),
    buckets=RATIO_BUCKETS,
    notes="Only for models whose context window the model table knows.",
)

ESTIMATED_TOKEN_OPERATIONS = MetricSpec(
    name=PREFIX + "estimated_token_operations_total",
    kind=Kind.COUNTER,
    help="GenAI operations whose token usage was counted by a tokenizer because the response "
    "carried no usage block.",
    labels=(OPERATION, PROVIDER, REQUEST_MODEL),
)

# --- Per-user budgets ---------------------------------------------------------------------------
# A user id never becomes a label: an in-process LRU (llm_exporter.cost.users) keeps each user's
# spend for the current UTC day and month and exposes only counts and ranked amounts.

# The per-user tracker's label values: USER_TOP_SPEND's periods, and the cap_share of
# USERS_OVER_DAILY_CAP that counts the users over the cap itself.
PERIOD_DAY, PERIOD_MONTH = "day", "month"
OVER_CAP = "1"
# The per-user daily cap (USD) unless the application sets one; the rule pack's
# budgets.user_daily_usd defaults to it as well, so the two agree out of the box.
DEFAULT_USER_DAILY_CAP_USD = 10.0

USERS_OVER_DAILY_CAP = MetricSpec(
    name=PREFIX + "users_over_daily_cap",
    kind=Kind.GAUGE,
    help="Users whose spend today (UTC) is above this share of the per-user daily cap.",
    labels=("cap_share",),
    group="cost",
    multiprocess_mode="livesum",
    notes='cap_share is "1" (over the cap) and the warning share, "0.8" by default (over 80% of '
    "it; users over the cap count there too). The cap is the application's "
    "(LLM_EXPORTER_USER_DAILY_CAP_USD). Counted per process: under several workers a user's "
    "spend splits across them.",
)

USER_TOP_SPEND = MetricSpec(
    name=PREFIX + "user_top_spend_usd",
    kind=Kind.GAUGE,
    help="Spend of the top users in the current UTC day or month, by rank (1 = the highest).",
    labels=("period", "rank"),
    group="cost",
    multiprocess_mode="livemax",
    notes='period is "day" or "month"; rank runs 1..N (LLM_EXPORTER_USER_TOP_N, default 10), 0 '
    "where fewer users spent. No user id is exposed.",
)

TRACKED_USERS = MetricSpec(
    name=PREFIX + "tracked_users",
    kind=Kind.GAUGE,
    help="Users whose spend the per-user tracker holds (at most LLM_EXPORTER_USER_TRACKER_SIZE).",
    group="cost",
    multiprocess_mode="livesum",
)

TRACKED_USERS_EVICTED = MetricSpec(
    name=PREFIX + "tracked_users_evicted_total",
    kind=Kind.COUNTER,
    help="Users dropped from the full per-user tracker, least recently active first; their "
    "spend so far is forgotten.",
    group="cost",
)

# --- Agents, tools, pipeline stages and handoffs ------------------------------------------------

AGENT_DURATION = MetricSpec(
    name="gen_ai_invoke_agent_duration_seconds",
    kind=Kind.HISTOGRAM,
    help="Duration of one agent invocation, from its start to its final answer or error.",
    labels=(AGENT_NAME, ERROR_TYPE),
    unit="seconds",
    buckets=SEMCONV_DURATION_BUCKETS,
    origin=Origin.SEMCONV,
    group="agents",
    notes="Runs by outcome (the traffic heartbeat) are its _count by error_type; "
    '"" is a run that finished.',
)

TOOL_DURATION = MetricSpec(
    name="gen_ai_execute_tool_duration_seconds",
    kind=Kind.HISTOGRAM,
    help="Duration of one tool execution.",
    labels=(TOOL_NAME, ERROR_TYPE),
    unit="seconds",
    buckets=SEMCONV_DURATION_BUCKETS,
    origin=Origin.SEMCONV,
    group="agents",
    notes="error_type timeout for TimeoutError and the HTTP clients' timeouts.",
)

TOOL_RESULT_SIZE = MetricSpec(
    name=PREFIX + "tool_result_size_bytes",
    kind=Kind.HISTOGRAM,
    help="Size of what a tool returned, in bytes (UTF-8 for text, JSON for structured results).",
    labels=(TOOL_NAME,),
    unit="bytes",
    buckets=SIZE_BUCKETS,
    group="agents",
)

STAGE_DURATION = MetricSpec(
    name=PREFIX + "stage_duration_seconds",
    kind=Kind.HISTOGRAM,
    help="Duration of one pipeline stage (retrieval, llm, postprocess, ...).",
    labels=(STAGE, ERROR_TYPE),
    unit="seconds",
    buckets=SEMCONV_DURATION_BUCKETS,
    group="agents",
    notes="A stage's share of the time is its rate(_sum) over the rate(_sum) of all stages.",
)

HANDOFFS = MetricSpec(
    name=PREFIX + "handoffs_total",
    kind=Kind.COUNTER,
    help="Handoffs from one agent to another agent or to a human.",
    labels=("from_agent", HANDOFF_TARGET, "reason"),
    group="agents",
    notes='to_agent is "human" for an escalation to a person.',
)

AGENT_DEPTH = MetricSpec(
    name=PREFIX + "agent_depth",
    kind=Kind.HISTOGRAM,
    help="Deepest agent nesting one request reached (1 = no sub-agents), recorded once per "
    "top-level run under the top-level agent's name.",
    labels=(AGENT_NAME,),
    buckets=DEPTH_BUCKETS,
    group="agents",
)

AGENT_CHILD_INVOCATIONS = MetricSpec(
    name=PREFIX + "agent_child_invocations",
    kind=Kind.HISTOGRAM,
    help="Agent runs and tool calls started directly by one agent run (its fan-out).",
    labels=(AGENT_NAME,),
    buckets=FANOUT_BUCKETS,
    group="agents",
)

# --- Retrieval (RAG) ------------------------------------------------------------------------------

DOCUMENT_BUCKETS = (0, 1, 2, 3, 5, 10, 20, 50, 100)

RETRIEVAL_DOCUMENTS = MetricSpec(
    name=PREFIX + "retrieval_documents",
    kind=Kind.HISTOGRAM,
    help='Documents one retrieval query returned; the le="0" bucket counts empty results.',
    labels=(DATA_SOURCE,),
    buckets=DOCUMENT_BUCKETS,
    group="retrieval",
    notes="gen_ai_data_source_id names the index, collection or store queried. Its _count is "
    "the queries.",
)

RETRIEVAL_TOP_SCORE = MetricSpec(
    name=PREFIX + "retrieval_top_score",
    kind=Kind.HISTOGRAM,
    help="Relevance score of the best document a retrieval query returned (0..1: a cosine "
    "similarity or a reranker's score).",
    labels=(DATA_SOURCE,),
    buckets=SCORE_BUCKETS,
    group="retrieval",
    notes="Only for queries that returned documents with a score. A window's mean is rate(_sum) "
    "/ rate(_count).",
)

RETRIEVAL_INDEX_UPDATED = MetricSpec(
    name=PREFIX + "retrieval_index_last_updated_timestamp_seconds",
    kind=Kind.GAUGE,
    help="Unix time the index behind a data source was last updated, as the application reports "
    "it.",
    labels=(DATA_SOURCE,),
    unit="seconds",
    group="retrieval",
    multiprocess_mode="max",
    notes="time() minus this is the index's age.",
)

# --- Quality: scores, feedback, output checks, the judge -----------------------------------------

QUALITY_SCORE = MetricSpec(
    name=PREFIX + "quality_score_ratio",
    kind=Kind.HISTOGRAM,
    help="Quality scores in 0..1 (LLM-as-a-judge or your own evaluators), by evaluation and model.",
    labels=(EVALUATION_NAME, REQUEST_MODEL),
    buckets=SCORE_BUCKETS,
    group="quality",
    notes="A window's mean score is rate(_sum) / rate(_count): every score counts, unlike a "
    "gauge set to the latest one.",
)

FEEDBACK = MetricSpec(
    name=PREFIX + "feedback_total",
    kind=Kind.COUNTER,
    help="User feedback on answers: thumbs up (positive) or down (negative).",
    labels=(REQUEST_MODEL, ROUTE, FEEDBACK_KIND),
    group="quality",
)

FEEDBACK_RATING = MetricSpec(
    name=PREFIX + "feedback_rating",
    kind=Kind.HISTOGRAM,
    help="User ratings of answers on a 1 to 5 scale.",
    labels=(REQUEST_MODEL, ROUTE),
    buckets=RATING_BUCKETS,
    group="quality",
)

OUTPUT_CHECKS = MetricSpec(
    name=PREFIX + "output_checks_total",
    kind=Kind.COUNTER,
    help="Checks of structured outputs (JSON, JSON schema, or your own), valid or invalid.",
    labels=(REQUEST_MODEL, RESPONSE_MODEL, "check", CHECK_RESULT),
    group="quality",
    notes="Recorded automatically for calls that ask for JSON mode or a JSON schema; result is "
    "valid or invalid.",
)

JUDGE_SAMPLES = MetricSpec(
    name=PREFIX + "judge_samples_total",
    kind=Kind.COUNTER,
    help="Answers sampled for LLM-as-a-judge evaluation: queued, or dropped because the queue "
    "was full.",
    labels=("outcome",),
    group="quality",
)

JUDGE_EVALUATIONS = MetricSpec(
    name=PREFIX + "judge_evaluations_total",
    kind=Kind.COUNTER,
    help="Judge evaluations finished, by the judge's model and error class "
    '("" when it produced scores).',
    labels=(REQUEST_MODEL, ERROR_TYPE),
    group="quality",
)

JUDGE_QUEUE_LENGTH = MetricSpec(
    name=PREFIX + "judge_queue_length",
    kind=Kind.GAUGE,
    help="Samples waiting for the judge.",
    group="quality",
    multiprocess_mode="livesum",  # each process has its own queue
)

APP_INFO = MetricSpec(
    name=PREFIX + "app_info",
    kind=Kind.INFO,
    help="Version of the instrumented application and of its prompts, for deploy annotations "
    "and for telling a new version from drift.",
    labels=("app_version", "git_commit", "prompt_version"),
    group="quality",
    multiprocess_mode="livemax",
)

# --- The exporter's own health -------------------------------------------------------------------

BUILD_INFO = MetricSpec(
    name=PREFIX + "build_info",
    kind=Kind.INFO,
    help="Version of llm-exporter and of the Python running it.",
    labels=("version", "python_version"),
    group="self",
    multiprocess_mode="livemax",
)

LABEL_SETS = MetricSpec(
    name=PREFIX + "label_sets",
    kind=Kind.GAUGE,
    help="Distinct label sets a metric family holds, against its cap.",
    labels=("metric",),
    group="self",
    multiprocess_mode="livemax",
    notes="In multiprocess mode the guard caps each process on its own; this shows the fullest "
    "live process.",
)

LABEL_SETS_LIMIT = MetricSpec(
    name=PREFIX + "label_sets_limit",
    kind=Kind.GAUGE,
    help="The cap on distinct label sets of a metric family; past it, values fold into 'other'.",
    labels=("metric",),
    group="self",
    multiprocess_mode="livemax",
)

LABELS_FOLDED = MetricSpec(
    name=PREFIX + "labels_folded_total",
    kind=Kind.COUNTER,
    help="Observations whose label set was folded into 'other' because the family was at its cap.",
    labels=("metric",),
    group="self",
)

LABEL_VALUES_TRUNCATED = MetricSpec(
    name=PREFIX + "label_values_truncated_total",
    kind=Kind.COUNTER,
    help="Label values cut to the configured maximum length.",
    labels=("metric",),
    group="self",
)

REJECTED_OBSERVATIONS = MetricSpec(
    name=PREFIX + "rejected_observations_total",
    kind=Kind.COUNTER,
    help="Observations dropped because their value was out of range (a score of 1.7, an "
    "unknown feedback value); logged once per kind.",
    labels=("signal", "reason"),
    group="self",
)

INSTRUMENTATION_ERRORS = MetricSpec(
    name=PREFIX + "instrumentation_errors_total",
    kind=Kind.COUNTER,
    help="Faults inside llm-exporter's own recording code; they are caught, never raised into "
    "the application.",
    labels=("component", "error_class"),
    group="self",
)


# --- GPUs (NVML) ---------------------------------------------------------------------------------
# Read by the NVML collector of `llm-exporter serve` (llm_exporter.gpu). Every per-GPU series
# carries the GPU's index and UUID; the UUID is the stable key, the index is what nvidia-smi shows.

GPU = "gpu"
UUID = "uuid"
GPU_LABELS = (GPU, UUID)

GPU_INFO = MetricSpec(
    name=PREFIX + "gpu_info",
    kind=Kind.INFO,
    help="One series per GPU, value 1, carrying its name, PCI bus id and the driver and CUDA "
    "versions: join on uuid.",
    labels=(*GPU_LABELS, "name", "pci_bus_id", "driver_version", "cuda_version"),
    group="gpu",
)

GPU_UP = MetricSpec(
    name=PREFIX + "gpu_up",
    kind=Kind.GAUGE,
    help="1 when the GPU answered the last collection, 0 when it is lost or unreadable.",
    labels=GPU_LABELS,
    group="gpu",
    notes="While a GPU is down its other series are omitted (its XID counters stay); NVML is "
    "re-initialised with exponential back-off until it answers again.",
)

GPU_UTILIZATION = MetricSpec(
    name=PREFIX + "gpu_utilization_ratio",
    kind=Kind.GAUGE,
    help="Fraction of the last sample period during which a kernel ran on the GPU (0..1).",
    labels=GPU_LABELS,
    unit="ratio",
    group="gpu",
    notes="NVML does not report it for a GPU in MIG mode; the series is then absent.",
)

GPU_MEMORY_UTILIZATION = MetricSpec(
    name=PREFIX + "gpu_memory_utilization_ratio",
    kind=Kind.GAUGE,
    help="Fraction of the last sample period during which device memory was read or written "
    "(0..1).",
    labels=GPU_LABELS,
    unit="ratio",
    group="gpu",
)

GPU_ENCODER_UTILIZATION = MetricSpec(
    name=PREFIX + "gpu_encoder_utilization_ratio",
    kind=Kind.GAUGE,
    help="Video encoder utilisation (0..1).",
    labels=GPU_LABELS,
    unit="ratio",
    group="gpu",
)

GPU_DECODER_UTILIZATION = MetricSpec(
    name=PREFIX + "gpu_decoder_utilization_ratio",
    kind=Kind.GAUGE,
    help="Video decoder utilisation (0..1).",
    labels=GPU_LABELS,
    unit="ratio",
    group="gpu",
)

GPU_MEMORY_TOTAL = MetricSpec(
    name=PREFIX + "gpu_memory_total_bytes",
    kind=Kind.GAUGE,
    help="Device memory installed.",
    labels=GPU_LABELS,
    unit="bytes",
    group="gpu",
)

GPU_MEMORY_USED = MetricSpec(
    name=PREFIX + "gpu_memory_used_bytes",
    kind=Kind.GAUGE,
    help="Device memory allocated by processes.",
    labels=GPU_LABELS,
    unit="bytes",
    group="gpu",
    notes="From the v2 memory call where the driver has it, which counts the driver's reserved "
    "memory apart (as nvidia-smi does); older drivers include it here.",
)

GPU_MEMORY_FREE = MetricSpec(
    name=PREFIX + "gpu_memory_free_bytes",
    kind=Kind.GAUGE,
    help="Device memory free for allocation.",
    labels=GPU_LABELS,
    unit="bytes",
    group="gpu",
)

GPU_MEMORY_RESERVED = MetricSpec(
    name=PREFIX + "gpu_memory_reserved_bytes",
    kind=Kind.GAUGE,
    help="Device memory reserved by the driver and firmware.",
    labels=GPU_LABELS,
    unit="bytes",
    group="gpu",
    notes="Only from drivers with the v2 memory call.",
)

GPU_TEMPERATURE = MetricSpec(
    name=PREFIX + "gpu_temperature_celsius",
    kind=Kind.GAUGE,
    help="GPU core temperature.",
    labels=GPU_LABELS,
    unit="celsius",
    group="gpu",
)

GPU_MEMORY_TEMPERATURE = MetricSpec(
    name=PREFIX + "gpu_memory_temperature_celsius",
    kind=Kind.GAUGE,
    help="Device memory (HBM) temperature, where the GPU has a sensor for it.",
    labels=GPU_LABELS,
    unit="celsius",
    group="gpu",
)

GPU_TEMPERATURE_THRESHOLD = MetricSpec(
    name=PREFIX + "gpu_temperature_threshold_celsius",
    kind=Kind.GAUGE,
    help="Temperature thresholds of the GPU: where it slows down, where it shuts down, and the "
    "maximum operating temperatures of the core and the memory.",
    labels=(*GPU_LABELS, "threshold"),
    unit="celsius",
    group="gpu",
    notes="threshold is slowdown, shutdown, max_operating or memory_max_operating; each only "
    "where NVML reports it.",
)

GPU_POWER = MetricSpec(
    name=PREFIX + "gpu_power_watts",
    kind=Kind.GAUGE,
    help="Power draw of the GPU board.",
    labels=GPU_LABELS,
    unit="watts",
    group="gpu",
)

GPU_POWER_LIMIT = MetricSpec(
    name=PREFIX + "gpu_power_limit_watts",
    kind=Kind.GAUGE,
    help="Power limit the driver enforces (the lowest of all limits in force).",
    labels=GPU_LABELS,
    unit="watts",
    group="gpu",
)

GPU_ENERGY = MetricSpec(
    name=PREFIX + "gpu_energy_joules_total",
    kind=Kind.COUNTER,
    help="Energy the GPU consumed since the driver was last loaded.",
    labels=GPU_LABELS,
    unit="joules",
    group="gpu",
)

GPU_SM_CLOCK = MetricSpec(
    name=PREFIX + "gpu_sm_clock_hertz",
    kind=Kind.GAUGE,
    help="Current streaming-multiprocessor clock.",
    labels=GPU_LABELS,
    unit="hertz",
    group="gpu",
)

GPU_MEMORY_CLOCK = MetricSpec(
    name=PREFIX + "gpu_memory_clock_hertz",
    kind=Kind.GAUGE,
    help="Current memory clock.",
    labels=GPU_LABELS,
    unit="hertz",
    group="gpu",
)

GPU_PERFORMANCE_STATE = MetricSpec(
    name=PREFIX + "gpu_performance_state",
    kind=Kind.GAUGE,
    help="Performance state: 0 is P0 (maximum performance) ... 15 is P15 (minimum).",
    labels=GPU_LABELS,
    group="gpu",
)

GPU_CLOCK_EVENT_ACTIVE = MetricSpec(
    name=PREFIX + "gpu_clock_event_active",
    kind=Kind.GAUGE,
    help="1 while this reason is holding the GPU's clocks down (a clock event, formerly called "
    "a throttle reason), else 0.",
    labels=(*GPU_LABELS, "reason"),
    group="gpu",
    notes="reason is gpu_idle, applications_clocks_setting, sw_power_cap, hw_slowdown, "
    "sync_boost, sw_thermal_slowdown, hw_thermal_slowdown, hw_power_brake_slowdown or "
    "display_clock_setting. Drivers without the clock-event call answer the older "
    "throttle-reasons call, which has the same bits.",
)

GPU_ECC_ERRORS = MetricSpec(
    name=PREFIX + "gpu_ecc_errors_total",
    kind=Kind.COUNTER,
    help="ECC memory errors, corrected (single-bit) and uncorrected (double-bit).",
    labels=(*GPU_LABELS, "error_type", "counter_type"),
    group="gpu",
    notes="error_type is corrected or uncorrected; counter_type volatile counts since the driver "
    "was loaded, aggregate over the GPU's life. Absent where ECC is off or unsupported.",
)

GPU_REMAPPED_ROWS = MetricSpec(
    name=PREFIX + "gpu_remapped_rows",
    kind=Kind.GAUGE,
    help="Memory rows remapped because of errors.",
    labels=(*GPU_LABELS, "error_type"),
    group="gpu",
    notes="error_type is correctable or uncorrectable. Ampere and later data-centre GPUs.",
)

GPU_ROW_REMAP_PENDING = MetricSpec(
    name=PREFIX + "gpu_row_remap_pending",
    kind=Kind.GAUGE,
    help="1 when a row remapping is pending and the GPU needs a reset to apply it.",
    labels=GPU_LABELS,
    group="gpu",
)

GPU_ROW_REMAP_FAILED = MetricSpec(
    name=PREFIX + "gpu_row_remap_failed",
    kind=Kind.GAUGE,
    help="1 when a row remapping failed: the GPU should be serviced.",
    labels=GPU_LABELS,
    group="gpu",
)

GPU_RETIRED_PAGES_PENDING = MetricSpec(
    name=PREFIX + "gpu_retired_pages_pending",
    kind=Kind.GAUGE,
    help="1 when memory pages are waiting to be retired at the next reset (pre-Ampere GPUs).",
    labels=GPU_LABELS,
    group="gpu",
)

GPU_PCIE_REPLAYS = MetricSpec(
    name=PREFIX + "gpu_pcie_replays_total",
    kind=Kind.COUNTER,
    help="PCIe packets the link had to replay: a rising rate points at a bad link or riser.",
    labels=GPU_LABELS,
    group="gpu",
)

GPU_FAN_SPEED = MetricSpec(
    name=PREFIX + "gpu_fan_speed_ratio",
    kind=Kind.GAUGE,
    help="Fan speed as a fraction of its maximum (0..1), per fan.",
    labels=(*GPU_LABELS, "fan"),
    unit="ratio",
    group="gpu",
    notes="Absent on passively cooled GPUs.",
)

GPU_XID_ERRORS = MetricSpec(
    name=PREFIX + "gpu_xid_errors_total",
    kind=Kind.COUNTER,
    help="Critical XID errors the driver reported, by XID code, since the exporter started.",
    labels=(*GPU_LABELS, "xid"),
    group="gpu",
    notes="Counted by an NVML event thread as they happen, so an event between two scrapes is "
    'never lost. At most 64 distinct codes per GPU; more fold into xid="other".',
)

GPU_XID_LAST_SEEN = MetricSpec(
    name=PREFIX + "gpu_xid_last_seen_timestamp_seconds",
    kind=Kind.GAUGE,
    help="Unix time the exporter last received this XID error from this GPU.",
    labels=(*GPU_LABELS, "xid"),
    unit="seconds",
    group="gpu",
)

GPU_MIG_ENABLED = MetricSpec(
    name=PREFIX + "gpu_mig_enabled",
    kind=Kind.GAUGE,
    help="1 when the GPU runs in MIG (multi-instance GPU) mode, 0 when MIG is off.",
    labels=GPU_LABELS,
    group="gpu",
    notes="Absent on GPUs without MIG support.",
)

GPU_MIG_INFO = MetricSpec(
    name=PREFIX + "gpu_mig_info",
    kind=Kind.INFO,
    help="One series per MIG instance, value 1: its UUID, GPU and compute instance ids and "
    "profile.",
    labels=(*GPU_LABELS, "mig_uuid", "gpu_instance", "compute_instance", "profile"),
    group="gpu",
    notes="profile is built from the instance's slices and memory, as nvidia-smi names them "
    '("1g.10gb", "1c.3g.20gb").',
)

GPU_MIG_MEMORY_TOTAL = MetricSpec(
    name=PREFIX + "gpu_mig_memory_total_bytes",
    kind=Kind.GAUGE,
    help="Device memory of a MIG instance.",
    labels=(*GPU_LABELS, "mig_uuid"),
    unit="bytes",
    group="gpu",
)

GPU_MIG_MEMORY_USED = MetricSpec(
    name=PREFIX + "gpu_mig_memory_used_bytes",
    kind=Kind.GAUGE,
    help="Device memory allocated in a MIG instance.",
    labels=(*GPU_LABELS, "mig_uuid"),
    unit="bytes",
    group="gpu",
)

GPU_PROCESS_MEMORY_USED = MetricSpec(
    name=PREFIX + "gpu_process_memory_used_bytes",
    kind=Kind.GAUGE,
    help="Device memory a process holds on the GPU; only with serve --gpu-processes.",
    labels=(*GPU_LABELS, "pid", "process_name"),
    unit="bytes",
    group="gpu",
    notes="At most --gpu-processes-max processes per GPU (default 20), the largest first. "
    "process_name is the executable's base name, or unknown where the exporter cannot see the "
    "process (another PID namespace).",
)

# The GPU collector's own health (no per-GPU labels).

GPU_NVML_UP = MetricSpec(
    name=PREFIX + "gpu_nvml_up",
    kind=Kind.GAUGE,
    help="1 when NVML is initialised and answering, 0 when it is missing (no driver or no "
    "libnvidia-ml), failing, or a collection hangs.",
    group="gpu",
)

GPU_DEVICES = MetricSpec(
    name=PREFIX + "gpu_devices",
    kind=Kind.GAUGE,
    help="GPUs NVML reports on this node.",
    group="gpu",
)

GPU_COLLECTION_DURATION = MetricSpec(
    name=PREFIX + "gpu_collection_duration_seconds",
    kind=Kind.GAUGE,
    help="Time the last NVML collection took, off the scrape thread.",
    unit="seconds",
    group="gpu",
)

GPU_LAST_SUCCESS = MetricSpec(
    name=PREFIX + "gpu_last_success_timestamp_seconds",
    kind=Kind.GAUGE,
    help="Unix time of the last collection NVML answered; scrapes serve that collection's values.",
    unit="seconds",
    group="gpu",
    notes="Absent until the first success. time() minus this is the age of the GPU series.",
)

GPU_COLLECTION_FAILURES = MetricSpec(
    name=PREFIX + "gpu_collection_failures_total",
    kind=Kind.COUNTER,
    help="Failures while collecting GPU metrics, by class.",
    labels=("error_class",),
    group="gpu",
    notes="error_class is the NVML error in snake_case (gpu_is_lost, library_not_found, "
    "driver_not_loaded, not_found, no_permission, unknown, ...), timeout when a collection hung "
    "past --gpu-timeout, or internal for a fault in the exporter itself. A field NVML does not "
    "support is omitted, not counted.",
)

GPU_NVML_CALLS = MetricSpec(
    name=PREFIX + "gpu_nvml_calls",
    kind=Kind.GAUGE,
    help="NVML calls the last collection made.",
    group="gpu",
)


def all_specs() -> tuple[MetricSpec, ...]:
    """Every family declared in this module, in declaration order."""
    return tuple(v for v in globals().values() if isinstance(v, MetricSpec))


def by_name() -> dict[str, MetricSpec]:
    return {spec.name: spec for spec in all_specs()}


def series_names() -> dict[str, MetricSpec]:
    """Every sample name a scrape can hold, mapped to its family: what a PromQL check looks up."""
    return {sample: spec for spec in all_specs() for sample in spec.sample_names()}
