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
    ('중요하다 " 며 " 한국의 경험 " 이라고 말했다 .', '중요하다"며 "한국의 경험"이라고 말했다.'),
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
