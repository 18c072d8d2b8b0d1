"""LLM quality: judge scores, user feedback, structured output validity, response models (to
see a model change), retrieval health (empty results, relevance, index age), and the judge
pipeline's own health.

Scores and feedback are sparse (a judge samples 5% of answers), so their panels average over 30
minutes instead of the rate interval; each panel says so.
"""

from __future__ import annotations

from .. import catalog as c
from ..rulegen import promql
from ..rulegen.alerts import common as titles
from ..rulegen.thresholds import Config
from ..track.judge import DROPPED
from ..track.tracker import NEGATIVE, VALID
from . import queries as q
from .common import OVERVIEW_UID, QUALITY_UID, deploy_annotations, variables
from .model import Dashboard, Panel, Row, Target, Threshold

TITLE = titles.QUALITY
SPARSE = "30m"
MODEL, RESP, EV = c.REQUEST_MODEL, c.RESPONSE_MODEL, c.EVALUATION_NAME
VALID_CHECK = promql.eq(c.CHECK_RESULT, VALID)


def build(config: Config) -> Dashboard:
    low = config.alerts["QualityScoreLow"].threshold
    feedback = c.FEEDBACK.name
    checks = c.OUTPUT_CHECKS.name
    judged = c.JUDGE_EVALUATIONS.name
    scores = Row("Scores and feedback", (
        Panel("Judge scores", "Mean quality score (0 to 1) by evaluation and model over the last "
              f"{SPARSE}: LLM-as-a-judge faithfulness, relevance and safety, and your own "
              f"evaluators. The alert fires below {low:g}.", "percentunit",
              (Target(q.mean(c.QUALITY_SCORE, (EV, MODEL), q.QUALITY, window=SPARSE),
                      "{{gen_ai_evaluation_name}} {{gen_ai_request_model}}"),),
              minimum=0, maximum=1, thresholds=(Threshold(None, "red"), Threshold(low, "green"))),
        Panel("Feedback", f"Share of thumbs down by model over the last {SPARSE}.",
              "percentunit",
              (Target(q.ratio(q.sum_rate((MODEL,), feedback, q.QUALITY,
                                         promql.eq("feedback", NEGATIVE), window=SPARSE),
                              q.sum_rate((MODEL,), feedback, q.QUALITY, window=SPARSE)),
                      "{{gen_ai_request_model}} thumbs down"),), minimum=0, maximum=1),
        Panel("Ratings", f"Mean user rating (1 to 5) by model over the last {SPARSE}.", "short",
              (Target(q.mean(c.FEEDBACK_RATING, (MODEL,), q.QUALITY, window=SPARSE),
                      "{{gen_ai_request_model}}"),), minimum=1, maximum=5),
    ))  # fmt: skip
    outputs = Row("Outputs and models", (
        Panel("Structured output validity", "Share of JSON-mode and JSON-schema outputs that "
              "parse and match their schema, by model and the model that answered.",
              "percentunit",
              (Target(f"{q.sum_rate((MODEL, RESP), checks, q.QUALITY, VALID_CHECK)}"
                      f"\n/\n{q.sum_rate((MODEL, RESP), checks, q.QUALITY)}",
                      "{{gen_ai_request_model}} via {{gen_ai_response_model}}"),),
              minimum=0, maximum=1),
        Panel("Response models", "Calls per second by request model and the model that "
              "answered: a new line is a model change (a snapshot upgrade, a routing switch).",
              "reqps",
              (Target(q.sum_rate((MODEL, RESP), c.OPERATION_DURATION.count, q.LLM),
                      "{{gen_ai_request_model}} → {{gen_ai_response_model}}"),), stacked=True),
    ))  # fmt: skip
    judge = Row("Judge pipeline", (
        Panel("Judge pipeline", "Judge evaluations per second by outcome (\"\" produced scores), "
              "and samples dropped because the queue was full.", "reqps",
              (Target(q.sum_rate((c.ERROR_TYPE,), judged, q.APP), "evaluations {{error_type}}"),
               Target(q.or_zero(q.sum_rate((), c.JUDGE_SAMPLES.name, q.APP,
                                           promql.eq("outcome", DROPPED))), "dropped"))),
        Panel("Judge queue", "Samples waiting for the judge; a queue at its bound drops.",
              "short", (Target(f"sum by (job) ({q.sel(c.JUDGE_QUEUE_LENGTH.name, q.APP)})",
                               "{{job}}"),)),
    ))  # fmt: skip
    return Dashboard(
        uid=QUALITY_UID, title=TITLE,
        description="What HTTP status codes cannot see: judge scores, feedback, structured "
        "output validity, model changes and retrieval health.",
        tags=("llm-exporter", "llm", "quality"), rows=(scores, outputs, _retrieval(config), judge),
        variables=variables(provider=False), annotations=deploy_annotations(), time_from="now-24h",
        links=((("LLM overview", OVERVIEW_UID)),),
    )  # fmt: skip


def _retrieval(config: Config) -> Row:
    source = c.DATA_SOURCE
    docs, score = c.RETRIEVAL_DOCUMENTS, c.RETRIEVAL_TOP_SCORE
    queries = q.sum_rate((source,), docs.count, q.APP)
    empty = q.sum_rate((source,), docs.bucket, q.APP, promql.le(0))
    max_age = promql.parse_duration(config.alerts["RetrievalIndexStale"].max_age)
    updated = q.sel(c.RETRIEVAL_INDEX_UPDATED.name, q.APP)
    legend = "{{" + source + "}}"
    return Row("Retrieval", (
        Panel("Retrieval results", "Share of retrieval queries that returned no document, by "
              "data source (llm_exporter.retrieval). A rise means the model answers without "
              "context.", "percentunit",
              (Target(q.ratio(empty, queries), legend),), minimum=0, maximum=1),
        Panel("Documents per query", "Mean documents a retrieval query returned, and queries "
              "per second, by data source.", "short",
              (Target(q.mean(docs, (source,), q.APP), f"{legend} documents"),
               Target(queries, f"{legend} queries/s"))),
        Panel("Relevance scores", "Mean relevance score of the best document per query (0 to "
              "1), by data source; the alert compares it with its 7-day baseline.",
              "percentunit", (Target(q.mean(score, (source,), q.APP), legend),),
              minimum=0, maximum=1),
        Panel("Index age", "Time since the index behind each data source was last updated "
              "(llm_exporter.set_index_updated); the alert fires past "
              f"{config.alerts['RetrievalIndexStale'].max_age}.", "s",
              (Target(f"time() - max by ({source}) ({updated})", legend),),
              thresholds=(Threshold(None, "green"), Threshold(max_age, "red"))),
    ))  # fmt: skip
