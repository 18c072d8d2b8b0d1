"""Reading a user's YAML file, with failures as one-line ConfigErrors.

Stricter than ``yaml.safe_load`` where Prometheus's own loader is: a key given twice in one
mapping is an error (the second would silently win), and the file must be UTF-8 text. Whatever
the file holds (binary, UTF-16, 5,000-deep nesting, a 5,000-digit integer) the outcome is a value
or a ConfigError, never another exception.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError


class _StrictLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # unhashable: the base class names that problem
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r:.60}", key_node.start_mark
                )
        return super().construct_mapping(node, deep)


def parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: no tags run
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or ""
        detail = f": {problem}" if problem.startswith("duplicate key") else ""
        raise ConfigError(source, None, f"not valid YAML{where}{detail}") from None
    except RecursionError:
        raise ConfigError(source, None, "not valid YAML: nested too deeply") from None
    except ValueError as exc:
        # int() refuses integers of more than 4,300 digits (CPython's guard), inside the loader.
        what = "an integer of over 4300 digits" if "digits" in str(exc) else f"{exc:.100}"
        raise ConfigError(source, None, f"not valid YAML: {what}") from None


def read_yaml(path: str | Path) -> Any:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), None, f"cannot read file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")  # a UTF-8 byte order mark is harmless
    except UnicodeDecodeError as exc:
        problem = f"not UTF-8 text (byte {exc.start} is {raw[exc.start : exc.start + 1]!r})"
        raise ConfigError(str(path), None, problem) from None
    if "\0" in text:
        raise ConfigError(str(path), None, "not a text file (it holds NUL bytes)")
    return parse_yaml(text, str(path))
