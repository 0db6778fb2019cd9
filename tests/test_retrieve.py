import numpy as np
import pytest

from rag.retrieve import Filters, FusionWeights, QueryProblem, Retriever
from tests.conftest import SEED_ID, HashEmbedder


@pytest.fixture(scope="module")
def retriever(fake_index):
    return Retriever(fake_index, HashEmbedder(), mode="hybrid")


def test_korean_keyword_search_finds_the_seed_notice(fake_index):
    bm25 = Retriever(fake_index, None, mode="bm25")
    result = bm25.run("전자정부 2020의 5대 전략은?", k=5)
    assert result.doc_ids[0] == SEED_ID
    hit = result.hits[0]
    assert hit.bm25_score > 0 and hit.bm25_rank == 1 and hit.dense_score is None


def test_hits_carry_each_retrievers_scores_and_distinct_notices(retriever):
    result = retriever.run("소방청 인도네시아 협력의향서 체결", k=10)
    assert result.doc_ids[0] == "koreakr-156761701"
    assert len(result.doc_ids) == len(set(result.doc_ids))
    assert all(h.dense_score is not None and h.bm25_score is not None for h in result.hits)
    assert [h.score for h in result.hits] == sorted((h.score for h in result.hits), reverse=True)


def test_filters_apply_before_the_top_k_cut(retriever):
    unfiltered = retriever.run("협약 체결", k=3)
    result = retriever.run("협약 체결", k=3, filters=Filters(agencies=("고용노동부",)))
    assert len(result.hits) == 3
    assert all("고용노동부" in h.chunk.agency for h in result.hits)
    assert set(result.doc_ids) != set(unfiltered.doc_ids) or all("고용노동부" in h.chunk.agency for h in unfiltered.hits)
    dated = retriever.run("소방", k=20, filters=Filters(since="2026-06-01", until="2026-06-10"))
    assert dated.hits and all("2026-06-01" <= h.chunk.published <= "2026-06-10" for h in dated.hits)
    only_bidpro = retriever.run("전략", k=5, filters=Filters(source_types=("bidpro",)))
    assert only_bidpro.doc_ids == [SEED_ID]


def test_bad_filters_say_what_is_wrong(retriever):
    with pytest.raises(QueryProblem, match="unknown agency 국방부"):
        retriever.run("훈련", filters=Filters(agencies=("국방부",)))
    with pytest.raises(QueryProblem, match="inverted"):
        Filters(since="2026-06-10", until="2026-06-01")
    with pytest.raises(QueryProblem, match="YYYY-MM-DD"):
        Filters(since="June")
    # valid filters that hide every notice are a message, not an empty sample crashing the fusion
    for mode in ("hybrid", "dense", "bm25"):
        retriever.mode = mode
        try:
            with pytest.raises(QueryProblem, match="filters leave no notice"):
                retriever.run("소방청 인도네시아 협력의향서", filters=Filters(since="2030-01-01"))
        finally:
            retriever.mode = "hybrid"


@pytest.mark.parametrize("query", ["   ", ""])
def test_empty_query_is_a_clear_error(retriever, query):
    with pytest.raises(QueryProblem, match="empty"):
        retriever.run(query)


@pytest.mark.parametrize("query", ["?!… ---", "🔥🚒🙂", "Пожарная служба Индонезии", "消防厅与印度尼西亚", "가" * 10_000])
def test_odd_queries_return_a_normal_result(retriever, query):
    result = retriever.run(query, k=5)
    assert len(result.hits) <= 5


def test_bm25_alone_with_no_matching_term_finds_nothing(fake_index):
    assert Retriever(fake_index, None, mode="bm25").run("🔥🚒🙂").hits == []


def test_bad_settings_raise_at_construction(fake_index):
    with pytest.raises(ValueError, match="mode"):
        Retriever(fake_index, HashEmbedder(), mode="magic")
    with pytest.raises(ValueError, match="dense weight"):
        Retriever(fake_index, HashEmbedder(), weights=FusionWeights(dense=2.0))


_SENTENCE_NOTICES = {
    "together.txt": "소방청 보도자료\n2026-06-13\n소방청은 드론 화재진압 훈련을 실시했다. 날씨는 맑았다. 시민 300명이 지켜봤다.",
    "spread.txt": "소방청 보도자료\n2026-06-14\n소방청은 안전 행사를 열었다. 날씨는 맑았다. 드론 전시와 진압 시연이 있었다.",
}


@pytest.fixture(scope="module")
def sentence_index(tmp_path_factory):
    from rag.build import IndexUpdater
    from rag.index import NoticeIndex

    corpus = tmp_path_factory.mktemp("sentences")
    for name, text in _SENTENCE_NOTICES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    IndexUpdater(HashEmbedder(), progress=False).run(corpus / "idx", [corpus])
    return NoticeIndex.load(corpus / "idx")


def test_best_sentence_coverage_is_highest_where_the_terms_share_a_sentence(sentence_index):
    from ingest.korean import search_terms

    weights = {t: 1.0 for t in search_terms("드론 화재진압 훈련")}
    rows = np.arange(len(sentence_index.chunks))
    coverage = dict(zip((c.doc_id for c in sentence_index.chunks), sentence_index.best_sentence_coverage(rows, weights)))
    assert coverage["together.txt"] == pytest.approx(1.0)
    # 드론 and 진압 are in spread.txt too, but in one sentence without 화재 and 훈련
    assert 0.0 < coverage["spread.txt"] < 1.0


def test_best_sentence_scores_take_each_chunks_closest_sentence(sentence_index):
    query = HashEmbedder().embed_query("드론 훈련")
    rows = np.array([1, 0]) if len(sentence_index.chunks) > 1 else np.array([0])
    got = sentence_index.best_sentence_scores(query, rows)
    starts = np.cumsum([0] + [len(c.sentences) for c in sentence_index.chunks])
    want = [max(sentence_index.sentence_vectors[s].astype(np.float32) @ query for s in range(starts[r], starts[r + 1]))
            for r in rows]
    assert got == pytest.approx(want, abs=1e-5)


def test_fusion_adds_the_best_sentence_signals_by_their_weights():
    from rag.retrieve import Candidates, fuse

    flat = np.array([1.0, 1.0])
    sample = np.array([0.0, 1.0, 2.0])
    c = Candidates(query="q", rows=np.array([0, 1]), coverage=1.0, dense=flat, dense_sample=sample, bm25=flat,
                   bm25_sample=sample, sentence=np.array([0.2, 0.9]), sentence_sample=np.array([0.1, 0.5, 0.9]),
                   sentence_terms=np.array([1.0, 0.5]))
    assert fuse(c, FusionWeights())[0] == fuse(c, FusionWeights())[1]  # both off: a tie
    assert np.argmax(fuse(c, FusionWeights(sentence_terms=2.0))) == 0
    assert np.argmax(fuse(c, FusionWeights(sentence=0.5))) == 1
    c.coverage = 0.0  # an English question: no Korean term evidence to weigh
    assert fuse(c, FusionWeights(sentence_terms=2.0))[0] == fuse(c, FusionWeights(sentence_terms=2.0))[1]
    with pytest.raises(ValueError, match="sentence_terms"):
        FusionWeights(sentence_terms=-1.0)
