"""The NVML boundary: loading pynvml, naming its errors, counting calls, and the library's
init/shutdown lifecycle with exponential back-off.

Everything else in this package talks to NVML through an object with pynvml's function names,
constants and error classes: the real ``pynvml`` module in production, a fake in the tests.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

log = logging.getLogger("llm_exporter.gpu")

# The library or the driver is gone, or NVML forgot it was initialised: only a fresh nvmlInit
# can help, so these take the whole session down rather than one GPU or one field.
SESSION_ERRORS = (
    "NVMLError_Uninitialized",
    "NVMLError_DriverNotLoaded",
    "NVMLError_LibraryNotFound",
    "NVMLError_LibRmVersionMismatch",
)
# The GPU fell off the bus or must be reset: that GPU is down until a re-initialisation finds it.
DEVICE_ERRORS = ("NVMLError_GpuIsLost", "NVMLError_ResetRequired")
# The driver or the GPU has no such field: omit it, don't count it, don't ask again.
# ArgumentVersionMismatch: the driver predates this version of the call's struct.
UNSUPPORTED_ERRORS = (
    "NVMLError_NotSupported",
    "NVMLError_FunctionNotFound",
    "NVMLError_ArgumentVersionMismatch",
)


def load_pynvml() -> ModuleType | None:
    """The real pynvml module, or None when even the Python bindings are missing."""
    try:
        import pynvml
    except ImportError:
        return None
    return pynvml


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def error_class(exc: BaseException) -> str:
    """A bounded snake_case label for an error: ``NVMLError_GpuIsLost`` -> ``gpu_is_lost``.

    pynvml's base NVMLError (a code it has no class for) is ``unknown``; anything that is not an
    NVML error is a fault of ours, ``internal``.
    """
    name = type(exc).__name__
    if name.startswith("NVMLError_"):
        return _CAMEL.sub("_", name.removeprefix("NVMLError_")).lower()
    if name == "NVMLError":
        return "unknown"
    return "internal"


def is_error(nvml: Any, exc: BaseException, names: tuple[str, ...]) -> bool:
    """Whether ``exc`` is one of pynvml's error classes ``names`` (looked up on ``nvml``, so a
    fake that reuses pynvml's classes is matched the same way)."""
    return any(isinstance(exc, cls) for cls in (getattr(nvml, n, None) for n in names) if cls)


class CountingNVML:
    """A proxy of the NVML module that counts every ``nvml*`` function call made through it.

    ``calls`` is read and reset by the one poller thread that uses this proxy; other threads
    (the XID watcher) use the module directly, so the count is the collection's own.
    """

    def __init__(self, module: Any) -> None:
        self._module = module
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._module, name)
        if name.startswith("nvml") and callable(value):
            function = value

            def value(*args: Any, **kwargs: Any) -> Any:
                self.calls += 1
                return function(*args, **kwargs)

        # Cache functions and constants alike: later lookups skip __getattr__ entirely.
        setattr(self, name, value)
        return value


class Backoff:
    """Exponential back-off: ``initial``, doubling on each failure, capped at ``maximum``."""

    def __init__(
        self,
        initial: float = 1.0,
        maximum: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.initial = initial
        self.maximum = maximum
        self._clock = clock
        self.delay = 0.0
        self._next = 0.0

    def ready(self) -> bool:
        return self._clock() >= self._next

    def failed(self) -> float:
        """Record a failure; returns the delay until the next attempt."""
        self.delay = min(self.maximum, self.delay * 2) if self.delay else self.initial
        self._next = self._clock() + self.delay
        return self.delay

    def reset(self) -> None:
        self.delay = 0.0
        self._next = 0.0

    @property
    def pending(self) -> bool:
        """Whether a failure was recorded and not yet cleared by a success."""
        return self.delay > 0


class Session:
    """NVML's init/shutdown, shared by the poller (which owns it) and the XID watcher.

    ``generation`` grows on every open and close. A reader of the library in another thread
    holds a *use* of the current generation (``acquire``/``release``); ``close()`` waits, bounded,
    for those to end before nvmlShutdown, so no thread sits in an NVML call while the library is
    torn down and brought back.
    """

    def __init__(self, nvml: Any, close_wait_s: float = 2.0) -> None:
        self.nvml = nvml
        self.up = False
        self.generation = 0
        self.driver_version = ""
        self.cuda_version = ""
        self._users = 0
        self._cond = threading.Condition()
        self._close_wait_s = close_wait_s

    def open(self) -> None:
        """nvmlInit and the system-wide facts; raises the NVML error when it fails."""
        self.nvml.nvmlInit()
        try:
            self.driver_version = as_text(self.nvml.nvmlSystemGetDriverVersion())
            self.cuda_version = _cuda_version(self.nvml)
        except BaseException:
            _quiet_shutdown(self.nvml)
            raise
        with self._cond:
            self.up = True
            self.generation += 1
            self._cond.notify_all()

    def close(self) -> None:
        """Shut the library down (errors ignored: it may already be gone)."""
        with self._cond:
            was_up = self.up
            self.up = False
            self.generation += 1
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._users == 0, timeout=self._close_wait_s)
        if was_up:
            _quiet_shutdown(self.nvml)

    def acquire(self, generation: int) -> bool:
        """Take a use of ``generation``; False when the session is down or has moved on."""
        with self._cond:
            if not self.up or self.generation != generation:
                return False
            self._users += 1
            return True

    def release(self) -> None:
        with self._cond:
            self._users -= 1
            self._cond.notify_all()


def _quiet_shutdown(nvml: Any) -> None:
    try:
        nvml.nvmlShutdown()
    except Exception as exc:  # the library may be half gone: nothing more to do about it
        log.debug("nvmlShutdown failed: %s", exc)


def _cuda_version(nvml: Any) -> str:
    """The CUDA version the driver supports, ``12040`` -> ``"12.4"``."""
    try:
        version = int(nvml.nvmlSystemGetCudaDriverVersion())
    except Exception as exc:
        if is_error(nvml, exc, SESSION_ERRORS):
            raise
        return ""
    return f"{version // 1000}.{version % 1000 // 10}"


def as_text(value: Any) -> str:
    """NVML strings arrive as str from pynvml (it decodes most) and as bytes from raw fields."""
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value)
