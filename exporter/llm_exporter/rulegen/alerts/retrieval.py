"""Quality tier, retrieval (RAG): empty results rising, relevance falling against its baseline,
and an index older than it should be. Retrieval that quietly degrades shows first as answers
that are less faithful; these name the cause."""

from __future__ import annotations

from ... import catalog as c
from .. import promql
from .. import recording as r
from ..evidence import any_window, min_events_param, share_exceeds, windows_param, z_param
from ..model import NUMBER, PERCENT, SECONDS, AlertDef, Ctx, Param, Runbook, label_template
from ..thresholds import AlertSettings
from .common import QUALITY, over, times

SOURCE = label_template(c.DATA_SOURCE)


def _empty_rising(x: Ctx, s: AlertSettings) -> str:
    """Empty results above twice their baseline share, with enough of them behind it."""
    source, docs = (c.DATA_SOURCE,), c.RETRIEVAL_DOCUMENTS
    usual = r.baseline(r.EMPTY_RATIO)
    threshold = f"clamp_min({promql.number(s.threshold)} * {usual}, {promql.number(s.floor)})"
    normal = f"clamp_min({usual}, 0.001)"

    def queries(w: str) -> str:
        return x.increase(w, f"{docs.name}_queries", docs.count, by=source)

    def holds(w: str) -> str:
        empty = x.increase(w, f"{docs.name}_empty", docs.bucket, promql.le(0), by=source)
        return share_exceeds(empty, queries(w), threshold, normal, s.min_events, s.z_score)

    few = promql.number(s.min_events / s.floor)
    return any_window(s.windows, holds, lambda w: f"{queries(w)} < {few}")


MIN_RATE = Param(0.02, "Stay quiet below this many retrieval queries per second.")

ALERTS: tuple[AlertDef, ...] = (
    AlertDef(
        name="RetrievalEmptyResultsRising",
        tier="quality",
        severity="warning",
        for_="5m",
        keep_firing_for="10m",
        summary="More retrieval queries come back empty than usual.",
        description=lambda s: (
            f"{PERCENT} of the queries to {SOURCE} returned no document {over(s)}, more "
            f"than {times(s.threshold)} its baseline."
        ),
        expr=_empty_rising,
        params={
            "threshold": Param(2.0, "Factor over the baseline."),
            "floor": Param(0.05, "Ignore while fewer queries than this come back empty.", "ratio"),
            "windows": windows_param("15m", "1h", "queries"),
            "min_events": min_events_param(5, "empty results"),
            "z_score": z_param(3.0),
        },
        runbook=Runbook(
            "The share of retrieval queries that return no document at all rose well above "
            "its baseline. The model then answers without context: hallucinations, handoffs "
            "and thumbs down follow.",
            (
                "The index was emptied or half rebuilt (a failed re-index job).",
                "The embedding model changed without re-indexing: queries and documents no longer "
                "live in the same space.",
                "A filter (tenant, language, date) that excludes everything after a change.",
                "A new kind of question the corpus does not cover.",
            ),
            (
                "Compare documents per query and the index age on the same dashboard.",
                "Run a known query against the store by hand.",
                "Check the last re-index job and the embedding model's version.",
            ),
            f"{QUALITY} / Retrieval results",
        ),
    ),
    AlertDef(
        name="RetrievalRelevanceDropping",
        tier="quality",
        severity="warning",
        for_="10m",
        keep_firing_for="10m",
        summary="The relevance of retrieved documents fell against its baseline.",
        description=lambda s: (
            f"The mean top relevance score of {SOURCE} over the last 15m is {NUMBER}, more than "
            f"{s.threshold:g} below its baseline."
        ),
        expr=lambda x, s: (
            f"{r.TOP_SCORE_MEAN} < {r.baseline(r.TOP_SCORE_MEAN)} - "
            f"{promql.number(s.threshold)}\nand {r.RETRIEVALS} > {promql.number(s.min_rate)}"
        ),
        params={
            "threshold": Param(0.1, "Drop of the mean top score below its baseline.", "ratio"),
            "min_rate": MIN_RATE,
        },
        runbook=Runbook(
            "The best document of each query matches it less well than usual: the context the "
            "model gets is weaker, and faithfulness scores follow.",
            (
                "The embedding model or its version changed (documents embedded with the old one).",
                "Stale content: the questions moved on and the index did not.",
                "A chunking or pre-processing change in the last re-index.",
                "A reranker switched off or failing.",
            ),
            (
                "Open relevance scores and the index age.",
                "Compare faithfulness judge scores over the same hours.",
            ),
            f"{QUALITY} / Relevance scores",
        ),
    ),
    AlertDef(
        name="RetrievalIndexStale",
        tier="quality",
        severity="warning",
        for_="10m",
        summary="A retrieval index has not been updated for too long.",
        description=lambda s: (
            f"The index of {SOURCE} was last updated {SECONDS} ago (threshold {s.max_age})."
        ),
        expr=lambda x, s: (
            f"time() - max {x.by(c.DATA_SOURCE)} ({x.app(c.RETRIEVAL_INDEX_UPDATED.name)}) > "
            f"{promql.number(promql.parse_duration(s.max_age))}"
        ),
        params={
            "max_age": Param(
                "36h",
                "Oldest acceptable index (a nightly job that missed one run, with some slack).",
                "duration",
            ),
        },
        runbook=Runbook(
            f"The application reports ({c.RETRIEVAL_INDEX_UPDATED.name}, set by "
            "llm_exporter.set_index_updated) that the index behind the data source was last "
            "updated longer ago than max_age: answers are built from stale documents.",
            (
                "The re-index job failed or stopped being scheduled.",
                "The job runs but the application is not told (set_index_updated not called).",
                "The source the job reads from stopped changing.",
            ),
            (
                "Check the indexing job's last run and its logs.",
                "Compare the relevance scores and empty results since the last update.",
            ),
            f"{QUALITY} / Index age",
        ),
    ),
)
