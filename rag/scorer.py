"""A learned sentence scorer: how likely a candidate sentence is to hold the answer.

Every feature means the same on any corpus (no word lists, no corpus constants): the
question–sentence cosine from the sentence vectors stored with the index, IDF-weighted
term coverage and character-bigram coverage, the retrieval rank of the sentence's chunk
and notice, the same signals of its neighbours (the answer often sits in the sentence
after the one that restates the question), its position in the notice and whether it is
the headline run-on. A logistic regression over them is fitted by ``eval/fit_answers.py``
on gold questions (answer-bearing sentence = contains a key fact) and shipped as
``rag/answer_weights.json``: readable, and refittable on anyone's own gold set.

The same probabilities drive refusal. A second, question-level logistic model (``AnswerableModel``)
reads the best sentence's probability beside absolute similarities (the best term coverage and
cosines among the candidates, the top chunk's cosine and its lead over the next) and gives the
probability that the notices hold the answer. It is fitted on answerable questions against the same
questions with their gold notices taken out of retrieval, which is what an unanswerable question
looks like: the topic is in the index, the fact is not. A question is refused when either the best
sentence probability or P(answerable) is below its threshold, chosen on tuning data (see the
weights file); question-reading rules refuse only below their own, higher gates on the first.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WEIGHTS_FILE = Path(__file__).with_name("answer_weights.json")

FEATURES = (
    "dense",            # cosine(query, sentence vector) (0 when the index holds no sentence vectors)
    "dense_gap",        # dense minus the best candidate's dense: relative to this question's scale
    "coverage",         # IDF-weighted share of the question's terms in the sentence
    "coverage_gap",     # coverage minus the best candidate's coverage
    "bigrams",          # share of the question's content character bigrams found in the sentence
    "prev_dense",       # the same signals of the sentence before it in the notice
    "prev_coverage",
    "next_coverage",    # ... and after it
    "chunk_prior",      # 1 / (1 + rank of the sentence's best chunk)
    "notice_rank",      # 0 for the best notice, 1, 2 …
    "position",         # sentence index / sentences in the notice
    "first_sentence",   # the notice's opening sentence
    "run_on",           # the quote starts after the title it runs on from
    "log_length",       # log of the sentence's length in characters
    "number_wanted",    # the question asks for an amount, count or date and the sentence has a digit
    "en_dense",         # dense for an English question (the words carry little across languages)
    "en_coverage",      # coverage for an English question
    "has_vectors",      # 1 when dense features are real (sentence vectors in the index)
)


# Features that need the index's sentence vectors from the model the weights were fitted with.
DENSE_FEATURES = frozenset({"dense", "dense_gap", "prev_dense", "en_dense", "has_vectors"})

# The answerable model's question-level features: absolute values that mean the same on any corpus
# (probabilities, coverage shares, cosines), no z-scores against the corpus (a 1-notice index has none).
ANSWERABLE_FEATURES = (
    "best",             # the sentence model's best probability
    "coverage_max",     # the highest term coverage among the candidate sentences
    "coverage_best",    # the term coverage of the best-probability sentence
    "dense_max",        # the highest question-sentence cosine
    "dense_best",       # the cosine of the best-probability sentence
    "bigrams_max",      # the highest character-bigram share
    "chunk_dense",      # cosine(query, top retrieved chunk); missing (the mean) without dense retrieval
    "chunk_dense_gap",  # the top chunk's cosine minus the second's
)
DENSE_ANSWERABLE = frozenset({"dense_max", "dense_best", "chunk_dense", "chunk_dense_gap"})


def answerable_features(probabilities: np.ndarray, x: np.ndarray,
                        chunk_dense: list[float | None]) -> np.ndarray:
    """ANSWERABLE_FEATURES for one question: its candidates' probabilities and feature rows (FEATURES
    order), and the retrieved chunks' cosines in rank order (None where dense retrieval did not score).
    A missing value is NaN; the model reads it as the training mean."""
    col = {name: i for i, name in enumerate(FEATURES)}
    best = int(np.argmax(probabilities))
    scores = [float(c) for c in chunk_dense[:2] if c is not None]
    top = scores[0] if scores else math.nan
    gap = scores[0] - scores[1] if len(scores) == 2 else math.nan
    return np.array([probabilities[best], x[:, col["coverage"]].max(), x[best, col["coverage"]],
                     x[:, col["dense"]].max(), x[best, col["dense"]], x[:, col["bigrams"]].max(), top, gap])


@dataclass(frozen=True)
class AnswerableModel:
    """P(the notices hold the answer) from ``ANSWERABLE_FEATURES``: a logistic model, fitted by
    eval/fit_answers.py on answerable questions against the same questions with their notices masked."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    bias: float
    # False for the lexical model: word overlap says nothing about an English question over Korean
    # notices, answerable or not, so it leaves English questions to the other thresholds
    english: bool = True

    def probability(self, features: np.ndarray) -> float:
        z = (features - self.mean) / self.scale
        z = np.where(np.isnan(z), 0.0, z)  # missing: the training mean
        return float(1.0 / (1.0 + math.exp(-float(np.clip(z @ self.coef + self.bias, -30, 30)))))

    def to_dict(self) -> dict:
        return {"english": self.english, "bias": round(self.bias, 5),
                "features": _feature_table(ANSWERABLE_FEATURES, self.coef, self.mean, self.scale)}

    @classmethod
    def from_dict(cls, data: dict) -> AnswerableModel:
        mean, scale, coef = _read_feature_table(data, ANSWERABLE_FEATURES)
        return cls(mean, scale, coef, float(data["bias"]), bool(data.get("english", True)))


def _feature_table(names: tuple[str, ...], coef: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> dict:
    """Per feature [coefficient on the standardised value, mean, standard deviation], one readable line each."""
    return {name: [round(float(c), 5), round(float(m), 5), round(float(v), 5)]
            for name, c, m, v in zip(names, coef, mean, scale)}


def _read_feature_table(data: dict, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, scale, coef) from a ``_feature_table`` under ``data["features"]``, in ``names`` order."""
    rows = np.asarray([data["features"][name] for name in names], float)
    return rows[:, 1], rows[:, 2], rows[:, 0]


# The question-reading rules (rag.refusal_rules.RULES) that a sentence close in meaning overrules: "most of the
# question's words are unknown to the index" says nothing when a sentence means what the question asks.
# value_missing (the notice states no sum, head count or company) reads the notice's content and stays.
MEANING_OVERRULES = frozenset({"unknown_words"})


def _optional(value) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class SentenceModel:
    """One fitted logistic model: standardisation, coefficients and its refusal threshold."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    bias: float
    refuse_below: float = 0.0  # refuse when the best sentence's probability is below this
    rules_below: float = 0.0  # ... or below this when a question-reading rule says the notices lack the value
    # per rule (rag.refusal_rules.RULES names), where fitted: a rule that misfires on answerable questions more
    # often than another refuses only at lower confidence; a rule not named here uses ``rules_below``
    rule_gates: tuple[tuple[str, float], ...] = ()
    # the question-level model, refused below ``answerable_below`` (none in older weights files)
    answerable: AnswerableModel | None = None
    answerable_below: float = 0.0
    # The two thresholds above and the unknown-words rule read word overlap first: a question in other
    # words than its notice scores low on all three. They refuse only a question no candidate sentence
    # is this close to in meaning (question-sentence cosine, the ``dense`` feature); None: they always
    # apply. Fitted last, with the thresholds held (eval/fit_answers.py ``choose_meaning_floor``).
    meaning_floor: float | None = None
    # A one-part question asking for a value ("얼마", "몇 명", "how many") is refused when every candidate
    # sentence stating such a value scores below its language's floor here (``value_quote``): the notice
    # describes the event asked about, but the sum or count it gives belongs to something else. Not
    # overruled by ``meaning_floor``: the question's closeness in meaning to the event is what misleads
    # there. Per language, since an English question's word-overlap features are 0 and its probabilities
    # run lower; a language not named is never refused so. Fitted last (eval/fit_answers.py
    # ``choose_value_floor``), only for the model that reads sentence vectors: without meaning, a sentence
    # stating the sum in other words than the question ("총 5,678억 원을 투입한다" after "… 리모델링에 관한
    # 계획을 발표했다") scores near 0 whether it answers or not.
    value_below: tuple[tuple[str, float], ...] = ()
    # The same question is also refused when the sentences stating such a value are about something else
    # than what the question asks: ``value_gap`` (the least share of the question's IDF weight that the
    # best-probability sentence holds and every value sentence, read with the sentences before it and its
    # notice's lead, lacks) reaches its language's limit here. "10월 … 2차 섬 여행비 지원은 팀당 최대 얼마"
    # (heldout_extra's held-229) over a notice whose only sum is the summer round's: the best sentence holds
    # 10월 and 2차, the sum's sentences neither. Fitted after the value floor (eval/fit_answers.py
    # ``choose_value_gap``); a language not named is never refused so.
    value_gap_above: tuple[tuple[str, float], ...] = ()
    # P(answerable)'s threshold for a question whose first retrieved notice is one part of a document
    # (``NoticeIndex.in_parts``: another notice carries its title), where fitted; None: ``answerable_below``.
    # There the index holds the document's other parts, so a question about a part it lacks still finds its
    # topic's words in a sibling, and P(answerable) runs higher for such a question than over standalone
    # notices such as press releases. Fitted by ``answerable_below``'s own rule over those questions only
    # (eval/fit_answers.py ``choose_answerable_threshold``).
    answerable_below_parts: float | None = None

    def answerability(self, probabilities: np.ndarray, x: np.ndarray, chunk_dense: list[float | None],
                      lang: str = "ko") -> float:
        """P(the notices hold the answer): 1 without an answerable model (or one that leaves ``lang``
        alone), 0 with no candidates."""
        if not len(probabilities):
            return 0.0
        if self.answerable is None or lang == "en" and not self.answerable.english:
            return 1.0
        return self.answerable.probability(answerable_features(probabilities, x, chunk_dense))

    def gate(self, rule: str) -> float:
        """The confidence below which ``rule`` may refuse."""
        return dict(self.rule_gates).get(rule, self.rules_below)

    def refuses(self, confidence: float, flags: dict[str, bool], answerability: float = 1.0,
                closest: float | None = None, value_quote: float | None = None, lang: str = "ko",
                value_gap: float | None = None, in_parts: bool = False) -> bool:
        """Refuse at this best sentence probability and P(answerable), given which question-reading rules
        fired, the cosine of the candidate sentence closest to the question in meaning (``closest``), the
        best probability among the sentences stating the value the question asks for (``value_quote``),
        how much of the question those sentences leave out (``value_gap``) in a question in ``lang``, and
        whether its first notice is one part of a document (``in_parts``)."""
        floor = self.value_floor(lang)
        if floor is not None and value_quote is not None and value_quote < floor:
            return True
        limit = self.value_gap_limit(lang)
        if limit is not None and value_gap is not None and value_gap >= limit:
            return True
        near = self.near_in_meaning(closest)
        if not near and (confidence < self.refuse_below or answerability < self.answerable_threshold(in_parts)):
            return True
        return any(fired and confidence < self.gate(rule) and not (near and rule in MEANING_OVERRULES)
                   for rule, fired in flags.items())

    def answerable_threshold(self, in_parts: bool = False) -> float:
        """The P(answerable) threshold for a question whose first notice is (or is not) one part of a document."""
        if in_parts and self.answerable_below_parts is not None:
            return self.answerable_below_parts
        return self.answerable_below

    def value_floor(self, lang: str) -> float | None:
        """The value floor for questions in ``lang`` (None: not applied)."""
        return dict(self.value_below).get(lang)

    def value_gap_limit(self, lang: str) -> float | None:
        """The value-gap limit for questions in ``lang`` (None: not applied)."""
        return dict(self.value_gap_above).get(lang)

    def near_in_meaning(self, closest: float | None) -> bool:
        """True when ``closest`` reaches the fitted ``meaning_floor`` (never without one)."""
        return self.meaning_floor is not None and closest is not None and closest >= self.meaning_floor

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """P(answer-bearing) for each row of a feature matrix."""
        if not len(x):
            return np.zeros(0)
        z = ((x - self.mean) / self.scale) @ self.coef + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    def to_dict(self) -> dict:
        """Readable: per feature [coefficient on the standardised value, mean, standard deviation]."""
        out = {"refuse_below": round(self.refuse_below, 4), "rules_below": round(self.rules_below, 4),
               "rule_gates": {rule: round(t, 4) for rule, t in self.rule_gates},
               "bias": round(self.bias, 5), "features": _feature_table(FEATURES, self.coef, self.mean, self.scale)}
        if self.answerable is not None:
            out["answerable"] = {"refuse_below": round(self.answerable_below, 4), **self.answerable.to_dict()}
            if self.answerable_below_parts is not None:
                out["answerable"]["refuse_below_parts"] = round(self.answerable_below_parts, 4)
        if self.meaning_floor is not None:
            out["meaning_floor"] = round(self.meaning_floor, 4)
        if self.value_below:
            out["value_below"] = {lang: round(t, 4) for lang, t in self.value_below}
        if self.value_gap_above:
            out["value_gap_above"] = {lang: round(t, 4) for lang, t in self.value_gap_above}
        return out

    @classmethod
    def from_dict(cls, data: dict) -> SentenceModel:
        answerable = AnswerableModel.from_dict(data["answerable"]) if "answerable" in data else None
        return cls(*_read_feature_table(data, FEATURES), float(data["bias"]), float(data["refuse_below"]),
                   float(data.get("rules_below", 0.0)),
                   tuple(sorted((str(k), float(v)) for k, v in data.get("rule_gates", {}).items())), answerable,
                   float(data.get("answerable", {}).get("refuse_below", 0.0)),
                   _optional(data.get("meaning_floor")),
                   tuple(sorted((str(k), float(v)) for k, v in data.get("value_below", {}).items())),
                   tuple(sorted((str(k), float(v)) for k, v in data.get("value_gap_above", {}).items())),
                   _optional(data.get("answerable", {}).get("refuse_below_parts")))


@dataclass(frozen=True)
class ScorerWeights:
    """The shipped weights: a model with the dense features (for indexes whose sentence vectors come
    from ``embedding_model``) and a lexical-only one (any other index: another model, or none stored)."""

    features: tuple[str, ...]
    embedding_model: str
    dense: SentenceModel
    lexical: SentenceModel
    meta: dict

    @classmethod
    def load(cls, path: Path | None = None) -> ScorerWeights:
        path = Path(path or WEIGHTS_FILE)
        data = json.loads(path.read_text(encoding="utf-8"))
        if (tuple(data["features"]) != FEATURES or any(set(data[m]["features"]) != set(FEATURES) for m in ("dense", "lexical"))
                or any(set(data[m].get("answerable", {}).get("features", ANSWERABLE_FEATURES)) != set(ANSWERABLE_FEATURES)
                       for m in ("dense", "lexical"))):
            raise ValueError(f"answer weights at {path} were fitted for other features; "
                             "refit with `python eval/fit_answers.py`")
        return cls(tuple(data["features"]), data["embedding_model"], SentenceModel.from_dict(data["dense"]),
                   SentenceModel.from_dict(data["lexical"]), data.get("meta", {}))

    def to_json(self) -> str:
        """One line per feature, so a diff of two fits reads as a table."""
        text = json.dumps({"features": list(self.features), "embedding_model": self.embedding_model,
                           "dense": self.dense.to_dict(), "lexical": self.lexical.to_dict(), "meta": self.meta},
                          ensure_ascii=False, indent=1)
        return re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]", text)

    def model_for(self, index_model: str, has_vectors: bool) -> SentenceModel:
        """The dense model where the index's sentence vectors are the ones it was fitted on, else the lexical one."""
        return self.dense if has_vectors and index_model == self.embedding_model else self.lexical


def value_quote(probabilities: np.ndarray, states: list[bool] | None) -> float | None:
    """The best probability among the candidates that state the value asked for (``states``, from
    rag/values.py ``value_statements``); None when the question asks for none or no candidate states one
    (the value_missing rule reads the whole notice for that)."""
    if states is None or not any(states):
        return None
    return float(np.asarray(probabilities)[np.asarray(states, bool)].max())


def value_gap(probabilities: np.ndarray, states: list[bool] | None, own: np.ndarray, context: np.ndarray,
              weights: np.ndarray) -> float | None:
    """How much of what the question asks about the sentences stating its value leave out: over the
    candidates that state the kind of value asked (``states``), the least share of the question's term
    weight (``weights``, IDF) that the best-probability candidate holds (``own``: candidates x terms) and
    the value sentence, read with the sentences before it (``context``), lacks. 0 when the best candidate
    states such a value itself; None when the question asks for none, or no candidate states one."""
    if states is None or not any(states) or not len(probabilities):
        return None
    total = float(np.sum(weights))
    if total <= 0:
        return 0.0
    held = np.asarray(own[int(np.argmax(probabilities))], bool)
    rows = np.asarray(context, bool)[np.asarray(states, bool)]
    return float(((held & ~rows) @ np.asarray(weights, float)).min() / total)


def closest_meaning(x: np.ndarray) -> float | None:
    """The highest question-sentence cosine among a question's candidate rows (FEATURES order); None
    without candidates or sentence vectors (``has_vectors`` 0)."""
    if not len(x) or not x[:, FEATURES.index("has_vectors")].any():
        return None
    return float(x[:, FEATURES.index("dense")].max())


def lexical_mask(features: tuple[str, ...] = FEATURES, dense: frozenset[str] = DENSE_FEATURES) -> np.ndarray:
    """True for the ``features`` the lexical model uses (those not in ``dense``); by default the
    sentence scorer's, ``lexical_mask(ANSWERABLE_FEATURES, DENSE_ANSWERABLE)`` the answerable model's."""
    return np.array([name not in dense for name in features])


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(mean, scale, coef, bias) of an L2-regularised logistic regression, by Newton steps (plain numpy).

    Standardised features keep the coefficients comparable when reading the weights file.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    reg = np.full(z.shape[1], l2)
    reg[-1] = 0.0  # the bias is not shrunk
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -30, 30)))
        grad = z.T @ (p - y) + reg * w
        hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-7:
            break
    return mean, scale, w[:-1], float(w[-1])


def bigram_share(grams: frozenset[str], squashed: str) -> float:
    """Share of ``grams`` (character bigrams of the question's content words) found in ``squashed``."""
    if not grams:
        return 0.0
    return sum(g in squashed for g in grams) / len(grams)


def content_bigrams(terms) -> frozenset[str]:
    """Character bigrams of the question's content words (a compound written apart still matches)."""
    grams = set()
    for term in terms:
        t = term.casefold()
        if len(t) == 1:
            continue
        grams.update(t[i:i + 2] for i in range(len(t) - 1))
    return frozenset(grams)


def safe_log_length(n: int) -> float:
    return math.log(max(n, 1))
