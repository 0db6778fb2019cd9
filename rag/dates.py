"""Calendar days (month, day) that a question asks about and that a notice mentions.

A question about an event often names its day ("6월 18일 국회를 통과한 …", "the meeting on June 17"),
and the notice that reports the event names it in its lead ("오늘(6월 18일)", "6.17일(수) 08:00",
"17일(수)"). Retrieval can take a shared day as evidence (``FusionWeights.date``, fitted by
eval/fit_fusion.py). Only the day is compared, not the year: a press release rarely writes the year
next to the day, and a notice's own days are mostly within weeks of its date.
"""

from __future__ import annotations

import re

Day = tuple[int, int]  # (month, day)

_MONTHS = {name: i for i, name in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"), 1)}
_MONTH_NAMES = "|".join(_MONTHS) + "|sept|" + "|".join(m[:3] for m in _MONTHS if len(m) > 3)
_KOREAN_DAY = re.compile(r"(?<!\d)(\d{1,2})월\s*(\d{1,2})일")
# "June 17", "June 17th", "17 June"
_ENGLISH_DAY = re.compile(rf"\b({_MONTH_NAMES})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b|\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH_NAMES})\b",
                          re.IGNORECASE)
# press-release shorthand with the weekday after it: "6.17.(화)", "6.17일(수)", "6. 17.(화)"
_DOTTED_DAY = re.compile(r"(?<![\d.])(\d{1,2})\.\s?(\d{1,2})(?:\.|일)\s?\([월화수목금토일]")
# the day alone with its weekday, in the month the notice was published: "17일(수)"
_BARE_DAY = re.compile(r"(?<![\d.월])(\d{1,2})일\s?\([월화수목금토일]\)")


def _valid(month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= 31


def _month(name: str) -> int:
    name = name.lower().rstrip(".")
    return _MONTHS.get(name) or next(i for full, i in _MONTHS.items() if full.startswith(name))


def _english_days(text: str) -> set[Day]:
    return {(_month(name or name2), int(day or day2)) for name, day, day2, name2 in _ENGLISH_DAY.findall(text)}


def question_days(text: str) -> frozenset[Day]:
    """The calendar days a question names ("6월 18일", "June 17, 2026")."""
    days = {(int(m), int(d)) for m, d in _KOREAN_DAY.findall(text)} | _english_days(text)
    return frozenset(d for d in days if _valid(*d))


def notice_days(body: str, published: str | None = None) -> frozenset[Day]:
    """The calendar days a notice's text names; "17일(수)" alone counts in the month it was published."""
    days = {(int(m), int(d)) for m, d in _KOREAN_DAY.findall(body)}
    days.update((int(m), int(d)) for m, d in _DOTTED_DAY.findall(body))
    days |= _english_days(body)
    if published and re.match(r"\d{4}-\d{2}-\d{2}", published):
        month = int(published[5:7])
        days.update((month, int(d)) for d in _BARE_DAY.findall(body))
    return frozenset(d for d in days if _valid(*d))
