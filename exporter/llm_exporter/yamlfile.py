"""Reading a user's YAML file, with failures as one-line ConfigErrors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError


def parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(source, None, f"not valid YAML{where}") from None


def read_yaml(path: str | Path) -> Any:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(str(path), None, f"cannot read file: {exc.strerror or exc}") from None
    return parse_yaml(text, str(path))
