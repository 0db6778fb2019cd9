"""How a quote is cut from a notice's sentence, so that it reads alone and stays verbatim.

korea.kr bodies open with the title run into the subtitles and the lead, and the feed flattens a
release onto one line, so one Kiwi "sentence" may hold a headline, its "- …" subtitle lines and the
lead: the outline markers split it into parts (``outline_parts``), and the title it opens with is left
out (``after_title``; it is shown with every citation). A list item is quoted up to its first clause
(``first_clause_end``). Every function returns offsets into the body: a quote is always a span of it.
"""

from __future__ import annotations

import re

from ingest.metadata import lead_start
from ingest.normalize import squash

# Items of an enumeration, as press releases write them.
_ITEM_START = re.compile(r"^\s*(?:첫째|둘째|셋째|넷째|다섯째|여섯째|일곱째|여덟째|아홉째|열째"
                         r"|(?:첫|두|세|네|다섯|여섯|일곱|여덟|아홉|열) ?번째(?:로|는)?,?|마지막으로,?"
                         r"|먼저,?\s|다음으로,?\s"
                         r"|[①-⑳]|\d{1,2}[.)]\s|[○●◦▲△■□◆◇•ㅇ-]\s?)")
# a comma after a connective ending closes a clause; a quoted name opens a list item (first_clause_end)
_CLAUSE_COMMA = re.compile(r"[고며여서해아어면나지데],\s")
_QUOTED_NAME = re.compile(r"[“「『\"][^”」』\"\n]{2,60}[”」』\"][가-힣]{0,2}")
# Outline markers (개조식): □ and ○ open items, "-" the subtitle lines under a headline, ※ and * notes.
# The korea.kr feed flattens a release onto one line (153 of the demo corpus's 154 bodies have no line
# break), so Kiwi runs the headline, its subtitles and the lead into one "sentence". Splitting sentences
# there cut dev key facts 0.900 -> 0.833 (scoring lost context), so the markers only shape what a quote
# shows. A dash after a one-syllable word is a compound ("한 - 이", Korea-Italy) and a dash between
# digits a range, so neither is a marker.
OUTLINE_MARK = re.compile(r"(?<=\s)[□■○◦●◎▶▷◆◇※*](?=\s)|(?:(?<=\w\w\s)|(?<=[^\w\s]\s))-(?=\s)")
EDGE_MARKS = " □■○◦●◎▶▷◆◇※*-•ㅇ"


# korea.kr's feed closes a release with the titles of its attachments and the portal's credit ("1. 헌혈자의
# 날 기념식 개요 2. 헌혈 유공 포상자 명단 [자료제공: (www.korea.kr)]"). The attachments are not in the
# feed, so the line names files and states nothing: all 153 demo notices end with the credit, 45 of them
# after the last sentence of prose instead of inside a contact block.
_FEED_CREDIT = re.compile(r"\[\s*자료제공\s*:\s*\(?\s*www\.korea\.kr\s*\)?\s*\]\s*$")
# the end of the sentence of prose before it: "…계획이다. " (a numbered title's "2. " is no sentence end)
_PROSE_END = re.compile(r"[가-힣][.!?][\"”’]?\s+")
_OUTLINE = re.compile(r"[□■○●◦▲◆◇]")


def feed_credit(body: str) -> int:
    """Where the feed's closing attachment titles and credit start (see ``_FEED_CREDIT``), or -1 when the
    body does not end with the credit."""
    match = _FEED_CREDIT.search(body)
    if match is None:
        return -1
    ends = list(_PROSE_END.finditer(body, 0, match.start()))
    start = ends[-1].end() if ends else match.start()
    # a personnel notice lists its appointments in outline (□ 승진 ○ 이름) right before the credit: that
    # is the release itself, not attachment titles
    return match.start() if _OUTLINE.search(body, start, match.start()) else start


# What the feed leaves at a sentence's end that belongs to no sentence: the ">>" that opens the next
# subheading ("… 밝혔다. >> 서비스 단계적 확대 추진 …") and a footnote's mark ("… 실정이다. *") whose note
# is written elsewhere, with the note's label when the feed put it there too ("… 실시했다. ※ (국민평가단)").
# 154 of the demo index's 2,059 sentences end so, in 69 of its 153 notices. A label with a figure
# ("** (10병상당 전문의 수)") is left alone.
_TRAILING_NOISE = re.compile(r"(?<=[.!?\"”’)\]])\s*(?:>>|[*※]+(?:\s*[(\[][^()\[\]\d]{1,25}[)\]])?)$")


# An opening bracket Kiwi left at a sentence's end ("… 할 수 있다.(" + "…합의가 …", "… 사용하게
# 되었다(" + "…였다)."): it opens what follows, never closes the quote. 6 of korquad_tune's
# 1,959 quotable sentences; none of the demo index's (its "…뛰겠다.“" is a closing quote typed the wrong
# way round, and stays).
_TRAILING_OPENER = re.compile(r"\s*[(\[「『<〈《【]+\s*$")

# A heading or label of the next block that the feed ran onto a sentence after its final stop ("… 수상했다.
# 【 2025년 노인학대 주요 현황 】", "… 신청할 수 있다. [인천광역시]", "… 받을 수 있다. ◇ (방문의료)", "…
# 의결되었다. [1]", which reads as a citation): it opens with a mark rather than a word, is short, ends no
# sentence and holds no figure with a unit other than a date's (a footnote's "* (총 40점)" may be content,
# so it stays). 34 of the demo index's 1,910 quotable sentences end so, in 25 of its 154 notices; none of
# korquad_tune's 1,959 (2026-12-06).
_GLUED_HEAD_MAX = 45
_WORD_START = re.compile(r"[\w\"“‘'…]")
_SENTENCE_STOP = re.compile(r"[가-힣][.!?]")
_FIGURE_WITH_UNIT = re.compile(r"\d\s*(?![년월일])[가-힣%]")  # a date is a heading's, not a value


def _glued_heading(body: str, start: int, end: int) -> int:
    """Where the quote ends when a heading is glued after its last sentence stop (see ``_GLUED_HEAD_MAX``):
    right after that stop; else ``end``."""
    stops = list(_PROSE_END.finditer(body, start, end))
    if not stops:
        return end
    tail = body[stops[-1].end():end]
    if (not tail.strip() or len(tail) > _GLUED_HEAD_MAX or _WORD_START.match(tail) or _SENTENCE_STOP.search(tail)
            or _FIGURE_WITH_UNIT.search(tail)):
        return end
    return stops[-1].start() + len(stops[-1].group().rstrip())


def quote_end(body: str, start: int, end: int) -> int:
    """Where a quote of ``body[start:end]`` ends: before a trailing opening bracket (``_TRAILING_OPENER``),
    ">>" or footnote mark (``_TRAILING_NOISE``) and before a heading of the next block glued after its
    last stop (``_glued_heading``), unless nothing would be left."""
    for noise in (_TRAILING_OPENER, _TRAILING_NOISE):
        match = noise.search(body, start, end)
        if match and match.start() > start:
            end = match.start()
    return _glued_heading(body, start, end)


# "마지막으로" ends a run of any ordinal kind; a run of sequence words (먼저, 다음으로) is a list only when
# it ends so, since "먼저" alone opens many a paragraph that lists nothing (lists.item_runs).
LAST_KIND, SEQUENCE_KIND = "마지막", "먼저"


def item_kind(sentence: str) -> str:
    """The kind of list marker a sentence starts with ("첫째" and "둘째" are one kind, "①" and "②"
    another), or "" for a plain sentence."""
    match = _ITEM_START.match(sentence)
    if not match:
        return ""
    head = match.group(0).strip()
    if head.endswith("째"):
        return "째"
    if head.startswith("마지막"):  # closes a run of any ordinal kind ("첫째, … 넷째, … 마지막으로, …")
        return LAST_KIND
    if head.startswith(("먼저", "다음으로")):  # "먼저, … 다음으로 … 마지막으로, …"
        return SEQUENCE_KIND
    if "번째" in head:  # "첫 번째로, … 두 번째로, …"
        return "번째"
    if "①" <= head[0] <= "⑳":
        return "①"
    if head[0].isdigit():
        return "1" + head[-1]
    return head[0]


# An ordinal marker inside a sentence starts an item too: a footnote written without a full stop runs
# into the next item ("…23개 단체로 구성 셋째, 재학대 예방을 …"), so Kiwi finds no sentence start there.
# Bullets (○, -, ▲) inside a sentence are outline parts or inline lists, not items of a run.
# An ordinal word counts there only with its comma ("첫째 날" is a day, "셋째, …" an item).
_ORDINAL_INSIDE = re.compile(r"(?<=\s)(?:(?:첫째|둘째|셋째|넷째|다섯째|여섯째|일곱째|여덟째|아홉째|열째"
                             r"|(?:첫|두|세|네|다섯|여섯|일곱|여덟|아홉|열) ?번째(?:로|는)?),|[①-⑳](?=\s))")
_FIRST_ITEM = re.compile(r"^\s*(?:첫째|첫 ?번째|먼저|①|1[.)])")
ORDINAL_KINDS = frozenset({"째", "번째", "①", "1.", "1)", SEQUENCE_KIND})


def item_starts(sentence: str) -> list[tuple[int, str]]:
    """Where list items start in a sentence, with their kind (``item_kind``): at its start (any
    marker), and at each ordinal marker inside it."""
    out: list[tuple[int, str]] = []
    kind = item_kind(sentence)
    if kind:
        out.append((len(sentence) - len(sentence.lstrip()), kind))
    for match in _ORDINAL_INSIDE.finditer(sentence):
        # "○ 첫 번째 발표에서는 …": the ordinal right after a bullet names that same item
        if out and not sentence[out[-1][0]:match.start()].strip(EDGE_MARKS + "▲△"):
            continue
        kind = item_kind(sentence[match.start():])
        if kind:
            out.append((match.start(), kind))
    return out


def is_first_item(text: str) -> bool:
    """"첫째, …", "① …", "1. …": an item that starts a list (a second 첫째 starts another list)."""
    return bool(_FIRST_ITEM.match(text))


def outline_parts(text: str) -> list[tuple[int, int]]:
    """(start, end) of the parts of a sentence that outline markers, and a release's lead opening
    ("행정안전부(장관 윤호중)는", often run on from the last subtitle without a marker), separate."""
    cuts = [m.start() for m in OUTLINE_MARK.finditer(text)
            if not (text[m.start()] == "-" and m.start() >= 2 and text[m.start() - 2].isdigit()
                    and text[m.start() + 2:m.start() + 3].isdigit())]
    lead = lead_start(text)
    if lead > 0 and text[lead - 1].isspace():
        cuts = sorted({*cuts, lead})
    parts, start = [], 0
    for cut in cuts:
        if any(ch.isalnum() for ch in text[start:cut]):  # a marker-only part ("- -") joins the next one
            parts.append((start, cut))
            start = cut
    parts.append((start, len(text)))
    return parts


def _title_stop(body: str, start: int, end: int, title: str) -> int:
    """Offset past ``title`` and the spaces after it when ``body[start:end]`` opens with it (spacing and
    case may differ) and a space sets it apart, else -1."""
    target = squash(title)
    if not target:
        return -1
    matched = 0  # characters of ``target`` matched so far
    for i in range(start, end):
        if body[i].isspace():
            continue
        folded = body[i].casefold()
        if not target.startswith(folded, matched):
            return -1
        matched += len(folded)
        if matched == len(target):
            rest = i + 1
            if rest < end and not body[rest].isspace():
                return -1
            while rest < end and body[rest].isspace():
                rest += 1
            return rest
    return -1


def title_end(body: str, title: str) -> int:
    """Where the title ends in a body that opens with it, set apart by a space (past the spaces after
    it); 0 when the body does not open so. The sentence splitter may cut such a title: 77 of the demo
    index's 154 notices open with their title, and in 22 of them a sentence lies inside it (a quoted
    slogan: '"헌혈로 생명을 구하세요"' + "2026년 헌혈자의 날 기념식 개최 - 35년간 …"); in none of
    korquad_tune's 283 paragraphs (2026-12-06)."""
    return max(_title_stop(body, 0, len(body), title), 0)


def title_is_heading_line(body: str, title: str) -> bool:
    """True when the body's first line is the title alone, up to spacing and punctuation: a plain file's
    or attachment's reader takes its title from that line. It is the document's heading and may be the
    only place a fact is stated ("소방청 차장에 김승민 소방감 승진 임명"), so it is quoted like any line;
    a title run into the text (korea.kr's feed: "… 기념식 개최 - 35년간 …") is shown by every citation."""
    first = next((line for line in body.splitlines() if line.strip()), "")
    return restates_title(first, title)


def after_title(body: str, start: int, end: int, title: str, min_rest: int = 20) -> int:
    """Where a sentence continues after the notice title it opens with (spacing may differ), else ``start``.

    Only a title set apart by a space is a heading run into the text (korea.kr: "…개최 - 35년간 …"; all
    55 demo notices that open with their title). A title that runs straight into a particle or a
    parenthesis ("○○ 사건은 …", "○○(영어: …)는 …"; 21 of korquad_tune's 25) is the
    sentence's subject, and the quote keeps it.
    """
    rest = _title_stop(body, start, end, title)
    return rest if rest >= 0 and end - rest >= min_rest else start


_NOT_WORD = re.compile(r"[\W_]+")
# a prose sentence's stop after a Hangul ending ("…발표했다.", "…있습니다.\""); a headline ends on a noun,
# a bare ending or "!" ("…엄정 대응 나선다", "…세계화 이끈다!")
_PROSE_STOP_AT_END = re.compile(r"[가-힣]\.[\"”’']?\s*$")


def ends_as_prose(text: str) -> bool:
    """True when ``text`` ends as a prose sentence does (see ``_PROSE_STOP_AT_END``), not as a headline."""
    return bool(_PROSE_STOP_AT_END.search(text))


def restates_title(text: str, title: str) -> bool:
    """True when ``text`` is the notice's title again, up to spacing and punctuation ("가짜진료과잉처방 …"
    for "가짜진료·과잉처방 …"): a release that sets its title apart as a sentence of its own. Every
    citation shows the title, so quoting it says nothing new."""
    return bool(title.strip()) and _NOT_WORD.sub("", text).casefold() == _NOT_WORD.sub("", title).casefold()


def first_clause_end(body: str, start: int, end: int, limit: int = 140, named_limit: int = 90) -> int:
    """End offset of a list item's first clause: its first comma after the item label, within ``limit``.

    An item that names itself in quotes («첫째, “정부서비스 Re-디자인”을 통해 …») keeps its name and
    what follows it up to ``named_limit`` characters: cut right after the name, "첫째, “…”을…" could not
    be read alone (issue 11); the names alone were what the shorter cut kept for the answer's length.
    """
    quoted = _QUOTED_NAME.search(body, start, min(end, start + 60))
    floor = start + 25
    if quoted and quoted.end() < end:
        floor, limit = quoted.end() + 15, max(named_limit, quoted.end() + 30 - start)
    if end - start <= limit:
        return end
    # a comma after a connective ending (만들고, 하며, 구축하여,) closes a clause; one inside a run
    # of nouns ("인공지능(AI), 3D 프린팅, 드론 등") does not
    comma = _CLAUSE_COMMA.search(body, floor, start + limit)
    if comma:
        return comma.start() + 1  # the comma stays out: "만들고…"
    space = body.rfind(" ", max(floor, start + 40), start + limit)
    return space if space > 0 else start + limit
