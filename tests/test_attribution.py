"""Cost attribution: team, feature and tenant set once per request arrive as labels on the cost
and token counters (the real openai SDK against the simulator), follow the request through
decorators and asyncio, are capped per dimension, and feed the per-user tracker."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator

import openai
import pytest
from prometheus_client import CollectorRegistry

from llm_exporter import (
    attribute,
    catalog,
    configure_attribution,
    instrument_openai,
    reset_attribution,
    set_attribution,
)
from llm_exporter.cost import attribution
from llm_exporter.guard import OVERFLOW_VALUE
from llm_exporter.metrics import Metrics
from llm_exporter.pricing import ModelTable
from llm_exporter.simulator import Simulator, SimulatorConfig

from .conftest import sample_sum, samples

MSG = [{"role": "user", "content": "what does a prompt change cost"}]
PRICE = ModelTable.load().lookup("gpt-4o")


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(SimulatorConfig(output_tokens=10)) as running:
        yield running


@pytest.fixture(autouse=True)
def default_settings() -> Iterator[None]:
    """Each test starts from every dimension on and the default cap, and leaves it so."""
    saved = attribution.settings()
    configure_attribution(attribution.DIMENSIONS, max_values=attribution.DEFAULT_MAX_VALUES)
    yield
    configure_attribution(saved.dimensions, max_values=saved.max_values)


class App:
    """A sync and an async client instrumented into a private registry."""

    def __init__(self, base_url: str) -> None:
        self.registry = CollectorRegistry()
        kw = {"base_url": base_url, "api_key": "sim", "max_retries": 0}
        self.client = openai.OpenAI(**kw)
        self.aclient = openai.AsyncOpenAI(**kw)
        metrics = Metrics(self.registry)
        instrument_openai(self.client, metrics=metrics)
        instrument_openai(self.aclient, metrics=metrics)

    def ask(self) -> openai.types.chat.ChatCompletion:
        return self.client.chat.completions.create(model="gpt-4o", messages=MSG)

    def by(self, name: str, *labels: str) -> dict[tuple[str, ...], float]:
        """``name``'s samples summed by ``labels``."""
        out: dict[tuple[str, ...], float] = {}
        for sample, values, value in samples(self.registry):
            if sample == name:
                group = tuple(values[label] for label in labels)
                out[group] = out.get(group, 0.0) + value
        return out

    def value(self, name: str, **labels: str) -> float:
        """One sample's value; it must exist (a missing series is no 0)."""
        found = self.registry.get_sample_value(name, labels)
        assert found is not None, (name, labels)
        return found


@pytest.fixture
def app(sim: Simulator) -> App:
    return App(sim.base_url)


TEAM, FEATURE, TENANT = catalog.TEAM, catalog.FEATURE, catalog.TENANT


def test_attribution_labels_arrive_on_the_cost_and_token_series(app: App) -> None:
    with attribute(team="search", feature="autocomplete", tenant="acme"):
        reply = app.ask()
    unattributed = app.ask()
    usage = reply.usage
    cost = app.by(catalog.COST.name, TEAM, FEATURE, TENANT)
    assert cost[("search", "autocomplete", "acme")] == pytest.approx(
        PRICE.cost(usage.prompt_tokens, usage.completion_tokens)
    )
    assert cost[("", "", "")] == pytest.approx(
        PRICE.cost(unattributed.usage.prompt_tokens, unattributed.usage.completion_tokens)
    )
    # The cost series keeps the call labels too: the rules' by (job, provider, model) still work.
    (labels,) = [lab for name, lab, _ in samples(app.registry)
                 if name == catalog.COST.name and lab[TEAM] == "search"]  # fmt: skip
    assert labels[catalog.REQUEST_MODEL] == "gpt-4o" and labels[catalog.PROVIDER] == "openai"
    tokens = app.by(catalog.TOKENS.name, TEAM, FEATURE, TENANT, catalog.REQUEST_MODEL,
                    catalog.TOKEN_TYPE)  # fmt: skip
    assert tokens[("search", "autocomplete", "acme", "gpt-4o", "input")] == usage.prompt_tokens
    assert tokens[("search", "autocomplete", "acme", "gpt-4o", "output")] == usage.completion_tokens
    assert tokens[("", "", "", "gpt-4o", "output")] == unattributed.usage.completion_tokens
    # The conventions' histogram keeps its own labels, for every other producer's sake.
    for name, labels, _ in samples(app.registry):
        if name == catalog.TOKEN_USAGE.count:
            assert set(labels) == {*catalog.CALL_LABELS, catalog.TOKEN_TYPE}


def test_attribution_follows_decorators_nesting_and_asyncio(app: App) -> None:
    @attribute(team="support")
    async def handle(tenant: str) -> None:
        with attribute(route="/answer", tenant=tenant):  # route names the feature
            await asyncio.gather(*(app.aclient.chat.completions.create(
                model="gpt-4o", messages=MSG) for _ in range(2)))  # fmt: skip

    asyncio.run(handle("globex"))

    @attribute(team="cron", feature="digest")
    def nightly(again: bool) -> None:
        with attribute(feature="retry") if again else contextlib.nullcontext():
            app.ask()
        if again:
            nightly(False)  # the same decorator, entered while it is in force

    nightly(True)
    token = set_attribution(team="batch", feature="nightly")
    try:
        app.ask()
    finally:
        reset_attribution(token)
    app.ask()
    calls = app.by(catalog.TOKENS.name, TEAM, FEATURE, TENANT, catalog.TOKEN_TYPE)
    assert set(calls) == {("support", "/answer", "globex", "input"),
                          ("support", "/answer", "globex", "output"),
                          ("batch", "nightly", "", "input"), ("batch", "nightly", "", "output"),
                          ("cron", "retry", "", "input"), ("cron", "retry", "", "output"),
                          ("cron", "digest", "", "input"), ("cron", "digest", "", "output"),
                          ("", "", "", "input"), ("", "", "", "output")}  # fmt: skip
    assert attribution.current() == attribution.EMPTY


def test_switched_off_dimensions_stay_empty(app: App) -> None:
    configure_attribution(["team"])
    with attribute(team="search", feature="autocomplete", tenant="acme", user="u-1"):
        app.ask()
    assert list(app.by(catalog.COST.name, TEAM, FEATURE, TENANT)) == [("search", "", "")]


def test_each_dimension_keeps_at_most_max_values(sim: Simulator) -> None:
    configure_attribution(max_values=2)
    app = App(sim.base_url)  # the cap in force when the recorder is built
    for tenant in ("acme", "globex", "initech", "hooli", "acme"):
        with attribute(team="search", tenant=tenant):
            app.ask()
    tenants = app.by(catalog.TOKENS.name, TENANT)
    assert set(tenants) == {("acme",), ("globex",), (OVERFLOW_VALUE,)}
    folded = {"metric": "attribution:tenant"}
    assert app.value(catalog.LABELS_FOLDED.name, **folded) == 2  # initech, hooli
    assert app.value(catalog.LABEL_SETS.name, **folded) == 2
    assert app.value(catalog.LABEL_SETS_LIMIT.name, **folded) == 2
    # No team folded: its fold counter, bound on the first fold, has no series.
    assert sample_sum(app.registry, catalog.LABELS_FOLDED.name, metric="attribution:team") == 0


def test_an_unknown_dimension_is_a_value_error_naming_the_allowed_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    allowed = re.escape("allowed: team, feature, tenant, route (= feature)")
    with pytest.raises(ValueError, match="unknown attribution dimension 'department'; " + allowed):
        configure_attribution(["team", "department"])
    with pytest.raises(ValueError, match=allowed):
        attribute(department="finance")
    with pytest.raises(ValueError, match=allowed):
        set_attribution(customer="acme")
    with pytest.raises(ValueError, match="max_values must be a whole number"):
        configure_attribution(max_values=0)
    monkeypatch.setenv(attribution.ENV_DIMENSIONS, "team,cost_center")
    with pytest.raises(ValueError, match="LLM_EXPORTER_ATTRIBUTION: unknown attribution "
                                         "dimension 'cost_center'"):  # fmt: skip
        attribution.AttributionSettings.from_env()
    monkeypatch.setenv(attribution.ENV_DIMENSIONS, "team, route")
    assert attribution.AttributionSettings.from_env().dimensions == ("team", "feature")


def test_spend_under_a_user_reaches_the_per_user_tracker_and_no_label(app: App) -> None:
    with attribute(team="search", user="user-42"):
        first = app.ask()
    with attribute(user="user-7"):
        second = app.ask()
    spent = PRICE.cost(first.usage.prompt_tokens, first.usage.completion_tokens)
    other = PRICE.cost(second.usage.prompt_tokens, second.usage.completion_tokens)
    ranks = sorted([spent, other], reverse=True)
    top = catalog.USER_TOP_SPEND.name
    for period in ("day", "month"):
        assert app.value(top, period=period, rank="1") == pytest.approx(ranks[0])
        assert app.value(top, period=period, rank="2") == pytest.approx(ranks[1])
        assert app.value(top, period=period, rank="3") == 0
    assert app.value(catalog.TRACKED_USERS.name) == 2
    assert app.value(catalog.USERS_OVER_DAILY_CAP.name, cap_share="1") == 0
    exposition = [s for f in app.registry.collect() for s in f.samples]
    assert not any("user-42" in str(s.labels) for s in exposition)
