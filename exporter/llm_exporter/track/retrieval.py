"""Retrieval (RAG) health: documents per query, the best relevance score, empty results, and how
old the index is.

    @llm_exporter.retrieval("kb")  # records what the function returns
    def search(query: str) -> list[dict]: ...

    with llm_exporter.retrieval("kb") as r:
        docs = r.result(store.similarity_search_with_score(query))

    llm_exporter.set_index_updated("kb")  # after each (re)index; or pass its timestamp

A result is a sized collection of documents; its top score is the largest ``score`` found on
them: a mapping's ``"score"`` key, an object's ``.score`` attribute (LlamaIndex's
NodeWithScore), or the second item of a ``(document, score)`` pair (LangChain's ``..._with_score``
searches). ``result(docs, top_score=...)`` gives it explicitly. Scores are expected in 0..1
(cosine similarity, a reranker's probability). A retrieval that raises records nothing here:
time it and count its errors with ``tool()``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sized
from typing import TYPE_CHECKING, Any, TypeGuard

from .scopes import Scope

if TYPE_CHECKING:
    from .tracker import Tracker


class RetrievalScope(Scope):
    """One retrieval query against data source ``name`` (an index, collection or store)."""

    __slots__ = ()
    _component = "retrieval"

    def _end(self, elapsed: float, error: str) -> None:
        pass  # what is recorded is the result's, in result()

    def result(self, documents: Any, *, top_score: float | None = None) -> Any:
        """Record how many documents came back and the best score; returns ``documents``."""
        self._tracker.record_retrieval(self.name, documents, top_score=top_score)
        return documents

    def _returned(self, value: Any) -> Any:
        return self.result(value)


def document_count(documents: Any) -> int | None:
    """How many documents a result holds: an int as is, else its length; None when neither, or
    for a string or a mapping (one document, or a response object, not a list of them)."""
    if isinstance(documents, (bool, str, bytes, Mapping)):
        return None
    if isinstance(documents, int):
        return documents
    if documents is None:
        return 0
    if isinstance(documents, Sized):
        return len(documents)
    return None


def top_score(documents: Any) -> float | None:
    """The largest score found on the documents (see the module's docs), or None."""
    if isinstance(documents, (int, str, bytes)) or documents is None:
        return None
    best: float | None = None
    for doc in documents:
        if isinstance(doc, Mapping):
            score = doc.get("score")
        elif isinstance(doc, tuple) and len(doc) == 2:
            score = doc[1]
        else:
            score = getattr(doc, "score", None)
        if is_number(score) and (best is None or score > best):
            best = float(score)
    return best


def is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def record(tracker: Tracker, source: str, documents: Any, top: float | None) -> None:
    """What Tracker.record_retrieval does, faults aside."""
    metrics = tracker.metrics
    count = document_count(documents)
    if count is None or count < 0:
        kind = type(documents).__name__
        metrics.reject("retrieval", "bad_documents",
                       f"{kind}, expected a sized collection of documents or a count")  # fmt: skip
        return
    tracker.retrieval_documents.labels(source).observe(count)
    if top is None and count:
        top = top_score(documents)
    if top is None:
        return
    if not is_number(top):
        metrics.reject("retrieval_score", "not_a_number", f"{top!r}, expected a number in 0..1")
        return
    tracker.retrieval_top_score.labels(source).observe(top)


def index_timestamp(timestamp: float | None) -> float:
    return time.time() if timestamp is None else float(timestamp)
