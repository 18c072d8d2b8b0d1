"""The metric names a PromQL expression reads, for checking them against the catalog.

Not a PromQL parser: it blanks out what cannot be a metric name (strings, label matchers,
ranges, label lists, numbers) and keeps identifiers that are not keywords and not called like
a function. Good enough for the expressions this project generates; the rule and dashboard
tests also hand every expression to Prometheus itself for validity.
"""

from __future__ import annotations

import re

_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
             "group_right", "offset", "bool", "atan2", "inf", "nan"}  # fmt: skip
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_NUMBERS = re.compile(r"(?<![\w:.])\d+(?:\.\d+)?(?:e[+-]?\d+)?(?:ms|[smhdwy])*(?![\w:])", re.I)
_IDENT = re.compile(r"(?<![\w:.])[a-zA-Z_:][a-zA-Z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    text = _STRINGS.sub('""', expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _LABEL_LISTS.sub(" ", text)
    text = _NUMBERS.sub(" ", text)
    names = set()
    for match in _IDENT.finditer(text):
        word = match.group()
        if word.lower() in _KEYWORDS or text[match.end() :].lstrip().startswith("("):
            continue
        names.add(word)
    return names
