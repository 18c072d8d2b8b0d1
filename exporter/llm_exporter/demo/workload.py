"""The demo's traffic: single LLM calls of several shapes, and a support agent with tools, a
retrieval stage, a research sub-agent, handoffs, judge sampling and user feedback.

Every step runs attributed to a team, a feature, a tenant and a user, as a web app's middleware
would set them. Tools are simulated in-process (short sleeps), so only the LLM calls go over
HTTP to the simulator; a real app would call its vector store and web search there.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import openai
from openai.types.chat import ChatCompletionMessageParam

from ..cost import attribute
from ..track import Judge, Tracker
from ..track.tracker import HUMAN
from .incidents import Conditions, Workload

SYSTEM = "You are a concise assistant for an online bookshop."
RETURNS_QUESTION = "Summarise the return policy in two sentences."
QUESTIONS = (
    "Which of your science fiction titles are in stock?",
    RETURNS_QUESTION,
    "Recommend three books like The Left Hand of Darkness.",
    "Is there a paperback edition of Piranesi?",
    "Translate 'shipping is free over 30 euros' into German.",
)
SUPPORT_MODELS = ("gpt-4o", "gpt-4o-mini")
ROUTE = "/support"
BILLING = "billing"  # the agent the support agent hands questions about returns to
KNOWLEDGE_BASE = "kb"  # the support agent's vector index (gen_ai_data_source_id)
TENANTS = ("acme", "globex", "initech", "umbrella", "hooli")
USERS = 300
# Short answers keep the LLM stage near half of a request's time: the demo is a balanced
# pipeline, so "one stage above 60%" fires only when something goes wrong.
ANSWER_TOKENS = 20


@dataclass
class Ctx:
    """What one worker thread's steps share."""

    client: openai.OpenAI
    rng: random.Random
    tracker: Tracker
    judge: Judge
    workload: Workload


@dataclass(frozen=True)
class Step:
    weight: float
    run: Callable[[Ctx], None]
    team: str
    feature: str


def _messages(question: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]


def _chat(model: str) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        messages = _messages(ctx.rng.choice(QUESTIONS))
        ctx.client.chat.completions.create(model=model, messages=messages)

    return run


def _chat_stream(model: str) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        messages = _messages(ctx.rng.choice(QUESTIONS))
        with ctx.client.chat.completions.create(model=model, messages=messages, stream=True) as s:
            for _ in s:
                pass

    return run


def _json_answer(ctx: Ctx) -> None:
    ctx.client.chat.completions.create(
        model="gpt-4o-mini",
        messages=_messages(ctx.rng.choice(QUESTIONS)),
        response_format={"type": "json_object"},
    )


def _responses(ctx: Ctx) -> None:
    ctx.client.responses.create(model="gpt-4o", instructions=SYSTEM,
                                input=ctx.rng.choice(QUESTIONS))  # fmt: skip


def _embed(ctx: Ctx) -> None:
    ctx.client.embeddings.create(model="text-embedding-3-small",
                                 input=[ctx.rng.choice(QUESTIONS)])  # fmt: skip


# -- the support agent ------------------------------------------------------------------------


def _vector_search(ctx: Ctx, question: str, conditions: Conditions) -> list[dict]:
    rng = ctx.rng
    with ctx.tracker.tool("vector_search") as call, ctx.tracker.retrieval(KNOWLEDGE_BASE) as kb:
        if rng.random() < conditions.tool_timeout_rate:
            time.sleep(0.5)
            raise TimeoutError("vector store did not answer in 500 ms")
        time.sleep(rng.uniform(0.2, 0.45))
        found = 0 if rng.random() < conditions.empty_retrievals else rng.randint(2, 6)
        best = min(1.0, max(0.0, rng.gauss(conditions.relevance, 0.05)))
        docs = [{"id": f"doc-{rng.randrange(10_000)}", "text": question * 4,
                 "score": round(best - 0.04 * i, 3)} for i in range(found)]  # fmt: skip
        return call.result(kb.result(docs))


def _rerank(ctx: Ctx, docs: list[dict[str, str]]) -> list[dict[str, str]]:
    with ctx.tracker.tool("rerank") as call:
        time.sleep(ctx.rng.uniform(0.15, 0.35))
        return call.result(docs[:3])


def _web_search(ctx: Ctx) -> str:
    with ctx.tracker.tool("web_search") as call:
        time.sleep(ctx.rng.uniform(0.01, 0.05))
        return call.result("result " * ctx.rng.randint(50, 400))


def _research(ctx: Ctx, question: str, depth: int, conditions: Conditions) -> None:
    """A research sub-agent; under the agent-loop incident it recurses and fans out."""
    with ctx.tracker.agent("researcher"):
        for _ in range(conditions.research_fanout):
            _web_search(ctx)
        if depth < conditions.research_depth:
            _research(ctx, question, depth + 1, conditions)


def _support(ctx: Ctx) -> None:
    """One support request: retrieval and rerank, an LLM answer (by the billing agent, after a
    handoff, for returns), sometimes research, a guardrail check, maybe a handoff to a person;
    then judge sampling and, now and then, feedback."""
    rng, tracker, conditions = ctx.rng, ctx.tracker, ctx.workload.conditions
    question, model = rng.choice(QUESTIONS), rng.choice(SUPPORT_MODELS)
    answer = ""
    with tracker.agent("support"):
        try:
            with tracker.stage("retrieval"):
                docs = _rerank(ctx, _vector_search(ctx, question, conditions))
        except TimeoutError:
            docs = []  # answer without context, as many apps do
        if conditions.research_depth > 1 or rng.random() < 0.2:
            _research(ctx, question, 1, conditions)
        with tracker.stage("llm"):
            context = "\n".join(d["text"] for d in docs)
            messages = _messages(f"{question}\n\nContext:\n{context}")
            owner: contextlib.AbstractContextManager = contextlib.nullcontext()
            if question == RETURNS_QUESTION:  # triage: returns are the billing agent's to answer
                tracker.handoff(BILLING, "returns")
                owner = tracker.agent(BILLING)
            with owner:
                reply = ctx.client.chat.completions.create(model=model, messages=messages,
                                                           max_tokens=ANSWER_TOKENS)  # fmt: skip
            answer = reply.choices[0].message.content or ""
        with tracker.stage("postprocess"):
            time.sleep(ctx.rng.uniform(0.05, 0.15))  # a guardrail check on the answer
            answer = answer.strip()
        if not docs or rng.random() < 0.02:
            tracker.handoff(HUMAN, "no_context" if not docs else "low_confidence")
    ctx.judge.submit(question, answer, model=model)
    if rng.random() < 0.25:
        happy = rng.random() < 0.85
        rating = rng.choice((4, 5)) if happy else rng.choice((1, 2, 3))
        tracker.record_feedback(happy, rating=rating, model=model, route=ROUTE)


WORKLOAD = (
    Step(0.25, _support, "support", "answer"),
    Step(0.20, _chat("gpt-4o-mini"), "catalog", "recommendations"),
    Step(0.10, _chat("gpt-4o"), "catalog", "recommendations"),
    Step(0.15, _chat_stream("gpt-4o"), "support", "chat"),
    Step(0.07, _chat_stream("gpt-4o-mini"), "support", "chat"),
    # self-hosted: no price, counted as unpriced
    Step(0.04, _chat("llama-3.1-8b-instruct"), "platform", "summaries"),
    Step(0.08, _json_answer, "catalog", "product_json"),
    Step(0.06, _responses, "support", "faq"),
    Step(0.05, _embed, "search", "embeddings"),
)


def attributed(step: Step, rng: random.Random) -> attribute:
    """The request's attribution, as a middleware would set it: the step's team and feature,
    a tenant and a user."""
    return attribute(team=step.team, feature=step.feature, tenant=rng.choice(TENANTS),
                     user=f"user-{rng.randrange(USERS)}")  # fmt: skip
