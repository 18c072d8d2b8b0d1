"""The per-user budget tracker: counts over and near the daily cap, the top users' spend, UTC day
and month roll-over, and a size that stays bounded however many users come by."""

from __future__ import annotations

import tracemalloc

import pytest
from prometheus_client import CollectorRegistry

from llm_exporter import catalog, configure_user_budgets
from llm_exporter.cost import users as u
from llm_exporter.cost.users import UserBudgetSettings, UserSpend
from llm_exporter.metrics import Metrics

DAY = 86400.0
JAN_31 = 30 * DAY  # 1970-01-31 00:00 UTC


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def tracker(clock: Clock, **settings: object) -> tuple[UserSpend, CollectorRegistry]:
    registry = CollectorRegistry()
    config = UserBudgetSettings(**{"daily_cap_usd": 10.0, "top_n": 3, **settings})  # type: ignore[arg-type]
    return UserSpend(Metrics(registry), config, clock), registry


def gauge(registry: CollectorRegistry, spec: catalog.MetricSpec, **labels: str) -> float:
    value = registry.get_sample_value(spec.name, labels)
    assert value is not None, (spec.name, labels)
    return value


def test_counts_over_and_near_the_cap_and_the_top_users() -> None:
    clock = Clock(JAN_31 + 3600)
    spend, registry = tracker(clock)
    spend.add("ann", 7.0)  # 70%: neither
    spend.add("bob", 8.5)  # 85%: near
    spend.add("cat", 6.0)
    spend.add("cat", 6.0)  # 12: over (and near)
    spend.add("dan", 1.0)
    over, near = {"cap_share": "1"}, {"cap_share": "0.8"}
    assert gauge(registry, catalog.USERS_OVER_DAILY_CAP, **over) == 1
    assert gauge(registry, catalog.USERS_OVER_DAILY_CAP, **near) == 2
    spend.add("ann", 1.5)  # 8.5: near now
    assert gauge(registry, catalog.USERS_OVER_DAILY_CAP, **near) == 3
    top = [gauge(registry, catalog.USER_TOP_SPEND, period="day", rank=str(r)) for r in (1, 2, 3)]
    assert top == [12.0, 8.5, 8.5]
    assert gauge(registry, catalog.TRACKED_USERS) == 4


def test_days_and_months_roll_over_at_midnight_utc_even_without_traffic() -> None:
    clock = Clock(JAN_31 + 23 * 3600)
    spend, registry = tracker(clock)
    spend.add("ann", 11.0)
    spend.add("bob", 4.0)
    assert gauge(registry, catalog.USERS_OVER_DAILY_CAP, cap_share="1") == 1
    clock.now = JAN_31 + DAY + 60  # February 1, 00:01: a new day and a new month, no call yet
    assert gauge(registry, catalog.USERS_OVER_DAILY_CAP, cap_share="1") == 0
    assert gauge(registry, catalog.USER_TOP_SPEND, period="day", rank="1") == 0
    assert gauge(registry, catalog.USER_TOP_SPEND, period="month", rank="1") == 0
    spend.add("bob", 9.0)  # bob's month restarts with February
    assert gauge(registry, catalog.USER_TOP_SPEND, period="month", rank="1") == 9.0
    clock.now += DAY  # February 2: the day resets, the month keeps counting
    spend.add("bob", 2.0)
    assert gauge(registry, catalog.USER_TOP_SPEND, period="day", rank="1") == 2.0
    assert gauge(registry, catalog.USER_TOP_SPEND, period="month", rank="1") == 11.0
    assert gauge(registry, catalog.USERS_OVER_DAILY_CAP, cap_share="1") == 0


def test_the_tracker_stays_bounded_and_forgets_the_least_recently_active() -> None:
    clock = Clock(JAN_31)
    spend, registry = tracker(clock, max_users=1000)
    spend.add("whale", 50.0)  # over the cap, then idle while the others come by
    for i in range(5_000):
        spend.add(f"user-{i}", 0.001)
    assert len(spend) == 1000
    # The whale was evicted: forgotten, counts and ranks included, and counted as evicted.
    assert gauge(registry, catalog.USERS_OVER_DAILY_CAP, cap_share="1") == 0
    assert gauge(registry, catalog.USER_TOP_SPEND, period="day", rank="1") == pytest.approx(0.001)
    assert gauge(registry, catalog.TRACKED_USERS_EVICTED) == 4001
    # Full, it holds its size: another 20 000 new users leave memory where it was.
    tracemalloc.start()
    for i in range(5_000, 10_000):
        spend.add(f"user-{i}", 0.001)
    before, _ = tracemalloc.get_traced_memory()
    for i in range(10_000, 30_000):
        spend.add(f"user-{i}", 0.001)
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(spend) == 1000
    assert after - before < 64 * 1024


def test_recently_active_users_stay() -> None:
    spend, registry = tracker(Clock(JAN_31), max_users=3)
    for user in ("a", "b", "c"):
        spend.add(user, 1.0)
    spend.add("a", 1.0)  # a is now the most recent; b the least
    spend.add("d", 1.0)
    spend.add("a", 9.0)  # 11: still known, so over the cap
    assert gauge(registry, catalog.USERS_OVER_DAILY_CAP, cap_share="1") == 1
    assert gauge(registry, catalog.USER_TOP_SPEND, period="day", rank="1") == 11.0


def test_settings_are_checked_and_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValueError, match="daily_cap_usd must be a positive number"):
        UserBudgetSettings(daily_cap_usd=0)
    with pytest.raises(ValueError, match="warn_share must be between 0 and 1"):
        configure_user_budgets(warn_share=1.5)
    monkeypatch.setenv("LLM_EXPORTER_USER_DAILY_CAP_USD", "25")
    monkeypatch.setenv("LLM_EXPORTER_USER_TRACKER_SIZE", "500")
    assert UserBudgetSettings.from_env() == UserBudgetSettings(daily_cap_usd=25.0, max_users=500)
    monkeypatch.setenv("LLM_EXPORTER_USER_TOP_N", "ten")
    with pytest.raises(ValueError, match="LLM_EXPORTER_USER_TOP_N must be an integer, got 'ten'"):
        UserBudgetSettings.from_env()
    saved = u.settings()
    try:
        assert configure_user_budgets(daily_cap_usd=5).daily_cap_usd == 5
        assert u.settings().max_users == saved.max_users
    finally:
        u._settings.set(saved)
