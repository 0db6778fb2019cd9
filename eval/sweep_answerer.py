"""Sweep one setting of the extractive answerer over gold sets, each split in two halves by notice.

Retrieval runs once per question; only answering is repeated for each value, so a sweep over the
1,875 answerable korquad_tune questions takes about a minute per value on 2 cores. For each value it
prints key-fact recall (a refusal scores 0, as in ``pressrag eval``) and citation precision (the share
of an answer's cited notices that are gold notices) for each half and for the whole set, and the
median length of the answers given (a setting can buy key facts with longer answers).

The last two columns compare each value with the setting's current one over the same questions:
the change and its paired 95% bootstrap interval (``rag/uncertainty.py``, questions resampled by notice
or article), read as better, worse, within noise or same.

The halves are eval/fit_answers.py's (a korquad_tune article's paragraphs stay together; other sets
split by notice), so a value chosen on half A is checked on half B, the half the answer weights were
not fitted on.

    python eval/sweep_answerer.py other_notice_gain 0.15 0.25 0.35 0.5 \\
        --set data/demo_index eval/gold/dev.jsonl \\
        --set /tmp/tune-idx ../shared/external/korquad_tune/gold.jsonl
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "eval"))

from fit_answers import half_of, split_key  # noqa: E402  (the halves the answer weights are fitted on)
from rag.embed import warm_up  # noqa: E402
from rag.uncertainty import paired_changes  # noqa: E402

if TYPE_CHECKING:
    from rag.answer_settings import AnswerSettings
    from rag.service import Assistant


def sweep(setting: str, values: list[float], assistant: Assistant, gold_path: Path, limit: int | None = None) -> list[str]:
    """The table rows (markdown) for ``values`` of ``setting`` on ``assistant``'s answerer, over the
    answerable questions of ``gold_path`` (the first ``limit`` of them when given)."""
    from rag.evaluate import gold_id_aliases, key_fact_recall, load_gold, mean, one_copy

    answerer = assistant.answerer
    if not hasattr(answerer.settings, setting):
        raise SystemExit(f"the answerer has no setting named {setting!r} (see rag/answer_settings.py)")
    settings = answerer.settings
    original = getattr(settings, setting)
    # the command line gives numbers: a count (max_chars) or a flag (whole_top_notice, 0 or 1) keeps its type
    if not isinstance(original, float) and any(v != int(v) or isinstance(original, bool) and v not in (0, 1)
                                               for v in values):
        raise SystemExit(f"{setting} takes {'0 or 1' if isinstance(original, bool) else 'whole numbers'}, got {values}")
    values = [type(original)(v) for v in values]
    try:  # AnswerSettings checks each value's range before any question is asked
        trials = {v: replace(settings, **{setting: v}) for v in values}
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    aliases = gold_id_aliases(assistant.index.notices)
    copies = assistant.index.copies()  # a copy of the gold notice (NoticeIndex.copies) is the gold notice
    items = []
    for q in load_gold(gold_path).questions[:limit]:
        if q.doc_ids:
            q = replace(q, doc_ids=tuple(one_copy((aliases.get(d, d) for d in q.doc_ids), copies)))
            items.append((q, half_of(split_key(q, gold_path.stem)), assistant.retriever.run(q.question, k=8)))
    halves = {h: sum(half == h for _, half, _ in items) for h in "AB"}
    lines = [f"{gold_path}: {len(items)} answerable questions (half A {halves['A']}, half B {halves['B']})",
             f"| {setting} | key facts A | key facts B | key facts | chars p50 | citations A | citations B | citations "
             "| key facts vs now | citations vs now |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)

    def answer_all(trial: AnswerSettings) -> list[dict]:
        """One `pressrag eval`-style row per question, answered with ``trial`` settings."""
        answerer.settings = trial
        rows = []
        for q, half, retrieval in items:
            answer = answerer.run(q.question, retrieval, assistant.index)
            cited = [copies.get(c.doc_id, c.doc_id) for c in answer.citations]
            rows.append({"id": q.id, "half": half, "gold_doc_ids": list(q.doc_ids), "answer": answer.answer,
                         "refused": answer.refused, "retrieved": retrieval.doc_ids[:1],
                         "key_fact_recall": 0.0 if answer.refused else key_fact_recall(answer.answer, q.key_facts),
                         "citation_precision": (sum(d in q.doc_ids for d in cited) / len(cited)
                                                if cited and not answer.refused else None)})
        return rows

    try:
        now = answer_all(settings)
        for value in values:
            rows = now if value == original else answer_all(trials[value])
            facts = {h: [r["key_fact_recall"] for r in rows if r["half"] == h] for h in "AB"}
            cites = {h: [r["citation_precision"] for r in rows if r["half"] == h and r["citation_precision"] is not None]
                     for h in "AB"}
            chars = [len(r["answer"]) for r in rows if not r["refused"]]
            facts_row = [mean(facts["A"]), mean(facts["B"]), mean(facts["A"] + facts["B"])]
            cites_row = [mean(cites["A"]), mean(cites["B"]), mean(cites["A"] + cites["B"])]
            p50 = float(np.median(chars)) if chars else 0.0
            marker = " (now)" if value == original else ""
            changes = {c.metric: c for c in paired_changes(now, rows)}
            versus = [f"{c.delta:+.3f} ({c.low:+.3f}…{c.high:+.3f}) {c.reading}" if (c := changes.get(m)) else "–"
                      for m in ("key_fact_recall", "citation_precision")]
            lines.append(f"| {value}{marker} | " + " | ".join(f"{v:.3f}" for v in facts_row)
                         + f" | {p50:.0f} | " + " | ".join(f"{v:.3f}" for v in cites_row) + " | "
                         + " | ".join(versus) + " |")
            print(lines[-1], flush=True)
    finally:
        answerer.settings = settings
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("setting", help="a field of rag/answer_settings.py AnswerSettings, e.g. other_notice_gain")
    parser.add_argument("values", type=float, nargs="+")
    parser.add_argument("--set", nargs=2, action="append", metavar=("INDEX", "GOLD"), required=True,
                        help="an index folder and the gold questions to ask it (repeatable)")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    from rag.service import open_assistant
    from rag.settings import load_settings

    for index_dir, gold_path in args.set:
        assistant = open_assistant(load_settings(index=Path(index_dir)), progress=False)
        warm_up(assistant.retriever.embedder)
        print()
        sweep(args.setting, args.values, assistant, Path(gold_path))


if __name__ == "__main__":
    main()
