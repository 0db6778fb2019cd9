"""The sentences an extractive answer may quote, gathered from the retrieved passages.

A ``Candidate`` is one sentence (or the quotable part of one) of a retrieved notice, with its body
offsets, so a quote can be checked against the notice word for word. ``CandidateSentences`` gathers
them: the sentences of the retrieved chunks of the best notices, in retrieval order, then the top
notice's other sentences; never the closing contact block or the feed's attachment credits, and never
a title the feed ran into the text (every citation shows the title). rag/answer.py scores and chooses
among them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from ingest.metadata import contact_block
from rag.answer_settings import AnswerSettings
from rag.index import NoticeIndex, TokenTable
from rag.question import is_contact_question
from rag.quotes import (after_title, ends_as_prose, feed_credit, quote_end, restates_title, title_end,
                        title_is_heading_line)
from rag.types import Retrieval


@dataclass(frozen=True)
class Candidate:
    """One quotable sentence of a retrieved notice: ``text`` is ``body[start:end]`` of notice ``doc_id``;
    ``chunk_rank`` the rank of the retrieved chunk it came from. The answerer fills in ``score``,
    ``coverage`` and ``probability`` and may cut the quote (``cut_before``/``cut_after``)."""

    doc_id: str
    start: int
    end: int
    text: str
    chunk_rank: int
    score: float = 0.0
    coverage: float = 0.0
    cut_before: bool = False  # the quote starts inside its sentence
    cut_after: bool = False  # the quote stops before its sentence ends
    sentence: tuple[int, int] = (-1, -1)  # the whole sentence's body offsets (its row in the sentence vectors)
    tokens: TokenTable | None = None  # the notice's stored sentence terms (None: analyse with Kiwi)
    probability: float = 0.0  # the learned scorer's probability that the sentence holds the answer (0: none)


@dataclass(frozen=True)
class CandidateSentences:
    """Gathers the candidate sentences of a retrieval. ``max_notices``: how many of the best notices are
    read; ``whole_top_notice``: the top notice's other sentences are candidates too, ranked below every
    retrieved chunk; ``quote_contact_lines``: the contact block is quotable for any question, not only
    for one that asks whom to contact (all from rag/answer_settings.py)."""

    max_notices: int
    whole_top_notice: bool
    quote_contact_lines: bool

    @classmethod
    def from_settings(cls, settings: AnswerSettings) -> CandidateSentences:
        return cls(settings.max_notices, settings.whole_top_notice, settings.quote_contact_lines)

    def run(self, question: str, retrieval: Retrieval, index: NoticeIndex) -> list[Candidate]:
        """The sentences of the retrieved chunks of the best notices, then (``whole_top_notice``) the top
        notice's other sentences, ranked below every retrieved chunk; none from a notice's closing
        contact block ("문 의: 고용정책총괄과 김철수(044-…)") unless the question asks whom to contact (or
        ``quote_contact_lines``)."""
        seen: set[tuple[str, int]] = set()
        out: list[Candidate] = []
        docs = [d for d in retrieval.doc_ids[: self.max_notices] if d in index.notices]
        contacts = self.quote_contact_lines or is_contact_question(question)
        block_at = {d: (len(index.notices[d].body) if contacts else quotable_end(index.notices[d].body))
                    for d in docs}
        # where a title run into the text ends (korea.kr's feed), once a notice; None where the title is the
        # document's heading line, which is quoted like any line (rag/quotes.py title_is_heading_line)
        run_in_title = {d: (None if title_is_heading_line(index.notices[d].body, index.notices[d].title)
                            else title_end(index.notices[d].body, index.notices[d].title)) for d in docs}

        def add(doc_id: str, spans: Iterable[tuple[int, int]], rank: int) -> None:
            notice = index.notices[doc_id]
            opening = run_in_title[doc_id]
            for start, end in spans:
                if (doc_id, start) in seen or start >= block_at[doc_id]:
                    continue
                seen.add((doc_id, start))
                # korea.kr bodies open with the title run into the subtitles and lead; the title is
                # shown with every citation, so the quote starts after it.
                quote_start = after_title(notice.body, start, end, notice.title)
                quote_stop = quote_end(notice.body, quote_start, end)
                text = notice.body[quote_start:quote_stop]
                # nor is a title run into the text quoted again: set apart as a sentence, or a piece of it
                # the sentence splitter cut off (a quoted slogan). A title a reader cut from a long first
                # line may be prose ("…을 발표했다."), and prose stays quotable.
                if (opening is not None and (end <= opening or restates_title(text, notice.title))
                        and not ends_as_prose(text)):
                    continue
                out.append(Candidate(doc_id, quote_start, quote_stop, text, rank,
                                     cut_before=quote_start > start, sentence=(start, end),
                                     tokens=index.token_table(doc_id)))

        for rank, hit in enumerate(retrieval.hits):
            if hit.chunk.doc_id in block_at:
                add(hit.chunk.doc_id, hit.chunk.sentences, rank)
        if self.whole_top_notice and docs:
            add(docs[0], index.sentence_spans(docs[0]), len(retrieval.hits))
        return out


def sentence_at(cand: Candidate, index: NoticeIndex) -> tuple[list[tuple[int, int]], int | None]:
    """The sentence spans of ``cand``'s notice and where ``cand``'s sentence is among them; None for a
    quote that is no sentence of its notice (a list item cut from one)."""
    spans = index.sentence_spans(cand.doc_id)
    try:
        return spans, spans.index(cand.sentence)
    except ValueError:
        return spans, None


@functools.lru_cache(maxsize=1024)
def quotable_end(body: str) -> int:
    """Where a notice's closing contact block, or the feed's closing attachment titles and credit, starts
    (the body's length when it has neither): no quote is taken from there."""
    offset, _ = contact_block(body)
    credit = feed_credit(body)
    return min(o for o in (offset, credit, len(body)) if o >= 0)
