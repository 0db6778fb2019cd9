"""Choose the "see also" share (rag/related.py ``SeeAlso``, ``PRESSRAG_SEE_ALSO``) on gold sets.

Under an answer, see-also lists the notices retrieval scored at least a share of the best notice's that
the answer does not quote. Two kinds of gold sets judge a share:

- ``--one`` sets, whose questions one notice answers (dev, korquad_tune): there a see-also list is at
  best a pointer to related reading, so it should be rare. Printed: the share of answers that show one,
  and the notices listed per answer.
- ``--several`` sets, whose answers are spread over notices (heldout_aggregate): printed, the share of
  the gold notices the answer does not quote that see-also lists (recall), for each half, and the share
  of listed notices that are gold (precision).

The choice is the lowest share (most help to the second kind) at which no ``--one`` set shows a
see-also list under more than ``--most-shown`` of its answers (0.15). Only questions with one gold
notice count for ``--one``; only answered questions count for either. The halves are
eval/fit_answers.py's (by notice, or article for korquad_tune).

    python eval/fit_see_also.py \\
        --one data/demo_index eval/gold/dev.jsonl \\
        --one /tmp/tune-idx ../shared/external/korquad_tune/gold.jsonl \\
        --several data/demo_index eval/gold/heldout_aggregate.jsonl
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "eval"))

from fit_answers import half_of, split_key  # noqa: E402  (the halves the answer weights are fitted on)
from rag.related import LIMIT, notice_shares  # noqa: E402

SHARES = (0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


@dataclass(frozen=True)
class Seen:
    """One answered question: its gold notices, the notices the answer cites, and every other retrieved
    notice with its best passage's share of the top notice's score."""

    half: str
    gold: frozenset[str]
    cited: frozenset[str]
    others: tuple[tuple[str, float], ...]

    def listed(self, share: float, limit: int = LIMIT) -> list[str]:
        return [d for d, s in self.others if s >= share][:limit]


def observe(assistant, gold_path: Path, limit: int | None = None) -> list[Seen]:
    """Ask every answerable question of ``gold_path`` (the first ``limit``); one ``Seen`` per answer."""
    from rag.evaluate import gold_id_aliases, load_gold, one_copy

    aliases = gold_id_aliases(assistant.index.notices)
    copies = assistant.index.copies()
    out = []
    for q in load_gold(gold_path).questions[:limit]:
        if not q.doc_ids:
            continue
        gold = frozenset(one_copy((aliases.get(d, d) for d in q.doc_ids), copies))
        retrieval = assistant.retriever.run(q.question, k=8)
        answer = assistant.answerer.run(q.question, retrieval, assistant.index)
        shares = notice_shares(retrieval)
        if answer.refused or not shares:
            continue
        cited = frozenset(copies.get(c.doc_id, c.doc_id) for c in answer.citations)
        others = tuple((copies.get(d, d), shares[d][0]) for d in retrieval.doc_ids
                       if d in shares and copies.get(d, d) not in cited)
        out.append(Seen(half_of(split_key(q, gold_path.stem)), gold, cited, others))
    return out


def shown(rows: list[Seen], share: float) -> tuple[float, float]:
    """The share of answers that list any notice, and the notices listed per answer."""
    lists = [r.listed(share) for r in rows]
    return (sum(bool(x) for x in lists) / len(lists) if lists else 0.0,
            sum(map(len, lists)) / len(lists) if lists else 0.0)


def recall(rows: list[Seen], share: float) -> tuple[int, int, float]:
    """Gold notices the answers leave out that see-also lists, of all they leave out; and the share of
    listed notices that are gold."""
    missed = found = listed = listed_gold = 0
    for r in rows:
        names = r.listed(share)
        left_out = r.gold - r.cited
        missed += len(left_out)
        found += len(left_out & set(names))
        listed += len(names)
        listed_gold += len(set(names) & r.gold)
    return found, missed, (listed_gold / listed if listed else 0.0)


def choose(one_sets: list[list[Seen]], most_shown: float, shares=SHARES) -> float:
    """The lowest share at which no single-notice set shows a see-also list under more than ``most_shown``
    of its answers (the highest share tried when none qualifies)."""
    for share in sorted(shares):
        if all(shown(rows, share)[0] <= most_shown for rows in one_sets):
            return share
    return max(shares)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--one", nargs=2, action="append", default=[], metavar=("INDEX", "GOLD"),
                        help="a set whose questions one notice answers (repeatable)")
    parser.add_argument("--several", nargs=2, action="append", default=[], metavar=("INDEX", "GOLD"),
                        help="a set whose answers are spread over notices (repeatable)")
    parser.add_argument("--most-shown", type=float, default=0.15,
                        help="the largest share of a --one set's answers that may show see-also (0.15)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions of each set")
    args = parser.parse_args(argv)
    if not args.one:
        raise SystemExit("give at least one --one set: it is what bounds the share")
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    from rag.service import open_assistant
    from rag.settings import load_settings

    def observed(index_dir: str, gold_path: str) -> list[Seen]:
        assistant = open_assistant(load_settings(index=Path(index_dir), see_also=0.0), progress=False)
        return observe(assistant, Path(gold_path), args.limit)

    one = {gold: [r for r in observed(idx, gold) if len(r.gold) == 1] for idx, gold in args.one}
    several = {gold: observed(idx, gold) for idx, gold in args.several}
    for gold, rows in one.items():
        print(f"\n{gold}: {len(rows)} answered questions with one gold notice")
        print("| share | answers showing see-also | notices listed per answer |\n|---|---|---|")
        for share in SHARES:
            frac, per = shown(rows, share)
            print(f"| {share} | {frac:.3f} | {per:.2f} |")
    for gold, rows in several.items():
        print(f"\n{gold}: {len(rows)} answered questions")
        print("| share | left-out gold notices listed, A | B | all | precision | answers showing see-also |\n"
              "|---|---|---|---|---|---|")
        for share in SHARES:
            cells = []
            for half in ("A", "B", None):
                found, missed, _ = recall([r for r in rows if half is None or r.half == half], share)
                cells.append(f"{found}/{missed}")
            print(f"| {share} | " + " | ".join(cells) + f" | {recall(rows, share)[2]:.2f} | {shown(rows, share)[0]:.3f} |")
    share = choose(list(one.values()), args.most_shown)
    print(f"\nchosen share: {share} (the lowest at which every --one set shows see-also under at most "
          f"{args.most_shown:.0%} of its answers); rag/related.py SeeAlso and PRESSRAG_SEE_ALSO hold the default")


if __name__ == "__main__":
    main()
