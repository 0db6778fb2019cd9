"""The web chat: ask questions over the indexed press releases, read the cited passages.

``pressrag serve`` or ``python app.py [--host H] [--port P] [--index DIR]`` starts it
on 127.0.0.1 (no share link, no analytics, nothing fetched from the network).

Each answer carries numbered citations [n]; below it, every cited notice with its
title, agency, date, link (the notice URL, or the file it was read from) and the
passage with the quoted sentences marked. All notice text and every question is
HTML-escaped before it reaches the page. Follow-up questions ("그중 두 번째는?")
are resolved against the previous turn (rag.followup). Answers stream: the
generative answerer's deltas as the model writes them (replaced by the checked
answer at the end), the extractive answer sentence by sentence.

The rendering helpers are plain functions (no gradio) so tests can check the
HTML without a browser; gradio itself is imported only inside build_ui/launch
(it takes seconds to import).
"""

from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is ever imported

import argparse
import html
import logging
import queue
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.followup import is_follow_up, resolve_follow_up
from rag.manage import uploads_dir_for
from rag.types import Answer, AnswerSentence, Citation

if TYPE_CHECKING:  # pragma: no cover
    from ingest.models import Notice
    from rag.service import Assistant, CorpusSummary
    from rag.settings import Settings

TITLE = "pressrag · 보도자료 질의응답"
MAX_QUESTION_CHARS = 2000  # the retriever's limit (rag.retrieve.MAX_QUERY_CHARS)
SHOWN_QUESTION_CHARS = 600
UPLOAD_SUFFIXES = (".txt", ".md", ".jsonl", ".pdf", ".hwp", ".hwpx")
CHAT_CONCURRENCY = 8  # questions answered at once by one server (see the chat events in build_ui)
EXAMPLES = [
    "전자정부 2020의 5대 전략은?",
    "What are the five strategies of e-Government 2020?",
    "소방청 인도네시아 협력의향서 체결 내용은?",
]
KOGL_NOTICE = "출처: 각 부처 보도자료, 정책브리핑(www.korea.kr) — 공공누리 제1유형(출처표시)"
BIDPRO_NOTICE = ("「전자정부 2020 기본계획」 공지(2016-04-01, 행정자치부)는 입찰정보 사이트 비드프로(BidPro)의 "
                 "‘국가기관(보도자료)’ 게시판에 게재된 페이지를 그대로 읽은 것입니다 (첨부 .hwp/.pdf는 포함되지 않음).")
EMPTY_QUESTION = "질문을 입력해 주세요. (The question is empty.)"
# A follow-up ("그 담당자는?") on a fresh chat has nothing to refer to: ask back instead of guessing.
NO_HISTORY = ("어느 보도자료를 말씀하시는지 알 수 없습니다. 먼저 보도자료나 주제를 넣어 질문해 주세요 "
              "(예: 소방청 인도네시아 협력의향서의 담당자는?). "
              "(This follow-up has no earlier question to refer to: which notice do you mean?)")
NO_MATCH_FILTERS = ("선택한 검색 범위(기관·기간·유형)에 해당하는 보도자료가 없습니다. 필터를 넓혀 주세요. "
                    "(The filters leave no notice to search: widen them.)")
log = logging.getLogger("pressrag.app")

# Gradio's chat autoscroll follows the bottom while an answer streams, so a long answer's first lines
# (the ones that answer) scroll out of view. Instead, each new question is brought to the top of the
# chat box once, and the answer then grows below it where the reader starts.
HEAD_JS = """<script>
(() => {
  let seen = 0, pinned = null;
  const scroller = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      if (/(auto|scroll)/.test(getComputedStyle(p).overflowY)) return p;
    }
    return null;
  };
  // The newest question is kept at the top of the chat box while its answer grows below it (the box
  // cannot scroll it up before there is content below), until the reader scrolls by hand.
  const keep = () => {
    if (!pinned || !pinned.isConnected) return;
    const box = scroller(pinned);
    if (!box) return;
    const gap = pinned.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
    if (gap > 1) box.scrollTop += gap;
  };
  const watch = () => {
    const chat = document.querySelector('#pr-chat');
    if (!chat) return setTimeout(watch, 300);
    for (const kind of ['wheel', 'touchmove', 'keydown']) chat.addEventListener(kind, () => { pinned = null; });
    new MutationObserver(() => {
      const questions = chat.querySelectorAll('.pr-q');
      if (questions.length > seen) pinned = questions[questions.length - 1];
      seen = questions.length;
      keep();
    }).observe(chat, {childList: true, subtree: true, characterData: true});
  };
  watch();
})();
</script>"""

CSS = """
.pr-q { white-space: normal; }
.pr-answer .pr-text { line-height: 1.65; }
.pr-cite { color: #1d4ed8; font-weight: 600; font-size: 0.85em; margin-left: 1px; }
.pr-cite a { color: inherit; text-decoration: none; }
.pr-cite a:focus, .pr-cite a:hover { text-decoration: underline; }
.pr-source:focus { outline: 2px solid #1d4ed8; }
.pr-resolved, .pr-note, .pr-timing { color: #6b7280; font-size: 0.85em; margin: 0.2em 0 0.5em 0; }
.pr-sources { margin-top: 0.8em; border-top: 1px solid #e5e7eb; padding-top: 0.5em; }
.pr-sources-title { font-weight: 600; font-size: 0.9em; margin-bottom: 0.3em; }
.pr-source { border: 1px solid #e5e7eb; border-radius: 6px; padding: 0.4em 0.6em; margin: 0.4em 0; }
.pr-source summary { cursor: pointer; }
.pr-n { color: #1d4ed8; font-weight: 700; }
.pr-title { font-weight: 600; }
.pr-meta, .pr-attr { color: #4b5563; font-size: 0.85em; }
.pr-passage { font-size: 0.9em; line-height: 1.6; margin: 0.35em 0; max-height: 22em; overflow-y: auto; }
.pr-passage mark { background: #fde68a; color: inherit; padding: 0 1px; }
.pr-gap { color: #9ca3af; }
.pr-error { color: #b91c1c; }
.pr-draft { color: #374151; }
.pr-unsupported { text-decoration: line-through; color: #b91c1c; }
.pr-cursor { color: #9ca3af; }
#pr-footer { color: #6b7280; font-size: 0.8em; text-align: center; margin-top: 0.6em; }
"""


# -- rendering helpers (plain functions: no gradio) -------------------------------------------------


def escape(text: object) -> str:
    """HTML-escape anything shown on the page (quotes too: values also go into attributes)."""
    return html.escape("" if text is None else str(text), quote=True)


def _lines(escaped: str) -> str:
    """Newlines as <br>: a chat message must hold no blank line, or markdown would end the HTML block there."""
    return escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")
_CITE = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")


def source_anchor(anchor: str, n: int) -> str:
    """The element id of source card ``n`` of one answer (``anchor`` keeps answers in one chat apart)."""
    return f"pr-src-{anchor}-{n}"


def render_answer_text(text: str, anchor: str | None = None) -> str:
    """The answer's text, escaped, with its [n] markers styled as citations.

    With ``anchor``, each number is a link to its source card (a keyboard-focusable in-page link).
    """
    def cite(m: re.Match) -> str:
        if anchor is None:
            return f'<span class="pr-cite">[{m.group(1)}]</span>'
        numbers = [x.strip() for x in m.group(1).split(",")]
        links = ", ".join(f'<a href="#{source_anchor(anchor, int(x))}">{x}</a>' for x in numbers)
        return f'<span class="pr-cite">[{links}]</span>'

    return _lines(_CITE.sub(cite, escape(text)))


_ABS_PATH = re.compile(r"(?<![\w.:/])/(?:[^\s/:;,'\"()]+/)+([^\s/:;,'\"()]+)")


def hide_paths(text: str) -> str:
    """``text`` with absolute server paths shortened to their last part (visitors never see the layout)."""
    return _ABS_PATH.sub(lambda m: m.group(1), text)


def shown_source(citation: Citation) -> str:
    """How a file-read notice names its file to a visitor: the path relative to what was ingested
    (the notice id of a whole-file notice) or the file's name; never the server's absolute path."""
    doc_id = citation.doc_id or ""
    if Path(doc_id).suffix.lower() in UPLOAD_SUFFIXES and not doc_id.startswith("/"):
        return doc_id
    return Path(citation.source or doc_id).name


def one_line(message: object, limit: int = 300) -> str:
    """The first line of an error message, shortened: users never see a traceback."""
    text = str(message).strip().splitlines()[0].strip() if str(message).strip() else ""
    text = hide_paths(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe_url(url: str) -> str | None:
    """``url`` when it is an http(s) link; anything else (javascript:, data:, a path) is not linked."""
    url = (url or "").strip()
    return url if re.match(r"^https?://[^\s<>\"']+$", url, re.IGNORECASE) else None


def merge_spans(spans: Iterable[Sequence[int]], length: int) -> list[tuple[int, int]]:
    """Spans clamped to ``[0, length]``, empty ones dropped, sorted, overlapping ones merged."""
    clean = sorted((max(0, int(s)), min(length, int(e))) for s, e in spans)
    out: list[tuple[int, int]] = []
    for s, e in clean:
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _snap_start(body: str, pos: int, limit: int) -> int:
    """Move a window start forward to a word boundary (at most ``limit`` characters)."""
    if pos <= 0:
        return 0
    for i in range(pos, min(len(body), pos + 20, limit)):
        if body[i - 1].isspace():
            return i
    return pos


def _snap_end(body: str, pos: int, limit: int) -> int:
    """Move a window end back to a word boundary (never before ``limit``)."""
    if pos >= len(body):
        return len(body)
    for i in range(pos, max(limit, pos - 20), -1):
        if body[i].isspace():
            return i
    return pos


def highlight_passage(body: str, spans: Iterable[Sequence[int]], context: int = 160) -> str:
    """HTML of the parts of ``body`` around ``spans``, each span wrapped in <mark>, everything escaped.

    Spans farther apart than twice ``context`` are shown as separate excerpts joined by "…".
    """
    body = body or ""
    marked = merge_spans(spans, len(body))
    if not marked:
        head = body[: 2 * context]
        return _lines(escape(head)) + ("…" if len(body) > len(head) else "")
    windows: list[list[int]] = []  # [start, end, first span index, last span index + 1]
    for i, (s, e) in enumerate(marked):
        ws, we = max(0, s - context), min(len(body), e + context)
        if windows and ws <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], we)
            windows[-1][3] = i + 1
        else:
            windows.append([ws, we, i, i + 1])
    parts = []
    for ws, we, first, last in windows:
        ws = _snap_start(body, ws, marked[first][0])
        we = _snap_end(body, we, marked[last - 1][1])
        out, pos = [], ws
        for s, e in marked[first:last]:
            out.append(escape(body[pos:s]))
            out.append(f"<mark>{escape(body[s:e])}</mark>")
            pos = e
        out.append(escape(body[pos:we]))
        parts.append("".join(out))
    gap = ' <span class="pr-gap">…</span> '
    html_text = gap.join(parts)
    if windows[0][0] > 0:
        html_text = '<span class="pr-gap">…</span> ' + html_text
    if windows[-1][1] < len(body):
        html_text += gap.rstrip()
    return _lines(_BLANK_LINES.sub("\n", html_text))


def attribution(citation: Citation, notice: Notice | None = None) -> str:
    """The KOGL attribution line a cited notice needs (plain text)."""
    source_type = getattr(notice, "source_type", "") or ""
    agency = citation.agency or "각 부처"
    if source_type == "bidpro" or "bidpro" in (citation.source or "").lower():
        return f"출처: {agency} 보도자료, 비드프로(BidPro) 게재 페이지"
    if "korea.kr" in (citation.url or "") or source_type == "korea.kr":
        return f"출처: {agency} 보도자료, 정책브리핑(www.korea.kr) — 공공누리 제1유형(출처표시)"
    return ""


def render_citation(citation: Citation, notice: Notice | None = None, highlight: bool = True,
                    anchor: str | None = None) -> str:
    """One cited source: number, title, agency, date, link, the passage with the cited sentences marked."""
    meta = []
    if citation.agency:
        meta.append(f'<span class="pr-agency">{escape(citation.agency)}</span>')
    if citation.published:
        meta.append(f'<span class="pr-date">{escape(citation.published)}</span>')
    url = safe_url(citation.url)
    if url:
        meta.append(f'<a class="pr-link" href="{escape(url)}" target="_blank" rel="noopener noreferrer">{escape(url)}</a>')
    elif citation.url:
        meta.append(f'<span class="pr-link">{escape(citation.url)}</span>')
    elif citation.source:
        meta.append(f'<span class="pr-file">파일: <code>{escape(shown_source(citation))}</code></span>')
    body = getattr(notice, "body", None) if notice is not None else None
    if highlight and body and citation.spans:
        passage = highlight_passage(body, citation.spans)
    elif highlight:
        passage = f"<mark>{_lines(escape(citation.quote))}</mark>" if citation.quote else ""
    else:
        passage = _lines(escape(citation.quote))
    attr = attribution(citation, notice)
    target = f' id="{source_anchor(anchor, citation.n)}" tabindex="-1"' if anchor else ""
    return (
        f'<details class="pr-source"{target} data-n="{citation.n}" data-doc="{escape(citation.doc_id)}" open>'
        f'<summary><span class="pr-n">[{citation.n}]</span> <span class="pr-title">{escape(citation.title or citation.doc_id)}</span></summary>'
        f'<div class="pr-meta">{" · ".join(meta)}</div>'
        f'<div class="pr-passage">{passage}</div>'
        + (f'<div class="pr-attr">{escape(attr)}</div>' if attr else "")
        + "</details>"
    )


def render_sources(citations: Sequence[Citation], notices: Mapping[str, Notice] | None = None,
                   title: str = "출처 (Sources)", highlight: bool = True, anchor: str | None = None) -> str:
    if not citations:
        return ""
    notices = notices or {}
    items = "".join(render_citation(c, notices.get(c.doc_id), highlight=highlight, anchor=anchor)
                    for c in citations)
    return f'<div class="pr-sources"><div class="pr-sources-title">{escape(title)}</div>{items}</div>'


def render_answer_html(answer: Answer, notices: Mapping[str, Notice] | None = None,
                       resolved: str | None = None, anchor: str | None = None) -> str:
    """The whole chat message of an answer: text with [n], note, then the cited sources (one line of HTML).

    Each [n] links to its source card; ``anchor`` (default: a fresh random one) keeps the card ids of
    the answers in one chat apart.
    """
    anchor = anchor or uuid.uuid4().hex[:10]
    parts = [f'<div class="pr-answer" data-refused="{str(bool(answer.refused)).lower()}" data-mode="{escape(answer.mode)}">']
    if resolved:
        parts.append(f'<div class="pr-resolved">이전 질문과 이어서 검색함 (searched as): {escape(resolved)}</div>')
    parts.append(f'<div class="pr-text">{render_answer_text(answer.answer, anchor if answer.citations else None)}</div>')
    if answer.note:
        parts.append(f'<div class="pr-note">{escape(one_line(answer.note, 500))}</div>')
    parts.append(render_sources(answer.citations, notices, anchor=anchor))
    if answer.refused and answer.related:
        parts.append(render_sources(answer.related, notices, title="가장 가까운 보도자료 (Nearest notices)",
                                    highlight=False))
    total = (answer.timings_ms or {}).get("total_ms")
    if total is not None:
        parts.append(f'<div class="pr-timing">{total / 1000:.1f} s</div>')
    parts.append("</div>")
    return "".join(parts)


def render_question_html(question: str, limit: int = SHOWN_QUESTION_CHARS) -> str:
    shown = question if len(question) <= limit else question[:limit] + f"… ({len(question):,}자)"
    return f'<div class="pr-q">{_lines(escape(shown))}</div>'


def render_draft_html(text: str, verdicts: Sequence[AnswerSentence] = ()) -> str:
    """A streaming answer before the checked one replaces it. Sentences the support check has
    already rejected (``verdicts``, in the order the model wrote them) are struck through, with the
    reason on hover: the final answer leaves them out."""
    if not text:
        return '<div class="pr-draft"><span class="pr-cursor">검색 중… (searching)</span></div>'
    html = render_answer_text(_mark_rejected(text, verdicts))
    html = html.replace("\x01", '<span class="pr-unsupported" title="').replace("\x02", '">')
    html = html.replace("\x03", "</span>")
    return f'<div class="pr-draft">{html}<span class="pr-cursor"> ▍</span></div>'


def _mark_rejected(text: str, verdicts: Sequence[AnswerSentence]) -> str:
    """``text`` with each rejected sentence wrapped in control characters that render_draft_html
    turns into a span after escaping (so a sentence's own "<" or quotes stay text)."""
    from rag.support import split_sentences

    if not any(not v.supported for v in verdicts):
        return text
    out, cursor = [], 0
    for sentence, verdict in zip(split_sentences(text), verdicts):
        at = text.find(sentence.raw, cursor)
        if at < 0:
            continue
        end = at + len(sentence.raw)
        if not verdict.supported:
            # brackets would be styled as citations inside the title attribute
            reason = re.sub(r"[\x00-\x1f\[\]]", " ", f"removed: {verdict.reason}" if verdict.reason else "removed")
            out.append(text[cursor:at] + "\x01" + reason + "\x02" + text[at:end] + "\x03")
        else:
            out.append(text[cursor:end])
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def render_error_html(message: str) -> str:
    return f'<div class="pr-error">⚠ {escape(one_line(message))}</div>'


def render_notice_html(message: str) -> str:
    """A reply that is neither an answer nor an error: the chat asks back or explains why it did not search."""
    return f'<div class="pr-answer pr-askback" data-refused="true">{_lines(escape(message))}</div>'


def answer_markdown(answer: Answer, question: str | None = None) -> str:
    """The answer as a Markdown document: question, answer with its [n], then each numbered source
    with title, agency, date, link and the quoted passage (what the download button gives)."""
    lines = [f"# {question or answer.question}", "", answer.answer.strip(), ""]
    if answer.note:
        lines += [f"> {one_line(answer.note, 500)}", ""]
    if answer.citations:
        lines += ["## 출처 (Sources)", ""]
    for c in answer.citations:
        where = safe_url(c.url) or shown_source(c)
        meta = ", ".join(part for part in (c.agency, c.published, where) if part)
        lines.append(f"[{c.n}] **{c.title or c.doc_id}** — {meta}")
        quote = " ".join((c.quote or "").split())
        if quote:
            lines.append(f"    > {quote}")
        attr = attribution(c)
        if attr:
            lines.append(f"    {attr}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


KEEP_DOWNLOADS = 200  # answer files kept for the download button; older ones are deleted
_downloads: Path | None = None
_downloads_lock = threading.Lock()
_download_count = 0


def _downloads_folder() -> Path:
    """This process's folder of answer files, made on first use and removed at exit."""
    global _downloads
    if _downloads is None:
        import atexit

        _downloads = Path(tempfile.mkdtemp(prefix="pressrag-answers-"))
        atexit.register(shutil.rmtree, _downloads, True)
    return _downloads


def write_answer_markdown(answer: Answer, question: str | None = None, keep: int = KEEP_DOWNLOADS) -> Path:
    """``answer_markdown`` in a new file of this process's download folder (Gradio serves files from
    the temp folder). Every answer gets one, so the folder keeps only the newest ``keep``: before, a
    server left one temporary folder per answer behind for good."""
    global _download_count
    with _downloads_lock:
        folder = _downloads_folder()
        _download_count += 1  # names sort in the order written (the time alone repeats within a second)
        path = folder / f"pressrag-answer-{time.strftime('%Y%m%d-%H%M%S')}-{_download_count:07d}.md"
        path.write_text(answer_markdown(answer, question), encoding="utf-8")
        files = sorted(folder.glob("pressrag-answer-*.md"))
        for old in files[:-keep] if keep > 0 else []:
            old.unlink(missing_ok=True)
    return path


def render_problem_html(problem: Exception) -> str:
    """A question the search could not take, as the chat shows it.

    Filters that hide every notice are a notice (widen them), not an error and not "not found".
    """
    from rag.retrieve import NothingToSearch

    if isinstance(problem, NothingToSearch):
        return render_notice_html(NO_MATCH_FILTERS)
    return render_error_html(str(problem))


def render_corpus_html(summary: CorpusSummary, max_agencies: int = 8, index_dir: Path | None = None) -> str:
    from rag.sync import last_synced

    agencies = [a for a, _ in summary.agencies if a and a != "(unknown)"]
    synced = last_synced(index_dir) if index_dir is not None else ""
    listed = ", ".join(f"{escape(a)} {n}" for a, n in summary.agencies[:max_agencies] if a != "(unknown)")
    more = f" 외 {len(agencies) - max_agencies}곳" if len(agencies) > max_agencies else ""
    span = (f"{escape(summary.first_published)} ~ {escape(summary.last_published)}"
            if summary.first_published else "(날짜 없음)")
    return (
        '<div class="pr-corpus">'
        f'<div><b id="pr-count">{summary.notices:,}</b>건의 보도자료 · {summary.chunks:,}개 구간 · '
        f'<b>{len(agencies)}</b>개 기관</div>'
        f'<div>기간: {span}</div>'
        f'<div class="pr-meta">{listed}{more}</div>'
        f'<div class="pr-meta">임베딩 모델: {escape(summary.model)}</div>'
        + (f'<div class="pr-meta" id="pr-synced">마지막 동기화 (last synced): {escape(synced)}</div>' if synced else "")
        + "</div>"
    )


def agency_choices(summary: CorpusSummary) -> list[tuple[str, str]]:
    """(label, value) pairs for the agency filter, most notices first."""
    return [(f"{a} ({n})", a) for a, n in summary.agencies if a and a != "(unknown)"]


def footer_html() -> str:
    return (
        f'<div id="pr-footer"><div>{escape(KOGL_NOTICE)}</div>'
        f'<div>{escape(BIDPRO_NOTICE)}</div>'
        "<div>답변은 색인된 보도자료의 문장을 인용합니다. 인용 번호 [n]의 원문을 확인하세요. "
        "모든 처리는 이 컴퓨터에서만 이루어집니다 (no network at run time).</div></div>"
    )


# -- asking ----------------------------------------------------------------------------------------


def make_filters(agencies: Sequence[str] | str | None, since: str | None, until: str | None,
                 source_types: Sequence[str] | str | None = None):
    """Filters from the form fields; QueryProblem (one line) for a bad date."""
    from rag.retrieve import Filters

    if isinstance(agencies, str):
        agencies = [agencies]
    if isinstance(source_types, str):
        source_types = [source_types]
    return Filters(agencies=tuple(a for a in (agencies or ()) if a),
                   since=(since or "").strip(), until=(until or "").strip(),
                   source_types=tuple(t for t in (source_types or ()) if t))


def check_question(question: str | None) -> str:
    """The question stripped; QueryProblem when it is empty or too long to search."""
    from rag.retrieve import QueryProblem

    text = (question or "").strip()
    if not text:
        raise QueryProblem(EMPTY_QUESTION)
    if len(text) > MAX_QUESTION_CHARS:
        raise QueryProblem(f"질문이 너무 깁니다: {len(text):,}자 (최대 {MAX_QUESTION_CHARS:,}자). "
                           f"(The question is too long: at most {MAX_QUESTION_CHARS:,} characters.)")
    return text


def answer_events(assistant: Assistant, question: str, k: int = 8, filters=None,
                  pace_s: float = 0.0) -> Iterator[str | AnswerSentence | Answer]:
    """Text deltas of the answer as it forms, then the final Answer (always last).

    A generative answerer (one with ``.stream``) streams the model's draft with each
    sentence's verdict (AnswerSentence) once it is complete, and the checked Answer replaces it. The extractive answer is yielded sentence by sentence.
    QueryProblem / IndexProblem are raised before anything is yielded.
    """
    if callable(getattr(assistant.answerer, "stream", None)):
        yield from _stream_generative(assistant, question, k, filters)
        return
    answer = assistant.ask(question, k=k, filters=filters)
    if not answer.refused:
        lines = answer.answer.splitlines(keepends=True)
        for i, line in enumerate(lines):
            yield line
            if pace_s and i + 1 < len(lines):
                time.sleep(pace_s)
    yield answer


def _stream_generative(assistant: Assistant, question: str, k: int, filters) -> Iterator[str | Answer]:
    # Assistant.stream runs in its own thread that always finishes, so a closed browser tab
    # never leaves a model call or the assistant's lock half-way.
    events: queue.Queue = queue.Queue()

    def work() -> None:
        try:
            for item in assistant.stream(question, k=k, filters=filters):
                events.put(("final" if isinstance(item, Answer) else "delta", item))  # deltas and verdicts
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            events.put(("error", exc))

    threading.Thread(target=work, name="pressrag-answer", daemon=True).start()
    while True:
        kind, value = events.get()
        if kind == "delta":
            yield value
        elif kind == "final":
            yield value
            return
        else:
            raise value


# -- uploads -----------------------------------------------------------------------------------------

_INGEST_LOCK = threading.Lock()


class _LockedEmbedder:
    """The assistant's embedder, used under its lock one batch at a time (questions interleave)."""

    def __init__(self, inner, lock):
        self.inner = inner
        self.lock = lock
        self.name = inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed_passages(self, texts):
        with self.lock:
            return self.inner.embed_passages(texts)

    def embed_query(self, text):
        with self.lock:
            return self.inner.embed_query(text)


@dataclass
class UploadReport:
    message: str  # plain text, several lines
    notices_added: int = 0
    problems: int = 0
    changed: bool = False


def _upload_path(item) -> Path | None:
    if item is None:
        return None
    if isinstance(item, (str, Path)):
        return Path(item)
    for attr in ("path", "name"):
        value = item.get(attr) if isinstance(item, dict) else getattr(item, attr, None)
        if value:
            return Path(value)
    return None


def _upload_destination(path: Path, target: Path) -> Path:
    """Where an upload is kept: its own name, or "name (2).ext" … when another file holds that name.

    An upload never replaces an earlier one (a re-upload under the same name is a new notice); the
    same bytes uploaded again map to the copy already kept, so they are not indexed twice.
    """
    from ingest.readers import file_digest

    digest = file_digest(path)
    for n in range(1, 10_000):
        dest = target / (path.name if n == 1 else f"{path.stem} ({n}){path.suffix}")
        if not dest.exists() or file_digest(dest) == digest:
            return dest
    raise OSError(f"too many uploads named {path.name}")


def ingest_uploads(assistant: Assistant, files, uploads_dir: Path | None = None,
                   on_progress: Callable[[int, int], None] | None = None) -> UploadReport:
    """Add uploaded files to the assistant's index and swap the new index in.

    The files are copied beside the index (so their source paths stay valid) and
    indexed with IndexUpdater, which writes the index atomically: a failure leaves
    the previous index in place. Every file that could not be used is reported
    with its name and the reason. Never raises for a bad file.
    """
    from ingest.readers import supported_suffixes
    from rag.build import IndexUpdater
    from rag.index import IndexProblem, NoticeIndex

    suffixes = supported_suffixes()
    paths = [p for p in (_upload_path(f) for f in (files or [])) if p is not None]
    if not paths:
        return UploadReport(f"업로드된 파일이 없습니다. (No file was uploaded; supported: {' '.join(suffixes)})")
    if assistant.index_dir is None:
        return UploadReport("이 서버는 색인 폴더 없이 열려 업로드를 받을 수 없습니다. (Uploads are off: no index folder.)")
    target = Path(uploads_dir) if uploads_dir is not None else uploads_dir_for(assistant.index_dir)
    problems: list[tuple[str, str]] = []
    ready: list[Path] = []
    for path in paths:
        name = path.name
        if path.suffix.lower() not in suffixes:
            problems.append((name, f"unsupported file type {path.suffix or '(none)'}; supported: {', '.join(suffixes)}"))
            continue
        try:
            size = path.stat().st_size
        except OSError as exc:
            problems.append((name, f"the upload cannot be read ({exc.strerror or exc})"))
            continue
        if size == 0:
            problems.append((name, "empty file (0 bytes)"))
            continue
        try:
            target.mkdir(parents=True, exist_ok=True)
            dest = _upload_destination(path, target)
            if path.resolve() != dest.resolve() and not dest.exists():
                shutil.copyfile(path, dest)
            ready.append(dest)
            log.info("upload %s (%d bytes) from %s kept as %s", name, size, path.parent.name[:12], dest.name)
        except OSError as exc:
            problems.append((name, f"cannot store the upload ({exc.strerror or exc})"))

    result = None
    if ready:
        embedder = _LockedEmbedder(assistant.retriever.embedder, assistant.lock)
        try:
            with _INGEST_LOCK:
                updater = IndexUpdater(embedder, progress=False, on_progress=on_progress)
                result = updater.run(Path(assistant.index_dir), ready)
                if result.files_indexed:
                    assistant.replace_index(NoticeIndex.load(assistant.index_dir, expected_model=embedder.name))
        except (IndexProblem, OSError, ValueError) as exc:
            return UploadReport(f"업로드 실패, 색인은 바뀌지 않았습니다 (upload failed; the index is unchanged): "
                                f"{one_line(exc)}", problems=len(paths))
        prefix = str(target) + os.sep
        for skip in result.skipped:
            shown = skip.path[len(prefix):] if skip.path.startswith(prefix) else skip.path
            problems.append((shown, skip.reason))

    summary = assistant.summary()
    lines = []
    if result is not None:
        lines.append(f"{len(paths)}개 파일 중 {result.files_indexed}개 색인, {result.files_unchanged}개 변경 없음 "
                     f"(+{result.notices_added} notices, +{result.chunks_added} chunks, {result.seconds:.1f} s).")
    if result is None or not result.notices_added:
        lines.append("추가된 보도자료가 없습니다. (No notices were added.)")
    if problems:
        lines.append("색인하지 못한 파일 (not indexed):")
        lines.extend(f"  - {name}: {one_line(reason)}" for name, reason in problems)
    lines.append(f"색인 현황: 보도자료 {summary.notices:,}건, 구간 {summary.chunks:,}개, 기관 "
                 f"{len([a for a, _ in summary.agencies if a != '(unknown)'])}곳.")
    return UploadReport("\n".join(lines), notices_added=result.notices_added if result else 0,
                        problems=len(problems), changed=bool(result and result.files_indexed))


def render_upload_report(report: UploadReport) -> str:
    css = "pr-error" if report.problems and not report.notices_added else "pr-upload"
    return f'<div class="{css}" id="pr-upload-report">{_lines(escape(report.message))}</div>'


def remove_uploads(assistant: Assistant, doc_ids: Sequence[str]) -> UploadReport:
    """Remove uploaded notices (and the copies of their files) and swap the new index in."""
    from rag.index import IndexProblem, NoticeIndex
    from rag.manage import list_notices, remove_notices

    wanted = [d for d in (doc_ids or []) if d]
    if not wanted:
        return UploadReport("삭제할 보도자료를 고르세요. (Choose the uploaded notices to remove.)")
    if assistant.index_dir is None:
        return UploadReport("색인 폴더가 없습니다. (No index folder.)", problems=1)
    uploaded = {n.doc_id for n in list_notices(assistant.index, assistant.index_dir, uploads_only=True)}
    others = [d for d in wanted if d not in uploaded]
    if others:  # the web page removes uploads only; the operator removes anything with `pressrag remove`
        return UploadReport(f"업로드한 보도자료만 삭제할 수 있습니다 (only uploaded notices can be removed here): "
                            f"{', '.join(others)}", problems=1)
    try:
        with _INGEST_LOCK:
            removal = remove_notices(Path(assistant.index_dir), wanted, announce=False)
            assistant.replace_index(NoticeIndex.load(assistant.index_dir,
                                                     expected_model=assistant.retriever.embedder.name))
    except (IndexProblem, OSError) as exc:
        return UploadReport(f"삭제 실패, 색인은 바뀌지 않았습니다 (removal failed; the index is unchanged): "
                            f"{one_line(exc)}", problems=1)
    return UploadReport(f"삭제함 (removed): {', '.join(removal.removed)}. 색인 현황: 보도자료 "
                        f"{removal.notices_total:,}건.", changed=True)


def uploaded_choices(assistant: Assistant) -> list[tuple[str, str]]:
    """(label, doc id) of every uploaded notice, for the removal list."""
    from rag.manage import list_notices

    return [(f"{n.doc_id} — {n.title[:60]}", n.doc_id)
            for n in list_notices(assistant.index, assistant.index_dir, uploads_only=True)]


class IndexWatch:
    """Reloads the assistant's index when another process (an ingest, a sync) switched the snapshot,
    so a new visitor sees the corpus as it is now, not as it was when the server started."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        self.snapshot = self._current()

    def _current(self) -> Path | None:
        from rag.folder import IndexFolder

        if self.assistant.index_dir is None:
            return None
        try:
            return IndexFolder(self.assistant.index_dir).current()
        except OSError:
            return None

    def refresh(self) -> bool:
        """True when a newer snapshot was loaded."""
        from rag.index import IndexProblem, NoticeIndex

        now = self._current()
        if now is None or now == self.snapshot:
            return False
        try:
            index = NoticeIndex.load(self.assistant.index_dir, expected_model=self.assistant.retriever.embedder.name)
        except IndexProblem as exc:  # keep serving the index in memory
            log.warning("index changed on disk but cannot be loaded: %s", exc)
            return False
        self.assistant.replace_index(index)
        self.snapshot = now
        return True


def source_type_choices(assistant: Assistant) -> list[str]:
    return sorted({n.source_type for n in assistant.index.notices.values() if n.source_type})


# -- the UI -------------------------------------------------------------------------------------------


def _fresh_state(state: Any) -> dict:
    state = state if isinstance(state, dict) else {}
    return {"messages": list(state.get("messages", [])), "questions": list(state.get("questions", [])),
            "last": state.get("last", "")}


def build_ui(assistant: Assistant, settings: Settings, allow_uploads: bool | None = None):
    """The Blocks app (not launched). Pass ``launch_options()`` to ``launch`` for the page style.

    Uploads (and removing uploaded notices) are shown only with ``allow_uploads`` (default:
    ``settings.allow_uploads``, off): an upload changes what every visitor's answers are built from.
    """
    import gradio as gr

    from rag.index import IndexProblem
    from rag.retrieve import QueryProblem

    if allow_uploads is None:
        allow_uploads = bool(getattr(settings, "allow_uploads", False))
    k = int(getattr(settings, "k", 8) or 8)
    watch = IndexWatch(assistant)
    summary = assistant.summary()

    def respond(message, state, agencies, since, until, source_types):
        state = _fresh_state(state)
        messages, questions = state["messages"], state["questions"]
        keep_box = gr.skip()  # the box is cleared once, when the question is taken; never while streaming
        download = gr.skip()

        def out(box=keep_box):
            return (list(messages), {"messages": list(messages), "questions": list(questions), "last": state["last"]},
                    box, download)

        try:
            text = check_question(message)
        except QueryProblem as exc:
            if (message or "").strip():
                messages.append({"role": "user", "content": render_question_html(message.strip())})
            messages.append({"role": "assistant", "content": render_error_html(str(exc))})
            yield out()  # the typed text stays in the box, to be shortened and sent again
            return
        state["last"] = text
        messages.append({"role": "user", "content": render_question_html(text)})
        if is_follow_up(text) and not questions:
            messages.append({"role": "assistant", "content": render_notice_html(NO_HISTORY)})
            yield out("")
            return
        messages.append({"role": "assistant", "content": render_draft_html("")})
        yield out("")
        resolved = resolve_follow_up(text, questions)
        draft, answer, verdicts = "", None, []
        try:
            try:
                filters = make_filters(agencies, since, until, source_types)
            except QueryProblem as exc:
                raise QueryProblem(f"날짜는 YYYY-MM-DD 형식으로 입력하세요 (dates as YYYY-MM-DD): {exc}") from None
            for item in answer_events(assistant, resolved, k=k, filters=filters, pace_s=0.03):
                if isinstance(item, str):
                    draft += item
                    messages[-1] = {"role": "assistant", "content": render_draft_html(draft, verdicts)}
                    yield out()
                elif isinstance(item, AnswerSentence):  # a generated sentence the check has judged
                    verdicts.append(item)
                    if not item.supported:
                        messages[-1] = {"role": "assistant", "content": render_draft_html(draft, verdicts)}
                        yield out()
                else:
                    answer = item
            messages[-1] = {"role": "assistant", "content": render_answer_html(
                answer, assistant.index.notices, resolved=resolved if resolved != text else None)}
            questions.append(text)
            if not answer.refused:
                download = gr.DownloadButton(value=str(write_answer_markdown(answer, text)), visible=True)
        except (QueryProblem, IndexProblem) as exc:
            messages[-1] = {"role": "assistant", "content": render_problem_html(exc)}
        except Exception as exc:  # noqa: BLE001 - the page gets one line, the log the traceback
            log.exception("answering %r failed", text[:200])
            messages[-1] = {"role": "assistant", "content": render_error_html(
                f"내부 오류 (internal error: {type(exc).__name__}: {one_line(exc, 160)}); 서버 로그를 확인하세요.")}
        yield out()

    def retry(state, agencies, since, until, source_types):
        """Gradio's retry button: ask the last question again in place of its answer."""
        state = _fresh_state(state)
        last = state.get("last", "")
        if not last:
            yield list(state["messages"]), state, gr.skip(), gr.skip()
            return
        messages = state["messages"]
        while messages and messages[-1]["role"] == "assistant":
            messages.pop()
        if messages and messages[-1]["role"] == "user":
            messages.pop()
        if state["questions"] and state["questions"][-1] == last:
            state["questions"].pop()
        for update in respond(last, state, agencies, since, until, source_types):
            chat, new_state, _box, download = update
            yield chat, new_state, gr.skip(), download

    def new_chat():
        return [], {"messages": [], "questions": [], "last": ""}, "", gr.DownloadButton(visible=False)

    def refresh():
        watch.refresh()
        now = assistant.summary()
        outputs = [render_corpus_html(now, index_dir=assistant.index_dir), gr.Dropdown(choices=agency_choices(now)),
                   gr.Dropdown(choices=source_type_choices(assistant))]
        if allow_uploads:
            outputs.append(gr.Dropdown(choices=uploaded_choices(assistant), value=[]))
        return tuple(outputs)

    def upload(files, progress=gr.Progress()):
        progress(0, desc="파일 읽는 중 (reading)")

        def on_progress(done: int, total: int) -> None:
            progress(done / total if total else 1.0, desc=f"임베딩 (embedding) {done}/{total}")

        try:
            report = ingest_uploads(assistant, files, on_progress=on_progress)
        except Exception as exc:  # noqa: BLE001 - the server keeps running; the log gets the traceback
            log.exception("upload failed")
            report = UploadReport(f"업로드 실패 (upload failed): {type(exc).__name__}: {one_line(exc, 200)}",
                                  problems=1)
        watch.snapshot = watch._current()
        return (render_upload_report(report), *refresh(), None)

    def remove(doc_ids):
        report = remove_uploads(assistant, doc_ids)
        # Logged like uploads: what the page sent and what came of it, to tell a page's stale choice
        # from a failed removal when a visitor reports one.
        log.info("remove %s: %s", list(doc_ids or []), one_line(report.message, 200))
        watch.snapshot = watch._current()
        return (render_upload_report(report), *refresh())

    with gr.Blocks(title=TITLE, analytics_enabled=False, fill_width=False) as demo:
        state = gr.State({"messages": [], "questions": [], "last": ""})
        gr.HTML(f"<h2 style='margin:0.2em 0'>{escape(TITLE)}</h2>"
                "<div class='pr-meta'>정부 보도자료에서 답을 찾아 문장을 그대로 인용하고, 인용마다 원문 구절을 보여 줍니다. "
                "(Answers quote the indexed press releases; every [n] links to its passage.)</div>")
        with gr.Row():
            with gr.Column(scale=3, min_width=420):
                chatbot = gr.Chatbot(label="대화 (Chat)", elem_id="pr-chat", height=640, latex_delimiters=[],
                                     autoscroll=False,  # HEAD_JS shows each new question and its answer's start
                                     sanitize_html=True, render_markdown=True, feedback_options=None,
                                     group_consecutive_messages=False, buttons=["copy", "copy_all"],
                                     placeholder="보도자료에 대해 질문하세요. 예: 전자정부 2020의 5대 전략은?")
                with gr.Row(equal_height=True):
                    question = gr.Textbox(show_label=False, placeholder="질문을 입력하고 Enter (Ask a question)",
                                          elem_id="pr-question", scale=6, lines=1, max_lines=6, autofocus=True)
                    ask = gr.Button("질문 (Ask)", variant="primary", elem_id="pr-ask", scale=1, min_width=90)
                    stop = gr.Button("중지 (Stop)", variant="stop", elem_id="pr-stop", scale=1, min_width=70)
                    clear = gr.Button("새 대화 (New chat)", elem_id="pr-clear", scale=1, min_width=90)
                download = gr.DownloadButton("답변과 출처 내려받기 (Download answer, .md)", visible=False,
                                             elem_id="pr-download", size="sm")
                gr.Examples(examples=[[q] for q in EXAMPLES], inputs=[question], label="예시 질문 (Examples)")
            with gr.Column(scale=2, min_width=300):
                with gr.Accordion("검색 범위 (Filters)", open=True):
                    agencies = gr.Dropdown(choices=agency_choices(summary), value=[], multiselect=True,
                                           label="기관 (Agency)", elem_id="pr-agency")
                    with gr.Row():
                        # Gradio's date input: a calendar, or typed YYYY-MM-DD (or "now - 30d"). It marks
                        # a date it cannot read and does not send it; make_filters' one-line message
                        # still answers a bad date sent through the API.
                        since = gr.DateTime(label="시작일 (since)", include_time=False, type="string",
                                            elem_id="pr-since")
                        until = gr.DateTime(label="종료일 (until)", include_time=False, type="string",
                                            elem_id="pr-until")
                    source_types = gr.Dropdown(choices=source_type_choices(assistant), value=[], multiselect=True,
                                               label="출처 유형 (Source type)", elem_id="pr-source-type")
                with gr.Accordion("색인 (Corpus)", open=True):
                    corpus = gr.HTML(render_corpus_html(summary, index_dir=assistant.index_dir), elem_id="pr-corpus")
                    uploaded = None
                    if allow_uploads:
                        # Files are indexed as soon as the browser has sent them (the File box's upload
                        # event carries exactly those files). A separate "Add" button raced the upload: a
                        # click before the browser had finished sending sent the box's previous value.
                        files = gr.File(label="보도자료 추가: 올리면 바로 색인됩니다 (added to the index on upload; "
                                              ".txt .md .jsonl .pdf .hwp .hwpx)", file_count="multiple",
                                        file_types=list(UPLOAD_SUFFIXES), elem_id="pr-upload")
                        uploaded = gr.Dropdown(choices=uploaded_choices(assistant), value=[], multiselect=True,
                                               label="업로드한 보도자료 (Uploaded notices)", elem_id="pr-uploaded")
                        remove_button = gr.Button("선택한 업로드 삭제 (Remove)", elem_id="pr-remove", variant="stop")
                        report = gr.HTML("", elem_id="pr-report")
                    else:
                        gr.HTML("<div class='pr-meta' id='pr-uploads-off'>이 서버는 업로드를 받지 않습니다 "
                                "(uploads are off; the operator can start it with --allow-uploads).</div>")
        gr.HTML(footer_html())

        chat_inputs = [question, state, agencies, since, until, source_types]
        chat_outputs = [chatbot, state, question, download]
        # "always_last": a question sent while an answer streams waits in the box and runs next,
        # instead of being dropped. Up to 8 questions answer at once: questions that arrive together
        # have their vectors embedded as one batch (rag/embed.py QueryBatcher), so 8 at once take ~0.55 of
        # their one-at-a-time time on 2 cores (eval/bench_scale.py concurrency); a 9th waits its turn.
        events = [trigger(respond, chat_inputs, chat_outputs, concurrency_limit=CHAT_CONCURRENCY, concurrency_id="chat",
                          show_progress="hidden", trigger_mode="always_last")
                  for trigger in (question.submit, ask.click)]
        events.append(chatbot.retry(retry, chat_inputs[1:], chat_outputs, concurrency_limit=CHAT_CONCURRENCY,
                                    concurrency_id="chat", show_progress="hidden"))
        stop.click(None, None, None, cancels=events, queue=False)
        clear.click(new_chat, None, chat_outputs, queue=False)
        chatbot.clear(new_chat, None, chat_outputs, queue=False)
        refresh_outputs = [corpus, agencies, source_types] + ([uploaded] if allow_uploads else [])
        demo.load(refresh, None, refresh_outputs, queue=False)
        if allow_uploads:
            files.upload(upload, [files], [report, *refresh_outputs, files], concurrency_limit=1,
                         concurrency_id="upload")
            remove_button.click(remove, [uploaded], [report, *refresh_outputs], concurrency_limit=1,
                                concurrency_id="upload")
    demo.queue(default_concurrency_limit=2, max_size=64)
    return demo


def launch_options() -> dict:
    """Page options for ``Blocks.launch`` (Gradio 6 takes theme and css there): local fonts only."""
    import gradio as gr

    theme = gr.themes.Default(font=["NanumGothic", "Nanum Gothic", "Noto Sans CJK KR", "ui-sans-serif",
                                    "system-ui", "sans-serif"],
                              font_mono=["NanumGothicCoding", "ui-monospace", "monospace"])
    return {"theme": theme, "css": CSS, "head": HEAD_JS, "footer_links": ["settings"]}


def launch(settings: Settings) -> None:
    """Open the assistant for ``settings``, build the UI and serve it (blocks until stopped)."""
    from rag.service import open_assistant

    assistant = open_assistant(settings, warm=True)
    demo = build_ui(assistant, settings)
    log.info("web chat on http://%s:%s/ (uploads %s)", settings.host, settings.port,
             "ON: visitors can add notices to the shared index" if settings.allow_uploads else "off")
    demo.launch(server_name=settings.host, server_port=settings.port, share=False, inbrowser=False,
                show_error=False, ssr_mode=False, pwa=False, mcp_server=False,
                max_file_size=200 * 1024 * 1024, **launch_options())


def serve(
    host: str | None = None,
    port: int | None = None,
    index: Path | None = None,
    allow_uploads: bool = False,
    demo: bool = False,
) -> None:
    """Start the web chat on 127.0.0.1 (no share link, no analytics); uploads only with --allow-uploads."""
    import typer

    from rag.cli import _known_errors, _settings

    settings = _settings(index=index, host=host, port=port, demo=demo or None, allow_uploads=allow_uploads or None)
    try:
        launch(settings)
    except _known_errors() as exc:
        typer.echo(f"error: {one_line(exc)}", err=True)
        raise typer.Exit(1) from None


def register_serve(cli) -> None:
    """Add ``serve`` to the ``pressrag`` command group (rag/ never imports the web app)."""
    import typer

    # Annotations are evaluated in this module's globals (typer reads them): builtin types only.
    def serve_command(
        host: str | None = typer.Option(None, "--host", help="Address to listen on (default 127.0.0.1 or "
                                           "$PRESSRAG_HOST; 0.0.0.0 shares the chat on the network)"),
        port: int | None = typer.Option(None, "--port", help="Port (default 7860 or $PRESSRAG_PORT)"),
        index: Path | None = typer.Option(None, "--index", help="Index folder (default: $PRESSRAG_INDEX or the "
                                             "user data dir, where the demo corpus is built when missing)"),
        allow_uploads: bool = typer.Option(False, "--allow-uploads", help="Let visitors add notices to the shared "
                                           "index (and remove uploaded ones); off by default ($PRESSRAG_ALLOW_UPLOADS)"),
        demo: bool = typer.Option(False, "--demo", help="Build the demo corpus's index at --index if it has none"),
    ) -> None:
        serve(host=host, port=port, index=index, allow_uploads=allow_uploads, demo=demo)

    serve_command.__doc__ = serve.__doc__
    cli.command("serve")(serve_command)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="app.py", description="pressrag web chat (127.0.0.1 by default)")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1, or PRESSRAG_HOST)")
    parser.add_argument("--port", type=int, help="port (default 7860, or PRESSRAG_PORT)")
    parser.add_argument("--index", type=Path, help="index folder (default: PRESSRAG_INDEX or the user data dir, "
                        "where the demo corpus is built when missing)")
    parser.add_argument("--allow-uploads", action="store_true", default=None,
                        help="let visitors add notices to the shared index (off by default)")
    args = parser.parse_args(argv)
    from rag.folder import IndexProblem
    from rag.settings import SettingsProblem, load_settings

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        launch(load_settings(host=args.host, port=args.port, index=args.index, allow_uploads=args.allow_uploads))
    except (SettingsProblem, IndexProblem, OSError) as exc:
        sys.exit(f"error: {one_line(exc)}")


if __name__ == "__main__":
    main()
