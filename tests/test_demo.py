"""`llm-exporter demo` as a real process: its endpoint carries every LLM-call family, passes
promtool, and an injected incident shows up in the error classes."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

from llm_exporter import catalog

from .conftest import EXE, free_port, http_get, promtool_check_metrics

EXPECTED = (
    catalog.OPERATION_DURATION, catalog.TOKEN_USAGE, catalog.TIME_TO_FIRST_CHUNK,
    catalog.TIME_PER_OUTPUT_CHUNK, catalog.COST, catalog.UNPRICED_OPERATIONS,
    catalog.CONTEXT_WINDOW_USAGE, catalog.OUTPUT_CHECKS,
    # the support agent: agents, tools, stages, handoffs, judge, feedback, versions
    catalog.AGENT_DURATION, catalog.AGENT_DEPTH, catalog.AGENT_CHILD_INVOCATIONS,
    catalog.TOOL_DURATION, catalog.TOOL_RESULT_SIZE, catalog.STAGE_DURATION, catalog.HANDOFFS,
    catalog.QUALITY_SCORE, catalog.JUDGE_EVALUATIONS, catalog.FEEDBACK, catalog.FEEDBACK_RATING,
    catalog.APP_INFO,
    # attribution, the per-user tracker, retrieval
    catalog.TOKENS, catalog.USERS_OVER_DAILY_CAP, catalog.USER_TOP_SPEND, catalog.TRACKED_USERS,
    catalog.TRACKED_USERS_EVICTED, catalog.RETRIEVAL_DOCUMENTS, catalog.RETRIEVAL_TOP_SCORE,
    catalog.RETRIEVAL_INDEX_UPDATED,
)  # fmt: skip


def _scrape_when(
    url: str, ready: Callable[[bytes], bool], timeout: float = 30,
    why: Callable[[bytes], str] | None = None,
) -> bytes:  # fmt: skip
    """Scrape until `ready(body)`; on timeout say why (`why(body)`), or show the scrape."""
    deadline = time.monotonic() + timeout
    body = b""
    while time.monotonic() < deadline:
        try:
            status, _, body = http_get(url)
            if status == 200 and ready(body):
                return body
        except OSError:
            pass
        time.sleep(0.5)
    detail = why(body) if why else body.decode()[:2000]
    raise AssertionError(f"condition not met in {timeout}s: {detail}")


def _samples(body: bytes) -> list:
    return [s for fam in text_string_to_metric_families(body.decode()) for s in fam.samples]


def test_demo_exposes_llm_metrics_and_incident() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [*EXE, "demo", "--listen-address", f"127.0.0.1:{port}", "--duration", "120",
         "--workers", "16", "--rate", "40", "--seed", "7", "--incident", "error-burst",
         "--incident-after", "20", "--incident-for", "60", "--judge-sample-rate", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/metrics"

        def missing_families(body: bytes) -> list[str]:
            names = {s.name for s in _samples(body)}
            return [spec.name for spec in EXPECTED if spec.sample_names()[0] not in names]

        # Handoffs and feedback come from one support request in several; a loaded CI machine
        # once ran so few in 60s that none handed off, so more workers and a longer wait.
        # The error counter is cumulative: the incident (20s to 80s) is still seen afterwards.
        body = _scrape_when(url, lambda b: not missing_families(b), timeout=100,
                            why=lambda b: f"families missing: {missing_families(b)}")  # fmt: skip
        result = promtool_check_metrics(body)
        assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result

        def server_errors(body: bytes) -> float:
            return sum(s.value for s in _samples(body)
                       if s.name == catalog.OPERATION_DURATION.count
                       and s.labels.get(catalog.ERROR_TYPE) == "server_error")  # fmt: skip

        _scrape_when(url, lambda b: server_errors(b) >= 3, timeout=60)
        proc.terminate()
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert f"metrics:   http://127.0.0.1:{port}/metrics" in err
        assert "incident 'error-burst' started" in err
        assert err.strip().splitlines()[-1].startswith("calls ")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_an_incident_is_undone_exactly() -> None:
    """Restoring merges dict knobs, so keys an incident added must be deleted again: a model
    switch that outlived its incident would look like a second incident."""
    from llm_exporter.demo.incidents import INCIDENTS, Conditions, Workload, restore_patch
    from llm_exporter.demo.runner import NORMAL

    for name, incident in INCIDENTS.items():
        assert incident.simulator or incident.workload, name  # every incident changes something
        during = NORMAL.merge(incident.simulator)
        assert (during != NORMAL) == bool(incident.simulator), name
        after = during.merge(restore_patch(NORMAL, incident))
        assert after == NORMAL, name
        workload = Workload()
        workload.apply(incident.workload)
        assert (workload.conditions != Conditions()) == bool(incident.workload), name
        workload.reset()
        assert workload.conditions == Conditions(), name
    assert NORMAL.merge(INCIDENTS["model-downgrade"].simulator).model_switch  # it did switch
