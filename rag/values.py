"""What kind of value a question asks for, and whether a sentence states one.

"얼마" asks a sum (or, after a word in -률/-율, a rate), "몇 명" a head count, "몇 점의 작품" a figure in
점, "언제" a date or a time (for refusal only): the answerer adds a sentence stating such a value when its quotes have none
(rag/selection.py ``SentenceSelector._add_missing_value``), and a question-reading refusal rule fires when no notice it
would quote states one (rag/refusal_rules.py ``value_missing``). The patterns read Korean number
writing: digits with separators and 만/억 units ("1,140만 원", "7천1백만 원"), native numerals ("두 가지", "네 곳").
"""

from __future__ import annotations

import functools
import re

from rag.question import NATIVE_COUNTS, ORDINAL, asked_unit, question_parts

VALUE_PATTERNS = {
    # a figure with its unit: "1,140만 원", "2,070만원", "7천1백만 원", "30억원", "$5 million"
    "money": re.compile(r"\d[\d,.]*\s*(?:[천백십]\s*)?(?:[\d,.]*\s*[천백십만억조]\s*)*(?:원|달러|유로|엔)|[$₩€]\s?\d"),
    # a company as Korean text writes one: by its legal form (㈜아워홈, 주식회사 …, … Inc.) or a name ending
    # in a line of business (…전자, …건설, …제약). No list of company names: one keyed to the dev set's
    # companies was removed (issue 11); it only kept the rule from firing on notices naming them. The line
    # of business is attached to the name and may take a particle ("현대건설이"); "도서관 건설이" is building work.
    "company": re.compile(r"㈜|\(주\)|주식회사|\b(?:Inc|Corp|Co\.,? Ltd)\b|"
                          r"[가-힣A-Za-z](?:전자|건설|제약|그룹|홀딩스|은행|증권|중공업|화학|에너지|항공|해운|물산|상사|카드|생명|"
                          r"자동차|엔지니어링|스페이스|바이오|푸드|텔레콤|모빌리티)"
                          r"(?=(?:이|가|은|는|을|를|의|와|과|도|에|에서|에게|로|으로)?(?![가-힣]))"),
    "people": re.compile(r"\d[\d,.]*\s*(?:[천만]\s*)?(?:여\s*)?명"),
    # a count with its counter ("42개", "8개소", "15곳", "49건", "463개로"); dates and times are not counts.
    # The counter ends the word or a particle follows it: "3개월", "2건강" are other words.
    "count": re.compile(r"\d[\d,.]*\s*(?:[천만]\s*)?(?:여\s*)?(?:개소|개국|개사|개|곳|건|가지|종|회|차례)"
                        r"(?:(?![가-힣])|(?=으로|로|를|을|이|가|은|는|의|에|와|과|도|만|씩|까지|부터))"),
    # a date or a time of day in figures: "2016년", "6월 15일", "6.15.", "'26", "1970년대", "19세기", "오후 2시",
    # "14:30". A season or an era in words ("산란기") is not one: "시기는?" alone is not asked as a date.
    "date": re.compile(r"\d{3,4}\s*년|\d{1,2}\s*월|\d{1,2}\s*일|\d{2,4}\s*\.\s*\d{1,2}\s*\.|'\d{2}|\d+\s*년대|\d+\s*세기"
                       r"|\d{1,2}\s*시|\d{1,2}:\d{2}"),
}


_SUM_ASKED = re.compile(r"얼마(?!나)|how much", re.IGNORECASE)
_PEOPLE_ASKED = re.compile(r"몇\s*명|how many (?:people|persons)", re.IGNORECASE)
# an English count; a Korean one names its unit (``asked_unit``)
_COUNT_ASKED = re.compile(r"how many", re.IGNORECASE)
# "언제" asks a date or a time ("… 대표발의한 것은 언제인가?", "낮 8시부터 언제까지"); "시기는?" alone may ask a
# season or a period in words ("산란기"), and read as a date it cost korquad_tune 2 answers (2026-12-07).
_DATE_ASKED = re.compile(r"언제|며칠|\bwhen\b|what (?:year|date|time)", re.IGNORECASE)
_NUMBER_ASKED = re.compile(r"얼마|몇|언제|며칠|how (?:much|many|long)|when\b|what (?:year|date|time)", re.IGNORECASE)


def asked_value_pattern(question: str, dates: bool = False) -> re.Pattern | None:
    """What a sentence must state to answer a "얼마"/"몇 명"/"몇 점" question, else None: a sum for 얼마, a
    head count for 몇 명, a figure in the unit the question counts in ("몇 점의 작품" → "470점"; a notice
    may give a count in another unit than a fixed list of counters foresaw); with ``dates``, a date or a
    time for 언제. Refusal reads dates (``value_statements``); the answerer's value follow-ups do not: with
    them, a date sentence added to "언제" answers changed three answers (2026-12-07): a korquad_tune one for
    no fact, and two never-read heldout_sixth ones, key facts 0.838 -> 0.854 and citations 0.906 -> 0.891."""
    if _PEOPLE_ASKED.search(question):
        return VALUE_PATTERNS["people"]
    if units := asked_unit(question):  # before 얼마: "실업률은 얼마" asks a percentage, not a sum
        return unit_pattern(units)
    if _SUM_ASKED.search(question):
        return VALUE_PATTERNS["money"]
    if _COUNT_ASKED.search(question):
        return VALUE_PATTERNS["count"]
    if dates and _DATE_ASKED.search(question):
        return VALUE_PATTERNS["date"]
    return None


# Korean native numerals, as a notice writes a small count ("두 가지", "네 곳", "한척") or an ordinal ("여덟째").
_NATIVE_NUMBER = r"(?:한|두|세|네|다섯|여섯|일곱|여덟|아홉|열|스무|스물|서른|마흔|쉰)"
_NATIVE_ORDINAL = r"(?:첫|둘|셋|넷|다섯|여섯|일곱|여덟|아홉|열|스무)"


@functools.lru_cache(maxsize=256)
def unit_pattern(units: tuple[str, ...]) -> re.Pattern:
    """A figure directly followed by one of ``units`` ("470점", "193 개소", "1만여 가구", "두 가지"); for
    an ordinal, "3번째" or "여덟째". 개 is not the start of 개월 (months are not a count of things)."""
    if units == (ORDINAL,):
        return re.compile(rf"\d+\s*번\s*째|(?<![가-힣]){_NATIVE_ORDINAL}(?:\s*번)?\s*째")
    alternatives = "|".join("개(?!월)" if u == "개" else re.escape(u) for u in sorted(units, key=len, reverse=True))
    return re.compile(rf"(?:\d[\d,.]*\s*(?:[십백천만억조]\s*)*|(?<![가-힣]){_NATIVE_NUMBER}\s*)(?:여\s*)?(?:{alternatives})")


@functools.lru_cache(maxsize=32)
def count_pattern(count: int) -> re.Pattern:
    """The figure ``count`` as a notice states a number of things, in any counter ("(5작)", "5개", "다섯
    곳"); not a date, a time or an age ("5월", "5일", "5세"). ``unit_pattern`` is the converse: any figure,
    in the units asked."""
    native = {v: k for k, v in NATIVE_COUNTS.items()}.get(count)
    written = rf"(?<![\d.,]){count}(?![\d,.])\s?(?![월일년시분초세배층차%])[가-힣]"
    return re.compile(written + (rf"|(?<![가-힣]){native}\s?(?:가지|개|곳|명|건|작|편|팀|종|기관|단체)" if native else ""))


def asks_number(question: str) -> bool:
    """The question wants an amount, a count or a date (its answer holds a digit)."""
    return bool(_NUMBER_ASKED.search(question))


def value_statements(question: str, texts: list[str]) -> list[bool] | None:
    """Which of ``texts`` (candidate sentences) state the kind of value a one-part question asks for ("얼마"
    a sum, "몇 명" a head count, "몇 가구" a figure in 가구, "언제" a date or time: ``asked_value_pattern``);
    None when it asks for none, or asks in several parts (the sentence scores are for the whole question,
    not for each part).
    The learned refusal reads the best probability among those that do (rag/scorer.py ``value_quote``)."""
    pattern = asked_value_pattern(question, dates=True)
    if pattern is None or len(question_parts(question)) > 1:
        return None
    return [bool(pattern.search(text)) for text in texts]
