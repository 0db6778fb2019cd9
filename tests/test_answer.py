import pytest

from rag.answer import REFUSAL_TEXT, ExtractiveAnswerer
from rag.retrieve import Retriever
from tests.conftest import FIVE_STRATEGIES, SEED_ID, HashEmbedder


@pytest.fixture(scope="module")
def ask(fake_index):
    retriever = Retriever(fake_index, None, mode="bm25")
    answerer = ExtractiveAnswerer(embedder=HashEmbedder(), idf=fake_index.idf)

    def run(question: str, k: int = 8):
        return answerer.run(question, retriever.run(question, k=k), fake_index)

    return run


def test_list_question_gets_every_item_quoted_and_cited(ask, fake_index):
    answer = ask("전자정부 2020의 5대 전략은?")
    assert not answer.refused
    for strategy in FIVE_STRATEGIES:
        assert strategy in answer.answer
    assert answer.citations[0].doc_id == SEED_ID
    assert "[1]" in answer.answer
    # every quoted sentence is verbatim from the notice, at the offsets the citation gives
    body = fake_index.notices[SEED_ID].body
    for start, end in answer.citations[0].spans:
        assert body[start:end] in answer.answer


def test_numbers_are_quoted_exactly(ask):
    answer = ask("인도네시아 전체 지자체 가운데 24시간 서비스가 제공되는 곳은 몇 곳인가요?")
    assert not answer.refused
    assert "142개" in answer.answer and "514개" in answer.answer
    assert answer.citations[0].doc_id == "koreakr-156761701"


def test_contact_question_is_answered_from_the_contact_block(ask):
    answer = ask("'국민을 즐겁게 하는 전자정부' 2020 기본계획 보도자료 담당자 연락처는?")
    assert not answer.refused
    assert "김성일" in answer.answer and "02-2100-3908" in answer.answer and "전자정부정책과" in answer.answer
    assert answer.citations[0].doc_id == SEED_ID
    assert "02-2100-3908" in answer.citations[0].quote


def test_unsupported_question_is_refused_with_related_notices(ask):
    answer = ask("국방부의 KF-21 전투기 양산 계약 금액은 얼마인가요?")
    assert answer.refused
    assert answer.answer == REFUSAL_TEXT
    assert answer.citations == []


def test_question_for_a_sum_the_notice_never_states_is_refused(ask):
    # the 햇빛소득마을 notice matches every name in the question but gives no amount in won
    answer = ask("How much funding will each 햇빛소득마을 village get from 행정안전부?")
    assert answer.refused
    answer = ask("햇빛소득마을 한 곳당 지원 예산은 얼마인가요?")
    assert answer.refused


def test_question_for_a_sum_the_notice_states_is_answered(ask):
    answer = ask("제6회 소방 안전 빅데이터 활용 및 아이디어 경진대회의 총상금은 얼마인가요?")
    assert not answer.refused
    assert "2,070 만원" in answer.answer
    assert answer.citations[0].doc_id == "koreakr-156765473"


def test_prize_of_one_award_needs_that_award_stated_with_a_sum(ask):
    # the hackathon notice gives only the total prize money, not the grand prize's share
    assert ask("AI 챔피언 해커톤 대상 수상 팀은 상금을 얼마 받나요?").refused
    # the big-data contest notice states "대상(행정안전부장관상, 300 만원)"
    answer = ask("제6회 소방 안전 빅데이터 경진대회에서 대상을 받은 팀의 상금은 얼마인가요?")
    assert not answer.refused
    assert "300 만원" in answer.answer


def test_company_name_question_needs_a_notice_that_names_a_company(ask):
    # the K-뉴딜 아카데미 notice counts the selected companies (53개 기업) but names none
    assert ask("K-뉴딜 아카데미에서 금융 분야 아카데미를 운영하는 기업 이름은 무엇인가요?").refused
    answer = ask("고용노동부가 산업안전·노동 통합 기획감독에 착수한 기업 이름은 무엇인가요?")
    assert not answer.refused
    assert "㈜아워홈" in answer.answer


def test_english_question_naming_korean_things_the_notices_never_mention_is_refused(ask):
    assert ask("When will the 누리호 rocket launch from 나로우주센터?").refused
    answer = ask("What did 우주항공청 say about the 달착륙선 programme?")
    assert answer.refused
    assert answer.note == ""  # nothing was quoted, so no "quoted from the Korean source" note


def test_paraphrased_asker_word_is_not_taken_for_a_missing_detail(ask):
    # the notice says who "발표하였다", the question asks for the "발표자"
    answer = ask("기초연금 제도개선 전문가 간담회에서 부부 감액 문제를 지적한 발표자는 누구인가요?")
    assert not answer.refused
    assert "김태완" in answer.answer


def test_list_question_quotes_the_sentence_that_lists_the_items(ask):
    answer = ask("레스큐 119 포럼에서 발표된 주요 구조 연구 4가지는 무엇인가요?")
    assert not answer.refused
    for item in ("무호흡잠수의 수난 구조", "수중 실종자 수색", "비화재 밀폐공간", "실시간 시야 개선"):
        assert item in answer.answer


def test_headline_quote_starts_after_the_title_the_citation_already_shows(ask, fake_index):
    answer = ask("소방청과 베트남 공안부가 맺은 업무 협약은 어떤 분야의 협력인가요?")
    assert not answer.refused
    notice = fake_index.notices[answer.citations[0].doc_id]
    assert notice.body.startswith(notice.title)
    assert notice.title not in answer.answer
    assert "소방·구조 및 긴급대응 분야 협력 강화" in answer.answer


def test_answers_stay_short(ask):
    answer = ask("소방청이 가뭄 장기화에 대비해 수자원공사와 협력하기로 한 정수장은?")
    assert not answer.refused
    assert len(answer.answer) <= 700


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="min_coverage"):
        ExtractiveAnswerer(min_coverage=3)
    with pytest.raises(ValueError, match="compound_credit"):
        ExtractiveAnswerer(compound_credit=1.5)
    with pytest.raises(ValueError, match="long_quote_penalty"):
        ExtractiveAnswerer(long_quote_penalty=-0.1)
