"""Fit the answerer's sentence scorer and refusal threshold on gold questions; write rag/answer_weights.json.

    python eval/fit_answers.py --set dev eval/gold/dev.jsonl IDX_DEV \\
        --set korquad_tune ../shared/external/korquad_tune/gold.jsonl IDX_TUNE --every korquad_tune=3 \\
        [--out rag/answer_weights.json]

(IDX_*: indexes built with `pressrag ingest` from the demo corpus and from korquad_tune/corpus.jsonl.)

Each set is split in two halves by notice (a question goes with its first gold notice; unanswerable
questions by their id), so no notice is in both halves. The scorer is fitted on half A of every set
and the figures are printed for both halves: half B is what it does on notices it never saw.

A sentence is labelled answer-bearing when it contains one of the question's key facts. The refusal
threshold is the highest best-sentence probability that keeps false refusals on half A of every set
at or under ``--max-false-refusals``; the second threshold, below which the question-reading rules may
refuse, is the one with the best refusal accuracy less 4x the false refusals on half A. Each rule
then gets its own gate, chosen the same way with the other rules held (a rule that fires on many
answerable questions refuses only where the scorer is less sure).

``--gates-only`` keeps the scorer and the first two thresholds of the weights file and refits only the
rule gates.

Nothing is copied from the gold sets into the weights file: only coefficients and counts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.normalize import squash  # noqa: E402
from rag.answer import RULES  # noqa: E402
from rag.index import NoticeIndex  # noqa: E402
from rag.scorer import FEATURES, WEIGHTS_FILE, ScorerWeights, SentenceModel, fit_logistic, lexical_mask  # noqa: E402


def half_of(key: str) -> str:
    """'A' or 'B', stable across runs and machines."""
    return "A" if hashlib.sha256(key.encode("utf-8")).digest()[0] % 2 == 0 else "B"


def split_key(row, name: str) -> str:
    """The unit a set is split by: a korquad_tune article (doc ids korquad1-tune-AAA-PP), else the notice."""
    if not row.doc_ids:
        return row.id
    doc = row.doc_ids[0]
    if doc.startswith("korquad1-tune-"):
        return doc.rsplit("-", 1)[0]
    return doc


def collect(name: str, gold_path: Path, index_dir: Path, k: int = 8, limit: int | None = None,
            answerer=None, assistant=None, every: int = 1) -> list[dict]:
    """One record per question: its half, answerable or not, candidate feature rows and labels."""
    from rag.evaluate import gold_id_aliases, load_gold
    from rag.retrieve import Retriever
    from rag.settings import load_settings
    from rag.service import open_assistant
    from rag.types import Retrieval

    gold = load_gold(gold_path)
    if assistant is None:
        assistant = open_assistant(load_settings(index=index_dir, llm="none"), progress=False)
    answerer = answerer or assistant.answerer
    retriever = Retriever(assistant.index, assistant.retriever.embedder, mode=assistant.retriever.mode,
                          fusion=assistant.retriever.fusion, weights=assistant.retriever.weights)
    aliases = gold_id_aliases(assistant.index.notices)
    records = []
    # every unanswerable question, every ``every``-th answerable one (a large set fitted in less time)
    answerable = [q for q in gold.questions if q.doc_ids][::every]
    questions = [q for q in gold.questions if not q.doc_ids] + answerable
    for q in questions[:limit] if limit else questions:
        q = replace(q, doc_ids=tuple(aliases.get(d, d) for d in q.doc_ids))
        retrieval = retriever.run(q.question, k=max(k, 30))
        top = Retrieval(retrieval.query, retrieval.hits[:k],
                        list(dict.fromkeys(h.chunk.doc_id for h in retrieval.hits[:k])), retrieval.timings_ms,
                        retrieval.lexical_coverage)
        candidates, x = answerer.features(q.question, top, assistant.index)
        flags = answerer.rule_flags(q.question, top, assistant.index)
        contact = answerer.answers_from_contacts(q.question, top, assistant.index)
        facts = [squash(f) for f in q.key_facts if squash(f)]
        labels = [float(bool(q.doc_ids) and c.doc_id in q.doc_ids and any(f in squash(c.text) for f in facts))
                  for c in candidates]
        records.append({"set": name, "id": q.id, "half": half_of(split_key(q, name)), "answerable": bool(q.doc_ids),
                        "x": x, "y": np.asarray(labels), "flags": flags, "contact": contact})
    return records


def choose_threshold(confidences: list[tuple[float, bool]], max_false_refusals: float) -> float:
    """The highest threshold whose false-refusal rate over answerable questions stays within the limit."""
    answerable = sorted(c for c, ok in confidences if ok)
    if not answerable:
        return 0.0
    allowed = int(max_false_refusals * len(answerable))
    # refusing below t refuses the answerable questions with confidence < t: at most ``allowed`` of them
    return float(answerable[allowed]) if allowed < len(answerable) else float(answerable[-1])


def refused(record: dict, conf: float, model: SentenceModel) -> bool:
    return not record["contact"] and model.refuses(conf, record["flags"])


def objective(records: list[dict], model: SentenceModel, false_cost: float = 4.0, half: str = "A") -> float:
    """Over the sets, the sum of refusal accuracy minus ``false_cost`` times the false-refusal rate on
    ``half`` (each set counts the same, however many questions it has)."""
    score = 0.0
    for name in {r["set"] for r in records}:
        rows = [r for r in records if r["set"] == name and r["half"] == half]
        ans = [refused(r, confidence(model, r), model) for r in rows if r["answerable"]]
        una = [refused(r, confidence(model, r), model) for r in rows if not r["answerable"]]
        score += (np.mean(una) if una else 0.0) - false_cost * (np.mean(ans) if ans else 0.0)
    return score


def _grid(model: SentenceModel) -> np.ndarray:
    return np.arange(model.refuse_below, 1.0001, 0.05)


def choose_rules_threshold(records: list[dict], model: SentenceModel, false_cost: float = 4.0) -> float:
    """The confidence below which the question-reading rules may refuse, one for all of them: the best
    ``objective`` on half A."""
    best, choice = -1e9, model.refuse_below
    for t in _grid(model):
        score = objective(records, replace(model, rules_below=float(t), rule_gates=()), false_cost)
        if score > best + 1e-9:
            best, choice = score, float(t)
    return choice


def choose_rule_gates(records: list[dict], model: SentenceModel, false_cost: float = 4.0,
                      rules: tuple[str, ...] = RULES) -> tuple[tuple[str, float], ...]:
    """A gate per rule, starting from ``model.rules_below`` for all: each rule in turn takes the grid value
    with the best ``objective`` on half A, the others held (three rounds; a tie keeps the value nearest to
    the current one, so a rule that never fires on the tuning data keeps the common threshold)."""
    gates = {rule: model.rules_below for rule in rules}
    for _ in range(3):
        for rule in rules:
            def score(t: float, rule: str = rule) -> tuple[float, float]:
                trial = replace(model, rule_gates=tuple(sorted({**gates, rule: float(t)}.items())))
                return round(objective(records, trial, false_cost), 9), -abs(float(t) - gates[rule])
            gates[rule] = float(max(_grid(model), key=score))
    return tuple(sorted((rule, round(t, 4)) for rule, t in gates.items()))


def curve(confidences: list[tuple[float, bool]], thresholds) -> list[dict]:
    """Refusal accuracy and false-refusal rate at each threshold."""
    unanswerable = [c for c, ok in confidences if not ok]
    answerable = [c for c, ok in confidences if ok]
    out = []
    for t in thresholds:
        out.append({"threshold": round(float(t), 4),
                    "refusal_accuracy": sum(c < t for c in unanswerable) / len(unanswerable) if unanswerable else None,
                    "false_refusals": sum(c < t for c in answerable) / len(answerable) if answerable else None})
    return out


def fit_model(records: list[dict], columns: np.ndarray, l2: float, max_false_refusals: float) -> SentenceModel:
    """A logistic model over ``columns`` (the others get weight 0), fitted on half A, with its threshold."""
    train = [r for r in records if r["half"] == "A" and len(r["x"])]
    x = np.vstack([r["x"] for r in train])[:, columns]
    y = np.concatenate([r["y"] for r in train])
    mean, scale, coef, bias = fit_logistic(x, y, l2=l2)
    full = [np.zeros(len(FEATURES)), np.ones(len(FEATURES)), np.zeros(len(FEATURES))]
    for arr, part in zip(full, (mean, scale, coef)):
        arr[columns] = part
    model = SentenceModel(full[0], full[1], full[2], bias)
    # every set's half A keeps its false refusals within the limit (a small set is not outvoted)
    model = replace(model, refuse_below=min(
        choose_threshold([(confidence(model, r), r["answerable"]) for r in records
                          if r["half"] == "A" and r["set"] == name and not r["contact"]], max_false_refusals)
        for name in {r["set"] for r in records}))
    model = replace(model, rules_below=choose_rules_threshold(records, model))
    return replace(model, rule_gates=choose_rule_gates(records, model))


def confidence(model: SentenceModel, record: dict) -> float:
    return float(model.probabilities(record["x"]).max()) if len(record["x"]) else 0.0


def fit(records: list[dict], l2: float = 1.0, max_false_refusals: float = 0.02,
        embedding_model: str = "bundled-e5-small") -> ScorerWeights:
    every = np.ones(len(FEATURES), bool)
    dense = fit_model(records, every, l2, max_false_refusals)
    lexical = fit_model(records, lexical_mask(), l2, max_false_refusals)
    train = [r for r in records if r["half"] == "A" and len(r["x"])]
    meta = {"fitted": time.strftime("%Y-%m-%d"), "script": "eval/fit_answers.py", "l2": l2,
            "max_false_refusals": max_false_refusals, "sets": sorted({r["set"] for r in records}),
            "training_questions": len(train), "training_sentences": int(sum(len(r["y"]) for r in train)),
            "answer_bearing": int(sum(r["y"].sum() for r in train))}
    return ScorerWeights(FEATURES, embedding_model, dense, lexical, meta)


def refit_gates(weights: ScorerWeights, records: list[dict]) -> ScorerWeights:
    """``weights`` with each model's rule gates refitted on ``records`` (scorer and thresholds kept)."""
    dense, lexical = (replace(m, rule_gates=choose_rule_gates(records, m)) for m in (weights.dense, weights.lexical))
    meta = {**weights.meta, "gates_fitted": time.strftime("%Y-%m-%d"),
            "gates_sets": sorted({r["set"] for r in records})}
    return replace(weights, dense=dense, lexical=lexical, meta=meta)


def report(records: list[dict], weights: ScorerWeights) -> list[str]:
    """Per model, set and half: top-1 sentence accuracy (answerable questions whose candidates hold the
    answer), refusal accuracy and false refusals at the model's threshold."""
    lines = ["| model | set | half | questions | top-1 sentence holds a key fact | refusal accuracy | false refusals |",
             "|---|---|---|---|---|---|---|"]
    fmt = lambda v: "—" if v is None else f"{v:.3f}"  # noqa: E731
    for label, model in (("dense", weights.dense), ("lexical", weights.lexical)):
        for name in sorted({r["set"] for r in records}):
            for half in "AB":
                rows = [r for r in records if r["set"] == name and r["half"] == half]
                reachable = [r for r in rows if r["answerable"] and r["y"].sum()]
                top1 = (np.mean([r["y"][int(np.argmax(model.probabilities(r["x"])))] for r in reachable])
                        if reachable else None)
                flags = [(refused(r, confidence(model, r), model), r["answerable"])
                         for r in rows]
                una = [f for f, ok in flags if not ok]
                ans = [f for f, ok in flags if ok]
                lines.append(f"| {label} | {name} | {half} | {len(rows)} | {fmt(top1)} | "
                             f"{fmt(np.mean(una) if una else None)} | {fmt(np.mean(ans) if ans else None)} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", nargs=3, action="append", metavar=("NAME", "GOLD", "INDEX"), required=True,
                        help="a gold set and the index built from its corpus (repeatable)")
    parser.add_argument("--out", type=Path, default=WEIGHTS_FILE)
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--max-false-refusals", type=float, default=0.02)
    parser.add_argument("--limit", type=int, default=None, help="first N questions of each set (a quick check)")
    parser.add_argument("--every", action="append", default=[], metavar="NAME=N",
                        help="for set NAME keep every unanswerable question and every N-th answerable one")
    parser.add_argument("--gates-only", action="store_true",
                        help="keep the scorer and thresholds in --out; refit only the per-rule gates")
    args = parser.parse_args(argv)
    records = []
    models = {NoticeIndex.load(Path(index)).manifest.model for _, _, index in args.set}
    if len(models) != 1:
        parser.error(f"the indexes were built with different embedding models: {', '.join(sorted(models))}")
    for name, gold, index in args.set:
        started = time.perf_counter()
        every = dict(item.split("=", 1) for item in args.every)
        records += collect(name, Path(gold), Path(index), limit=args.limit, every=int(every.get(name, 1)))
        print(f"{name}: {sum(r['set'] == name for r in records)} questions in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)
    if args.gates_only:
        weights = refit_gates(ScorerWeights.load(args.out), records)
        weights.meta["gates_every"] = {name: int(n) for name, n in (item.split("=", 1) for item in args.every)}
    else:
        weights = fit(records, l2=args.l2, max_false_refusals=args.max_false_refusals, embedding_model=models.pop())
        weights.meta["every"] = {name: int(n) for name, n in (item.split("=", 1) for item in args.every)}
    args.out.write_text(weights.to_json() + "\n", encoding="utf-8")
    print("\n".join(report(records, weights)))
    gates = lambda m: ", ".join(f"{rule} {t:.3f}" for rule, t in m.rule_gates)  # noqa: E731
    print(f"wrote {args.out} (refuse below {weights.dense.refuse_below:.3f} dense, "
          f"{weights.lexical.refuse_below:.3f} lexical; rule gates dense: {gates(weights.dense)}; "
          f"lexical: {gates(weights.lexical)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
