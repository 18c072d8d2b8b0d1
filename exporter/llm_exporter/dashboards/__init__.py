"""Grafana dashboards, generated from the catalog and the thresholds file.

files = render(config)   # {"llm-overview.json": "...", ...}
"""

from __future__ import annotations

import json

from ..rulegen.thresholds import Config
from . import cost, gpu, overview, quality
from .model import Dashboard

BUILDERS = {"llm-overview": overview.build, "llm-cost": cost.build,
            "llm-quality": quality.build, "gpu": gpu.build}  # fmt: skip


def dashboards(config: Config) -> dict[str, Dashboard]:
    return {name: build(config) for name, build in BUILDERS.items()}


def render(config: Config) -> dict[str, str]:
    """File name -> import-ready JSON, deterministic."""
    return {f"{name}.json": json.dumps(d.to_json(), indent=2, ensure_ascii=False) + "\n"
            for name, d in dashboards(config).items()}  # fmt: skip
