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

The answerable model (rag/scorer.py ``AnswerableModel``) is fitted on half A too: each answerable
question against its masked twin, the same question with its gold notices taken out of the retrieved
passages (the topic still in the index, the fact gone: what an unanswerable question looks like). Its
threshold is the highest that keeps every set's false refusals on half A, the other refusals included,
within ``--max-false-refusals``.

Last, the meaning floor: the two thresholds read word overlap first, so a question in other words than
its notice scores low on both. They refuse only a question whose closest candidate sentence in meaning
(question-sentence cosine) is below the floor, chosen with every threshold held: the best refusal
accuracy less 4x the false refusals on half A, over the midpoints between the cosines of the questions
the thresholds refuse there (on a tie the higher floor; no floor when sparing none is best).

Then the value floors (the dense model's, one per language): a one-part question asking a sum or a count
("얼마", "몇 명") is refused when every candidate sentence stating such a value scores below its
language's floor, chosen the same way over the midpoints between those best probabilities (on a tie the
lower floor; none for a language where refusing none is best).

Then the value-gap limits (per language, likewise): the same question is refused when the sentences
stating such a value, each read with the sentences before it and its notice's lead, all lack at least this share of the
question's term weight that the best sentence holds (rag/scorer.py ``value_gap``), chosen over the
midpoints between half A's gaps (on a tie the higher limit; none where refusing none is best).

``--gates-only`` keeps the scorer and the first two thresholds of the weights file and refits only the
rule gates. ``--floor-only`` keeps everything but the meaning floor, ``--value-only`` everything but the value floor,
``--gap-only`` everything but the value-gap limits. ``--calibrate-only`` keeps the scorer and all its thresholds and refits only the answerable
models (shipped: ``--calibrate-only --max-false-refusals 0.005`` over fresh indexes of both corpora).
``--parts-only`` keeps everything but P(answerable)'s threshold for questions whose first retrieved notice is one
part of a document (another notice carries its title: a Wikipedia article's paragraphs), fitted by the common
threshold's rule over those questions alone (shipped: ``--parts-only`` at the default ``--max-false-refusals
0.02``; only korquad_tune holds such questions).

Nothing is copied from the gold sets into the weights file: only coefficients and counts.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.normalize import squash  # noqa: E402
from rag.answer import chunk_cosines  # noqa: E402
from rag.refusal_rules import RULES  # noqa: E402
from rag.index import NoticeIndex  # noqa: E402
from rag.scorer import (ANSWERABLE_FEATURES, DENSE_ANSWERABLE, FEATURES, WEIGHTS_FILE, AnswerableModel,  # noqa: E402
                        ScorerWeights, SentenceModel, answerable_features, closest_meaning, fit_logistic,
                        lexical_mask, value_gap, value_quote)
from rag.uncertainty import group_key  # noqa: E402
from rag.values import value_statements  # noqa: E402


def half_of(key: str, salt: str = "") -> str:
    """'A' or 'B', stable across runs and machines. A ``salt`` gives another split of the same keys: the
    held-out sets (eval/README.md) are notices that this split put in one half of the demo corpus, so
    unsalted they would land whole in one half."""
    return "A" if hashlib.sha256((salt + key).encode("utf-8")).digest()[0] % 2 == 0 else "B"


def split_key(row, name: str) -> str:
    """The unit a set is split by: a korquad_tune article (doc ids korquad1-tune-AAA-PP), else the notice
    (the groups `pressrag eval`'s bootstrap intervals resample)."""
    return group_key(row.id, row.doc_ids)


def collect(name: str, gold_path: Path, index_dir: Path, k: int = 8, limit: int | None = None,
            answerer=None, assistant=None, every: int = 1, masked: bool = True, salt: str = "") -> list[dict]:
    """One record per question: its half, answerable or not, candidate feature rows and labels; with
    ``masked``, a second record per answerable question whose gold notices are taken out of the
    retrieved passages (an unanswerable question on a known topic: what the answerable model learns)."""
    from rag.evaluate import gold_id_aliases, load_gold, one_copy
    from rag.question import question_language
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
    copies = assistant.index.copies()  # a copy of the gold notice (NoticeIndex.copies) is the gold notice
    records = []
    # every unanswerable question, every ``every``-th answerable one (a large set fitted in less time)
    answerable = [q for q in gold.questions if q.doc_ids][::every]
    questions = [q for q in gold.questions if not q.doc_ids] + answerable
    for q in questions[:limit] if limit else questions:
        q = replace(q, doc_ids=tuple(one_copy((aliases.get(d, d) for d in q.doc_ids), copies)))
        # as many hits as the masked view needs, from the same candidate pool as a k-passage question
        # (each store fetches max(candidates_per_store, 4k)): the real view ranks as `pressrag eval` does
        retrieval = retriever.run(q.question, k=max(k, retriever.candidates_per_store // 4))
        views = [(retrieval.hits, False)]
        if q.doc_ids and masked:
            views.append(([h for h in retrieval.hits if copies.get(h.chunk.doc_id, h.chunk.doc_id) not in q.doc_ids],
                          True))
        for hits, is_masked in views:
            top = Retrieval(retrieval.query, hits[:k], list(dict.fromkeys(h.chunk.doc_id for h in hits[:k])),
                            retrieval.timings_ms, retrieval.lexical_coverage)
            candidates, x = answerer.features(q.question, top, assistant.index)
            flags = answerer.rule_flags(q.question, top, assistant.index)
            contact = answerer.answers_from_contacts(q.question, top, assistant.index)
            states = value_statements(q.question, [c.text for c in candidates])
            context = (answerer.value_context(q.question, candidates, assistant.index)
                       if states is not None and any(states) else None)
            facts = [squash(f) for f in q.key_facts if squash(f)]
            labels = [float(not is_masked and bool(q.doc_ids) and copies.get(c.doc_id, c.doc_id) in q.doc_ids
                            and any(f in squash(c.text) for f in facts)) for c in candidates]
            records.append({"set": name, "id": q.id, "half": half_of(split_key(q, name), salt),
                            "answerable": bool(q.doc_ids) and not is_masked, "masked": is_masked,
                            "x": x, "y": np.asarray(labels), "flags": flags, "contact": contact,
                            "chunk_dense": chunk_cosines(top), "lang": question_language(q.question),
                            "in_parts": answerer.leads_with_part(top, assistant.index),
                            "value_states": states, "value_context": context})
    return records


def choose_threshold(confidences: list[tuple[float, bool]], max_false_refusals: float) -> float:
    """The highest threshold whose false-refusal rate over answerable questions stays within the limit."""
    answerable = sorted(c for c, ok in confidences if ok)
    if not answerable:
        return 0.0
    allowed = int(max_false_refusals * len(answerable))
    # refusing below t refuses the answerable questions with confidence < t: at most ``allowed`` of them
    return _stored(answerable[allowed]) if allowed < len(answerable) else _stored(answerable[-1])


def _stored(threshold: float) -> float:
    """``threshold`` rounded down to the 4 decimals the weights file keeps: rounding up would refuse the
    question the threshold was read off."""
    return math.floor(float(threshold) * 10_000) / 10_000


def refused(record: dict, conf: float, model: SentenceModel) -> bool:
    """Refused at best sentence probability ``conf`` (P(answerable) and the closest sentence's cosine
    read from ``record``)."""
    return not record["contact"] and model.refuses(conf, record["flags"], answerability(model, record),
                                                   closest_meaning(record["x"]), value_of(model, record),
                                                   record.get("lang", "ko"), gap_of(model, record),
                                                   record.get("in_parts", False))


def value_of(model: SentenceModel, record: dict) -> float | None:
    """The best probability among the record's candidates stating the value asked (rag/scorer.py ``value_quote``)."""
    return value_quote(model.probabilities(record["x"]), record.get("value_states"))


def gap_of(model: SentenceModel, record: dict) -> float | None:
    """How much of the question the record's value sentences leave out (rag/scorer.py ``value_gap``)."""
    context = record.get("value_context")
    if context is None:
        return None
    return value_gap(model.probabilities(record["x"]), record.get("value_states"), *context)


def objective(records: list[dict], model: SentenceModel, false_cost: float = 4.0, half: str = "A") -> float:
    """Over the sets, the sum of refusal accuracy minus ``false_cost`` times the false-refusal rate on
    ``half`` (each set counts the same, however many questions it has)."""
    score = 0.0
    for name in {r["set"] for r in records}:
        rows = [r for r in records if r["set"] == name and r["half"] == half and not r.get("masked")]
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


def choose_meaning_floor(records: list[dict], model: SentenceModel, false_cost: float = 4.0) -> float | None:
    """The cosine from which a question close in meaning to a candidate sentence is no longer refused by
    the probability and P(answerable) thresholds or the unknown-words rule (``SentenceModel.meaning_floor``),
    with every threshold held: the best ``objective`` on half A over the midpoints between the cosines of
    the questions refused there. On a tie the higher floor (fewer questions spared) wins; None (no floor)
    when sparing none is best."""
    held = replace(model, meaning_floor=None)
    cosines = sorted({c for r in records if r["half"] == "A" and not r.get("masked") and not r["contact"]
                      and (c := closest_meaning(r["x"])) is not None
                      and refused(r, confidence(held, r), held)})
    best, choice = round(objective(records, held, false_cost), 9), None
    for low, high in sorted(zip(cosines, cosines[1:] + [cosines[-1] + 0.002]), reverse=True) if cosines else []:
        floor = _stored((low + high) / 2)
        score = round(objective(records, replace(held, meaning_floor=floor), false_cost), 9)
        if score > best:
            best, choice = score, floor
    return choice


def _tuning_rows(records: list[dict], lang: str) -> list[dict]:
    """Half A's questions in ``lang`` that a threshold may refuse: not masked twins, not contact questions."""
    return [r for r in records if r["half"] == "A" and not r.get("masked") and not r["contact"]
            and r.get("lang", "ko") == lang]


def _fit_by_language(records: list[dict], model: SentenceModel, field: str, thresholds, false_cost: float,
                     langs: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    """Per language, the value of the model's per-language ``field`` with the best ``objective`` on half A,
    every other threshold held: among ``thresholds(held, lang)``, in order of preference (the first wins a
    tie); none for a language where leaving it out is best."""
    fitted: dict[str, float] = {}
    for lang in langs:
        held = replace(model, **{field: tuple(sorted(fitted.items()))})
        best = round(objective(records, held, false_cost), 9)
        for threshold in thresholds(held, lang):
            trial = replace(held, **{field: tuple(sorted({**fitted, lang: threshold}.items()))})
            score = round(objective(records, trial, false_cost), 9)
            if score > best:
                best, fitted[lang] = score, threshold
    return tuple(sorted(fitted.items()))


def choose_value_floor(records: list[dict], model: SentenceModel, false_cost: float = 4.0,
                       langs: tuple[str, ...] = ("ko", "en")) -> tuple[tuple[str, float], ...]:
    """Per language, the probability below which a one-part question asking a value is refused when no
    candidate stating such a value reaches it (``SentenceModel.value_below``), every other threshold held:
    the best ``objective`` on half A over the midpoints between the value quotes of half A's questions in
    that language. On a tie the lower floor (fewer questions refused) wins; no floor for a language where
    refusing none is best."""
    def floors(held: SentenceModel, lang: str) -> list[float]:
        quotes = sorted({v for r in _tuning_rows(records, lang) if (v := value_of(held, r)) is not None})
        return [_stored((low + high) / 2) for low, high in zip(quotes, quotes[1:])]

    return _fit_by_language(records, model, "value_below", floors, false_cost, langs)


def choose_value_gap(records: list[dict], model: SentenceModel, false_cost: float = 4.0,
                     langs: tuple[str, ...] = ("ko", "en")) -> tuple[tuple[str, float], ...]:
    """Per language, the value gap from which a one-part question asking a value is refused
    (``SentenceModel.value_gap_above``), every other threshold held: the best ``objective`` on half A over
    the midpoints between the gaps of half A's questions in that language that are not refused otherwise.
    On a tie the higher limit (fewer questions refused) wins; none for a language where refusing none is
    best."""
    def limits(held: SentenceModel, lang: str) -> list[float]:
        gaps = sorted({g for r in _tuning_rows(records, lang) if (g := gap_of(held, r)) is not None and g > 0
                       and not refused(r, confidence(held, r), held)})
        # highest first, rounded up: a limit never refuses the lower gap it was read between
        return [math.ceil((low + high) / 2 * 10_000) / 10_000
                for low, high in sorted(zip([0.0] + gaps, gaps), reverse=True)]

    return _fit_by_language(records, model, "value_gap_above", limits, false_cost, langs)


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


def _spread(n: int, columns: np.ndarray, mean: np.ndarray, scale: np.ndarray, coef: np.ndarray) -> list[np.ndarray]:
    """Mean, scale and coefficients over all ``n`` features (0, 1, 0 outside ``columns``)."""
    full = [np.zeros(n), np.ones(n), np.zeros(n)]
    for arr, part in zip(full, (mean, scale, coef)):
        arr[columns] = part
    return full


def fit_answerable(records: list[dict], model: SentenceModel, columns: np.ndarray, l2: float) -> AnswerableModel:
    """The question-level model on half A: answerable questions (1) against the same questions with their
    notices masked (0), over ``model``'s probabilities. A missing value (no dense retrieval) is the mean.
    Without the cosines (the lexical model) English questions are left out: it will not judge them."""
    english = bool(columns[[ANSWERABLE_FEATURES.index(n) for n in DENSE_ANSWERABLE]].any())
    train = [r for r in records if r["half"] == "A" and len(r["x"]) and not r["contact"]
             and (r["answerable"] or r.get("masked")) and (english or r.get("lang") != "en")]
    x = np.vstack([answerable_features(model.probabilities(r["x"]), r["x"], r["chunk_dense"]) for r in train])
    x = np.where(np.isnan(x), np.nanmean(x, axis=0), x)[:, columns]
    y = np.array([float(r["answerable"]) for r in train])
    mean, scale, coef, bias = fit_logistic(x, y, l2=l2)
    return AnswerableModel(*_spread(len(ANSWERABLE_FEATURES), columns, mean, scale, coef), bias, english)


def fit_model(records: list[dict], columns: np.ndarray, l2: float, max_false_refusals: float,
              answerable_columns: np.ndarray | None = None) -> SentenceModel:
    """A logistic model over ``columns`` (the others get weight 0), fitted on half A, with its answerable
    model (over ``answerable_columns``; none when None) and thresholds."""
    train = [r for r in records if r["half"] == "A" and len(r["x"]) and not r.get("masked")]
    x = np.vstack([r["x"] for r in train])[:, columns]
    y = np.concatenate([r["y"] for r in train])
    mean, scale, coef, bias = fit_logistic(x, y, l2=l2)
    model = SentenceModel(*_spread(len(FEATURES), columns, mean, scale, coef), bias)
    return calibrate(records, model, l2, max_false_refusals, answerable_columns)


def calibrate(records: list[dict], model: SentenceModel, l2: float, max_false_refusals: float,
              answerable_columns: np.ndarray | None, keep_thresholds: bool = False) -> SentenceModel:
    """``model`` (its sentence scorer kept) with its thresholds (unless ``keep_thresholds``) and its
    answerable model and threshold fitted on half A."""
    model = replace(model, answerable=None, answerable_below=0.0)
    if not keep_thresholds:
        # every set's half A keeps its false refusals within the limit (a small set is not outvoted)
        model = replace(model, refuse_below=min(
            choose_threshold([(confidence(model, r), r["answerable"]) for r in records
                              if r["half"] == "A" and r["set"] == name and not r["contact"]
                              and not r.get("masked")], max_false_refusals)
            for name in {r["set"] for r in records}))
        model = replace(model, rules_below=choose_rules_threshold(records, model))
        model = replace(model, rule_gates=choose_rule_gates(records, model))
    if answerable_columns is not None and any(r.get("masked") for r in records):
        model = replace(model, answerable=fit_answerable(records, model, answerable_columns, l2))
        model = replace(model, answerable_below=choose_answerable_threshold(records, model, max_false_refusals))
    if not keep_thresholds and model.coef[FEATURES.index("dense")] != 0:
        # the lexical model reads no cosine, and without it a value floor misfires (SentenceModel.value_below)
        model = replace(model, meaning_floor=choose_meaning_floor(records, model))
        model = replace(model, value_below=choose_value_floor(records, model))
        model = replace(model, value_gap_above=choose_value_gap(records, model))
    return model


def choose_answerable_threshold(records: list[dict], model: SentenceModel, max_false_refusals: float,
                                parts: bool | None = None) -> float:
    """The highest P(answerable) threshold that keeps every set's false refusals on half A, the other
    refusals (best sentence probability, rules) included, within ``max_false_refusals`` (at least
    the other refusals' own rate); with ``parts``, over only the questions whose first notice is (True)
    or is not (False) one part of a document (``NoticeIndex.in_parts``)."""
    choices = []
    for name in {r["set"] for r in records}:
        rows = [r for r in records if r["half"] == "A" and r["set"] == name and r["answerable"] and not r["contact"]
                and (parts is None or r.get("in_parts", False) == parts)]
        if not rows:
            continue
        refused_otherwise = [model.refuses(confidence(model, r), r["flags"]) for r in rows]
        open_ = sorted(answerability(model, r) for r, gone in zip(rows, refused_otherwise) if not gone)
        allowed = max(int(max_false_refusals * len(rows)) - sum(refused_otherwise), 0)
        choices.append(_stored(open_[allowed]) if allowed < len(open_) else 1.0)
    return min(choices, default=0.0)


def confidence(model: SentenceModel, record: dict) -> float:
    """The best sentence probability (0 with no candidates)."""
    return float(model.probabilities(record["x"]).max()) if len(record["x"]) else 0.0


def answerability(model: SentenceModel, record: dict) -> float:
    """P(answerable) from ``model``'s answerable model (1 without one, 0 with no candidates)."""
    return model.answerability(model.probabilities(record["x"]), record["x"], record.get("chunk_dense", []),
                               record.get("lang", "ko"))


def fit(records: list[dict], l2: float = 1.0, max_false_refusals: float = 0.02,
        embedding_model: str = "bundled-e5-small") -> ScorerWeights:
    every = np.ones(len(FEATURES), bool)
    dense = fit_model(records, every, l2, max_false_refusals, np.ones(len(ANSWERABLE_FEATURES), bool))
    lexical = fit_model(records, lexical_mask(), l2, max_false_refusals,
                        lexical_mask(ANSWERABLE_FEATURES, DENSE_ANSWERABLE))
    train = [r for r in records if r["half"] == "A" and len(r["x"]) and not r.get("masked")]
    meta = {"fitted": time.strftime("%Y-%m-%d"), "script": "eval/fit_answers.py", "l2": l2,
            "max_false_refusals": max_false_refusals, "sets": sorted({r["set"] for r in records}),
            "training_questions": len(train), "training_sentences": int(sum(len(r["y"]) for r in train)),
            "answer_bearing": int(sum(r["y"].sum() for r in train))}
    return ScorerWeights(FEATURES, embedding_model, dense, lexical, meta)


def recalibrate(weights: ScorerWeights, records: list[dict], l2: float = 1.0,
                max_false_refusals: float = 0.02) -> ScorerWeights:
    """``weights`` with the sentence scorers and their thresholds kept, the answerable models and their
    thresholds refitted."""
    dense = calibrate(records, weights.dense, l2, max_false_refusals, np.ones(len(ANSWERABLE_FEATURES), bool),
                      keep_thresholds=True)
    lexical = calibrate(records, weights.lexical, l2, max_false_refusals,
                        lexical_mask(ANSWERABLE_FEATURES, DENSE_ANSWERABLE), keep_thresholds=True)
    meta = {**weights.meta, "calibrated": time.strftime("%Y-%m-%d"),
            "calibration_sets": sorted({r["set"] for r in records}),
            "calibration_max_false_refusals": max_false_refusals,
            "masked_questions": sum(bool(r.get("masked")) for r in records if r["half"] == "A")}
    return replace(weights, dense=dense, lexical=lexical, meta=meta)


def refit_parts_threshold(weights: ScorerWeights, records: list[dict],
                          max_false_refusals: float = 0.02) -> ScorerWeights:
    """``weights`` with everything kept but the P(answerable) threshold for questions whose first notice is
    one part of a document (``SentenceModel.answerable_below_parts``), fitted by the rule of the common
    threshold over those questions alone; none where the tuning data hold no such question."""
    def refit(model: SentenceModel) -> SentenceModel:
        if model.answerable is None or not any(r.get("in_parts") and r["half"] == "A" for r in records):
            return replace(model, answerable_below_parts=None)
        return replace(model, answerable_below_parts=choose_answerable_threshold(
            records, model, max_false_refusals, parts=True))

    meta = {**weights.meta, "parts_threshold_fitted": time.strftime("%Y-%m-%d"),
            "parts_threshold_sets": sorted({r["set"] for r in records if r.get("in_parts")}),
            "parts_threshold_max_false_refusals": max_false_refusals}
    return replace(weights, dense=refit(weights.dense), lexical=refit(weights.lexical), meta=meta)


def refit_meaning_floor(weights: ScorerWeights, records: list[dict]) -> ScorerWeights:
    """``weights`` with the dense model's ``meaning_floor`` refitted on ``records`` (all else kept)."""
    dense = replace(weights.dense, meaning_floor=choose_meaning_floor(records, weights.dense))
    meta = {**weights.meta, "meaning_floor_fitted": time.strftime("%Y-%m-%d"),
            "meaning_floor_sets": sorted({r["set"] for r in records})}
    return replace(weights, dense=dense, meta=meta)


def _refit_value_threshold(weights: ScorerWeights, records: list[dict], field: str, choose, key: str) -> ScorerWeights:
    """``weights`` with the dense model's per-language ``field`` refitted by ``choose`` on ``records`` (all else
    kept); the lexical model has none (``SentenceModel.value_below``: without a cosine a value floor misfires,
    and the gap is fitted after it). The fit's date and sets go to ``meta`` under ``key``."""
    dense = replace(weights.dense, **{field: choose(records, weights.dense)})
    lexical = replace(weights.lexical, **{field: ()})
    meta = {**weights.meta, f"{key}_fitted": time.strftime("%Y-%m-%d"),
            f"{key}_sets": sorted({r["set"] for r in records})}
    return replace(weights, dense=dense, lexical=lexical, meta=meta)


def refit_value_floor(weights: ScorerWeights, records: list[dict]) -> ScorerWeights:
    """``weights`` with the dense model's ``value_below`` refitted on ``records`` (all else kept)."""
    return _refit_value_threshold(weights, records, "value_below", choose_value_floor, "value_floor")


def refit_gates(weights: ScorerWeights, records: list[dict]) -> ScorerWeights:
    """``weights`` with each model's rule gates refitted on ``records`` (scorer and thresholds kept)."""
    dense, lexical = (replace(m, rule_gates=choose_rule_gates(records, m)) for m in (weights.dense, weights.lexical))
    meta = {**weights.meta, "gates_fitted": time.strftime("%Y-%m-%d"),
            "gates_sets": sorted({r["set"] for r in records})}
    return replace(weights, dense=dense, lexical=lexical, meta=meta)


def refit_value_gap(weights: ScorerWeights, records: list[dict]) -> ScorerWeights:
    """``weights`` with the dense model's ``value_gap_above`` refitted on ``records`` (all else kept)."""
    return _refit_value_threshold(weights, records, "value_gap_above", choose_value_gap, "value_gap")


def report(records: list[dict], weights: ScorerWeights) -> list[str]:
    """Per model, set and half: top-1 sentence accuracy (answerable questions whose candidates hold the
    answer), refusal accuracy and false refusals at the model's threshold."""
    lines = ["| model | set | half | questions | top-1 sentence holds a key fact | refusal accuracy | false refusals "
             "| masked refused |", "|---|---|---|---|---|---|---|---|"]
    fmt = lambda v: "—" if v is None else f"{v:.3f}"  # noqa: E731
    for label, model in (("dense", weights.dense), ("lexical", weights.lexical)):
        for name in sorted({r["set"] for r in records}):
            for half in "AB":
                rows = [r for r in records if r["set"] == name and r["half"] == half and not r.get("masked")]
                masked = [refused(r, confidence(model, r), model) for r in records
                          if r["set"] == name and r["half"] == half and r.get("masked")]
                reachable = [r for r in rows if r["answerable"] and r["y"].sum()]
                top1 = (np.mean([r["y"][int(np.argmax(model.probabilities(r["x"])))] for r in reachable])
                        if reachable else None)
                flags = [(refused(r, confidence(model, r), model), r["answerable"])
                         for r in rows]
                una = [f for f, ok in flags if not ok]
                ans = [f for f, ok in flags if ok]
                lines.append(f"| {label} | {name} | {half} | {len(rows)} | {fmt(top1)} | "
                             f"{fmt(np.mean(una) if una else None)} | {fmt(np.mean(ans) if ans else None)} | "
                             f"{fmt(np.mean(masked) if masked else None)} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", nargs=3, action="append", metavar=("NAME", "GOLD", "INDEX"), required=True,
                        help="a gold set and the index built from its corpus (repeatable)")
    parser.add_argument("--out", type=Path, default=WEIGHTS_FILE)
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--max-false-refusals", type=float, default=0.02)
    parser.add_argument("--resplit", action="append", default=[], metavar="NAME",
                        help="split set NAME by a hash salted with its name (see eval/fit_fusion.py)")
    parser.add_argument("--limit", type=int, default=None, help="first N questions of each set (a quick check)")
    parser.add_argument("--every", action="append", default=[], metavar="NAME=N",
                        help="for set NAME keep every unanswerable question and every N-th answerable one")
    parser.add_argument("--gates-only", action="store_true",
                        help="keep the scorer and thresholds in --out; refit only the per-rule gates")
    parser.add_argument("--floor-only", action="store_true",
                        help="keep everything in --out but the dense model's meaning floor, which is refitted")
    parser.add_argument("--value-only", action="store_true",
                        help="keep everything in --out but the dense model's value floors, which are refitted")
    parser.add_argument("--gap-only", action="store_true",
                        help="keep everything in --out but the dense model's value-gap limits, which are refitted")
    parser.add_argument("--parts-only", action="store_true",
                        help="keep everything in --out but the P(answerable) threshold for questions whose first "
                             "notice is one part of a document, which is refitted")
    parser.add_argument("--calibrate-only", action="store_true",
                        help="keep the sentence scorers and their thresholds in --out; refit the answerable models")
    args = parser.parse_args(argv)
    records = []
    every = {name: int(n) for name, n in (item.split("=", 1) for item in args.every)}
    models = {NoticeIndex.load(Path(index)).manifest.model for _, _, index in args.set}
    if len(models) != 1:
        parser.error(f"the indexes were built with different embedding models: {', '.join(sorted(models))}")
    for name, gold, index in args.set:
        started = time.perf_counter()
        records += collect(name, Path(gold), Path(index), limit=args.limit, every=every.get(name, 1),
                           masked=not (args.gates_only or args.floor_only or args.value_only or args.gap_only
                                       or args.parts_only),
                           salt=name if name in args.resplit else "")
        print(f"{name}: {sum(r['set'] == name for r in records)} questions in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)
    if args.floor_only:
        weights = refit_meaning_floor(ScorerWeights.load(args.out), records)
        weights.meta["meaning_floor_every"] = every
    elif args.value_only:
        weights = refit_value_floor(ScorerWeights.load(args.out), records)
        weights.meta["value_floor_every"] = every
        weights.meta["value_floor_resplit"] = args.resplit
    elif args.gap_only:
        weights = refit_value_gap(ScorerWeights.load(args.out), records)
        weights.meta["value_gap_every"] = every
        weights.meta["value_gap_resplit"] = args.resplit
    elif args.parts_only:
        weights = refit_parts_threshold(ScorerWeights.load(args.out), records, args.max_false_refusals)
        weights.meta["parts_threshold_every"] = every
        weights.meta["parts_threshold_resplit"] = args.resplit
    elif args.gates_only:
        weights = refit_gates(ScorerWeights.load(args.out), records)
        weights.meta["gates_every"] = every
    elif args.calibrate_only:
        weights = recalibrate(ScorerWeights.load(args.out), records, l2=args.l2,
                              max_false_refusals=args.max_false_refusals)
        weights.meta["calibration_every"] = every
    else:
        weights = fit(records, l2=args.l2, max_false_refusals=args.max_false_refusals, embedding_model=models.pop())
        weights.meta["every"] = every
    args.out.write_text(weights.to_json() + "\n", encoding="utf-8")
    print("\n".join(report(records, weights)))
    gates = lambda m: ", ".join(f"{rule} {t:.3f}" for rule, t in m.rule_gates)  # noqa: E731
    floor = weights.dense.meaning_floor
    print(f"wrote {args.out} (refuse below {weights.dense.refuse_below:.3f} dense"
          + (f", unless a sentence is {floor:.4f} close in meaning" if floor is not None else "")
          + "".join(f"; a {lang} value question when no sentence stating one reaches {t:.4f}"
                    for lang, t in weights.dense.value_below)
          + "".join(f"; a {lang} value question when its value sentences leave out {t:.4f} of it"
                    for lang, t in weights.dense.value_gap_above)
          + f"; {weights.lexical.refuse_below:.3f} lexical; rule gates dense: {gates(weights.dense)}; "
          f"lexical: {gates(weights.lexical)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
