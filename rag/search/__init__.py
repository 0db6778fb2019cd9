"""Search backends: a dense store and a lexical store behind one small interface, one module per backend.

The retriever (rag/retrieve.py) asks each store for its top-N chunks under a metadata
restriction, fetches the missing score of each candidate from the other store, and fuses over
that union; it never scores every chunk. Rows are positions in the ``NoticeIndex`` the stores
were opened over (``index.chunks[row]``); a backend that keeps its own ids (Qdrant) maps them.

    base.py      the interface (DenseStore, LexicalStore), filters and row metadata
    embedded.py  FAISS (flat, or IVF above a size threshold) + bm25s, in process (the default)
    qdrant.py    Qdrant: a server or cluster by URL, or its embedded local mode by path

``open_search(index, store=...)`` returns the stores for an index, built once per index and cached
on it (an edit of the index drops the cache).
"""

from __future__ import annotations

import threading

from rag.search.base import ChunkFilter, DenseStore, LexicalStore, Restriction, RowMeta, SearchStores

STORES = ("faiss", "qdrant")
_OPEN_LOCK = threading.Lock()

__all__ = ["STORES", "ChunkFilter", "DenseStore", "LexicalStore", "Restriction", "RowMeta", "SearchStores",
           "open_search"]


def open_search(index, store: str = "faiss", qdrant_url: str = "", qdrant_path: str = "",
                qdrant_collection: str = "pressrag") -> SearchStores:
    """The stores over ``index`` for backend ``store`` (cached on the index; thread-safe)."""
    if store not in STORES:
        raise ValueError(f"store must be one of {', '.join(STORES)}, got {store!r}")
    key = (store, qdrant_url, qdrant_path, qdrant_collection)
    cache = index.search_cache
    if key in cache:
        return cache[key]
    with _OPEN_LOCK:
        if key not in cache:
            if store == "faiss":
                from rag.search.embedded import open_embedded

                cache[key] = open_embedded(index)
            else:
                from rag.search.qdrant import open_qdrant

                cache[key] = open_qdrant(index, url=qdrant_url, path=qdrant_path, collection=qdrant_collection)
        return cache[key]
