"""The question-reading refusal rules (rag/refusal_rules.py) on notices the tests write: no model, no
index build (a small stand-in gives the notices and their sentence offsets)."""

from __future__ import annotations

import re

from ingest.models import Notice
from rag.refusal_rules import QuestionRules, count_missing, focus_missing
from rag.types import Retrieval

RULES = QuestionRules(max_notices=3, min_notices_for_idf=30, min_lexical_coverage=0.6)

CONTEST = Notice("contest", "제35회 장애인고용 콘텐츠 공모전 시상식 개최",
                 "한국장애인고용공단은 6월 12일 공모전 시상식을 개최했다. 올해 공모전에는 총 470점의 작품이 "
                 "접수됐다. 대상을 받은 팀에게는 상금 300만 원을 수여했다. 입상작은 홍보에 활용한다.")
FAIR = Notice("fair", "국제소방안전박람회 2026 개최",
              "소방청은 5월 20일부터 사흘간 대구 엑스코에서 박람회를 개최한다. 박람회에는 300여 개 기업이 "
              "참가한다. 발표는 소방산업 전문가들이 맡는다.")


class _Index:
    """What the rules read of an index: its notices and each notice's sentence offsets."""

    def __init__(self, *notices: Notice) -> None:
        self.notices = {n.doc_id: n for n in notices}

    def sentence_spans(self, doc_id: str) -> list[tuple[int, int]]:
        return [m.span() for m in re.finditer(r"[^.]+\.\s?", self.notices[doc_id].body)]


def _retrieval(*doc_ids: str, coverage: float | None = 1.0) -> Retrieval:
    return Retrieval(query="", hits=[], doc_ids=list(doc_ids), lexical_coverage=coverage)


def test_a_count_in_a_unit_no_notice_states_is_missing_and_the_second_notice_counts():
    asked = "장애인고용 콘텐츠 공모전에 접수된 작품은 몇 점인가요?"
    assert not count_missing(asked, [CONTEST])
    assert count_missing(asked, [FAIR])
    # an answer may quote the second notice, so a figure stated there is enough
    assert not count_missing(asked, [FAIR, CONTEST])
    # a unit neither notice writes a figure in
    assert count_missing("박람회에 참가한 기업은 몇 가구인가요?", [FAIR, CONTEST])


def test_the_asked_about_word_or_its_stem_must_be_in_a_notice_it_would_be_quoted_from():
    assert focus_missing("국제소방안전박람회 2026의 일반 관람객 입장료는 얼마였나요?", [FAIR])
    # "발표자" asked, "발표" written: the agent suffix is the question's wording, not a missing fact
    assert not focus_missing("국제소방안전박람회 2026의 발표자는 누구인가요?", [FAIR])


def test_a_prize_must_be_stated_with_the_award_the_question_names():
    index = _Index(CONTEST, FAIR)
    assert not RULES.value_missing("공모전에서 대상을 받은 팀의 상금은 얼마인가요?", _retrieval("contest"), index)
    # the notice states a sum, but not with 최우수상
    assert RULES.value_missing("공모전에서 최우수상을 받은 팀의 상금은 얼마인가요?", _retrieval("contest"), index)
    # a sum asked of a notice that states none
    assert RULES.value_missing("박람회 입장료는 얼마인가요?", _retrieval("fair"), index)
    assert RULES.run("박람회 입장료는 얼마인가요?", _retrieval("fair"), index) == {
        "value_missing": True, "unknown_words": False}


def test_unknown_words_never_fire_over_an_index_too_small_for_idf_shares():
    few = _Index(CONTEST, FAIR)
    assert not RULES.unknown_words("국방부의 KF-21 양산 계획은?", _retrieval("contest", coverage=0.1), few)
    many = _Index(*[Notice(f"n{i}", f"공지 {i}", "본문입니다.") for i in range(30)])
    assert RULES.unknown_words("국방부의 KF-21 양산 계획은?", _retrieval("n0", coverage=0.1), many)
    assert not RULES.unknown_words("국방부의 KF-21 양산 계획은?", _retrieval("n0", coverage=0.9), many)
