"""Wiring shared by the edges (CLI, web app, eval): open or build an index, retrieve, answer."""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from rag.answer import ExtractiveAnswerer
from rag.build import IndexUpdater, IngestResult
from rag.embed import Embedder, make_embedder
from rag.folder import IndexFolder, IndexProblem
from rag.index import NoticeIndex
from rag.retrieve import Filters, Retriever
from rag.settings import DEMO_CORPUS, Settings, default_index_dir
from rag.types import Answer, Retrieval


@dataclass(frozen=True)
class CorpusSummary:
    notices: int
    chunks: int
    agencies: list[tuple[str, int]]
    first_published: str
    last_published: str
    model: str


class Assistant:
    """Answers questions over one index: retrieval, then the answerer (extractive or generative)."""

    def __init__(self, index: NoticeIndex, retriever: Retriever, answerer, index_dir: Path | None = None):
        self.index = index
        self.retriever = retriever
        self.answerer = answerer
        self.index_dir = index_dir
        self.lock = threading.Lock()  # swaps of the index (uploads) vs. questions in flight

    def ask(self, question: str, k: int = 8, filters: Filters | None = None) -> Answer:
        started = time.perf_counter()
        with self.lock:
            retrieval = self.retriever.run(question, k=k, filters=filters)
            answer = self.answerer.run(question, retrieval, self.index)
        return _with_timings(answer, retrieval, started)

    def stream(self, question: str, k: int = 8, filters: Filters | None = None) -> Iterator[str | Answer]:
        """Text deltas as a language model writes them (generative mode), then the final checked Answer.

        The extractive answerer has nothing to stream: it yields the Answer alone.
        """
        started = time.perf_counter()
        with self.lock:
            retrieval = self.retriever.run(question, k=k, filters=filters)
            index = self.index
            answerer = self.answerer
        if hasattr(answerer, "stream"):
            final = None
            for item in answerer.stream(question, retrieval, index):
                if isinstance(item, Answer):
                    final = item
                else:
                    yield item
        else:
            final = answerer.run(question, retrieval, index)
        yield _with_timings(final, retrieval, started)

    def summary(self) -> CorpusSummary:
        dates = sorted(n.published for n in self.index.notices.values() if n.published)
        agencies = Counter(n.agency or "(unknown)" for n in self.index.notices.values())
        return CorpusSummary(
            notices=len(self.index.notices), chunks=len(self.index.chunks),
            agencies=agencies.most_common(), first_published=dates[0] if dates else "",
            last_published=dates[-1] if dates else "", model=self.index.manifest.model,
        )

    def replace_index(self, index: NoticeIndex) -> None:
        with self.lock:
            self.index = index
            self.retriever = Retriever(index, self.retriever.embedder, mode=self.retriever.mode,
                                       fusion=self.retriever.fusion, dense_weight=self.retriever.dense_weight)
            if hasattr(self.answerer, "idf"):
                self.answerer.idf = index.idf


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
        if progress:
            print(f"No index at {index_dir}: building it from the demo corpus ({DEMO_CORPUS}) …", file=sys.stderr)
        result = IndexUpdater(embedder, progress=progress).run(index_dir, [DEMO_CORPUS])
        if progress:
            print(describe_ingest(result), file=sys.stderr)
    return NoticeIndex.load(index_dir, expected_model=embedder.name)


def _same_path(a: Path, b: Path) -> bool:
    return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


def make_answerer(settings: Settings, embedder: Embedder, index: NoticeIndex):
    extractive = ExtractiveAnswerer(embedder=embedder, idf=index.idf)
    if settings.llm == "none":
        return extractive
    from rag.generate import GenerativeAnswerer, LLMSettings

    llm = LLMSettings(base_url=settings.llm_base_url, model=settings.llm_model, api_key=settings.llm_api_key,
                      timeout_s=settings.llm_timeout, temperature=settings.llm_temperature)
    return GenerativeAnswerer(llm, embedder=embedder, fallback=extractive)


def open_assistant(settings: Settings, progress: bool = True, embedder: Embedder | None = None) -> Assistant:
    embedder = embedder or make_embedder(settings.embed_model)
    index = ensure_index(settings.index, embedder, progress=progress, demo=settings.demo)
    retriever = Retriever(index, embedder, mode=settings.mode)
    return Assistant(index, retriever, make_answerer(settings, embedder, index), index_dir=settings.index)


def describe_ingest(result: IngestResult) -> str:
    lines = [
        f"{result.files_seen} files: {result.files_indexed} indexed, {result.files_unchanged} unchanged, "
        f"{len(result.skipped)} skipped, {result.files_removed} removed; "
        f"+{result.notices_added} notices / +{result.chunks_added} chunks in {result.seconds:.1f} s "
        f"({result.chars_per_s:,.0f} chars/s); index holds {result.notices_total} notices, {result.chunks_total} chunks"
    ]
    for doc_id, note in result.notes:
        lines.append(f"  note {doc_id}: {note}")
    for skip in result.skipped:
        lines.append(f"  skipped {skip.path}: {skip.reason}")
    return "\n".join(lines)
