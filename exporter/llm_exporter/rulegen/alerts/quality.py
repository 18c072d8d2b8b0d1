"""Quality tier: what HTTP status codes cannot see. Judge scores, user feedback, structured
output validity, and the judge pipeline itself. These open tickets (warning); a quality drop
needs a person to look, not a page at night."""

from __future__ import annotations

from collections.abc import Callable

from ... import catalog as c
from ...track.tracker import INVALID, NEGATIVE
from .. import promql
from .. import recording as r
from ..evidence import any_window, min_events_param, share_exceeds, windows_param, z_param
from ..model import (
    EVALUATION,
    MODEL,
    NUMBER,
    PERCENT,
    RESPONSE_MODEL,
    AlertDef,
    Ctx,
    Param,
    Runbook,
)
from ..thresholds import AlertSettings
from .common import QUALITY, over, pct, where

MIN_SAMPLES = Param(10, "Fewest judge scores in a window before its mean can fire.", "int",
                    minimum=1)  # fmt: skip
# A judge samples a few percent of the calls: an app making a few calls a minute gets a handful
# of scores an hour, so the long window is hours.
SCORE_WINDOWS = windows_param("1h", "3h", "scores")


def _score_mean(x: Ctx, s: AlertSettings, low: Callable[[str, str], str]) -> str:
    """The mean judge score per criterion and model, in whichever window has min_samples;
    ``low(mean, count)`` says when it is too low."""
    by = (c.EVALUATION_NAME, c.REQUEST_MODEL)

    def holds(w: str) -> str:
        count = x.increase(w, c.QUALITY_SCORE.base_name + "_count", c.QUALITY_SCORE.count, by=by)
        total = x.increase(w, c.QUALITY_SCORE.base_name + "_sum", c.QUALITY_SCORE.sum, by=by)
        return f"{low(f'{total} / {count}', count)}\n  and {count} >= {s.min_samples}"

    def few(w: str) -> str:
        count = x.increase(w, c.QUALITY_SCORE.base_name + "_count", c.QUALITY_SCORE.count, by=by)
        return f"{count} < {s.min_samples}"

    return any_window(s.windows, holds, few)


def _score_dropping(x: Ctx, s: AlertSettings) -> str:
    """The mean is ``threshold`` below its baseline, and by more than the noise of a mean of
    ``count`` scores: at 10 scores with a spread of 0.15 a mean wanders 0.05 on its own."""
    baseline = r.baseline(r.SCORE_MEAN)

    def low(mean: str, count: str) -> str:
        return (f"{mean} < {baseline} - {promql.number(s.threshold)}\n"
                f"  and {baseline} - {mean} > {promql.number(s.z_score * s.spread)} "
                f"/ sqrt({count})")  # fmt: skip

    return _score_mean(x, s, low)


def _share_of(x: Ctx, s: AlertSettings, spec: c.MetricSpec, by: tuple[str, ...],
              bad: promql.Matcher, threshold: str, normal: str, least: float) -> str:  # fmt: skip
    """The share of a counter's events matching ``bad`` (recorded as <base>_<value>), with the
    guards of evidence.py; the long window is read where the short one holds too few events for
    min_events at the share ``least``."""
    base = spec.base_name

    def total(w: str) -> str:
        return x.increase(w, base, spec.name, by=by)

    def holds(w: str) -> str:
        matched = x.increase(w, f"{base}_{bad.value}", spec.name, bad, by=by)
        return share_exceeds(matched, total(w), threshold, normal, s.min_events, s.z_score)

    few = promql.number(s.min_events / least)
    return any_window(s.windows, holds, lambda w: f"{total(w)} < {few}")


def _thumbs_down(x: Ctx, s: AlertSettings) -> str:
    usual = r.baseline(r.NEGATIVE_RATIO)
    threshold = f"clamp_min({promql.number(s.threshold)} * {usual}, {promql.number(s.floor)})"
    negative = promql.eq(c.FEEDBACK_KIND, NEGATIVE)
    return _share_of(x, s, c.FEEDBACK, (c.REQUEST_MODEL,), negative, threshold,
                     f"clamp_min({usual}, 0.001)", s.floor)  # fmt: skip


def _invalid_outputs(x: Ctx, s: AlertSettings) -> str:
    threshold = promql.number(s.threshold)
    invalid = promql.eq(c.CHECK_RESULT, INVALID)
    return _share_of(x, s, c.OUTPUT_CHECKS, (c.REQUEST_MODEL, c.RESPONSE_MODEL), invalid,
                     threshold, threshold, s.threshold)  # fmt: skip


ALERTS: tuple[AlertDef, ...] = (
    AlertDef(
        name="QualityScoreLow",
        tier="quality",
        severity="warning",
        for_="10m",
        summary="Judge scores of a model are low.",
        description=lambda s: (
            f"The mean {EVALUATION} score of {MODEL} is {NUMBER} {over(s)} "
            f"(threshold {s.threshold:g})."
        ),
        expr=lambda x, s: _score_mean(x, s, lambda m, _n: f"{m} < {promql.number(s.threshold)}"),
        params={
            "threshold": Param(0.7, "Mean score, 0 to 1.", "ratio"),
            "windows": SCORE_WINDOWS,
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
            f"The mean {EVALUATION} score of {MODEL} is {NUMBER} {over(s)}, more than "
            f"{s.threshold:g} below its baseline."
        ),
        expr=_score_dropping,
        params={
            "threshold": Param(0.1, "Drop of the mean score below its baseline.", "ratio"),
            "windows": SCORE_WINDOWS,
            "min_samples": MIN_SAMPLES,
            "spread": Param(
                0.2,
                "Standard deviation of a single score (0.15 to 0.2 for rubric scores from 0 "
                "to 1), for the noise test.",
                "ratio",
            ),
            "z_score": z_param(3.0),
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
        for_="5m",
        summary="Users give more thumbs down than usual.",
        description=lambda s: (
            f"{PERCENT} of the feedback on {MODEL} is negative {over(s)}, more than "
            f"{s.threshold:g}x its baseline."
        ),
        expr=_thumbs_down,
        params={
            "threshold": Param(1.5, "Factor over the baseline."),
            "floor": Param(0.1, "Ignore while the negative share is below this.", "ratio"),
            "windows": windows_param("15m", "1h", "feedback events"),
            "min_events": min_events_param(5, "thumbs down"),
            "z_score": z_param(3.0),
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
        for_="5m",
        summary="Structured outputs of a model are often invalid.",
        description=lambda s: (
            f"{PERCENT} of the JSON or schema outputs of {MODEL} answered by "
            f"{RESPONSE_MODEL} were invalid {over(s)} (threshold {pct(s.threshold)})."
        ),
        expr=_invalid_outputs,
        params={
            "threshold": Param(0.05, "Share of invalid outputs.", "ratio"),
            "windows": windows_param("15m", "2h", "checks"),
            "min_events": min_events_param(3, "invalid outputs"),
            "z_score": z_param(2.0),
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
