"""The question-reading refusal rules: what a question asks for that the notices it would be answered
from never state.

Each rule reads the question (rag/question.py: the value it wants, the unit of its "몇 …", the word it is
about) and checks it against those notices, with no model. The extractive answerer (rag/answer.py) asks
``QuestionRules.run`` for the flags; with the learned scorer a flag refuses only below its own fitted
confidence gate (rag/scorer.py ``SentenceModel.refuses``, gates in rag/answer_weights.json), since alone
the rules refused 8% of korquad_tune's answerable questions.

What the two kept rules add beyond the thresholds (refusals of unanswerable / answerable questions;
docs/measurements.md, "Audit of the question-reading refusal rules", before the meaning floor):
value_missing dev +5 / 0, korquad_tune 0 / +2, held-out sets +1 / 0 (the only refusal that carried over
to an unseen set); unknown_words dev +1 / 0, korquad_tune +2 / +10, held-out 0 / +1. The meaning floor
now overrules unknown_words where a sentence is close in meaning (rag/scorer.py MEANING_OVERRULES).

"The asked-about word is missing from the notice" (``focus_missing``) is not one of ``RULES`` since
2026-12-04: a paraphrased question avoids the notice's words by design, and the rule refused 3 of the 64
answerable held-out press-release questions (eval/gold/heldout_*.jsonl), all paraphrases, and 4 of
korquad_tune's 1,875, while it caught none of dev's unanswerable questions and 2 of korquad_tune's 48.
Only the word-overlap scorer (``learned=False``) still reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.korean import search_terms
from ingest.models import Notice
from ingest.normalize import squash
from rag.answer_settings import AnswerSettings
from rag.index import NoticeIndex
from rag.question import (HANGUL, QUESTION_WORDS, award_asked, expected_value, focus_terms, is_plural_question,
                          question_language, question_parts, unit_asked_last)
from rag.types import Retrieval
from rag.values import VALUE_PATTERNS, unit_pattern

# The rules ``QuestionRules.run`` flags, each gated by its own fitted confidence threshold.
RULES = ("value_missing", "unknown_words")


@dataclass(frozen=True)
class QuestionRules:
    """The question-reading rules over one index. ``max_notices``: how many notices a question in parts
    or in the plural may be answered from; ``min_notices_for_idf``: the fewest notices over which "most
    of the question's words are unknown" means anything; ``min_lexical_coverage``: the share of the
    question's weighted words the index must know (all from rag/answer_settings.py)."""

    max_notices: int
    min_notices_for_idf: int
    min_lexical_coverage: float

    @classmethod
    def from_settings(cls, settings: AnswerSettings) -> QuestionRules:
        return cls(settings.max_notices, settings.min_notices_for_idf, settings.min_lexical_coverage)

    def run(self, question: str, retrieval: Retrieval, index: NoticeIndex) -> dict[str, bool]:
        """Each of ``RULES``: whether it says the notices lack what ``question`` asks."""
        return {"value_missing": self.value_missing(question, retrieval, index),
                "unknown_words": self.unknown_words(question, retrieval, index)}

    def answering_notices(self, question: str, retrieval: Retrieval, index: NoticeIndex) -> list[Notice]:
        """The notice(s) an answer would quote, which the rules read.

        A one-part question is answered from its best notice; a two-part or plural one may need more.
        """
        several = len(question_parts(question)) > 1 or is_plural_question(question)
        docs = retrieval.doc_ids[: self.max_notices] if several else retrieval.doc_ids[:1]
        return [index.notices[d] for d in docs]

    def value_missing(self, question: str, retrieval: Retrieval, index: NoticeIndex) -> bool:
        """True when the question asks for a sum, a head count, a count in a unit or a company the answering
        notice(s) never state.

        "How much budget does each village get?" over a notice with no amount in won
        cannot be answered from it, however well its other words match.
        """
        if count_missing(question, [index.notices[d] for d in retrieval.doc_ids[:2]]):
            return True
        kind = expected_value(question)
        if kind is None:
            return False
        answering = self.answering_notices(question, retrieval, index)
        pattern = VALUE_PATTERNS[kind]
        name = award_asked(question)
        if name is None:
            return not any(pattern.search(f"{n.title} {n.body}") for n in answering)
        # "대상을 받은 팀의 상금은?": the sum must be stated with that award, not only as the total prize.
        short = name[:-1] if name.endswith("상") and len(name) > 2 else name
        for notice in answering:
            for start, end in index.sentence_spans(notice.doc_id):
                sentence = notice.body[start:end]
                if short in sentence and pattern.search(sentence):
                    return False
        return True

    def unknown_words(self, question: str, retrieval: Retrieval, index: NoticeIndex) -> bool:
        """True when most of the question's words occur nowhere in the index ("국방부의 KF-21 …" over other
        notices); for an English question, its Korean words. IDF shares mean something only over a corpus:
        on a few notices every word is "rare" (issue 11), so below ``min_notices_for_idf`` it never fires."""
        if len(index.notices) < self.min_notices_for_idf:
            return False
        if question_language(question) == "en":
            return _english_words_unknown(question, index, self.min_lexical_coverage)
        return retrieval.lexical_coverage is not None and retrieval.lexical_coverage < self.min_lexical_coverage


def _english_words_unknown(question: str, index: NoticeIndex, min_share: float) -> bool:
    """An English question's Korean names (부처, 사업, 인물) are mostly unknown to the index: less than
    ``min_share`` of their weight occurs in it."""
    korean = [t for t in search_terms(question) if HANGUL.search(t) and t not in QUESTION_WORDS]
    return bool(korean) and index.known_share(korean) < min_share


def count_missing(question: str, notices: list[Notice]) -> bool:
    """True when a part of the question asks "몇 …" in a unit ("몇 건", "몇 가구", "몇 세") and none of
    ``notices`` states a figure in that unit. The unit is read from the question (``unit_asked_last``), so
    this needs no list of the things a corpus counts. The caller passes retrieval's top two notices, not
    only the best one, because an answer may quote the second (korquad_tune's other paragraph of the
    article). Measured 2026-12-05 over dev, the held-out press-release sets and korquad_tune: over the top
    notice it fired on 5 answerable press-release questions and 6 korquad_tune ones, over the top two on
    none and 2; both caught the same 5 of the 24 unanswerable press-release questions."""
    texts = [f"{n.title} {n.body}" for n in notices]
    for part in question_parts(question):
        units = unit_asked_last(part)
        if units and not any(unit_pattern(units).search(text) for text in texts):
            return True
    return False


def focus_missing(question: str, answering: list[Notice]) -> bool:
    """True when what the question asks about (the words before 얼마/몇/누구/…) is not in the notice(s) it
    would be answered from.

    A plausible question about a real event often asks for a detail the notice
    never gives (an entry fee, a contractor's name): the event's words match,
    the detail's words do not.
    """
    focus = focus_terms(question)
    if not focus:
        return False
    texts = [squash(f"{n.title} {n.body}") for n in answering]
    forms = {squash(term) for term in focus}
    # "발표자"/"참석자" asked, "발표"/"참석" written: the agent suffix is the question's paraphrase.
    forms |= {form[:-1] for form in forms if len(form) >= 3 and form.endswith(("자", "인"))}
    return not any(form in text for form in forms for text in texts)
