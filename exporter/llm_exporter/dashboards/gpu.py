"""GPUs: utilization, memory, temperature, power and energy, throttling, clocks, ECC and XID,
and the NVML collector's own health, per GPU (from `llm-exporter serve`)."""

from __future__ import annotations

from .. import catalog as c
from ..rulegen import promql
from ..rulegen.alerts import common as titles
from ..rulegen.thresholds import Config
from . import queries as q
from .common import GPU_UID, OVERVIEW_UID
from .model import Dashboard, Panel, Row, Target, Threshold, Variable

TITLE = titles.GPU_DASH
EACH = "{{instance}} GPU {{gpu}}"
VOLATILE = promql.eq("counter_type", "volatile")


def _g(spec: c.MetricSpec, *extra: promql.Matcher) -> str:
    return q.sel(spec.name, q.GPUS, *extra)


def build(config: Config) -> Dashboard:
    memory_alert = config.alerts["GPUMemoryHigh"].threshold
    hot = config.alerts["GPUTemperatureHigh"].threshold
    load = Row("Load", (
        Panel("Utilization", "Share of time the GPU's kernels ran, and its memory controller was "
              "busy.", "percentunit",
              (Target(_g(c.GPU_UTILIZATION), f"{EACH} compute"),
               Target(_g(c.GPU_MEMORY_UTILIZATION), f"{EACH} memory controller")),
              minimum=0, maximum=1),
        Panel("Memory", "Share of the GPU's memory in use (servers such as vLLM reserve about 90% "
              f"up front); the alert fires above {memory_alert:.0%}.", "percentunit",
              (Target(f"{_g(c.GPU_MEMORY_USED)}\n/\n{_g(c.GPU_MEMORY_TOTAL)}", EACH),),
              minimum=0, maximum=1, thresholds=(Threshold(None, "green"),
                                                Threshold(memory_alert, "red"))),
        Panel("Memory used", "Bytes in use per GPU.", "bytes",
              (Target(_g(c.GPU_MEMORY_USED), EACH),)),
    ))  # fmt: skip
    heat = Row("Heat and power", (
        Panel("Temperature", "GPU core temperature, with the slowdown threshold the driver "
              "reports (clocks drop there).", "celsius",
              (Target(_g(c.GPU_TEMPERATURE), EACH),
               Target(_g(c.GPU_TEMPERATURE_THRESHOLD, promql.eq("threshold", "slowdown")),
                      f"{EACH} slowdown")),
              thresholds=(Threshold(None, "green"), Threshold(hot, "red"))),
        Panel("Power and energy", "Power draw and the enforced limit, and the average power "
              "over the rate interval from the energy counter.", "watt",
              (Target(_g(c.GPU_POWER), EACH), Target(_g(c.GPU_POWER_LIMIT), f"{EACH} limit"),
               Target(f"rate({_g(c.GPU_ENERGY)}[{q.RATE}])", f"{EACH} from energy"))),
        Panel("Throttling", "Clock event reasons active (1) per GPU: thermal and power-brake "
              "slowdowns cut throughput; gpu_idle is harmless.", "short",
              (Target(f"{_g(c.GPU_CLOCK_EVENT_ACTIVE)} > 0", f"{EACH} {{{{reason}}}}"),
               Target(f"count by (instance) ({_g(c.GPU_CLOCK_EVENT_ACTIVE)})", "{{instance}} "
                      "reasons reported")), minimum=0),
        Panel("Clocks", "SM and memory clocks.", "hertz",
              (Target(_g(c.GPU_SM_CLOCK), f"{EACH} SM"),
               Target(_g(c.GPU_MEMORY_CLOCK), f"{EACH} memory"))),
    ))  # fmt: skip
    xids = f"increase({_g(c.GPU_XID_ERRORS)}[1h])"
    errors = Row("Errors", (
        Panel("ECC and XID", "ECC errors (volatile counters) and XID errors over the last hour "
              "(1h), per GPU. Uncorrected ECC and critical XIDs page.", "short",
              (Target(f"increase({_g(c.GPU_ECC_ERRORS, VOLATILE)}[1h])",
                      f"{EACH} ECC {{{{error_type}}}}"),
               Target(q.or_zero(f"sum by (instance, gpu, xid) ({xids})"),
                      f"{EACH} XID {{{{xid}}}}"))),
        Panel("Memory health", "Rows remapped for memory errors, and whether a remapping waits "
              "for a reset or failed.", "short",
              (Target(_g(c.GPU_REMAPPED_ROWS), f"{EACH} remapped {{{{error_type}}}}"),
               Target(_g(c.GPU_ROW_REMAP_PENDING), f"{EACH} remap pending"),
               Target(_g(c.GPU_ROW_REMAP_FAILED), f"{EACH} remap failed"))),
        Panel("NVML health", "Whether NVML answers (per node) and each GPU is up, and seconds "
              "since the last successful collection.", "short",
              (Target(q.sel(c.GPU_NVML_UP.name, (q.INSTANCE,)), "{{instance}} NVML up"),
               Target(_g(c.GPU_UP), f"{EACH} up"),
               Target(f"time() - {q.sel(c.GPU_LAST_SUCCESS.name, (q.INSTANCE,))}",
                      "{{instance}} seconds since success"))),
    ))  # fmt: skip
    node_gpus = q.sel(c.GPU_INFO.name, (q.INSTANCE,))
    return Dashboard(
        uid=GPU_UID, title=TITLE,
        description="The GPUs under the models, from llm-exporter serve (NVML).",
        tags=("llm-exporter", "gpu"), rows=(load, heat, errors),
        variables=(
            Variable("instance", "Node", f"label_values({c.GPU_INFO.name}, instance)"),
            Variable("gpu", "GPU", f"label_values({node_gpus}, {c.GPU})"),
        ),
        links=((("LLM overview", OVERVIEW_UID)),),
    )  # fmt: skip
