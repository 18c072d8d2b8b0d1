"""Errors a user can cause, and how they are shown.

A user mistake (a bad config file, flag or pricing table) raises :class:`ConfigError`; the CLI
turns it into one line on stderr and exit code 2. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class ConfigError(Exception):
    """Bad user input: names the file (or flag), the key and what was expected."""

    def __init__(self, source: str, key: str | None, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {problem}")

    def __reduce__(self) -> tuple[type[ConfigError], tuple[str, str | None, str]]:
        # Rebuilt from its three parts: the replay raises it in worker processes, and pickle's
        # default (the message alone) cannot call this __init__.
        return (ConfigError, (self.source, self.key, self.problem))
