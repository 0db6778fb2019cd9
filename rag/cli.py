"""The `pressrag` command line: a thin edge that reads settings, wires parts and prints.

Library errors become one-line messages and a non-zero exit, never a traceback. Progress and
diagnostics go through ``logging`` (``-v`` for debug detail); results go to stdout.

``serve`` is not defined here: the web app (app.py) owns it and ``pressrag.cli`` adds it to this
command group, so nothing under rag/ depends on the web layer.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from ingest.korean import prefetch, start_helper

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Question answering over Korean government press releases, with citations.")
log = logging.getLogger("pressrag")


class Mode(str, Enum):
    hybrid = "hybrid"
    dense = "dense"
    bm25 = "bm25"


class EvalMode(str, Enum):
    """What `pressrag eval` scores: a retrieval mode, or generative answers over hybrid retrieval."""

    hybrid = "hybrid"
    dense = "dense"
    bm25 = "bm25"
    generative = "generative"


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("pressrag")
    except PackageNotFoundError:
        return "unknown (not installed)"


def setup_logging(verbose: int = 0) -> None:
    """INFO to stderr (progress notes), DEBUG with -v; third-party libraries stay at WARNING unless -vv."""
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level if verbose > 1 else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s" if verbose else "%(message)s", force=True)
    logging.getLogger("pressrag").setLevel(level)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"pressrag {version()}")
        raise typer.Exit(0)


@app.callback()
def _options(
    verbose: int = typer.Option(0, "--verbose", "-v", count=True,
                                help="More log detail on stderr (-v: pressrag's debug messages, -vv: libraries' too)"),
    show_version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                      help="Print the installed version and exit"),
) -> None:
    """Question answering over Korean government press releases, with citations."""
    setup_logging(verbose)


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
        if settings.store != "faiss" and (result.notices_added or result.files_removed):
            from rag.service import sync_search

            typer.echo(sync_search(settings))  # push the new snapshot to Qdrant now, not at the first question
    except _known_errors() as exc:
        _fail(str(exc))
    typer.echo(describe_ingest(result))
    if not result.files_seen:
        _fail(f"no files found in {', '.join(str(p) for p in paths)}", 1)
    if not (result.files_indexed or result.files_unchanged or result.files_removed):
        _fail("no readable notices were found; nothing was indexed", 1)


def _filters(agency: list[str] | None, since: str | None, until: str | None,
             source_type: list[str] | None = None):
    from rag.retrieve import Filters

    return Filters(agencies=tuple(agency or ()), since=since or "", until=until or "",
                   source_types=tuple(source_type or ()))


def print_answer(answer, out=None) -> None:
    """Human-readable answer: the text, then the numbered sources; with a generated answer, each source's
    quoted passage too (an extractive answer's lines are the quotes already)."""
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
        console.print(f"[{c.n}] {escape(c.title)} — {escape(_source_line(c.agency, c.published, where))}")
        if c.also:
            console.print(f"    also published: {escape(', '.join(c.also))}", style="dim")
        if answer.mode != "extractive" and c.quote:
            console.print(f"    “{escape(c.quote[:500])}”", style="dim")
    if answer.related:
        console.print("\n[bold]Related notices[/bold] (they do not answer the question)" if answer.refused
                      else "\n[bold]See also[/bold] (close to the question, not quoted)")
        for c in answer.related:
            console.print(f"  - {escape(c.title)} — {escape(_source_line(c.agency, c.published, c.url or c.source))}")


def _source_line(agency: str, published: str, where: str) -> str:
    """"보건복지부, 2026-06-18, https://…": a notice whose agency nobody recorded (a korea.kr record without
    one) shows its date and address alone, not a placeholder."""
    return ", ".join(part for part in (agency, published or "n.d.", where) if part)


@app.command()
def ask(
    question: str = typer.Argument(..., help="The question, in Korean or English"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
    k: Optional[int] = typer.Option(None, "--k", help="Passages to retrieve"),
    agency: Optional[list[str]] = typer.Option(None, "--agency", help="Only notices of this agency (repeatable)"),
    since: Optional[str] = typer.Option(None, "--since", help="Published on or after YYYY-MM-DD"),
    until: Optional[str] = typer.Option(None, "--until", help="Published on or before YYYY-MM-DD"),
    source_type: Optional[list[str]] = typer.Option(None, "--source-type",
                                                    help="Only notices of this source type: korea.kr, bidpro or text (repeatable)"),
    index: Optional[Path] = typer.Option(None, "--index", help="Index folder (default: $PRESSRAG_INDEX or the user data dir)"),
    mode: Optional[Mode] = typer.Option(None, "--mode", help="Retrieval: hybrid (default), dense or bm25"),
    demo: bool = typer.Option(False, "--demo", help="Build the demo corpus's index at --index if it has none"),
    answer_chars: Optional[int] = typer.Option(None, "--answer-chars",
                                               help="Characters of quoted text an extractive answer aims for "
                                                    "(default: $PRESSRAG_ANSWER_CHARS or 365)"),
) -> None:
    """Answer a question from the indexed notices, with numbered citations."""
    from rag.service import open_assistant
    from rag.types import Answer

    _check_text(question, "question")
    settings = _settings(index=index, k=k, mode=mode.value if mode else None, demo=demo or None,
                         answer_chars=answer_chars)
    # Kiwi's ~1.9 s start overlaps loading the index and the embedder (ingest.korean.prefetch).
    prefetch([question.strip()])
    try:
        filters = _filters(agency, since, until, source_type)
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
                elif isinstance(item, Answer):
                    answer = item  # (sentence verdicts in between are for the chat's draft)
            if streamed:
                typer.echo("\n---", err=True)
    except _known_errors() as exc:
        _fail(str(exc))
    if as_json:
        data = answer.to_dict()
        payload = {key: data[key] for key in ("question", "answer", "refused", "citations", "timings_ms")}
        payload.update({"mode": data["mode"], "note": data["note"], "related": data["related"],
                        "sentences": data["sentences"]})
        if data["generated"]:  # generative mode: what the model wrote and the check's verdicts
            payload["generated"] = data["generated"]
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=1))
    else:
        print_answer(answer)


@app.command("list")
def list_command(
    index: Optional[Path] = typer.Option(None, "--index", help="Index folder (default: $PRESSRAG_INDEX or the user data dir)"),
    uploads: bool = typer.Option(False, "--uploads", help="Only notices uploaded through the web chat"),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line"),
) -> None:
    """List the indexed notices: id, date, agency, title (uploads marked with *, superseded ones named)."""
    from dataclasses import asdict

    from rag.index import NoticeIndex
    from rag.manage import list_notices

    settings = _settings(index=index)
    try:
        listed = list_notices(NoticeIndex.load(settings.index), settings.index, uploads_only=uploads)
    except _known_errors() as exc:
        _fail(str(exc))
    for n in listed:
        if as_json:
            typer.echo(json.dumps(asdict(n), ensure_ascii=False))
        else:
            later = f"\t(superseded by {n.superseded_by})" if n.superseded_by else ""
            typer.echo(f"{'*' if n.uploaded else ' '} {n.doc_id}\t{n.published or '-'}\t{n.agency or '-'}\t{n.title}{later}")


@app.command()
def remove(
    doc_ids: list[str] = typer.Argument(..., metavar="DOC_ID...", help="Ids of the notices to remove (see `pressrag list`)"),
    index: Optional[Path] = typer.Option(None, "--index", help="Index folder (default: $PRESSRAG_INDEX or the user data dir)"),
) -> None:
    """Remove notices from the index; a web upload's stored copy is deleted with it (your own files never are)."""
    from rag.manage import remove_notices

    settings = _settings(index=index)
    try:
        removal = remove_notices(settings.index, doc_ids, lock_timeout=settings.lock_timeout)
    except _known_errors() as exc:
        _fail(str(exc))
    typer.echo(f"removed {len(removal.removed)} notices ({', '.join(removal.removed)}); "
               f"index holds {removal.notices_total} notices"
               + (f"; deleted upload copies: {', '.join(removal.deleted_files)}" if removal.deleted_files else ""))


# Metrics where lower is better: --fail-under treats their value as a ceiling.
_CEILINGS = {"false_refusal_rate"}


def parse_floors(specs: list[str] | None, floors_file: Path | None) -> dict[str, float]:
    """``METRIC=VALUE`` pairs (and an eval/floors.json-style file) as {metric: floor}."""
    floors: dict[str, float] = {}
    if floors_file is not None:
        data = json.loads(floors_file.read_text(encoding="utf-8"))
        for group in ("retrieval", "answer"):
            floors.update({m: float(v) for m, v in data.get(group, {}).items()})
    for spec in specs or []:
        metric, sep, value = spec.partition("=")
        try:
            floors[metric.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not metric.strip():
            raise ValueError(f"bad --fail-under {spec!r}: write METRIC=VALUE, e.g. hit@1=0.95")
    return floors


def check_floors(report: dict, floors: dict[str, float]) -> list[str]:
    """One line per metric of ``report`` that misses its floor (or exceeds its ceiling)."""
    values = {**report.get("retrieval", {}), **report.get("answer", {})}
    misses = []
    for metric, floor in floors.items():
        if metric not in values:
            misses.append(f"{metric}: not in the report (known: {', '.join(sorted(values))})")
            continue
        if values[metric] is None:  # e.g. refusal accuracy over a set with no unanswerable question
            misses.append(f"{metric}: no question of this set measures it")
            continue
        value = float(values[metric])
        if (value > floor) if metric in _CEILINGS else (value < floor):
            word = "above the ceiling" if metric in _CEILINGS else "below the floor"
            misses.append(f"{metric} = {value:.3f} is {word} {floor:g}")
    return misses


def load_baseline(path: Path) -> dict:
    """A gold report written by ``pressrag eval --json-out`` (of a --compare run: its first mode)."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"--baseline {path}: cannot read it ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"--baseline {path} is not a pressrag eval report (not JSON: {exc})") from None
    report = report.get("a", report) if isinstance(report, dict) else report
    if not isinstance(report, dict) or not isinstance(report.get("questions"), list):
        raise ValueError(f"--baseline {path} is not a pressrag eval report (no questions; write one with "
                         "pressrag eval --json-out)")
    return report


def _generative_settings(settings, replay: Optional[Path], stack: contextlib.ExitStack):
    """(settings flags, replay server or None) for generative evaluation: a replay server started for
    the run, or the configured endpoint."""
    if replay is None:
        if not settings.llm_base_url or not settings.llm_model:
            _fail("--mode generative needs a model: set PRESSRAG_LLM_BASE_URL and PRESSRAG_LLM_MODEL, "
                  "or replay recorded replies with --replay FILE", 2)
        return {"llm": "openai-compatible"}, None
    from rag.replay import ReplayServer, load_recordings

    records = [r for r in load_recordings(replay) if r.get("variant", "retrieved") == "retrieved"]
    if not records:
        raise ValueError(f"{replay}: no recorded replies to replay")
    recorded = records[0].get("settings", {})
    server = stack.enter_context(ReplayServer(records))
    # The prompts must be built as they were recorded, or no reply matches.
    return {"llm": "openai-compatible", "llm_base_url": server.base_url, "llm_model": server.model,
            "llm_timeout": 60.0, "llm_passages": int(recorded.get("passages", settings.llm_passages)),
            "llm_passage_chars": int(recorded.get("passage_chars", settings.llm_passage_chars))}, server


@app.command("eval")
def evaluate(
    gold: Optional[Path] = typer.Option(None, "--gold", help="Gold questions (JSONL); default: the demo corpus's dev set"),
    beir: Optional[Path] = typer.Option(None, "--beir", help="A BEIR-layout folder (corpus.jsonl, queries.jsonl, qrels.tsv)"),
    index: Optional[Path] = typer.Option(None, "--index", help="Index folder"),
    mode: EvalMode = typer.Option(EvalMode.hybrid, "--mode",
                                  help="Retrieval mode to score, or generative (the PRESSRAG_LLM_* endpoint, or --replay)"),
    compare: Optional[EvalMode] = typer.Option(None, "--compare", help="A second mode to run and diff against --mode"),
    replay: Optional[Path] = typer.Option(None, "--replay",
                                          help="Generative mode: replay recorded model replies (eval/record_llm.py output)"),
    k: int = typer.Option(8, "--k", help="Passages given to the answerer"),
    json_out: Optional[Path] = typer.Option(None, "--json-out", help="Write the full report here"),
    limit: Optional[int] = typer.Option(None, "--limit", help="Only the first N questions"),
    fail_under: Optional[list[str]] = typer.Option(
        None, "--fail-under", metavar="METRIC=VALUE",
        help="Exit 1 when METRIC is below VALUE (false_refusal_rate: above); repeatable, e.g. hit@1=0.95"),
    floors: Optional[Path] = typer.Option(None, "--floors", help="A floors file like eval/floors.json (same test)"),
    baseline: Optional[Path] = typer.Option(
        None, "--baseline", help="A report saved with --json-out: print each metric's change since it, with a "
                                 "paired 95% interval, and the questions whose answer changed"),
) -> None:
    """Score retrieval and answers against gold questions (or retrieval on a BEIR dataset)."""
    from rag import evaluate as ev
    from rag.settings import DEMO_GOLD

    if replay is not None and EvalMode.generative not in (mode, compare):
        _fail("--replay replays a language model's replies: use it with --mode generative", 2)
    if beir is not None and EvalMode.generative in (mode, compare):
        _fail("--beir scores retrieval only; generative mode needs gold questions (--gold)", 2)
    if baseline is not None and beir is not None:
        _fail("--baseline compares answers to gold questions; --beir scores retrieval only", 2)
    base = _settings(index=index)
    try:
        wanted = parse_floors(fail_under, floors)
        before = load_baseline(baseline) if baseline is not None else None
    except (ValueError, OSError) as exc:
        _fail(str(exc), 2)
    with contextlib.ExitStack() as stack:
        try:
            llm, server = (_generative_settings(base, replay, stack) if EvalMode.generative in (mode, compare)
                           else ({}, None))

            def settings_for(m: EvalMode):
                if m is EvalMode.generative:
                    return _settings(index=index, mode="hybrid", **llm)
                return _settings(index=index, mode=m.value)

            def retrieval_mode(m: EvalMode) -> str:
                return "hybrid" if m is EvalMode.generative else m.value

            if beir is not None:
                report = ev.run_beir(beir, settings_for(mode), mode=mode.value, index_dir=index, limit=limit)
                ev.print_beir_report(report)
            else:
                gold_path = gold or DEMO_GOLD
                # a replay scores the questions it has replies for
                only = server.questions if server is not None else None
                report = ev.run_gold(gold_path, settings_for(mode), mode=retrieval_mode(mode), k=k, limit=limit,
                                     only=only if mode is EvalMode.generative else None)
                report["mode"] = mode.value
                if server is not None:
                    report["replay"] = {"requests": server.requests, "misses": server.misses}
                ev.print_gold_report(report)
                if before is not None:
                    ev.print_changes(before, report, str(baseline))
                if compare:
                    other = ev.run_gold(gold_path, settings_for(compare), mode=retrieval_mode(compare), k=k,
                                        limit=limit, only=only)
                    other["mode"] = compare.value
                    ev.print_comparison(report, other, mode.value, compare.value)
                    report = {"a": report, "b": other, "modes": [mode.value, compare.value]}
        except _known_errors() as exc:
            _fail(str(exc))
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        typer.echo(f"report written to {json_out}")
    misses = check_floors(report.get("a", report), wanted) if wanted else []
    if misses:
        _fail("below the floors: " + "; ".join(misses))


@app.command()
def sync(
    feeds: Optional[list[str]] = typer.Argument(None, metavar="FEED_URL",
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
    start_helper()
    setup_logging(0)
    typer.run(ask)


def main() -> None:
    """The command group without the web app's ``serve`` (``pressrag.cli.main`` adds it)."""
    app()


if __name__ == "__main__":
    main()
