"""Retrieval on a BEIR-layout benchmark (default: AutoRAGRetrieval), every mode side by side with
published MTEB figures.

    python eval/bench_beir.py ../shared/external/autorag_retrieval [--index DIR] [--markdown]

The corpus is indexed once (into --index, reused when it exists, else a temporary folder); each
row then runs every query through the product's Retriever with one setting changed.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.build import IndexUpdater  # noqa: E402
from rag.embed import make_embedder, warm_up  # noqa: E402
from rag.evaluate import load_beir, mean, one_copy, percentile, retrieval_metrics  # noqa: E402
from rag.folder import IndexFolder  # noqa: E402
from rag.index import NoticeIndex  # noqa: E402
from rag.retrieve import Retriever  # noqa: E402

# MTEB results files, AutoRAGRetrieval test split, nDCG@10 (read, not measured here).
PUBLISHED = [("bge-m3 (MTEB)", 0.830), ("multilingual-e5-small fp32 (MTEB)", 0.801),
             ("ko-sroberta-multitask (MTEB)", 0.583), ("paraphrase-multilingual-MiniLM-L12-v2 (MTEB)", 0.423)]

ROWS = [
    ("pressrag hybrid (default)", dict(mode="hybrid")),
    ("pressrag dense only", dict(mode="dense")),
    ("pressrag BM25 (Kiwi morphemes) only", dict(mode="bm25")),
    ("equal-weight RRF of the two (naive hybrid)", dict(mode="hybrid", fusion="rrf")),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--index", type=Path, default=None)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)

    notices, queries, qrels = load_beir(args.dataset)
    embedder = make_embedder(os.environ.get("PRESSRAG_EMBED_MODEL"))
    chars = sum(len(n.body) for n in notices)
    ingest = "reused index"
    if args.index is not None and IndexFolder(args.index).has_snapshot():
        index = NoticeIndex.load(args.index, expected_model=embedder.name)
    else:
        started = time.perf_counter()
        index = IndexUpdater(embedder, progress=True).build_in_memory(notices)
        seconds = time.perf_counter() - started
        ingest = f"{chars:,} chars in {seconds:.0f} s = {chars / seconds:,.0f} chars/s"
        index.save(args.index or Path(tempfile.mkdtemp()) / "index")
    warm_up(embedder)  # queries take the engine a long-running process uses (rag.service), not a cold ask's
    ids = [q for q in queries if q in qrels]
    lines = [f"{args.dataset.name}: {len(notices)} documents, {len(ids)} queries; ingest {ingest}; "
             f"{datetime.date.today()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores",
             "", "| retriever | nDCG@10 | hit@1 | hit@10 | MRR@10 | query p50 ms | query p95 ms |",
             "|---|---|---|---|---|---|---|"]
    copies = index.copies()  # a copy of a relevant document (NoticeIndex.copies) is relevant
    for name, options in ROWS:
        retriever = Retriever(index, embedder, **options)
        retriever.run(queries[ids[0]])  # warm-up: loads Kiwi, BM25 and the query engine
        rows, latencies = [], []
        for qid in ids:
            t = time.perf_counter()
            result = retriever.run(queries[qid], k=50)
            latencies.append((time.perf_counter() - t) * 1000)
            rows.append(retrieval_metrics(one_copy(result.doc_ids, copies), set(one_copy(qrels[qid], copies))))
        lines.append(f"| {name} | {mean([r['ndcg@10'] for r in rows]):.3f} | {mean([r['hit@1'] for r in rows]):.3f} | "
                     f"{mean([r['hit@10'] for r in rows]):.3f} | {mean([r['mrr@10'] for r in rows]):.3f} | "
                     f"{percentile(latencies, 0.5):.0f} | {percentile(latencies, 0.95):.0f} |")
    for name, ndcg in PUBLISHED:
        lines.append(f"| {name} | {ndcg:.3f} | | | | | |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
