"""pressrag's retrieval inside a LangChain chain: the BaseRetriever and the Embeddings adapter."""

from __future__ import annotations

from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda

from rag.langchain import PressragRetriever
from rag.retrieve import Filters, Retriever
from tests.conftest import SEED_ID, HashEmbedder


def test_retriever_returns_documents_with_notice_metadata(fake_index):
    retriever = PressragRetriever(retriever=Retriever(fake_index, HashEmbedder()), k=3)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("전자정부 2020의 5대 전략은?")
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    top = docs[0]
    assert top.metadata["doc_id"] == SEED_ID and top.metadata["rank"] == 1
    assert top.metadata["title"] and top.metadata["published"] == "2016-04-01"
    assert top.page_content == fake_index.notices[SEED_ID].body[top.metadata["start"]:top.metadata["end"]]


def test_filters_apply_and_the_retriever_composes_in_a_chain(fake_index):
    filters = Filters(agencies=("소방청",))
    retriever = PressragRetriever(retriever=Retriever(fake_index, HashEmbedder()), k=4, filters=filters)
    chain = retriever | RunnableLambda(lambda docs: sorted({d.metadata["agency"] for d in docs}))
    assert chain.invoke("협력의향서 체결") == ["소방청"]


def test_from_index_opens_a_saved_index(tmp_path, corpus_notices):
    from rag.build import IndexUpdater

    source = tmp_path / "notes"
    source.mkdir()
    (source / "a.txt").write_text("소방청 협력의향서 체결\n2026-06-13\n\n소방청은 인도네시아와 협력의향서를 체결했다.\n",
                                  encoding="utf-8")
    IndexUpdater(HashEmbedder(), progress=False).run(tmp_path / "index", [source])
    retriever = PressragRetriever.from_index(tmp_path / "index", k=1, embedder=HashEmbedder())
    assert retriever.invoke("협력의향서")[0].metadata["doc_id"] == "a.txt"
