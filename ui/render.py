"""What the web chat shows, as HTML and Markdown: answers with their [n], the cited passages with the
quoted sentences marked, drafts while an answer streams, errors, the corpus card, the footer, and the
answer file the download button gives.

Plain functions with no gradio, so tests check the HTML without a browser. Every notice text and
question is HTML-escaped here before it reaches the page, and no absolute server path is shown
(hide_paths, shown_source).
"""

from __future__ import annotations

import html
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.readers import supported_suffixes
from rag.types import Answer, AnswerSentence, Citation

if TYPE_CHECKING:  # pragma: no cover
    from ingest.models import Notice
    from rag.service import CorpusSummary

SHOWN_QUESTION_CHARS = 600
KOGL_NOTICE = "출처: 각 부처 보도자료, 정책브리핑(www.korea.kr) — 공공누리 제1유형(출처표시)"
BIDPRO_NOTICE = ("「전자정부 2020 기본계획」 공지(2016-04-01, 행정자치부)는 입찰정보 사이트 비드프로(BidPro)의 "
                 "‘국가기관(보도자료)’ 게시판에 게재된 페이지를 그대로 읽은 것입니다 (첨부 .hwp/.pdf는 포함되지 않음).")
NO_MATCH_FILTERS = ("선택한 검색 범위(기관·기간·유형)에 해당하는 보도자료가 없습니다. 필터를 넓혀 주세요. "
                    "(The filters leave no notice to search: widen them.)")


def escape(text: object) -> str:
    """HTML-escape anything shown on the page (quotes too: values also go into attributes)."""
    return html.escape("" if text is None else str(text), quote=True)


def html_lines(escaped: str) -> str:
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

    return html_lines(_CITE.sub(cite, escape(text)))


_ABS_PATH = re.compile(r"(?<![\w.:/])/(?:[^\s/:;,'\"()]+/)+([^\s/:;,'\"()]+)")


def hide_paths(text: str) -> str:
    """``text`` with absolute server paths shortened to their last part (visitors never see the layout)."""
    return _ABS_PATH.sub(lambda m: m.group(1), text)


def shown_source(citation: Citation) -> str:
    """How a file-read notice names its file to a visitor: the path relative to what was ingested
    (the notice id of a whole-file notice) or the file's name; never the server's absolute path."""
    doc_id = citation.doc_id or ""
    if Path(doc_id).suffix.lower() in supported_suffixes() and not doc_id.startswith("/"):
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
        return html_lines(escape(head)) + ("…" if len(body) > len(head) else "")
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
    return html_lines(_BLANK_LINES.sub("\n", html_text))


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
                    anchor: str | None = None, opened: bool = True) -> str:
    """One cited source: number, title, agency, date, link, the passage with the cited sentences marked
    (``opened``: the passage shows; otherwise one click opens it)."""
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
    if citation.also:  # the same notice published elsewhere too (a repost): where, so any copy can be checked
        meta.append('<span class="pr-also">같은 글 (also published): '
                    + ", ".join(_address_html(a) for a in citation.also) + "</span>")
    body = getattr(notice, "body", None) if notice is not None else None
    if highlight and body and citation.spans:
        passage = highlight_passage(body, citation.spans)
    elif highlight:
        passage = f"<mark>{html_lines(escape(citation.quote))}</mark>" if citation.quote else ""
    else:
        passage = html_lines(escape(citation.quote))
    attr = attribution(citation, notice)
    target = f' id="{source_anchor(anchor, citation.n)}" tabindex="-1"' if anchor else ""
    return (
        f'<details class="pr-source"{target} data-n="{citation.n}" data-doc="{escape(citation.doc_id)}"{" open" if opened else ""}>'
        f'<summary><span class="pr-n">[{citation.n}]</span> <span class="pr-title">{escape(citation.title or citation.doc_id)}</span></summary>'
        f'<div class="pr-meta">{" · ".join(meta)}</div>'
        f'<div class="pr-passage">{passage}</div>'
        + (f'<div class="pr-attr">{escape(attr)}</div>' if attr else "")
        + "</details>"
    )


def shown_address(address: str) -> str:
    """A copy's address as a visitor sees it: a web address, or a file's name (never the server's path)."""
    return safe_url(address) or Path(address).name


def _address_html(address: str) -> str:
    url = safe_url(address)
    if url:
        return f'<a href="{escape(url)}" target="_blank" rel="noopener noreferrer">{escape(url)}</a>'
    return f"<code>{escape(shown_address(address))}</code>"


def render_sources(citations: Sequence[Citation], notices: Mapping[str, Notice] | None = None,
                   title: str = "출처 (Sources)", highlight: bool = True, anchor: str | None = None,
                   opened: bool = True) -> str:
    if not citations:
        return ""
    notices = notices or {}
    items = "".join(render_citation(c, notices.get(c.doc_id), highlight=highlight, anchor=anchor, opened=opened)
                    for c in citations)
    return f'<div class="pr-sources"><div class="pr-sources-title">{escape(title)}</div>{items}</div>'


def related_title(answer: Answer) -> str:
    """The heading of ``answer.related``: a refusal's nearest notices, or an answer's see-also."""
    return ("가장 가까운 보도자료 (Nearest notices)" if answer.refused
            else "함께 볼 보도자료 (See also: close to the question, not quoted)")


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
    if answer.related:
        parts.append(render_sources(answer.related, notices, title=related_title(answer), highlight=False,
                                    opened=answer.refused))
    total = (answer.timings_ms or {}).get("total_ms")
    if total is not None:
        parts.append(f'<div class="pr-timing">{total / 1000:.1f} s</div>')
    parts.append("</div>")
    return "".join(parts)


def render_question_html(question: str, limit: int = SHOWN_QUESTION_CHARS) -> str:
    shown = question if len(question) <= limit else question[:limit] + f"… ({len(question):,}자)"
    return f'<div class="pr-q">{html_lines(escape(shown))}</div>'


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
    return f'<div class="pr-answer pr-askback" data-refused="true">{html_lines(escape(message))}</div>'


def _markdown_meta(c: Citation) -> str:
    """A source's line in the downloaded answer, after its title: agency, date, link or file, each only
    where known (the same for sources and see-also)."""
    return ", ".join(part for part in (c.agency, c.published, safe_url(c.url) or shown_source(c)) if part)


def answer_markdown(answer: Answer, question: str | None = None) -> str:
    """The answer as a Markdown document: question, answer with its [n], then each numbered source
    with title, agency, date, link and the quoted passage (what the download button gives)."""
    lines = [f"# {question or answer.question}", "", answer.answer.strip(), ""]
    if answer.note:
        lines += [f"> {one_line(answer.note, 500)}", ""]
    if answer.citations:
        lines += ["## 출처 (Sources)", ""]
    for c in answer.citations:
        lines.append(f"[{c.n}] **{c.title or c.doc_id}** — {_markdown_meta(c)}")
        if c.also:
            lines.append(f"    also published: {', '.join(shown_address(a) for a in c.also)}")
        quote = " ".join((c.quote or "").split())
        if quote:
            lines.append(f"    > {quote}")
        attr = attribution(c)
        if attr:
            lines.append(f"    {attr}")
        lines.append("")
    if answer.related:
        lines += [f"## {related_title(answer)}", ""]
        for c in answer.related:
            lines.append(f"- **{c.title or c.doc_id}** — {_markdown_meta(c)}")
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

