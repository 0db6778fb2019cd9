"""The `pressrag` command line: a thin edge that reads settings, wires parts and prints.

Library errors become one-line messages and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Question answering over Korean government press releases, with citations.")


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _settings(**flags):
    from rag.settings import SettingsProblem, load_settings

    try:
        return load_settings(**flags)
    except SettingsProblem as exc:
        _fail(str(exc))


def _check_text(value: str, what: str) -> None:
    """Refuse text that is not valid UTF-8 (the shell passed raw bytes) with a message, not a traceback."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        shown = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        _fail(f"the {what} is not valid UTF-8 text ({shown!r}); check the terminal's encoding (e.g. LANG=C.UTF-8)")


def _known_errors():
    from ingest.errors import UnreadableFile
    from rag.folder import IndexProblem
    from rag.retrieve import QueryProblem

    return (IndexProblem, QueryProblem, UnreadableFile, ValueError, OSError)


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="Files or folders: .txt .md .jsonl .pdf .hwp .hwpx"),
    index: Optional[Path] = typer.Option(None, "--index", help="Index folder (default: $PRESSRAG_INDEX or the user data dir)"),
    prune: bool = typer.Option(False, "--prune", help="Remove notices whose files no longer exist"),
    rebuild: bool = typer.Option(False, "--rebuild", help="Start a fresh index (e.g. after changing the model)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar"),
) -> None:
    """Build or update the index from notice files (unchanged files are not re-embedded)."""
    from rag.build import IndexUpdater
    from rag.embed import make_embedder
    from rag.service import describe_ingest

    settings = _settings(index=index)
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        _fail(f"no such file or folder: {', '.join(missing)}", 2)
    try:
        updater = IndexUpdater(make_embedder(settings.embed_model), progress=not quiet,
                               lock_timeout=settings.lock_timeout)
        result = updater.run(settings.index, paths, prune=prune, rebuild=rebuild)
    except _known_errors() as exc:
        _fail(str(exc))
    typer.echo(describe_ingest(result))
    if not result.files_seen:
        _fail(f"no files found in {', '.join(str(p) for p in paths)}", 1)
    if not (result.files_indexed or result.files_unchanged or result.files_removed):
        _fail("no readable notices were found; nothing was indexed", 1)


def _filters(agency: list[str] | None, since: str | None, until: str | None):
    from rag.retrieve import Filters

    return Filters(agencies=tuple(agency or ()), since=since or "", until=until or "")


def print_answer(answer, out=None) -> None:
    """Human-readable answer: the text, then the numbered sources with the quoted passage."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(file=out or sys.stdout, highlight=False, soft_wrap=True)
    console.print(escape(answer.answer))
    if answer.note:
        console.print(f"[dim]({escape(answer.note)})[/dim]")
    if answer.citations:
        console.print("\n[bold]Sources[/bold]")
    for c in answer.citations:
        where = c.url or c.source
        console.print(f"[{c.n}] {escape(c.title)} — {escape(c.agency or '?')}, {c.published or 'n.d.'}, {escape(where)}")
        console.print(f"    “{escape(c.quote[:500])}”", style="dim")
    if answer.refused and answer.related:
        console.print("\n[bold]Related notices[/bold] (they do not answer the question)")
        for c in answer.related:
            console.print(f"  - {escape(c.title)} — {escape(c.agency or '?')}, {c.published or 'n.d.'}, {escape(c.url or c.source)}")


@app.command()
def ask(
    question: str = typer.Argument(..., help="The question, in Korean or English"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
    k: Optional[int] = typer.Option(None, "--k", help="Passages to retrieve"),
    agency: Optional[list[str]] = typer.Option(None, "--agency", help="Only notices of this agency (repeatable)"),
    since: Optional[str] = typer.Option(None, "--since", help="Published on or after YYYY-MM-DD"),
    until: Optional[str] = typer.Option(None, "--until", help="Published on or before YYYY-MM-DD"),
    index: Optional[Path] = typer.Option(None, "--index", help="Index folder"),
    mode: Optional[str] = typer.Option(None, "--mode", help="hybrid | dense | bm25"),
    demo: bool = typer.Option(False, "--demo", help="Build the demo corpus's index at --index if it has none"),
) -> None:
    """Answer a question from the indexed notices, with numbered citations."""
    from rag.service import open_assistant

    _check_text(question, "question")
    settings = _settings(index=index, k=k, mode=mode, demo=demo or None)
    try:
        filters = _filters(agency, since, until)
        assistant = open_assistant(settings, progress=not as_json)
        if as_json:
            answer = assistant.ask(question, k=settings.k, filters=filters)
        else:
            answer = None
            streamed = False
            for item in assistant.stream(question, k=settings.k, filters=filters):
                if isinstance(item, str):
                    # a language model's draft, shown as it arrives; the checked answer follows
                    typer.echo(item, nl=False, err=True)
                    streamed = True
                else:
                    answer = item
            if streamed:
                typer.echo("\n---", err=True)
    except _known_errors() as exc:
        _fail(str(exc))
    if as_json:
        data = answer.to_dict()
        payload = {key: data[key] for key in ("question", "answer", "refused", "citations", "timings_ms")}
        payload.update({"mode": data["mode"], "note": data["note"], "related": data["related"],
                        "sentences": data["sentences"]})
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=1))
    else:
        print_answer(answer)


@app.command()
def serve(
    host: Optional[str] = typer.Option(None, "--host"),
    port: Optional[int] = typer.Option(None, "--port"),
    index: Optional[Path] = typer.Option(None, "--index"),
    demo: bool = typer.Option(False, "--demo", help="Build the demo corpus's index at --index if it has none"),
) -> None:
    """Start the web chat on 127.0.0.1 (no share link, no analytics)."""
    settings = _settings(index=index, host=host, port=port, demo=demo or None)
    import app as web

    try:
        web.launch(settings)
    except _known_errors() as exc:
        _fail(str(exc))


@app.command("eval")
def evaluate(
    gold: Optional[Path] = typer.Option(None, "--gold", help="Gold questions (JSONL); default: eval/gold/dev.jsonl"),
    beir: Optional[Path] = typer.Option(None, "--beir", help="A BEIR-layout folder (corpus.jsonl, queries.jsonl, qrels.tsv)"),
    index: Optional[Path] = typer.Option(None, "--index", help="Index folder"),
    mode: str = typer.Option("hybrid", "--mode", help="hybrid | dense | bm25"),
    compare: Optional[str] = typer.Option(None, "--compare", help="A second mode to run and diff against --mode"),
    k: int = typer.Option(8, "--k", help="Passages given to the answerer"),
    json_out: Optional[Path] = typer.Option(None, "--json-out", help="Write the full report here"),
    limit: Optional[int] = typer.Option(None, "--limit", help="Only the first N questions"),
) -> None:
    """Score retrieval and answers against gold questions (or retrieval on a BEIR dataset)."""
    from rag import evaluate as ev

    settings = _settings(index=index, mode=mode)
    try:
        if beir is not None:
            report = ev.run_beir(beir, settings, mode=mode, index_dir=index, limit=limit)
            ev.print_beir_report(report)
        else:
            gold_path = gold or ev.DEFAULT_GOLD
            report = ev.run_gold(gold_path, settings, mode=mode, k=k, limit=limit)
            ev.print_gold_report(report)
            if compare:
                other = ev.run_gold(gold_path, settings, mode=compare, k=k, limit=limit)
                ev.print_comparison(report, other, mode, compare)
                report = {"a": report, "b": other, "modes": [mode, compare]}
    except _known_errors() as exc:
        _fail(str(exc))
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        typer.echo(f"report written to {json_out}")


@app.command()
def sync(
    feeds: Optional[list[str]] = typer.Argument(None, metavar="[FEED_URL]...",
                                                help="RSS/Atom feeds (default: $PRESSRAG_FEEDS, korea.kr press releases)"),
    index: Optional[Path] = typer.Option(None, "--index", help="Index folder"),
    every: Optional[str] = typer.Option(None, "--every", help="Keep running, one sync per interval (90s, 30m, 2h)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar; only problems and the summary"),
) -> None:
    """Bring the index up to date from press-release feeds (new and changed items only)."""
    import time as _time

    from rag.embed import make_embedder
    from rag.sync import FeedSync, describe_sync, parse_every

    settings = _settings(index=index)
    try:
        interval = parse_every(every) if every else None
    except ValueError as exc:
        _fail(str(exc), 2)
    # One embedder and one HTTP client for every run: the model loads once in --every mode.
    syncer = FeedSync.from_settings(settings, make_embedder(settings.embed_model), feeds, progress=not quiet)
    bad = [u for u in syncer.feeds if not u.lower().startswith(("http://", "https://"))]
    if bad or not syncer.feeds:
        _fail(f"not an http(s) feed URL: {', '.join(bad)}" if bad else "no feeds: give FEED_URL or set PRESSRAG_FEEDS", 2)
    try:
        while True:
            try:
                result = syncer.run(settings.index)
            except _known_errors() as exc:
                if interval is None:
                    _fail(str(exc))
                typer.echo(f"error: {exc}", err=True)  # a service keeps polling; the next run may succeed
            else:
                typer.echo(f"[{result.started}] " + describe_sync(result))
                if interval is None:
                    if result.all_failed:
                        _fail("every feed failed; the index was not changed")
                    return
            _time.sleep(interval)
    except KeyboardInterrupt:
        raise typer.Exit(0)
    finally:
        syncer.close()


def ask_main() -> None:
    """Entry point of the top-level `ask` command (same as `pressrag ask`)."""
    typer.run(ask)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
