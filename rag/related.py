"""Other notices worth a look beside an answer: the ones retrieval ranked close to the answer's own.

An answer quotes the notice retrieval ranks first, and another only where one of its sentences earns a
place (rag/answer.py). A question whose answer is spread over several notices ("소방청이 협약을 맺은
나라는?", one agreement per notice) then shows one of them, and a reader has no way to the others.
``SeeAlso`` lists them under the answer, as "see also", never as citations: the notices retrieval
scored at least ``share`` of the top notice's score (a ratio, so it means the same for any index size and
any fusion scale) that the answer does not quote, at most ``limit`` of them.

``share`` 0.75 is eval/fit_see_also.py's choice (docs/measurements.md, "Twenty-fifth session"): the
lowest share at which see-also shows on at most 15% of the answers to dev's and korquad_tune's questions,
which one notice answers. On heldout_aggregate (answers spread over 2-4 notices) it then lists about
half of the notices the answer leaves out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from rag.types import Answer, Citation, Retrieval

if TYPE_CHECKING:
    from rag.index import NoticeIndex

SHARE = 0.75  # the default share (PRESSRAG_SEE_ALSO), chosen by eval/fit_see_also.py as above
LIMIT = 3  # notices listed at most
QUOTE_CHARS = 200  # of the notice's best passage, shown under its title


def notice_shares(retrieval: Retrieval) -> dict[str, tuple[float, int]]:
    """Each retrieved notice's best passage: its score as a share of the best notice's, and that hit's
    rank; empty when no score is positive. ``SeeAlso`` and eval/fit_see_also.py, which fits its share,
    read notices this one way."""
    best: dict[str, tuple[float, int]] = {}
    for rank, hit in enumerate(retrieval.hits):
        if hit.chunk.doc_id not in best:
            best[hit.chunk.doc_id] = (hit.score, rank)
    top = max((score for score, _ in best.values()), default=0.0)
    return {doc_id: (score / top, rank) for doc_id, (score, rank) in best.items()} if top > 0 else {}


@dataclass(frozen=True)
class SeeAlso:
    """Fills ``Answer.related`` of an answer (not of a refusal, which lists its nearest notices itself).

    ``share``: a notice is listed when its best passage scored at least this share of the best notice's
    (0 lists none); ``limit``: at most this many.
    """

    share: float = SHARE
    limit: int = LIMIT

    def __post_init__(self) -> None:
        if not 0.0 <= self.share <= 1.0:
            raise ValueError(f"see-also share must be within [0, 1], got {self.share}")
        if self.limit < 0:
            raise ValueError(f"see-also limit must not be negative, got {self.limit}")

    def run(self, answer: Answer, retrieval: Retrieval, index: NoticeIndex) -> Answer:
        if answer.refused or not answer.citations or not self.share or not self.limit:
            return answer
        shares = notice_shares(retrieval)
        quoted = {c.doc_id for c in answer.citations}
        related: list[Citation] = []
        for doc_id in retrieval.doc_ids:
            if len(related) == self.limit:
                break
            if doc_id in quoted or doc_id not in shares or doc_id not in index.notices:
                continue
            share, rank = shares[doc_id]
            if share < self.share:
                continue
            notice = index.notices[doc_id]
            chunk = retrieval.hits[rank].chunk
            start, end = chunk.sentences[0] if chunk.sentences else (0, min(len(notice.body), QUOTE_CHARS))
            end = min(end, start + QUOTE_CHARS)
            related.append(Citation.from_notice(len(answer.citations) + len(related) + 1, notice,
                                                notice.body[start:end], [(start, end)]))
        return replace(answer, related=related) if related else answer
