"""The learned sentence scorer: its features on real notices, the fit, the weights file, and sentence vectors
stored with the index (row-aligned through incremental ingest and prune; an index without them still loads)."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rag.answer import ExtractiveAnswerer
from rag.build import IndexUpdater, title_weight
from rag.folder import IndexFolder
from rag.index import BARE_SENTENCE_FILE, SENTENCE_FILE, NoticeIndex
from rag.refusal_rules import RULES
from rag.retrieve import Retriever
from rag.scorer import (ANSWERABLE_FEATURES, FEATURES, WEIGHTS_FILE, AnswerableModel, ScorerWeights, SentenceModel,
                        answerable_features, fit_logistic)
from tests.conftest import REPO, SEED_ID, HashEmbedder

NOTICE_A = "문화체육관광부는 2026년 7월 1일 지역 도서관 리모델링에 관한 계획을 발표했다. 이번 계획에 따라 총 5,678억 원을 투입한다. 사업은 3년 동안 진행된다."
NOTICE_B = "국토교통부는 2026년 6월 3일 노후 교량 정밀점검 계획을 발표했다. 점검에는 모두 1,234억 원을 투입한다. 점검 결과는 연말에 공개한다."


def _write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def _sentence_vectors(embedder, title: str, sentence: str) -> tuple[np.ndarray, np.ndarray]:
    """(titled, bare) as ingest makes them: the sentence's vector plus its title's, weighted by
    sqrt(len(title) / len(sentence)), normalised."""
    bare, title_vector = embedder.embed_passages([sentence, title])
    assert title_weight(title, sentence) == pytest.approx((len(title) / len(sentence)) ** 0.5)
    titled = bare + title_weight(title, sentence) * title_vector
    return titled / np.linalg.norm(titled), bare


def _two_notices(tmp_path: Path) -> tuple[Path, HashEmbedder, NoticeIndex]:
    """NOTICE_A and NOTICE_B as files in tmp_path/src, indexed into tmp_path/idx."""
    src = tmp_path / "src"
    _write(src, "a.txt", NOTICE_A)
    _write(src, "b.txt", NOTICE_B)
    embedder = HashEmbedder()
    IndexUpdater(embedder, progress=False).run(tmp_path / "idx", [src])
    return src, embedder, NoticeIndex.load(tmp_path / "idx")


def _forget_file(index_dir: Path, name: str) -> None:
    """Make the current snapshot look as if it was saved without ``name`` (an index from an older version)."""
    snap = IndexFolder(index_dir).current()
    manifest = json.loads((snap / "manifest.json").read_text(encoding="utf-8"))
    del manifest["checksums"][name]
    (snap / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (snap / name).unlink()


def _eval_module(name: str):
    """A script of eval/ imported as a module."""
    sys.path.insert(0, str(REPO / "eval"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(REPO / "eval"))


def _demo_assistant(tmp_path: Path):
    """An extractive assistant (word-overlap selection) over the demo corpus indexed with HashEmbedder."""
    from rag.service import Assistant

    src = tmp_path / "src"
    shutil.copytree(REPO / "data" / "corpus", src)
    embedder = HashEmbedder()
    IndexUpdater(embedder, progress=False).run(tmp_path / "idx", [src])
    index = NoticeIndex.load(tmp_path / "idx")
    return Assistant(index, Retriever(index, embedder, mode="hybrid"),
                     ExtractiveAnswerer(embedder=embedder, idf=index.idf, learned=False))


def test_sentence_vectors_follow_the_chunks(tmp_path):
    src, embedder, index = _two_notices(tmp_path)
    assert index.sentence_vectors is not None
    assert len(index.sentence_vectors) == sum(len(c.sentences) for c in index.chunks)
    notice = index.notices["a.txt"]
    start, end = index.sentence_spans("a.txt")[1]
    titled, bare = _sentence_vectors(embedder, notice.title, notice.body[start:end])
    row = index.sentence_row("a.txt", start, end)
    assert np.allclose(index.sentence_vectors[row].astype(np.float32), titled, atol=2e-3)
    assert np.allclose(index.bare_sentence_vectors[row].astype(np.float32), bare, atol=2e-3)
    assert not np.allclose(titled, bare, atol=2e-3)  # the title is really in the titled vector

    # a changed file replaces its rows, a removed one (prune) drops them: still one row per chunk sentence
    _write(src, "a.txt", NOTICE_A.replace("5,678억", "6,000억"))
    (src / "b.txt").unlink()
    IndexUpdater(embedder, progress=False).run(tmp_path / "idx", [src], prune=True)
    index = NoticeIndex.load(tmp_path / "idx")
    assert set(index.notices) == {"a.txt"}
    assert len(index.sentence_vectors) == sum(len(c.sentences) for c in index.chunks)
    notice = index.notices["a.txt"]
    assert len(index.bare_sentence_vectors) == len(index.sentence_vectors)
    for s_start, s_end in index.sentence_spans("a.txt"):
        titled, bare = _sentence_vectors(embedder, notice.title, notice.body[s_start:s_end])
        row = index.sentence_row("a.txt", s_start, s_end)
        assert np.allclose(index.sentence_vectors[row].astype(np.float32), titled, atol=2e-3)
        assert np.allclose(index.bare_sentence_vectors[row].astype(np.float32), bare, atol=2e-3)


def test_the_word_overlap_scorer_answers_a_small_index_with_the_amount(tmp_path):
    """The scorer without fitted weights (``learned=False``), over two notices: issue 11's question was
    refused ("most of its words are unknown": on two notices every word is rare), and then answered
    with the sentence that repeats its words but not the amount, which sits in the next one."""
    _, embedder, index = _two_notices(tmp_path)
    answerer = ExtractiveAnswerer(embedder=embedder, idf=index.idf, learned=False)
    for question, amount in (("지역 도서관 리모델링에 얼마를 투입하나?", "5,678억 원"),
                             ("노후 교량 정밀점검에 얼마를 투입하나?", "1,234억 원")):
        answer = answerer.run(question, Retriever(index, embedder, mode="hybrid").run(question), index)
        assert not answer.refused and amount in answer.answer, answer.answer


def test_an_index_saved_without_sentence_vectors_still_loads_and_answers(tmp_path):
    src = tmp_path / "src"
    _write(src, "a.txt", NOTICE_A)
    IndexUpdater(HashEmbedder(), progress=False).run(tmp_path / "idx", [src])
    _forget_file(tmp_path / "idx", SENTENCE_FILE)
    index = NoticeIndex.load(tmp_path / "idx")
    assert index.sentence_vectors is None
    answerer = ExtractiveAnswerer(embedder=HashEmbedder(), idf=index.idf)
    answer = answerer.run("지역 도서관 리모델링에 얼마를 투입하나?",
                          Retriever(index, None, mode="bm25").run("지역 도서관 리모델링에 얼마를 투입하나?"), index)
    assert not answer.refused and "5,678억 원" in answer.answer


def test_features_on_a_real_notice(fake_index):
    """The seed page: the sentence that lists the five strategies outscores the rest on coverage and dense."""
    answerer = ExtractiveAnswerer(embedder=HashEmbedder(), idf=fake_index.idf)
    question = "전자정부 2020의 5대 전략은 무엇인가?"
    retrieval = Retriever(fake_index, None, mode="bm25").run(question, k=8)
    candidates, x = answerer.features(question, retrieval, fake_index)
    assert x.shape == (len(candidates), len(FEATURES)) and np.isfinite(x).all()
    col = {name: i for i, name in enumerate(FEATURES)}
    assert (x[:, col["has_vectors"]] == 1).all()  # the fake index holds sentence vectors
    # its vectors come from another model than the weights were fitted on: the lexical model answers
    lexical = ScorerWeights.load().lexical
    thresholds = answerer.thresholds(fake_index)
    assert thresholds["refuse_below"] == lexical.refuse_below and thresholds["rules_below"] == lexical.rules_below
    assert {f"{rule}_below" for rule in RULES} <= set(thresholds)
    assert all(thresholds[f"{rule}_below"] == lexical.gate(rule) for rule in RULES)
    assert x[:, col["dense_gap"]].max() == 0 and x[:, col["coverage_gap"]].max() == 0
    assert ((0 <= x[:, col["coverage"]]) & (x[:, col["coverage"]] <= 1)).all()
    assert ((0 <= x[:, col["position"]]) & (x[:, col["position"]] < 1)).all()
    seed = [i for i, c in enumerate(candidates) if c.doc_id == SEED_ID]
    assert seed and x[seed, col["notice_rank"]].min() == 0
    # the neighbour features are the neighbour's own values
    body = fake_index.notices[SEED_ID].body
    spans = fake_index.sentence_spans(SEED_ID)
    i = next(i for i in seed if spans.index(candidates[i].sentence) > 0)
    k = spans.index(candidates[i].sentence)
    prev_text = body[spans[k - 1][0]:spans[k - 1][1]]
    q_terms = answerer.question_terms(question)
    assert x[i, col["prev_coverage"]] == pytest.approx(answerer._coverage(q_terms, answerer.reader.terms(prev_text), prev_text))
    assert x[i, col["first_sentence"]] == 0


def test_fit_logistic_recovers_a_separable_rule():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] - 0.5 * x[:, 2] > 0).astype(float)
    mean, scale, coef, bias = fit_logistic(x, y, l2=0.1)
    weights = SentenceModel(mean, scale, coef, bias)
    accuracy = ((weights.probabilities(x) > 0.5) == (y == 1)).mean()
    assert accuracy > 0.97
    assert coef[0] > 0 > coef[2] and abs(coef[1]) < abs(coef[0]) / 5


def test_shipped_weights_are_readable_and_match_the_features():
    data = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
    assert tuple(data["features"]) == FEATURES
    assert set(data["dense"]["features"]) == set(FEATURES)  # one readable line per feature
    weights = ScorerWeights.load()
    for model in (weights.dense, weights.lexical):
        assert 0 < model.refuse_below <= model.rules_below <= 1 and len(model.coef) == len(FEATURES)
        # every rule has its own fitted gate, none below the plain refusal threshold
        assert {rule for rule, _ in model.rule_gates} == set(RULES)
        assert all(model.refuse_below <= model.gate(rule) <= 1 for rule in RULES)
    # the lexical model ignores what needs sentence vectors from the fitted model
    assert weights.lexical.coef[FEATURES.index("dense")] == 0
    assert weights.model_for("bundled-e5-small", True) is weights.dense
    assert weights.model_for("test-hash-bigrams", True) is weights.lexical
    assert weights.model_for("bundled-e5-small", False) is weights.lexical
    assert "fitted" in weights.meta and weights.meta["script"] == "eval/fit_answers.py"
    # the answerable models: one readable line per feature; the lexical one reads no cosine
    data_answerable = data["dense"]["answerable"]
    assert set(data_answerable["features"]) == set(ANSWERABLE_FEATURES)
    assert 0 < weights.dense.answerable_below < 0.5 and weights.lexical.answerable is not None
    assert weights.lexical.answerable.coef[ANSWERABLE_FEATURES.index("chunk_dense")] == 0


def test_refit_script_runs_on_a_small_sample(tmp_path):
    """eval/fit_answers.py end to end on a few dev questions over a small fake index."""
    fit_answers = _eval_module("fit_answers")
    from rag.evaluate import load_gold

    assistant = _demo_assistant(tmp_path)
    index = assistant.index
    records = fit_answers.collect("dev", REPO / "eval" / "gold" / "dev.jsonl", tmp_path / "idx", limit=24,
                                  assistant=assistant)
    real = [r for r in records if not r["masked"]]
    masked = [r for r in records if r["masked"]]
    assert len(real) == 24 and {r["half"] for r in real} == {"A", "B"}
    # every answerable question also comes masked: not answerable, no answer-bearing sentence
    assert len(masked) == sum(r["answerable"] for r in real)
    assert not any(r["answerable"] or r["y"].any() for r in masked)
    assert sum(r["y"].sum() for r in real) > 5  # answer-bearing sentences found
    weights = fit_answers.fit(records, l2=1.0, max_false_refusals=0.1, embedding_model=index.manifest.model)
    assert weights.dense.answerable is not None and 0 <= weights.dense.answerable_below <= 1
    out = tmp_path / "w.json"
    out.write_text(weights.to_json(), encoding="utf-8")
    reloaded = ScorerWeights.load(out)
    assert np.allclose(reloaded.dense.coef, weights.dense.coef, atol=1e-4)
    assert np.allclose(reloaded.dense.answerable.coef, weights.dense.answerable.coef, atol=1e-4)
    assert reloaded.dense.answerable_below == pytest.approx(weights.dense.answerable_below, abs=1e-4)
    # on half A the fitted model tells a question from its masked twin more often than not
    ok = [fit_answers.answerability(weights.lexical, r) for r in real if r["answerable"] and r["half"] == "A"]
    gone = [fit_answers.answerability(weights.lexical, r) for r in masked if r["half"] == "A"]
    assert np.mean(ok) > np.mean(gone)
    recalibrated = fit_answers.recalibrate(weights, records, max_false_refusals=0.1)
    assert recalibrated.dense.refuse_below == weights.dense.refuse_below  # the sentence thresholds kept
    assert reloaded.embedding_model == weights.embedding_model
    lines = fit_answers.report(records, weights)
    assert any("| dev | B |" in line for line in lines)
    assert len(load_gold(REPO / "eval" / "gold" / "dev.jsonl").questions) >= 24


def test_answerable_features_read_the_best_sentence_and_the_top_chunks():
    col = {name: i for i, name in enumerate(FEATURES)}
    x = np.zeros((3, len(FEATURES)))
    x[:, col["coverage"]] = [0.9, 0.4, 0.2]
    x[:, col["dense"]] = [0.7, 0.85, 0.6]
    x[:, col["bigrams"]] = [0.5, 0.8, 0.1]
    f = dict(zip(ANSWERABLE_FEATURES, answerable_features(np.array([0.2, 0.6, 0.1]), x, [0.8, 0.75, 0.7])))
    assert f["best"] == 0.6 and f["coverage_best"] == 0.4 and f["coverage_max"] == 0.9
    assert f["dense_best"] == 0.85 and f["dense_max"] == 0.85 and f["bigrams_max"] == 0.8
    assert f["chunk_dense"] == 0.8 and f["chunk_dense_gap"] == pytest.approx(0.05)
    # without dense retrieval the chunk cosines are missing, and the model reads them as its training mean
    g = answerable_features(np.array([0.2, 0.6, 0.1]), x, [None, None])
    assert np.isnan(g[-2:]).all()
    n = len(ANSWERABLE_FEATURES)
    mean = np.arange(n, dtype=float)
    model = AnswerableModel(mean, np.ones(n), np.ones(n), 0.0)
    assert model.probability(np.where(np.isnan(g), mean, g)) == pytest.approx(model.probability(g))
    sentence = SentenceModel(np.zeros(len(FEATURES)), np.ones(len(FEATURES)), np.zeros(len(FEATURES)), 0.0,
                             refuse_below=0.1, answerable=model, answerable_below=0.5)
    assert sentence.answerability(np.zeros(0), x[:0], []) == 0.0  # no candidates
    assert sentence.refuses(0.9, {}, answerability=0.4) and not sentence.refuses(0.9, {}, answerability=0.6)
    assert replace(sentence, answerable=None).answerability(np.array([0.2]), x[:1], [0.8]) == 1.0


def _model_with_floor(floor: float | None) -> SentenceModel:
    n = len(FEATURES)
    return SentenceModel(np.zeros(n), np.ones(n), np.zeros(n), 0.0, refuse_below=0.3, rules_below=0.6,
                         rule_gates=(("unknown_words", 0.6), ("value_missing", 0.6)), answerable_below=0.2,
                         meaning_floor=floor)


def test_a_sentence_close_in_meaning_overrules_the_word_overlap_refusals_only():
    model = _model_with_floor(0.88)
    # the probability and P(answerable) thresholds refuse only below the floor
    assert model.refuses(0.1, {}, closest=0.87) and not model.refuses(0.1, {}, closest=0.90)
    assert model.refuses(0.9, {}, answerability=0.1, closest=0.87)
    assert not model.refuses(0.9, {}, answerability=0.1, closest=0.88)
    # "words the index does not know" is word overlap too; "the notice states no sum" reads the notice
    assert model.refuses(0.5, {"unknown_words": True}, closest=0.87)
    assert not model.refuses(0.5, {"unknown_words": True}, closest=0.95)
    assert model.refuses(0.5, {"value_missing": True}, closest=0.95)
    # no floor, or no sentence vectors (closest unknown): the thresholds always apply
    assert _model_with_floor(None).refuses(0.1, {}, closest=0.99) and model.refuses(0.1, {}, closest=None)
    reloaded = SentenceModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert reloaded.meaning_floor == 0.88 and SentenceModel.from_dict(_model_with_floor(None).to_dict()).meaning_floor is None


def test_the_meaning_floor_is_fitted_between_the_refused_questions_on_half_a():
    """Refused answerable questions close in meaning (0.93, 0.91) are spared, the unanswerable one at 0.89
    is not: the floor falls between 0.89 and 0.91."""
    fit_answers = _eval_module("fit_answers")
    col = {name: i for i, name in enumerate(FEATURES)}

    def record(answerable: bool, closest: float, confidence: float, half: str = "A") -> dict:
        x = np.zeros((1, len(FEATURES)))
        x[0, col["dense"]], x[0, col["has_vectors"]] = closest, 1.0
        x[0, col["coverage"]] = confidence  # the test model's probability reads coverage alone
        return {"set": "s", "id": f"{answerable}{closest}", "half": half, "answerable": answerable, "masked": False,
                "x": x, "y": np.zeros(1), "flags": {}, "contact": False, "chunk_dense": [], "lang": "ko"}

    n = len(FEATURES)
    coef = np.zeros(n)
    coef[col["coverage"]] = 20.0
    model = SentenceModel(np.full(n, 0.0), np.ones(n), coef, -10.0, refuse_below=0.5)  # refuses coverage < 0.5
    records = ([record(True, 0.95, 0.9) for _ in range(20)] + [record(True, 0.93, 0.1), record(True, 0.91, 0.1),
               record(False, 0.89, 0.1), record(False, 0.80, 0.1), record(True, 0.85, 0.1)]
               + [record(False, 0.99, 0.1, half="B")])
    floor = fit_answers.choose_meaning_floor(records, model)
    assert floor is not None and 0.89 < floor < 0.91
    fitted = replace(model, meaning_floor=floor)
    assert not fit_answers.refused(records[20], 0.1, fitted) and fit_answers.refused(records[22], 0.1, fitted)
    # two unanswerable questions closer than any answerable one: sparing the answerable ones would cost
    # them (half of the refusals against 2 of 23 false refusals at 4x): no floor
    records += [record(False, 0.97, 0.1), record(False, 0.96, 0.1)]
    assert fit_answers.choose_meaning_floor(records, model) is None


def test_a_value_question_is_refused_when_no_sentence_stating_such_a_value_is_likely():
    """``value_quote`` is the best probability among the candidates that state the value asked ("얼마": a
    sum); below its language's ``value_below`` the question is refused, even with a sentence close in meaning
    (the event is described, its sum is not). A question asking no value, in two parts, or in a language
    with no floor is left alone."""
    from rag.scorer import value_quote
    from rag.values import value_statements

    texts = ["박람회는 5월 20일부터 3일간 엑스코에서 열린다.", "우수 제품 시상식의 총상금은 1,000만 원이다.",
             "관람은 누리집에서 사전 등록하면 된다."]
    assert value_statements("박람회 입장료는 얼마인가요?", texts) == [False, True, False]
    assert value_statements("박람회는 어디에서 열리나요?", texts) is None
    assert value_statements("박람회는 어디에서 열리고, 입장료는 얼마인가요?", texts) is None
    # "언제" asks a date or a time: read by refusal, not by the answerer's value follow-ups
    assert value_statements("박람회는 언제 열리나요?", texts) == [True, False, False]
    assert value_statements("시상식은 언제 시작하나요?", ["시상식은 오후 2시에 시작한다.", "시상식은 곧 시작한다."]) == [True, False]
    assert value_statements("대모가 바다를 떠나는 시기는?", ["산란기에 바다를 떠난다."]) is None
    from rag.values import asked_value_pattern
    assert asked_value_pattern("박람회는 언제 열리나요?") is None
    assert asked_value_pattern("When does the fair open?", dates=True).search("'26.5.20. 개막")
    probabilities = np.array([0.9, 0.02, 0.3])
    assert value_quote(probabilities, [False, True, False]) == pytest.approx(0.02)
    assert value_quote(probabilities, [False, False, False]) is None and value_quote(probabilities, None) is None
    model = replace(_model_with_floor(0.88), value_below=(("ko", 0.05),))
    assert model.refuses(0.9, {}, closest=0.95, value_quote=0.02)
    assert not model.refuses(0.9, {}, closest=0.95, value_quote=0.4)
    assert not model.refuses(0.9, {}, closest=0.95, value_quote=0.02, lang="en")
    assert not model.refuses(0.9, {}, closest=0.95) and not _model_with_floor(0.88).refuses(0.9, {}, value_quote=0.0)
    reloaded = SentenceModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert reloaded.value_floor("ko") == 0.05 and reloaded.value_floor("en") is None
    assert SentenceModel.from_dict(_model_with_floor(0.88).to_dict()).value_below == ()


def test_a_value_question_is_refused_when_its_value_sentences_are_about_something_else():
    """``value_gap``: the best-probability candidate holds question terms (weights 3, 2, 1) that every
    sentence stating the asked value lacks, even read with the sentences before it: the least such share
    of the question's weight. 0 when the best sentence states the value itself or a value sentence's
    context holds what the best holds; None without value sentences. From its language's
    ``value_gap_above`` the question is refused, even with a sentence close in meaning."""
    from rag.scorer import value_gap

    weights = np.array([3.0, 2.0, 1.0])
    own = np.array([[True, True, False], [False, False, True], [False, True, True]])
    context = np.array([[True, True, False], [False, False, True], [True, True, True]])
    probabilities = np.array([0.9, 0.3, 0.2])
    assert value_gap(probabilities, [False, True, False], own, context, weights) == pytest.approx(5 / 6)
    # a second value sentence whose context (the sentence before it) names what the best one does
    assert value_gap(probabilities, [False, True, True], own, context, weights) == 0.0
    assert value_gap(probabilities, [True, True, False], own, context, weights) == 0.0
    assert value_gap(probabilities, [False, False, False], own, context, weights) is None
    assert value_gap(probabilities, None, own, context, weights) is None
    model = replace(_model_with_floor(0.88), value_gap_above=(("ko", 0.2),))
    assert model.refuses(0.9, {}, closest=0.95, value_gap=0.5)
    assert not model.refuses(0.9, {}, closest=0.95, value_gap=0.1)
    assert not model.refuses(0.9, {}, closest=0.95, value_gap=0.5, lang="en")
    assert not model.refuses(0.9, {}, closest=0.95) and not _model_with_floor(0.88).refuses(0.9, {}, value_gap=1.0)
    reloaded = SentenceModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert reloaded.value_gap_limit("ko") == 0.2 and reloaded.value_gap_limit("en") is None
    assert SentenceModel.from_dict(_model_with_floor(0.88).to_dict()).value_gap_above == ()


def test_the_value_gap_limit_is_fitted_between_the_gaps_of_half_a():
    """Unanswerable value questions whose value sentences leave out 0.4 and 0.5 of the question are refused,
    answerable ones at 0.1 and below are not: the limit falls between 0.1 and 0.4, at the midpoint. Ten
    answerable questions above every unanswerable one make any limit cost more than it gains: none."""
    fit_answers = _eval_module("fit_answers")
    model, col, n = _coverage_model()

    def record(answerable: bool, gap: float, half: str = "A") -> dict:
        x = np.zeros((2, n))
        x[0, col["coverage"]] = 0.9  # the best sentence, stating no value
        x[1, col["coverage"]] = 0.6  # the value sentence
        # two question terms, weights 1 - gap and gap; the value sentence's context lacks the second
        context = (np.array([[True, True], [True, False]]), np.array([[True, True], [True, False]]),
                   np.array([1.0 - gap, gap]))
        return {"set": "s", "id": f"{answerable}{gap}", "half": half, "answerable": answerable, "masked": False,
                "x": x, "y": np.zeros(2), "flags": {}, "contact": False, "chunk_dense": [], "lang": "ko",
                "value_states": [False, True], "value_context": context}

    records = ([record(True, 0.0) for _ in range(20)] + [record(True, 0.1), record(False, 0.4), record(False, 0.5)]
               + [record(False, 0.05, half="B")])
    assert fit_answers.gap_of(model, records[21]) == pytest.approx(0.4)
    limits = dict(fit_answers.choose_value_gap(records, model))
    assert set(limits) == {"ko"} and limits["ko"] == pytest.approx(0.25)  # no English question: no English limit
    fitted = replace(model, value_gap_above=tuple(limits.items()))
    assert fit_answers.refused(records[21], 0.9, fitted) and not fit_answers.refused(records[20], 0.9, fitted)
    records += [record(True, 0.9) for _ in range(10)]
    assert fit_answers.choose_value_gap(records, model) == ()


def _coverage_model() -> tuple[SentenceModel, dict[str, int], int]:
    """A model whose probability is sigmoid(20 * coverage - 10), the feature columns and their number."""
    col = {name: i for i, name in enumerate(FEATURES)}
    n = len(FEATURES)
    coef = np.zeros(n)
    coef[col["coverage"]] = 20.0
    return SentenceModel(np.zeros(n), np.ones(n), coef, -10.0), col, n


def test_the_value_floor_is_fitted_between_the_quotes_of_half_a():
    """Unanswerable value questions whose value sentences score 0.02 and 0.04 are refused, the answerable
    ones at 0.06 and above are not: the floor falls between 0.04 and 0.06. Ten answerable questions below
    every unanswerable one make any floor cost more than it gains (false refusals count 4x): none."""
    fit_answers = _eval_module("fit_answers")
    model, col, n = _coverage_model()

    def record(answerable: bool, quote: float, half: str = "A") -> dict:
        x = np.zeros((2, n))
        x[0, col["coverage"]] = 0.9  # a sentence about the event, stating no value
        x[1, col["coverage"]] = (10 + np.log(quote / (1 - quote))) / 20  # the value sentence, at ``quote``
        return {"set": "s", "id": f"{answerable}{quote}", "half": half, "answerable": answerable, "masked": False,
                "x": x, "y": np.zeros(2), "flags": {}, "contact": False, "chunk_dense": [], "lang": "ko",
                "value_states": [False, True]}

    records = ([record(True, 0.6) for _ in range(20)] + [record(True, 0.06), record(False, 0.02), record(False, 0.04)]
               + [record(False, 0.5, half="B")])
    floors = dict(fit_answers.choose_value_floor(records, model))
    assert set(floors) == {"ko"} and 0.04 < floors["ko"] < 0.06  # no English question: no English floor
    fitted = replace(model, value_below=tuple(floors.items()))
    assert fit_answers.refused(records[22], 0.9, fitted) and not fit_answers.refused(records[20], 0.9, fitted)
    records += [record(True, 0.01) for _ in range(10)]
    assert fit_answers.choose_value_floor(records, model) == ()


def test_the_shipped_answerable_model_tells_a_question_from_its_masked_twin():
    """Over the demo index with the bundled model: dev questions whose notices are in the retrieved
    passages get a higher P(answerable) than the same questions with those notices taken out."""
    from rag.evaluate import gold_id_aliases, load_gold
    from rag.service import open_assistant
    from rag.settings import load_settings
    from rag.types import Retrieval

    assistant = open_assistant(load_settings(index=REPO / "data" / "demo_index", llm="none"), progress=False)
    answerer, index = assistant.answerer, assistant.index
    aliases = gold_id_aliases(index.notices)
    model = answerer.weights.model_for(index.manifest.model, index.sentence_vectors is not None)
    assert model is answerer.weights.dense and model.answerable is not None
    higher = 0
    questions = [q for q in load_gold(REPO / "eval" / "gold" / "dev.jsonl").questions
                 if q.doc_ids and q.type not in ("contact", "multi")][:12]
    for q in questions:
        retrieval = assistant.retriever.run(q.question, k=30)
        views = []
        gold = {aliases.get(d, d) for d in q.doc_ids}
        assert any(h.chunk.doc_id in gold for h in retrieval.hits[:8])
        for hits in (retrieval.hits, [h for h in retrieval.hits if h.chunk.doc_id not in gold]):
            top = Retrieval(q.question, hits[:8], list(dict.fromkeys(h.chunk.doc_id for h in hits[:8])))
            views.append(answerer.refusal_signals(q.question, top, index).answerable)
        higher += views[0] > views[1]
    assert higher >= 10, f"{higher} of {len(questions)}"


def test_a_question_about_one_part_of_a_document_reads_its_own_answerable_threshold():
    n = len(FEATURES)
    model = SentenceModel(np.zeros(n), np.ones(n), np.zeros(n), 5.0, answerable_below=0.05, answerable_below_parts=0.2)
    assert model.refuses(0.9, {}, answerability=0.1, in_parts=True)
    assert not model.refuses(0.9, {}, answerability=0.1) and model.refuses(0.9, {}, answerability=0.04)
    reloaded = SentenceModel.from_dict(json.loads(json.dumps(
        replace(model, answerable=AnswerableModel(np.zeros(len(ANSWERABLE_FEATURES)), np.ones(len(ANSWERABLE_FEATURES)),
                                                  np.zeros(len(ANSWERABLE_FEATURES)), 0.0)).to_dict())))
    assert reloaded.answerable_below_parts == 0.2 and reloaded.answerable_below == 0.05
    # a weights file from before: the common threshold for every question
    older = json.loads(json.dumps(reloaded.to_dict()))
    del older["answerable"]["refuse_below_parts"]
    assert SentenceModel.from_dict(older).answerable_threshold(in_parts=True) == 0.05


def test_the_parts_threshold_is_fitted_over_the_questions_about_parts_only(monkeypatch):
    """The common rule (the highest P(answerable) threshold keeping half A's false refusals within the
    limit) read over the questions whose first notice is one part of a document, or over the others."""
    fit_answers = _eval_module("fit_answers")
    monkeypatch.setattr(fit_answers, "answerability", lambda model, record: record["p"])
    n = len(FEATURES)
    model = SentenceModel(np.zeros(n), np.ones(n), np.zeros(n), 5.0)  # every sentence likely: nothing else refuses

    def record(p: float, parts: bool, half: str = "A") -> dict:
        return {"set": "s", "half": half, "answerable": True, "masked": False, "contact": False, "flags": {},
                "x": np.zeros((1, n)), "in_parts": parts, "p": p}

    records = ([record(0.05 + i / 100, False) for i in range(50)] + [record(0.10 + i / 100, True) for i in range(50)]
               + [record(0.0, True, half="B")])
    # 2% of 50 questions: one may be refused, so the threshold is the second lowest P(answerable)
    assert fit_answers.choose_answerable_threshold(records, model, 0.02, parts=True) == pytest.approx(0.11)
    assert fit_answers.choose_answerable_threshold(records, model, 0.02, parts=False) == pytest.approx(0.06)
    # over all 100 questions, as the common threshold is fitted: two may be refused
    assert fit_answers.choose_answerable_threshold(records, model, 0.02) == pytest.approx(0.07)
    # without an answerable model there is nothing to threshold
    weights = ScorerWeights(FEATURES, "m", model, model, {})
    assert fit_answers.refit_parts_threshold(weights, records).dense.answerable_below_parts is None


def test_threshold_keeps_false_refusals_within_the_limit():
    fit_answers = _eval_module("fit_answers")
    confidences = [(c / 100, True) for c in range(100)] + [(0.001, False), (0.5, False)]
    t = fit_answers.choose_threshold(confidences, 0.03)
    answerable_refused = sum(c < t for c, ok in confidences if ok) / 100
    assert answerable_refused <= 0.03
    assert fit_answers.curve(confidences, [t])[0]["refusal_accuracy"] == 0.5


def test_each_rule_gets_its_own_gate(tmp_path):
    """A rule that fires on answerable questions at middling confidence gets a low gate; a rule that
    fires only on unanswerable ones keeps a high one; the gates survive the weights file."""
    fit_answers = _eval_module("fit_answers")
    n = len(FEATURES)
    coef = np.zeros(n)
    coef[0] = 1.0
    model = SentenceModel(np.zeros(n), np.ones(n), coef, 0.0, refuse_below=0.1, rules_below=0.7)
    rules = ("value_missing", "focus_missing", "unknown_words")  # any rule names: the fit is the same

    def record(conf: float, answerable: bool, half: str, **flags: bool) -> dict:
        x = np.zeros((1, n))
        x[0, 0] = np.log(conf / (1 - conf))  # the model's probability is ``conf``
        return {"set": "s", "half": half, "answerable": answerable, "x": x, "y": np.zeros(1), "contact": False,
                "flags": {rule: flags.get(rule, False) for rule in rules}}

    records = []
    for half in "AB":
        # focus_missing: fires on many answerable questions at 0.3-0.6, and on unanswerable ones at 0.2
        records += [record(0.3 + 0.01 * i, True, half, focus_missing=True) for i in range(30)]
        records += [record(0.2, False, half, focus_missing=True) for _ in range(3)]
        # value_missing: fires only on unanswerable questions, at 0.65
        records += [record(0.65, False, half, value_missing=True) for _ in range(3)]
        records += [record(0.9, True, half) for _ in range(30)]
    gates = dict(fit_answers.choose_rule_gates(records, model, rules=rules))
    assert gates["focus_missing"] <= 0.3 and gates["value_missing"] > 0.65
    assert gates["unknown_words"] == pytest.approx(0.7)  # never fired: keeps the common threshold
    fitted = replace(model, rule_gates=tuple(sorted(gates.items())))
    assert fitted.refuses(0.2, {"focus_missing": True}) and not fitted.refuses(0.4, {"focus_missing": True})
    assert fitted.refuses(0.65, {"value_missing": True}) and not fitted.refuses(0.65, {})
    assert fit_answers.objective(records, fitted, half="B") > fit_answers.objective(records, model, half="B")
    weights = ScorerWeights(FEATURES, "m", fitted, model, {})
    out = tmp_path / "w.json"
    out.write_text(weights.to_json(), encoding="utf-8")
    assert ScorerWeights.load(out).dense.rule_gates == fitted.rule_gates
    assert ScorerWeights.load(out).lexical.gate("focus_missing") == 0.7  # no gates: the common threshold


def test_an_english_question_reads_the_stored_bare_sentence_vectors(tmp_path):
    """English answers rank sentences by meaning from the index's bare sentence vectors; only an index
    saved without them (before 2026-12-03) embeds the best chunks' sentences at question time."""
    _, embedder, index = _two_notices(tmp_path)
    assert index.bare_sentence_vectors is not None
    question = "How much money goes into remodelling the regional libraries?"
    retrieval = Retriever(index, embedder, mode="dense").run(question)
    answerer = ExtractiveAnswerer(embedder=embedder, idf=index.idf)
    embedder.passages_embedded = 0
    first = answerer.run(question, retrieval, index)
    assert embedder.passages_embedded == 0

    _forget_file(tmp_path / "idx", BARE_SENTENCE_FILE)
    old = NoticeIndex.load(tmp_path / "idx")
    assert old.bare_sentence_vectors is None and old.sentence_vectors is not None
    answerer.clear_caches()
    second = answerer.run(question, Retriever(old, embedder, mode="dense").run(question), old)
    assert embedder.passages_embedded > 0
    # the same vectors either way (the stored ones are float16), so the same answer
    assert second.answer == first.answer


def test_rows_added_without_sentence_vectors_drop_them_for_the_whole_index(tmp_path):
    """Half-covered vectors would score some notices' sentences and not others: adding rows without
    them drops them (titled and bare); adding nothing keeps them; bare ones never outlive titled ones."""
    _, _, index = _two_notices(tmp_path)
    chunk, n = index.chunks[0], len(index.chunks[0].sentences)
    titled, bare = index.sentence_vectors[:n], index.bare_sentence_vectors[:n]

    index.add([], [], [], np.zeros((0, index.manifest.dim)))
    assert index.sentence_vectors is not None and index.bare_sentence_vectors is not None
    index.add([], [chunk], [[]], index.vectors[:1], titled, bare_sentence_vectors=bare)
    assert len(index.bare_sentence_vectors) == len(index.sentence_vectors) == sum(len(c.sentences) for c in index.chunks)
    index.add([], [chunk], [[]], index.vectors[:1], titled)  # titled only: the bare ones go
    assert index.sentence_vectors is not None and index.bare_sentence_vectors is None
    index.add([], [chunk], [[]], index.vectors[:1], titled, bare_sentence_vectors=bare)  # too late to come back
    assert index.bare_sentence_vectors is None
    index.add([], [chunk], [[]], index.vectors[:1])
    assert index.sentence_vectors is None and index.bare_sentence_vectors is None


def test_sweep_script_reports_both_halves_and_restores_the_setting(tmp_path):
    """eval/sweep_answerer.py on a few dev questions over a small fake index: one row per value,
    both halves (eval/fit_answers.py's split) filled, and the answerer's own setting back afterwards."""
    sweep_answerer = _eval_module("sweep_answerer")

    assistant = _demo_assistant(tmp_path)
    answerer = assistant.answerer
    lines = sweep_answerer.sweep("other_notice_gain", [0.0, 0.25, 1.0], assistant,
                                 REPO / "eval" / "gold" / "dev.jsonl", limit=24)
    rows = [line for line in lines if line.startswith(("| 0.0", "| 0.25", "| 1.0"))]
    assert len(rows) == 3 and answerer.settings.other_notice_gain == 0.25  # restored after the sweep
    counts = re.search(r"half A (\d+), half B (\d+)", lines[0])
    assert counts and min(int(counts[1]), int(counts[2])) > 0
    # citation precision cannot fall when other notices must add all of the question's terms to be quoted
    cells = [[c.strip() for c in row.split("|")[1:-1]] for row in rows]
    cites = [float(c[7]) for c in cells]
    assert cites[2] >= cites[0]
    # the last two columns compare each value with the current one (0.25): itself reads "same"
    assert cells[1][0] == "0.25 (now)" and cells[1][8].endswith("same") and cells[1][9].endswith("same")
    for c in cells:
        assert all(col.endswith(("better", "worse", "within noise", "same")) for col in c[8:10])
    with pytest.raises(SystemExit):
        sweep_answerer.sweep("no_such_setting", [1.0], assistant, REPO / "eval" / "gold" / "dev.jsonl", limit=1)
    # a count is swept in whole numbers (the command line gives floats) and a flag as 0 or 1
    lines = sweep_answerer.sweep("max_chars", [200.0], assistant, REPO / "eval" / "gold" / "dev.jsonl", limit=6)
    short = [[c.strip() for c in line.split("|")[1:-1]] for line in lines if line.startswith("| 200 |")]
    assert short and float(short[0][4]) < 300 and answerer.settings.max_chars == 365  # chars p50, then restored
    with pytest.raises(SystemExit, match="whole numbers"):
        sweep_answerer.sweep("max_chars", [350.5], assistant, REPO / "eval" / "gold" / "dev.jsonl", limit=1)
    with pytest.raises(SystemExit, match="0 or 1"):
        sweep_answerer.sweep("whole_top_notice", [2.0], assistant, REPO / "eval" / "gold" / "dev.jsonl", limit=1)
    with pytest.raises(SystemExit, match="max_chars must be at least 50"):  # AnswerSettings' own range check
        sweep_answerer.sweep("max_chars", [200.0, 30.0], assistant, REPO / "eval" / "gold" / "dev.jsonl", limit=1)
