import pytest

from rag.answer import REFUSAL_TEXT, ExtractiveAnswerer, is_contact_question, question_language
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


def test_answers_stay_short(ask):
    answer = ask("소방청이 가뭄 장기화에 대비해 수자원공사와 협력하기로 한 정수장은?")
    assert not answer.refused
    assert len(answer.answer) <= 700


def test_question_classifiers():
    assert is_contact_question("담당자 연락처는?")
    assert is_contact_question("Who is in charge of the 노동이사제 course? Whom should I contact?")
    assert not is_contact_question("5대 전략은?")
    assert question_language("What are the five strategies of e-Government 2020?") == "en"
    assert question_language("전자정부 2020의 5대 전략은?") == "ko"
    assert question_language("Which 쪽방 counseling center did Minister 정은경 visit?") == "en"


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="min_coverage"):
        ExtractiveAnswerer(min_coverage=3)
