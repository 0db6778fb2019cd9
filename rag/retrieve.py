"""Hybrid retrieval: dense and BM25 over Korean morphemes (rag/search backends), fused, with metadata filters.

Fusion. Equal-weight reciprocal-rank fusion throws away the strength of each
signal: on a Korean benchmark where BM25 is far ahead of the small dense model,
RRF lands between the two. Here each retriever's scores are standardised against
its score distribution over the (filtered) corpus — how many standard deviations a
chunk stands above the crowd — and added in a convex combination. A retriever that
finds a clear winner produces a large z-score and dominates. Only candidates are
fused: each store's top-N under the filters (rag/search), with the mean and spread
read from a fixed sample of rows, so the cost does not grow with the corpus.

The BM25 weight depends on the query, from a signal known at query time: the
lexical coverage, i.e. the IDF-weighted share of the query's search terms that
occur in the index at all. A Korean question over Korean notices has coverage
near 1 and gets the full BM25 weight; an English question over the same notices
has most of its words unknown to BM25, so the weight shrinks (with a power of the
coverage) and the dense side decides. The dense side can also take, beside the
chunk's own vector, its best sentence's vector (``NoticeIndex.best_sentence_scores``).
Two bonuses are added on top: the share of the query's adjacent term pairs that the chunk holds
adjacent too (``NoticeIndex.phrase_coverage``: paragraphs of one article share words, not word
order), and a calendar day that both the query and the chunk's notice name (``rag.dates``).

The weights (``FusionWeights``) are read from rag/fusion_weights.json, which
eval/fit_fusion.py writes: fitted on half of dev, korquad_tune and
AutoRAGRetrieval together, adopted only if the other half of every set holds
(the pair and day weights since 2026-12-04; the others hand-set). One default for every corpus.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, fields
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np

from ingest.korean import search_terms
from rag.dates import question_days
from rag.embed import Embedder
from rag.index import NoticeIndex, title_key
from rag.search import STORES, ChunkFilter, Restriction, SearchStores, open_search
from rag.search.base import date_number
from rag.types import Hit, Retrieval

WEIGHTS_FILE = Path(__file__).with_name("fusion_weights.json")
MODES = ("hybrid", "dense", "bm25")
FUSIONS = ("zscore", "rrf")
MAX_QUERY_CHARS = 2000


class QueryProblem(ValueError):
    """A query or filter that cannot be searched, with a one-line reason for the user."""


class NothingToSearch(QueryProblem):
    """Valid filters that hide every notice: the answer may be in what they hide, so say so."""


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
        self.check_known({n.agency for n in index.notices.values()}, {n.source_type for n in index.notices.values()})

    def check_known(self, known: set[str], types: set[str]) -> None:
        """``check_against`` over the distinct agencies and source types (no pass over every notice)."""
        unknown = [a for a in self.agencies if not any(a in k for k in known)]
        if unknown:
            listed = ", ".join(sorted(k for k in known if k)[:12])
            raise QueryProblem(f"unknown agency {', '.join(unknown)}; indexed agencies include: {listed}")
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


@dataclass(frozen=True)
class FusionWeights:
    """How z-score fusion weighs its signals (see the module docstring).

    ``dense``: the dense side's weight when every query term is known to BM25 (BM25 gets the rest,
    times coverage ** ``coverage_power``). ``sentence``: the share of the dense side taken by the
    chunk's best sentence rather than the chunk's own vector (0 without sentence vectors).
    ``sentence_terms``: added, times the same coverage factor, for the IDF share of the query's
    terms that the chunk's best sentence holds (0 without stored sentence terms).
    ``phrase``: added, times the same coverage factor, for the IDF share of the query's adjacent term
    pairs that the chunk holds adjacent too (0 without stored sentence terms).
    ``sibling_terms``: among candidate chunks whose notices share one title (parts of one document: a
    Wikipedia article's paragraphs, a report's pages filed under one name), a chunk loses this much, times
    the same coverage factor, per unit of the IDF share of the query's terms by which its best sentence
    falls short of its best sibling's. Title and topic words cannot tell such parts apart; the part the
    question asks about holds its words together in one sentence. Chunks without a sibling are untouched.
    ``date``: added when the query names a calendar day ("6월 18일", "June 17") that the chunk's
    notice names too (``rag.dates``).
    ``bm25_floor``, ``bm25_full``: how sure BM25 is, read from its best candidate's z-score against the
    sample. At or below the floor BM25 gets no weight, from ``bm25_full`` it gets all of it, with a linear
    ramp between. ``bm25_full`` 0 turns this off. A question in everyday words ("집 안에서 넘어지지
    않도록 집을 고치는 공사비") has words BM25 knows, so coverage alone gives BM25 full weight. Yet those
    words are spread over many notices and no chunk stands out. A question that names the notice's own
    terms gets a top BM25 score many deviations above the crowd.
    The values before fitting (0.4, 0, 2, 0) were set by hand on AutoRAGRetrieval and the dev set.
    """

    dense: float = 0.4
    sentence: float = 0.0
    coverage_power: float = 2.0
    sentence_terms: float = 0.0
    date: float = 0.0
    phrase: float = 0.0
    sibling_terms: float = 0.0
    bm25_floor: float = 0.0
    bm25_full: float = 0.0

    def __post_init__(self) -> None:
        for name in ("dense", "sentence"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} weight must be within [0, 1], got {getattr(self, name)}")
        for name in ("coverage_power", "sentence_terms", "date", "phrase", "sibling_terms", "bm25_floor", "bm25_full"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be at least 0, got {getattr(self, name)}")
        if self.bm25_full and self.bm25_full <= self.bm25_floor:
            raise ValueError(f"bm25_full must be above bm25_floor ({self.bm25_floor}), got {self.bm25_full}")

    def bm25_sureness(self, z: np.ndarray, sample_size: int) -> float:
        """BM25's share of its weight, 0–1, from the best of the candidates' BM25 z-scores ``z`` against a
        sample of ``sample_size`` rows (1 when the ramp is off or the sample is too small for a z-score to
        reach the ramp's top)."""
        if not self.bm25_full or not len(z):
            return 1.0
        n = sample_size
        # with n rows, no z-score can exceed (n-1)/sqrt(n): a small index could never reach the ramp's top
        if n < 2 or (n - 1) / n ** 0.5 < 2 * self.bm25_full:
            return 1.0
        return float(np.clip((float(z.max()) - self.bm25_floor) / (self.bm25_full - self.bm25_floor), 0.0, 1.0))

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> FusionWeights:
        return cls(**{f.name: float(data[f.name]) for f in fields(cls) if f.name in data})


@lru_cache(maxsize=1)
def shipped_weights() -> FusionWeights:
    """The fitted weights shipped in rag/fusion_weights.json (the hand-set ones if it is absent)."""
    if not WEIGHTS_FILE.exists():
        return FusionWeights()
    return FusionWeights.from_json(json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))["weights"])


@dataclass
class Candidates:
    """One query's fusion inputs: the candidate rows and each signal's scores on them and on the sample."""

    query: str  # as searched: stripped, at most MAX_QUERY_CHARS
    rows: np.ndarray
    coverage: float
    dense: np.ndarray | None = None
    dense_sample: np.ndarray | None = None
    sentence: np.ndarray | None = None
    sentence_sample: np.ndarray | None = None
    bm25: np.ndarray | None = None
    bm25_sample: np.ndarray | None = None
    sentence_terms: np.ndarray | None = None
    date: np.ndarray | None = None  # 1 where the chunk's notice names a day the query names
    phrase: np.ndarray | None = None  # share of the query's adjacent term pairs the chunk holds
    # best-sentence term share minus the best sibling's (0 for a chunk whose notice's title no other shares)
    sibling_terms: np.ndarray | None = None
    dense_rows: np.ndarray | None = None
    bm25_rows: np.ndarray | None = None


def fuse(c: Candidates, weights: FusionWeights) -> np.ndarray:
    """Z-score fusion of ``c``'s signals (one alone is returned as it is)."""
    if c.dense is None:
        return c.bm25
    dense = c.dense
    if c.dense_sample is not None:
        dense = _standardise(c.dense, c.dense_sample)
        if weights.sentence and c.sentence is not None and c.sentence_sample is not None:
            dense = ((1.0 - weights.sentence) * dense
                     + weights.sentence * _standardise(c.sentence, c.sentence_sample))
    if c.bm25 is None:
        return dense
    bm25 = _standardise(c.bm25, c.bm25_sample)
    lexical = c.coverage ** weights.coverage_power
    if c.bm25_sample is not None:
        lexical *= weights.bm25_sureness(bm25, len(c.bm25_sample))
    bm25_weight = (1.0 - weights.dense) * lexical
    fused = (1.0 - bm25_weight) * dense + bm25_weight * bm25
    if weights.sentence_terms and c.sentence_terms is not None:
        fused = fused + weights.sentence_terms * lexical * c.sentence_terms
    if weights.phrase and c.phrase is not None:
        fused = fused + weights.phrase * lexical * c.phrase
    if weights.sibling_terms and c.sibling_terms is not None:
        fused = fused + weights.sibling_terms * lexical * c.sibling_terms
    if weights.date and c.date is not None:
        fused = fused + weights.date * c.date
    return fused


def _standardise(values: np.ndarray, sample: np.ndarray) -> np.ndarray:
    """How many standard deviations each value stands above the sample's mean (0 for a flat sample)."""
    if sample.size < 2:
        return np.zeros_like(values)
    std = float(sample.std())
    if std < 1e-9:
        return np.zeros_like(values)
    return (values - float(sample.mean())) / std


class Retriever:
    """Finds the chunks (and notices) that answer a query.

    Parts are passed in: the index, the embedder that built it, and the search backend
    (``store``: ``faiss`` embedded, or ``qdrant``). ``mode`` switches retrievers off for
    comparison; ``fusion`` picks how hybrid combines them.

    Each store returns its top ``candidates`` chunks (at least 4·k) under the filters; the
    other store scores those chunks exactly, and fusion ranks the union. The z-scores are
    taken against each store's score distribution over the filtered corpus, read from an evenly
    spaced sample of at most ``SAMPLE`` filtered rows (all of them in a small index, so results
    there are the ones whole-corpus scoring gave). Cost grows with k and the sample, not with
    the corpus (beyond what each engine's own top-k search costs).
    """

    SAMPLE = 2048

    def __init__(self, index: NoticeIndex, embedder: Embedder | None, mode: str = "hybrid",
                 fusion: str = "zscore", weights: FusionWeights | None = None, rrf_k: int = 60,
                 store: str = "faiss", candidates: int = 100, qdrant_url: str = "", qdrant_path: str = "",
                 qdrant_collection: str = "pressrag"):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {', '.join(FUSIONS)}, got {fusion!r}")
        if mode != "bm25" and embedder is None:
            raise ValueError("an embedder is needed for dense or hybrid retrieval")
        if store not in STORES:
            raise ValueError(f"store must be one of {', '.join(STORES)}, got {store!r}")
        self.index = index
        self.embedder = embedder
        self.mode = mode
        self.fusion = fusion
        self.weights = weights or shipped_weights()
        self.rrf_k = rrf_k
        self.store = store
        self.candidates_per_store = candidates
        self.qdrant = {"qdrant_url": qdrant_url, "qdrant_path": qdrant_path, "qdrant_collection": qdrant_collection}

    def options(self) -> dict:
        """The settings, to build the same retriever over another index."""
        return {"mode": self.mode, "fusion": self.fusion, "weights": self.weights, "rrf_k": self.rrf_k,
                "store": self.store, "candidates": self.candidates_per_store, **self.qdrant}

    @property
    def stores(self) -> SearchStores:
        return open_search(self.index, self.store, **self.qdrant)

    def warm(self) -> Retriever:
        """Open the stores and find the copies now (before a swap), not at the first question (the copies
        of korquad_tune's 283 paragraphs, where most titles repeat, take ~90 ms to find)."""
        self.stores
        self.index.copies()
        return self

    def lexical_coverage(self, terms: list[str]) -> float:
        """IDF-weighted share of ``terms`` that occur anywhere in the index (0 when there are none)."""
        return self.stores.known_share(terms)

    # -- filters ---------------------------------------------------------------------------
    def _restriction(self, filters: Filters) -> Restriction | None:
        if not filters.active:
            return None
        stores = self.stores
        filters.check_known(set(stores.meta.agency_names), set(stores.meta.source_names))
        agencies = tuple(a for a in stores.meta.agency_names if any(f in a for f in filters.agencies))
        flt = ChunkFilter(agencies=agencies, since=date_number(filters.since), until=date_number(filters.until),
                          source_types=filters.source_types)
        return stores.meta.restriction(flt)

    def _sample(self, where: Restriction | None) -> np.ndarray:
        rows = np.arange(len(self.index.chunks)) if where is None else np.flatnonzero(where.mask)
        if len(rows) > self.SAMPLE:
            rows = rows[np.linspace(0, len(rows) - 1, self.SAMPLE).astype(np.int64)]
        return rows

    # -- fusion ----------------------------------------------------------------------------
    def candidates(self, query: str, k: int = 8, filters: Filters | None = None,
                   timings: dict[str, float] | None = None) -> Candidates:
        """Each store's top chunks for ``query`` under ``filters``, with every signal's scores on them."""
        query = (query or "").strip()
        if not query:
            raise QueryProblem("the question is empty")
        if k < 1:
            raise QueryProblem(f"k must be at least 1, got {k}")
        query = query[:MAX_QUERY_CHARS]
        where = self._restriction(filters or Filters())
        if where is not None and len(self.index.chunks) and not where.count:
            # Say so rather than "not found": the question may be in the notices the filters hide.
            raise NothingToSearch("the filters leave no notice to search: widen them")
        stores = self.stores
        timings = {} if timings is None else timings
        fetch = max(self.candidates_per_store, 4 * k)
        use_dense, use_bm25 = self.mode in ("hybrid", "dense"), self.mode in ("hybrid", "bm25")
        empty = np.zeros(0, np.int64)
        vector, terms, coverage = None, [], 1.0
        dense_rows = bm25_rows = empty
        if use_dense and len(self.index.chunks):
            t = time.perf_counter()
            vector = self.embedder.embed_query(query)
            dense_rows, _ = stores.dense.search(vector, fetch, where)
            timings["dense_ms"] = (time.perf_counter() - t) * 1000
        if use_bm25:
            t = time.perf_counter()
            terms = search_terms(query)
            if terms and len(self.index.chunks):
                bm25_rows, _ = stores.lexical.search(terms, fetch, where)
            coverage = self.lexical_coverage(terms)
            timings["bm25_ms"] = (time.perf_counter() - t) * 1000
        if use_bm25 and not use_dense and not len(bm25_rows):
            rows = empty  # BM25 alone with no matching term: nothing was found
        else:
            rows = np.union1d(dense_rows, bm25_rows)
        t = time.perf_counter()
        c = Candidates(query=query, rows=rows, coverage=coverage, dense_rows=dense_rows if use_dense else None,
                       bm25_rows=bm25_rows if use_bm25 else None)
        sample = self._sample(where) if self.fusion == "zscore" and use_dense and use_bm25 else empty
        if use_dense:
            c.dense = stores.dense.score(vector, rows) if vector is not None else np.zeros(0, np.float32)
            if vector is not None and len(sample):
                c.dense_sample = stores.dense.score(vector, sample)
                if self.weights.sentence:
                    query_vector = np.asarray(vector, np.float32).reshape(-1)
                    c.sentence = self.index.best_sentence_scores(query_vector, rows)
                    c.sentence_sample = self.index.best_sentence_scores(query_vector, sample)
        if use_bm25:
            c.bm25 = stores.lexical.score(terms, rows) if terms else np.zeros(len(rows), np.float32)
            if use_dense:
                c.bm25_sample = stores.lexical.score(terms, sample) if terms and len(sample) else np.zeros(len(sample))
                if (self.weights.sentence_terms or self.weights.phrase or self.weights.sibling_terms) and terms and len(rows):
                    idf = stores.term_weights(terms)[0]
                    if self.weights.sentence_terms:
                        c.sentence_terms = self.index.best_sentence_coverage(rows, idf)
                    if self.weights.sibling_terms:
                        c.sibling_terms = self.sibling_shortfall(rows, idf)
                    if self.weights.phrase:
                        c.phrase = self.index.phrase_coverage(rows, idf, terms)
                if self.weights.date and len(rows):  # like the two above, fused only in hybrid mode
                    c.date = self.date_matches(query, rows)
        timings["fusion_ms"] = (time.perf_counter() - t) * 1000
        return c

    def sibling_shortfall(self, rows: np.ndarray, idf: dict[str, float]) -> np.ndarray | None:
        """For each row, its best sentence's IDF share of the query's terms minus the best among the rows
        whose notices share its notice's title (0 where no other notice among ``rows`` has that title, or
        the title is empty); None when rows with siblings exist but the index was built without sentence
        terms."""
        out = np.zeros(len(rows), np.float32)
        shared = self.index.shared_titles()
        if not shared:
            return out  # no two notices share a title (a press-release index): nothing to read
        chunks = self.index.chunks
        notices = self.index.notices
        titles = [title_key(notices[chunks[int(r)].doc_id].title) for r in rows]
        docs: dict[str, set[str]] = {}
        for title, r in zip(titles, rows):
            if title in shared:
                docs.setdefault(title, set()).add(chunks[int(r)].doc_id)
        grouped = [i for i, title in enumerate(titles) if title in docs and len(docs[title]) > 1]
        if not grouped:
            return out
        # only the rows with a sibling are read: a press-release index has few, and this runs per question
        share = self.index.best_sentence_coverage(rows[grouped], idf)
        if share is None:
            return None
        best: dict[str, float] = {}
        for i, value in zip(grouped, share):
            best[titles[i]] = max(best.get(titles[i], 0.0), float(value))
        for i, value in zip(grouped, share):
            out[i] = float(value) - best[titles[i]]
        return out

    def date_matches(self, query: str, rows: np.ndarray) -> np.ndarray | None:
        """1 for each row whose notice names a calendar day the query names, else 0 (None: the query
        names no day)."""
        days = question_days(query)
        if not days:
            return None
        chunks = self.index.chunks
        return np.array([1.0 if self.index.days(chunks[int(r)].doc_id) & days else 0.0 for r in rows])

    def _fuse(self, c: Candidates) -> np.ndarray:
        if self.fusion == "rrf" and c.dense is not None and c.bm25 is not None:
            return sum(1.0 / (self.rrf_k + _ranks(scores)) for scores in (c.dense, c.bm25))
        return fuse(c, self.weights)

    def run(self, query: str, k: int = 8, filters: Filters | None = None) -> Retrieval:
        """Top-``k`` chunks for ``query`` (filters applied inside the search) and their notices in rank order."""
        timings: dict[str, float] = {}
        c = self.candidates(query, k, filters, timings)
        t = time.perf_counter()
        fused = self._fuse(c)
        rows = c.rows
        order = one_copy_order(np.argsort(-fused, kind="stable"), rows, self.index, k)
        timings["fusion_ms"] += (time.perf_counter() - t) * 1000
        dense_rank = None if c.dense_rows is None else _list_ranks(c.dense_rows, rows)
        bm25_rank = None if c.bm25_rows is None else _list_ranks(c.bm25_rows, rows)
        hits = [
            Hit(
                chunk=self.index.chunks[int(rows[i])],
                score=float(fused[i]),
                dense_score=None if c.dense is None else float(c.dense[i]),
                bm25_score=None if c.bm25 is None else float(c.bm25[i]),
                dense_rank=None if dense_rank is None else dense_rank[i],
                bm25_rank=None if bm25_rank is None else bm25_rank[i],
            )
            for i in order
        ]
        doc_ids = list(dict.fromkeys(h.chunk.doc_id for h in hits))
        timings["retrieval_ms"] = sum(timings.values())
        return Retrieval(query=c.query, hits=hits, doc_ids=doc_ids, timings_ms=timings,
                         lexical_coverage=c.coverage if c.bm25 is not None else None)


def one_copy_order(order: np.ndarray, rows: np.ndarray, index: NoticeIndex, k: int) -> np.ndarray:
    """The first ``k`` of ``order`` (positions into ``rows``, best first), leaving out the chunks of a
    notice whose copy (``NoticeIndex.copies``: the same title and nearly the same text) ranks above it, so
    that one text posted twice takes one place among the notices, not two. Where one copy supersedes the
    others (``NoticeIndex.current_copy``: a correction, "[정정] …", or a later re-issue) and is among the
    candidates, it is the one listed, at its own rank: an answer then quotes the corrected figure."""
    copies = index.copies()
    if not copies:
        return order[:k]
    candidates: set[str] | None = None  # the notices among the candidates, read once a copy is superseded
    shown: dict[str, str] = {}  # first copy -> the copy listed
    kept = []
    for i in order:
        doc_id = index.chunks[int(rows[i])].doc_id
        original = copies.get(doc_id)
        current = index.current_copy(doc_id) if original is not None else None
        if current is not None and current != doc_id:
            if candidates is None:
                candidates = {index.chunks[int(rows[j])].doc_id for j in order}
            if current in candidates:
                continue
        if original is not None and shown.setdefault(original, doc_id) != doc_id:
            continue
        kept.append(i)
        if len(kept) == k:
            break
    return np.asarray(kept, dtype=order.dtype)


def _ranks(scores: np.ndarray) -> np.ndarray:
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(1, len(order) + 1)
    return ranks


def _list_ranks(listed: np.ndarray, rows: np.ndarray) -> list[int | None]:
    """1-based position of each of ``rows`` in a store's result list (None where the store did not list it)."""
    position = {int(r): i + 1 for i, r in enumerate(listed)}
    return [position.get(int(r)) for r in rows]
