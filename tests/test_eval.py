import json
from pathlib import Path

import pytest

from rag.evaluate import (DEFAULT_GOLD, key_fact_recall, load_gold, missing_key_facts, one_copy, retrieval_metrics,
                          run_gold)

FLOORS = Path(__file__).resolve().parent.parent / "eval" / "floors.json"


def test_metrics_on_hand_made_rankings():
    m = retrieval_metrics(["b", "a", "c"], {"a"})
    assert m["hit@1"] == 0.0 and m["hit@5"] == 1.0 and m["mrr"] == 0.5
    assert m["ndcg@10"] == pytest.approx(1 / 1.5849625, rel=1e-4)
    both = retrieval_metrics(["a", "x", "b"], {"a", "b"})
    assert both["recall@5"] == 1.0 and both["hit@1"] == 1.0
    assert retrieval_metrics([], {"a"})["mrr"] == 0.0


def test_a_copy_of_the_gold_notice_scores_as_the_gold_notice():
    copies = {"a-repost": "a", "a": "a"}
    assert one_copy(["a-repost", "b", "a"], copies) == ["a", "b"]  # named by its first copy, listed once
    gold = set(one_copy(["a-repost"], copies))
    assert retrieval_metrics(one_copy(["a", "b"], copies), gold)["hit@1"] == 1.0
    assert retrieval_metrics(one_copy(["b", "a"], {}), {"a-repost"})["mrr"] == 0.0  # no copies known: ids differ


def test_key_facts_match_whitespace_and_case_insensitively():
    assert key_fact_recall("정부서비스 Re -디자인 과 ...", ("정부서비스 re-디자인",)) == 1.0
    assert key_fact_recall("인지\u0387예측", ("인지·예측",)) == 1.0  # NFC folds U+0387
    assert key_fact_recall("3,000만 원", ("3,000만 원", "2,000만 원")) == 0.5
    assert missing_key_facts("지원금 3,000 만원", ("3,000만 원", "2,000만 원")) == ["2,000만 원"]


def test_malformed_gold_lines_are_reported_with_line_numbers(tmp_path):
    path = tmp_path / "gold.jsonl"
    good = {"id": "q1", "question": "5대 전략은?", "lang": "ko", "type": "list", "answer": "", "key_facts": [],
            "doc_ids": ["d1"], "evidence": ""}
    path.write_text(json.dumps(good, ensure_ascii=False) + "\n{broken\n" + json.dumps({"id": "q3"}) + "\n",
                    encoding="utf-8")
    gold = load_gold(path)
    assert [q.id for q in gold.questions] == ["q1"]
    assert len(gold.problems) == 2
    assert f"{path}:2:" in gold.problems[0] and f"{path}:3:" in gold.problems[1]


def test_a_gold_file_without_questions_is_an_error_not_an_empty_report(tmp_path):
    from rag.settings import Settings

    path = tmp_path / "gold.jsonl"
    path.write_text("{broken\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"no gold questions in .*1 malformed lines"):
        run_gold(path, Settings(index=tmp_path / "no-index"), progress=False)
    path.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="no gold questions"):
        run_gold(path, Settings(index=tmp_path / "no-index"), progress=False)


def test_the_shipped_gold_set_loads_cleanly():
    gold = load_gold(DEFAULT_GOLD)
    assert len(gold.questions) == 75 and not gold.problems
    assert {q.type for q in gold.questions} == {"factoid", "number", "date", "list", "contact", "paraphrase",
                                                 "multi", "unanswerable"}


@pytest.mark.slow
@pytest.mark.model
def test_regression_gate_on_the_dev_set(demo_index_dir, tmp_path):
    """The dev set must stay at or above the floors recorded in eval/floors.json."""
    from rag.settings import Settings

    gold = tmp_path / "gold.jsonl"
    lines = DEFAULT_GOLD.read_text(encoding="utf-8").splitlines()
    unknown = dict(json.loads(lines[0]), id="extra-unknown", doc_ids=["no-such-notice"])
    gold.write_text("\n".join(lines + [json.dumps(unknown, ensure_ascii=False)]) + "\n", encoding="utf-8")
    report = run_gold(gold, Settings(index=demo_index_dir), progress=False)
    assert any("extra-unknown" in p and "not in the index" in p for p in report["problems"])
    report = run_gold(DEFAULT_GOLD, Settings(index=demo_index_dir), progress=False)
    floors = json.loads(FLOORS.read_text(encoding="utf-8"))
    for group in ("retrieval", "answer"):
        for metric, floor in floors[group].items():
            value = report[group][metric]
            if metric == "false_refusal_rate":
                assert value <= floor, f"{group}.{metric} = {value} rose above the ceiling {floor}"
            else:
                assert value >= floor, f"{group}.{metric} = {value} fell below the floor {floor}"
    assert set(report) >= {"n", "retrieval", "answer", "latency_ms", "by_type", "by_lang", "questions"}
    assert set(report["answer"]) >= {"key_fact_recall", "citation_precision", "refusal_accuracy",
                                     "false_refusal_rate", "answer_chars_p50"}


HELDOUT = Path(__file__).resolve().parent.parent / "eval" / "gold"


@pytest.mark.parametrize("name", ["heldout_diagnosed.jsonl", "heldout_blind.jsonl"])
def test_held_out_sets_are_well_formed_and_disjoint_from_dev(name):
    """Written from the notices dev never cites, in dev's mix of types and languages."""
    gold = load_gold(HELDOUT / name)
    assert len(gold.questions) == 36 and not gold.problems
    assert {q.type for q in gold.questions} == {"factoid", "number", "date", "list", "contact", "paraphrase",
                                                 "multi", "unanswerable"}
    assert sum(q.lang == "en" for q in gold.questions) == 8
    dev_notices = {d for q in load_gold(DEFAULT_GOLD).questions for d in q.doc_ids}
    assert not dev_notices & {d for q in gold.questions for d in q.doc_ids}


def test_the_extra_held_out_set_asks_new_things_of_the_diagnosed_notices():
    """heldout_extra: 40 questions on the diagnosed set's notices only, none repeated from it."""
    extra, diagnosed = (load_gold(HELDOUT / name) for name in ("heldout_extra.jsonl", "heldout_diagnosed.jsonl"))
    assert len(extra.questions) == 40 and not extra.problems
    assert {d for q in extra.questions for d in q.doc_ids} <= {d for q in diagnosed.questions for d in q.doc_ids}
    assert not {q.question for q in extra.questions} & {q.question for q in diagnosed.questions}
    assert sum(q.type == "paraphrase" for q in extra.questions) >= 10
    assert sum(q.type == "unanswerable" and not q.doc_ids for q in extra.questions) == 8


def test_the_fresh_held_out_set_asks_about_notices_no_other_tuned_set_cites():
    """heldout_fresh: 40 questions in dev's mix from the notices that neither dev nor the diagnosed and
    extra sets (both read and tuned on) cite, none repeated from the blind set."""
    fresh = load_gold(HELDOUT / "heldout_fresh.jsonl")
    assert len(fresh.questions) == 40 and not fresh.problems
    assert {q.type for q in fresh.questions} == {"factoid", "number", "date", "list", "contact", "paraphrase",
                                                  "multi", "unanswerable"}
    assert sum(q.lang == "en" for q in fresh.questions) == 10
    assert all(not q.doc_ids and not q.key_facts for q in fresh.questions if q.type == "unanswerable")
    tuned = {d for name in ("dev.jsonl", "heldout_diagnosed.jsonl", "heldout_extra.jsonl")
             for q in load_gold(HELDOUT / name).questions for d in q.doc_ids}
    assert not tuned & {d for q in fresh.questions for d in q.doc_ids}
    blind = load_gold(HELDOUT / "heldout_blind.jsonl")
    assert not {q.question for q in fresh.questions} & {q.question for q in blind.questions}


def test_the_lists_held_out_set_asks_one_list_per_notice():
    """heldout_lists: 30 list questions (20 Korean, 10 English), one notice each, with one key fact per
    item, none repeated from another gold set."""
    lists = load_gold(HELDOUT / "heldout_lists.jsonl")
    assert len(lists.questions) == 30 and not lists.problems
    assert {q.type for q in lists.questions} == {"list"}
    assert sum(q.lang == "en" for q in lists.questions) == 10
    notices = [d for q in lists.questions for d in q.doc_ids]
    assert len(notices) == len(set(notices)) == 30
    assert all(2 <= len(q.key_facts) <= 6 for q in lists.questions)
    others = {q.question for name in ("dev.jsonl", "heldout_diagnosed.jsonl", "heldout_extra.jsonl",
                                      "heldout_blind.jsonl", "heldout_fresh.jsonl")
              for q in load_gold(HELDOUT / name).questions}
    assert not others & {q.question for q in lists.questions}


def test_the_sixth_held_out_set_asks_in_devs_mix_and_repeats_no_question():
    """heldout_sixth: 40 questions in dev's mix (12 in English), other facts of notices earlier sets cite."""
    sixth = load_gold(HELDOUT / "heldout_sixth.jsonl")
    assert len(sixth.questions) == 40 and not sixth.problems
    assert {q.type for q in sixth.questions} == {"factoid", "number", "date", "list", "contact", "paraphrase",
                                                  "multi", "unanswerable"}
    assert sum(q.lang == "en" for q in sixth.questions) == 12
    assert sum(q.type == "unanswerable" and not q.doc_ids and not q.key_facts for q in sixth.questions) == 7
    others = {q.question for name in ("dev.jsonl", "heldout_diagnosed.jsonl", "heldout_extra.jsonl",
                                      "heldout_blind.jsonl", "heldout_fresh.jsonl", "heldout_lists.jsonl")
              for q in load_gold(HELDOUT / name).questions}
    assert not others & {q.question for q in sixth.questions}


def test_the_seventh_held_out_set_leans_to_the_weak_types_and_repeats_no_question():
    """heldout_seventh: 40 questions weighted to paraphrase, multi-notice, English and near-miss unanswerable
    questions (10 in English), other facts of notices earlier sets cite."""
    seventh = load_gold(HELDOUT / "heldout_seventh.jsonl")
    assert len(seventh.questions) == 40 and not seventh.problems
    types = [q.type for q in seventh.questions]
    assert (types.count("paraphrase"), types.count("multi"), types.count("unanswerable")) == (8, 6, 7)
    assert sum(q.lang == "en" for q in seventh.questions) == 10
    assert all(len(q.doc_ids) >= 2 for q in seventh.questions if q.type == "multi")
    assert all(not q.doc_ids and not q.key_facts for q in seventh.questions if q.type == "unanswerable")
    others = {q.question for name in ("dev.jsonl", "heldout_diagnosed.jsonl", "heldout_extra.jsonl",
                                      "heldout_blind.jsonl", "heldout_fresh.jsonl", "heldout_lists.jsonl",
                                      "heldout_sixth.jsonl")
              for q in load_gold(HELDOUT / name).questions}
    assert not others & {q.question for q in seventh.questions}


def test_the_aggregate_held_out_set_gathers_each_answer_from_several_notices():
    """heldout_aggregate: 30 questions (20 Korean, 10 English) whose answer spans two to four notices, with a
    key fact from each of them, none repeated from another gold set."""
    gold = load_gold(HELDOUT / "heldout_aggregate.jsonl")
    assert len(gold.questions) == 30 and not gold.problems
    assert {q.type for q in gold.questions} == {"multi"}
    assert sum(q.lang == "en" for q in gold.questions) == 10
    assert all(2 <= len(q.doc_ids) <= 4 and len(q.key_facts) >= len(q.doc_ids) for q in gold.questions)
    others = {q.question for path in HELDOUT.glob("*.jsonl") if path.name != "heldout_aggregate.jsonl"
              for q in load_gold(path).questions}
    assert not others & {q.question for q in gold.questions}


@pytest.mark.slow
@pytest.mark.model
@pytest.mark.parametrize("name", ["heldout_diagnosed.jsonl", "heldout_blind.jsonl", "heldout_extra.jsonl",
                                  "heldout_fresh.jsonl", "heldout_lists.jsonl", "heldout_sixth.jsonl",
                                  "heldout_seventh.jsonl", "heldout_aggregate.jsonl"])
def test_regression_gate_on_the_held_out_press_release_sets(demo_index_dir, name):
    """Answers must carry over to press-release questions about notices dev never asks about."""
    from rag.settings import Settings

    report = run_gold(HELDOUT / name, Settings(index=demo_index_dir), progress=False)
    floors = dict(json.loads(FLOORS.read_text(encoding="utf-8"))["heldout"][name])
    assert report["retrieval"]["hit@1"] >= floors.pop("hit@1", 0.95)
    _assert_floors(report, floors)


def test_the_off_topic_set_asks_only_what_no_notice_answers():
    """offtopic: 50 questions a user might type that no government notice answers (cooking, sport, chat,
    code, gibberish), 25 in English and 25 in Korean, every one unanswerable."""
    gold = load_gold(HELDOUT / "offtopic.jsonl")
    assert len(gold.questions) == 50 and not gold.problems
    assert all(not q.doc_ids and not q.key_facts and q.type == "unanswerable" for q in gold.questions)
    assert sum(q.lang == "en" for q in gold.questions) == 25


@pytest.mark.slow
@pytest.mark.model
def test_regression_gate_on_off_topic_questions(demo_index_dir):
    """Questions outside every notice are refused, Korean ones nearly always (eval/floors.json "offtopic")."""
    from rag.settings import Settings

    report = run_gold(HELDOUT / "offtopic.jsonl", Settings(index=demo_index_dir), progress=False)
    floors = json.loads(FLOORS.read_text(encoding="utf-8"))["offtopic"]
    assert report["retrieval"]["hit@1"] is None and report["answer"]["key_fact_recall"] is None  # nothing to score
    _assert_floors(report, floors["answer"])
    for lang, lang_floors in floors["by_lang"].items():
        _assert_floors(report["by_lang"][lang], lang_floors)


KORQUAD_TUNE = Path(__file__).resolve().parent.parent.parent / "shared" / "external" / "korquad_tune"


def _assert_floors(report: dict, floors: dict) -> None:
    for metric, floor in floors.items():
        value = report["answer"][metric]
        if metric == "false_refusal_rate":
            assert value <= floor, f"answer.{metric} = {value} rose above the ceiling {floor}"
        else:
            assert value >= floor, f"answer.{metric} = {value} fell below the floor {floor}"


@pytest.mark.slow
@pytest.mark.model
def test_regression_gate_on_korquad_tune(tmp_path):
    """korquad_tune (third-party questions, CC BY-ND, read from ../shared, never copied) stays at its floors."""
    if not (KORQUAD_TUNE / "gold.jsonl").exists():
        pytest.skip(f"{KORQUAD_TUNE} is absent (the shared third-party set lives beside the checkout, not in it)")
    from rag.build import IndexUpdater
    from rag.embed import make_embedder
    from rag.settings import Settings

    IndexUpdater(make_embedder(), progress=False).run(tmp_path / "index", [KORQUAD_TUNE / "corpus.jsonl"])
    report = run_gold(KORQUAD_TUNE / "gold.jsonl", Settings(index=tmp_path / "index"), progress=False)
    _assert_floors(report, json.loads(FLOORS.read_text(encoding="utf-8"))["korquad_tune"]["answer"])
    assert report["refusal_curve"], "the learned answerer reports its refusal trade-off"


def test_answers_spread_over_notices_count_the_notices_cited_and_those_under_see_also():
    from rag.evaluate import summarise

    def row(gold, cited=None, shown=None, refused=False, facts=1.0, facts_shown=None):
        r = {"id": "q", "type": "multi", "lang": "ko", "gold_doc_ids": gold, "answer": "답", "refused": refused,
             "retrieval": {"hit@1": 1.0, "hit@5": 1.0, "mrr": 1.0, "ndcg@10": 1.0, "recall@5": 1.0},
             "key_fact_recall": facts, "citation_precision": 1.0, "retrieval_ms": 1.0, "answer_ms": 1.0}
        if cited is not None:
            r.update(gold_notices_cited=cited, gold_notices_shown=shown, key_facts_shown=facts_shown)
        return r

    report = summarise([row(["a", "b"], 0.5, 1.0, facts=0.5, facts_shown=1.0),
                        row(["a", "b", "c"], 1 / 3, 2 / 3, facts=0.25, facts_shown=0.5), row(["a"], facts=0.0),
                        row(["a", "b"], refused=True, facts=0.0)])
    a = report["answer"]
    assert a["multi_answered"] == 2 and a["multi_notices_cited"] == pytest.approx(5 / 12, abs=1e-4)
    assert a["multi_notices_shown"] == pytest.approx(5 / 6, abs=1e-4)
    # key facts over the answered spread questions only: in the answer, and with the see-also quotes
    assert a["multi_key_facts"] == pytest.approx(0.375) and a["multi_key_facts_shown"] == pytest.approx(0.75)
    assert "multi_answered" not in summarise([row(["a"])])["answer"]  # no such question, no figure


def test_refusal_curve_counts_refusals_below_each_threshold():
    from rag.evaluate import refusal_curve

    rows = [{"gold_doc_ids": ["a"], "confidence": c} for c in (0.1, 0.5, 0.9, 0.95)]
    rows += [{"gold_doc_ids": [], "confidence": c} for c in (0.05, 0.3)]
    curve = {p["threshold"]: p for p in refusal_curve(rows)}
    assert curve[0.2] == {"threshold": 0.2, "refusal_accuracy": 0.5, "false_refusals": 0.25}
    assert curve[0.95]["refusal_accuracy"] == 1.0 and curve[0.95]["false_refusals"] == 0.75
    # a question the other thresholds refuse counts as refused at every threshold
    rows[0]["refused_otherwise"] = rows[-1]["refused_otherwise"] = True
    curve = {p["threshold"]: p for p in refusal_curve(rows)}
    assert curve[0.05] == {"threshold": 0.05, "refusal_accuracy": 0.5, "false_refusals": 0.25}
    assert curve[0.2] == {"threshold": 0.2, "refusal_accuracy": 1.0, "false_refusals": 0.25}
    assert refusal_curve([{"gold_doc_ids": ["a"], "confidence": 0.5}]) == []  # no unanswerable question
    assert refusal_curve([{"gold_doc_ids": [], "refused": True}]) == []  # no confidences (word-overlap answerer)


@pytest.mark.model
def test_beir_layout_dataset_is_indexed_and_scored(tmp_path):
    """`pressrag eval --beir` on a tiny BEIR folder: stable JSON keys and document-level scores."""
    import subprocess
    import sys

    beir = tmp_path / "beir"
    beir.mkdir()
    docs = {
        "d1": "소방청은 인도네시아 내무부와 재난관리 협력의향서를 체결했다.",
        "d2": "최저임금위원회는 제6차 전원회의를 정부세종청사에서 개최했다.",
        "d3": "보건복지부는 국립대학병원 육성 방향을 발표했다.",
    }
    (beir / "corpus.jsonl").write_text("\n".join(json.dumps({"_id": k, "title": "", "text": v}, ensure_ascii=False)
                                                 for k, v in docs.items()) + "\n", encoding="utf-8")
    queries = {"q1": "인도네시아와 재난관리 협력의향서를 맺은 기관은?", "q2": "최저임금위원회 전원회의 장소는?"}
    (beir / "queries.jsonl").write_text("\n".join(json.dumps({"_id": k, "text": v}, ensure_ascii=False)
                                                  for k, v in queries.items()) + "\n", encoding="utf-8")
    (beir / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n", encoding="utf-8")
    out = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-m", "rag.cli", "eval", "--beir", str(beir), "--json-out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["n"] == 2
    assert set(report["retrieval"]) == {"ndcg@10", "hit@1", "hit@10", "mrr"}
    assert report["retrieval"]["hit@1"] == 1.0
    assert set(report["latency_ms"]) == {"retrieval_p50", "retrieval_p95"}
    assert report["ingest"]["chars"] == sum(len(v) for v in docs.values()) and report["ingest"]["chars_per_s"] > 0
