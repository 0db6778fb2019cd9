"""What a quote may be cut from (rag/quotes.py): not the korea.kr feed's closing attachment titles
(``feed_credit``), and not a mark or heading the feed leaves at a sentence's end (``quote_end``)."""

from __future__ import annotations

from rag.quotes import (after_title, ends_as_prose, feed_credit, quote_end, restates_title, title_end,
                        title_is_heading_line)


def _quoted(sentence: str) -> str:
    """What of ``sentence`` (a whole body) a quote keeps."""
    return sentence[:quote_end(sentence, 0, len(sentence))]


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


def test_a_quote_ends_before_the_feeds_subheading_mark_or_a_footnote_mark():
    assert _quoted("납부 기한이 7월 3일까지로 연장된다고 밝혔다. >>") == "납부 기한이 7월 3일까지로 연장된다고 밝혔다."
    assert _quoted("강화유리를 기준으로 탈출 방법을 인식하고 있는 실정이다. *") == "강화유리를 기준으로 탈출 방법을 인식하고 있는 실정이다."
    # the footnote's label goes with its mark, unless it holds a figure
    assert _quoted("국민 체감도 조사를 실시했다. ※ (국민평가단)") == "국민 체감도 조사를 실시했다."
    assert _quoted("전문의 수를 확보할 계획이다. ** (10병상당 전문의 수)").endswith("(10병상당 전문의 수)")
    assert _quoted("장관표창 33점*을 수여했다. * (총 40점)") == "장관표창 33점*을 수여했다. * (총 40점)"
    # a mark inside the sentence, or one not after a sentence's stop, is text
    assert _quoted("이중접합차음유리 * 적용이 확대되고 있다.") == "이중접합차음유리 * 적용이 확대되고 있다."
    assert _quoted("총 상금 2,070만원 규모 *") == "총 상금 2,070만원 규모 *"
    # an opening bracket at the end opens what follows (korquad_tune's Wikipedia text)
    assert _quoted("조정위원회에 조정의 신청을 할 수 있다.(") == "조정위원회에 조정의 신청을 할 수 있다."
    assert _quoted("사업 이름에 사용하게 되었다(") == "사업 이름에 사용하게 되었다"
    assert _quoted("함께 뛰겠다.“") == "함께 뛰겠다.“"  # a closing quote typed the wrong way round
    # a quote that is nothing but the mark is left whole rather than emptied
    body = "행사를 개최했다. >>"
    assert quote_end(body, body.index(">"), len(body)) == len(body)


def test_a_quote_ends_before_a_heading_of_the_next_block_glued_after_its_stop():
    # sentences of the demo corpus, as Kiwi leaves them
    assert _quoted("박진석 경정 등은 장관표창을 수상했다. 【 2025년 노인학대 주요 현황 】") == "박진석 경정 등은 장관표창을 수상했다."
    assert _quoted("전남일안전위원회(061-725-0230)로 신청할 수 있다. [인천광역시]") == "전남일안전위원회(061-725-0230)로 신청할 수 있다."
    assert _quoted("필요한 의료서비스를 받을 수 있다. ◇ (방문의료)") == "필요한 의료서비스를 받을 수 있다."
    # a bracketed number there would read as a citation of the answer
    assert _quoted("소관 2개 법률안이 의결되었다. [1]") == "소관 2개 법률안이 의결되었다."
    # what follows the stop is kept when it is a sentence, a long passage, a value or text that opens with a word
    kept = ["기념식을 열었다. 【참석】 장관이 축사를 했다.", "지원한다. (대상) 만 65세 이상 어르신과 장애인, 그리고 그 가족을 포함한 취약계층 전체 가구",
            "수여했다. (총 12팀)", "수여했다. (지원율 42%)", "밝혔다. 한편 이번 행사는", "밝혔다. \"앞으로도"]
    for sentence in kept:
        assert _quoted(sentence) == sentence


def test_a_sentence_that_is_the_title_again_is_told_apart_from_one_that_says_more():
    title = "가짜진료·과잉처방 집중 조사, 비정상 진료 엄정 대응 나선다"
    # the feed dropped the middle dot; spacing and punctuation do not matter
    assert restates_title("가짜진료과잉처방 집중 조사,비정상 진료 엄정 대응 나선다 ", title)
    assert not restates_title("가짜진료·과잉처방 집중 조사, 비정상 진료 엄정 대응 나선다고 밝혔다.", title)
    assert not restates_title("집중 조사", title)
    assert not restates_title("", "")


def test_the_opening_title_is_found_up_to_spacing_and_only_at_the_bodys_start():
    title = '"헌혈로 생명을 구하세요" 2026년 헌혈자의 날 기념식 개최'
    body = ('"헌혈로 생명을 구하세요" 2026년 헌혈자의 날  기념식 개최 - 35년간 444회 헌혈 김기선 님 등 개인 35명 장관 표창 - '
            "보건복지부는 6월 12일 기념행사를 개최한다고 밝혔다.")
    subtitle = body.index("- 35년간")
    assert title_end(body, title) == subtitle  # the body's double space does not matter
    assert after_title(body, 0, len(body), title) == subtitle
    lead = body.index("보건복지부")
    assert after_title(body, lead, len(body), title) == lead
    # a title that runs into a particle is the sentence's subject, not a heading
    assert title_end("행복시 청사 이전 사업은 2019년 4월에 끝났다.", "행복시 청사 이전 사업") == 0
    assert title_end("다른 문장이 먼저 나온다. " + body, title) == 0
    assert title_end(body, "") == 0
    # a title on a line of its own is the document's heading line, not a title run into the text
    assert title_is_heading_line(title + "\n보건복지부는 6월 12일 기념행사를 개최한다고 밝혔다.", title)
    assert title_is_heading_line("\n# 소방청 차장 승진 임명\n본문", "소방청 차장 승진 임명")
    assert not title_is_heading_line(body, title)


def test_a_headline_is_told_from_a_prose_sentence_by_its_end():
    """A title a reader took from a plain file's first line may be prose; a sentence that repeats it is
    quoted then, a headline's never."""
    for prose in ("문화체육관광부는 지역 도서관 리모델링 계획을 발표했다.", '"그들은 우리 곁에 있습니다."', "계획을 밝혔다. "):
        assert ends_as_prose(prose), prose
    for headline in ('"헌혈로 생명을 구하세요"', "비정상 진료 엄정 대응 나선다", "케이(K)- 소방 세계화 이끈다!",
                     '"내 차 유리부터 확인하세요..."', "2026년 헌혈자의 날 기념식 개최"):
        assert not ends_as_prose(headline), headline
