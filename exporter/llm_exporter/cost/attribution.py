"""Cost attribution: bounded dimensions (team, feature, tenant) set once per request.

    with llm_exporter.attribute(team="search", feature="autocomplete", tenant="acme", user=uid):
        answer = client.chat.completions.create(...)  # attributed

    @llm_exporter.attribute(team="support", feature="answer")  # a decorator: every call
    def handle(request): ...

    token = llm_exporter.set_attribution(tenant=request.tenant)  # in a middleware
    ...
    llm_exporter.reset_attribution(token)

The values ride in a context variable, so they follow the request through asyncio tasks,
``asyncio.to_thread`` and copied contexts, as the agent nesting does; an inner ``attribute()``
keeps what the outer one set and overrides only what it names. The cost and token counters of
the project (``llm_exporter_cost_usd_total``, ``llm_exporter_tokens_total``) carry the three
dimensions as labels, ``""`` where unset or switched off, so rules can rely on them; the OTel
conventions' families keep their own labels. ``user`` is never a label: it feeds the per-user
budget tracker (``llm_exporter.cost.users``). ``route`` is accepted as another name for
``feature``.

Which dimensions are recorded and how many distinct values each keeps are configurable
(``configure_attribution`` or ``LLM_EXPORTER_ATTRIBUTION`` and
``LLM_EXPORTER_ATTRIBUTION_MAX_VALUES``). Past its cap a dimension's new values are recorded as
``other`` and counted in ``llm_exporter_labels_folded_total{metric="attribution:<dimension>"}``,
as the label guard counts its folds. An unknown dimension name is a ValueError at set-up,
naming the allowed ones.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from .. import catalog
from ..envsettings import settings_from_env
from ..guard import OVERFLOW_VALUE
from ..lazy import Lazy

if TYPE_CHECKING:
    from ..metrics import Metrics

F = TypeVar("F", bound=Callable[..., Any])

DIMENSIONS: tuple[str, ...] = catalog.ATTRIBUTION_LABELS
ALIASES = {"route": catalog.FEATURE}
USER = "user"
_INDEX = {name: i for i, name in enumerate(DIMENSIONS)}
DEFAULT_MAX_VALUES = 100
ENV_DIMENSIONS = "LLM_EXPORTER_ATTRIBUTION"
ENV_MAX_VALUES = "LLM_EXPORTER_ATTRIBUTION_MAX_VALUES"
# Value tuples whose every value was admitted are remembered per registry, up to this many.
_KNOWN_LIMIT = 10_000


def _allowed() -> str:
    aliases = ", ".join(f"{alias} (= {name})" for alias, name in ALIASES.items())
    return f"{', '.join(DIMENSIONS)}, {aliases}"


def _dimension(name: str) -> str:
    """The catalog's name for ``name`` (an alias resolved); ValueError for anything else."""
    resolved = ALIASES.get(name, name)
    if resolved not in _INDEX:
        raise ValueError(f"unknown attribution dimension {name!r}; allowed: {_allowed()}")
    return resolved


@dataclass(frozen=True)
class AttributionSettings:
    """Which dimensions are recorded, and the cap on each one's distinct values."""

    dimensions: tuple[str, ...] = DIMENSIONS
    max_values: int = DEFAULT_MAX_VALUES

    def __post_init__(self) -> None:
        resolved = tuple(dict.fromkeys(_dimension(d) for d in self.dimensions))
        object.__setattr__(self, "dimensions", resolved)
        if (
            isinstance(self.max_values, bool)
            or not isinstance(self.max_values, int)
            or (self.max_values < 1)
        ):
            raise ValueError(f"max_values must be a whole number of at least 1, "
                             f"got {self.max_values!r}")  # fmt: skip

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> AttributionSettings:
        """LLM_EXPORTER_ATTRIBUTION (comma-separated dimensions; empty: none) and
        LLM_EXPORTER_ATTRIBUTION_MAX_VALUES."""
        return settings_from_env(cls, {"dimensions": (ENV_DIMENSIONS, _dimensions),
                                       "max_values": (ENV_MAX_VALUES, int)}, environ)  # fmt: skip


def _dimensions(text: str) -> tuple[str, ...]:
    return tuple(_dimension(n.strip()) for n in text.split(",") if n.strip())


_settings: Lazy[AttributionSettings] = Lazy(AttributionSettings.from_env)


def settings() -> AttributionSettings:
    return _settings.get()


def configure_attribution(
    dimensions: Iterable[str] | None = None, *, max_values: int | None = None
) -> AttributionSettings:
    """Record only ``dimensions`` (default: all of team, feature, tenant) and keep at most
    ``max_values`` distinct values of each (default 100); ValueError for an unknown dimension,
    naming the allowed ones. Applies to attribution set from then on."""
    current = settings()
    return _settings.set(AttributionSettings(
        tuple(dimensions) if dimensions is not None else current.dimensions,
        max_values if max_values is not None else current.max_values,
    ))  # fmt: skip


# -- the request's attribution ------------------------------------------------------------------


class Attribution(NamedTuple):
    values: tuple[str, ...]  # one per DIMENSIONS entry, "" where unset
    user: str | None


EMPTY_VALUES = ("",) * len(DIMENSIONS)
EMPTY = Attribution(EMPTY_VALUES, None)

_current: contextvars.ContextVar[Attribution] = contextvars.ContextVar(
    "llm_exporter_attribution", default=EMPTY
)


def current() -> Attribution:
    """The attribution of the request in progress (EMPTY outside any)."""
    return _current.get()


_Given = tuple[tuple[str, Any], ...]  # (dimension, or USER; value), names resolved


def _checked(given: dict[str, Any]) -> _Given:
    """The names resolved (aliases too) once, at set-up; ValueError for an unknown one."""
    return tuple((name if name == USER else _dimension(name), value)
                 for name, value in given.items())  # fmt: skip


def _merged(base: Attribution, given: _Given) -> Attribution:
    recorded = settings().dimensions
    values = list(base.values)
    user = base.user
    for name, value in given:
        if name == USER:
            user = None if value is None else str(value)
        elif name in recorded:  # a switched-off dimension stays ""
            values[_INDEX[name]] = "" if value is None else str(value)
    return Attribution(tuple(values), user)


def set_attribution(**values: Any) -> contextvars.Token:
    """Attribute LLM calls made from here on in this context (a request's thread or task) to
    ``team``, ``feature`` (or ``route``), ``tenant`` and ``user``; returns the token for
    ``reset_attribution``. Dimensions not named keep their current value."""
    return _current.set(_merged(_current.get(), _checked(values)))


def reset_attribution(token: contextvars.Token) -> None:
    _current.reset(token)


class attribute:  # lower case: used like a function, with attribute(...) or @attribute(...)
    """Attribution for a block (``with`` / ``async with``) or for every call of a function
    (a decorator, sync or async). Unknown dimension names raise ValueError here, at set-up."""

    __slots__ = ("_given", "_token")

    def __init__(self, **values: Any) -> None:
        self._given = _checked(values)
        self._token: contextvars.Token | None = None

    def __enter__(self) -> attribute:
        self._token = _current.set(_merged(_current.get(), self._given))
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._token is not None:
            _current.reset(self._token)
            self._token = None

    async def __aenter__(self) -> attribute:
        return self.__enter__()

    async def __aexit__(self, *exc: Any) -> None:
        self.__exit__(*exc)

    def __call__(self, fn: F) -> F:
        given = self._given  # each call sets and resets its own token: calls may overlap
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                token = _current.set(_merged(_current.get(), given))
                try:
                    return await fn(*args, **kwargs)
                finally:
                    _current.reset(token)

            return run_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            token = _current.set(_merged(_current.get(), given))
            try:
                return fn(*args, **kwargs)
            finally:
                _current.reset(token)

        return run  # type: ignore[return-value]


# -- the cap on distinct values, per registry ---------------------------------------------------


class AttributionGuard:
    """Keeps each dimension's distinct values under the configured cap, per ``Metrics``: past
    it, new values become ``other``, each such observation counted in
    ``llm_exporter_labels_folded_total{metric="attribution:<dimension>"}``; the values kept show
    in ``llm_exporter_label_sets`` against ``llm_exporter_label_sets_limit`` under the same name.

    The hot path is one dict lookup of the request's value tuple; a tuple with a new value
    takes the lock once."""

    def __init__(self, metrics: Metrics) -> None:
        self._admitted: list[set[str]] = [set() for _ in DIMENSIONS]
        self._known: set[tuple[str, ...]] = {EMPTY_VALUES}  # tuples recorded as they are
        self._lock = threading.Lock()
        # The cap in force when the registry's recorder is built (configure before
        # instrument_openai), so what is kept and the limit shown agree.
        self._cap = settings().max_values
        self._hooks = [metrics.cap_hooks(f"attribution:{name}", self._cap) for name in DIMENSIONS]

    def resolve(self, values: tuple[str, ...]) -> tuple[str, ...]:
        return values if values in self._known else self._resolve(values)

    def _resolve(self, values: tuple[str, ...]) -> tuple[str, ...]:
        cap = self._cap
        out: list[str] = []
        with self._lock:
            for value, admitted, (on_fold, on_count) in zip(values, self._admitted, self._hooks,
                                                             strict=True):  # fmt: skip
                if not value or value in admitted:
                    out.append(value)
                elif len(admitted) < cap:
                    admitted.add(value)
                    on_count(len(admitted))
                    out.append(value)
                else:
                    on_fold()
                    out.append(OVERFLOW_VALUE)
            resolved = tuple(out)
            if resolved == values and len(self._known) < _KNOWN_LIMIT:
                self._known.add(values)
        return resolved
