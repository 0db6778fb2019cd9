"""Qdrant backend: for an index that outgrows one machine (a Qdrant server or cluster), or Qdrant's
embedded local mode (tests, small collections).

One collection per index. Each chunk is one point:
    id       uuid5 of (model, chunk id, chunk text): an edited chunk is a new point, so a sync is a set difference
    vectors  "dense": the chunk vector (cosine); "bm25": a sparse vector of Kiwi search terms, term id = a
             32-bit hash of the term, value = the BM25 term-frequency part tf / (tf + k1·(1 − b + b·len/avglen));
             Qdrant's IDF modifier supplies the IDF from its own document counts, so scores are BM25
    payload  chunk_id, doc_id, agency, published (YYYYMMDD integer), source_type, all with payload indexes

The index folder stays the record of notices and chunks; ``sync`` makes the collection hold exactly
the index's chunks (upserting the missing, deleting the rest), so ingest, --prune and uploads reach
Qdrant at the next open. Filters run inside Qdrant (payload conditions). A collection that already
exists is used as it is: create it yourself to choose shards and replicas (README).
"""

from __future__ import annotations

import atexit
import hashlib
import threading
import uuid
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from rag.folder import IndexProblem
from rag.search.base import ChunkFilter, Restriction, RowMeta, SearchStores, date_number, dot_rows

DENSE, SPARSE = "dense", "bm25"
K1, B = 1.5, 0.75  # bm25s's defaults, so both backends score alike
_BATCH = 256
_NAMESPACE = uuid.UUID("6f1c1c3e-2f4e-4d8e-9a35-7a0c3e2b9d51")
_CLIENTS: dict[tuple[str, str], object] = {}  # local mode locks its folder: one client per folder per process
_CLIENTS_LOCK = threading.Lock()


def term_id(term: str) -> int:
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest(), "little")


def _client(url: str, path: str):
    try:
        from qdrant_client import QdrantClient
    except ImportError:
        raise IndexProblem("PRESSRAG_STORE=qdrant needs the qdrant-client package: pip install 'pressrag[qdrant]'") \
            from None
    key = (url, path)
    with _CLIENTS_LOCK:
        if key not in _CLIENTS:
            try:
                _CLIENTS[key] = QdrantClient(url=url) if url else QdrantClient(path=path)
                atexit.register(_CLIENTS[key].close)  # local mode's own __del__ fails at interpreter exit
            except Exception as exc:  # noqa: BLE001 - any client failure is one line for the user
                where = url or path
                raise IndexProblem(f"cannot open Qdrant at {where}: {str(exc).splitlines()[0]}") from exc
        return _CLIENTS[key]


class QdrantCollection:
    """The collection mirroring one ``NoticeIndex``: point ids per row, sync, filters."""

    def __init__(self, client, name: str, index):
        self.client, self.name, self.index = client, name, index
        model = index.manifest.model
        self.point_ids = [str(uuid.uuid5(_NAMESPACE, f"{model}\n{c.chunk_id}\n{c.text}")) for c in index.chunks]
        self.row_of = {pid: row for row, pid in enumerate(self.point_ids)}

    def ensure(self) -> None:
        from qdrant_client import models

        dim = self.index.manifest.dim
        if self.client.collection_exists(self.name):
            info = self.client.get_collection(self.name)
            vectors = info.config.params.vectors
            size = vectors[DENSE].size if isinstance(vectors, dict) and DENSE in vectors else None
            if size != dim:
                raise IndexProblem(f"Qdrant collection {self.name!r} holds {size}-dimensional '{DENSE}' vectors, "
                                   f"the index has {dim}; set PRESSRAG_QDRANT_COLLECTION to another name")
            return
        self.client.create_collection(
            self.name,
            vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
            sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
        )
        schema = models.PayloadSchemaType
        with warnings.catch_warnings():  # local mode ignores payload indexes (and says so)
            warnings.simplefilter("ignore")
            for field, kind in (("agency", schema.KEYWORD), ("source_type", schema.KEYWORD),
                                ("doc_id", schema.KEYWORD), ("published", schema.INTEGER)):
                self.client.create_payload_index(self.name, field_name=field, field_schema=kind)

    def stored_ids(self) -> set[str]:
        ids, offset = set(), None
        while True:
            points, offset = self.client.scroll(self.name, limit=2048, offset=offset, with_payload=False,
                                                with_vectors=False)
            ids.update(str(p.id) for p in points)
            if offset is None:
                return ids

    def sync(self) -> tuple[int, int]:
        """Make the collection hold exactly the index's chunks; (points added, points deleted)."""
        from qdrant_client import models

        self.ensure()
        stored = self.stored_ids()
        missing = [row for row, pid in enumerate(self.point_ids) if pid not in stored]
        extra = sorted(stored - set(self.point_ids))
        terms = self.index.terms
        avg_len = float(np.mean([max(len(t), 1) for t in terms])) if terms else 1.0
        for start in range(0, len(missing), _BATCH):
            points = []
            for row in missing[start:start + _BATCH]:
                chunk = self.index.chunks[row]
                points.append(models.PointStruct(
                    id=self.point_ids[row],
                    vector={DENSE: self.index.vectors[row].tolist(), SPARSE: _doc_sparse(terms[row], avg_len)},
                    payload={"chunk_id": chunk.chunk_id, "doc_id": chunk.doc_id, "agency": chunk.agency,
                             "published": date_number(chunk.published), "source_type": chunk.source_type}))
            self.client.upsert(self.name, points=points, wait=True)
        for start in range(0, len(extra), _BATCH * 8):
            self.client.delete(self.name, points_selector=models.PointIdsList(points=extra[start:start + _BATCH * 8]),
                               wait=True)
        return len(missing), len(extra)

    def condition(self, where: Restriction | None, rows: np.ndarray | None = None):
        from qdrant_client import models

        must = []
        flt: ChunkFilter | None = where.filter if where is not None else None
        if flt and flt.agencies:
            must.append(models.FieldCondition(key="agency", match=models.MatchAny(any=list(flt.agencies))))
        if flt and (flt.since or flt.until):
            must.append(models.FieldCondition(key="published",
                                              range=models.Range(gte=flt.since or 1, lte=flt.until or None)))
        if flt and flt.source_types:
            must.append(models.FieldCondition(key="source_type", match=models.MatchAny(any=list(flt.source_types))))
        if rows is not None:
            must.append(models.HasIdCondition(has_id=[self.point_ids[int(r)] for r in rows]))
        return models.Filter(must=must) if must else None

    def query(self, query, using: str, k: int, where: Restriction | None,
              rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        result = self.client.query_points(self.name, query=query, using=using, limit=k,
                                          query_filter=self.condition(where, rows), with_payload=False)
        found = [(self.row_of[str(p.id)], p.score) for p in result.points if str(p.id) in self.row_of]
        return (np.array([r for r, _ in found], dtype=np.int64), np.array([s for _, s in found], dtype=np.float32))


def _doc_sparse(terms: Sequence[str], avg_len: float):
    from qdrant_client import models

    counts = Counter(term_id(t) for t in terms)
    norm = K1 * (1.0 - B + B * max(len(terms), 1) / avg_len)
    ids = sorted(counts)
    return models.SparseVector(indices=ids, values=[counts[i] / (counts[i] + norm) for i in ids])


def _query_sparse(terms: Sequence[str]):
    from qdrant_client import models

    counts = Counter(term_id(t) for t in terms)  # a repeated query term counts again, as in bm25s
    ids = sorted(counts)
    return models.SparseVector(indices=ids, values=[float(counts[i]) for i in ids])


class QdrantDense:
    def __init__(self, collection: QdrantCollection):
        self.collection = collection

    def add(self, rows: np.ndarray, vectors: np.ndarray) -> None:
        self.collection.sync()  # points come from the index rows; a sync upserts exactly the missing ones

    def delete(self, rows: np.ndarray) -> None:
        from qdrant_client import models

        ids = [self.collection.point_ids[int(r)] for r in rows]
        self.collection.client.delete(self.collection.name, points_selector=models.PointIdsList(points=ids), wait=True)

    def search(self, vector: np.ndarray, k: int, where: Restriction | None = None) -> tuple[np.ndarray, np.ndarray]:
        return self.collection.query(np.asarray(vector, np.float32).tolist(), DENSE, k, where)

    def score(self, vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        # The index holds every vector already: the cosine of normalised vectors is their dot product,
        # which is what Qdrant returns, without sending thousands of ids per question.
        return dot_rows(self.collection.index.vectors, rows, vector)


class QdrantLexical:
    def __init__(self, collection: QdrantCollection):
        self.collection = collection

    @property
    def size(self) -> int:
        return len(self.collection.index.chunks)

    add = QdrantDense.add
    delete = QdrantDense.delete

    def search(self, terms: list[str], k: int, where: Restriction | None = None) -> tuple[np.ndarray, np.ndarray]:
        if not terms:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        rows, scores = self.collection.query(_query_sparse(terms), SPARSE, k, where)
        keep = scores > 0
        return rows[keep], scores[keep]

    def score(self, terms: list[str], rows: np.ndarray) -> np.ndarray:
        out = np.zeros(len(rows), dtype=np.float32)
        if not terms or not len(rows):
            return out
        found_rows, found = self.collection.query(_query_sparse(terms), SPARSE, len(rows), None, rows=rows)
        position = {int(r): i for i, r in enumerate(rows)}
        for r, s in zip(found_rows, found):
            out[position[int(r)]] = s
        return out

    def document_frequency(self, terms: Iterable[str]) -> dict[str, int]:
        index = self.collection.index
        return {t: index.document_frequency(t) for t in terms}


def open_qdrant(index, url: str = "", path: str = "", collection: str = "pressrag") -> SearchStores:
    """Stores over ``index`` in a Qdrant collection, synced with the index first."""
    if not url and not path:
        raise IndexProblem("PRESSRAG_STORE=qdrant needs PRESSRAG_QDRANT_URL (a Qdrant server or cluster) or "
                           "PRESSRAG_QDRANT_PATH (a folder for Qdrant's embedded local mode)")
    col = QdrantCollection(_client(url, str(path) if path else ""), collection, index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # local mode warns above 20,000 points (see docs/measurements.md, "Search layer and scale")
        col.sync()
    return SearchStores(dense=QdrantDense(col), lexical=QdrantLexical(col), meta=RowMeta(index.chunks), name="qdrant")
