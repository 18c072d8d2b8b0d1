"""Quality tier: what HTTP status codes cannot see. Judge scores, user feedback, structured
output validity, and the judge pipeline itself. These open tickets (warning); a quality drop
needs a person to look, not a page at night."""

from __future__ import annotations

from ... import catalog as c
from .. import promql
from .. import recording as r
from ..model import (
    EVALUATION,
    MODEL,
    NUMBER,
    PERCENT,
    RESPONSE_MODEL,
    AlertDef,
    Param,
    Runbook,
)
from .common import QUALITY, pct, where

MIN_SAMPLES = Param(20, "Stay quiet with fewer scores than this in the last hour.", "int")

ALERTS: tuple[AlertDef, ...] = (
    AlertDef(
        name="QualityScoreLow",
        tier="quality",
        severity="warning",
        for_="10m",
        summary="Judge scores of a model are low.",
        description=lambda s: (
            f"The mean {EVALUATION} score of {MODEL} over the last hour is "
            f"{NUMBER} (threshold {s.threshold:g})."
        ),
        expr=lambda x, s: (
            f"{r.SCORE_MEAN} < {promql.number(s.threshold)}\nand {r.SCORE_COUNT} >= {s.min_samples}"
        ),
        params={
            "threshold": Param(0.7, "Mean score, 0 to 1.", "ratio"),
            "min_samples": MIN_SAMPLES,
        },
        runbook=Runbook(
            "The mean of the quality scores (LLM-as-a-judge or your own evaluators) is below "
            "the threshold over the last hour.",
            (
                "A silent model update or a model switch (hallucinations rise).",
                "A prompt change.",
                "Retrieval returning irrelevant or stale documents (faithfulness drops).",
                "A change in the traffic's mix of questions.",
            ),
            (
                "Split by evaluation: faithfulness points at retrieval, relevance at the prompt, "
                "safety at content.",
                "Check the response models panel and prompt annotations.",
                "Read a sample of the judged answers.",
            ),
            f"{QUALITY} / Judge scores",
        ),
    ),
    AlertDef(
        name="QualityScoreDropping",
        tier="quality",
        severity="warning",
        for_="10m",
        summary="Judge scores of a model fell against their baseline.",
        description=lambda s: (
            f"The mean {EVALUATION} score of {MODEL} over the last hour is "
            f"{NUMBER}, more than {s.threshold:g} below its baseline."
        ),
        expr=lambda x, s: (
            f"{r.SCORE_MEAN} < {r.baseline(r.SCORE_MEAN)} - "
            f"{promql.number(s.threshold)}\nand {r.SCORE_COUNT} >= {s.min_samples}"
        ),
        params={
            "threshold": Param(0.1, "Drop of the mean score below its baseline.", "ratio"),
            "min_samples": MIN_SAMPLES,
        },
        runbook=Runbook(
            "Scores are still above the absolute threshold but fell clearly below their own "
            "baseline: drift, often after a model or prompt change.",
            ("A model update (check the response models).", "A prompt or retrieval change."),
            ("Compare with the deploy and prompt-version annotations.",),
            f"{QUALITY} / Judge scores",
        ),
    ),
    AlertDef(
        name="ThumbsDownRising",
        tier="quality",
        severity="warning",
        for_="15m",
        summary="Users give more thumbs down than usual.",
        description=lambda s: (
            f"{PERCENT} of the feedback on {MODEL} over the last hour is "
            f"negative, more than {s.threshold:g}x its baseline."
        ),
        expr=lambda x, s: (
            f"{r.NEGATIVE_RATIO} > {promql.number(s.threshold)} * "
            f"{r.baseline(r.NEGATIVE_RATIO)}\nand {r.NEGATIVE_RATIO} > {promql.number(s.floor)}\n"
            f"and {r.FEEDBACK_1H} >= {s.min_samples}"
        ),
        params={
            "threshold": Param(1.5, "Factor over the baseline."),
            "floor": Param(0.1, "Ignore while the negative share is below this.", "ratio"),
            "min_samples": Param(20, "Feedback events in the last hour.", "int"),
        },
        runbook=Runbook(
            "The share of negative feedback rose well above its usual level.",
            (
                "Answers got worse (see judge scores).",
                "Answers got slower (see latency).",
                "A UI change that made the feedback button more visible.",
            ),
            ("Compare judge scores, latency and handoffs over the same hour.",),
            f"{QUALITY} / Feedback",
        ),
    ),
    AlertDef(
        name="StructuredOutputInvalid",
        tier="quality",
        severity="warning",
        for_="10m",
        summary="Structured outputs of a model are often invalid.",
        description=lambda s: (
            f"{PERCENT} of the JSON or schema outputs of {MODEL} answered by "
            f"{RESPONSE_MODEL} were invalid over the last 15m (threshold {pct(s.threshold)})."
        ),
        expr=lambda x, s: (
            f"{r.INVALID_RATIO} > {promql.number(s.threshold)}\n"
            f"and {r.CHECKS_RATE} > {promql.number(s.min_rate)}"
        ),
        params={
            "threshold": Param(0.05, "Share of invalid outputs.", "ratio"),
            "min_rate": Param(0.01, "Checked outputs per second."),
        },
        runbook=Runbook(
            "JSON-mode and JSON-schema outputs fail to parse or to match their schema more "
            "often: a model swap that breaks JSON formatting shows here first.",
            (
                "A new response model (see the response models panel).",
                "A prompt change conflicting with the schema.",
                "Outputs cut off by max_tokens.",
            ),
            ("Break the checks down by response model.", "Look at output_parse errors."),
            f"{QUALITY} / Structured output validity",
        ),
    ),
    AlertDef(
        name="JudgeFailing",
        tier="quality",
        severity="warning",
        for_="15m",
        summary="The LLM-as-a-judge pipeline is failing.",
        description=lambda s: (
            f"{PERCENT} of judge evaluations of {where(s)} failed over the "
            f"last 15m (threshold {pct(s.threshold)})."
        ),
        expr=lambda x, s: f"{r.JUDGE_ERROR_RATIO} > {promql.number(s.threshold)}",
        params={"threshold": Param(0.2, "Share of failed evaluations.", "ratio")},
        runbook=Runbook(
            "The judge model's calls fail or return unusable scores: quality is no longer "
            "measured, so quality alerts cannot fire.",
            (
                "The judge model is rate limited or down.",
                "The judge's answers do not match the score schema (output_parse).",
                "An expired key for the judge's client.",
            ),
            ("Break judge evaluations down by error_type.",),
            f"{QUALITY} / Judge pipeline",
        ),
    ),
    AlertDef(
        name="JudgeSilent",
        tier="quality",
        severity="warning",
        for_="15m",
        summary="The LLM-as-a-judge pipeline stopped producing evaluations.",
        description=lambda s: (
            f"{where(s)} made LLM calls but finished {NUMBER} judge evaluations in the last hour."
        ),
        expr=lambda x, s: (
            f"{r.JUDGE_1H} == 0\nand {x.on()} {r.APP_OPS} > {promql.number(s.min_rate)}"
        ),
        params={"min_rate": Param(0.05, "LLM calls per second that should produce samples.")},
        runbook=Runbook(
            f"The judge is deployed ({c.JUDGE_EVALUATIONS.name} exists) but finished nothing "
            "in an hour of traffic: its worker is stuck, or nothing is submitted.",
            (
                "The judge worker thread is stuck on a hanging call.",
                "The code path that calls submit() was removed or the sample rate set to 0.",
            ),
            ("Check the judge queue length and samples.",),
            f"{QUALITY} / Judge pipeline",
        ),
    ),
)
