"""Per-user budgets without a series per user.

``UserSpend`` keeps each user's spend for the current UTC day and month in an LRU of bounded
size (an OrderedDict: a call moves its user to the end, a full tracker drops the least recently
active user). It exposes only counts and ranked amounts: how many users are above their daily
cap and above a warning share of it (80% by default), and the spend of the top N users today
and this month, by rank. "A user passed $10 today" is then one alertable series, whatever the
number of users; no user id ever reaches a label.

The instrumentation feeds it: an LLM call made under ``attribute(user=...)`` adds its cost to
that user. Counts roll over at 00:00 UTC (the month on the 1st): in a single process the gauges
are computed at scrape time, so a quiet night still reads 0 after midnight; in multiprocess mode
they are written at each update (see the README). A user evicted from a full tracker is
forgotten (counted in ``llm_exporter_tracked_users_evicted_total``); make the tracker larger
than the users active in a day.

Settings: ``configure_user_budgets(...)`` or LLM_EXPORTER_USER_DAILY_CAP_USD (10),
LLM_EXPORTER_USER_WARN_SHARE (0.8), LLM_EXPORTER_USER_TRACKER_SIZE (100000) and
LLM_EXPORTER_USER_TOP_N (10), read when the tracker is built: at the first call made under a
``user`` (configure before that).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import catalog
from ..envsettings import settings_from_env
from ..lazy import Lazy

if TYPE_CHECKING:
    from ..metrics import Metrics

DAY, MONTH = catalog.PERIOD_DAY, catalog.PERIOD_MONTH
_ENV = {
    "daily_cap_usd": ("LLM_EXPORTER_USER_DAILY_CAP_USD", float),
    "warn_share": ("LLM_EXPORTER_USER_WARN_SHARE", float),
    "max_users": ("LLM_EXPORTER_USER_TRACKER_SIZE", int),
    "top_n": ("LLM_EXPORTER_USER_TOP_N", int),
}


@dataclass(frozen=True)
class UserBudgetSettings:
    daily_cap_usd: float = catalog.DEFAULT_USER_DAILY_CAP_USD
    warn_share: float = 0.8
    max_users: int = 100_000
    top_n: int = 10

    def __post_init__(self) -> None:
        if not (math.isfinite(self.daily_cap_usd) and self.daily_cap_usd > 0):
            raise ValueError(f"daily_cap_usd must be a positive number, got {self.daily_cap_usd!r}")
        if not 0 < self.warn_share < 1:
            raise ValueError(f"warn_share must be between 0 and 1, got {self.warn_share!r}")
        if self.max_users < 1:
            raise ValueError(f"max_users must be at least 1, got {self.max_users!r}")
        if not 1 <= self.top_n <= 100:
            raise ValueError(f"top_n must be 1 to 100, got {self.top_n!r}")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> UserBudgetSettings:
        return settings_from_env(cls, _ENV, environ)


_settings: Lazy[UserBudgetSettings] = Lazy(UserBudgetSettings.from_env)


def settings() -> UserBudgetSettings:
    return _settings.get()


def configure_user_budgets(
    *,
    daily_cap_usd: float | None = None,
    warn_share: float | None = None,
    max_users: int | None = None,
    top_n: int | None = None,
) -> UserBudgetSettings:
    """Set the per-user daily cap, the warning share, the tracker's size and N of the top-N
    gauges (unnamed ones keep their value); ValueError for a value out of range. Call it before
    ``instrument_openai()``."""
    current = settings()
    return _settings.set(UserBudgetSettings(
        current.daily_cap_usd if daily_cap_usd is None else daily_cap_usd,
        current.warn_share if warn_share is None else warn_share,
        current.max_users if max_users is None else max_users,
        current.top_n if top_n is None else top_n,
    ))  # fmt: skip


class _User:
    __slots__ = ("day", "day_usd", "month", "month_usd")

    def __init__(self) -> None:
        self.day = self.month = -1
        self.day_usd = self.month_usd = 0.0


class _Top:
    """The N largest amounts of one period, by user; O(N) only when it changes."""

    __slots__ = ("amounts", "floor", "n")

    def __init__(self, n: int) -> None:
        self.n = n
        self.amounts: dict[str, float] = {}
        self.floor = 0.0  # the smallest amount held once full

    def offer(self, user: str, amount: float) -> bool:
        """Whether ``amount`` changed the top."""
        amounts = self.amounts
        if user in amounts or len(amounts) < self.n:
            amounts[user] = amount
        elif amount > self.floor:
            del amounts[min(amounts, key=amounts.__getitem__)]
            amounts[user] = amount
        else:
            return False
        if len(amounts) == self.n:
            self.floor = min(amounts.values())
        return True

    def drop(self, user: str) -> None:
        if self.amounts.pop(user, None) is not None:
            self.floor = 0.0

    def ranked(self) -> list[float]:
        top = sorted(self.amounts.values(), reverse=True)
        return top + [0.0] * (self.n - len(top))


def _month_of(day: int) -> int:
    t = time.gmtime(day * 86400)
    return t.tm_year * 12 + t.tm_mon - 1


class UserSpend:
    """The bounded per-user spend of one registry. ``add(user, usd)`` is the hot path: one
    OrderedDict move and a few comparisons, under a lock."""

    def __init__(
        self,
        metrics: Metrics | None,
        config: UserBudgetSettings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config or settings()
        self._cap = self.config.daily_cap_usd
        self._warn = self.config.daily_cap_usd * self.config.warn_share
        self._clock = clock
        self._users: OrderedDict[str, _User] = OrderedDict()
        self._lock = threading.Lock()
        self._day = self._month = -1
        self._over = self._near = 0
        self._evicted = 0
        self._top = {DAY: _Top(self.config.top_n), MONTH: _Top(self.config.top_n)}
        self._state: dict[str, Any] | None = None  # what state() returns until something changes
        self.on_evict: Callable[[], None] | None = None
        self._gauges = _Gauges(self, metrics) if metrics is not None else None

    # -- recording --------------------------------------------------------------------------

    def add(self, user: str, usd: float) -> None:
        day = int(self._clock() // 86400)
        with self._lock:
            if day != self._day:
                self._roll(day)
            day = self._day  # one int object shared by every entry of the day, not one each
            users = self._users
            entry = users.get(user)
            changed = entry is None  # one more user tracked
            if entry is None:
                entry = users[user] = _User()
                if len(users) > self.config.max_users:
                    self._evict()
            else:
                users.move_to_end(user)
            if entry.day != day:
                entry.day, entry.day_usd = day, 0.0
            if entry.month != self._month:
                entry.month, entry.month_usd = self._month, 0.0
            before = entry.day_usd
            after = entry.day_usd = before + usd
            entry.month_usd += usd
            if before <= self._warn < after:
                self._near += 1
                changed = True
            if before <= self._cap < after:
                self._over += 1
                changed = True
            changed = self._top[DAY].offer(user, after) or changed
            changed = self._top[MONTH].offer(user, entry.month_usd) or changed
            if changed:
                self._state = None
        if changed and self._gauges is not None and self._gauges.push:
            self._gauges.publish()

    def _roll(self, day: int) -> None:
        """A new UTC day (maybe a new month): today's counts start from zero. Entries keep
        their old day and are reset when their user spends again."""
        month = _month_of(day)
        self._day = day
        self._state = None
        self._over = self._near = 0
        self._top[DAY] = _Top(self.config.top_n)
        if month != self._month:
            self._month = month
            self._top[MONTH] = _Top(self.config.top_n)

    def _evict(self) -> None:
        user, entry = self._users.popitem(last=False)
        self._evicted += 1
        self._state = None
        if entry.day == self._day:
            self._near -= entry.day_usd > self._warn
            self._over -= entry.day_usd > self._cap
        for top in self._top.values():
            top.drop(user)
        if self.on_evict is not None:
            self.on_evict()

    # -- reading ------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Counts, ranked amounts and sizes as of now (rolled over to today first). Worked out
        once per change: a scrape reads it for each of its gauges. Not to be modified."""
        day = int(self._clock() // 86400)
        with self._lock:
            if day != self._day and self._day != -1:
                self._roll(day)
            if self._state is None:
                self._state = {
                    "over": self._over,
                    "near": self._near,
                    DAY: self._top[DAY].ranked(),
                    MONTH: self._top[MONTH].ranked(),
                    "tracked": len(self._users),
                    "evicted": self._evicted,
                }
            return self._state

    def __len__(self) -> int:
        return len(self._users)


class _Gauges:
    """The tracker's gauges. One process: computed from the tracker at scrape time. Multiprocess
    mode (no scrape-time functions there): written after an update, those that changed."""

    def __init__(self, spend: UserSpend, metrics: Metrics) -> None:
        self.spend = spend
        self.push = metrics.multiprocess
        config = spend.config
        over = metrics.family(catalog.USERS_OVER_DAILY_CAP)
        top = metrics.family(catalog.USER_TOP_SPEND)
        tracked = metrics.single(catalog.TRACKED_USERS)
        self._targets: dict[tuple[str, int], Any] = {
            ("over", 0): over.labels(catalog.OVER_CAP),
            ("near", 0): over.labels(f"{config.warn_share:g}"),
            ("tracked", 0): tracked,
            **{(period, rank): top.labels(period, str(rank + 1))
               for period in (DAY, MONTH) for rank in range(config.top_n)},
        }  # fmt: skip
        self._shown: dict[tuple[str, int], float] = {}
        self._lock = threading.Lock()  # two updates publishing at once: the later state wins
        evicted = metrics.single(catalog.TRACKED_USERS_EVICTED)
        spend.on_evict = evicted.inc
        for key, gauge in self._targets.items():
            if self.push:
                gauge.set(0)
            else:
                gauge.set_function(_reader(spend, *key))

    def publish(self) -> None:
        with self._lock:
            state = self.spend.state()
            for (name, index), gauge in self._targets.items():
                value = state[name][index] if name in (DAY, MONTH) else state[name]
                if self._shown.get((name, index)) != value:
                    gauge.set(value)
                    self._shown[(name, index)] = value


def _reader(spend: UserSpend, name: str, index: int) -> Callable[[], float]:
    if name in (DAY, MONTH):
        return lambda: spend.state()[name][index]
    return lambda: spend.state()[name]
