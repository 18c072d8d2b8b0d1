"""The retrieval helper: documents per query, empty results, the best relevance score read from
the shapes vector stores return, the index's age, and bad values dropped, not raised."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import pytest
from prometheus_client import REGISTRY

from llm_exporter import catalog

from . import tracked

DOCS, SCORE = catalog.RETRIEVAL_DOCUMENTS, catalog.RETRIEVAL_TOP_SCORE
SOURCE = {catalog.DATA_SOURCE: "kb"}


@dataclass
class Node:  # LlamaIndex's NodeWithScore has a .score
    text: str
    score: float


class Reader(tracked.Reader):
    def value(self, name: str, **labels: str) -> float:
        return super().value(name, **{**SOURCE, **labels})


@pytest.fixture
def r() -> Reader:
    return Reader()


def test_results_scores_and_empty_queries(r: Reader) -> None:
    t = r.tracker

    @t.retrieval("kb")  # the decorator records what the function returns
    def search(query: str) -> list[dict]:
        return [{"id": 1, "score": 0.61}, {"id": 2, "score": 0.93}, {"id": 3}]

    assert search("q") == [{"id": 1, "score": 0.61}, {"id": 2, "score": 0.93}, {"id": 3}]
    with t.retrieval("kb") as scope:
        pairs = scope.result([("doc-a", 0.42), ("doc-b", 0.40)])  # LangChain's (doc, score)
    assert pairs[0] == ("doc-a", 0.42)
    t.record_retrieval("kb", [Node("x", 0.7)])
    t.record_retrieval("kb", [])  # an empty result: no score
    t.record_retrieval("kb", 4, top_score=0.5)  # a count and an explicit score
    assert r.value(DOCS.count) == 5
    assert r.value(DOCS.sum) == 3 + 2 + 1 + 0 + 4
    assert r.value(DOCS.bucket, le="0.0") == 1  # the empty query
    assert r.value(SCORE.count) == 4
    assert r.value(SCORE.sum) == pytest.approx(0.93 + 0.42 + 0.7 + 0.5)


def test_async_retrieval_and_a_failing_one(r: Reader) -> None:
    t = r.tracker

    @t.retrieval("kb")
    async def search() -> list[Node]:
        return [Node("a", 0.8)]

    asyncio.run(search())
    with pytest.raises(ConnectionError), t.retrieval("kb"):
        raise ConnectionError("vector store down")  # the application's error, unchanged
    assert r.value(DOCS.count) == 1 and r.value(SCORE.sum) == pytest.approx(0.8)


def test_index_age_and_bad_values(r: Reader) -> None:
    t = r.tracker
    t.set_index_updated("kb", 1_700_000_000)
    assert r.value(catalog.RETRIEVAL_INDEX_UPDATED.name) == 1_700_000_000
    t.record_retrieval("kb", object())  # no length: dropped and counted
    t.record_retrieval("kb", "one document's text")  # a string's length is no count
    t.record_retrieval("kb", {"matches": [1, 2]})  # a response object, not its documents
    t.record_retrieval("kb", [{"id": 1}], top_score=float("nan"))  # counted, score dropped
    rejected = catalog.REJECTED_OBSERVATIONS.name
    assert r.registry.get_sample_value(rejected, {"signal": "retrieval",
                                                  "reason": "bad_documents"}) == 3  # fmt: skip
    assert r.registry.get_sample_value(rejected, {"signal": "retrieval_score",
                                                  "reason": "not_a_number"}) == 1  # fmt: skip
    assert r.value(DOCS.count) == 1 and r.value(SCORE.count) == 0


def test_the_package_level_helpers_record_on_the_default_registry() -> None:
    """``llm_exporter.retrieval``, ``record_retrieval`` and ``set_index_updated``: what an
    application imports, on the default tracker (a source of their own, so nothing else adds)."""
    import llm_exporter as lx

    labels = {catalog.DATA_SOURCE: "kb-package-level"}
    before = time.time()
    lx.set_index_updated("kb-package-level")  # now
    stamp = REGISTRY.get_sample_value(catalog.RETRIEVAL_INDEX_UPDATED.name, labels)
    assert stamp is not None and before <= stamp <= time.time()

    @lx.retrieval("kb-package-level")
    def search() -> list[dict]:
        return [{"score": 0.5}]

    search()
    lx.record_retrieval("kb-package-level", 2, top_score=0.9)
    assert REGISTRY.get_sample_value(DOCS.count, labels) == 2
    assert REGISTRY.get_sample_value(DOCS.sum, labels) == 3
    assert REGISTRY.get_sample_value(SCORE.sum, labels) == pytest.approx(1.4)
