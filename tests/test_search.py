"""One retrieval suite for every search backend: FAISS + bm25s (embedded) and Qdrant (embedded local mode;
the client code is the one that talks to a server or cluster)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from rag.build import IndexUpdater
from rag.index import IndexProblem, NoticeIndex
from rag.dates import question_days
from rag.retrieve import Filters, Retriever, shipped_weights
from rag.search import ChunkFilter, open_search
from rag.search.embedded import Bm25sStore, FaissDenseStore
from tests.conftest import SEED_ID, HashEmbedder

HAS_QDRANT = importlib.util.find_spec("qdrant_client") is not None
BACKENDS = ["faiss", pytest.param("qdrant", marks=pytest.mark.skipif(
    not HAS_QDRANT, reason="qdrant-client is not installed (pip install 'pressrag[qdrant]')"))]
QUERIES = ["전자정부 2020의 5대 전략은?", "소방청 인도네시아 협력의향서 체결", "협약 체결", "What are the five strategies?",
           "국제소방안전박람회 참관객은?", "고용노동부 점검 결과"]


def make_retriever(index, store: str, tmp_path_factory, **options) -> Retriever:
    extra = {"qdrant_path": str(tmp_path_factory.mktemp("qdrant"))} if store == "qdrant" else {}
    return Retriever(index, options.pop("embedder", HashEmbedder()), store=store, **extra, **options)


@pytest.fixture(scope="module", params=BACKENDS)
def retriever(request, fake_index, tmp_path_factory):
    return make_retriever(fake_index, request.param, tmp_path_factory)


def whole_corpus_top(index, query: str, k: int) -> list[str]:
    """Main's fusion, written out: every chunk scored, z-scores over the whole corpus, the shipped weights."""
    from ingest.korean import search_terms

    embedder = HashEmbedder()
    dense = index.vectors @ embedder.embed_query(query)
    stores = open_search(index, "faiss")
    terms = search_terms(query)
    bm25 = stores.lexical.score(terms, np.arange(len(index.chunks))) if terms else np.zeros(len(index.chunks))
    z = lambda s: (s - s.mean()) / s.std() if s.std() > 1e-9 else np.zeros_like(s)  # noqa: E731
    weights = shipped_weights()
    # how sure BM25 is: its best chunk's z-score over the corpus (the candidates hold BM25's top rows)
    lexical = index.known_share(terms) ** weights.coverage_power * weights.bm25_sureness(z(bm25), len(bm25))
    w = (1 - weights.dense) * lexical
    fused = (1 - w) * z(dense) + w * z(bm25)
    rows = np.arange(len(index.chunks))
    if weights.phrase and terms:  # the bonuses the shipped weights add (rag/retrieve.py fuse)
        fused = fused + weights.phrase * lexical * index.phrase_coverage(rows, stores.term_weights(terms)[0], terms)
    if weights.sibling_terms and terms:  # over every chunk here, over the candidates in the product
        shortfall = Retriever(index, embedder).sibling_shortfall(rows, stores.term_weights(terms)[0])
        fused = fused + weights.sibling_terms * lexical * shortfall
    days = question_days(query)
    if weights.date and days:
        fused = fused + weights.date * np.array([1.0 if index.days(c.doc_id) & days else 0.0 for c in index.chunks])
    return [index.chunks[i].chunk_id for i in np.argsort(-fused, kind="stable")[:k]]


# -- the shared suite ------------------------------------------------------------------------------------

def test_keyword_search_finds_the_seed_notice(retriever):
    result = retriever.run("전자정부 2020의 5대 전략은?", k=5)
    assert result.doc_ids[0] == SEED_ID
    assert result.hits[0].bm25_rank is not None and result.hits[0].bm25_rank <= 3


@pytest.mark.parametrize("query", QUERIES)
def test_top_n_fusion_ranks_as_whole_corpus_scoring(retriever, fake_index, query):
    got = [h.chunk.chunk_id for h in retriever.run(query, k=8).hits]
    assert got == whole_corpus_top(fake_index, query, 8)


def test_filters_run_inside_each_store(retriever, fake_index):
    stores = retriever.stores
    agency = "고용노동부"
    where = stores.meta.restriction(ChunkFilter(agencies=(agency,), since=20260101))
    assert 0 < where.count < len(fake_index.chunks)
    from ingest.korean import search_terms

    rows, _ = stores.lexical.search(search_terms("협약 체결 점검"), 50, where)
    rows_d, _ = stores.dense.search(HashEmbedder().embed_query("협약 체결"), 50, where)
    for r in (*rows, *rows_d):
        chunk = fake_index.chunks[int(r)]
        assert chunk.agency == agency and chunk.published >= "2026-01-01"
    assert len(rows_d) == min(50, where.count)
    result = retriever.run("협약 체결", k=3, filters=Filters(agencies=(agency,)))
    assert len(result.hits) == 3 and all(agency in h.chunk.agency for h in result.hits)
    assert retriever.run("전략", k=5, filters=Filters(source_types=("bidpro",))).doc_ids == [SEED_ID]
    dated = retriever.run("소방", k=20, filters=Filters(since="2026-06-01", until="2026-06-10"))
    assert dated.hits and all("2026-06-01" <= h.chunk.published <= "2026-06-10" for h in dated.hits)


def test_store_scores_agree_with_search_scores(retriever):
    from ingest.korean import search_terms

    stores = retriever.stores
    terms = search_terms("소방청 인도네시아 협력의향서")
    rows, scores = stores.lexical.search(terms, 20)
    assert len(rows) and np.allclose(stores.lexical.score(terms, rows), scores, rtol=1e-5)
    vector = HashEmbedder().embed_query("소방청 인도네시아")
    rows, scores = stores.dense.search(vector, 20)
    assert np.allclose(stores.dense.score(vector, rows), scores, atol=1e-5)
    assert list(scores) == sorted(scores, reverse=True)


def test_no_matching_term_finds_nothing_with_bm25_alone(fake_index, tmp_path_factory, request):
    for store in ("faiss", "qdrant") if HAS_QDRANT else ("faiss",):
        bm25 = make_retriever(fake_index, store, tmp_path_factory, mode="bm25", embedder=None)
        assert bm25.run("🔥🚒🙂").hits == []


# -- ingest, prune, persistence ---------------------------------------------------------------------------

NOTICES = {
    "a.txt": "소방청 보도자료\n2026-06-13\n소방청은 13일 인도네시아 내무부와 재난관리 협력의향서를 체결했다. 119 긴급신고체계 협력을 확대한다.",
    "b.txt": "행정안전부 보도자료\n2026-06-20\n행정안전부는 「전자정부 2020 기본계획」을 발표했다. 5대 전략을 제시했다.",
}


@pytest.mark.parametrize("store", BACKENDS)
def test_incremental_ingest_and_prune_reach_the_store(tmp_path, store):
    corpus = tmp_path / "notices"
    corpus.mkdir()
    for name, text in NOTICES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    updater = IndexUpdater(HashEmbedder(), progress=False)
    qdrant = str(tmp_path / "qdrant")

    def top(query: str) -> list[str]:
        index = NoticeIndex.load(tmp_path / "idx")
        return Retriever(index, HashEmbedder(), store=store, qdrant_path=qdrant).run(query, k=5).doc_ids

    updater.run(tmp_path / "idx", [corpus])
    assert top("전자정부 5대 전략")[0] == "b.txt"
    (corpus / "c.txt").write_text("고용노동부 보도자료\n2026-06-25\n고용노동부는 펭귄마을 사업장 점검 결과를 발표했다.",
                                  encoding="utf-8")
    updater.run(tmp_path / "idx", [corpus])
    assert top("펭귄마을 사업장 점검")[0] == "c.txt"
    (corpus / "b.txt").unlink()
    updater.run(tmp_path / "idx", [corpus], prune=True)
    assert "b.txt" not in top("전자정부 5대 전략")
    if store == "qdrant":
        from rag.search.qdrant import _client

        index = NoticeIndex.load(tmp_path / "idx")
        assert _client("", qdrant).count("pressrag").count == len(index.chunks)


def test_bm25s_is_saved_with_the_snapshot_and_loaded_not_rebuilt(tmp_path, monkeypatch):
    corpus = tmp_path / "notices"
    corpus.mkdir()
    for name, text in NOTICES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    IndexUpdater(HashEmbedder(), progress=False).run(tmp_path / "idx", [corpus])
    index = NoticeIndex.load(tmp_path / "idx")
    saved = sorted(p.name for p in (index.snapshot_dir / "bm25s").iterdir())
    assert "params.index.json" in saved and not any(n.endswith((".pkl", ".pickle")) for n in saved)
    assert all(f"bm25s/{n}" in index.manifest.checksums for n in saved)

    def no_rebuild(*args, **kwargs):
        raise AssertionError("bm25s was rebuilt")

    monkeypatch.setattr(Bm25sStore, "from_terms", no_rebuild)
    result = Retriever(index, HashEmbedder()).run("전자정부 5대 전략", k=2)
    assert result.doc_ids[0] == "b.txt"
    monkeypatch.undo()
    (index.snapshot_dir / "bm25s" / "data.csc.index.npy").write_bytes(b"tampered")
    with pytest.raises(IndexProblem, match="bm25s/data.csc.index.npy"):
        NoticeIndex.load(tmp_path / "idx")


def test_a_crash_while_saving_bm25s_leaves_the_previous_index(tmp_path, monkeypatch):
    corpus = tmp_path / "notices"
    corpus.mkdir()
    (corpus / "a.txt").write_text(NOTICES["a.txt"], encoding="utf-8")
    updater = IndexUpdater(HashEmbedder(), progress=False)
    updater.run(tmp_path / "idx", [corpus])
    (corpus / "b.txt").write_text(NOTICES["b.txt"], encoding="utf-8")

    def crash(self, folder):
        raise OSError("disk full")

    monkeypatch.setattr(Bm25sStore, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        updater.run(tmp_path / "idx", [corpus])
    monkeypatch.undo()
    index = NoticeIndex.load(tmp_path / "idx")
    assert set(index.notices) == {"a.txt"}
    assert Retriever(index, HashEmbedder()).run("소방청 협력의향서", k=1).doc_ids == ["a.txt"]


def test_a_missing_qdrant_location_is_one_line(fake_index):
    with pytest.raises(IndexProblem, match="PRESSRAG_QDRANT_URL"):
        Retriever(fake_index, HashEmbedder(), store="qdrant").run("전략")


# -- the approximate dense index -------------------------------------------------------------------------

def test_ivf_above_the_threshold_keeps_recall_and_filters():
    from rag.search.base import RowMeta

    rng = np.random.default_rng(1)
    centres = rng.normal(size=(50, 32)).astype(np.float32)
    vectors = centres[rng.integers(0, 50, 5000)] + 0.3 * rng.normal(size=(5000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    exact = FaissDenseStore(vectors)
    approx = FaissDenseStore(vectors, approximate_above=1000, exact_below=100)
    assert approx.approximate and not exact.approximate
    queries = vectors[rng.integers(0, 5000, 50)] + 0.1 * rng.normal(size=(50, 32)).astype(np.float32)
    recall = np.mean([len(set(exact.search(q, 10)[0]) & set(approx.search(q, 10)[0])) / 10 for q in queries])
    assert recall >= 0.9
    # the cells hold 8-bit codes (a quarter of the float vectors' memory); returned scores are exact
    assert approx.index.code_size == vectors.shape[1]
    rows, scores = approx.search(queries[1], 10)
    np.testing.assert_allclose(scores, vectors[rows] @ queries[1], rtol=1e-5, atol=1e-6)
    assert list(scores) == sorted(scores, reverse=True)
    agency = rng.integers(0, 20, 5000).astype(np.int32)
    meta = RowMeta.from_arrays(agency, [f"a{i}" for i in range(20)], np.full(5000, 20260101, np.int32),
                               np.zeros(5000, np.int32), ["x"])
    for names in (("a3",), ("a3", "a4", "a5", "a6", "a7", "a8")):  # exact over few rows; IVF with a bitmap
        where = meta.restriction(ChunkFilter(agencies=names))
        rows, _ = approx.search(queries[0], 10, where)
        assert len(rows) == 10 and all(f"a{agency[r]}" in names for r in rows)


def test_a_large_index_saves_its_trained_ivf_and_the_next_process_reads_it(tmp_path, corpus_notices, monkeypatch):
    import rag.search.embedded as embedded
    from rag.build import IndexUpdater
    from rag.folder import IndexFolder, IndexProblem
    from rag.index import NoticeIndex
    from rag.search import open_search

    monkeypatch.setattr(embedded, "APPROXIMATE_ABOVE", 100)  # the demo corpus's 575 chunks count as large
    built = IndexUpdater(HashEmbedder(), progress=False).build_in_memory(corpus_notices)
    built.save(tmp_path / "idx")
    snap = IndexFolder(tmp_path / "idx").current()
    assert (snap / embedded.IVF_FILE).exists()
    index = NoticeIndex.load(tmp_path / "idx")
    assert index._faiss is None  # no flat copy of the vectors kept beside the IVF cells
    dense = open_search(index, "faiss").dense
    assert dense.approximate and dense.from_disk and dense.index.ntotal == len(index.chunks)
    trained = embedded.FaissDenseStore(index.vectors, approximate_above=100)  # what a start used to build
    assert not trained.from_disk
    for row in (0, 17, 300):
        got, want = dense.search(index.vectors[row], 10), trained.search(index.vectors[row], 10)
        assert list(got[0]) == list(want[0])
    # a damaged IVF file is refused like any other index file
    with (snap / embedded.IVF_FILE).open("ab") as fh:
        fh.write(b"x")
    with pytest.raises(IndexProblem, match="ivf.faiss"):
        NoticeIndex.load(tmp_path / "idx")


def test_a_large_index_holds_its_vectors_in_half_precision_and_ranks_as_in_full(tmp_path, corpus_notices,
                                                                                 monkeypatch):
    import rag.search.embedded as embedded

    small = IndexUpdater(HashEmbedder(), progress=False).build_in_memory(corpus_notices)
    assert small.vectors.dtype == np.float32
    monkeypatch.setattr(embedded, "APPROXIMATE_ABOVE", 100)  # the demo corpus's 575 chunks count as large
    index = NoticeIndex(small.manifest, small.notices, small.chunks, small.terms, small.vectors,
                        small.sentence_vectors, small.tokens, small.bare_sentence_vectors)
    assert index.vectors.dtype == np.float16
    np.testing.assert_allclose(index.vectors, small.vectors, atol=1e-3)  # what half precision costs
    dense = open_search(index, "faiss").dense
    assert dense.approximate and dense.vectors is index.vectors  # the store keeps no float32 copy
    exact = FaissDenseStore(small.vectors)  # flat search over the float32 rows
    queries = small.vectors[np.random.default_rng(3).integers(0, len(small.chunks), 40)]
    assert np.mean([list(dense.search(q, 5)[0]) == list(exact.search(q, 5)[0]) for q in queries]) >= 0.9
    rows, scores = dense.search(queries[0], 5)
    np.testing.assert_allclose(scores, exact.score(queries[0], rows), atol=1e-3)
    index.save(tmp_path / "idx")
    loaded = NoticeIndex.load(tmp_path / "idx")
    assert loaded.vectors.dtype == np.float16 and np.array_equal(loaded.vectors, index.vectors)
    # falling to the threshold by pruning takes the rows back to float32, where flat FAISS searches
    keep = {c.doc_id for c in loaded.chunks[:90]}
    loaded.remove_docs({c.doc_id for c in loaded.chunks} - keep)
    assert len(loaded.chunks) <= 100 and loaded.vectors.dtype == np.float32


def test_a_float16_store_scores_large_row_sets_as_it_scores_any_row():
    from rag.search.base import dot_rows

    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(3000, 32)).astype(np.float16)
    store = FaissDenseStore(vectors, approximate_above=1000)
    assert store.vectors.dtype == np.float16
    query = rng.normal(size=32).astype(np.float32)
    first, second = np.arange(0, 3000, 2), np.arange(1, 3000, 2)  # fusion's sample, and another of its size
    for rows in (first, second, first):  # the third call reads the kept copy of the first
        np.testing.assert_array_equal(store.score(query, rows), dot_rows(vectors.astype(np.float32), rows, query))


def test_a_small_index_saves_no_ivf(tmp_path, corpus_notices):
    from rag.build import IndexUpdater
    from rag.folder import IndexFolder
    from rag.search.embedded import IVF_FILE

    built = IndexUpdater(HashEmbedder(), progress=False).build_in_memory(corpus_notices[:5])
    built.save(tmp_path / "idx")
    assert not (IndexFolder(tmp_path / "idx").current() / IVF_FILE).exists()
