"""Finding the list a question asks for (rag/lists.py), on notice bodies built here, without a model."""

from rag.lists import ListAsk, ListFinder, ScoredNotice, counted_sentences, item_runs, wants_list


def _body(*sentences: str) -> tuple[str, list[tuple[int, int]]]:
    """A body of ``sentences`` joined by spaces, and each sentence's span in it."""
    body, spans = "", []
    for sentence in sentences:
        if body:
            body += " "
        spans.append((len(body), len(body) + len(sentence)))
        body += sentence
    return body, spans


SEMINAR = _body(
    "□ 국립소방연구원은 21일 대구에서 안전사고 예방 전략 발표회를 개최한다고 밝혔다.",
    "○ 이날 행사에는 안전업무 담당자 100여 명이 참석한다.",
    "○ 참석자들은 실제 사고 사례를 공유한다.",
    "□ 발표회는 총 4개의 주제 발표로 진행된다.",
    "○ 첫 번째 발표에서는 권지운 연구관이 「예방의 관점」을 주제로 발표한다.",
    "○ 이어 윤종찬 소방위는 「밀폐공간 사고 대책」 발표를 통해 안전관리 방안을 소개한다.",
    "○ 고종환 연구사는 「화재 붕괴 실증 사례」 발표에서 붕괴 위험성을 공유할 예정이다.",
    "○ 마지막으로 김종출 연구원은 「사고 자료 포털 활용」 발표를 통해 분석 사례를 소개한다.",
    "□ 연구원장은 사고 경험을 예방 전략으로 연결하는 노력이 중요하다고 말했다.",
)


def test_item_runs_follow_the_outline_a_section_mark_ends_a_run_of_points():
    body, spans = SEMINAR
    runs = item_runs(body, spans)
    lengths = [len(run) for run in runs]
    # □ marks stand alone between ○ runs: (□) (○ ○) (□) (○ ○ ○ ○) (□)
    assert lengths == [1, 2, 1, 4, 1], lengths
    four = runs[3]
    assert [body[s:e].split()[1] for (s, e), _ in four] == ["첫", "이어", "고종환", "마지막으로"]
    assert all(sentence == item for item, sentence in four)  # one item a sentence here


def test_the_list_of_the_asked_count_wins_and_items_are_quoted_without_markers():
    body, spans = SEMINAR
    best = spans[3]  # "발표회는 총 4개의 주제 발표로 진행된다."
    scores = {spans[3]: 1.0, spans[1]: 0.9, spans[2]: 0.9}
    finder = ListFinder(list_relative=0.8, inline_list_bonus=0.2)
    quotes = finder.run(ScoredNotice(body, spans, best, 1.0, scores, covered=[spans[3]]), ListAsk(count=4))
    texts = [body[q.start:q.end] for q in quotes]
    assert len(texts) == 4 and texts[0].startswith("첫 번째 발표에서는"), texts
    assert not any(t.startswith(("○", "□")) for t in texts), texts
    # without a count the two ○ points after the lead score higher than the four talks, and win
    unasked = finder.run(ScoredNotice(body, spans, best, 1.0, {spans[1]: 1.0, spans[4]: 0.1}, covered=[]),
                         ListAsk())
    assert [body[q.start:q.end] for q in unasked][0].startswith("이날 행사에는"), unasked


def test_a_list_that_scores_far_below_the_best_sentence_is_not_quoted_without_a_count():
    body, spans = SEMINAR
    finder = ListFinder(list_relative=0.8, inline_list_bonus=0.2)
    def rated(list_score: float) -> ScoredNotice:
        return ScoredNotice(body, spans, spans[8], 1.0, {spans[8]: 1.0, spans[4]: list_score}, covered=[])

    assert finder.run(rated(0.3), ListAsk()) == []
    # the same list rated near the best sentence is quoted
    assert len(finder.run(rated(0.85), ListAsk())) == 4


def test_an_inline_list_is_quoted_as_its_whole_sentence():
    body, spans = _body(
        "행정조사반은 현장조사에 착수한다.",
        "조사 대상은 ▲금품 유인 행위 ▲고가 비급여 진료 ▲허위 광고이다.",
        "복지부는 수사를 의뢰할 계획이다.",
    )
    finder = ListFinder(list_relative=0.8, inline_list_bonus=0.2)
    quotes = finder.run(ScoredNotice(body, spans, spans[0], 1.0, {spans[0]: 1.0, spans[1]: 0.95}, covered=[spans[1]]),
                        ListAsk(count=3))
    assert len(quotes) == 1 and (quotes[0].start, quotes[0].end) == spans[1] and quotes[0].sentence == spans[1]


def test_items_written_one_a_sentence_follow_the_sentence_that_counts_them():
    body, spans = _body(
        "올해 안전문화 대상은 총 12개 작품이 응모했다.",
        "장려상은 다음 세 곳이다.",
        "울산공장은 작업장 점검을 매일 했다.",
        "부산지사는 안전교육을 늘렸다.",
        "대구센터는 보호구를 새로 갖췄다.",
        "시상식은 다음 달에 열린다.",
    )
    quotes = counted_sentences(body, spans, covered=[spans[0], spans[1]], count=3)
    assert [body[q.start:q.end] for q in quotes] == [body[s:e] for s, e in spans[2:5]]
    # a sentence that names them itself, with commas, is answer enough: nothing is added
    body, spans = _body("장려상은 울산공장, 부산지사, 대구센터 세 곳이다.", "시상식은 다음 달에 열린다.")
    assert counted_sentences(body, spans, covered=[spans[0]], count=3) == []


def test_a_question_wants_a_list_when_it_counts_or_names_an_enumeration():
    assert wants_list("전자정부 2020의 5대 전략은?")
    assert wants_list("발표회의 네 가지 과제는 무엇인가요?")
    assert not wants_list("발표회는 언제 열리나요?")


def _item_heads(body: str, spans: list[tuple[int, int]]) -> list[list[str]]:
    return [[body[s:e].split()[0] for (s, e), _ in run] for run in item_runs(body, spans)]


def test_last_closes_a_run_of_ordinals_of_another_form():
    # "첫째 … 넷째, 마지막으로, …": five directions, the last not written "다섯째"
    body, spans = _body("정부가 제시한 추진 방향은 다음과 같다.", "첫째, 지역 우대 수가 원칙을 확립한다.",
                        "둘째, 중증 치료 수가를 상향한다.", "중증 수술 보상을 강화한다.", "셋째, 소아의료체계를 강화한다.",
                        "넷째, 진찰료 수준을 인상한다.", "마지막으로, 재활치료 영역에도 보상을 강화한다.",
                        "검체검사 수가도 조정한다.")
    assert _item_heads(body, spans) == [["첫째,", "둘째,", "셋째,", "넷째,", "마지막으로,"]]


def test_sequence_words_make_a_list_only_when_the_last_one_closes_it():
    talks = _body("포럼은 전문가 발제 이후 종합토론 순으로 진행되었다.", "먼저, 연구원 갑 연구위원은 현황을 진단하였다.",
                  "노인빈곤율이 가장 높은 수준이라고 분석하였다.", "다음으로 연구원 을 실장은 개편방향을 발제하였다.",
                  "마지막으로 연구원 병 선임연구위원은 사각지대 개선 필요성을 발표하였다.", "차관은 의미있는 자리라고 전했다.")
    assert _item_heads(*talks) == [["먼저,", "다음으로", "마지막으로"]]
    # "먼저" alone opens many a paragraph that lists nothing
    prose = _body("먼저, 정부는 예산을 조기 집행한다.", "다음으로 지자체와 협의한다.", "이를 통해 효과를 높인다.")
    assert _item_heads(*prose) == []


def test_a_sequence_word_inside_a_numbered_item_is_its_detail():
    body, spans = _body("첫 번째로, 현장 대응을 강화한다.", "먼저 상황실을 확대한다.", "다음으로 인력을 늘린다.",
                        "두 번째로, 예방 교육을 늘린다.", "마지막으로, 제도를 정비한다.")
    assert _item_heads(body, spans) == [["첫", "두", "마지막으로,"]]


def test_a_bullet_run_before_a_last_item_of_no_ordinal_run_is_kept():
    # "마지막으로" after ○ points closes no run of its own kind; the ○ run stays a run
    body, spans = _body("○ 참석자들은 사고 사례를 공유한다.", "○ 연구원들은 대책을 발표한다.",
                        "마지막으로 원장이 폐회사를 한다.", "행사는 오후 5시에 끝난다.")
    assert _item_heads(body, spans) == [["○", "○"]]
