"""The Grafana dashboards: current, conventional, catalog-only, and checked against real data: a
real Prometheus scrapes the demo and a GPU exporter (NVML faked, the one hardware boundary)
for about a minute, then every panel query, variable, annotation and rule is run against it."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from llm_exporter import catalog
from llm_exporter.dashboards import dashboards, render
from llm_exporter.gpu.collector import GpuCollector, GpuOptions
from llm_exporter.metrics import Metrics
from llm_exporter.rulegen import recording, thresholds
from llm_exporter.rulegen.alerts import ALERTS
from llm_exporter.rulegen.render import GROUP_ORDER
from llm_exporter.server import MetricsServer

from .conftest import EXE, REPO, free_port, http_get, wait_for
from .fake_nvml import FakeNVML
from .prometheus import Prometheus, rule_files
from .promql_names import metric_names

GRAFANA = REPO / "grafana" / "dashboards"
CONFIG = thresholds.load(REPO / "rules" / "thresholds.yaml", ALERTS)
SCRAPE_SECONDS = 65
XID = 79  # the XID code the GPU exporter reports
# What Grafana would put in for the variables: All (a regex), and windows that fit a 1s scrape.
SUBSTITUTIONS = {"$__rate_interval": "15s", "$__range": "2m", "$__interval": "5s",
                 "$job": ".*", "$model": ".*", "$provider": ".*", "$instance": ".*",
                 "$gpu": ".*"}  # fmt: skip


def _committed() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in sorted(GRAFANA.glob("*.json"))}


def _panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in board["panels"] if p["type"] != "row"]


def _exprs() -> list[tuple[str, str, str]]:
    """(dashboard, panel, expr) for every panel target, variable and annotation."""
    out = []
    for name, board in _committed().items():
        for panel in _panels(board):
            out += [(name, panel["title"], t["expr"]) for t in panel["targets"]]
        for ann in board["annotations"]["list"]:
            if "expr" in ann:
                out.append((name, "annotation " + ann["name"], ann["expr"]))
    return out


def _substitute(expr: str) -> str:
    for var, value in SUBSTITUTIONS.items():
        expr = expr.replace(var, value)
    return expr


# -- static checks ---------------------------------------------------------------------------


def test_committed_dashboards_are_what_the_generator_writes() -> None:
    generated = render(CONFIG)
    assert sorted(generated) == sorted(p.name for p in GRAFANA.glob("*.json"))
    for name, text in generated.items():
        assert (GRAFANA / name).read_text() == text, f"grafana/dashboards/{name} is stale"
    assert render(CONFIG) == generated  # deterministic


def test_dashboard_conventions() -> None:
    uids = set()
    for name, board in _committed().items():
        assert board["uid"].startswith("llm-exporter-") and board["uid"] not in uids, name
        uids.add(board["uid"])
        assert [i["name"] for i in board["__inputs"]] == ["DS_PROMETHEUS"], name
        variables = [v["name"] for v in board["templating"]["list"]]
        assert variables[0] == "datasource", name
        if name != "gpu.json":
            assert {"job", "model"} <= set(variables), name
            annotations = {a["name"] for a in board["annotations"]["list"]}
            assert {"Deploys", "Prompt versions"} <= annotations, name
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), name
        for panel in _panels(board):
            where = f"{name} / {panel['title']}"
            assert panel["description"] and panel["fieldConfig"]["defaults"]["unit"], where
            assert panel["datasource"]["uid"] == "${datasource}", where
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == "${datasource}", where
                for window in re.findall(r"\[([^\]:]+)\]", target["expr"]):
                    # Rates follow the scrape interval; a fixed window is said in the description.
                    assert (
                        window in ("$__rate_interval", "$__range") or window in panel["description"]
                    ), f"{where}: window {window} not described"
    rate_interval = sum(t["expr"].count("$__rate_interval") for _, _, t in _targets())
    assert rate_interval > 20


def _targets() -> Iterator[tuple[str, dict, dict]]:
    for name, board in _committed().items():
        for panel in _panels(board):
            for target in panel["targets"]:
                yield name, panel, target


def test_dashboards_read_only_catalog_metrics() -> None:
    known = set(catalog.series_names()) | {"up"}
    for name, panel, expr in _exprs():
        names = metric_names(expr)
        constant = re.fullmatch(r"vector\([\d.]+\)", expr)  # a budget line
        assert (names or constant) and names <= known, f"{name} / {panel}: {names - known}"


def test_the_runbook_panels_exist() -> None:
    """Each alert's runbook names a dashboard and panel to open; they must be there."""
    titles = {(b.title, p.title) for b in dashboards(CONFIG).values() for p in b.panels()}
    for definition in ALERTS:
        board, _, panel = definition.runbook.panel.partition(" / ")
        assert (board, panel) in titles, f"{definition.name}: {definition.runbook.panel}"


def test_the_seed_kpis_are_on_the_overview() -> None:
    overview = dashboards(CONFIG)["llm-overview"]
    titles = {p.title for p in overview.panels()}
    assert {"Agent traffic", "Generations by model", "Tool calls and duration",
            "Tokens per request", "Cost per hour by model", "Latency p50 / p95",
            "Time to first chunk", "Stage durations", "Errors by class",
            "Agent depth and invocations", "Handoffs"} <= titles  # fmt: skip


# -- against a real Prometheus -------------------------------------------------------------------


class GpuExporter:
    """The GPU collector over a fake NVML (2 GPUs, one throttled, XIDs on GPU 0), served over
    HTTP."""

    def __init__(self) -> None:
        self.fake = FakeNVML(2)
        registry = CollectorRegistry()
        Metrics(registry)  # build info and self-health, as serve has them
        self.collector = GpuCollector(self.fake, GpuOptions(refresh_interval=1.0))
        registry.register(self.collector)
        self.collector.start()
        self.server = MetricsServer(registry, "127.0.0.1", free_port()).start()
        self.address = f"127.0.0.1:{self.server.port}"
        # The fake drops events for GPUs no event set watches: wait for the XID watcher first.
        xid = self.collector.xid
        assert xid is not None
        wait_for(lambda: xid.watching == 2, timeout=10)

    def xid(self, code: int) -> float:
        """An XID on GPU 0; returns the XID counter a scrape of the exporter then shows."""
        counted = self._xids()
        self.fake.xid(0, code)
        wait_for(lambda: self._xids() == counted + 1, timeout=10)
        status, _, body = http_get(f"http://{self.address}/metrics")
        assert status == 200
        families = text_string_to_metric_families(body.decode())
        return sum(s.value for f in families for s in f.samples
                   if s.name == catalog.GPU_XID_ERRORS.name and s.labels["xid"] == str(code)
                   and s.labels["gpu"] == "0")  # fmt: skip

    def _xids(self) -> float:
        return sum(count for _, count, _ in self.collector.xid_counts.items())

    def stop(self) -> None:
        self.server.stop()
        self.collector.stop()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    workdir = tmp_path_factory.mktemp("prometheus")
    # The repo's rules, evaluated every few seconds so the recording rules have data in a minute.
    rules = rule_files(workdir, "evaluation_interval: 5s\nbaseline_interval: 10s\n")
    port = free_port()
    demo = subprocess.Popen(
        # An error burst from 20s on: errors by class need failed calls, which a normal minute
        # hardly has (the SDK's one retry absorbs the demo's 1.5% of 429s and 5xx).
        [*EXE, "demo", "--listen-address", f"127.0.0.1:{port}", "--rate", "20", "--seed", "11",
         "--judge-sample-rate", "1", "--incident", "error-burst", "--incident-after", "20",
         "--incident-for", "600"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    gpu = GpuExporter()
    prometheus = None
    try:
        assert gpu.xid(XID) == 1  # the series exists before Prometheus scrapes it
        prometheus = Prometheus(workdir, {"demo": [f"127.0.0.1:{port}"], "gpu": [gpu.address]},
                                rules)  # fmt: skip
        time.sleep(SCRAPE_SECONDS / 2)
        assert gpu.xid(XID) == 2  # and grows while it does, so the XID panel has an increase
        time.sleep(SCRAPE_SECONDS / 2)
        yield prometheus
    finally:
        if prometheus is not None:
            prometheus.stop()
        gpu.stop()
        demo.terminate()
        demo.wait(timeout=30)


def test_every_panel_query_returns_data(live: Prometheus) -> None:
    empty, errors = [], []
    for name, panel, expr in _exprs():
        query = _substitute(expr)
        if panel.startswith("annotation"):
            now = time.time()
            result = live.api("query_range", query=query, start=now - 120, end=now, step=5)
        else:
            result = live.query(query)
        if result["status"] != "success":
            errors.append(f"{name} / {panel}: {result.get('error')}")
        elif not result["data"]["result"]:
            empty.append(f"{name} / {panel}: {query}")
    assert not errors, "\n".join(errors)
    assert not empty, "queries without data:\n" + "\n".join(empty)


def test_the_xid_panel_shows_the_xids(live: Prometheus) -> None:
    """The XID target ends in ``or vector(0)``, so "returns data" alone would pass without any
    XID: the XID counted must be there, and its increase above 0."""
    (panel,) = [p for p in _panels(_committed()["gpu.json"]) if p["title"] == "ECC and XID"]
    (target,) = [t for t in panel["targets"] if "XID" in t["legendFormat"]]
    result = live.query(_substitute(target["expr"]))
    assert result["status"] == "success", result.get("error")
    shown = {r["metric"].get("xid"): float(r["value"][1]) for r in result["data"]["result"]}
    assert shown.get(str(XID), 0) > 0, shown
    raw = live.query(f'{catalog.GPU_XID_ERRORS.name}{{gpu="0", xid="{XID}"}}')
    assert [float(r["value"][1]) for r in raw["data"]["result"]] == [2]


def test_every_variable_has_values(live: Prometheus) -> None:
    for name, board in _committed().items():
        for var in board["templating"]["list"]:
            if var["type"] != "query":
                continue
            found = re.fullmatch(r"label_values\((.+), (\w+)\)", var["query"]["query"])
            assert found, var
            match, label = _substitute(found.group(1)), found.group(2)
            values = live.api(f"label/{label}/values", **{"match[]": match})["data"]
            assert values, f"{name}: variable {var['name']} has no values"


def test_every_rule_evaluates_without_error(live: Prometheus) -> None:
    groups = live.api("rules")["data"]["groups"]
    assert {g["name"] for g in groups} >= set(GROUP_ORDER)
    for group in groups:
        for rule in group["rules"]:
            name = rule.get("name")
            assert rule["health"] == "ok", f"{name}: {rule.get('lastError')}"
            result = live.query(rule["query"])
            assert result["status"] == "success", f"{name}: {result.get('error')}"
    # The recording rules produce series from the demo's data, not just empty results.
    for record in (recording.OPS, recording.LATENCY[95], recording.TOOL_CALLS,
                   recording.STAGE_SHARE):  # fmt: skip
        assert live.query(record)["data"]["result"], record
