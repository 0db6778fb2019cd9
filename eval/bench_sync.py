"""Sync throughput: `pressrag sync` of N notices from a local feed vs. `pressrag ingest` of the same notices from a file.

Both rows index the same N demo-corpus notices into a fresh index with the same embedder
(default: the real bundled model from ``rag.embed.make_embedder()``), so the difference is what
the feed path adds: HTTP, feedparser, HTML stripping, one small file per item, and reading N
files instead of one. The feed is RSS 2.0 made from the corpus records (tests/feed_fixtures.py)
and served from 127.0.0.1. The model and Kiwi are warmed up before any row and charged to none;
rows alternate (file, sync, file, sync, …) so that load from other processes falls on both, and
each row reports its best repeat. Target (issue): sync ≥ 90 % of the file rate.

Usage::

    python eval/bench_sync.py [--n 30] [--repeats 2] [--embedder model|hash]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from rag.build import IndexUpdater  # noqa: E402
from rag.sync import FeedSync  # noqa: E402
from tests.feed_fixtures import FeedServer, load_records  # noqa: E402


def _embedder(kind: str):
    if kind == "hash":
        from tests.conftest import HashEmbedder

        return HashEmbedder()
    from rag.embed import make_embedder

    return make_embedder()


def _warm_up(embedder, records: list[dict]) -> float:
    """Load the model's bulk engine and Kiwi once, outside every row."""
    from ingest.korean import search_terms_many

    started = time.perf_counter()
    embedder.embed_passages([r["text"][:300] for r in records[:32]])
    search_terms_many([records[0]["text"]])
    return time.perf_counter() - started


def ingest_from_file(embedder, records: list[dict], work: Path) -> dict:
    source = work / "notices.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    started = time.perf_counter()
    result = IndexUpdater(embedder, progress=False).run(work / "index", [source])
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "chars": result.chars_added, "notices": result.notices_added,
            "chunks": result.chunks_added, "network_s": 0.0}


def sync_from_feed(embedder, url: str, work: Path) -> dict:
    syncer = FeedSync(embedder, [url], attachments=False)
    started = time.perf_counter()
    result = syncer.run(work / "index")
    seconds = time.perf_counter() - started
    syncer.close()
    feed = result.feeds[0]
    if feed.failed or result.ingest is None:
        raise SystemExit(f"sync failed: {feed.error}")
    return {"seconds": seconds, "chars": result.ingest.chars_added, "notices": result.ingest.notices_added,
            "chunks": result.ingest.chunks_added, "network_s": feed.seconds}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=30, help="notices in the feed and the file")
    parser.add_argument("--repeats", type=int, default=2, help="runs per row (best kept)")
    parser.add_argument("--embedder", choices=("model", "hash"), default="model")
    args = parser.parse_args(argv)

    records = load_records()[: args.n]
    embedder = _embedder(args.embedder)
    warm = _warm_up(embedder, records)
    server = FeedServer()
    url = server.feed("/rss/pressrelease.xml", records)
    rows: dict[str, list[dict]] = {"file": [], "sync": []}
    try:
        for _ in range(max(1, args.repeats)):
            for name in ("file", "sync"):
                with tempfile.TemporaryDirectory(prefix=f"bench-sync-{name}-") as tmp:
                    work = Path(tmp)
                    run = ingest_from_file(embedder, records, work) if name == "file" else sync_from_feed(embedder, url, work)
                rows[name].append(run)
                print(f"{name}: {run['seconds']:.1f} s, {run['chars'] / run['seconds']:,.0f} chars/s", file=sys.stderr)
    finally:
        server.close()

    best = {name: min(runs, key=lambda r: r["seconds"]) for name, runs in rows.items()}
    file_rate = best["file"]["chars"] / best["file"]["seconds"]
    print(f"\nSync vs. file ingest, {args.n} notices, embedder {getattr(embedder, 'name', '?')} "
          f"(warm-up {warm:.1f} s not counted; best of {args.repeats})\n")
    print("| path | notices | chunks | chars | seconds | of which feed fetch+parse s | chars/s | vs file |")
    print("|:---|---:|---:|---:|---:|---:|---:|---:|")
    for name, label in (("file", "ingest from a JSONL file"), ("sync", "sync from a local RSS feed")):
        r = best[name]
        rate = r["chars"] / r["seconds"]
        print(f"| {label} | {r['notices']} | {r['chunks']} | {r['chars']:,} | {r['seconds']:.2f} | "
              f"{r['network_s']:.2f} | {rate:,.0f} | {rate / file_rate:.1%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
