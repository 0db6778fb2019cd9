"""The search interface: what a backend implements, and the filter it is given.

A backend provides two stores. Each returns the top-``k`` rows for a query under a
``Restriction`` (the filter, plus the same filter evaluated as a row mask for engines that
filter by id sets), and scores given rows exactly (the retriever needs the other store's score
of each candidate, and the score distribution of a sample of rows for its z-scores).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


def date_number(published: str) -> int:
    """'2026-06-01' → 20260601; 0 when there is no date (fails every date bound)."""
    digits = published[:10].replace("-", "")
    return int(digits) if len(digits) == 8 and digits.isdigit() else 0


def dot_rows(vectors: np.ndarray, rows: np.ndarray | None, vector: np.ndarray) -> np.ndarray:
    """Inner products of ``vectors[rows]`` (every row for None) with ``vector``. einsum, not ``@``: a BLAS
    matrix-vector product starts its thread pool, which costs 5-10x more than the product on a busy 2-core
    machine (measured). float16 rows (a large index's, rag.index.held_vectors) are widened first: products
    in float32."""
    picked = np.asarray(vectors if rows is None else vectors[np.asarray(rows, dtype=np.int64)], np.float32)
    return np.einsum("ij,j->i", picked, np.asarray(vector, np.float32).reshape(-1))


@dataclass(frozen=True)
class ChunkFilter:
    """Exact metadata restrictions (agency names already resolved from what the user typed)."""

    agencies: tuple[str, ...] = ()
    since: int = 0  # YYYYMMDD inclusive, 0 = open
    until: int = 0
    source_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Restriction:
    """A filter and the rows of the index it keeps (``mask[row]``), for engines that filter by ids."""

    filter: ChunkFilter
    mask: np.ndarray

    @property
    def count(self) -> int:
        return int(self.mask.sum())


class RowMeta:
    """Agency, date and source type of every row as small integer arrays: a filter is a few vector ops."""

    def __init__(self, chunks: Sequence) -> None:
        agencies = sorted({c.agency for c in chunks})
        sources = sorted({c.source_type for c in chunks})
        self.agency_names = agencies
        self.source_names = sources
        a_code = {a: i for i, a in enumerate(agencies)}
        s_code = {s: i for i, s in enumerate(sources)}
        self.agency = np.fromiter((a_code[c.agency] for c in chunks), dtype=np.int32, count=len(chunks))
        self.source = np.fromiter((s_code[c.source_type] for c in chunks), dtype=np.int32, count=len(chunks))
        self.date = np.fromiter((date_number(c.published) for c in chunks), dtype=np.int32, count=len(chunks))

    @classmethod
    def from_arrays(cls, agency: np.ndarray, agency_names: list[str], date: np.ndarray,
                    source: np.ndarray, source_names: list[str]) -> RowMeta:
        meta = cls.__new__(cls)
        meta.agency, meta.agency_names, meta.date = agency, agency_names, date
        meta.source, meta.source_names = source, source_names
        return meta

    def __len__(self) -> int:
        return len(self.agency)

    def mask(self, flt: ChunkFilter) -> np.ndarray:
        keep = np.ones(len(self.agency), dtype=bool)
        if flt.agencies:
            codes = [i for i, a in enumerate(self.agency_names) if a in flt.agencies]
            keep &= np.isin(self.agency, codes)
        if flt.since:
            keep &= self.date >= flt.since
        if flt.until:
            keep &= (self.date <= flt.until) & (self.date > 0)
        if flt.source_types:
            codes = [i for i, s in enumerate(self.source_names) if s in flt.source_types]
            keep &= np.isin(self.source, codes)
        return keep

    def restriction(self, flt: ChunkFilter) -> Restriction:
        return Restriction(flt, self.mask(flt))


class DenseStore(Protocol):
    """Chunk vectors; inner-product (cosine on normalised vectors) search."""

    def add(self, rows: np.ndarray, vectors: np.ndarray) -> None: ...

    def delete(self, rows: np.ndarray) -> None: ...

    def search(self, vector: np.ndarray, k: int, where: Restriction | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Up to ``k`` (rows, scores), best first."""
        ...

    def score(self, vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The exact score of each of ``rows``."""
        ...


class LexicalStore(Protocol):
    """BM25 over search terms (Kiwi morphemes)."""

    size: int

    def add(self, rows: np.ndarray, terms: Sequence[list[str]]) -> None: ...

    def delete(self, rows: np.ndarray) -> None: ...

    def search(self, terms: list[str], k: int, where: Restriction | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Up to ``k`` (rows, scores) with a score above 0, best first."""
        ...

    def score(self, terms: list[str], rows: np.ndarray) -> np.ndarray: ...

    def document_frequency(self, terms: Iterable[str]) -> dict[str, int]: ...


@dataclass
class SearchStores:
    """What a backend hands the retriever: its two stores and the row metadata filters run on."""

    dense: DenseStore
    lexical: LexicalStore
    meta: RowMeta
    name: str

    def term_weights(self, terms: Iterable[str]) -> tuple[dict[str, float], dict[str, int]]:
        """BM25-style IDF of each distinct term over the chunks, and its document frequency."""
        distinct = set(terms)
        if not distinct:
            return {}, {}
        freq = self.lexical.document_frequency(distinct)
        n = self.lexical.size
        weights = {t: math.log(1.0 + (n - freq.get(t, 0) + 0.5) / (freq.get(t, 0) + 0.5)) for t in distinct}
        return weights, freq

    def known_share(self, terms: Iterable[str]) -> float:
        """IDF-weighted share of distinct ``terms`` that occur in some chunk (as ``NoticeIndex.known_share``)."""
        weights, freq = self.term_weights(terms)
        total = sum(weights.values())
        known = sum(w for t, w in weights.items() if freq.get(t, 0) > 0)
        return known / total if total else 0.0
