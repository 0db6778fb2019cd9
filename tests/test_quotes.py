"""What a quote may be cut from: the korea.kr feed's closing attachment titles (rag/quotes.py ``feed_credit``)."""

from __future__ import annotations

from rag.quotes import feed_credit

PROSE = "보건복지부는 6월 9일 서울역에서 기초연금 개편방향 전문가 포럼을 개최했다. 포럼은 종합토론 순으로 진행되었다. "


def test_the_attachment_titles_before_the_feed_credit_are_not_prose():
    body = PROSE + "기초연금 개편방향 전문가 포럼 개요 [자료제공: (www.korea.kr)]"
    assert body[feed_credit(body):] == "기초연금 개편방향 전문가 포럼 개요 [자료제공: (www.korea.kr)]"
    # numbered titles: "2. " ends no sentence, so every title goes with the credit
    numbered = PROSE + "1. 헌혈자의 날 기념식 개요 2. 헌혈 유공 포상자 명단 [자료제공 : (www.korea.kr) ]"
    assert numbered[feed_credit(numbered):].startswith("1. 헌혈자의 날")


def test_a_body_without_the_credit_or_ending_in_an_outline_keeps_its_text():
    assert feed_credit(PROSE) == -1
    assert feed_credit(PROSE + "자료제공: 보건복지부") == -1
    # a personnel notice's appointments, in outline, are the release itself: only the credit goes
    personnel = PROSE + "□ 소방정감 승진 ○ 부산광역시 소방재난본부장 이진호 [자료제공: (www.korea.kr)]"
    assert personnel[feed_credit(personnel):] == "[자료제공: (www.korea.kr)]"
