"""What a question asks, read from its text alone."""

from rag.question import (
    ORDINAL,
    asked_count,
    asked_unit,
    award_asked,
    english_ask,
    expected_value,
    focus_terms,
    is_contact_question,
    is_list_question,
    is_plural_question,
    korean_ask,
    question_language,
    question_parts,
    unit_asked_last,
)


def test_contact_language_and_value_kind():
    assert is_contact_question("담당자 연락처는?")
    assert is_contact_question("Who is in charge of the 노동이사제 course? Whom should I contact?")
    assert not is_contact_question("5대 전략은?")
    # a contact word a verb turns into a description of someone asks for no contact
    assert not is_contact_question("노무 담당자를 둘 여력이 없는 사장님에게는 어떤 지원이 있나요?")
    assert is_contact_question("문의할 행정안전부 담당자는 누구인가요?")
    assert is_contact_question("연락할 담당 부서와 전화번호는?")
    assert question_language("What are the five strategies of e-Government 2020?") == "en"
    assert question_language("전자정부 2020의 5대 전략은?") == "ko"
    assert question_language("Which 쪽방 counseling center did Minister 정은경 visit?") == "en"
    assert expected_value("해커톤 대상 팀의 상금은 얼마인가요?") == "money"
    assert expected_value("How much budget does each village get?") == "money"
    assert expected_value("사고로 다친 사람은 몇 명인가요?") == "people"
    assert expected_value("How many visitors came to the expo?") == "people"
    # a fall in fire deaths is a number, not a sum of money; 몇 곳 is a count of places
    assert expected_value("How much did fire deaths fall?") is None
    assert expected_value("24시간 서비스가 제공되는 곳은 몇 곳인가요?") is None
    assert expected_value("반도체 아카데미를 여는 기업 이름은 무엇인가요?") == "company"
    assert expected_value("Which company built the plant?") == "company"


def test_focus_word_is_the_thing_asked_about():
    assert focus_terms("국제소방안전박람회 2026의 일반 관람객 입장료는 얼마였나요?") == ["입장료"]
    assert focus_terms("광주대표도서관 붕괴사고 현장의 원청 시공사 이름은 무엇인가요?") == ["시공사"]
    # generic words (이름, 대상, 예시) are skipped for the word before them
    focus = focus_terms("중대재해 사각지대 해소 사업의 예시 대상은 누구였나요?")
    assert focus and not {"예시", "대상"} & set(focus)
    assert focus_terms("노인 소득지원 제도의 빈틈을 짚은 발표자는 누구인가요?") == ["발표자"]
    assert focus_terms("전자정부 2020의 5대 전략을 알려줘") == []


def test_two_part_plural_and_list_questions():
    assert question_parts("최대 금액은 얼마이고, 가장 많이 받은 사례는 얼마인가요?") == [
        "최대 금액은 얼마", "가장 많이 받은 사례는 얼마인가요?"]
    assert question_parts("5대 전략은?") == ["5대 전략은?"]
    # English: ", and …", or "and" before a new question word; "and" inside a phrase joins nothing
    assert question_parts("Which carrier proposed it, and which others joined?") == [
        "Which carrier proposed it", "which others joined?"]
    assert question_parts("What is the service called and at which university was it shown?") == [
        "What is the service called", "at which university was it shown?"]
    assert question_parts("Which messages and voice calls does it check?") == [
        "Which messages and voice calls does it check?"]
    # "A와 B는 각각 …": the last 와/과 before 각각 joins the two things asked about, not "보건복지부와 …"
    assert question_parts("보건복지부와 개발원이 16일 연 금연 성과대회와 18일 연 보건의료계획 성과대회에는 각각 "
                          "몇 명이 참석했나요?") == ["보건복지부와 개발원이 16일 연 금연 성과대회",
                                                "18일 연 보건의료계획 성과대회에는 각각 몇 명이 참석했나요?"]
    # commas after nouns join conjuncts too, back to the setting ("…자리에서, "); "사장님들과 만난" is "with"
    assert question_parts("장관이 사장님들과 만난 자리에서, 노동법을 모르는 사장님, 노무 담당자가 없는 사장님, "
                          "보험료가 부담되는 사장님을 위해 각각 어떤 지원을 소개했나요?") == [
        "노동법을 모르는 사장님", "노무 담당자가 없는 사장님", "보험료가 부담되는 사장님을 위해 각각 어떤 지원을 소개했나요?"]
    assert question_parts("6월 17일, 서울, 부산과 대구는 각각 몇 명이 참가했나요?") == [
        "서울", "부산", "대구는 각각 몇 명이 참가했나요?"]
    assert question_parts("장관은 사장님들과 만나 각각 무엇을 소개했나요?") == ["장관은 사장님들과 만나 각각 무엇을 소개했나요?"]
    assert question_parts("보건복지부와 개발원이 연 성과대회에는 몇 명이 참석했나요?") == [
        "보건복지부와 개발원이 연 성과대회에는 몇 명이 참석했나요?"]  # no 각각: one thing asked
    assert is_plural_question("합동점검과 기획감독은 각각 몇 곳을 대상으로 하나요?")
    assert is_plural_question("Which two agencies signed it?")
    # "4가지" items come from one notice; "each village" is not two notices
    assert not is_plural_question("주요 연구 4가지는 무엇인가요?")
    assert not is_plural_question("How much does each village get?")
    assert is_list_question("주요 연구 4가지는 무엇인가요?")
    assert is_list_question("What are the five strategies of e-Government 2020?")
    assert not is_list_question("입장료는 얼마인가요?")
    # items asked for without a count, or a count of people
    for question in ("노동부가 내놓은 대책은 크게 어떤 것들인가요?", "장려상 수상자는 누구누구인가요?",
                     "어떤 발전 방향들이 오갔나요?", "주제 발제를 맡은 전문가 세 명은 누구인가요?",
                     "네 개 권역에서 각각 어느 장소에서 열리나요?", "What three goals does the plan set?",
                     "보건복지부가 내놓은 노인학대 예방 대책 다섯 가지는?", "협약을 맺은 기관 두 곳은?",
                     "기념식은 어떤 순서로 진행되나요?", "In what order was the ceremony's programme arranged?"):
        assert is_list_question(question), question
    assert asked_count("주제 발제를 맡은 전문가 세 명은 누구인가요?") == 3
    assert asked_count("보건복지부가 내놓은 노인학대 예방 대책 다섯 가지는?") == 5
    assert not is_list_question("근로자 4명이 숨진 사고의 원인은?")
    assert not is_list_question("오늘날 지자체들은 옛 청사 건물을 어떤 의미로 받아들이는가?")


def test_award_asked_as_received():
    assert award_asked("해커톤에서 대상을 받은 팀의 상금은?") == "대상"
    assert award_asked("최우수상을 수상한 작품은?") == "최우수상"
    # "지원 대상이 받는" is the target group, not a prize
    assert award_asked("지원 대상이 받는 수당은 얼마인가요?") is None


def test_asked_count_reads_how_many_items_a_list_question_wants():
    assert asked_count("국립소방연구원의 포럼에서 발표된 주요 구조 연구 4가지는 무엇인가요?") == 4
    assert asked_count("전국 정수장 4곳은 어디인가요?") == 4
    assert asked_count("What are the five strategies of e-Government 2020?") == 5
    assert asked_count("Which three countries joined?") == 3
    assert asked_count("세 가지 과제는 무엇인가요?") == 3
    assert asked_count("소방청장은 누구인가요?") is None
    # a year is no count: "the 2026 goals" is not a list of 2,026 items
    assert asked_count("What are the 2026 goals of the plan?") is None
    assert asked_count("Which 2026 programmes did the ministry run?") is None
    assert asked_count("What are the 12 tasks?") == 12


def test_asked_unit_is_the_counter_after_myeot():
    assert asked_unit("공모전에는 모두 몇 점의 작품이 접수됐나요?") == ("점",)
    assert asked_unit("지원 대상은 몇 가구인가요?") == ("가구",)
    # counters that name one unit: the notice may write the other one ("193개소", "39.4%")
    assert "개소" in asked_unit("안내물을 몇 군데에 보냈나요?")
    assert "%" in asked_unit("전체에서 몇 퍼센트를 차지했나요?")
    assert asked_unit("몇몇 기업은 어디인가요?") == ()
    assert asked_unit("예산은 얼마인가요?") == ()


def test_asked_unit_reads_ordinals_general_counters_and_units_written_otherwise():
    assert asked_unit("대상으로 뽑힌 작품은 올해 공모전의 몇 번째 응모작이었는가?") == (ORDINAL,)
    # 개 is the general counter: the noun counted may be the notice's counter ("1단지에서 5단지까지")
    assert "단지" in asked_unit("행복마을 임대주택은 몇 개의 단지로 이루어져 있나?")
    assert asked_unit("공모전에는 모두 몇 점의 작품이 접수됐나요?") == ("점",)
    assert "종류" in asked_unit("청년 일자리 지원금은 몇 가지 종류로 나뉘는가?")
    assert "cm" in asked_unit("묘목이 몇센티 가량으로 자랐을 때 옮겨 심는가?")


def test_what_eolma_asks_is_read_from_the_topic_of_its_clause():
    """"얼마" asks about the topic or subject of its clause, not only the word right before it: a -률/-율
    topic is a rate even with other words between ("지지율은 후보 사퇴로 얼마까지"); anything else a sum."""
    assert "%" in asked_unit("올해 청년 고용률은 지난해보다 얼마나 올랐나요?")
    assert "%" in asked_unit("정당 지지율은 후보 사퇴로 얼마까지 떨어졌나?")
    assert asked_unit("교육 예산은 지역별로 얼마인가요?") == ()
    assert asked_unit("교육 예산은 취업률 제고에 얼마를 쓰나요?") == ()  # the topic is the 예산


def test_a_count_is_what_a_part_asks_only_when_no_other_question_word_follows():
    assert unit_asked_last("접수된 제보는 몇 건인가요?") == ("건",)
    # the count is incidental: the part asks 무엇
    assert unit_asked_last("장관은 몇 가지 규제가 있다고 곧바로 폐지하는 건 무엇에 어긋난다고 말했나?") == ()
    assert unit_asked_last("몇몇 기업은 어디인가요?") == ()


def test_a_rate_asked_with_eolma_is_a_percentage():
    # -률/-율 make rates: the answer is "2.9%", not a sum in won
    assert "%" in asked_unit("2026년 5월 고용동향에서 실업률은 얼마였나요?")
    assert "%" in asked_unit("도입 3년 동안의 전자고지 이용률은 얼마인가?")
    assert "%" in unit_asked_last("참여율이 얼마나 되나요?")
    assert asked_unit("올해 예산은 얼마인가요?") == ()
    assert "곳" in unit_asked_last("생수는 얼마만큼 몇 곳에 공급되나요?")
    assert "대 1" in asked_unit("평균 경쟁률은 얼마인가요?")  # a ratio: "6.1대 1"


def test_a_count_is_plural_only_when_it_counts_what_is_asked():
    assert is_plural_question("협력하기로 한 전국 정수장 4곳은 어디인가요?")
    assert is_plural_question("업무협약을 맺은 기관 두 곳은 어디인가요?")
    # the count describes what the question is about (a relative clause), not the answer
    assert not is_plural_question("근로자 4명이 숨진 광주대표도서관 붕괴사고 현장의 원청 시공사 이름은 무엇인가요?")
    assert not is_plural_question("하나의 신호가 두 개로 들리는 현상을 무엇이라 하나?")
    # verbs Kiwi tags with their conjugation class (받/VV-R, 돕/VV-I)
    assert not is_plural_question("3명이 받은 상의 이름은 무엇인가요?")
    assert not is_plural_question("두 기관이 도운 사업은 무엇인가요?")
    # digits of a larger number, and months, are not a small count
    assert not is_plural_question("선정된 72개 아카데미 가운데 비수도권에 개설되는 곳은?")
    assert not is_plural_question("사고로 다친 17명의 부상자 중 작업자 수는?")
    assert not is_plural_question("3개월이 넘도록 입건된 사람은?")


def test_a_count_that_is_not_the_items_asked_does_not_make_a_list_question():
    for question in ("18일 밤 사고로 도로에 쓰러진 40대 남성은 무엇을 타다가 사고를 당했나요?",  # an age
                     "'2026 대한민국 고졸인재 채용엑스포' 보도자료의 문의처는 무엇인가요?",  # a year
                     "징역1년 6개월을 선고받은 업체 대표에게 적용한 죄명은 무엇입니까?",  # months
                     "세대별로 전기요금을 나누는 계량 방식은 무엇인가?",  # a word, not 세 + 대
                     "2024년 4대강 보 개방에 대한 최종 결정을 어디서 내렸나?",
                     "하나의 신호가 두 개로 들리는 현상을 무엇이라 하는가?",  # a relative clause
                     "정부의 5대 국정전략 중 하나로 지방과 중앙을 잇는 과제는 무엇인가?",  # one of them
                     "옛 시청사 1개동을 무엇으로 조성할 계획인가?"):
        assert not is_list_question(question), question
        assert asked_count(question) is None, question
    assert asked_count("발표회에서 진행된 4개 주제 발표는 무엇인가요?") == 4
    assert asked_count("HR 4대 영역은 무엇인가요?") == 4


def test_a_clause_that_asks_nothing_stays_with_the_part_it_describes():
    assert question_parts("첫 심사만 통과하고, 나머지는 탈락하여, 9위에 그친 공모 사업은?") == [
        "첫 심사만 통과하고, 나머지는 탈락하여, 9위에 그친 공모 사업은?"]
    assert len(question_parts("가정에 기기를 두고, 관제센터와 연결해 안부를 살피는 서비스의 이름은 무엇인가요?")) == 1
    # both clauses ask: two parts, as before
    assert len(question_parts("실업률은 얼마였고, 점검회의에는 몇 개 관서장이 참석했나요?")) == 2
    assert len(question_parts("지원은 무엇이고, 올해부터 찾아가는 횟수는 어떻게 바뀌었나요?")) == 2


def test_a_list_question_may_count_its_items_in_any_word():
    from rag.question import named_count

    assert named_count("장려상을 받은 다섯 작품의 수상자는 누구누구인가요?") == 5
    assert named_count("협약을 맺은 세 기관은 어디어디인가요?") == 3
    assert named_count("주요 연구 4가지는?") == 4
    assert named_count("세종시에서 열린 행사의 프로그램은 어떤 것들인가요?") is None  # 세종: a syllable, not a count
    assert named_count("두 기관이 맺은 협약의 내용은?") is None  # not a list question


def test_an_english_question_that_opens_on_its_occasion_is_searched_by_the_clause_that_asks():
    assert english_ask("At the June 10 event where A, B and C signed an MOU, which organisation hosted the "
                       "forum?") == "which organisation hosted the forum?"
    assert english_ask("In the ministry's 2026 course, in what field did Korea sign its first MOU with "
                       "Italy") == "in what field did Korea sign its first MOU with Italy"
    assert english_ask("According to 소방청's review, how much did fire deaths fall?") == "how much did fire deaths fall?"
    # no opening phrase, or one that is itself the question word
    assert english_ask("What are the five strategies of e-Government 2020?") is None
    assert english_ask("When did it start, and who runs it?") is None
    assert english_ask("In which job areas can young people gain work experience?") is None


def test_a_korean_question_that_opens_on_its_occasion_is_searched_by_the_clause_that_asks():
    assert (korean_ask("장관은 기조연설에서 혁신 전략을 설명하며 어떤 두 사고의 경험을 예로 들었나요?")
            == "어떤 두 사고의 경험을 예로 들었나요?")
    assert (korean_ask("큰비로 신고가 한꺼번에 쏟아질 때, 소방은 접수대를 몇 대까지 늘리나요?")
            == "소방은 접수대를 몇 대까지 늘리나요?")
    assert korean_ask("지원 사업은 확대 중인데, 선정된 곳은 몇 곳인가요?") == "선정된 곳은 몇 곳인가요?"
    # no setting clause, or one that asks itself; "며칠" is a question word, not a connective
    assert korean_ask("소방청장은 누구인가요?") is None
    assert korean_ask("행사는 어디에서 열리며 누가 참석하나요?") is None
    assert korean_ask("박람회는 며칠 동안 열리나요?") is None


def test_an_english_question_for_plural_things_is_a_list_question_when_it_asks_nothing_else():
    """As "어떤 …들" in Korean: "which job areas can …", "what documents will …" ask for several items."""
    assert is_list_question("In which job areas can young people gain work experience?")
    assert is_list_question("What documents will parents be able to apply for online?")
    # one thing asked, a verb in -s, or a plural in one part of several
    assert not is_list_question("Which agency manages the fund?")
    assert not is_list_question("What happens next?")
    assert not is_list_question("Which tests will be re-priced, down to what ratio, and how much is saved?")
