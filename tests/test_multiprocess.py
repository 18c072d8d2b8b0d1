"""prometheus_client's multiprocess mode: what each family becomes there, how two processes'
files merge, `llm-exporter serve` over the folder, and a folder that is missing, full or holds
a broken file. In-process tests switch prometheus_client's value class the way its own tests
do (a fake process id per "process"); the real thing runs in subprocesses and in
tests/test_gunicorn.py."""

from __future__ import annotations

import collections
import errno
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from prometheus_client import CollectorRegistry, values
from prometheus_client.mmap_dict import MmapedDict

from llm_exporter import catalog, instrument_openai, multiprocess, reset_trace_id, set_trace_id
from llm_exporter.catalog import Kind
from llm_exporter.cost.users import UserBudgetSettings, UserSpend
from llm_exporter.metrics import Metrics, create_metric
from llm_exporter.simulator import Simulator, SimulatorConfig
from llm_exporter.track import Judge, Tracker

from .conftest import ServeProcess, http_get, sample_sum, samples

MSG = [{"role": "user", "content": "one call"}]
CALLS = catalog.OPERATION_DURATION.count
ERRORS = catalog.INSTRUMENTATION_ERRORS.name


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(SimulatorConfig(output_tokens=5)) as running:
        yield running


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Multiprocess mode on an empty folder, undone after the test."""
    path = tmp_path / "multiproc"
    path.mkdir()
    monkeypatch.setenv(multiprocess.ENV, str(path))
    monkeypatch.setattr(values, "MmapedDict", values.MmapedDict)  # guard_storage() replaces it
    monkeypatch.setattr(multiprocess, "_guarded", False)
    monkeypatch.setattr(multiprocess, "_unstored", collections.Counter())
    as_process(monkeypatch, 101)
    yield path
    values.close_all_multiprocess_files()


def as_process(monkeypatch: pytest.MonkeyPatch, pid: int) -> None:
    """From here on, new values are written as process ``pid`` would write them."""
    monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue(lambda: pid))


def client(sim: Simulator, metrics: Metrics) -> openai.OpenAI:
    c = openai.OpenAI(base_url=sim.base_url, api_key="sim", max_retries=0)
    instrument_openai(c, metrics=metrics)
    return c


def merged(path: Path | str) -> CollectorRegistry:
    return multiprocess.registry(str(path))


# -- what each family becomes ---------------------------------------------------------------------


def test_every_gauge_and_info_family_an_application_records_declares_a_mode() -> None:
    for spec in catalog.all_specs():
        if spec.kind in (Kind.GAUGE, Kind.INFO) and spec.group != "gpu":
            if spec.name.endswith("_timestamp_seconds"):
                # when something happened stays true after the process that saw it exits
                # (a re-index run by a worker gunicorn has since recycled)
                assert spec.multiprocess_mode == "max", spec.name
            else:  # a process's state: an exited worker's value must not linger
                assert spec.multiprocess_mode.startswith("live"), spec.name
    with pytest.raises(ValueError, match="multiprocess_mode"):
        create_metric(catalog.GPU_UP, CollectorRegistry(), shared=True)


def test_two_processes_merge_by_the_catalogs_modes(
    folder: Path, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = Metrics(CollectorRegistry())
    for _ in range(3):
        client(sim, first).chat.completions.create(model="gpt-4o", messages=MSG)
    Tracker(first).set_app_info("1.4", "abc123", "p7")
    as_process(monkeypatch, 202)
    second = Metrics(CollectorRegistry())
    c = client(sim, second)
    c.chat.completions.create(model="gpt-4o", messages=MSG)
    c.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    # A call under a trace id counts like the rest; the files keep no exemplars (the recorder
    # does not build them here, and prometheus_client would drop them).
    token = set_trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
    try:
        c.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    finally:
        reset_trace_id(token)
    Tracker(second).set_app_info("1.4", "abc123", "p7")

    reg = merged(folder)
    assert sample_sum(reg, CALLS) == 6
    assert sample_sum(reg, catalog.TOKEN_USAGE.sum, gen_ai_token_type="output") == 5 * 6
    duration = catalog.OPERATION_DURATION.name
    assert sample_sum(reg, catalog.LABEL_SETS.name, metric=duration) == 2  # the fuller process
    assert sample_sum(reg, catalog.LABEL_SETS_LIMIT.name, metric=duration) == 1000
    info = [s for f in reg.collect() for s in f.samples if s.name == catalog.BUILD_INFO.name]
    assert len(info) == 1 and info[0].value == 1 and info[0].labels["version"]
    app = [s for f in reg.collect() for s in f.samples if s.name == catalog.APP_INFO.name]
    assert [(s.labels["prompt_version"], s.value) for s in app] == [("p7", 1)]
    assert sample_sum(reg, ERRORS) == 0

    # The second process exits: its live gauges go, its counts stay.
    multiprocess.mark_process_dead(202, str(folder))
    reg = merged(folder)
    assert sample_sum(reg, catalog.LABEL_SETS.name, metric=duration) == 1
    assert sample_sum(reg, CALLS) == 6


def test_a_changed_info_value_leaves_the_old_label_set_at_zero(folder: Path) -> None:
    tracker = Tracker(Metrics(CollectorRegistry()))
    tracker.set_app_info(prompt_version="p1")
    tracker.set_app_info(prompt_version="p2")
    reg = merged(folder)
    assert sample_sum(reg, catalog.APP_INFO.name, prompt_version="p1") == 0
    assert sample_sum(reg, catalog.APP_INFO.name, prompt_version="p2") == 1


def test_judge_queue_length_is_written_as_it_changes(folder: Path) -> None:
    with Simulator(SimulatorConfig(latency_s=0.3)) as slow:
        judge_client = openai.OpenAI(base_url=slow.base_url, api_key="sim", max_retries=0)
        tracker = Tracker(Metrics(CollectorRegistry()))
        with Judge(judge_client, model="gpt-4o-mini", tracker=tracker, sample_rate=1.0,
                   workers=1) as judge:  # fmt: skip
            for _ in range(4):
                assert judge.submit("q", "a")
            assert sample_sum(merged(folder), catalog.JUDGE_QUEUE_LENGTH.name) >= 3
            assert judge.drain(timeout=30)
    assert sample_sum(merged(folder), catalog.JUDGE_QUEUE_LENGTH.name) == 0


def test_user_budget_gauges_are_written_at_each_update(folder: Path) -> None:
    """No scrape-time functions across processes: the per-user gauges are written as spend
    comes in, and the merged folder shows them."""
    day = 30 * 86400.0  # 1970-01-31
    spend = UserSpend(Metrics(CollectorRegistry()), UserBudgetSettings(daily_cap_usd=1.0, top_n=2),
                      lambda: day)  # fmt: skip
    spend.add("ann", 2.0)
    spend.add("bob", 0.5)
    reg = merged(folder)
    assert sample_sum(reg, catalog.USERS_OVER_DAILY_CAP.name, cap_share="1") == 1
    top = catalog.USER_TOP_SPEND.name
    assert sample_sum(reg, top, period="day", rank="1") == 2.0
    assert sample_sum(reg, top, period="day", rank="2") == 0.5
    assert sample_sum(reg, catalog.TRACKED_USERS.name) == 2
    spend.add("bob", 1.0)  # bob passes the cap too
    assert sample_sum(merged(folder), catalog.USERS_OVER_DAILY_CAP.name, cap_share="1") == 2


def test_serve_merges_the_folder_and_drops_its_own_live_gauges_on_exit(
    folder: Path, sim: Simulator
) -> None:
    for _ in range(2):
        client(sim, Metrics(CollectorRegistry())).chat.completions.create(
            model="gpt-4o", messages=MSG
        )
    serve = ServeProcess("--no-gpu", env={multiprocess.ENV: str(folder)})
    try:
        status, _, body = http_get(serve.url + "/metrics")
    finally:
        assert serve.stop() == 0
    assert status == 200
    scraped = samples(body.decode())
    assert sample_sum(scraped, CALLS) == 2
    assert [v for name, _, v in scraped if name == catalog.BUILD_INFO.name] == [1]
    assert not list(folder.glob(f"gauge_live*_{serve.proc.pid}.db"))


# -- a folder that fails ---------------------------------------------------------------------


def test_missing_folder_calls_return_and_faults_are_counted_in_memory(
    folder: Path, sim: Simulator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    gone = folder / "removed-by-a-tmp-cleaner"
    monkeypatch.setenv(multiprocess.ENV, str(gone))
    caplog.set_level(logging.WARNING, logger="llm_exporter")
    c = client(sim, Metrics(CollectorRegistry()))
    for _ in range(3):
        assert c.chat.completions.create(model="gpt-4o", messages=MSG).choices
    reg = merged(gone)  # the process serving /metrics adds what it could not write
    assert sample_sum(reg, ERRORS, component="record", error_class="FileNotFoundError") == 3
    assert sample_sum(reg, CALLS) == 0
    record_logs = [r for r in caplog.records if "record fault" in r.getMessage()]
    assert len(record_logs) == 1


def test_full_disk_is_an_error_counted_in_the_shared_files_not_a_crash(
    folder: Path, sim: Simulator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """ENOSPC staged at the allocation boundary (tests a real full tmpfs below, as root)."""
    caplog.set_level(logging.WARNING, logger="llm_exporter")
    c = client(sim, Metrics(CollectorRegistry()))
    c.chat.completions.create(model="gpt-4o", messages=MSG)
    assert multiprocess._guarded

    def full(fd: int, size: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(multiprocess, "_fallocate", full)
    for i in range(12):  # new label sets until the histogram file must grow
        assert c.chat.completions.create(model=f"self-hosted-{i}", messages=MSG).choices
    reg = merged(folder)
    faults = sample_sum(reg, ERRORS, component="record", error_class="OSError")
    # Each call recorded its duration, or failed to and was counted as a fault (or both: the
    # duration fitted, a token series later in the same call did not).
    assert 1 <= faults <= 12 and sample_sum(reg, CALLS) + faults >= 12 + 1
    assert len([r for r in caplog.records if "record fault" in r.getMessage()]) == 1


def test_an_unreadable_file_is_skipped_not_a_failed_scrape(
    folder: Path, sim: Simulator, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    client(sim, Metrics(CollectorRegistry())).chat.completions.create(model="gpt-4o", messages=MSG)
    (folder / "histogram_999.db").write_bytes(b"")  # a process killed before its first write
    caplog.set_level(logging.WARNING, logger="llm_exporter")
    reads = collections.Counter()
    read = MmapedDict.read_all_values_from_file

    def counted(name: str):  # type: ignore[no-untyped-def]
        reads[Path(name).name] += 1
        return read(name)

    monkeypatch.setattr(MmapedDict, "read_all_values_from_file", staticmethod(counted))
    reg = merged(folder)
    assert sample_sum(reg, CALLS) == 1
    first = reads["histogram_999.db"]
    assert sample_sum(reg, CALLS) == 1
    assert reads["histogram_999.db"] == first  # left out until it changes
    assert len([r for r in caplog.records if "histogram_999.db" in r.getMessage()]) == 1
    # Once it holds values (here: a copy of a real process's), it is read again.
    (folder / "histogram_999.db").write_bytes((folder / "histogram_101.db").read_bytes())
    assert sample_sum(reg, CALLS) == 2


FULL_TMPFS_APP = textwrap.dedent("""
    import json, os, openai
    from llm_exporter import instrument_openai
    from llm_exporter.simulator import Simulator
    msg = [{"role": "user", "content": "one call"}]
    with Simulator() as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="sim", max_retries=0)
        instrument_openai(client)
        client.chat.completions.create(model="gpt-4o", messages=msg)
        fd = os.open(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "filler"),
                     os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, bytes(4096))
        except OSError:
            pass
        answered = sum(bool(client.chat.completions.create(model=f"m-{i}", messages=msg).choices)
                       for i in range(30))
    print(json.dumps({"answered": answered}))
""")


def test_full_tmpfs_for_real(tmp_path: Path) -> None:
    """Without the storage guard this process dies of SIGBUS at its first write past the end."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    made = ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount)]
    if os.geteuid() != 0 or subprocess.run(made, capture_output=True).returncode:
        pytest.skip("needs root and mount to make a small tmpfs; the staged ENOSPC test ran")
    try:
        env = {**os.environ, multiprocess.ENV: str(mount)}
        proc = subprocess.run([sys.executable, "-c", FULL_TMPFS_APP], env=env,
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        assert proc.returncode == 0, (signal.Signals(-proc.returncode).name
                                      if proc.returncode < 0 else proc.stderr)  # fmt: skip
        assert json.loads(proc.stdout)["answered"] == 30
        assert proc.stderr.count("record fault") == 1
        reg = merged(mount)
        faults = sample_sum(reg, ERRORS, component="record", error_class="OSError")
        assert 1 <= faults <= 30 and sample_sum(reg, CALLS) + faults >= 31
    finally:
        subprocess.run(["umount", str(mount)], check=False)
