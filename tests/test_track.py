"""Agent, tool, stage and handoff helpers; depth and fan-out; scores, feedback, app info."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from llm_exporter import catalog

from .tracked import Reader


@pytest.fixture
def r() -> Reader:
    return Reader()


AGENT = catalog.AGENT_DURATION
TOOL = catalog.TOOL_DURATION
DEPTH = catalog.AGENT_DEPTH
FANOUT = catalog.AGENT_CHILD_INVOCATIONS


def agent_runs(r: Reader, name: str, error: str = "") -> float:
    return r.value(AGENT.count, gen_ai_agent_name=name, error_type=error)


# -- agents: depth and fan-out ------------------------------------------------------------------


def test_nested_agents_record_depth_once_per_request_and_fanout_per_run(r: Reader) -> None:
    t = r.tracker
    with t.agent("root"):
        with t.agent("planner"), t.agent("researcher"), t.tool("search"):
            pass
        with t.tool("calculator"):
            pass
    assert agent_runs(r, "root") == agent_runs(r, "planner") == agent_runs(r, "researcher") == 1
    # Depth is recorded once, under the top-level agent: root > planner > researcher = 3.
    assert r.value(DEPTH.count, gen_ai_agent_name="root") == 1
    assert r.value(DEPTH.sum, gen_ai_agent_name="root") == 3
    assert r.value(DEPTH.count, gen_ai_agent_name="planner") == 0
    # Fan-out: root started planner and calculator; planner one agent; researcher one tool.
    assert r.value(FANOUT.sum, gen_ai_agent_name="root") == 2
    assert r.value(FANOUT.sum, gen_ai_agent_name="planner") == 1
    assert r.value(FANOUT.sum, gen_ai_agent_name="researcher") == 1


def test_depth_and_fanout_across_asyncio_gather_and_concurrent_requests(r: Reader) -> None:
    t = r.tracker

    async def leaf() -> None:
        async with t.agent("leaf"):
            await asyncio.sleep(0)

    @t.agent("mid")
    async def mid() -> None:
        await asyncio.gather(*(leaf() for _ in range(3)))

    @t.agent("root")
    async def request() -> None:
        await asyncio.gather(mid(), mid(), asyncio.create_task(mid()))

    async def traffic() -> None:
        await asyncio.gather(*(request() for _ in range(50)))  # 50 requests interleaved

    asyncio.run(traffic())
    assert agent_runs(r, "root") == 50 and agent_runs(r, "mid") == 150
    assert agent_runs(r, "leaf") == 450
    # Every request reached depth 3 exactly: no request saw another's frames.
    assert r.value(DEPTH.count, gen_ai_agent_name="root") == 50
    assert r.value(DEPTH.sum, gen_ai_agent_name="root") == 150
    assert r.value(DEPTH.bucket, gen_ai_agent_name="root", le="2.0") == 0
    assert r.value(DEPTH.bucket, gen_ai_agent_name="root", le="3.0") == 50
    assert r.value(FANOUT.sum, gen_ai_agent_name="root") == 150
    assert r.value(FANOUT.sum, gen_ai_agent_name="mid") == 450


def test_depth_across_thread_pools_that_copy_context(r: Reader) -> None:
    t = r.tracker
    barrier = threading.Barrier(8)  # all children run at once, so their counts race

    def child() -> None:
        with t.agent("worker"):
            barrier.wait(timeout=10)
            with t.agent("helper"), t.tool("lookup"):
                pass

    async def via_to_thread() -> None:
        with t.agent("async-root"):
            await asyncio.gather(*(asyncio.to_thread(time.sleep, 0) for _ in range(2)))
            await asyncio.to_thread(child_no_barrier)

    def child_no_barrier() -> None:
        with t.agent("worker"):
            pass

    with t.agent("root"), ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(contextvars.copy_context().run, child) for _ in range(8)]
        for f in futures:
            f.result(timeout=10)
    assert r.value(DEPTH.sum, gen_ai_agent_name="root") == 3
    assert r.value(FANOUT.sum, gen_ai_agent_name="root") == 8
    assert r.value(FANOUT.sum, gen_ai_agent_name="worker") == 8

    asyncio.run(via_to_thread())
    assert r.value(DEPTH.sum, gen_ai_agent_name="async-root") == 2  # to_thread copies context
    assert r.value(FANOUT.sum, gen_ai_agent_name="async-root") == 1


def test_plain_executor_submit_starts_a_new_top_level_run(r: Reader) -> None:
    """ThreadPoolExecutor.submit does not copy context (Python's rule): documented behaviour."""
    t = r.tracker
    with t.agent("root"), ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(lambda: t.agent("detached").__enter__().__exit__(None, None, None)).result()
    assert r.value(DEPTH.count, gen_ai_agent_name="detached") == 1
    assert r.value(FANOUT.sum, gen_ai_agent_name="root") == 0


def test_agent_outcomes_are_runs_by_error_class(r: Reader) -> None:
    t = r.tracker

    @t.agent("support")
    def run(fail: BaseException | None) -> str:
        if fail is not None:
            raise fail
        return "answer"

    assert run(None) == "answer"
    for exc in (TimeoutError(), ValueError("bad")):
        with pytest.raises(type(exc)):
            run(exc)
    with pytest.raises(asyncio.CancelledError), t.agent("support"):
        raise asyncio.CancelledError
    assert agent_runs(r, "support", "") == 1
    assert agent_runs(r, "support", "timeout") == 1
    assert agent_runs(r, "support", "ValueError") == 1
    assert agent_runs(r, "support", "cancelled") == 1


# -- tools -----------------------------------------------------------------------------------


def test_tool_decorators_sync_and_async_classify_and_measure_results(r: Reader) -> None:
    t = r.tracker
    payload = {"rows": [{"id": i, "name": "naïve café"} for i in range(50)]}

    @t.tool("query_open_data")
    def query() -> dict:
        return payload

    @t.tool("vector_search")
    async def search(exc: Exception | None) -> str:
        if exc:
            raise exc
        return "ünïcode"

    assert query() is payload
    assert asyncio.run(search(None)) == "ünïcode"
    request = httpx.Request("GET", "http://vector-store")
    failures = [httpx.ReadTimeout("slow", request=request), ConnectionResetError(),
                httpx.ConnectError("down", request=request), KeyError("x")]  # fmt: skip
    for exc in failures:
        with pytest.raises(type(exc)):
            asyncio.run(search(exc))
    by_error = {s.labels["error_type"]: s.value for s in r.samples(TOOL.count)
                if s.labels["gen_ai_tool_name"] == "vector_search"}  # fmt: skip
    assert by_error == {"": 1, "timeout": 1, "connection": 2, "KeyError": 1}
    size = catalog.TOOL_RESULT_SIZE
    expected = len(json.dumps(payload, ensure_ascii=False).encode())
    assert r.value(size.sum, gen_ai_tool_name="query_open_data") == expected
    assert r.value(size.sum, gen_ai_tool_name="vector_search") == len("ünïcode".encode())


def test_tool_context_manager_result_and_explicit_failure(r: Reader) -> None:
    t = r.tracker
    with t.tool("mcp_fetch") as call:
        call.result(b"x" * 3_000_000)  # the JSON that filled the context window
    with t.tool("mcp_fetch") as call:
        call.fail("not_found")  # a tool that answered with an error result
    size = catalog.TOOL_RESULT_SIZE
    assert r.value(size.bucket, gen_ai_tool_name="mcp_fetch", le="1.048576e+06") == 0
    assert r.value(size.bucket, gen_ai_tool_name="mcp_fetch", le="4.194304e+06") == 1
    assert r.value(TOOL.count, gen_ai_tool_name="mcp_fetch", error_type="not_found") == 1
    assert r.value(TOOL.count, gen_ai_tool_name="mcp_fetch", error_type="") == 1


# -- stages and handoffs ---------------------------------------------------------------------------


def test_stage_share_of_total_time_is_computable(r: Reader) -> None:
    t = r.tracker
    with t.stage("retrieval"):
        time.sleep(0.2)
    with t.stage("llm"):
        pass

    @t.stage("postprocess")
    def post() -> None:
        pass

    post()
    stage = catalog.STAGE_DURATION
    sums = {s.labels["stage"]: s.value for s in r.samples(stage.sum)}
    assert set(sums) == {"retrieval", "llm", "postprocess"}
    assert sums["retrieval"] / sum(sums.values()) > 0.6


def test_handoffs_default_to_the_current_agent(r: Reader) -> None:
    t = r.tracker
    with t.agent("triage"):
        t.handoff("billing", "intent:refund")
        t.handoff("human", "low_confidence")
    t.handoff("human", "angry_user", from_agent="support")
    name = catalog.HANDOFFS.name
    assert r.value(name, from_agent="triage", to_agent="billing", reason="intent:refund") == 1
    assert r.value(name, from_agent="triage", to_agent="human", reason="low_confidence") == 1
    assert r.value(name, from_agent="support", to_agent="human", reason="angry_user") == 1


# -- quality scores, feedback, app info ------------------------------------------------------------


def test_scores_feed_a_histogram_whose_mean_is_exact(r: Reader) -> None:
    t = r.tracker
    for value in (0.2, 0.9, 1.0, 0):
        t.record_score("faithfulness", value, model="gpt-4o")
    score = catalog.QUALITY_SCORE
    labels = {"gen_ai_evaluation_name": "faithfulness", "gen_ai_request_model": "gpt-4o"}
    assert r.value(score.count, **labels) == 4
    assert r.value(score.sum, **labels) == pytest.approx(2.1)


def test_out_of_range_data_is_dropped_counted_and_logged_once(
    r: Reader, caplog: pytest.LogCaptureFixture
) -> None:
    t = r.tracker
    with caplog.at_level(logging.WARNING, logger="llm_exporter"):
        for bad in (1.7, -0.1, float("nan"), "high", True):
            t.record_score("relevance", bad, model="m")  # type: ignore[arg-type]
        t.record_feedback("meh", model="m")
        t.record_feedback(["up"], model="m")
        for rating_by_mistake in (1, 0, 1.0):  # a rating passed as feedback is no thumb
            t.record_feedback(rating_by_mistake, model="m")
        t.record_feedback(rating=6, model="m")
    rejected = catalog.REJECTED_OBSERVATIONS.name
    assert r.value(rejected, signal="quality_score", reason="out_of_range") == 5
    assert r.value(rejected, signal="feedback", reason="unknown_value") == 5
    assert r.value(catalog.FEEDBACK.name, gen_ai_request_model="m", route="",
                   feedback="positive") == 0  # fmt: skip
    assert r.value(rejected, signal="feedback_rating", reason="out_of_range") == 1
    assert r.value(catalog.QUALITY_SCORE.count, gen_ai_evaluation_name="relevance",
                   gen_ai_request_model="m") == 0  # fmt: skip
    logged = [rec for rec in caplog.records if "dropped" in rec.getMessage()]
    assert len(logged) == 3  # once per kind, not once per drop


def test_feedback_thumbs_and_ratings(r: Reader) -> None:
    t = r.tracker
    for value in ("up", "thumbs_up", True, "down", False, "negative"):
        t.record_feedback(value, model="gpt-4o", route="/chat")
    t.record_feedback(rating=5, model="gpt-4o", route="/chat")
    t.record_feedback("down", rating=2, model="gpt-4o", route="/chat")
    name = catalog.FEEDBACK.name
    common = {"gen_ai_request_model": "gpt-4o", "route": "/chat"}
    assert r.value(name, feedback="positive", **common) == 3
    assert r.value(name, feedback="negative", **common) == 4
    assert r.value(catalog.FEEDBACK_RATING.sum, **common) == 7
    assert r.value(catalog.FEEDBACK_RATING.count, **common) == 2


def test_app_info_shows_only_the_current_versions(
    r: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_EXPORTER_GIT_COMMIT", "abc1234")
    r.tracker.set_app_info("1.4.0", prompt_version="support-v7")
    r.tracker.set_app_info("1.4.0", prompt_version="support-v8")
    series = r.samples(catalog.APP_INFO.name)
    assert [s.labels for s in series] == [
        {"app_version": "1.4.0", "git_commit": "abc1234", "prompt_version": "support-v8"}
    ]


# -- never raising into the application ---------------------------------------------------------


class _Broken:
    def labels(self, *values: str) -> None:
        raise RuntimeError("recording is broken")


def test_a_fault_in_recording_never_reaches_the_application(r: Reader) -> None:
    t = r.tracker
    t.agent_duration = t.tool_duration = t.scores = _Broken()  # type: ignore[assignment]

    @t.tool("search")
    def search() -> str:
        return "ok"

    with t.agent("support"):
        assert search() == "ok"
    t.record_score("relevance", 0.5)
    with pytest.raises(KeyError), t.agent("support"):  # the app's own error still propagates
        raise KeyError("app")
    errors = catalog.INSTRUMENTATION_ERRORS.name
    assert r.value(errors, component="agent", error_class="RuntimeError") == 2
    assert r.value(errors, component="tool", error_class="RuntimeError") == 1
    assert r.value(errors, component="score", error_class="RuntimeError") == 1
