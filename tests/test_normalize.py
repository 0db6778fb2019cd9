import pytest

from ingest.errors import UnreadableFile
from ingest.normalize import decode_bytes, looks_like_text, normalize_text, squash


@pytest.mark.parametrize("raw, expected", [
    ("소방청 , 인도네시아 내무부와", "소방청, 인도네시아 내무부와"),
    ("협력의향서 ( LOI ) 체결", "협력의향서(LOI) 체결"),
    ("정부 24 에서 신청", "정부24 에서 신청"),
    ("소방청 (청장 김승룡) 은 13 일 (현지시간)", "소방청(청장 김승룡)은 13일(현지시간)"),
    ("최대 3,000 만 원 지급", "최대 3,000만 원 지급"),
    ("제 114 차 총회", "제114차 총회"),
    ("소방 · 재난 대응", "소방·재난 대응"),
    ('장관은 " 중요하다 " 며 " 한국의 경험 " 이라고 말했다 .', '장관은 "중요하다"며 "한국의 경험"이라고 말했다.'),
])
def test_rss_spacing_artefacts_are_undone(raw, expected):
    assert normalize_text(raw) == expected


def test_unicode_is_nfc_and_odd_spaces_are_plain():
    decomposed = "\u1112\u1161\u11ab"  # 한 as jamo
    assert normalize_text(decomposed) == "한"
    assert normalize_text("인지\u0387예측") == "인지·예측"  # Greek ano teleia → middle dot
    assert normalize_text("가\u00a0나\u3000다\u200b라") == "가 나 다라"
    assert normalize_text("ＡＢＣ１２３") == "ABC123"


def test_authors_spaces_are_kept():
    text = "행정안전부는 4월 1일 정부서울청사에서 보고대회를 개최했다."
    assert normalize_text(text) == text


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp949", "euc-kr"])
def test_legacy_encodings_decode(encoding):
    text = "행정안전부 보도자료: 「전자정부 2020 기본계획」 수립"
    assert decode_bytes(text.encode(encoding)) == text


def test_binary_and_empty_input_are_refused():
    with pytest.raises(UnreadableFile, match="empty"):
        decode_bytes(b"  \n")
    with pytest.raises(UnreadableFile, match="binary"):
        decode_bytes(b"\x00\x01\x02PK\x03\x04" * 10)
    assert not looks_like_text("\x01\x02\x03\x04abc")
    assert looks_like_text("정상적인 한국어 문장입니다.")


def test_squash_is_the_gold_matching_rule():
    assert squash("Re-디자인 ABC") == squash("re-디자인abc")


# --------------------------------------------------------------------------- one rule at a time
# Each case is (rule, text from a real notice, what the rule makes of it); a case whose text comes
# back unchanged is what the rule must leave alone.

from ingest import normalize as N  # noqa: E402

RULE_CASES = [
    # koreakr-156762188 writes its middle dots as U+0387
    (N.unicode_nfc, "공공 \u0387 민간", "공공 · 민간"),
    (N.unicode_nfc, "공공 · 민간", "공공 · 민간"),
    (N.fullwidth_question_as_middle_dot, "원？하청 현장소장", "원·하청 현장소장"),  # koreakr-156766280
    (N.fullwidth_question_as_middle_dot, "전기？가스？주택 설비", "전기·가스·주택 설비"),  # koreakr-156767124
    (N.fullwidth_question_as_middle_dot, "중앙정부？지방정부가", "중앙정부·지방정부가"),
    (N.fullwidth_question_as_middle_dot, "최저임금의 ？사업의 종류별 구분？ 여부", "최저임금의 ？사업의 종류별 구분？ 여부"),
    (N.fullwidth_question_as_middle_dot, "건강생활지원센터란？", "건강생활지원센터란？"),
    (N.fullwidth_to_ascii, "문 의： 홍보부", "문 의: 홍보부"),  # koreakr-156766924
    (N.fullwidth_to_ascii, "㈜ ① ㎡", "㈜ ① ㎡"),
    (N.space_after_open_bracket, "6 월 12 일 ( 금 )", "6 월 12 일 (금 )"),
    (N.space_before_closing_punct, "중요하다 , 인도네시아", "중요하다, 인도네시아"),
    (N.space_before_closing_punct, "추진할 ’16년도 전자정부", "추진할 ’16년도 전자정부"),  # BidPro seed page
    (N.space_before_closing_punct, "최저임금의 ?사업의", "최저임금의 ?사업의"),  # koreakr-156766814
    (N.space_before_closing_punct, "‘국민을 즐겁게 하는 전자정부 ’ 구현", "‘국민을 즐겁게 하는 전자정부’ 구현"),
    (N.hangul_digit_name, "부터 정부 24 에서", "부터 정부24 에서"),  # koreakr-156766149
    (N.hangul_digit_name, "국민 2 명", "국민 2 명"),
    (N.space_before_paren, "소방청 (청장 김승룡)", "소방청(청장 김승룡)"),
    (N.space_before_paren, "다 . (붙임 참조)", "다 . (붙임 참조)"),
    (N.particle_after_paren, "(청장 김승룡) 은", "(청장 김승룡)은"),
    (N.particle_after_paren, "(목) 관계기관 대책회의", "(목) 관계기관 대책회의"),
    (N.number_unit, "5월 20 일부터 22 일까지", "5월 20일부터 22일까지"),  # koreakr-156762170
    (N.number_unit, "평균 3.18대 1 의 경쟁률", "평균 3.18대 1의 경쟁률"),
    (N.number_unit, "100 여 개사", "100여 개사"),
    (N.number_unit, "자율방재단, 119 시민수상구조대", "자율방재단, 119 시민수상구조대"),
    (N.number_unit, "「2026 국제소방안전박람회」", "「2026 국제소방안전박람회」"),
    (N.number_unit, "4·16 세월호참사", "4·16 세월호참사"),
    (N.ordinal_prefix, "부모가 아닌 제 3 자의 친권", "부모가 아닌 제3자의 친권"),  # koreakr-156766149
    (N.ordinal_prefix, "킨텍스 제 2전시장", "킨텍스 제2전시장"),
    (N.ordinal_prefix, "경제 5 단체", "경제 5 단체"),
    (N.spaced_middle_dot, "하천 · 계곡", "하천·계곡"),
    (N.spaced_middle_dot, "보험감독 ․ 소비자", "보험감독․소비자"),  # koreakr-156764817, U+2024 kept
    (N.closing_double_quote, '시행하고 있다 " 라며 당부', '시행하고 있다"라며 당부'),
    (N.closing_double_quote, '종전 " 전라남도 " 와 " 광주', '종전 " 전라남도"와 " 광주'),  # koreakr-156766540
    (N.closing_double_quote, '장관은 " 이 사업은', '장관은 " 이 사업은'),
    (N.opening_double_quote, '본부장은 " 최근 무더위가', '본부장은 "최근 무더위가'),
    (N.opening_double_quote, '" 소방안전 빅데이터 기반(플랫폼) 설명회 " 개최…', '"소방안전 빅데이터 기반(플랫폼) 설명회 " 개최…'),
]


@pytest.mark.parametrize("rule, raw, expected", RULE_CASES, ids=[f"{r.__name__}-{i}" for i, (r, _, _) in enumerate(RULE_CASES)])
def test_each_rule_on_real_examples(rule, raw, expected):
    assert rule(raw) == expected


def test_every_rule_is_documented_with_an_example():
    for rule in N.RULES:
        assert rule.__doc__ and len(rule.__doc__.strip()) > 30, rule.__name__


def test_repeated_stretch_is_kept_once_and_counted():
    body = "가나다라마바 " * 3 + " ".join(f"문장{i}은 여기에 있다." for i in range(40))
    text, dropped = N.drop_repeated_stretches(body + " " + body[20:] + " [자료제공]")
    assert text.count("문장39은") == 1 and text.endswith("[자료제공]")
    assert dropped == len(body[20:]) + 1
    short = "같은 말 " * 10
    assert N.drop_repeated_stretches(short + "끝. " + short) == (short + "끝. " + short, 0)


def test_explain_records_each_change_with_context():
    text, changes = N.explain("소방청 (청장 김승룡) 은 원？하청")
    assert text == "소방청(청장 김승룡)은 원·하청"
    assert [c.rule for c in changes] == ["fullwidth_question_as_middle_dot", "space_before_paren", "particle_after_paren"]
    assert changes[0].before.endswith("원[？]하청") and changes[0].after.endswith("원[·]하청")
    assert all(c.chars == 1 for c in changes)
