"""How much of a gold set's retrieval and citation misses are near-duplicate notices.

    pressrag eval --gold GOLD --index IDX --json-out run.json
    python eval/near_duplicates.py run.json --index IDX [--threshold 0.9]

A gold question names one notice; when the index holds another notice with nearly the same text (a
re-issued release, or korquad_tune's several versions of one Wikipedia paragraph), ranking or citing
the copy counts as a miss although it states the same facts. This report finds, for each gold notice,
the other notices whose character 5-gram sets overlap it at Jaccard >= --threshold (0.8), and prints
hit@1, MRR, citation precision and key-fact recall over all questions, over those whose gold notice
has no near-duplicate, and over those whose gold notice has one. It changes no figure of
``pressrag eval``: it says how much of a miss is a coin toss between copies. (Copies with the same title
at Jaccard >= 0.9 are already one notice to retrieval and to ``pressrag eval``: ``NoticeIndex.copies``;
this report also reads pairs under other titles and below that bar.)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rag.copies import jaccard, shingles  # noqa: E402


def near_duplicates(bodies: dict[str, str], of: set[str], threshold: float) -> dict[str, set[str]]:
    """For each notice id in ``of``, the other notices whose 5-gram Jaccard with it is >= threshold."""
    grams = {doc_id: shingles(body) for doc_id, body in bodies.items()}
    sizes = {doc_id: len(g) for doc_id, g in grams.items()}
    out: dict[str, set[str]] = {}
    for doc_id in of:
        if doc_id not in grams:
            continue
        mine = grams[doc_id]
        # Jaccard >= t needs the smaller set to be at least t times the larger: skips most pairs unread
        out[doc_id] = {other for other, g in grams.items() if other != doc_id
                       and threshold * max(sizes[other], len(mine)) <= min(sizes[other], len(mine))
                       and jaccard(mine, g) >= threshold}
    return out


def figures(rows: list[dict]) -> dict[str, float | int]:
    """hit@1, MRR, citation precision and key-fact recall of answerable eval rows, averaged from the
    figures ``pressrag eval`` wrote for each question (rag.evaluate.retrieval_metrics and the rest)."""
    from rag.evaluate import mean

    return {"n": len(rows),
            "hit@1": mean([r["retrieval"]["hit@1"] for r in rows]),
            "mrr": mean([r["retrieval"]["mrr"] for r in rows]),
            "citations": mean([r["citation_precision"] for r in rows if r.get("citation_precision") is not None]),
            "key_facts": mean([r["key_fact_recall"] for r in rows if r.get("key_fact_recall") is not None])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a pressrag eval --json-out file")
    parser.add_argument("--index", type=Path, required=True, help="the index the run asked")
    parser.add_argument("--threshold", type=float, default=0.8, help="5-gram Jaccard that counts as a copy (korquad_tune: the same 9 notices from 0.7 to 0.8)")
    args = parser.parse_args(argv)
    from rag.index import NoticeIndex

    rows = [r for r in json.loads(args.run.read_text(encoding="utf-8"))["questions"] if r["gold_doc_ids"]]
    index = NoticeIndex.load(args.index)
    bodies = {doc_id: f"{n.title}\n{n.body}" for doc_id, n in index.notices.items()}
    gold = {d for r in rows for d in r["gold_doc_ids"]}
    copies = near_duplicates(bodies, gold, args.threshold)
    with_copy = {d for d, others in copies.items() if others}
    split = {"all": rows,
             "gold notice has no near-duplicate": [r for r in rows if not set(r["gold_doc_ids"]) & with_copy],
             "gold notice has one": [r for r in rows if set(r["gold_doc_ids"]) & with_copy]}
    print(f"{len(with_copy)} of {len(gold)} gold notices have a near-duplicate in the index "
          f"({len(index.notices)} notices; 5-gram Jaccard >= {args.threshold})")
    print("| questions | n | hit@1 | MRR | citations | key facts |\n|---|---|---|---|---|---|")
    for name, part in split.items():
        if part:
            f = figures(part)
            print(f"| {name} | {f['n']} | {f['hit@1']:.3f} | {f['mrr']:.3f} | {f['citations']:.3f} | {f['key_facts']:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
