"""Bootstrap intervals and paired changes (rag/uncertainty.py) over `pressrag eval` question rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.uncertainty import changed_questions, group_key, intervals, paired_changes

DEV = Path(__file__).resolve().parent.parent / "eval" / "gold" / "dev.jsonl"


def _row(qid: str, doc: str | None, facts: float = 1.0, refused: bool = False, hit: float = 1.0) -> dict:
    """A question row as `pressrag eval --json-out` writes it."""
    row = {"id": qid, "question": qid, "gold_doc_ids": [doc] if doc else [], "retrieved": [doc or "x"],
           "answer": f"{qid} {facts} {refused}", "refused": refused}
    if doc:
        row.update(retrieval={"hit@1": hit, "mrr": hit}, key_fact_recall=0.0 if refused else facts,
                   citation_precision=None if refused else 1.0)
    return row


def test_groups_are_notices_or_articles():
    assert group_key("q1", ["koreakr-156764575"]) == "koreakr-156764575"
    assert group_key("q1", ["bidpro/000_784a45d05de28dc5.txt", "other"]) == "bidpro/000_784a45d05de28dc5.txt"
    # korquad_tune paragraphs of one article are one group; an unanswerable question is its own
    assert group_key("q1", ["korquad1-tune-054-38"]) == group_key("q2", ["korquad1-tune-054-03"]) == "korquad1-tune-054"
    assert group_key("dev-006", []) == "dev-006"


def test_intervals_hold_the_figure_and_widen_when_a_notice_answers_alike():
    perfect = [_row(f"q{i}", f"n{i}") for i in range(40)]
    assert intervals(perfect)["key_fact_recall"] == (1.0, 1.0)
    # half the questions right, one question per notice
    single = [_row(f"q{i}", f"n{i}", facts=float(i % 2)) for i in range(100)]
    lo, hi = intervals(single)["key_fact_recall"]
    assert lo < 0.5 < hi and hi - lo < 0.3
    # the same 100 questions, five per notice, a notice's five all right or all wrong: 20 independent
    # outcomes, not 100, so the interval must be wider
    grouped = [_row(f"q{i}", f"n{i // 5}", facts=float((i // 5) % 2)) for i in range(100)]
    glo, ghi = intervals(grouped)["key_fact_recall"]
    assert glo < 0.5 < ghi and ghi - glo > 1.5 * (hi - lo)
    # refusal accuracy reads only the unanswerable questions, false refusals only the answerable ones
    mixed = perfect + [_row(f"u{i}", None, refused=i < 3) for i in range(4)]
    figures = intervals(mixed)
    assert figures["false_refusal_rate"] == (0.0, 0.0)
    assert figures["refusal_accuracy"][0] < 0.75 < figures["refusal_accuracy"][1] <= 1.0
    assert intervals(single) == intervals(single)  # one fixed seed: the same report every run


def test_paired_changes_tell_a_real_change_from_noise():
    before = [_row(f"q{i}", f"n{i}", facts=float(i % 2)) for i in range(100)]
    same = paired_changes(before, [dict(r) for r in before])
    assert {c.reading for c in same} == {"same"}
    one = [dict(r) for r in before]
    one[1] = _row("q1", "n1", facts=0.0)  # one question of 100 loses its fact
    facts = next(c for c in paired_changes(before, one) if c.metric == "key_fact_recall")
    assert facts.delta == pytest.approx(-0.01) and facts.reading == "within noise"
    many = [_row(f"q{i}", f"n{i}", facts=1.0) for i in range(100)]  # fifty questions gain theirs
    facts = next(c for c in paired_changes(before, many) if c.metric == "key_fact_recall")
    assert facts.reading == "better" and 0.0 < facts.low <= 0.5 <= facts.high
    # fewer false refusals read as better (lower is better there)
    refusing = [_row(f"q{i}", f"n{i}", refused=i < 40) for i in range(100)]
    answering = [_row(f"q{i}", f"n{i}") for i in range(100)]
    change = next(c for c in paired_changes(refusing, answering) if c.metric == "false_refusal_rate")
    assert change.delta == pytest.approx(-0.4) and change.reading == "better"
    assert next(c for c in paired_changes(answering, refusing) if c.metric == "false_refusal_rate").reading == "worse"
    # only questions both runs asked are compared; the changed ones are listed
    assert paired_changes(before, [_row("other", "n1")]) == []
    assert [new["id"] for _, new in changed_questions(before, one)] == ["q1"]


def test_intervals_over_the_dev_gold_set_group_by_notice():
    rows = []
    for line in DEV.read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        # every question right but those of one notice: the interval must reach below the figure
        rows.append(_row(q["id"], q["doc_ids"][0] if q["doc_ids"] else None))
    target = rows[0]["gold_doc_ids"][0]
    for r in rows:
        if r["gold_doc_ids"] and r["gold_doc_ids"][0] == target:
            r["key_fact_recall"] = 0.0
    lo, hi = intervals(rows)["key_fact_recall"]
    assert lo < hi == 1.0
