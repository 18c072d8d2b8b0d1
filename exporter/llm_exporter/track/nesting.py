"""Agent nesting within one request, carried in a context variable.

Each agent run is a ``Frame``; a run started while another is current becomes its child. The
frame travels wherever the context is copied: asyncio tasks (``gather``, ``create_task``),
``asyncio.to_thread``, and thread pools fed ``contextvars.copy_context().run``. A plain
``ThreadPoolExecutor.submit`` does not copy context, so work submitted that way starts a new
top-level run; that is Python's rule, not ours.

Children may run on several threads at once, so the counts they touch sit behind one lock per
request tree.
"""

from __future__ import annotations

import contextvars
import threading

_current: contextvars.ContextVar[Frame | None] = contextvars.ContextVar(
    "llm_exporter_agent_frame", default=None
)


class Frame:
    __slots__ = ("children", "depth", "lock", "max_depth", "name", "root")

    def __init__(self, name: str, parent: Frame | None) -> None:
        self.name = name
        self.children = 0  # agent runs and tool calls started directly by this run
        if parent is None:
            self.depth = self.max_depth = 1
            self.root = self
            self.lock = threading.Lock()
        else:
            self.depth = parent.depth + 1
            self.root = parent.root
            self.lock = parent.lock
            with self.lock:
                parent.children += 1
                if self.depth > self.root.max_depth:
                    self.root.max_depth = self.depth

    @property
    def is_root(self) -> bool:
        return self.root is self

    def count_child(self) -> None:
        with self.lock:
            self.children += 1


def current() -> Frame | None:
    return _current.get()


def enter(name: str) -> tuple[Frame, contextvars.Token]:
    frame = Frame(name, _current.get())
    return frame, _current.set(frame)


def leave(token: contextvars.Token) -> None:
    _current.reset(token)
