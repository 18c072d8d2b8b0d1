"""What the dashboards share: uids, template variables, and the version annotations."""

from __future__ import annotations

from .. import catalog as c
from . import queries as q
from .model import Annotation, Panel, Target, Variable

OVERVIEW_UID = "llm-exporter-overview"
COST_UID = "llm-exporter-cost"
QUALITY_UID = "llm-exporter-quality"
GPU_UID = "llm-exporter-gpu"

_CALLS = c.OPERATION_DURATION.count


def variables(provider: bool = True) -> tuple[Variable, ...]:
    out = [Variable("job", "Job", f"label_values({_CALLS}, job)")]
    if provider:
        out.append(Variable("provider", "Provider", _values(c.PROVIDER)))
    out.append(Variable("model", "Model", _values(c.REQUEST_MODEL)))
    return tuple(out)


def _values(label: str) -> str:
    return f'label_values({_CALLS}{{job=~"$job"}}, {label})'


def _changed(labels: str) -> str:
    """Series of the app-info metric whose versions appeared in the last 5 minutes."""
    info = q.sel(c.APP_INFO.name, q.APP)
    return (f"count by (job, {labels}) ({info})\nunless\n"
            f"count by (job, {labels}) ({info} offset 5m)")  # fmt: skip


def cost_per_hour_by_model(description: str) -> Panel:
    """Spend per hour at the current rate by model (the overview's and the cost dashboard's)."""
    return Panel("Cost per hour by model", description, "currencyUSD",
                 (Target(f"{q.sum_rate((c.REQUEST_MODEL,), c.COST.name, q.LLM)} * 3600",
                         "{{" + c.REQUEST_MODEL + "}}"),), stacked=True)  # fmt: skip


def deploy_annotations() -> tuple[Annotation, ...]:
    """Deploys and prompt-version changes, from the app's version info series."""
    return (
        Annotation("Deploys", _changed("app_version, git_commit"),
                   "Deploy {{app_version}}", "{{job}} at {{git_commit}}", "blue"),
        Annotation("Prompt versions", _changed("prompt_version"),
                   "Prompt {{prompt_version}}", "{{job}}", "orange"),
    )  # fmt: skip
