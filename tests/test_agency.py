"""The issuing agency of a release: derived from the publisher, checked on every demo notice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.metadata import derive_agency
from ingest.models import Notice
from ingest.readers import iter_files, read_file
from rag.settings import DEMO_CORPUS

FIXTURE = Path(__file__).parent / "data" / "agencies.json"


@pytest.mark.parametrize("body, agency", [
    # the opening formula, with a numbered vice-minister or a Latin short name in the parentheses
    ("보건복지부(제2차관 이형훈), 한국생명존중희망재단(이사장 정윤순)은 기부금 전달식을 열었다.", "보건복지부"),
    ("한국기술교육대학교(KOREATECH·총장 유길상)는 4일 연구작품 전시회를 연다. 문 의: 교무팀 신준재(041-560-2524)",
     "한국기술교육대학교"),
    # the minister who acts in the lead, not the place visited or the partner met
    ("윤호중 행정안전부 장관은 6월 9일 이탈리아와 바티칸에서 교황청 관계자를 만났다. 교황청은 협력을 약속했다.",
     "행정안전부"),
    ("정은경 보건복지부 장관은 18일 광주보훈요양원을 방문했다. 광주보훈요양원은 국가유공자를 돌본다.", "보건복지부"),
    ("진영주 보건복지부 사회복지정책실장은 괴산군청을 방문하여 지방정부의 대응을 점검했다.", "보건복지부"),
    ("이형일 재정경제부 1차관과 권창준 고용노동부 차관은 17일 회의를 열었다.", "고용노동부"),
    # a position named after a programme is not an agency ("인공지능정부실장")
    ("행정안전부는 16일 해커톤 교육을 실시했다고 밝혔다. 황규철 인공지능정부실장은 격려했다.", "행정안전부"),
    # a short name alone stands for the ministry
    ("복지부·심평원·건보공단 협조체계 가동. 행정조사반은 회의를 열었다. 복지부는 점검을 계속한다.", "보건복지부"),
])
def test_the_publisher_comes_before_other_mentions(body, agency):
    assert derive_agency(body) == agency


def _demo_notices() -> list[Notice]:
    notices = []
    for path, file_id in iter_files([DEMO_CORPUS]):
        notices += [n for n in read_file(path, file_id) if isinstance(n, Notice)]
    return notices


def test_every_demo_notice_gets_the_agency_checked_by_reading():
    expected = json.loads(FIXTURE.read_text(encoding="utf-8"))["agencies"]
    notices = _demo_notices()
    assert len(notices) == len(expected) == 154
    got = {n.doc_id: n.agency for n in notices}
    wrong = {d: (got.get(d), a) for d, a in expected.items() if got.get(d) != a}
    assert not wrong, f"derived vs checked: {wrong}"
    # the labels the issue found wrong are gone
    assert not {"교황청", "광주보훈요양원", "컴퓨터공학부", "지방정부", "디지털정부", "중앙정부·지방정부"} & set(got.values())
