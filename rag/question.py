"""What a question asks: its language, its parts, the word it is about, the kind of value it wants.

Rules over the question text alone (Kiwi for the focus word); the answerer checks
them against the notices. Kept apart so the answer composer reads as selection
and the question rules can be read, tested and extended in one place.
"""

from __future__ import annotations

import re

_CONTACT = re.compile(
    r"담당자|담당 ?부서|연락처|전화번호|문의처|어디에 문의|누구에게 (?:문의|연락)|연락해야|"
    r"\bcontact\b|\bin charge\b|phone number|whom should i|who should i (?:call|ask)",
    re.IGNORECASE,
)
# "4가지는 무엇", "두 곳은 어디", "5대 전략은": a count of the items asked, then the question word. Not the
# digits of a larger number or a date ("2026 대한민국 …", "징역 1년 6개월"), a word that starts like a count
# ("세대별", "4대강"), or months.
_LIST = re.compile(r"(?P<count>(?<![\d.,])(?P<digits>\d{1,2})\s?(?:가지|개(?!월)|대|곳|명)"
                   r"|(?<![가-힣])(?P<native>두|세|네|다섯|여섯)(?:\s?(?:가지|개|곳|명)|\s대))"
                   r"(?=[은는이가을를의와과로도]|[^가-힣]|$)(?:[^?]*(?:무엇|어디|무슨|누구|어느)"
                   # or the count is what the question ends on: "대책 다섯 가지는?", "협약 기관 두 곳은?"
                   r"|(?:\s?[가-힣]{1,8})?[은는]\s*\??\s*$)"
                   # items asked without a count: "어떤 것들", "누구누구", "어떤 도구들을", a sequence ("어떤 순서로")
                   r"|무엇무엇|누구누구|어디어디|어떤 순서|무슨 순서|순서는 어떻게|in what order|"
                   r"어떤 (?:[가-힣]*[^로를을에의은는이가\s] )?[가-힣]+들(?=[은는이가을를과와도에로]|인가|\s|$)"
                   r"|what (?:are |were )?(?:the )?(?:\w+ )?(?:two|three|four|five|six|\d{1,2})\b"
                   r"|which (?:\w+ )?(?:two|three|four|five|six|\d{1,2})\b|what (?:kinds|types) of"
                   # a plural thing asked without a count, as "어떤 …들" above: "which job areas", "what documents"
                   # (the plural noun before an auxiliary: "which agency manages …" asks one thing)
                   r"|(?P<plural>\b(?:which|what) (?:[a-z-]+ ){0,2}?[a-z-]{2,}[^\Wsiu]s (?:do|did|are|were|will|would|"
                   r"can|could|should|must|may|might|have|had)\b)",
                   re.IGNORECASE)
# Question words carry no evidence: a notice never contains "얼마" or "무엇".
QUESTION_WORDS = frozenset({"몇", "얼마", "무엇", "누구", "어디", "언제", "어떤", "어느", "어떻", "무슨", "며칠", "왜",
                            "이름", "알리", "궁금", "what", "which", "who", "when", "where", "how", "the", "of", "is", "are"})
# Words too generic to be the focus of a question: answer types (금액, 인원), reporting verbs (언급, 발표).
_GENERIC_FOCUS = frozenset({"이름", "것", "곳", "수", "명", "사람", "내용", "결과", "기관", "개", "점", "건", "때", "방법",
                            "무엇", "누구", "어디", "언제", "얼마", "몇", "어떤", "어느", "각각", "모두", "총", "전체",
                            "금액", "액수", "규모", "인원", "비율", "수치", "날짜", "기간", "장소", "단체", "기업", "회사",
                            "언급", "소개", "발표", "포함", "선정", "관련", "진행", "계획", "예정", "사업", "대상", "예시"})
# Where an English clause that asks begins: its question word, perhaps after a preposition ("at which …")
_ENGLISH_ASK_OPENS = r"(?:(?:at|in|on|for|from|to|by|with|of)\s+)?(?:which|what|how|who|whom|whose|when|where|why)\b"
# English: ", and …", or "and" before a new question word ("What is it called and at which university …")
_PART_BREAK = re.compile(r"(?<=[가-힣])(?:이고|이며|하고|였고|이었고|했고|되고|고|며),\s+|,\s+and\s+|;\s+"
                         rf"|\s+and\s+(?={_ENGLISH_ASK_OPENS})")
_PLURAL = re.compile(r"각각|모두|\bboth\b|\beach of\b|\brespectively\b|\btwo\b", re.IGNORECASE)
# "두 곳", "4개": a small count of the things asked for. Not a digit of a larger number ("72개", "23명"), a
# syllable of a word ("세월호"), or months ("3개월").
_PLURAL_COUNT = re.compile(r"(?:(?<![가-힣\d])[두세네]|(?<![\d.,])[234])\s?(?:곳|명|개(?!월)|기관|건)")
_MONEY_WORDS = (r"금액|예산|상금|비용|요금|입장료|참가비|가격|지원금|보조금|포상금|장려금|급여|임금|시급|시간급|수당|사업비|"
                r"보수|연봉|투자액|과태료|벌금")
_MONEY_QUESTION = re.compile(
    rf"(?:{_MONEY_WORDS})[은는이가을를]?\s*(?:각각\s*|모두\s*|총\s*)?얼마|얼마의\s*(?:{_MONEY_WORDS})|"
    r"how much (?:\w+ ){0,3}?(?:budget|funding|fund|money|prize|fee|cost|price|subsidy|grant|salary|wage|pay|bonus|reward)"
    r"|(?:budget|funding|prize money|fee|cost|price|subsidy|grant|salary|wage)s? (?:\w+ ){0,6}?how much", re.IGNORECASE)
_COMPANY_QUESTION = re.compile(
    r"(?:기업|업체|회사|시공사|제조사|운영사)\s*(?:의\s*)?(?:이름|명)[은는이가을를]?\s*(?:무엇|뭐)|(?:어느|어떤|무슨)\s*(?:기업|업체|회사|시공사|제조사)"
    r"|(?:기업|업체|회사)명(?!단)|which (?:company|companies|firm|firms|contractor)\b|name of the (?:company|firm|contractor)", re.IGNORECASE)
_PEOPLE_QUESTION = re.compile(
    r"몇\s*명|how many (?:\w+ )?(?:people|persons|participants|visitors|attendees|workers|employees|students|"
    r"officials|deaths|victims|casualties|members|staff)", re.IGNORECASE)
# An award the question names as received: "대상을 받은 팀", "최우수상을 수상한 작품", "1위를 차지한"
_AWARD_ASKED = re.compile(r"(대상|최우수상|우수상|장려상|금상|은상|동상|특별상|\d+위|\d+등)[을를]?\s*(?:받|수상|차지)")
_WH = re.compile(r"(얼마|몇|누구|무엇|어디|언제|어떤|어느|며칠)")
# a clause asks something when it holds a question word
_ASKS = re.compile(r"얼마|몇|누구|무엇|무슨|어디|언제|어떤|어떻|어느|며칠|왜|\b(?:what|which|who|whom|whose|when|where|how|why)\b",
                   re.IGNORECASE)
HANGUL = re.compile(r"[가-힣]")  # a syllable; the modules that tell Korean from other text share it
_LATIN = re.compile(r"[A-Za-z]")


def is_contact_question(question: str) -> bool:
    """"담당자 연락처는?", "Who is in charge …?": answered from the notice's contact block. A contact word
    that a verb turns into a description of someone else ("노무 담당자를 둘 여력이 없는 사장님") asks for
    no contact: a list question of eval/gold/heldout_lists.jsonl was answered with the contact line."""
    return any(not _in_relative_clause(question, m.end()) for m in _CONTACT.finditer(question))


def focus_terms(question: str) -> list[str]:
    """The content word a question asks about: the nearest one before its question word, or after 어떤/어느."""
    from ingest.korean import tokenize

    tokens = tokenize(question)
    for i, tok in enumerate(tokens):
        if _WH.fullmatch(tok.form) or tok.form in ("몇", "얼마"):
            if tok.form in ("어떤", "어느") and i + 1 < len(tokens) and tokens[i + 1].tag.startswith("NN"):
                following = tokens[i + 1].form
                if following not in _GENERIC_FOCUS:
                    return [following]
            # the nearest content word before the question word: "입장료는 얼마", "다친 사람은 몇 명"
            for prev in reversed(tokens[max(0, i - 8): i]):
                if prev.tag in ("NNG", "NNP", "XR") and prev.form not in _GENERIC_FOCUS and len(prev.form) > 1:
                    return [prev.form]
            return []
    return []


def expected_value(question: str) -> str | None:
    """The kind of value a question asks for, when a notice must state one to answer it.

    "money" for 얼마/how much about a sum (상금, 예산, budget, fee …), "people" for 몇 명/how many
    people, "company" for a company's name (기업 이름, 어느 업체, which company); None for
    everything else (most notices carry dates and counts of some kind anyway).
    """
    if _MONEY_QUESTION.search(question):
        return "money"
    if _PEOPLE_QUESTION.search(question):
        return "people"
    if _COMPANY_QUESTION.search(question):
        return "company"
    return None


# Counters that name one unit, as questions and notices alternate them ("몇 군데" asked, "193개소" written;
# "몇 퍼센트", "39.4%"; "몇 가지" asked, "4종류" written; "몇 센티", "35cm"; "몇 도", "영하 40'C"). Korean grammar
# and units, not any corpus's words.
_PERCENT = ("%", "퍼센트", "프로")
_SAME_UNIT = (("곳", "군데", "개소", "개"), _PERCENT, ("회", "번", "차례"), ("세", "살"), ("년", "년도"),
              ("가지", "종류", "종"), ("센티", "센티미터", "cm"), ("미터", "m"), ("킬로미터", "킬로", "km"),
              ("킬로그램", "kg"), ("도", "℃", "°", "'C"))
# a rate is written as a percentage or as a ratio ("경쟁률 6.1대 1")
_RATE = (*_PERCENT, "대 1", "대1")
_HOW_MUCH = re.compile(r"몇|얼마")
ORDINAL = "째"  # "몇 번째": asked_unit's unit for an ordinal, which a notice writes "3번째" or "여덟째"


def asked_unit(question: str) -> tuple[str, ...]:
    """The unit a "몇 …" question counts in, read by Kiwi as the counter after 몇 ("총 몇 점의 작품" → 점,
    "몇 가구" → 가구), with the counters that name the same unit; empty when the question has none.
    "몇 개의 단지" also counts in the noun counted ("7단지"); "몇 번째" asks an ordinal
    (``ORDINAL``); "실업률은 얼마" asks a rate (``_RATE``)."""
    from ingest.korean import tokenize

    tokens = tokenize(question)
    for i, (tok, following) in enumerate(zip(tokens, tokens[1:])):
        if tok.form in ("얼마", "얼마나") and _asked_noun(tokens[:i]).endswith(("률", "율")):
            return _RATE
        if tok.form == "몇" and (following.tag.startswith("NN") or following.tag == "SW"):
            after = tokens[i + 2: i + 4]
            if following.form == "번" and after and after[0].form == "째":
                return (ORDINAL,)
            unit = following.form
            units = next((same for same in _SAME_UNIT if unit in same), (unit,))
            # 개 is the general counter: "몇 개의 단지" may be written with the noun as its own counter ("7단지")
            if (unit == "개" and len(after) == 2 and after[0].form == "의" and after[1].tag.startswith("NN")
                    and len(after[1].form) > 1):
                units += (after[1].form,)
            return units
    return ()


def _asked_noun(before: list) -> str:
    """The word 얼마 asks about, from the tokens before it: the topic or subject nearest before it in its
    clause ("지지율은 김경준의 귀국으로 얼마까지" asks the 지지율, not the 귀국), else the word right before
    it, particles skipped ("실업률 얼마"). Korean word formation says when the answer is a rate: -률/-율
    (a percentage or a ratio). Over the 2,220 gold questions the topic reading changes one question's
    kind, korquad_tune's "지지율은 … 귀국으로 얼마까지" (answer "34.7%"), which read as a sum before.
    (-수, "층수는 얼마", is not read as a count: too many -수 words are things, "생수", "보수".)"""
    start = next((i + 1 for i in range(len(before) - 1, -1, -1) if before[i].tag in ("EC", "SF", "SP")), 0)
    clause = before[start:]
    for j in range(len(clause) - 1, 0, -1):
        if (clause[j].tag in ("JX", "JKS") and clause[j].form in ("은", "는", "이", "가")
                and not clause[j - 1].tag.startswith(("J", "E"))):
            return clause[j - 1].form
    return next((tok.form for tok in reversed(clause[-3:]) if not tok.tag.startswith("J")), "")


def unit_asked_last(part: str) -> tuple[str, ...]:
    """``asked_unit`` of one part of a question, when the count is what that part asks: no other question
    word follows its last 몇 or 얼마 ("몇 가지 규제가 있다고 … 무엇에 어긋난다고" asks 무엇, not a count)."""
    asked = list(_HOW_MUCH.finditer(part))
    if not asked or _WH.search(part, asked[-1].end()) or "몇몇" in part:
        return ()
    return asked_unit(part)


def question_parts(question: str) -> list[str]:
    """A question split where it asks two things: "…얼마이고, …몇 명인가요?" → two parts; "A와 B는 각각
    …?" → A, and B with what is asked (the last 와/과 before 각각 joins the two things asked about)."""
    parts, start = [], 0
    for brk in _PART_BREAK.finditer(question):
        # a clause that asks nothing describes what the next one asks about ("첫 심사만 통과하고, 나머지는
        # 탈락하여 9위에 그친 공모 사업은?"): it stays with it
        if _ASKS.search(question, start, brk.start()):
            parts.append(question[start:brk.start()].strip())
            start = brk.end()
    parts = [p for p in (*parts, question[start:].strip()) if p]
    if len(parts) == 1 and (each := question.find("각각")) > 0:
        parts = _each_conjuncts(question, each) or parts
    return parts or [question]


# What may end a conjunct that a comma joins to the next (Kiwi tags): a noun or name, a noun suffix, a word in
# Latin or Hanja letters, a closing quote or bracket ("…없는 사장님, …"); not a particle or an ending ("…
# 자리에서, "), nor a bound noun such as a date's unit ("6월 17일, ").
_CONJUNCT_END = ("NNG", "NNP", "XSN", "SL", "SH", "SS", "SSC")


def _each_conjuncts(question: str, each: int) -> list[str] | None:
    """The things "각각" distributes over, each as a part: "A와 B는 각각 …" → A, then B with what is asked;
    "…자리에서, A, B, C를 위해 각각 …" → A, B, then C with what is asked (the setting before them goes).

    Only the last 와/과 joins two conjuncts ("보건복지부와 개발원이 연 성과대회와 18일 …": the first 와 is
    inside the first thing asked about), and only one that joins nouns: "사장님들과 만난" (와/과 then a
    verb) is "with". Commas after a noun join conjuncts too, back to the first comma after something else.
    heldout_lists' list-011 (three employers' needs, "각각") was split at "사장님들과 만난" until 2026-12-07.
    """
    from ingest.korean import tokenize

    tokens = tokenize(question[:each])
    joins: list[tuple[int, int]] = []  # (start, end) of each separator, right to left
    first = 0
    for k in range(len(tokens) - 1, 0, -1):
        tok, before = tokens[k], tokens[k - 1]
        if tok.form == "," and tok.tag == "SP":
            if before.tag not in _CONJUNCT_END:
                first = tok.start + 1
                break
            joins.append((tok.start, tok.start + 1))
        elif tok.form in ("와", "과") and not joins:  # the last 와/과 only
            following = tokens[k + 1] if k + 1 < len(tokens) else None
            if tok.tag == "JC" or (following is not None and not following.tag.startswith(("V", "XSV"))):
                joins.append((tok.start, tok.start + len(tok.form)))
    if not joins:
        return None
    cuts = sorted(joins)
    bounds = [first] + [end for _, end in cuts]
    ends = [start for start, _ in cuts] + [len(question)]
    parts = [question[a:b].strip(" ,") for a, b in zip(bounds, ends)]
    return [p for p in parts if p] if len(parts) > 1 else None


# An English question that opens on the occasion it asks about ("At the June 10 event where A and B signed
# …, which organisation hosted …?", "In X's 2026 course, which …"): a preposition, then a comma before the
# clause that asks. Not "When …, " (a question word itself) or a part without that comma.
_ENGLISH_SETTING = re.compile(
    r"^(?:in|at|on|for|during|under|according to|after|before|among|from|of|with|regarding|since)\b[^?]*?,\s+"
    rf"(?:and\s+)?(?P<ask>{_ENGLISH_ASK_OPENS}.*)$",
    re.IGNORECASE | re.DOTALL)


# A Korean question (or part) that opens on a clause setting its occasion, then asks in a clause of its own
# ("김 청장은 … 기조연설에서 '기반화' 전략을 설명하며 어떤 두 재난의 … 예로 들었나요?", "… 전화가 쏟아질 때, 소방은 …
# 몇 개에서 몇 개까지 …?"): a connective ending (-며, -면서, -는데) or "… 때" with no question word before it.
_KOREAN_SETTING = re.compile(r"(?<=[가-힣])(?:며|면서|는데|은데|인데|한데|\s때),?\s+")


def korean_ask(part: str) -> str | None:
    """The clause of a Korean question (or part) that asks, after the clause that sets its occasion:
    "… 전략을 설명하며 어떤 두 재난의 대응 경험을 예로 들었나요?" → "어떤 두 재난의 대응 경험을 예로 들었나요?".
    None when no connective ending or "… 때" comes before the first question word."""
    last = None
    for match in _KOREAN_SETTING.finditer(part):
        if not _ASKS.search(part, 0, match.start()) and _ASKS.search(part, match.end()):
            last = match
    return part[last.end():].strip() if last else None


def english_ask(part: str) -> str | None:
    """The clause of an English question (or part) that asks, when the part opens on a phrase that sets the
    occasion: "At the June 10 event where A signed …, which organisation hosted the forum?" → "which
    organisation hosted the forum?". None when the part has no such opening phrase."""
    match = _ENGLISH_SETTING.match(part.strip())
    return match["ask"].strip() if match else None


def question_language(question: str) -> str:
    """'en' when Latin letters clearly outnumber Hangul, else 'ko'."""
    hangul = len(HANGUL.findall(question))
    latin = len(_LATIN.findall(question))
    return "en" if latin > 2 * hangul else "ko"


def is_list_question(question: str) -> bool:
    """"…4가지는 무엇인가요?", "What are the five …": the answer is a list of items."""
    return _list_match(question) is not None


def _list_match(question: str) -> re.Match | None:
    """``_LIST``'s match, unless its count is one, more than a list runs to ("40대 남성은 무엇을"), describes
    the topic in a relative clause ("두 개로 들리는 현상을 무엇이라"), or is the whole that one item is
    asked from ("5대 전략 중 하나로 … 무엇", "3개의 권역 중에서 어디와 어디")."""
    from ingest.korean import tokenize

    match = _LIST.search(question)
    if match is not None and match["plural"] and len(question_parts(question)) > 1:
        # one part of several asks for things ("Which tests …, down to what ratio, and how much …?"): a list
        # would spend the budget on that part (dev-061 quoted another list of its notice)
        return None
    if match is None or match["count"] is None:  # English ("the five …") or nothing
        return match
    number = _korean_count(match)
    end = match.end("count")
    among = any(t.form == "중" and t.tag == "NNB" and end <= t.start < match.end() for t in tokenize(question))
    if not 2 <= number <= 12 or among or _in_relative_clause(question, end):
        return None
    return match


def _korean_count(match: re.Match) -> int:
    """The number of a Korean count ``_LIST`` matched ("4가지" → 4, "다섯 개" → 5)."""
    return int(match["digits"]) if match["digits"] else _COUNT_WORDS[match["native"]]


# Korean native numerals a count is written in ("다섯 가지", "세 기관")
NATIVE_COUNTS = {"두": 2, "세": 3, "네": 4, "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8, "아홉": 9, "열": 10}
_COUNT_WORDS = {**NATIVE_COUNTS, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


def asked_count(question: str) -> int | None:
    """How many items a list question asks for ("4가지", "다섯 개", "the five"), else None."""
    match = _list_match(question)
    if not match:
        return None
    if match["count"] is not None:
        return _korean_count(match)
    found = re.search(r"\b(two|three|four|five|six|\d{1,2})\b", match.group(0), re.IGNORECASE)
    if found is None:
        return None
    word = found.group(1)
    return int(word) if word.isdigit() else _COUNT_WORDS.get(word.lower())


# "다섯 작품", "세 기관", "4개 단체": how many things a list question names, counted in any word
_NAMED_COUNT = re.compile(rf"(?<![가-힣\d.,])(?:(?P<native>{'|'.join(NATIVE_COUNTS)})\s(?=[가-힣])"
                          r"|(?P<digits>\d{1,2})\s?(?:개|명|곳|가지|건|작|편|팀|개소|개사|개국|종)(?![가-힣]))")


def named_count(question: str) -> int | None:
    """The number of items a list question asks for, counted in whatever word it uses: ``asked_count``'s
    ("4가지는 무엇", "두 곳은"), else a count that names the things ("장려상을 받은 다섯 작품의 수상자는
    누구누구") in a question that asks for a list; None otherwise."""
    count = asked_count(question)
    if count is not None or not is_list_question(question):
        return count
    match = _NAMED_COUNT.search(question)
    if match is None:
        return None
    number = int(match["digits"]) if match["digits"] else NATIVE_COUNTS[match["native"]]
    return number if 2 <= number <= 12 else None


def is_plural_question(question: str) -> bool:
    """"두 곳", "각각", "both": the answer may need more than one notice. A count that describes who or
    what the question is about ("근로자 4명이 숨진 … 시공사 이름은?") does not make the answer plural."""
    if _PLURAL.search(question):
        return True
    return any(not _in_relative_clause(question, m.end()) for m in _PLURAL_COUNT.finditer(question))


def _in_relative_clause(question: str, end: int) -> bool:
    """The count ending at ``end`` is the subject or object of a verb that modifies a later noun ("4명이
    숨진 현장", "3건을 공개한 기관"): particles, then a verb or adjective with an adnominal ending (ETM)."""
    from ingest.korean import tokenize

    following = [t for t in tokenize(question) if t.start >= end]
    for i, tok in enumerate(following[:4]):
        if tok.tag.startswith("J"):
            continue
        # Kiwi marks a verb's conjugation class on its tag: "받/VV-R", "돕/VV-I", "새롭/VA-I"
        return tok.tag.startswith(("VV", "VA", "XSV")) and any(
            t.tag == "ETM" for t in following[i + 1: i + 3])
    return False


def award_asked(question: str) -> str | None:
    """The award a question asks about as received ("대상을 받은 팀" → "대상"), else None."""
    match = _AWARD_ASKED.search(question)
    return match.group(1) if match else None
