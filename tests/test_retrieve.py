import pytest

from rag.retrieve import Filters, QueryProblem, Retriever
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
    with pytest.raises(ValueError, match="dense_weight"):
        Retriever(fake_index, HashEmbedder(), dense_weight=2.0)
