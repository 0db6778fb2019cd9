"""What a candidate sentence says in the question's terms: its search terms, its squashed text, and how
much of a question's weighted terms it holds. Shared by the extractive answerer's scoring and refusal
(rag/answer.py) and its choice of sentences (rag/selection.py).

Terms come from the index's stored sentence tokens where it has them (no Kiwi while answering), else from
Kiwi over the text; both are cached per text, since one question reads each candidate and its neighbours
several times (coverage, features, de-duplication).
"""

from __future__ import annotations

from ingest.korean import search_terms
from ingest.normalize import squash
from rag.candidates import Candidate
from rag.index import NoticeIndex
from rag.question import HANGUL

_CACHE_LIMIT = 20000  # texts kept per cache before it starts over (a long session reads many notices)


class SentenceTerms:
    """Cached readings of sentences: search terms, squashed text, term coverage."""

    def __init__(self) -> None:
        self._terms: dict[str, frozenset[str]] = {}
        self._squashed: dict[str, str] = {}

    def clear(self) -> None:
        self._terms.clear()
        self._squashed.clear()

    def terms(self, text: str) -> frozenset[str]:
        """``text``'s search terms (Kiwi), cached."""
        cached = self._terms.get(text)
        if cached is None:
            cached = frozenset(search_terms(text))
            if len(self._terms) > _CACHE_LIMIT:
                self._terms.clear()
            self._terms[text] = cached
        return cached

    def squash(self, text: str) -> str:
        """``text`` without whitespace, case-folded (ingest/normalize.py ``squash``), cached."""
        cached = self._squashed.get(text)
        if cached is None:
            if len(self._squashed) > _CACHE_LIMIT:
                self._squashed.clear()
            cached = self._squashed[text] = squash(text)
        return cached

    def span_terms(self, cand: Candidate, start: int | None = None, end: int | None = None) -> frozenset[str]:
        """Search terms of ``cand``'s body span [start, end) (default: the whole candidate): read off the
        index's stored sentence tokens, or Kiwi over the text for an index stored without them."""
        start = cand.start if start is None else start
        end = cand.end if end is None else end
        if cand.tokens is not None:
            return cand.tokens.between(start, end)
        return self.terms(cand.text[start - cand.start:end - cand.start])

    def body_terms(self, doc_id: str, start: int, end: int, index: NoticeIndex) -> frozenset[str]:
        """Search terms of a notice's body span: the index's stored sentence tokens, or Kiwi over the text."""
        table = index.token_table(doc_id)
        return table.between(start, end) if table is not None else self.terms(index.notices[doc_id].body[start:end])

    def coverage(self, q_terms: dict[str, float], terms: frozenset[str], text: str, compound_credit: float) -> float:
        """Share of the question's weighted terms that a text holds (``holds``); a Korean compound of three
        or more characters that it holds only in part counts ``compound_credit`` of its bigram share."""
        total = sum(q_terms.values())
        if not total:
            return 0.0
        squashed = self.squash(text)
        got = 0.0
        for term, weight in q_terms.items():
            if holds(term, terms, squashed):
                got += weight
            elif compound_credit and len(term) >= 3 and HANGUL.match(term):
                got += compound_credit * weight * compound_overlap(term, squashed)
        return got / total


def holds(term: str, terms: frozenset[str], squashed: str) -> bool:
    """A sentence holds a question term: among its search terms, or (two or more characters) inside its
    squashed text (``squash``: no whitespace, case-folded), where Kiwi cut the sentence's words otherwise."""
    return term in terms or (len(term) > 1 and term in squashed)


def compound_overlap(term: str, squashed: str) -> float:
    """Share of a compound word's character bigrams found in the text, when at least two thirds are.

    Kiwi keeps many Korean compounds whole ("최우수상", "수상자"), while the notice may write
    the same thing split or inflected ("최우수 수상작"): exact-term matching scores that 0.
    """
    grams = {term[i:i + 2] for i in range(len(term) - 1)}
    share = sum(g in squashed for g in grams) / len(grams)
    return share if share >= 2 / 3 else 0.0
