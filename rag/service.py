"""Wiring shared by the edges (CLI, web app, eval): open or build an index, retrieve, answer."""

from __future__ import annotations

import copy
import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from rag.answer import ExtractiveAnswerer
from rag.build import IndexUpdater, IngestResult
from rag.demo import install_demo_index
from rag.embed import Embedder, make_embedder, warm_up
from rag.folder import IndexFolder, IndexProblem
from rag.index import NoticeIndex, is_correction
from rag.related import SeeAlso
from rag.retrieve import Filters, Retriever
from rag.settings import DEMO_CORPUS, DEMO_INDEX, Settings, default_index_dir
from rag.types import Answer, Citation, Retrieval

log = logging.getLogger("pressrag.service")


@dataclass(frozen=True)
class CorpusSummary:
    notices: int
    chunks: int
    agencies: list[tuple[str, int]]
    first_published: str
    last_published: str
    model: str


@dataclass(frozen=True)
class _Serving:
    """What one question is answered with: swapped as a whole, so a question never mixes two indexes."""

    index: NoticeIndex
    retriever: Retriever
    answerer: object


class Assistant:
    """Answers questions over one index: retrieval, then the answerer (extractive or generative).

    Questions run concurrently: each takes the current (index, retriever, answerer) in one read
    and answers from it. ``replace_index`` prepares the new set completely (stores opened,
    answerer copied) before switching to it under ``lock``, which is held only for the switch; a
    question in flight finishes on the index it started with.
    """

    def __init__(self, index: NoticeIndex, retriever: Retriever, answerer, index_dir: Path | None = None,
                 see_also: SeeAlso | None = None):
        self._serving = _Serving(index, retriever, answerer)
        self.index_dir = index_dir
        self.see_also = see_also or SeeAlso(share=0.0)  # none unless asked for (open_assistant does)
        self.lock = threading.Lock()  # index swaps (and upload embedding batches, ui/uploads.py); never held while answering

    @property
    def index(self) -> NoticeIndex:
        return self._serving.index

    @property
    def retriever(self) -> Retriever:
        return self._serving.retriever

    @property
    def answerer(self):
        return self._serving.answerer

    def _current(self) -> _Serving:
        with self.lock:  # waits for a swap in progress; questions do not wait for each other
            return self._serving

    def ask(self, question: str, k: int = 8, filters: Filters | None = None) -> Answer:
        started = time.perf_counter()
        now = self._current()
        retrieval = now.retriever.run(question, k=k, filters=filters)
        answer = now.answerer.run(question, retrieval, now.index)
        return self._finish(answer, retrieval, now.index, started)

    def _finish(self, answer: Answer, retrieval: Retrieval, index: NoticeIndex, started: float) -> Answer:
        """The answer as shown: its see-also notices, where its cited notices were published again, timings."""
        answer = self.see_also.run(answer, retrieval, index)
        return _with_timings(with_copies(answer, index), retrieval, started)

    def stream(self, question: str, k: int = 8, filters: Filters | None = None) -> Iterator[str | Answer]:
        """Text deltas as a language model writes them (generative mode), then the final checked Answer.

        The extractive answerer has nothing to stream: it yields the Answer alone.
        """
        started = time.perf_counter()
        now = self._current()
        retrieval = now.retriever.run(question, k=k, filters=filters)
        if hasattr(now.answerer, "stream"):
            final = None
            for item in now.answerer.stream(question, retrieval, now.index):
                if isinstance(item, Answer):
                    final = item
                else:
                    yield item
        else:
            final = now.answerer.run(question, retrieval, now.index)
        yield self._finish(final, retrieval, now.index, started)

    def summary(self) -> CorpusSummary:
        index = self.index
        dates = sorted(n.published for n in index.notices.values() if n.published)
        agencies = Counter(n.agency or "(unknown)" for n in index.notices.values())
        return CorpusSummary(
            notices=len(index.notices), chunks=len(index.chunks),
            agencies=agencies.most_common(), first_published=dates[0] if dates else "",
            last_published=dates[-1] if dates else "", model=index.manifest.model,
        )

    def replace_index(self, index: NoticeIndex) -> None:
        """Serve ``index`` from now on; built outside the lock, switched in one assignment."""
        old = self._serving
        retriever = Retriever(index, old.retriever.embedder, **old.retriever.options()).warm()
        answerer = copy.copy(old.answerer)  # the old one keeps serving questions in flight unchanged
        if hasattr(answerer, "idf"):
            answerer.idf = index.idf
        with self.lock:
            self._serving = _Serving(index, retriever, answerer)


def with_copies(answer: Answer, index: NoticeIndex) -> Answer:
    """The answer with each cited notice that was published more than once (``NoticeIndex.copies``: the
    same title and nearly the same text under other ids, which retrieval does not list) naming where its
    copies are."""
    copies = index.copies()
    if not copies:
        return answer

    def also(citation: Citation) -> Citation:
        first = copies.get(citation.doc_id)
        if first is None:
            return citation
        others = (index.notices[d] for d, f in copies.items() if f == first and d != citation.doc_id)
        if is_correction(citation.title):  # the uncorrected versions are not "the same text published elsewhere"
            others = (n for n in others if is_correction(n.title))
        here = citation.url or citation.source
        where = (n.url or n.source for n in others)
        return replace(citation, also=tuple(dict.fromkeys(w for w in where if w and w != here)))

    return replace(answer, citations=[also(c) for c in answer.citations], related=[also(c) for c in answer.related])


def _with_timings(answer: Answer, retrieval: Retrieval, started: float) -> Answer:
    """The answer with retrieval, answer and total times (ms) in one dict."""
    timings = {**retrieval.timings_ms, **answer.timings_ms, "total_ms": (time.perf_counter() - started) * 1000}
    return replace(answer, timings_ms={k: round(v, 1) for k, v in timings.items()})


def ensure_index(index_dir: Path, embedder: Embedder, progress: bool = True, demo: bool = False) -> NoticeIndex:
    """Load the index at ``index_dir``.

    The demo corpus is built only where the user expects it: at the default index location, or
    anywhere when ``demo`` is set (``--demo``). Elsewhere a missing index is an error, so a typo
    such as ``--index ~/notices`` never fills (or replaces) a folder the user meant for other things.
    A folder that holds anything but a pressrag index is never written to.
    """
    store = IndexFolder(index_dir)
    store.refuse_if_not_ours()
    if not store.has_snapshot():
        if not (demo or _same_path(index_dir, default_index_dir())):
            if store.kind() == "ours":
                raise IndexProblem(f"index at {index_dir} holds no complete snapshot (an ingest did not finish); "
                                   f"run `pressrag ingest FILES --index {index_dir}` again")
            raise IndexProblem(f"no index at {index_dir}; build one with `pressrag ingest FILES --index {index_dir}` "
                               "(or add --demo to build the demo corpus there)")
        if install_demo_index(index_dir, embedder, shipped=DEMO_INDEX, corpus=DEMO_CORPUS):
            if progress:
                print(f"No index at {index_dir}: installed the prebuilt demo index ({DEMO_CORPUS}).", file=sys.stderr)
        else:
            if progress:
                print(f"No index at {index_dir}: building it from the demo corpus ({DEMO_CORPUS}) …",
                      file=sys.stderr)
            result = IndexUpdater(embedder, progress=progress).run(index_dir, [DEMO_CORPUS])
            if progress:
                print(describe_ingest(result), file=sys.stderr)
    return NoticeIndex.load(index_dir, expected_model=embedder.name)


def _same_path(a: Path, b: Path) -> bool:
    return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


def make_answerer(settings: Settings, embedder: Embedder, index: NoticeIndex):
    extractive = ExtractiveAnswerer(embedder=embedder, idf=index.idf, max_chars=settings.answer_chars)
    if settings.llm == "none":
        return extractive
    from rag.generate import GenerativeAnswerer, LLMSettings

    llm = LLMSettings(base_url=settings.llm_base_url, model=settings.llm_model, api_key=settings.llm_api_key,
                      timeout_s=settings.llm_timeout, temperature=settings.llm_temperature)
    return GenerativeAnswerer(llm, embedder=embedder, fallback=extractive, max_passages=settings.llm_passages,
                              passage_chars=settings.llm_passage_chars)


def open_assistant(settings: Settings, progress: bool = True, embedder: Embedder | None = None,
                   warm: bool = False) -> Assistant:
    """The assistant for ``settings``; ``warm`` (servers, evaluations) readies the embedder's fast
    batch engine in the background so that the first English answers do not wait for it, and finds the
    index's copies."""
    embedder = embedder or make_embedder(settings.embed_model)
    if warm and hasattr(embedder, "warm"):
        threading.Thread(target=_warm, args=(embedder,), name="pressrag-warm", daemon=True).start()
    index = ensure_index(settings.index, embedder, progress=progress, demo=settings.demo)
    retriever = Retriever(index, embedder, **retriever_options(settings))
    if warm:
        index.copies()  # found at start-up, not at the first question (Retriever.warm)
    return Assistant(index, retriever, make_answerer(settings, embedder, index), index_dir=settings.index,
                     see_also=SeeAlso(share=settings.see_also))


def _warm(embedder) -> None:
    try:
        warm_up(embedder)
    except Exception:  # noqa: BLE001 - warming is an optimisation; the slower engine still answers
        log.warning("could not warm the embedder's batch engine", exc_info=True)


def retriever_options(settings: Settings) -> dict:
    """The retriever settings (mode, search backend) from ``settings``."""
    return {"mode": settings.mode, "store": settings.store, "qdrant_url": settings.qdrant_url,
            "qdrant_path": settings.qdrant_path, "qdrant_collection": settings.qdrant_collection}


def sync_search(settings: Settings) -> str:
    """Bring the configured search backend up to date with the index on disk; a one-line summary."""
    from rag.search import open_search

    index = NoticeIndex.load(settings.index)
    options = retriever_options(settings)
    options.pop("mode")
    stores = open_search(index, **options)
    return f"search store {stores.name}: {len(index.chunks)} chunks in sync"


def describe_ingest(result: IngestResult) -> str:
    lines = [
        f"{result.files_seen} files: {result.files_indexed} indexed, {result.files_unchanged} unchanged, "
        f"{len(result.skipped)} skipped, {result.files_removed} removed; "
        f"+{result.notices_added} notices / +{result.chunks_added} chunks in {result.seconds:.1f} s "
        f"({result.chars_per_s:,.0f} chars/s); index holds {result.notices_total} notices, {result.chunks_total} chunks"
    ]
    if result.copies_total:
        lines.append(f"  {result.copies_total} notice(s) repeat another's title and text (a repost or a re-issue): "
                     "search lists each text once, and its citation names the other addresses")
    for doc_id, note in result.notes:
        lines.append(f"  note {doc_id}: {note}")
    for skip in result.skipped:
        lines.append(f"  skipped {skip.path}: {skip.reason}")
    return "\n".join(lines)
