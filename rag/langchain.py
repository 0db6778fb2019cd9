"""pressrag's retrieval as LangChain parts, for a user who builds their own chain.

``PressragRetriever`` is a LangChain ``BaseRetriever``: Korean hybrid search (BM25 over Kiwi
morphemes beside the dense model, fused per query) over a pressrag index, returning one
``Document`` per retrieved chunk with the notice's metadata (id, title, agency, date, URL, scores).
``pressrag_embeddings`` is the bundled (or configured) embedder as LangChain ``Embeddings``.

    from rag.langchain import PressragRetriever
    retriever = PressragRetriever.from_index("~/.local/share/pressrag/index", k=5)
    docs = retriever.invoke("전자정부 2020의 5대 전략은?")

langchain-core is imported only when this module is (it is a dependency, but nothing else loads it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.embed import Embedder, as_langchain, make_embedder

__all__ = ["PressragRetriever", "pressrag_embeddings"]


class PressragRetriever(BaseRetriever):
    """A LangChain retriever over a pressrag index (``rag.retrieve.Retriever`` underneath).

    ``filters`` is a ``rag.retrieve.Filters`` (agencies, since/until dates, source types) applied
    inside the search, before the top-``k`` cut.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any  # rag.retrieve.Retriever (kept untyped: pydantic need not know the class)
    k: int = 8
    filters: Any = None

    @classmethod
    def from_index(cls, folder: str | Path, k: int = 8, mode: str = "hybrid", embedder: Embedder | None = None,
                   filters: Any = None) -> PressragRetriever:
        """Open the index at ``folder`` with the model it was built with (the bundled one by default)."""
        from rag.index import NoticeIndex
        from rag.retrieve import Retriever

        folder = Path(folder).expanduser()
        if embedder is None:
            from rag.index import IndexProblem

            try:
                embedder = make_embedder()
                index = NoticeIndex.load(folder, expected_model=embedder.name)
            except IndexProblem:
                # an index built with another model: open it with that one
                index = NoticeIndex.load(folder)
                embedder = make_embedder(index.manifest.model)
        else:
            index = NoticeIndex.load(folder, expected_model=embedder.name)
        return cls(retriever=Retriever(index, embedder, mode=mode), k=k, filters=filters)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        retrieval = self.retriever.run(query, k=self.k, filters=self.filters)
        notices = self.retriever.index.notices
        docs = []
        for rank, hit in enumerate(retrieval.hits, 1):
            chunk = hit.chunk
            notice = notices.get(chunk.doc_id)
            docs.append(Document(
                page_content=chunk.text,
                id=chunk.chunk_id,
                metadata={
                    "doc_id": chunk.doc_id, "chunk_id": chunk.chunk_id, "rank": rank, "score": float(hit.score),
                    "dense_score": hit.dense_score, "bm25_score": hit.bm25_score,
                    "title": chunk.title, "agency": chunk.agency, "published": chunk.published,
                    "source_type": chunk.source_type, "url": getattr(notice, "url", "") or "",
                    "start": chunk.start, "end": chunk.end,
                },
            ))
        return docs


def pressrag_embeddings(model: str = "bundled-e5-small"):
    """The embedder pressrag indexes with, as LangChain ``Embeddings`` (e5 prefixes applied for you)."""
    return as_langchain(make_embedder(model))
