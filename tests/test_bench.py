"""Smoke test of eval/bench_retrieval.py: every row on a tiny corpus with the fake embedder."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "eval" / "bench_retrieval.py"

NOTICES = {
    "n1": "행정안전부, 전자정부 2020 기본계획 발표\n행정안전부는 전자정부 2020 기본계획을 발표했다. 5대 전략과 "
          "20개 과제를 추진한다. 문의: 전자정부국 02-2100-1234",
    "n2": "해양수산부, 연안 어업 지원 확대\n해양수산부는 연안 어업인의 소득 안정을 위해 직불금을 인상한다. "
          "지원 대상은 1만 2천 가구이다.",
    "n3": "국토교통부, 전세사기 피해 지원 대책\n국토교통부는 전세사기 피해자에게 저리 대출과 긴급 주거를 "
          "지원한다고 밝혔다. 신청은 6월 1일부터 받는다.",
    "n4": "보건복지부, 어린이 독감 예방접종 시작\n보건복지부는 생후 6개월부터 13세 어린이를 대상으로 독감 "
          "무료 예방접종을 10월 2일부터 시작한다.",
    "n5": "환경부, 미세먼지 계절관리제 시행\n환경부는 12월부터 3월까지 미세먼지 계절관리제를 시행하고 노후 "
          "경유차 운행을 제한한다.",
}
GOLD = [
    {"id": "q1", "question": "전세사기 피해자 지원 신청은 언제부터인가?", "lang": "ko", "type": "date",
     "answer": "6월 1일", "key_facts": ["6월 1일"], "doc_ids": ["n3"]},
    {"id": "q2", "question": "When does free flu vaccination for children start?", "lang": "en", "type": "date",
     "answer": "10월 2일", "key_facts": ["10월 2일"], "doc_ids": ["n4"]},
    {"id": "q3", "question": "미세먼지 계절관리제 기간은?", "lang": "ko", "type": "factoid",
     "answer": "12월부터 3월까지", "key_facts": ["12월", "3월"], "doc_ids": ["n5"]},
]
ROW_LABELS = ("pressrag hybrid", "pressrag dense only", "pressrag BM25 (Kiwi) only",
              "LangChain FAISS (1000/200)", "whitespace BM25 (1000/200)")


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_retrieval", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while the class is created
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def tiny(tmp_path: Path) -> tuple[Path, Path]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for doc_id, text in NOTICES.items():
        (corpus / f"{doc_id}.txt").write_text(text, encoding="utf-8")
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(g, ensure_ascii=False) for g in GOLD) + "\n", encoding="utf-8")
    return corpus, gold


def test_bench_prints_every_row_and_writes_json(tiny, tmp_path, capsys):
    corpus, gold = tiny
    out = tmp_path / "bench.json"
    bench = _load_bench()
    rc = bench.main(["--corpus", str(corpus), "--gold", str(gold), "--embedder", "hash", "--k", "5",
                     "--markdown", "--json-out", str(out)])
    assert rc == 0
    stdout = capsys.readouterr().out

    table = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] in ROW_LABELS and len(cells) == len(bench.COLUMNS):
            table[cells[0]] = cells
    assert set(table) == set(ROW_LABELS), stdout
    for label, cells in table.items():
        scores = [float(c) for c in cells[1:5]]  # hit@1, hit@5, MRR, nDCG@10
        assert all(0.0 <= s <= 1.0 for s in scores), (label, cells)
        assert float(cells[5]) >= 0 and float(cells[6]) >= 0  # latency columns are numbers
        assert re.fullmatch(r"[\d,]+ / [\d,]+", cells[-1]), cells[-1]  # RSS now / peak
    assert table["pressrag dense only"][7] == "same index"
    assert "targets from the issue" in stdout and "cumulative" in stdout

    report = json.loads(out.read_text(encoding="utf-8"))
    assert set(report) == {"meta", "rows", "win_loss", "targets"}
    assert set(report["rows"]) == {"product", "dense", "bm25", "langchain", "whitespace"}
    assert report["meta"]["questions_answerable"] == 3 and report["meta"]["cpu_count"]
    for key, row in report["rows"].items():
        assert row["n"] == 3
        assert set(row["metrics"]) == {"hit@1", "hit@5", "mrr", "ndcg@10"}
        assert all(0.0 <= v <= 1.0 for v in row["metrics"].values()), key
        assert set(row["by_lang"]) == {"ko", "en"}
        assert {"p50", "p95"} <= set(row["latency_ms"])
        assert row["latency_ms"]["p95"] >= row["latency_ms"]["p50"] >= 0, (key, row["latency_ms"])
        assert row["peak_rss_mb"] >= row["rss_mb"] > 0
    product = report["rows"]["product"]
    assert product["ingest"]["chunks"] >= 5 and product["ingest"]["chars_per_s"] > 0
    assert product["index_bytes"] > 0 and report["rows"]["langchain"]["index_bytes"] > 0
    assert report["rows"]["dense"]["ingest"] is None
    assert set(report["win_loss"]) == {"dense", "bm25", "langchain", "whitespace"}
    assert {t["target"] for t in report["targets"]} >= {"hybrid hit@1", "hybrid MRR"}


def test_bench_row_subset_without_the_product(tiny, tmp_path, capsys):
    corpus, gold = tiny
    out = tmp_path / "subset.json"
    rc = _load_bench().main(["--corpus", str(corpus), "--gold", str(gold), "--embedder", "hash",
                             "--rows", "whitespace,langchain", "--json-out", str(out)])
    assert rc == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert list(report["rows"]) == ["langchain", "whitespace"]  # table order, whatever order was asked
    assert report["win_loss"] == {} and report["targets"] == []
    assert "pressrag hybrid" not in capsys.readouterr().out


def test_bench_rejects_unknown_rows():
    with pytest.raises(SystemExit):
        _load_bench().parse_args(["--rows", "product,elastic"])


def test_scale_benchmark_runs_the_retriever_over_a_synthetic_corpus(tmp_path):
    """eval/bench_scale.py's synthetic index answers everything the retriever asks of an index (a signal
    added to fusion without it broke the 10^6 benchmark once): one config over 3,000 synthetic chunks
    drawn from a fake-embedder index of the tiny corpus, every mode timed."""
    from ingest.korean import search_terms
    from rag.build import IndexUpdater
    from tests.conftest import HashEmbedder

    spec = importlib.util.spec_from_file_location("bench_scale", BENCH.with_name("bench_scale.py"))
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    spec.loader.exec_module(bench)
    corpus = tmp_path / "dated"
    corpus.mkdir()
    for i, (doc_id, text) in enumerate(NOTICES.items(), 1):  # the filtered timings need publication dates
        (corpus / f"{doc_id}.txt").write_text(f"{text}\n2026-06-0{i}", encoding="utf-8")
    source = tmp_path / "idx"
    embedder = HashEmbedder()
    IndexUpdater(embedder, progress=False).run(source, [corpus])
    synthetic = tmp_path / "n3000"
    bench.synthesise(3000, [source], synthetic)
    questions = [g["question"] for g in GOLD] + ["전자정부 2020 기본계획 5대 전략"]
    queries = [(q, embedder.embed_query(q), search_terms(q)) for q in questions]
    row = bench.run_config(synthetic, 3000, "faiss-flat", queries)
    for mode in ("dense", "bm25", "hybrid", "hybrid+filter"):
        assert row[f"{mode}_p50"] > 0, mode
    # the pair signal reads each synthetic row's terms; a query made of one row's adjacent terms finds them
    index = bench._SynthIndex(synthetic, 3000)
    vocab = json.loads((synthetic / "vocab.json").read_text(encoding="utf-8"))
    cov = index.phrase_coverage(np.arange(3000), {t: 1.0 for t in vocab}, vocab[:2])
    assert cov.shape == (3000,) and ((cov == 0) | (cov == 1)).all()
    table = index._sequences
    row0 = table.seq[table.ptr[0]:table.ptr[1]]
    pair = [vocab[row0[0]], vocab[row0[1]]]
    assert index.phrase_coverage(np.array([0]), {t: 1.0 for t in pair}, pair)[0] == 1.0
    # what a real index holds beyond the synthetic one: its rows' Python objects and sentence vectors
    from rag.index import NoticeIndex

    real = bench.real_row_bytes([source])
    loaded = NoticeIndex.load(source)
    assert real["chunks"] == len(loaded.chunks)
    assert real["sentence_vector_bytes"] == loaded.sentence_vectors.nbytes + loaded.bare_sentence_vectors.nbytes
    assert real["python_bytes"] > sum(len(c.text) for c in loaded.chunks)  # at least the chunk texts


def _load_near_duplicates():
    path = BENCH.parent / "near_duplicates.py"
    spec = importlib.util.spec_from_file_location("near_duplicates", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_near_duplicate_report_finds_a_reissued_notice_and_splits_the_figures(corpus_notices):
    """A demo notice re-issued with other line breaks and one added sentence is its copy; no other demo
    notice is, and the report's figures split the questions by whether their gold notice has a copy."""
    nd = _load_near_duplicates()
    bodies = {n.doc_id: f"{n.title}\n{n.body}" for n in corpus_notices}
    original = max(bodies, key=lambda d: len(bodies[d]))
    bodies["reissued"] = bodies[original].replace(". ", ".\n") + " 이 보도자료는 정정 배포합니다."
    copies = nd.near_duplicates(bodies, {original, "reissued"}, 0.8)
    assert copies == {original: {"reissued"}, "reissued": {original}}
    other = next(d for d in bodies if d not in (original, "reissued"))
    assert nd.near_duplicates(bodies, {other}, 0.8) == {other: set()}

    from rag.evaluate import retrieval_metrics

    rows = [{"gold_doc_ids": [original], "retrieval": retrieval_metrics(["reissued", original], {original}),
             "citation_precision": 0.0, "key_fact_recall": 1.0},
            {"gold_doc_ids": [other], "retrieval": retrieval_metrics([other], {other}), "citation_precision": 1.0,
             "key_fact_recall": 0.5}]
    assert nd.figures(rows) == {"n": 2, "hit@1": 0.5, "mrr": 0.75, "citations": 0.5, "key_facts": 0.75}
