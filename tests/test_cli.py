"""The command line as a user meets it: real processes, real index, one-line errors."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import FIVE_STRATEGIES, SEED_ID


def run_cli(*args, env_extra=None, timeout=300):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


@pytest.mark.slow
@pytest.mark.model
def test_ask_json_on_the_seed_question(demo_index_dir):
    proc = run_cli("ask", "--json", "--index", str(demo_index_dir), "What are the five strategies of e-Government 2020?")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) >= {"question", "answer", "refused", "citations", "timings_ms"}
    assert data["refused"] is False
    for strategy in FIVE_STRATEGIES:
        assert strategy in data["answer"]
    seed = next(c for c in data["citations"] if c["doc_id"] == SEED_ID)
    assert seed["title"] == "2020년, 국민을 즐겁게 하는 전자정부"
    assert seed["published"] == "2016-04-01" and seed["agency"] == "행정안전부"
    assert set(seed) >= {"n", "doc_id", "title", "agency", "published", "url", "source", "quote"}
    assert f"[{seed['n']}]" in data["answer"]


@pytest.mark.slow
@pytest.mark.model
def test_ask_human_output_and_refusal(demo_index_dir):
    proc = run_cli("ask", "--index", str(demo_index_dir), "전자정부 2020의 5대 전략은?")
    assert proc.returncode == 0, proc.stderr
    assert "Sources" in proc.stdout and "[1] 2020년, 국민을 즐겁게 하는 전자정부 — 행정안전부, 2016-04-01" in proc.stdout
    refused = run_cli("ask", "--json", "--index", str(demo_index_dir), "국방부의 KF-21 전투기 양산 계약 금액은 얼마인가요?")
    assert refused.returncode == 0
    assert json.loads(refused.stdout)["refused"] is True


@pytest.mark.slow
@pytest.mark.model
def test_ask_answer_chars_flag_shortens_the_answer(demo_index_dir):
    """--answer-chars overrides PRESSRAG_ANSWER_CHARS for one question: a smaller budget, a shorter answer
    from the same notice (a question whose answer fills the larger budget: one that a single sentence
    answers is as short under either)."""
    question = "전자정부 2020의 추진 배경은?"
    answers = {}
    for flag in ((), ("--answer-chars", "120")):
        proc = run_cli("ask", "--json", "--index", str(demo_index_dir), *flag, question,
                       env_extra={"PRESSRAG_ANSWER_CHARS": "600"})
        assert proc.returncode == 0, proc.stderr
        answers[flag] = json.loads(proc.stdout)
    long, short = answers[()], answers[("--answer-chars", "120")]
    assert not long["refused"] and not short["refused"]
    assert len(short["answer"]) < len(long["answer"])
    assert short["citations"][0]["doc_id"] == long["citations"][0]["doc_id"]


def test_missing_index_is_one_line_error(tmp_path):
    broken = tmp_path / "idx"
    broken.mkdir()
    (broken / "manifest.json").write_text("{}", encoding="utf-8")
    proc = run_cli("ask", "--index", str(broken), "질문")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_bad_usage_is_reported_without_traceback(tmp_path):
    proc = run_cli("ask", "--index", str(tmp_path / "none"), "--since", "2026-07-01", "--until", "2026-06-01", "질문")
    assert proc.returncode == 1 and "inverted" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("ingest", str(tmp_path / "does-not-exist"), "--index", str(tmp_path / "idx"))
    assert proc.returncode == 2 and "no such file" in proc.stderr
    proc = run_cli("ask", "--k", "0", "질문", env_extra={"PRESSRAG_INDEX": str(tmp_path / "idx")})
    assert proc.returncode == 1 and "PRESSRAG_K" in proc.stderr or "k" in proc.stderr


def test_ingest_reports_per_file_problems(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    (folder / "junk.hwp").write_bytes(b"not an hwp file at all" * 10)
    proc = run_cli("ingest", str(folder), "--index", str(tmp_path / "idx"), "-q")
    assert proc.returncode == 1
    assert f"skipped {folder / 'empty.txt'}: empty" in proc.stdout
    assert f"skipped {folder / 'junk.hwp'}:" in proc.stdout
    assert "no readable notices" in proc.stderr


def test_a_source_without_an_agency_shows_no_placeholder():
    """A korea.kr record without an agency (e.g. "(참고) 2026년 5월 고용동향 및 평가") is listed by its date and
    address, not as "— ?, …"."""
    import io

    from rag.cli import print_answer
    from rag.types import Answer, Citation

    def cite(agency):
        return Citation(n=1, doc_id="koreakr-1", title="(참고) 5월 고용동향", agency=agency, published="2026-06-11",
                        url="https://www.korea.kr/briefing/pressReleaseView.do?newsId=1", source="x.jsonl",
                        quote="실업률은 2.9%로 전년대비 0.1%p 상승했다.")

    for agency, line in (("", "[1] (참고) 5월 고용동향 — 2026-06-11, https://www.korea.kr/"),
                         ("재정경제부", "[1] (참고) 5월 고용동향 — 재정경제부, 2026-06-11, https://www.korea.kr/")):
        out = io.StringIO()
        print_answer(Answer(question="실업률은?", answer="실업률은 2.9%로 … [1]", refused=False,
                            citations=[cite(agency)]), out=out)
        assert line in out.getvalue(), out.getvalue()
        assert "?," not in out.getvalue()


def test_a_source_published_twice_names_its_other_address():
    import io

    from rag.cli import print_answer
    from rag.types import Answer, Citation

    repost = "https://www.mohw.go.kr/board.es?mid=a10503&act=view&list_no=1"
    cite = Citation(n=1, doc_id="koreakr-1", title="(참고) 5월 고용동향", agency="재정경제부", published="2026-06-11",
                    url="https://www.korea.kr/briefing/pressReleaseView.do?newsId=1", source="x.jsonl",
                    quote="실업률은 2.9%로 전년대비 0.1%p 상승했다.", also=(repost,))
    out = io.StringIO()
    print_answer(Answer(question="실업률은?", answer="실업률은 2.9%로 … [1]", refused=False, citations=[cite]), out=out)
    assert f"also published: {repost}" in out.getvalue()
    out = io.StringIO()
    print_answer(Answer(question="실업률은?", answer="실업률은 2.9%로 … [1]", refused=False,
                        citations=[Citation(**{**cite.__dict__, "also": ()})]), out=out)
    assert "also published" not in out.getvalue()


def test_the_sources_repeat_a_quote_only_under_a_generated_answer():
    """An extractive answer's lines are the quotes: the sources list does not print them again. A
    generated answer's words are the model's, so each source shows the passage it drew on."""
    import io

    from rag.cli import print_answer
    from rag.types import Answer, Citation

    quote = "실업률은 2.9%로 전년대비 0.1%p 상승했다."
    cite = Citation(n=1, doc_id="koreakr-1", title="(참고) 5월 고용동향", agency="재정경제부", published="2026-06-11",
                    url="https://www.korea.kr/briefing/pressReleaseView.do?newsId=1", source="x.jsonl", quote=quote)
    # the quote is printed once either way: as the extractive answer's line, or under the generated one's source
    for mode, answer in (("extractive", quote + " [1]"), ("generative", "실업률은 2.9%였습니다. [1]")):
        out = io.StringIO()
        print_answer(Answer(question="실업률은?", answer=answer, refused=False, citations=[cite], mode=mode), out=out)
        assert out.getvalue().count(quote) == 1, out.getvalue()
