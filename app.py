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

This module wires the Gradio page (build_ui) and starts the server. What the page
shows is rendered by ui.render and uploads change the index through ui.uploads:
plain functions (no gradio) so tests can check them without a browser; gradio
itself is imported only inside build_ui/launch (it takes seconds to import).
"""

from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is ever imported

import argparse
import logging
import queue
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.followup import is_follow_up, resolve_follow_up
from rag.types import Answer, AnswerSentence
from ui.render import (agency_choices, escape, footer_html, one_line, render_answer_html, render_corpus_html,
                       render_draft_html, render_error_html, render_notice_html, render_problem_html,
                       render_question_html, write_answer_markdown)
from ui.uploads import (UPLOAD_SUFFIXES, IndexWatch, UploadReport, ingest_uploads, remove_uploads,
                        render_upload_report, source_type_choices, uploaded_choices)

if TYPE_CHECKING:  # pragma: no cover
    from rag.service import Assistant
    from rag.settings import Settings

TITLE = "pressrag · 보도자료 질의응답"
MAX_QUESTION_CHARS = 2000  # the retriever's limit (rag.retrieve.MAX_QUERY_CHARS)
CHAT_CONCURRENCY = 8  # questions answered at once by one server (see the chat events in build_ui)
EXAMPLES = [
    "전자정부 2020의 5대 전략은?",
    "What are the five strategies of e-Government 2020?",
    "소방청 인도네시아 협력의향서 체결 내용은?",
]
EMPTY_QUESTION = "질문을 입력해 주세요. (The question is empty.)"
# A follow-up ("그 담당자는?") on a fresh chat has nothing to refer to: ask back instead of guessing.
NO_HISTORY = ("어느 보도자료를 말씀하시는지 알 수 없습니다. 먼저 보도자료나 주제를 넣어 질문해 주세요 "
              "(예: 소방청 인도네시아 협력의향서의 담당자는?). "
              "(This follow-up has no earlier question to refer to: which notice do you mean?)")
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
