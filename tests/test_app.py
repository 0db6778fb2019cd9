"""The web app without a browser: HTML rendering (escaping, highlights, links), follow-ups, streaming, uploads."""

from __future__ import annotations

import html
import re
import threading
from pathlib import Path

import pytest

import app
from ingest.models import Notice
from rag.followup import is_follow_up, resolve_follow_up
from rag.manage import uploads_dir_for
from rag.retrieve import QueryProblem
from rag.types import Answer, AnswerSentence, Citation
from tests.conftest import HashEmbedder
from ui import render, uploads

XSS = "<script>window.__xss=1</script>"


def _notice(body: str, **kw) -> Notice:
    fields = dict(doc_id="doc1", title="제목", body=body, agency="행정안전부", published="2026-05-14",
                  url="https://www.korea.kr/briefing/pressReleaseView.do?newsId=1", source="data/x.jsonl",
                  source_type="korea.kr")
    fields.update(kw)
    return Notice(**fields)


def _citation(notice: Notice, spans, n: int = 1) -> Citation:
    quote = " ".join(notice.body[s:e] for s, e in spans)
    return Citation.from_notice(n, notice, quote, spans)


def _answer(text: str, citations, refused: bool = False, **kw) -> Answer:
    return Answer(question="q", answer=text, refused=refused, citations=list(citations), **kw)


# -- escaping ---------------------------------------------------------------------------------------


def test_question_is_escaped():
    out = render.render_question_html(f"전략은? {XSS} & <b>bold</b>")
    assert "<script" not in out and "<b>" not in out
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in out
    assert "&amp;" in out


def test_long_question_is_shortened_for_display():
    out = render.render_question_html("가" * 5000)
    assert "5,000자" in out and len(out) < 1000


def test_notice_text_title_agency_and_quote_are_escaped():
    body = f"첫 문장이다. {XSS} 두 번째 <img src=x onerror=alert(1)> 문장이다. 끝."
    notice = _notice(body, title=f"제목 {XSS}", agency="<i>부처</i>")
    start = body.index("두 번째")
    cit = _citation(notice, [(start, len(body) - 3)])
    out = render.render_answer_html(_answer(f"답 {XSS} [1]", [cit]), {notice.doc_id: notice})
    assert "<script" not in out and "<img" not in out and "<i>" not in out
    assert out.count("&lt;script&gt;") == 3  # answer text, title, passage
    assert "&lt;img src=x onerror=alert(1)&gt;" in out


def test_rendered_message_has_no_blank_line():
    # A blank line would end the markdown HTML block and let the rest be parsed as markdown.
    body = "첫 줄이다.\n\n둘째 줄이다.\r\n\r\n셋째 줄이다."
    notice = _notice(body)
    cit = _citation(notice, [(0, 6), (len(body) - 7, len(body))])
    out = render.render_answer_html(_answer("하나 [1]\n\n둘 [1]", [cit]), {notice.doc_id: notice})
    assert "\n" not in out and "\r" not in out
    assert "<br>" in out


# -- highlights -------------------------------------------------------------------------------------


def test_marks_wrap_exactly_the_cited_spans():
    body = "서론 문장이다. 핵심 <첫> 문장이다. 중간 문장이다. 핵심 둘째 & 문장이다. 맺음말."
    spans = [(body.index("핵심 <첫>"), body.index("중간") - 1), (body.index("핵심 둘째"), body.index("맺음말") - 1)]
    out = render.highlight_passage(body, spans, context=400)
    marked = re.findall(r"<mark>(.*?)</mark>", out)
    assert [html.unescape(m) for m in marked] == [body[s:e] for s, e in spans]
    assert marked[0] == "핵심 &lt;첫&gt; 문장이다."
    # everything outside the marks is the body, escaped, in order
    assert html.unescape(re.sub(r"</?mark>", "", out)) == body


def test_overlapping_and_out_of_range_spans_are_merged_and_clamped():
    assert render.merge_spans([(5, 9), (0, 3), (2, 4), (8, 12), (20, 99), (7, 7)], 25) == [(0, 4), (5, 12), (20, 25)]
    body = "abcdefghij"
    out = render.highlight_passage(body, [(2, 5), (4, 7), (30, 40)])
    assert out == "ab<mark>cdefg</mark>hij"


def test_distant_spans_become_separate_excerpts():
    body = "앞 " + "가" * 50 + " 첫째 인용. " + "나 " * 400 + "둘째 인용. " + "다 " * 400 + "끝."
    first = body.index("첫째 인용.")
    second = body.index("둘째 인용.")
    out = render.highlight_passage(body, [(first, first + 6), (second, second + 6)], context=40)
    assert out.count("<mark>") == 2
    assert out.count('<span class="pr-gap">…</span>') == 3  # before, between, after
    assert len(out) < 600


def test_citation_without_body_marks_its_quote():
    notice = _notice("본문.")
    cit = Citation.from_notice(1, notice, f"인용 {XSS}", [(0, 3)])
    out = render.render_citation(cit, None)
    assert f"<mark>인용 {html.escape(XSS)}</mark>" in out


# -- sources, links and citations ---------------------------------------------------------------------


def test_citation_list_shows_number_title_agency_date_link_and_attribution():
    body = "소방청은 인도네시아와 협력의향서를 체결했다. 담당자는 홍길동이다."
    a = _notice(body, doc_id="a", title="소방청, 협력의향서 체결", agency="소방청", published="2026-06-13")
    b = _notice("전자정부 2020 기본계획. 5대 전략.", doc_id="b", title="2020년, 국민을 즐겁게 하는 전자정부",
                url="", source="data/bidpro/000_784a45d05de28dc5.txt", source_type="bidpro",
                published="2016-04-01")
    answer = _answer("체결했다. [1]\n5대 전략. [2]", [_citation(a, [(0, 23)], 1), _citation(b, [(15, 21)], 2)])
    out = render.render_answer_html(answer, {"a": a, "b": b}, anchor="t1")
    # each [n] is an in-page link to its source card, which can take keyboard focus
    assert '<span class="pr-cite">[<a href="#pr-src-t1-1">1</a>]</span>' in out
    assert '<span class="pr-cite">[<a href="#pr-src-t1-2">2</a>]</span>' in out
    assert 'id="pr-src-t1-1" tabindex="-1"' in out and 'id="pr-src-t1-2" tabindex="-1"' in out
    assert out.index('data-n="1"') < out.index('data-n="2"')
    assert "소방청, 협력의향서 체결" in out and "2026-06-13" in out and "2016-04-01" in out
    assert f'href="{html.escape(a.url)}"' in out and 'rel="noopener noreferrer"' in out
    assert "파일: <code>000_784a45d05de28dc5.txt</code>" in out  # no url: the file's name is shown
    assert "정책브리핑(www.korea.kr)" in out and "공공누리 제1유형" in out
    assert "비드프로(BidPro)" in out


@pytest.mark.parametrize("url", ["javascript:window.__xss=1", "data:text/html,<script>x</script>",
                                 'https://x.kr/" onmouseover="alert(1)'])
def test_unsafe_urls_are_not_links(url):
    notice = _notice("본문이다.", url=url)
    out = render.render_citation(_citation(notice, [(0, 4)]), notice)
    assert "href=" not in out
    assert "<script" not in out and '" onmouseover' not in out


def test_refusal_shows_nearest_notices_without_highlight():
    notice = _notice("관련 보도자료 본문.")
    related = Citation.from_notice(1, notice, notice.body[:10])
    out = render.render_answer_html(_answer("찾지 못했습니다.", [], refused=True, related=[related]),
                                 {notice.doc_id: notice})
    assert 'data-refused="true"' in out and "Nearest notices" in out and "<mark>" not in out


def test_resolved_question_and_note_are_shown_escaped():
    out = render.render_answer_html(_answer("답 [1]", [], note="note <b>x</b>"), resolved=f"이전 질문 {XSS}")
    assert "searched as" in out and html.escape(XSS) in out and "&lt;b&gt;" in out


def test_draft_and_error_rendering():
    assert "searching" in render.render_draft_html("")
    assert render.render_draft_html(f"초안 {XSS} [1]\n").count("<script") == 0
    err = render.render_error_html("first line <x>\nTraceback (most recent call last):\n  boom")
    assert "Traceback" not in err and "first line &lt;x&gt;" in err


def test_draft_strikes_through_the_sentences_the_check_rejected():
    from rag.types import AnswerSentence

    draft = "전자정부 2020은 5대 전략으로 구성된다.[1] 총 예산은 9조 8천억 원이다 [1]. 세 번째 문장이 <b>쓰이는</b> 중"
    verdicts = [AnswerSentence("전자정부 2020은 5대 전략으로 구성된다.", (1,), True),
                AnswerSentence("총 예산은 9조 8천억 원이다.", (), False, reason="a number the cited notice does not contain (9조)")]
    html = render.render_draft_html(draft, verdicts)
    struck = re.search(r'<span class="pr-unsupported" title="([^"]*)">(.*?)</span>', html)
    assert struck and "9조 8천억" in struck.group(2) and "5대 전략" not in struck.group(2)
    assert "removed: a number the cited notice does not contain" in struck.group(1)
    assert html.count("pr-unsupported") == 1 and "<b>" not in html  # the draft's own markup stays text
    assert render.render_draft_html(draft, verdicts[:1]).count("pr-unsupported") == 0


def test_footer_carries_kogl_attribution():
    footer = render.footer_html()
    assert "출처: 각 부처 보도자료, 정책브리핑(www.korea.kr) — 공공누리 제1유형(출처표시)" in footer
    assert "BidPro" in footer


# -- questions and filters ------------------------------------------------------------------------------


def test_empty_and_huge_questions_are_refused_with_a_message():
    with pytest.raises(QueryProblem, match="empty"):
        app.check_question("   ")
    with pytest.raises(QueryProblem, match="too long"):
        app.check_question("가" * (app.MAX_QUESTION_CHARS + 1))
    assert app.check_question("  전략은?  ") == "전략은?"


def test_filters_from_form_fields():
    f = app.make_filters(["소방청"], " 2026-05-01 ", "")
    assert f.agencies == ("소방청",) and f.since == "2026-05-01" and not f.until
    with pytest.raises(QueryProblem, match="YYYY-MM-DD"):
        app.make_filters([], "2026/05/01", "")
    with pytest.raises(QueryProblem, match="inverted"):
        app.make_filters(None, "2026-06-01", "2026-05-01")


# -- follow-ups -----------------------------------------------------------------------------------------

PREVIOUS = ["전자정부 2020의 5대 전략은?"]


@pytest.mark.parametrize("question", [
    "그중 두 번째는?", "그 중 두 번째는?", "그 담당자는?", "이 중 가장 중요한 것은?", "그것의 예산은?", "거기 담당 부서는?",
    "두 번째는?", "더 자세히 알려줘", "담당자는?", "그럼 예산은?",
    "what about the second one?", "Tell me more about it", "Who is in charge of that?", "And the budget?",
])
def test_follow_ups_are_joined_to_the_previous_question(question):
    assert is_follow_up(question)
    assert resolve_follow_up(question, PREVIOUS) == f"{PREVIOUS[0]} {question}"


@pytest.mark.parametrize("question", [
    "소방청 인도네시아 협력의향서 체결 내용은?", "전자정부 2020의 두 번째 전략은?",
    "What are the five strategies of e-Government 2020?", "IT 인프라 예산은?",
    "이중국적 허용 요건은?", "지원 범위의 확대 내용은?", "선거기간 공무원 유의사항은?",
])
def test_self_contained_questions_are_unchanged(question):
    assert not is_follow_up(question)
    assert resolve_follow_up(question, PREVIOUS) == question


def test_follow_up_without_history_is_unchanged():
    assert resolve_follow_up("그중 두 번째는?", []) == "그중 두 번째는?"
    assert resolve_follow_up("", PREVIOUS) == ""


def test_chained_follow_ups_use_the_last_self_contained_question():
    history = ["소방청 인도네시아 협력의향서 체결 내용은?", "전자정부 2020의 5대 전략은?", "그중 두 번째는?"]
    assert resolve_follow_up("더 자세히", history) == "전자정부 2020의 5대 전략은? 더 자세히"
    assert resolve_follow_up("그 담당자는?", ["그중 두 번째는?"]) == "그중 두 번째는? 그 담당자는?"


def test_follow_up_finds_the_same_notice_as_the_previous_turn(fake_index):
    from rag.answer import ExtractiveAnswerer
    from rag.retrieve import Retriever

    retriever = Retriever(fake_index, HashEmbedder())
    first = "소방청 인도네시아 협력의향서 체결 내용은?"
    top = retriever.run(first, k=5).doc_ids[0]
    resolved = resolve_follow_up("그 담당자는?", [first])
    assert retriever.run(resolved, k=5).doc_ids[0] == top
    answer = ExtractiveAnswerer(embedder=HashEmbedder(), idf=fake_index.idf).run(
        resolved, retriever.run(resolved, k=5), fake_index)
    assert not answer.refused and answer.citations[0].doc_id == top
    assert "044-205-7010" in answer.answer  # the contact block of that notice


# -- streaming ------------------------------------------------------------------------------------------


class _ExtractiveOnly:
    def __init__(self, answer):
        self.answer = answer

    def run(self, question, retrieval, index):
        return self.answer


class _Streaming:
    mode = "generative"

    def __init__(self, answer, deltas):
        self.answer, self.deltas = answer, deltas

    def run(self, question, retrieval, index):  # pragma: no cover - the app must use .stream
        raise AssertionError("run() called although stream() exists")

    def stream(self, question, retrieval, index):
        yield from self.deltas
        yield self.answer


class _Retriever:
    embedder = None

    def run(self, question, k=8, filters=None):
        from rag.types import Retrieval

        if not question.strip():
            raise QueryProblem("the question is empty")
        return Retrieval(query=question, hits=[], doc_ids=[], timings_ms={"retrieval_ms": 1.0})


def _fake_assistant(answerer):
    from rag.service import Assistant

    class _Index:
        notices: dict = {}

        def copies(self) -> dict:
            return {}

    return Assistant(_Index(), _Retriever(), answerer)


def test_extractive_answer_streams_sentence_by_sentence():
    final = _answer("첫 문장. [1]\n둘째 문장. [1]\n셋째. [2]", [],
                    sentences=[AnswerSentence("첫 문장.", (1,)), AnswerSentence("둘째 문장.", (1,)),
                               AnswerSentence("셋째.", (2,))])
    events = list(app.answer_events(_fake_assistant(_ExtractiveOnly(final)), "질문"))
    assert events[:-1] == ["첫 문장. [1]\n", "둘째 문장. [1]\n", "셋째. [2]"]
    assert events[-1].answer == final.answer and "total_ms" in events[-1].timings_ms


def test_generative_answer_streams_deltas_then_the_checked_answer():
    final = _answer("검증된 답. [1]", [], mode="generative")
    assistant = _fake_assistant(_Streaming(final, ["초", "안 ", "답 [1]"]))
    events = list(app.answer_events(assistant, "질문"))
    assert events[:3] == ["초", "안 ", "답 [1]"]
    assert isinstance(events[-1], Answer) and events[-1].answer == "검증된 답. [1]"
    assert assistant.lock.acquire(timeout=10)  # released by the worker thread (returns at once when free)
    assistant.lock.release()


def test_streaming_raises_query_problems_and_releases_the_lock():
    assistant = _fake_assistant(_Streaming(_answer("x", []), []))
    with pytest.raises(QueryProblem, match="empty"):
        list(app.answer_events(assistant, "  "))
    assert assistant.lock.acquire(timeout=10)
    assistant.lock.release()


def test_abandoned_stream_never_leaves_the_lock_held():
    assistant = _fake_assistant(_Streaming(_answer("x", []), ["a", "b", "c"]))
    stream = app.answer_events(assistant, "질문")
    next(stream)
    stream.close()  # a closed browser tab
    assert assistant.lock.acquire(timeout=5)
    assistant.lock.release()


# -- uploads -----------------------------------------------------------------------------------------------

NOTICE_TEXT = ("행정안전부 펭귄마을 안전점검 계획\n2026-06-20\n\n"
               "행정안전부는 20일 펭귄마을 안전점검 계획을 발표했다. 점검은 7월 31일까지 진행된다.\n")


@pytest.fixture()
def disk_assistant(tmp_path):
    from rag.answer import ExtractiveAnswerer
    from rag.build import IndexUpdater
    from rag.index import NoticeIndex
    from rag.retrieve import Retriever
    from rag.service import Assistant

    seed = tmp_path / "seed" / "seed.txt"
    seed.parent.mkdir()
    seed.write_text("소방청 협력의향서 체결\n2026-06-13\n\n소방청은 인도네시아 내무부와 협력의향서를 체결했다.\n",
                    encoding="utf-8")
    folder = tmp_path / "index"
    embedder = HashEmbedder()
    IndexUpdater(embedder, progress=False).run(folder, [seed])
    index = NoticeIndex.load(folder, expected_model=embedder.name)
    return Assistant(index, Retriever(index, embedder), ExtractiveAnswerer(embedder=embedder, idf=index.idf),
                     index_dir=folder)


def test_upload_adds_notices_and_reports_each_bad_file(disk_assistant, tmp_path):
    up = tmp_path / "upload"
    up.mkdir()
    good = up / "penguin.txt"
    good.write_text(NOTICE_TEXT, encoding="utf-8")
    empty = up / "empty.txt"
    empty.write_bytes(b"")
    image = up / "photo.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    binary = up / "blob.pdf"
    binary.write_bytes(b"not a pdf at all \x00\x01\x02" * 20)
    progress = []
    before = disk_assistant.summary().notices

    report = uploads.ingest_uploads(disk_assistant, [str(good), str(empty), str(image), str(binary)],
                                on_progress=lambda done, total: progress.append((done, total)))

    assert report.notices_added == 1 and report.changed
    assert disk_assistant.summary().notices == before + 1
    assert progress and progress[-1][0] == progress[-1][1]
    text = report.message
    assert "empty.txt: empty file (0 bytes)" in text
    assert "photo.png: unsupported file type .png" in text
    assert "blob.pdf:" in text
    assert report.problems == 3
    assert f"보도자료 {before + 1:,}건" in text
    # the new notice is searchable right away, and its copy outlives the upload folder
    answer = disk_assistant.ask("펭귄마을 안전점검 계획은?")
    assert not answer.refused and answer.citations[0].title.startswith("행정안전부 펭귄마을")
    assert Path(answer.citations[0].source).parent == uploads_dir_for(disk_assistant.index_dir)


def test_an_upload_never_replaces_an_earlier_one_of_the_same_name(disk_assistant, tmp_path):
    for folder, count in (("first", "1,284"), ("second", "9,999")):
        (tmp_path / folder).mkdir()
        made_up = tmp_path / folder / "release.txt"
        made_up.write_text(f"행정안전부 보도자료\n행정안전부는 펭귄마을 방문객이 {count}명이라고 밝혔다.", encoding="utf-8")
        report = uploads.ingest_uploads(disk_assistant, [str(made_up)])
        assert report.notices_added == 1
    bodies = " ".join(n.body for n in disk_assistant.index.notices.values())
    assert "1,284명" in bodies and "9,999명" in bodies
    stored = sorted(p.name for p in uploads_dir_for(disk_assistant.index_dir).iterdir())
    assert stored == ["release (2).txt", "release.txt"]
    # the same bytes uploaded again are the same notice, not a third copy
    again = uploads.ingest_uploads(disk_assistant, [str(tmp_path / "second" / "release.txt")])
    assert again.notices_added == 0 and len(list(uploads_dir_for(disk_assistant.index_dir).iterdir())) == 2


def test_upload_of_nothing_usable_says_so_and_keeps_the_index(disk_assistant, tmp_path):
    empty = tmp_path / "zero.txt"
    empty.write_bytes(b"")
    manifest = (disk_assistant.index_dir / "CURRENT").read_text(encoding="utf-8")
    report = uploads.ingest_uploads(disk_assistant, [str(empty)])
    assert report.notices_added == 0 and not report.changed
    assert "No notices were added" in report.message and "zero.txt: empty file" in report.message
    assert (disk_assistant.index_dir / "CURRENT").read_text(encoding="utf-8") == manifest
    assert "No file was uploaded" in uploads.ingest_uploads(disk_assistant, []).message
    html_report = uploads.render_upload_report(report)
    assert "pr-error" in html_report and "\n" not in html_report


def test_upload_failure_leaves_the_index_unchanged(disk_assistant, tmp_path, monkeypatch):
    from rag.build import IndexUpdater
    from rag.index import IndexProblem

    def broken(self, folder, paths, **kw):
        raise IndexProblem("index at X was built with other chunker settings; re-ingest with --rebuild")

    monkeypatch.setattr(IndexUpdater, "run", broken)
    good = tmp_path / "penguin.txt"
    good.write_text(NOTICE_TEXT, encoding="utf-8")
    before = disk_assistant.index
    report = uploads.ingest_uploads(disk_assistant, [str(good)])
    assert "index is unchanged" in report.message and "chunker settings" in report.message
    assert disk_assistant.index is before


def test_locked_embedder_waits_for_questions(disk_assistant):
    locked = uploads._LockedEmbedder(disk_assistant.retriever.embedder, disk_assistant.lock)
    assert locked.name == HashEmbedder.name and locked.dim == HashEmbedder.dim
    done = threading.Event()
    with disk_assistant.lock:
        worker = threading.Thread(target=lambda: (locked.embed_passages(["가나다"]), done.set()))
        worker.start()
        assert not done.wait(0.2)
    assert done.wait(5)


# -- the app object and the command line ---------------------------------------------------------------


def test_build_ui_makes_blocks(disk_assistant):
    import gradio as gr

    from rag.settings import Settings

    demo = app.build_ui(disk_assistant, Settings(index=disk_assistant.index_dir))
    assert isinstance(demo, gr.Blocks)
    options = app.launch_options()
    assert "mark" in options["css"]


def test_main_passes_host_port_and_index(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(app, "launch", lambda settings: seen.setdefault("settings", settings))
    app.main(["--host", "0.0.0.0", "--port", "8123", "--index", str(tmp_path / "idx")])
    settings = seen["settings"]
    assert (settings.host, settings.port, settings.index) == ("0.0.0.0", 8123, tmp_path / "idx")
    with pytest.raises(SystemExit, match="for --port: must be between 1 and 65535"):
        app.main(["--port", "70000"])


def test_gradio_is_not_imported_at_module_import():
    import subprocess
    import sys

    code = "import sys, os, app; print('gradio' in sys.modules, os.environ['GRADIO_ANALYTICS_ENABLED'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(app.__file__).parent, check=True).stdout.split()
    assert out == ["False", "False"]


def test_generative_stream_over_http_reaches_the_chat_as_deltas(fake_index):
    from rag.answer import ExtractiveAnswerer
    from rag.generate import GenerativeAnswerer, LLMSettings
    from rag.retrieve import Retriever
    from rag.service import Assistant
    from tests.conftest import SEED_ID
    from tests.openai_stub import OpenAIStub

    body = fake_index.notices[SEED_ID].body
    start = body.index("첫째,")
    sentence = body[start:body.index(".", start) + 1]
    embedder = HashEmbedder()
    with OpenAIStub() as stub:
        stub.reply(f"{sentence}[1]", chunk_chars=6)
        answerer = GenerativeAnswerer(LLMSettings(base_url=stub.base_url, model="stub"), embedder=embedder,
                                      fallback=ExtractiveAnswerer(embedder=embedder, idf=fake_index.idf))
        assistant = Assistant(fake_index, Retriever(fake_index, embedder), answerer)
        events = list(app.answer_events(assistant, "전자정부 2020의 5대 전략은?"))
        assert stub.requests[-1]["json"]["stream"] is True
    *deltas, final = events
    assert len(deltas) > 3 and all(isinstance(d, str) for d in deltas)
    assert "".join(deltas) == f"{sentence}[1]"
    assert isinstance(final, Answer) and "total_ms" in final.timings_ms
    out = render.render_answer_html(final, fake_index.notices)
    assert "\n" not in out and "<script" not in out



def test_the_web_chat_answers_eight_questions_at_once(fake_index, tmp_path):
    """Eight questions sent through the page's queue at the same moment are all being answered at
    once: each answer waits at a barrier of eight, which breaks (and the answer fails) if the chat
    ran fewer of them together."""
    import socket

    from gradio_client import Client

    from rag.answer import ExtractiveAnswerer
    from rag.retrieve import Retriever
    from rag.service import Assistant
    from rag.settings import Settings

    barrier = threading.Barrier(8, timeout=30)

    class MeetingAnswerer(ExtractiveAnswerer):
        def run(self, question, retrieval, index):
            barrier.wait()
            return super().run(question, retrieval, index)

    embedder = HashEmbedder()
    assistant = Assistant(fake_index, Retriever(fake_index, embedder),
                          MeetingAnswerer(embedder=embedder, idf=fake_index.idf))
    demo = app.build_ui(assistant, Settings(index=tmp_path / "index"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, share=False, quiet=True,
                ssr_mode=False)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        endpoint = next(name for name in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
                        if name.startswith("/respond"))
        jobs = [client.submit("전자정부 2020의 5대 전략은?", [], None, None, [], api_name=endpoint)
                for _ in range(8)]
        replies = [job.result(timeout=60) for job in jobs]
    finally:
        demo.close()
    assert not barrier.broken
    for chat, *_ in replies:
        content = chat[-1]["content"]
        page = content if isinstance(content, str) else "".join(part.get("text", "") for part in content)
        assert 'data-refused="false"' in page and "행정자치부" in page, page[:300]

# -- operating a shared chat: uploads off by default, removal, no server paths, chat replies ---------------


def test_uploads_are_off_unless_the_operator_turns_them_on(disk_assistant):
    from rag.settings import Settings

    settings = Settings(index=disk_assistant.index_dir)
    assert settings.allow_uploads is False
    off = app.build_ui(disk_assistant, settings).config
    ids = {c.get("props", {}).get("elem_id") for c in off["components"]}
    assert "pr-upload" not in ids and "pr-remove" not in ids
    on = app.build_ui(disk_assistant, settings.model_copy(update={"allow_uploads": True})).config
    ids = {c.get("props", {}).get("elem_id") for c in on["components"]}
    assert {"pr-upload", "pr-uploaded", "pr-remove"} <= ids


def test_uploaded_notices_are_listed_and_removed_with_their_copy(disk_assistant, tmp_path):
    from rag.manage import list_notices

    (tmp_path / "up").mkdir()
    made_up = tmp_path / "up" / "release.txt"
    made_up.write_text("행정안전부 보도자료\n행정안전부는 펭귄마을 방문객이 1,284명이라고 밝혔다.", encoding="utf-8")
    uploads.ingest_uploads(disk_assistant, [str(made_up)])
    choices = uploads.uploaded_choices(disk_assistant)
    assert [value for _, value in choices] == ["release.txt"]
    seed_id = next(n.doc_id for n in list_notices(disk_assistant.index, disk_assistant.index_dir) if not n.uploaded)
    # the page removes uploads only
    refused = uploads.remove_uploads(disk_assistant, [seed_id])
    assert refused.problems and seed_id in disk_assistant.index.notices
    report = uploads.remove_uploads(disk_assistant, ["release.txt"])
    assert report.changed and "release.txt" in report.message
    assert "release.txt" not in disk_assistant.index.notices and seed_id in disk_assistant.index.notices
    assert list(uploads_dir_for(disk_assistant.index_dir).iterdir()) == []
    assert disk_assistant.ask("펭귄마을 방문객은 몇 명?").citations == [] or all(
        c.doc_id != "release.txt" for c in disk_assistant.ask("펭귄마을 방문객은 몇 명?").citations)


def test_remove_keeps_the_users_own_files_and_refuses_unknown_ids(tmp_path):
    from rag.build import IndexUpdater
    from rag.index import IndexProblem, NoticeIndex
    from rag.manage import remove_notices

    own = tmp_path / "notices"
    own.mkdir()
    for name, text in (("a.txt", "소방청 협력의향서 체결\n소방청은 협력의향서를 체결했다."),
                       ("b.txt", "행정안전부 점검\n행정안전부는 점검 계획을 밝혔다.")):
        (own / name).write_text(text, encoding="utf-8")
    folder = tmp_path / "index"
    IndexUpdater(HashEmbedder(), progress=False).run(folder, [own])
    with pytest.raises(IndexProblem, match="no notice nope.txt"):
        remove_notices(folder, ["nope.txt"])
    removal = remove_notices(folder, ["a.txt"])
    assert removal.removed == ["a.txt"] and removal.deleted_files == [] and removal.notices_total == 1
    assert (own / "a.txt").exists()  # the user's file is never deleted
    index = NoticeIndex.load(folder)
    assert set(index.notices) == {"b.txt"} and len(index.chunks) == len(index.vectors)
    assert all(str(own / "a.txt") not in key for key in index.manifest.files)
    # ingesting the folder again brings the removed notice back
    IndexUpdater(HashEmbedder(), progress=False).run(folder, [own])
    assert set(NoticeIndex.load(folder).notices) == {"a.txt", "b.txt"}


def test_no_absolute_server_path_reaches_the_page(tmp_path):
    notice = _notice("본문 문장이다.", doc_id="up2/보도자료.txt", url="",
                     source=str(tmp_path / "srv" / "index-uploads" / "up2" / "보도자료.txt"), source_type="file")
    out = render.render_answer_html(_answer("본문 [1]", [_citation(notice, [(0, 7)])]), {notice.doc_id: notice})
    assert str(tmp_path) not in out and "파일: <code>up2/보도자료.txt</code>" in out
    other = _notice("본문.", doc_id="notes", url="", source="/srv/data/corpus/x.jsonl", source_type="file")
    assert render.shown_source(_citation(other, [(0, 2)])) == "x.jsonl"
    error = render.render_error_html(f"index at {tmp_path}/srv/index is damaged: manifest.json missing")
    assert str(tmp_path) not in error and "index at index is damaged" in error
    assert "https://www.korea.kr/x" in render.one_line("see https://www.korea.kr/x")


def test_follow_up_without_history_asks_back_and_is_not_an_example():
    assert not any(is_follow_up(q) for q in app.EXAMPLES)
    assert "which notice do you mean" in render.render_notice_html(app.NO_HISTORY)


def test_filters_that_leave_nothing_are_told_apart_from_not_found(disk_assistant):
    from rag.retrieve import NothingToSearch, QueryProblem

    question = "전자정부 2020의 5대 전략은?"
    with pytest.raises(NothingToSearch) as hidden:
        list(app.answer_events(disk_assistant, question, filters=app.make_filters([], "2030-01-01", "2030-12-31")))
    shown = render.render_problem_html(hidden.value)
    assert "filters leave no notice" in shown and "pr-error" not in shown
    assert "pr-error" in render.render_problem_html(QueryProblem("the question is empty"))
    for wide in (app.make_filters([], "", ""), app.make_filters([], "2000-01-01", "")):
        assert isinstance(list(app.answer_events(disk_assistant, question, filters=wide))[-1], app.Answer)
    assert app.make_filters(None, "", "", "korea.kr").source_types == ("korea.kr",)


def test_answer_downloads_as_markdown_with_numbered_citations(tmp_path):
    notice = _notice("소방청은 인도네시아와 협력의향서를 체결했다.", title="소방청, 협력의향서 체결", agency="소방청")
    answer = _answer("소방청은 협력의향서를 체결했다. [1]", [_citation(notice, [(0, 24)])])
    text = render.answer_markdown(answer, "협력의향서 내용은?")
    assert text.startswith("# 협력의향서 내용은?\n\n소방청은 협력의향서를 체결했다. [1]")
    assert "[1] **소방청, 협력의향서 체결** — 소방청, 2026-05-14, https://www.korea.kr/" in text
    assert "    > 소방청은 인도네시아와 협력의향서를 체결했다." in text
    path = render.write_answer_markdown(answer)
    assert path.suffix == ".md" and path.read_text(encoding="utf-8") == render.answer_markdown(answer)


def test_answer_files_for_download_are_kept_in_one_folder_and_bounded(tmp_path):
    answer = Answer(question="q", answer="소방청은 협력의향서를 체결했다. [1]", refused=False, citations=[])
    paths = [render.write_answer_markdown(answer, keep=3) for _ in range(5)]
    folder = paths[0].parent
    assert all(p.parent == folder for p in paths) and len(set(paths)) == 5
    assert sorted(folder.glob("*.md")) == sorted(paths[-3:])  # the newest three stay, served files survive
    assert all(p.exists() for p in paths[-3:]) and not any(p.exists() for p in paths[:2])


def test_serve_is_added_by_the_entry_point_and_rag_never_imports_app():
    import subprocess
    import sys

    code = ("import sys, rag.cli, rag.service, rag.manage; "
            "assert 'app' not in sys.modules and 'ui' not in sys.modules; "
            "import pressrag.cli; print(sorted(c.name or c.callback.__name__ for c in pressrag.cli.app.registered_commands))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(app.__file__).parent, check=True).stdout
    assert "serve" in out and "remove" in out and "list" in out
