"""A small typed builder for Grafana dashboard JSON (schema 39, Grafana 10 and later).

grafana-foundation-sdk needs Python 3.11 and this package supports 3.10, so dashboards are
built from these dataclasses instead: every panel states its unit and description, targets
take the datasource variable, and layout is computed (each row's panels side by side, 24
columns wide). ``Dashboard.to_json()`` is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DS_INPUT = "DS_PROMETHEUS"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
SCHEMA_VERSION = 39
GRID_WIDTH = 24


@dataclass(frozen=True)
class Target:
    expr: str
    legend: str = ""
    instant: bool = False


@dataclass(frozen=True)
class Threshold:
    value: float | None  # None: the base step
    color: str


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    unit: str
    targets: tuple[Target, ...]
    kind: str = "timeseries"  # timeseries | stat | bargauge
    height: int = 8
    width: int | None = None  # None: share the row equally
    minimum: float | None = None
    maximum: float | None = None
    decimals: int | None = None
    stacked: bool = False
    bars: bool = False
    thresholds: tuple[Threshold, ...] = (Threshold(None, "green"),)
    time_from: str | None = None  # a relative range of its own, e.g. now/M
    # Series whose legend matches are drawn as a dashed line (a budget, a threshold).
    reference_series: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.description or not self.unit or not self.targets:
            raise ValueError(f"panel {self.title!r}: description, unit and a target are required")
        if self.kind not in ("timeseries", "stat", "bargauge"):
            raise ValueError(f"panel {self.title!r}: unknown kind {self.kind}")


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Variable:
    """A query variable over a label's values, multi-select with All (a regex)."""

    name: str
    label: str
    query: str  # label_values(metric{...}, label)


@dataclass(frozen=True)
class Annotation:
    name: str
    expr: str
    title: str  # Grafana's titleFormat, with {{label}}
    text: str
    color: str


@dataclass
class Dashboard:
    uid: str
    title: str
    description: str
    tags: tuple[str, ...]
    rows: tuple[Row, ...]
    variables: tuple[Variable, ...] = ()
    annotations: tuple[Annotation, ...] = ()
    time_from: str = "now-6h"
    links: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (title, uid)

    def panels(self) -> list[Panel]:
        return [panel for row in self.rows for panel in row.panels]

    def to_json(self) -> dict[str, Any]:
        panels: list[dict[str, Any]] = []
        y, next_id = 0, 1
        for row in self.rows:
            grid = {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y}
            panels.append({"type": "row", "id": next_id, "title": row.title, "collapsed": False,
                           "gridPos": grid, "panels": []})  # fmt: skip
            next_id += 1
            y += 1
            x, row_height = 0, 0
            free = [p for p in row.panels if p.width is None]
            fixed = sum(p.width or 0 for p in row.panels)
            share = (GRID_WIDTH - fixed) // len(free) if free else 0
            for panel in row.panels:
                width = panel.width or share
                if x + width > GRID_WIDTH:
                    x, y = 0, y + row_height
                    row_height = 0
                panels.append(_panel_json(panel, next_id, {"h": panel.height, "w": width,
                                                           "x": x, "y": y}))  # fmt: skip
                next_id += 1
                x += width
                row_height = max(row_height, panel.height)
            y += row_height
        return {
            "__inputs": [{"name": DS_INPUT, "label": "Prometheus", "description":
                          "The Prometheus that scrapes llm-exporter metrics", "type": "datasource",
                          "pluginId": "prometheus", "pluginName": "Prometheus"}],
            "__requires": [
                {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.0.0"},
                {"type": "datasource", "id": "prometheus", "name": "Prometheus",
                 "version": "1.0.0"},
            ],
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": list(self.tags),
            "editable": True,
            "graphTooltip": 1,
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "time": {"from": self.time_from, "to": "now"},
            "timepicker": {},
            "timezone": "",
            "refresh": "30s",
            "links": [{"title": title, "type": "link", "url": f"/d/{uid}",
                       "keepTime": True, "includeVars": True} for title, uid in self.links],
            "templating": {"list": [_datasource_variable(),
                                    *(_variable_json(v) for v in self.variables)]},
            "annotations": {"list": [_builtin_annotation(),
                                     *(_annotation_json(a) for a in self.annotations)]},
            "panels": panels,
        }  # fmt: skip


def _panel_json(panel: Panel, panel_id: int, grid: dict[str, int]) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "unit": panel.unit,
        "color": {"mode": "palette-classic" if panel.kind == "timeseries" else "thresholds"},
        "thresholds": {"mode": "absolute", "steps": [
            {"color": t.color, "value": t.value} for t in panel.thresholds]},
    }  # fmt: skip
    for key, value in (("min", panel.minimum), ("max", panel.maximum),
                       ("decimals", panel.decimals)):  # fmt: skip
        if value is not None:
            defaults[key] = value
    if panel.kind == "timeseries":
        defaults["custom"] = {
            "drawStyle": "bars" if panel.bars else "line",
            "fillOpacity": 60 if panel.bars else 10,
            "lineWidth": 1,
            "showPoints": "never",
            "spanNulls": False,
            "stacking": {"mode": "normal" if panel.stacked else "none", "group": "A"},
        }
    overrides = [
        {"matcher": {"id": "byName", "options": name},
         "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
                        {"id": "custom.stacking", "value": {"mode": "none", "group": "A"}},
                        {"id": "custom.fillOpacity", "value": 0},
                        {"id": "custom.drawStyle", "value": "line"},
                        {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}}]}
        for name in panel.reference_series
    ]  # fmt: skip
    out: dict[str, Any] = {
        "type": panel.kind,
        "id": panel_id,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": grid,
        "fieldConfig": {"defaults": defaults, "overrides": overrides},
        "options": _options(panel),
        "targets": [_target_json(t, chr(ord("A") + i)) for i, t in enumerate(panel.targets)],
    }
    if panel.time_from:
        out["timeFrom"] = panel.time_from
    return out


def _options(panel: Panel) -> dict[str, Any]:
    if panel.kind == "timeseries":
        return {"legend": {"displayMode": "table", "placement": "bottom", "showLegend": True,
                           "calcs": ["mean", "max", "lastNotNull"]},
                "tooltip": {"mode": "multi", "sort": "desc"}}  # fmt: skip
    reduce = {"calcs": ["lastNotNull"], "fields": "", "values": False}
    if panel.kind == "stat":
        return {"reduceOptions": reduce, "colorMode": "value", "graphMode": "area",
                "justifyMode": "auto", "orientation": "auto", "textMode": "auto"}  # fmt: skip
    return {"reduceOptions": reduce, "orientation": "horizontal", "displayMode": "gradient",
            "showUnfilled": True}  # fmt: skip


def _target_json(target: Target, ref_id: str) -> dict[str, Any]:
    return {"refId": ref_id, "datasource": DATASOURCE, "expr": target.expr,
            "legendFormat": target.legend or "__auto", "range": not target.instant,
            "instant": target.instant, "editorMode": "code"}  # fmt: skip


def _datasource_variable() -> dict[str, Any]:
    # On import Grafana asks for DS_PROMETHEUS (the __inputs entry) and puts it here; a
    # provisioned copy keeps the placeholder, which Grafana replaces with the default
    # Prometheus datasource.
    return {"name": "datasource", "label": "Data source", "type": "datasource",
            "query": "prometheus", "current": {"text": f"${{{DS_INPUT}}}",
                                               "value": f"${{{DS_INPUT}}}"},
            "hide": 0, "refresh": 1, "regex": "", "options": []}  # fmt: skip


def _variable_json(v: Variable) -> dict[str, Any]:
    return {"name": v.name, "label": v.label, "type": "query", "datasource": DATASOURCE,
            "query": {"query": v.query, "refId": f"{v.name}-values"},
            "definition": v.query, "refresh": 2, "sort": 1, "multi": True,
            "includeAll": True, "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "hide": 0, "options": [], "regex": ""}  # fmt: skip


def _builtin_annotation() -> dict[str, Any]:
    return {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}  # fmt: skip


def _annotation_json(a: Annotation) -> dict[str, Any]:
    return {"name": a.name, "datasource": DATASOURCE, "enable": True, "hide": False,
            "iconColor": a.color, "expr": a.expr, "step": "60s", "titleFormat": a.title,
            "textFormat": a.text, "useValueForTime": False}  # fmt: skip
