"""The embedded backend (default): FAISS for vectors, bm25s for BM25, both in this process.

Filters run inside the search: FAISS gets an ``IDSelectorBitmap`` of the rows the filter keeps,
bm25s scores are masked before the top-k cut, and the mask itself is a few vector operations over
``RowMeta``. Above ``APPROXIMATE_ABOVE`` chunks the dense store is an IVF index (k-means cells,
``nprobe`` of them searched, 8-bit codes, candidates re-scored exactly); a filter that keeps few rows is searched exactly over those rows,
where an approximate index loses recall and exact search is cheap anyway.

bm25s is saved into the index snapshot (``bm25s/``: .npy arrays and JSON, no pickle) and loaded
from there, so a process start does not rebuild it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from rag.search.base import Restriction, RowMeta, SearchStores, dot_rows

APPROXIMATE_ABOVE = 200_000  # chunks; below it exact flat search costs < 15 ms a query
_WIDE_ROWS = 1_024  # float16 row sets at least this large are widened once and kept (FaissDenseStore.score)
EXACT_BELOW = 5_000  # a filter keeping at most this many rows is searched exactly over them
BM25_FOLDER = "bm25s"
IVF_FILE = "ivf.faiss"  # the trained IVF index, saved with a snapshot above APPROXIMATE_ABOVE chunks
_EMPTY = "\u0000"  # bm25s rejects an all-empty corpus; a placeholder term keeps empty chunks scorable at 0


def _top(rows: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best (rows, scores), best first; ties keep row order (as a stable sort over rows would)."""
    if len(rows) > k:
        part = np.argpartition(-scores, k - 1)[:k]
        # argpartition cuts ties at the k-th score arbitrarily: keep every row tied with the cut, then sort.
        cut = scores[part].min()
        part = np.flatnonzero(scores >= cut)
        rows, scores = rows[part], scores[part]
    order = np.lexsort((rows, -scores))[:k]
    return rows[order], scores[order]


class FaissDenseStore:
    """Chunk vectors in FAISS: flat (exact) below ``approximate_above`` rows, IVF above."""

    def __init__(self, vectors: np.ndarray, flat=None, approximate_above: int = APPROXIMATE_ABOVE,
                 nprobe: int | None = None, exact_below: int = EXACT_BELOW, rerank: int = 4, ivf=None):
        """``ivf``: an IVF index saved with the snapshot (``IVF_FILE``), used instead of training one
        when it holds exactly these rows."""
        import faiss

        self.rerank = rerank  # approximate search: candidates fetched per result, then scored exactly

        n = len(vectors)
        self.approximate = n > approximate_above
        # Approximate search reads the rows only to re-score its candidates, so it keeps the float16 rows a
        # large NoticeIndex holds (rag.index.held_vectors) rather than a float32 copy of them.
        half = self.approximate and np.asarray(vectors).dtype == np.float16
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float16 if half else np.float32)
        self.dim = self.vectors.shape[1]
        self.exact_below = exact_below
        self.alive: np.ndarray | None = None  # tombstones of deleted rows (None: all alive)
        self._wide: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # row set -> (rows, float32 copies)
        self.from_disk = False
        if not self.approximate:
            self.index = flat if flat is not None and flat.ntotal == n else faiss.IndexFlatIP(self.dim)
            if self.index.ntotal != n:
                self.index.add(self.vectors)
            self.nprobe = 0
        elif ivf is not None and ivf.ntotal == n and ivf.d == self.dim:
            # training and filling the cells took 11-14 s at 10⁶ chunks on every process start
            self.index, self.from_disk = ivf, True
            self.nprobe = nprobe or max(16, ivf.nlist // 40)
        else:
            # √n cells (FAISS suggests 4·√n to 16·√n): k-means training and assignment cost grow with the
            # cell count, and √n keeps a 10⁶-chunk build to minutes on two cores; nprobe makes up the recall.
            nlist = max(1, int(np.sqrt(n)))
            quantizer = faiss.IndexFlatIP(self.dim)
            # 8-bit codes in the cells: a quarter of IVFFlat's memory (0.4 GB instead of 1.5 GB at 10⁶
            # chunks of 384 dims), which matters because the float vectors are held beside it for exact
            # scores; search() re-scores the candidates exactly, so the codes only choose candidates.
            self.index = faiss.IndexIVFScalarQuantizer(quantizer, self.dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                                       faiss.METRIC_INNER_PRODUCT)
            sample = np.random.default_rng(0).choice(n, size=min(n, 30 * nlist), replace=False)
            self.index.train(np.asarray(self.vectors[np.sort(sample)], np.float32))
            for start in range(0, n, 65_536):  # FAISS reads float32: a block at a time, not a full copy
                self.index.add(np.asarray(self.vectors[start:start + 65_536], np.float32))
            self._quantizer = quantizer
            self.nprobe = nprobe or max(16, nlist // 40)

    @property
    def kind(self) -> str:
        return f"ivf{self.index.nlist}-sq8/nprobe{self.nprobe}" if self.approximate else "flat"

    def add(self, rows: np.ndarray, vectors: np.ndarray) -> None:
        if len(rows) and rows[0] != len(self.vectors):
            raise ValueError("the embedded dense store appends rows in order")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        self.vectors = np.concatenate([self.vectors, np.asarray(vectors, self.vectors.dtype)])
        self.index.add(vectors)
        if self.alive is not None:
            self.alive = np.concatenate([self.alive, np.ones(len(vectors), bool)])

    def delete(self, rows: np.ndarray) -> None:
        if self.alive is None:
            self.alive = np.ones(len(self.vectors), bool)
        self.alive[np.asarray(rows, dtype=np.int64)] = False

    def _keep(self, where: Restriction | None) -> np.ndarray | None:
        if where is None:
            return self.alive
        return where.mask if self.alive is None else where.mask & self.alive

    def search(self, vector: np.ndarray, k: int, where: Restriction | None = None) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        n = len(self.vectors)
        query = np.asarray(vector, dtype=np.float32).reshape(1, self.dim)
        keep = self._keep(where)
        count = n if keep is None else int(keep.sum())
        k = min(k, count)
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        if keep is not None and (count <= self.exact_below and self.approximate):
            rows = np.flatnonzero(keep)
            return _top(rows, dot_rows(self.vectors, rows, query[0]), k)
        params = faiss.SearchParametersIVF(nprobe=self.nprobe) if self.approximate else faiss.SearchParameters()
        bits = None
        if keep is not None:
            bits = np.packbits(keep, bitorder="little")
            params.sel = faiss.IDSelectorBitmap(n, faiss.swig_ptr(bits))
        wanted = min(count, k * self.rerank) if self.approximate else k
        scores, rows = self.index.search(query, wanted, params=params)
        valid = rows[0] >= 0
        del bits  # the selector read it during search
        rows, scores = rows[0][valid].astype(np.int64), scores[0][valid]
        if self.approximate:  # exact scores for the candidates the 8-bit codes chose
            return _top(rows, dot_rows(self.vectors, rows, query[0]), k)
        return rows, scores

    def score(self, vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        if self.vectors.dtype == np.float16 and len(rows) >= _WIDE_ROWS:
            return dot_rows(self._widened(rows), None, vector)  # the kept copy is already those rows
        return dot_rows(self.vectors, rows, vector)

    def _widened(self, rows: np.ndarray) -> np.ndarray:
        """float32 copies of a large row set's float16 vectors, kept for the next question: fusion scores
        the same z-score sample (rag.retrieve ``Retriever.SAMPLE`` rows) on every question, and widening
        2,048 rows costs ~1.3 ms against ~0.13 ms for the products over a kept copy. Rows only grow and a
        row's vector never changes (deletions are tombstones), so a copy stays right; a few row sets are kept
        (one a filter)."""
        key = hash(rows.tobytes())
        kept = self._wide.get(key)
        if kept is not None and np.array_equal(kept[0], rows):
            return kept[1]
        wide = np.asarray(self.vectors[rows], np.float32)
        if len(self._wide) >= 4:
            self._wide.pop(next(iter(self._wide)))
        self._wide[key] = (rows.copy(), wide)
        return wide


class Bm25sStore:
    """BM25 (bm25s, Lucene variant) over chunk search terms, with masks and per-row scoring."""

    def __init__(self, model, terms: list[list[str]] | None = None):
        self.model = model
        self.terms = terms  # kept (by reference) only to re-index on add
        scores = model.scores
        self.data, self.indices, self.indptr = scores["data"], scores["indices"], scores["indptr"]
        self.size = int(scores["num_docs"])
        self.alive: np.ndarray | None = None

    @classmethod
    def from_terms(cls, terms: list[list[str]]) -> Bm25sStore:
        import logging

        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # its 'Building index from tokens' is noise in a CLI
        model = bm25s.BM25()
        model.index([t if t else [_EMPTY] for t in terms] or [[_EMPTY]], show_progress=False)
        store = cls(model, terms)
        store.size = len(terms)
        return store

    @classmethod
    def load(cls, folder: Path, terms: list[list[str]] | None = None) -> Bm25sStore:
        import bm25s

        big = (folder / "data.csc.index.npy").stat().st_size > 256 << 20
        return cls(bm25s.BM25.load(str(folder), mmap=big, show_progress=False), terms)

    def save(self, folder: Path) -> list[str]:
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save(str(folder), show_progress=False)
        return sorted(p.name for p in folder.iterdir() if p.is_file())

    def add(self, rows: np.ndarray, terms: Sequence[list[str]]) -> None:
        # bm25s has no incremental index (its IDF and length norms are global): re-index once per batch.
        if self.terms is None:
            raise ValueError("this bm25s store was loaded without its terms and cannot grow")
        fresh = Bm25sStore.from_terms(self.terms + list(terms))
        self.__dict__.update(fresh.__dict__)

    def delete(self, rows: np.ndarray) -> None:
        if self.alive is None:
            self.alive = np.ones(self.size, bool)
        self.alive[np.asarray(rows, dtype=np.int64)] = False

    def _ids(self, terms: list[str]) -> list[int]:
        return self.model.get_tokens_ids(terms)

    def search(self, terms: list[str], k: int, where: Restriction | None = None) -> tuple[np.ndarray, np.ndarray]:
        ids = self._ids(terms)
        if not ids or k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        scores = np.asarray(self.model.get_scores(ids), dtype=np.float32)[: self.size]
        keep = where.mask if where is not None else None
        if self.alive is not None:
            keep = self.alive if keep is None else keep & self.alive
        if keep is not None:
            scores = np.where(keep, scores, 0.0).astype(np.float32)
        rows = np.flatnonzero(scores > 0)
        return _top(rows, scores[rows], k)

    def score(self, terms: list[str], rows: np.ndarray) -> np.ndarray:
        """Scores of ``rows`` summed term by term in float32, as bm25s sums them (the same values)."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.zeros(len(rows), dtype=np.float32)
        for tid in self._ids(terms):
            start, end = int(self.indptr[tid]), int(self.indptr[tid + 1])
            docs = self.indices[start:end]
            if not len(docs):
                continue
            pos = np.minimum(np.searchsorted(docs, rows), len(docs) - 1)
            found = docs[pos] == rows
            out[found] += self.data[start:end][pos[found]]
        return out

    def document_frequency(self, terms: Iterable[str]) -> dict[str, int]:
        vocab = self.model.vocab_dict
        return {t: int(self.indptr[vocab[t] + 1] - self.indptr[vocab[t]]) for t in terms if t in vocab}


def open_embedded(index) -> SearchStores:
    """FAISS + bm25s over ``index``; bm25s comes from the snapshot when it was saved there."""
    import faiss

    n = len(index.chunks)
    flat = index.faiss_index if n <= APPROXIMATE_ABOVE else None
    snap = getattr(index, "snapshot_dir", None)
    ivf = None
    if snap is not None and n > APPROXIMATE_ABOVE and (Path(snap) / IVF_FILE).exists():
        ivf = faiss.read_index(str(Path(snap) / IVF_FILE))  # NoticeIndex.load checked its checksum
    dense = FaissDenseStore(index.vectors, flat=flat, approximate_above=APPROXIMATE_ABOVE, ivf=ivf)
    lexical = None
    if snap is not None and (Path(snap) / BM25_FOLDER / "params.index.json").exists():
        loaded = Bm25sStore.load(Path(snap) / BM25_FOLDER, index.terms)
        if loaded.size == max(n, 1):
            lexical = loaded
            lexical.size = n
    if lexical is None:
        lexical = Bm25sStore.from_terms(index.terms)
    return SearchStores(dense=dense, lexical=lexical, meta=RowMeta(index.chunks), name="faiss")


def save_ivf(index, snap: Path) -> list[str]:
    """Write the trained IVF index into snapshot ``snap`` when the index is big enough to use one."""
    import faiss

    from rag.search import open_search

    dense = open_search(index, "faiss").dense
    if not dense.approximate or dense.alive is not None:  # tombstoned rows must not be saved as live
        return []
    faiss.write_index(dense.index, str(snap / IVF_FILE))
    return [IVF_FILE]


def save_bm25s(index, snap: Path) -> list[str]:
    """Write the index's bm25s model into snapshot ``snap``; the written paths, relative to ``snap``."""
    from rag.search import open_search

    names = open_search(index, "faiss").lexical.save(snap / BM25_FOLDER)
    return [f"{BM25_FOLDER}/{name}" for name in names]
