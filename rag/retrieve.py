"""Hybrid retrieval: dense (FAISS) and BM25 over Korean morphemes, fused, with metadata filters.

Fusion. Equal-weight reciprocal-rank fusion throws away the strength of each
signal: on a Korean benchmark where BM25 is far ahead of the small dense model,
RRF lands between the two. Here each retriever's scores are standardised over
the whole (filtered) corpus — how many standard deviations a chunk stands above
the crowd — and added in a convex combination. A retriever that finds a clear
winner produces a large z-score and dominates.

The BM25 weight depends on the query, from a signal known at query time: the
lexical coverage, i.e. the IDF-weighted share of the query's search terms that
occur in the index at all. A Korean question over Korean notices has coverage
near 1 and gets the full BM25 weight (0.6); an English question over the same
notices has most of its words unknown to BM25, so the weight shrinks (with the
square of the coverage) and dense retrieval decides. One default for every
corpus; nothing is set per dataset (measured in the README: AutoRAGRetrieval and
the gold dev set).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

import numpy as np

from ingest.korean import search_terms
from rag.embed import Embedder
from rag.index import NoticeIndex
from rag.types import Hit, Retrieval

MODES = ("hybrid", "dense", "bm25")
FUSIONS = ("zscore", "rrf")
MAX_QUERY_CHARS = 2000


class QueryProblem(ValueError):
    """A query or filter that cannot be searched, with a one-line reason for the user."""


@dataclass(frozen=True)
class Filters:
    """Metadata restrictions applied inside retrieval (before the top-k cut)."""

    agencies: tuple[str, ...] = ()
    since: str = ""  # YYYY-MM-DD, inclusive
    until: str = ""  # YYYY-MM-DD, inclusive
    source_types: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value:
                try:
                    date.fromisoformat(value)
                except ValueError as exc:
                    raise QueryProblem(f"{name} must be a date as YYYY-MM-DD, got {value!r}") from exc
        if self.since and self.until and self.since > self.until:
            raise QueryProblem(f"date range is inverted: since {self.since} is after until {self.until}")

    @property
    def active(self) -> bool:
        return bool(self.agencies or self.since or self.until or self.source_types)

    def check_against(self, index: NoticeIndex) -> None:
        """Unknown agencies or source types are a user error, not an empty result."""
        known = {n.agency for n in index.notices.values()}
        unknown = [a for a in self.agencies if not any(a in k for k in known)]
        if unknown:
            listed = ", ".join(sorted(k for k in known if k)[:12])
            raise QueryProblem(f"unknown agency {', '.join(unknown)}; indexed agencies include: {listed}")
        types = {n.source_type for n in index.notices.values()}
        bad = [t for t in self.source_types if t not in types]
        if bad:
            raise QueryProblem(f"unknown source type {', '.join(bad)}; indexed: {', '.join(sorted(types))}")

    def mask(self, index: NoticeIndex) -> np.ndarray:
        """Boolean row mask over the index's chunks."""
        keep = np.ones(len(index.chunks), dtype=bool)
        for i, chunk in enumerate(index.chunks):
            if self.agencies and not any(a in chunk.agency for a in self.agencies):
                keep[i] = False
            elif self.since and (not chunk.published or chunk.published < self.since):
                keep[i] = False
            elif self.until and (not chunk.published or chunk.published > self.until):
                keep[i] = False
            elif self.source_types and chunk.source_type not in self.source_types:
                keep[i] = False
        return keep


def _zscores(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    values = scores[mask]
    out = np.zeros_like(scores)
    if values.size < 2:
        return out
    std = float(values.std())
    if std < 1e-9:
        return out
    out[mask] = (values - float(values.mean())) / std
    return out


class Retriever:
    """Finds the chunks (and notices) that answer a query.

    Parts are passed in: the index and the embedder that built it. ``mode``
    switches retrievers off for comparison; ``fusion`` picks how hybrid combines them.
    """

    def __init__(self, index: NoticeIndex, embedder: Embedder | None, mode: str = "hybrid",
                 fusion: str = "zscore", dense_weight: float = 0.4, rrf_k: int = 60):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {', '.join(FUSIONS)}, got {fusion!r}")
        if not 0.0 <= dense_weight <= 1.0:
            raise ValueError(f"dense_weight must be within [0, 1], got {dense_weight}")
        if mode != "bm25" and embedder is None:
            raise ValueError("an embedder is needed for dense or hybrid retrieval")
        self.index = index
        self.embedder = embedder
        self.mode = mode
        self.fusion = fusion
        self.dense_weight = dense_weight
        self.rrf_k = rrf_k
        self._bm25 = None

    # -- the two retrievers -------------------------------------------------------------
    def _bm25_model(self):
        if self._bm25 is None:
            import bm25s

            model = bm25s.BM25()
            # bm25s rejects an all-empty corpus; a placeholder term keeps empty chunks scorable at 0.
            model.index([t if t else ["\u0000"] for t in self.index.terms] or [["\u0000"]], show_progress=False)
            self._bm25 = model
        return self._bm25

    def bm25_scores(self, query: str, terms: list[str] | None = None) -> np.ndarray:
        terms = search_terms(query) if terms is None else terms
        if not terms or not self.index.chunks:
            return np.zeros(len(self.index.chunks), dtype=np.float32)
        return np.asarray(self._bm25_model().get_scores(terms), dtype=np.float32)[: len(self.index.chunks)]

    def lexical_coverage(self, terms: list[str]) -> float:
        """IDF-weighted share of ``terms`` that occur anywhere in the index (0 when there are none)."""
        return self.index.known_share(terms)

    def dense_scores(self, query: str) -> np.ndarray:
        n = len(self.index.chunks)
        if not n:
            return np.zeros(0, dtype=np.float32)
        vector = self.embedder.embed_query(query).reshape(1, -1).astype(np.float32)
        scores, rows = self.index.faiss_index.search(vector, n)
        out = np.full(n, -1.0, dtype=np.float32)
        valid = rows[0] >= 0
        out[rows[0][valid]] = scores[0][valid]
        return out

    # -- fusion ----------------------------------------------------------------------------
    def _fuse(self, dense: np.ndarray | None, bm25: np.ndarray | None, mask: np.ndarray,
              coverage: float = 1.0) -> np.ndarray:
        if dense is None:
            return bm25
        if bm25 is None:
            return dense
        if self.fusion == "rrf":
            return sum(1.0 / (self.rrf_k + _ranks(scores, mask)) for scores in (dense, bm25))
        bm25_weight = (1.0 - self.dense_weight) * coverage ** 2
        return (1.0 - bm25_weight) * _zscores(dense, mask) + bm25_weight * _zscores(bm25, mask)

    def run(self, query: str, k: int = 8, filters: Filters | None = None) -> Retrieval:
        """Top-``k`` chunks for ``query`` (filters applied before the cut) and their notices in rank order."""
        query = (query or "").strip()
        if not query:
            raise QueryProblem("the question is empty")
        if k < 1:
            raise QueryProblem(f"k must be at least 1, got {k}")
        query = query[:MAX_QUERY_CHARS]
        filters = filters or Filters()
        if filters.active:
            filters.check_against(self.index)
        timings: dict[str, float] = {}
        mask = filters.mask(self.index) if filters.active else np.ones(len(self.index.chunks), dtype=bool)

        dense = bm25 = None
        coverage = 1.0
        if self.mode in ("hybrid", "dense"):
            t = time.perf_counter()
            dense = self.dense_scores(query)
            timings["dense_ms"] = (time.perf_counter() - t) * 1000
        if self.mode in ("hybrid", "bm25"):
            t = time.perf_counter()
            terms = search_terms(query)
            bm25 = self.bm25_scores(query, terms)
            coverage = self.lexical_coverage(terms)
            timings["bm25_ms"] = (time.perf_counter() - t) * 1000
        fused = self._fuse(dense, bm25, mask, coverage)
        if bm25 is not None and dense is None and not np.any(bm25[mask] > 0):
            rows: list[int] = []  # BM25 alone with no matching term: nothing was found
        else:
            candidates = np.flatnonzero(mask)
            order = candidates[np.argsort(-fused[candidates], kind="stable")]
            rows = order[:k].tolist()

        dense_rank = _ranks(dense, mask)
        bm25_rank = _ranks(bm25, mask)
        hits = [
            Hit(
                chunk=self.index.chunks[r],
                score=float(fused[r]),
                dense_score=None if dense is None else float(dense[r]),
                bm25_score=None if bm25 is None else float(bm25[r]),
                dense_rank=None if dense_rank is None else int(dense_rank[r]),
                bm25_rank=None if bm25_rank is None else int(bm25_rank[r]),
            )
            for r in rows
        ]
        doc_ids = list(dict.fromkeys(h.chunk.doc_id for h in hits))
        timings["retrieval_ms"] = sum(timings.values())
        return Retrieval(query=query, hits=hits, doc_ids=doc_ids, timings_ms=timings,
                         lexical_coverage=coverage if bm25 is not None else None)


def _ranks(scores: np.ndarray | None, mask: np.ndarray) -> np.ndarray | None:
    if scores is None:
        return None
    order = np.argsort(-np.where(mask, scores, -np.inf), kind="stable")
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(1, len(order) + 1)
    return ranks
