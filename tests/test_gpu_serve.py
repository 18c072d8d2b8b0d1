"""`llm-exporter serve` and its GPU flags as a real process, on this machine's (absent) NVML."""

from __future__ import annotations

import time

import pynvml
import pytest
from prometheus_client.parser import text_string_to_metric_families

from llm_exporter import catalog
from llm_exporter.gpu.collector import GPU_SPECS

from .conftest import ServeProcess, http_get, promtool_check_metrics, run_cli


def _nvml_present() -> bool:
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return False
    pynvml.nvmlShutdown()
    return True


def _failures(body: bytes, error_class: str) -> float:
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if (sample.name == catalog.GPU_COLLECTION_FAILURES.name
                    and sample.labels == {"error_class": error_class}):  # fmt: skip
                return sample.value
    return 0.0


@pytest.mark.skipif(_nvml_present(), reason="this machine has NVML; the test is for one without")
def test_serve_without_nvml_serves_nvml_up_0_and_logs_it_once() -> None:
    proc = ServeProcess("--gpu-refresh-interval", "0.1")
    try:
        # Wait for a retry after the first back-off (1 s): still one line in the log.
        deadline = time.monotonic() + 10
        while True:
            status, _, body = http_get(proc.url + "/metrics")
            assert status == 200
            if _failures(body, "library_not_found") >= 2:
                break
            assert time.monotonic() < deadline, "NVML initialisation was not retried"
            time.sleep(0.1)
        assert f"{catalog.GPU_NVML_UP.name} 0.0\n".encode() in body
        assert f"{catalog.GPU_UP.name}{{".encode() not in body
        result = promtool_check_metrics(body)
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        proc.proc.terminate()
        _, stderr = proc.proc.communicate(timeout=10)
        assert proc.stop() == 0
    lines = [line for line in stderr.splitlines() if "NVML" in line]
    assert len(lines) == 1, stderr
    assert "NVML unavailable (NVML Shared Library Not Found)" in lines[0]
    assert "Traceback" not in stderr


def test_no_gpu_serves_no_gpu_series() -> None:
    proc = ServeProcess("--no-gpu")
    try:
        status, _, body = http_get(proc.url + "/metrics")
    finally:
        proc.stop()
    assert status == 200 and catalog.BUILD_INFO.name.encode() in body
    # base_name: a prefix of every sample name of the family (_total, _created, _info).
    assert [spec.name for spec in GPU_SPECS if spec.base_name.encode() in body] == []


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--gpu-refresh-interval", "0"),
        ("--gpu-refresh-interval", "soon"),
        ("--gpu-timeout", "-1"),
        ("--gpu-processes-max", "0"),
        ("--gpu-processes-max", "many"),
    ],
)
def test_bad_gpu_flags_are_one_line_naming_the_flag_exit_2(flag: str, value: str) -> None:
    result = run_cli("serve", flag, value)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert f"'{flag}'" in result.stderr and "Traceback" not in result.stderr
