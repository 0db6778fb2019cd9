import numpy as np
import pytest

from rag.retrieve import Filters, FusionWeights, QueryProblem, Retriever, shipped_weights
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


def test_phrase_coverage_counts_the_query_pairs_a_chunk_holds_in_order(sentence_index):
    from ingest.korean import search_terms

    rows = np.arange(len(sentence_index.chunks))
    docs = [c.doc_id for c in sentence_index.chunks]

    def coverage(query):
        terms = search_terms(query)
        return dict(zip(docs, sentence_index.phrase_coverage(rows, {t: 1.0 for t in terms}, terms)))

    got = coverage("드론 화재진압 훈련")
    assert got["together.txt"] == pytest.approx(1.0)
    assert got["spread.txt"] == 0.0  # 드론 and 진압 are there, never next to each other
    # the same words in another order: only the compound 화재진압 (화재 진압) is still a pair
    assert coverage("훈련 화재진압 드론")["together.txt"] == pytest.approx(1 / 3)
    assert 0.0 < coverage("드론 화재 시연")["together.txt"] < 1.0

def test_pair_table_reads_each_rows_own_adjacent_terms():
    """rag.index.pair_coverage over a TermSequences table: a pair split across two rows' boundary is
    not held, a pair held twice counts once, rows come back in the order asked (repeats too), and a row
    stored without terms makes the whole signal None (an index built before terms were stored)."""
    from rag.index import TermSequences, pair_coverage

    def tok(*terms):
        return [(i, i + 1, t) for i, t in enumerate(terms)]

    table = TermSequences.from_tokens([tok("국회", "통과", "국회", "통과"), tok("법안", "국회"), tok("통과", "법안"), None])
    weights = {"국회": 1.0, "통과": 1.0, "법안": 2.0}
    # pairs: (법안, 국회) weighs 3, (국회, 통과) 2: total 5
    got = pair_coverage(np.array([2, 0, 1, 0]), weights, ["법안", "국회", "통과"], table)
    assert got.tolist() == pytest.approx([0.0, 2 / 5, 3 / 5, 2 / 5])  # row 1 ends in 국회, row 2 opens with 통과
    assert pair_coverage(np.array([0, 3]), weights, ["국회", "통과"], table) is None
    assert pair_coverage(np.array([0]), weights, ["국회", "없는말"], table).tolist() == [0.0]


def test_pair_table_matches_reading_each_rows_tokens_on_the_demo_corpus(fake_index):
    """The vectorised pair share equals a plain per-row reading of the stored tokens, on every chunk of
    the demo corpus for a few real questions' terms."""
    import json

    from ingest.korean import search_terms
    from tests.conftest import REPO

    rows = np.arange(len(fake_index.chunks))
    gold = REPO / "eval" / "gold" / "dev.jsonl"
    questions = [json.loads(line)["question"] for line in gold.read_text(encoding="utf-8").splitlines()[:12]]
    assert all(t is not None for t in fake_index.tokens)
    for question in questions:
        terms = search_terms(question)
        weights = {t: float(len(t)) for t in terms}
        pairs = {(a, b): weights[a] + weights[b] for a, b in zip(terms, terms[1:]) if a != b}
        want = []
        for r in rows:
            held = {(x[2], y[2]) for x, y in zip(fake_index.tokens[r], fake_index.tokens[r][1:])}
            want.append(sum(w for p, w in pairs.items() if p in held) / sum(pairs.values()) if pairs else 0.0)
        got = fake_index.phrase_coverage(rows, weights, terms)
        assert got.tolist() == pytest.approx(want), question
    assert any(fake_index.phrase_coverage(rows, {t: 1.0 for t in search_terms(q)}, search_terms(q)).max() > 0
               for q in questions)


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


def test_days_are_read_from_questions_and_press_release_leads():
    from rag.dates import notice_days, question_days

    assert question_days("6월 18일 국회를 통과한 법 개정은?") == {(6, 18)}
    assert question_days("Who chaired the meeting on June 17, 2026?") == {(6, 17)}
    assert question_days("held on 3rd December and Sept. 9") == {(12, 3), (9, 9)}
    assert question_days("2026년 예산은 얼마인가요?") == frozenset()
    assert question_days("13월 40일") == frozenset()  # not a day
    # the forms korea.kr leads use: "6.17일(수)", "6.16.(화)", "오늘(6월 18일)", and "17일(수)" in the
    # month the notice was published
    lead = "이형일 1차관은 6.17일(수) 08:00 회의를 주재했다. 제7차 회의는 6.18.(목)에 열린다. 오늘(6월 19일) 발표."
    assert notice_days(lead) == {(6, 17), (6, 18), (6, 19)}
    assert notice_days("소방청은 17일(수) 훈련을 했다.", "2026-06-16") == {(6, 17)}
    assert notice_days("소방청은 17일(수) 훈련을 했다.") == frozenset()  # no month to put it in
    assert notice_days("제3.1절 기념식, 2.5배 늘었다") == frozenset()  # decimals are not days


_DATED_NOTICES = {  # the same meeting a week apart: only the day tells them apart
    "first.txt": "고용노동부 보도자료\n2026-06-10\n고용노동부는 10일(수) 일자리전담반 회의를 열어 청년 고용 대책을 논의했다.",
    "second.txt": "고용노동부 보도자료\n2026-06-17\n고용노동부는 6.17.(수) 일자리전담반 회의를 열어 청년 고용 대책을 논의했다.",
}


def test_a_day_the_question_names_marks_the_notices_that_name_it(tmp_path):
    from rag.build import IndexUpdater
    from rag.index import NoticeIndex

    for name, text in _DATED_NOTICES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    IndexUpdater(HashEmbedder(), progress=False).run(tmp_path / "idx", [tmp_path])
    index = NoticeIndex.load(tmp_path / "idx")
    assert index.days("first.txt") == {(6, 10)} and index.days("second.txt") == {(6, 17)}
    dated = Retriever(index, HashEmbedder(), weights=FusionWeights(date=0.5))
    for question in ("6월 17일 일자리전담반 회의에서 논의한 것은?", "What did the jobs task force (일자리전담반) discuss on June 17?"):
        c = dated.candidates(question, k=4)
        marks = {index.chunks[int(r)].doc_id: m for r, m in zip(c.rows, c.date)}
        assert marks == {"first.txt": 0.0, "second.txt": 1.0}, question
    assert dated.candidates("일자리전담반 회의", k=4).date is None  # the question names no day
    # computed only when weighed
    assert Retriever(index, HashEmbedder(), weights=FusionWeights()).candidates("6월 17일 회의", k=4).date is None


def test_fusion_adds_the_day_signal_by_its_weight():
    from rag.retrieve import Candidates, fuse

    flat, sample = np.array([1.0, 1.2]), np.array([0.0, 1.0, 2.0])
    c = Candidates(query="q", rows=np.array([0, 1]), coverage=1.0, dense=flat, dense_sample=sample, bm25=flat,
                   bm25_sample=sample, date=np.array([1.0, 0.0]))
    assert np.argmax(fuse(c, FusionWeights())) == 1  # the words prefer the second chunk
    assert np.argmax(fuse(c, FusionWeights(date=0.5))) == 0  # the shared day outweighs a small lead
    c.phrase = np.array([1.0, 0.0])
    assert np.argmax(fuse(c, FusionWeights(phrase=2.0))) == 0  # so does the question's phrase
    c.coverage = 0.0  # ... but not for a question whose words the index does not know
    assert np.argmax(fuse(c, FusionWeights(phrase=2.0))) == 1
    c.coverage, c.phrase = 1.0, None
    c.date = None  # a question that names no day
    assert np.argmax(fuse(c, FusionWeights(date=0.5))) == 1
    assert shipped_weights().date > 0  # fitted and adopted (rag/fusion_weights.json)
    with pytest.raises(ValueError, match="date"):
        FusionWeights(date=-1.0)
    with pytest.raises(ValueError, match="phrase"):
        FusionWeights(phrase=-1.0)


def test_bm25_weighs_less_when_no_chunk_stands_out_of_its_sample():
    from rag.retrieve import Candidates, _standardise, fuse

    rng = np.random.default_rng(0)
    sample = rng.normal(0.0, 1.0, 600)  # a corpus-sized sample: a z-score can reach the ramp's top
    weights = FusionWeights(bm25_floor=3.0, bm25_full=8.0)
    # chunk 0 is the dense side's pick, chunk 1 BM25's by a little
    dense, dense_sample = np.array([3.0, 2.5]), rng.normal(0.0, 1.0, 600)
    c = Candidates(query="q", rows=np.array([0, 1]), coverage=1.0, dense=dense, dense_sample=dense_sample,
                   bm25=np.array([2.0, 2.6]), bm25_sample=sample)
    # everyday words: BM25's best barely stands above the crowd (z ~2.6), so the dense side decides
    assert weights.bm25_sureness(_standardise(c.bm25, sample), len(sample)) == 0.0
    assert np.argmax(fuse(c, FusionWeights())) == 1
    assert np.argmax(fuse(c, weights)) == 0
    # the notice's own terms: BM25's best stands 10 deviations out and keeps its full weight
    c.bm25 = np.array([2.0, 10.0])
    assert weights.bm25_sureness(_standardise(c.bm25, sample), len(sample)) == 1.0
    assert np.array_equal(fuse(c, weights), fuse(c, FusionWeights()))
    assert 0.0 < weights.bm25_sureness(_standardise(np.array([5.5]), sample), len(sample)) < 1.0  # on the ramp
    # a small index: no z-score could reach the ramp's top, so BM25 keeps its weight
    assert weights.bm25_sureness(_standardise(np.array([0.5]), sample[:20]), 20) == 1.0
    assert FusionWeights().bm25_sureness(_standardise(np.array([0.5]), sample), len(sample)) == 1.0  # the ramp off
    with pytest.raises(ValueError, match="bm25_full"):
        FusionWeights(bm25_floor=5.0, bm25_full=4.0)


def test_fit_fusion_weighs_the_day_signal_on_the_dev_questions(fake_index):
    """eval/fit_fusion.py's steps on the demo corpus: every question's signals once, then re-fused."""
    from eval import fit_fusion
    from rag.evaluate import DEFAULT_GOLD

    data = fit_fusion.load_gold_set("dev", DEFAULT_GOLD, fake_index, every=1)
    fit_fusion.collect(data, HashEmbedder())
    dated = [q for q in data.questions if q.candidates.date is not None]
    assert len(dated) >= 5 and sum(bool(q.candidates.date.any()) for q in dated) >= 5
    off, on = (fit_fusion.figures_for([data], FusionWeights(date=w)) for w in (0.0, 1.0))
    assert {"dev/A", "dev/B", "dev/all"} <= set(on)
    assert on["dev/all"]["mrr"] > off["dev/all"]["mrr"]
    assert on["dev/all"]["hit@1"] >= off["dev/all"]["hit@1"]
    # ties: points one question of the largest half A apart (47 dev questions there, one set)
    assert fit_fusion.tolerance([data]) == pytest.approx(1 / sum(q.half == "A" for q in data.questions))


_ONE_ARTICLE = [  # two paragraphs of one article (one title) and an unrelated notice
    {"id": "river-00", "title": "강변 공원", "published": "2020-01-01", "url": "https://example.org/river",
     "text": "공원은 강변에 있다. 여름밤에는 분수 구경을 하러 시민이 찾는다. 편의시설은 2010년대에 설치되었다."},
    {"id": "river-01", "title": "강변 공원", "published": "2020-01-01", "url": "https://example.org/river",
     "text": "공원 분수는 2008년에 다리 난간에 설치되었다. 분수는 4월부터 10월까지 가동한다."},
    {"id": "park-00", "title": "여의도 공원", "published": "2020-01-01", "url": "https://example.org/park",
     "text": "여의도 공원 분수는 2005년에 설치되었다. 공원에는 자전거 길이 있다."},
]


def test_parts_of_one_document_are_told_apart_by_the_sentence_holding_the_question(tmp_path):
    import json

    from rag.build import IndexUpdater
    from rag.index import NoticeIndex

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "articles.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in _ONE_ARTICLE), encoding="utf-8")
    IndexUpdater(HashEmbedder(), progress=False).run(tmp_path / "idx", [tmp_path / "docs"])
    index = NoticeIndex.load(tmp_path / "idx")
    question = "공원 분수는 몇 년에 설치되었나?"
    c = Retriever(index, HashEmbedder(), weights=FusionWeights(sibling_terms=4.0)).candidates(question, k=4)
    shortfall = {}
    for r, value in zip(c.rows, c.sibling_terms):
        doc = index.chunks[int(r)].doc_id
        shortfall[doc] = min(shortfall.get(doc, 0.0), float(value))
    # the first paragraph has every word, but in three sentences; the second has them in one
    assert shortfall["river-01"] == 0.0 and shortfall["river-00"] < 0.0
    assert shortfall.get("park-00", 0.0) == 0.0  # no other notice shares its title: untouched
    # computed only when weighed
    assert Retriever(index, HashEmbedder(), weights=FusionWeights()).candidates(question, k=4).sibling_terms is None


def test_fusion_subtracts_a_siblings_shortfall_by_its_weight():
    from rag.retrieve import Candidates, fuse

    flat, sample = np.array([1.2, 1.0, 1.1]), np.array([0.0, 1.0, 2.0])
    c = Candidates(query="q", rows=np.array([0, 1, 2]), coverage=1.0, dense=flat, dense_sample=sample, bm25=flat,
                   bm25_sample=sample, sibling_terms=np.array([-0.5, 0.0, 0.0]))
    assert np.argmax(fuse(c, FusionWeights())) == 0
    assert np.argmax(fuse(c, FusionWeights(sibling_terms=2.0))) == 2  # chunk 0's sibling 1 held the words together
    c.coverage = 0.0  # a question whose words the index does not know: no term evidence to weigh
    assert np.argmax(fuse(c, FusionWeights(sibling_terms=2.0))) == 0
    with pytest.raises(ValueError, match="sibling_terms"):
        FusionWeights(sibling_terms=-1.0)


def test_a_text_posted_twice_takes_one_place_among_the_notices(corpus_notices):
    from dataclasses import replace

    from rag.build import IndexUpdater

    notices = [n for n in corpus_notices if n.doc_id != SEED_ID][:12]
    first = notices[0]
    repost = replace(first, doc_id=first.doc_id + "-repost")
    index = IndexUpdater(HashEmbedder(), progress=False).build_in_memory([*notices, repost])
    question = first.title
    for mode in ("hybrid", "dense", "bm25"):
        result = Retriever(index, HashEmbedder(), mode=mode).run(question, k=20)
        listed = [d for d in result.doc_ids if d in (first.doc_id, repost.doc_id)]
        assert len(listed) == 1, mode  # one of the two, never both
        assert len(result.hits) == 20, mode  # the other copy's chunks leave their places to other notices
        assert {h.chunk.doc_id for h in result.hits} == set(result.doc_ids)
    assert Retriever(index, HashEmbedder()).run(question, k=3).doc_ids[0] in (first.doc_id, repost.doc_id)
