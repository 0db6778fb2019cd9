"""How sure a gold-set figure is: bootstrap intervals, and paired changes between two runs.

A held-out set of 32 questions that moves from 0.82 to 0.85 may have gained one question, or nothing
but noise; a change that "helps both sets" by one question each is not evidence. These intervals say
which. Questions are resampled in groups, not one by one: questions written from one notice (or one
article's paragraphs, korquad_tune) succeed or fail together, so resampling them singly would make the
intervals too narrow. Every figure uses one fixed seed, so a report is the same on every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

# (rows the metric averages over, the value a row contributes); rows are `pressrag eval` question rows
_Metric = tuple[Callable[[dict], bool], Callable[[dict], float]]


def _answerable(row: dict) -> bool:
    return bool(row["gold_doc_ids"])


METRICS: dict[str, _Metric] = {
    "hit@1": (lambda r: _answerable(r) and "retrieval" in r, lambda r: r["retrieval"]["hit@1"]),
    "mrr": (lambda r: _answerable(r) and "retrieval" in r, lambda r: r["retrieval"]["mrr"]),
    "key_fact_recall": (lambda r: _answerable(r) and r.get("key_fact_recall") is not None,
                        lambda r: r["key_fact_recall"]),
    "citation_precision": (lambda r: _answerable(r) and r.get("citation_precision") is not None,
                           lambda r: r["citation_precision"]),
    "refusal_accuracy": (lambda r: not _answerable(r), lambda r: float(r["refused"])),
    "false_refusal_rate": (_answerable, lambda r: float(r["refused"])),
}
# a lower value is the better one
LOWER_IS_BETTER = {"false_refusal_rate"}


def group_key(question_id: str, doc_ids: Iterable[str]) -> str:
    """The unit questions are resampled (and split into halves, eval/fit_answers.py) by: the question's
    first gold notice, or for a korquad_tune paragraph (``korquad1-tune-AAA-PP``) its article, whose
    paragraphs share a topic; an unanswerable question is its own group."""
    doc_ids = list(doc_ids)
    if not doc_ids:
        return question_id
    doc = doc_ids[0]
    if doc.startswith("korquad1-tune-"):
        return doc.rsplit("-", 1)[0]
    return doc


@dataclass(frozen=True)
class Change:
    """One metric of two runs over the same questions: before, after, and the interval of the change."""
    metric: str
    n: int
    before: float
    after: float
    low: float
    high: float

    @property
    def delta(self) -> float:
        return self.after - self.before

    @property
    def reading(self) -> str:
        """"better", "worse", "same" (no question changed) or "within noise" (the interval holds 0)."""
        if self.before == self.after and self.low == self.high == 0.0:
            return "same"
        if self.low <= 0.0 <= self.high:
            return "within noise"
        up = self.low > 0.0
        return "worse" if up == (self.metric in LOWER_IS_BETTER) else "better"


def _weights(groups: list[str], resamples: int, seed: int) -> tuple[np.ndarray, dict[str, int]]:
    """A (resamples × groups) matrix: how often each group is drawn in each resample."""
    order = {g: i for i, g in enumerate(dict.fromkeys(groups))}
    rng = np.random.default_rng(seed)
    n = len(order)
    draws = rng.integers(0, n, size=(resamples, n))
    weights = np.zeros((resamples, n))
    np.add.at(weights, (np.arange(resamples)[:, None], draws), 1.0)
    return weights, order


def _group_sums(rows: list[dict], order: dict[str, int], metric: str) -> tuple[np.ndarray, np.ndarray]:
    keep, value = METRICS[metric]
    sums, counts = np.zeros(len(order)), np.zeros(len(order))
    for row in rows:
        if keep(row):
            g = order[group_key(row["id"], row["gold_doc_ids"])]
            sums[g] += value(row)
            counts[g] += 1
    return sums, counts


def _bounds(samples: np.ndarray, level: float) -> tuple[float, float]:
    samples = samples[np.isfinite(samples)]
    if not len(samples):
        return float("nan"), float("nan")
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def intervals(rows: list[dict], level: float = 0.95, resamples: int = 2000,
              seed: int = 0) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap interval of each metric the rows have questions for, resampling groups."""
    if not rows:
        return {}
    weights, order = _weights([group_key(r["id"], r["gold_doc_ids"]) for r in rows], resamples, seed)
    out = {}
    for metric in METRICS:
        sums, counts = _group_sums(rows, order, metric)
        if not counts.sum():
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            out[metric] = _bounds((weights @ sums) / (weights @ counts), level)
    return out


def paired_changes(before: list[dict], after: list[dict], level: float = 0.95, resamples: int = 2000,
                   seed: int = 0) -> list[Change]:
    """Each metric's change from ``before`` to ``after`` over the questions both runs asked (matched by
    id), with a paired bootstrap interval: the same groups are drawn for both runs, so what the two
    runs share cancels and only the questions that changed make the interval wide."""
    pairs = _matched(before, after)
    if not pairs:
        return []
    old, new = [a for a, _ in pairs], [b for _, b in pairs]
    weights, order = _weights([group_key(r["id"], r["gold_doc_ids"]) for r in old], resamples, seed)
    changes = []
    for metric in METRICS:
        old_sums, old_counts = _group_sums(old, order, metric)
        new_sums, new_counts = _group_sums(new, order, metric)
        if not old_counts.sum() or not new_counts.sum():
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            deltas = (weights @ new_sums) / (weights @ new_counts) - (weights @ old_sums) / (weights @ old_counts)
        low, high = _bounds(deltas, level)
        changes.append(Change(metric, int(new_counts.sum()), float(old_sums.sum() / old_counts.sum()),
                              float(new_sums.sum() / new_counts.sum()), low, high))
    return changes


def changed_questions(before: list[dict], after: list[dict]) -> list[tuple[dict, dict]]:
    """(before, after) rows of the questions whose answer, refusal or top notice differs."""
    return [(old, new) for old, new in _matched(before, after)
            if (old["answer"], old["refused"], old["retrieved"][:1]) != (new["answer"], new["refused"], new["retrieved"][:1])]


def _matched(before: list[dict], after: list[dict]) -> list[tuple[dict, dict]]:
    """(before, after) rows of the questions both runs asked, matched by id, in ``after``'s order."""
    by_id = {r["id"]: r for r in before}
    return [(by_id[r["id"]], r) for r in after if r["id"] in by_id]
