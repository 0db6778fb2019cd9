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
import statistics
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
    # files the module reads beside itself (rag/fusion_weights.json) come from the working tree, not from ref
    module.__file__ = str(REPO / path)
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


# -- scale ---------------------------------------------------------------------------------------------------

FILTER_NOTE = "agency = the most frequent agency, date within the later half of the dates"


def _real_sources(index_dirs: list[Path]):
    """Real chunk vectors, term lists, agencies and dates from the given indexes."""
    from rag.index import NoticeIndex

    vectors, terms, agencies, dates = [], [], [], []
    for folder in index_dirs:
        index = NoticeIndex.load(folder)
        vectors.append(index.vectors)
        terms += index.terms
        agencies += [c.agency for c in index.chunks]
        dates += [c.published for c in index.chunks]
    return np.concatenate(vectors), terms, agencies, dates


def real_row_bytes(index_dirs: list[Path]) -> dict:
    """What a loaded real index holds per chunk that the synthetic one does not: Python objects (chunk
    texts, search terms, sentence tokens, notices; tracemalloc over ``NoticeIndex.load``) and the
    sentence vectors, beside its chunk vectors. The synthetic corpora hold only search structures, so
    their RSS says nothing of these; this says how far a real corpus of the same size would exceed it."""
    import gc
    import tracemalloc

    from rag.index import NoticeIndex

    NoticeIndex.load(index_dirs[0])  # imports and one-time tables outside the trace
    chunks = python = vectors = 0
    for folder in index_dirs:
        gc.collect()
        tracemalloc.start()
        index = NoticeIndex.load(folder)
        traced = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        held = sum(a.nbytes for a in (index.vectors, index.sentence_vectors, index.bare_sentence_vectors)
                   if a is not None)
        chunks += len(index.chunks)
        python += traced - held  # numpy reports its buffers to tracemalloc too
        vectors += held - index.vectors.nbytes
        del index
    return {"chunks": chunks, "python_bytes": python, "sentence_vector_bytes": vectors}


def synthesise(n: int, sources: list[Path], out: Path, seed: int = 0) -> None:
    """Write a synthetic corpus of ``n`` chunks to ``out`` (npy files): see the module docstring."""
    from collections import Counter

    from rag.search.base import date_number

    rng = np.random.default_rng(seed)
    base, real_terms, real_agencies, real_dates = _real_sources(sources)
    counts = Counter(t for terms in real_terms for t in terms)
    vocab = sorted(counts)
    p = np.array([counts[t] for t in vocab], dtype=np.float64)
    p /= p.sum()
    lengths = rng.choice(np.array([max(len(t), 1) for t in real_terms]), size=n).astype(np.int64)
    docs, tids, tfs = [], [], []
    block = 50_000
    for start in range(0, n, block):
        size = min(block, n - start)
        ln = lengths[start:start + size]
        tokens = rng.choice(len(vocab), size=int(ln.sum()), p=p).astype(np.int64)
        doc = np.repeat(np.arange(start, start + size, dtype=np.int64), ln)
        keys, tf = np.unique(doc * len(vocab) + tokens, return_counts=True)
        docs.append((keys // len(vocab)).astype(np.int32))
        tids.append((keys % len(vocab)).astype(np.int32))
        tfs.append(tf.astype(np.float32))
    doc, tid, tf = np.concatenate(docs), np.concatenate(tids), np.concatenate(tfs)
    del docs, tids, tfs
    df = np.bincount(tid, minlength=len(vocab))
    idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
    k1, b = 1.5, 0.75  # bm25s's Lucene variant, as the product indexes
    norm = k1 * (1 - b + b * lengths / lengths.mean()).astype(np.float32)
    score = idf[tid] * tf / (tf + norm[doc])
    order = np.argsort(tid, kind="stable")  # doc ids stay ascending within a term
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "data.npy", score[order].astype(np.float32))
    np.save(out / "indices.npy", doc[order])
    np.save(out / "indptr.npy", np.concatenate([[0], np.cumsum(df)]).astype(np.int64))
    del order, score, doc, tid, tf
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    vectors = np.lib.format.open_memmap(out / "vectors.npy", mode="w+", dtype=np.float32, shape=(n, base.shape[1]))
    for start in range(0, n, block):
        size = min(block, n - start)
        v = base[rng.integers(0, len(base), size)] + rng.normal(0, 0.02, (size, base.shape[1])).astype(np.float32)
        vectors[start:start + size] = v / np.linalg.norm(v, axis=1, keepdims=True)
    vectors.flush()
    del vectors
    names = sorted(set(real_agencies))
    a_code = {a: i for i, a in enumerate(names)}
    np.save(out / "agency.npy", rng.choice(np.array([a_code[a] for a in real_agencies], np.int32), size=n))
    np.save(out / "date.npy", rng.choice(np.array([date_number(d) for d in real_dates], np.int32), size=n))
    (out / "agencies.json").write_text(json.dumps(names, ensure_ascii=False), encoding="utf-8")


class _Lazy:
    """A sequence of ``n`` chunks made on demand (a million Chunk objects would dwarf the search structures)."""

    def __init__(self, n: int, agencies: list[str], agency: np.ndarray, date: np.ndarray):
        self.n, self.agencies, self.agency, self.date = n, agencies, agency, date

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, row: int):
        from ingest.models import Chunk

        d = str(self.date[row])
        published = f"{d[:4]}-{d[4:6]}-{d[6:]}" if self.date[row] else ""
        return Chunk(doc_id=f"synth-{row}", ordinal=0, start=0, end=0, text=f"synthetic chunk {row}",
                     agency=self.agencies[self.agency[row]], published=published, source_type="synthetic")


class _SynthIndex:
    """What the retriever reads from an index, over a synthetic corpus."""

    def __init__(self, folder: Path, n: int):
        from ingest.models import Notice
        from rag.index import Manifest, held_vectors

        loaded = np.load(folder / "vectors.npy")
        self.vectors = held_vectors(loaded, loaded.shape[1])  # as a NoticeIndex of n chunks holds them
        del loaded
        names = json.loads((folder / "agencies.json").read_text(encoding="utf-8"))
        agency, date = np.load(folder / "agency.npy"), np.load(folder / "date.npy")
        self.chunks = _Lazy(n, names, agency, date)
        self.notices = {a: Notice(doc_id=a, title="", body="", source="", agency=a, source_type="synthetic")
                        for a in names}
        self.manifest = Manifest(model="synthetic", dim=self.vectors.shape[1], chunker={})
        self.search_cache: dict = {}
        self.meta_arrays = (agency, names, date)
        self._folder, self._n = folder, n
        self._sequences = None  # rag.index.TermSequences, built at the first phrase_coverage

    def known_share(self, terms):  # not used: the stores answer coverage
        raise NotImplementedError

    def days(self, doc_id: str) -> frozenset:
        """Synthetic notices have no text, so they name no day (the day signal costs a set lookup)."""
        return frozenset()

    def shared_titles(self) -> frozenset:
        """Synthetic notices have no title, so none is shared (the sibling signal costs one check)."""
        return frozenset()

    def copies(self) -> dict:
        """No two synthetic notices are the same text, so retrieval drops no copy (one dict lookup)."""
        return {}

    def phrase_coverage(self, rows: np.ndarray, weights: dict[str, float], terms: list[str]) -> np.ndarray:
        """``NoticeIndex.phrase_coverage`` (the same ``rag.index.pair_coverage`` over the same kind of
        ``TermSequences`` table a real index builds at its first question) over synthetic chunks, which
        are bags of terms: a row's terms in vocabulary order stand in for its token sequence, so matches
        are as rare as between unrelated texts. The table (int32 term ids, 4 bytes per term occurrence)
        is built on first use and counts in the RSS figure, as a real index's would."""
        from rag.index import TermSequences, pair_coverage

        if self._sequences is None:
            import scipy.sparse as sp

            vocab = json.loads((self._folder / "vocab.json").read_text(encoding="utf-8"))
            indices, indptr = np.load(self._folder / "indices.npy"), np.load(self._folder / "indptr.npy")
            by_term = sp.csr_matrix((np.ones(len(indices), np.int8), indices, indptr), shape=(len(vocab), self._n))
            by_row = by_term.T.tocsr()
            self._sequences = TermSequences({t: i for i, t in enumerate(vocab)}, by_row.indices.astype(np.int32),
                                            by_row.indptr.astype(np.int64), np.ones(self._n, bool))
            del by_term, by_row
        return pair_coverage(rows, weights, terms, self._sequences)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_config(folder: Path, n: int, config: str, queries: list[tuple[str, np.ndarray, list[str]]]) -> dict:
    """Build one backend over the synthetic corpus in ``folder`` and time queries; one process per call."""
    import bm25s
    import faiss

    from rag.retrieve import Filters, Retriever
    from rag.search import SearchStores
    from rag.search.base import ChunkFilter, RowMeta
    from rag.search.embedded import Bm25sStore, FaissDenseStore

    index = _SynthIndex(folder, n)
    agency, names, date = index.meta_arrays
    meta = RowMeta.from_arrays(agency, names, date, np.zeros(n, np.int32), ["synthetic"])
    t = time.perf_counter()
    row = {"n": n, "config": config}
    if config == "qdrant":
        from rag.search.qdrant import QdrantCollection, QdrantDense, QdrantLexical, _client

        vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        data, indices, indptr = (np.load(folder / f"{x}.npy") for x in ("data", "indices", "indptr"))
        terms: list[list[str]] = [[] for _ in range(n)]
        for tid, term in enumerate(vocab):  # tf lost: a term listed once per chunk (BM25 weights differ slightly)
            for d in indices[indptr[tid]:indptr[tid + 1]]:
                terms[d].append(term)
        index.terms = terms
        freq = {t: int(indptr[i + 1] - indptr[i]) for i, t in enumerate(vocab)}
        index.document_frequency = lambda term: freq.get(term, 0)
        path = tempfile.mkdtemp(prefix="pressrag-qdrant-scale-")
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            col = QdrantCollection(_client("", path), "scale", index)
            col.sync()
        stores = SearchStores(QdrantDense(col), QdrantLexical(col), meta, "qdrant")
        row["index_mb"] = sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 2**20
    else:
        dense = FaissDenseStore(index.vectors, approximate_above=0 if config == "faiss-ivf" else n + 1)
        model = bm25s.BM25()
        vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        model.vocab_dict = {t: i for i, t in enumerate(vocab)}
        model.nonoccurrence_array = None  # the Lucene variant has none
        model.scores = {"data": np.load(folder / "data.npy"), "indices": np.load(folder / "indices.npy"),
                        "indptr": np.load(folder / "indptr.npy"), "num_docs": n}
        lexical = Bm25sStore(model)
        stores = SearchStores(dense, lexical, meta, config)
        with tempfile.TemporaryDirectory() as tmp:
            faiss.write_index(dense.index, f"{tmp}/v.faiss")
            row["index_mb"] = (Path(f"{tmp}/v.faiss").stat().st_size + sum(
                model.scores[x].nbytes for x in ("data", "indices", "indptr"))) / 2**20
        row["dense_kind"] = dense.kind
    row["build_s"] = time.perf_counter() - t
    index.search_cache[("faiss", "", "", "pressrag")] = stores  # the retriever asks for the default key

    class Vectors:
        name, dim = "synthetic", index.vectors.shape[1]
        table = {q: v for q, v, _ in queries}

        def embed_query(self, text):
            return self.table[text]

    top_agency = names[int(np.bincount(agency).argmax())]
    dated = np.sort(date[date > 0])
    since = str(dated[len(dated) // 2])
    flt = Filters(agencies=(top_agency,), since=f"{since[:4]}-{since[4:6]}-{since[6:]}")
    row["filter_share"] = float(meta.mask(ChunkFilter(agencies=(top_agency,), since=int(since))).mean())
    from ingest.korean import search_terms

    search_terms("준비")  # load Kiwi (~2.5 s) outside the timing; query analysis itself stays in it
    for mode in ("dense", "bm25", "hybrid"):
        retriever = Retriever(index, Vectors(), mode=mode)
        for label, filters in (("", None), ("+filter", flt)):
            times = []
            for q, _, _ in queries:
                t = time.perf_counter()
                retriever.run(q, k=10, filters=filters)
                times.append((time.perf_counter() - t) * 1000)
            row[f"{mode}{label}_p50"] = float(np.percentile(times, 50))
            row[f"{mode}{label}_p95"] = float(np.percentile(times, 95))
    row["rss_mb"] = _rss_mb()  # before the exact search below reads the float32 file
    if config == "faiss-ivf":
        exact = np.load(folder / "vectors.npy", mmap_mode="r")  # the float32 vectors as synthesised
        recall = []
        for _, v, _ in queries:
            truth = set(np.argsort(-(exact @ v))[:10].tolist())
            got = set(stores.dense.search(v, 10)[0].tolist())
            recall.append(len(truth & got) / 10)
        row["recall@10"] = float(np.mean(recall))
    return row


def scale(args) -> None:
    from ingest.korean import search_terms
    from rag.embed import make_embedder
    from rag.evaluate import load_gold

    work = args.work
    queries_file = work / "queries.json"
    if not queries_file.exists():
        work.mkdir(parents=True, exist_ok=True)
        questions = [q.question for q in load_gold(args.gold).questions][: args.queries]
        embedder = make_embedder()
        rows = [{"q": q, "v": embedder.embed_query(q).tolist(), "terms": search_terms(q)} for q in questions]
        queries_file.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    results = json.loads((work / "results.json").read_text()) if (work / "results.json").exists() else []
    for n in args.sizes:
        folder = work / f"n{n}"
        if not (folder / "vectors.npy").exists():
            t = time.perf_counter()
            synthesise(n, args.source, folder)
            print(f"synthesised {n:,} chunks in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        configs = [c for c in args.configs if c != "qdrant" or n <= args.qdrant_max]
        for config in configs:
            # Qdrant local mode is brute force in Python: fewer questions keep its run to minutes
            limit = str(args.qdrant_queries if config == "qdrant" else args.queries)
            out = subprocess.run([sys.executable, __file__, "_one", str(folder), str(n), config, str(queries_file),
                                  limit],
                                 capture_output=True, text=True)
            if out.returncode:
                print(f"{config} at {n}: failed\n{out.stderr[-2000:]}", file=sys.stderr)
                continue
            row = json.loads(out.stdout.strip().splitlines()[-1])
            results = [r for r in results if (r["n"], r["config"]) != (n, config)] + [row]
            print(json.dumps(row), file=sys.stderr)
    (work / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print_table(results)
    real = real_row_bytes(args.source)
    chunks = max(real["chunks"], 1)
    python, sentences = real["python_bytes"] / chunks, real["sentence_vector_bytes"] / chunks
    print(f"\nNot in the RSS column: a real index of the sources holds {python / 1024:.1f} KB a chunk in Python "
          f"objects and {sentences / 1024:.1f} KB of sentence vectors ({real['chunks']:,} chunks): "
          f"{(python + sentences) * max(args.sizes) / 2**30:.1f} GB more at {max(args.sizes):,} chunks.")


def print_table(results: list[dict]) -> None:
    """The README table from the rows of ``scale`` (also: ``python eval/bench_scale.py table results.json``)."""
    print("| chunks | store | build s | index MB | RSS MB | dense p50/p95 ms | BM25 p50/p95 | hybrid p50/p95 | "
          "hybrid + filter p50/p95 | dense recall@10 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    order = {"faiss-flat": 0, "faiss-ivf": 1, "qdrant": 2}
    for r in sorted(results, key=lambda r: (r["n"], order.get(r["config"], 9))):
        cell = lambda m: f"{r[m + '_p50']:.1f} / {r[m + '_p95']:.1f}"  # noqa: E731
        kind = r.get("dense_kind", "local mode")
        recall = f"{r['recall@10']:.3f}" if "recall@10" in r else ("exact" if r["config"] == "faiss-flat" else "—")
        print(f"| {r['n']:,} | {r['config']} ({kind}) | {r['build_s']:.0f} | {r['index_mb']:.0f} | {r['rss_mb']:.0f} | "
              f"{cell('dense')} | {cell('bm25')} | {cell('hybrid')} | {cell('hybrid+filter')} | {recall} |")


# -- concurrency ---------------------------------------------------------------------------------------------

def concurrency(args) -> None:
    """Eight questions one at a time, then all at once on threads (as the web chat runs them)."""
    from concurrent.futures import ThreadPoolExecutor

    from rag.embed import warm_up
    from rag.evaluate import load_gold
    from rag.service import open_assistant
    from rag.settings import load_settings

    assistant = open_assistant(load_settings(index=args.index), progress=False)
    # as `pressrag serve` has it once started: it warms the engine its questions and English answers use
    warm_up(assistant.retriever.embedder)
    questions = [q.question for q in load_gold(args.gold).questions if q.doc_ids][: args.n]
    assistant.ask(questions[0])  # load Kiwi and the model outside the timing
    # each pass starts with the answerer's caches, the embedder's question vectors and the question-token
    # memo empty: the second pass would otherwise find the first pass's sentence terms, question vectors
    # and question tokens
    from ingest import korean

    def clear() -> None:
        getattr(assistant.answerer, "clear_caches", lambda: None)()
        getattr(assistant.retriever.embedder, "clear_caches", lambda: None)()
        korean._memo.clear()  # private: no product code needs to forget an analysis

    ratios, same = [], []
    # Rounds, and their median: on this 2-core VM one pass swings by +-0.15 with the neighbours' load.
    for round_ in range(args.rounds):
        clear()
        alone, answers = [], []
        for q in questions:
            t = time.perf_counter()
            answers.append(assistant.ask(q).answer)
            alone.append(time.perf_counter() - t)
        clear()
        t = time.perf_counter()
        with ThreadPoolExecutor(len(questions)) as pool:
            together = list(pool.map(lambda q: assistant.ask(q).answer, questions))
        wall = time.perf_counter() - t
        ratios.append(wall / sum(alone))
        same.append(sum(a == b for a, b in zip(answers, together)))
        print(f"round {round_ + 1}: one at a time {sum(alone):.2f} s in all; all at once {wall:.2f} s wall "
              f"({ratios[-1]:.2f} of the sum); same answers {same[-1]}/{len(questions)}")
    print(f"{len(questions)} questions, {args.rounds} rounds: all at once takes {statistics.median(ratios):.2f} of the "
          f"one-at-a-time sum (median; range {min(ratios):.2f}-{max(ratios):.2f}); same answers at least {min(same)}/"
          f"{len(questions)} in each round; cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")


def concurrency_web(args) -> None:
    """The same through a running web chat (``pressrag serve``), over its HTTP API: what a browser waits for,
    queue, streaming and rendering included.

    The server's caches cannot be emptied from outside, so each round takes 8 questions it has not seen,
    asks them all at once first, and one at a time after (those then find their question vectors cached):
    the ratio errs on the high side.
    """
    import re
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    from rag.evaluate import load_gold

    client = Client(args.url, verbose=False)
    endpoint = next(name for name in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
                    if name.startswith("/respond"))

    def ask(question: str) -> tuple[float, str]:
        t = time.perf_counter()
        chat, *_ = client.predict(question, [], None, None, [], api_name=endpoint)
        content = chat[-1]["content"]
        page = content if isinstance(content, str) else "".join(part.get("text", "") for part in content)
        # citation anchors are random per answer, and the timing line differs: compare the rest
        return time.perf_counter() - t, re.sub(r"pr-src-[0-9a-f]+", "", page.split("pr-timing")[0])

    questions = [q.question for q in load_gold(args.gold).questions if q.doc_ids]
    ask("서버 준비 확인")  # the first request pays for the client's connection
    ratios, same = [], []
    for round_ in range(args.rounds):
        batch = questions[round_ * args.n:(round_ + 1) * args.n]
        if len(batch) < args.n:
            break
        t = time.perf_counter()
        with ThreadPoolExecutor(len(batch)) as pool:
            together = list(pool.map(ask, batch))
        wall = time.perf_counter() - t
        alone = [ask(q) for q in batch]
        total = sum(seconds for seconds, _ in alone)
        ratios.append(wall / total)
        same.append(sum(a[1] == b[1] for a, b in zip(alone, together)))
        print(f"round {round_ + 1}: all at once {wall:.2f} s wall; one at a time {total:.2f} s in all "
              f"({ratios[-1]:.2f} of the sum); same answers {same[-1]}/{len(batch)}")
    print(f"web chat at {args.url}: {len(ratios)} rounds of {args.n} questions: all at once takes "
          f"{statistics.median(ratios):.2f} of the one-at-a-time sum (median; range {min(ratios):.2f}-"
          f"{max(ratios):.2f}); same answers {sum(same)}/{args.n * len(ratios)}")


def same_answers(args) -> None:
    """The gold questions answered over one index with each search backend: how many answers are identical."""
    from rag.evaluate import load_gold
    from rag.service import open_assistant
    from rag.settings import load_settings

    questions = [q.question for q in load_gold(args.gold).questions]
    answers = {}
    for store in ("faiss", "qdrant"):
        extra = {"qdrant_path": tempfile.mkdtemp(prefix="pressrag-qdrant-")} if store == "qdrant" else {}
        assistant = open_assistant(load_settings(index=args.index, store=store, **extra), progress=False)
        answers[store] = [assistant.ask(q).answer for q in questions]
    same = sum(a == b for a, b in zip(answers["faiss"], answers["qdrant"]))
    print(f"same answer from FAISS and Qdrant local mode: {same}/{len(questions)} ({same / len(questions):.3f})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("parity")
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--gold", type=Path, default=REPO / "eval" / "gold" / "dev.jsonl")
    p.add_argument("--beir", type=Path)
    p.add_argument("--ref", default="HEAD")
    p.add_argument("--store", nargs="+", default=["faiss"])
    sc = sub.add_parser("scale")
    sc.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    sc.add_argument("--source", type=Path, nargs="+", required=True, help="real index folders to draw from")
    sc.add_argument("--gold", type=Path, default=REPO / "eval" / "gold" / "dev.jsonl")
    sc.add_argument("--queries", type=int, default=60)
    sc.add_argument("--qdrant-max", type=int, default=10_000)
    sc.add_argument("--qdrant-queries", type=int, default=10)
    sc.add_argument("--configs", nargs="+", default=["faiss-flat", "faiss-ivf", "qdrant"])
    sc.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pressrag-scale")
    cc = sub.add_parser("concurrency")
    cc.add_argument("--index", type=Path, help="the index to answer from in this process (without --url)")
    cc.add_argument("--gold", type=Path, default=REPO / "eval" / "gold" / "dev.jsonl")
    cc.add_argument("--n", type=int, default=8)
    cc.add_argument("--rounds", type=int, default=5)
    cc.add_argument("--url", help="a running web chat (pressrag serve) to ask through its HTTP API instead")
    tb = sub.add_parser("table")
    tb.add_argument("results", type=Path)
    sa = sub.add_parser("same-answers")
    sa.add_argument("--index", type=Path, required=True)
    sa.add_argument("--gold", type=Path, default=REPO / "eval" / "gold" / "dev.jsonl")
    one = sub.add_parser("_one")
    one.add_argument("folder", type=Path)
    one.add_argument("n", type=int)
    one.add_argument("config")
    one.add_argument("queries", type=Path)
    one.add_argument("limit", type=int)
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    if args.command == "parity":
        parity(args)
    elif args.command == "scale":
        scale(args)
    elif args.command == "concurrency":
        if args.url:
            concurrency_web(args)
        elif args.index:
            concurrency(args)
        else:
            parser.error("concurrency needs --index or --url")
    elif args.command == "same-answers":
        same_answers(args)
    elif args.command == "table":
        print_table(json.loads(args.results.read_text(encoding="utf-8")))
    else:
        rows = json.loads(args.queries.read_text(encoding="utf-8"))[: args.limit]
        queries = [(r["q"], np.asarray(r["v"], np.float32), r["terms"]) for r in rows]
        print(json.dumps(run_config(args.folder, args.n, args.config, queries)))


if __name__ == "__main__":
    main()
