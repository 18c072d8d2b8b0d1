"""A real Prometheus (Debian's `prometheus` package) on loopback, for tests that need one."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import free_port, wait_http


def rule_files(workdir: Path, thresholds_yaml: str) -> list[Path]:
    """The rule pack generated with ``thresholds_yaml`` (e.g. short intervals, so recording rules
    have data within seconds) into ``workdir/rules``; the files to load."""
    from llm_exporter.rulegen import render, thresholds
    from llm_exporter.rulegen.alerts import ALERTS

    config_file = workdir / "thresholds.yaml"
    config_file.write_text(thresholds_yaml)
    rules_dir = workdir / "rules"
    rules_dir.mkdir(exist_ok=True)
    for name, text in render.rule_files(thresholds.load(config_file, ALERTS)).items():
        (rules_dir / name).write_text(text)
    return sorted(rules_dir.glob("*.rules.yaml"))


def prometheus_binary() -> str:
    path = shutil.which("prometheus")
    if path is None:
        pytest.fail(
            "prometheus is not installed (make install-tools, or apt-get install prometheus)"
        )
    return path


class Prometheus:
    """Started with a fresh data folder, a 1s scrape interval, the given targets and rules."""

    def __init__(
        self,
        workdir: Path,
        targets: dict[str, list[str]],
        rule_files: list[Path],
        alertmanagers: tuple[str, ...] | list[str] = (),
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(p) for p in rule_files],
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": addrs}]}
                for job, addrs in targets.items()
            ],
        }
        if alertmanagers:
            config["alerting"] = {
                "alertmanagers": [{"static_configs": [{"targets": alertmanagers}]}]
            }
        config_file = workdir / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(config))
        self.log = (workdir / "prometheus.log").open("w")
        self.proc = subprocess.Popen(
            [prometheus_binary(), f"--config.file={config_file}",
             f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn", *extra_args],
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        try:
            wait_http(self.url + "/-/ready", self.proc, timeout)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}; prometheus log: {Path(self.log.name).read_text()[-2000:]}"
                               ) from None  # fmt: skip

    def api(self, path: str, **params: Any) -> dict[str, Any]:
        """GET /api/v1/<path>; returns the JSON body, errors included (status "error")."""
        query = urllib.parse.urlencode(params, doseq=True)
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=30) as resp:
                return json.load(resp)
        except urllib.error.HTTPError as err:
            return json.load(err)

    def query(self, expr: str, **params: Any) -> dict[str, Any]:
        return self.api("query", query=expr, **params)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
