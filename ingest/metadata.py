"""Metadata that korea.kr bodies carry only in their prose: the agency and the contact block."""

from __future__ import annotations

import re
from collections import Counter

from ingest.models import Contact

_ORG = r"[가-힣][가-힣·]{1,30}?(?:부|청|처|위원회|공단|연구원|개발원|정보원|교육원|인재개발원|재단|대학교|대학|본부|보장원|진흥원|공사|센터|원)"
# "보건복지부(장관 정은경)는" — the opening sentence of nearly every release; also
# "보건복지부(제2차관 이형훈)", "한국기술교육대학교(KOREATECH·총장 유길상)는".
_HEAD_TITLE = r"(?:장관|청장|처장|차관|원장|위원장|이사장|본부장|실장|단장|총장|대표|사무총장|회장)"
_OPENING_AGENCY = re.compile(rf"({_ORG})\s?\((?:[A-Za-z·]{{2,20}}·)?(?:제?\d)?{_HEAD_TITLE}\s")
# "정은경 보건복지부장관은", "윤호중 행정안전부 장관은", "진영주 보건복지부 사회복지정책실장은": a release
# that opens with its minister (or an official) doing something. The particle 은/는 marks the one
# who acts, so in "이형일 재정경제부 1차관과 권창준 고용노동부 차관은" it is the second.
_TOP_TITLE = r"(?:장관|차관|청장|처장|위원장)"
_OFFICIAL_SUBJECT = re.compile(
    rf"(?<![가-힣])[가-힣]{{2,4}} ({_ORG})(?:{_TOP_TITLE}| (?:제?\d)?{_TOP_TITLE}| [가-힣]{{2,12}}?(?:실장|국장|정책관))"
    r"(?:은|는)\s")
# Short names a release may use alone ("복지부·심평원·건보공단 … 협조체계"): the ministry's full name.
_SHORT_NAMES = {"복지부": "보건복지부", "노동부": "고용노동부", "행안부": "행정안전부", "고용부": "고용노동부"}
_SUBJECT_AGENCY = re.compile(rf"(?<![가-힣])({_ORG})(?:는|은|가|이)\s")
# "고용노동부 김영훈 장관은"
_AGENCY_HEAD = re.compile(rf"(?<![가-힣])({_ORG}) [가-힣]{{2,4}} {_HEAD_TITLE}")
_MINISTRY = re.compile(r"(?<![가-힣])([가-힣]{2,12}(?:부|청|처|위원회|공단))(?![가-힣])")
_PHONE = r"\(?(0\d{1,2}[-)\s]?\d{3,4}-\d{4})\)?"

# The closing contact block comes in a few shapes:
#   담당부서 소방청 구조과 책임자 과 장 代 조태현(044-205-7611) 담당자 소방장 정윤수(044-205-7614)
#   문 의: 장애인고용과 남덕렬(044-202-7482), 장윤진(044-202-7489)
#   * 담당자: 환경산림재난대응과 박원일(044-205-6183)
#   담당 : 전자정부정책과 김성일 (02-2100-3908)            (BidPro)
_BLOCK_START = re.compile(r"(담당\s?부서|문\s?의\s?:|\*?\s?담당자\s?:|담당\s?:)")
_PERSON = re.compile(r"([가-힣]{2,4})\s?\(\s?(0\d{1,2}-?\d{3,4}-\d{4})\s?\)")
# The same, but the phone may have a letter O/o typed for a zero: "유자영 (O44-205-7658)"
# (koreakr-156762520). Used only to split people out of a block already found with _PERSON, so
# finding the block (and the agency derived from it) is unchanged.
_PERSON_LENIENT = re.compile(r"([가-힣]{2,4})\s?\(\s?([0Oo][\dOo]{1,2}-?[\dOo]{3,4}-[\dOo]{4})\s?\)")
_LETTER_O = str.maketrans("Oo", "00")
_DEPT = re.compile(r"([가-힣A-Za-z0-9·]*(?:과|팀|부|국|실|센터|단|반|관|원|사무국|대변인|본부))(?=\s)")
_ROLES = ("책임자", "담당자", "관리자")
# Ranks and fragments that look like department names to the pattern above.
_NOT_DEPT = {"과", "장", "팀", "국", "실", "반", "관", "원", "단", "부", "주무관", "사무관", "서기관", "연구관", "연구원", "행정관"}


def _last_contact_block(body: str) -> tuple[int, str]:
    """The last block start whose text has a contact with a phone number (derive_agency reads this one)."""
    matches = list(_BLOCK_START.finditer(body))
    if not matches:
        return -1, ""
    for m in reversed(matches):
        tail = body[m.start():]
        if _PERSON.search(tail[:600]):
            end = tail.find("[자료제공")
            return m.start(), (tail[:end] if end >= 0 else tail[:600]).strip()
    return -1, ""


# A joint release closes with one block per agency, back to back ("담당 부서 소방청 … 유자영
# (O44-205-7658) 담당 부서 건강위해대응관 …", koreakr-156762520). A block start before the last one
# belongs to the same closing run when what lies between is a short list of people, not prose.
_JOINT_GAP_CHARS = 300
_SENTENCE_END = re.compile(r"다\s?[.]")


def contact_block(body: str) -> tuple[int, str]:
    """Return (offset, text) of the closing contact block, or (-1, "") when there is none.

    The block runs from the first of the back-to-back blocks that close a joint release.
    """
    start, block = _last_contact_block(body)
    if start < 0:
        return start, block
    first = start
    for m in reversed(list(_BLOCK_START.finditer(body, 0, start))):
        between = body[m.start():first]
        if len(between) > _JOINT_GAP_CHARS or _SENTENCE_END.search(between) or not _PERSON_LENIENT.search(between):
            break
        first = m.start()
    return first, (body[first:start] + block).strip()


def repair_phone(phone: str) -> str:
    """A phone number with a letter O/o typed for a zero gets its zero: "O44-205-7658" → "044-205-7658".

    Only the contact field is repaired; the notice body keeps the number as the source wrote it,
    so a quote still matches the source. A number without letters is returned as written.
    """
    return phone.translate(_LETTER_O)


def parse_contacts(block: str) -> tuple[Contact, ...]:
    """Split a contact block into people: department, role, name and phone (repaired by ``repair_phone``)."""
    contacts: list[Contact] = []
    last_end = 0
    department = ""
    for m in _PERSON_LENIENT.finditer(block):
        before = block[last_end:m.start()]
        role = next((r for r in _ROLES if r in before), "")
        depts = _DEPT.findall(re.sub(r"담당\s?부서|문\s?의\s?:|담당자\s?:|담당\s?:", " ", before))
        depts = [d for d in depts if d not in _ROLES and d not in _NOT_DEPT]
        if depts:
            department = " ".join(depts[-2:]) if len(depts) > 1 and depts[-2].endswith(("청", "부", "처")) else depts[-1]
        contacts.append(Contact(department=department, name=m.group(1), phone=repair_phone(m.group(2)), role=role))
        last_end = m.end()
    return tuple(contacts)


def _full_name(name: str, body: str) -> str:
    """A short form ("복지부") as the full name: the one the release also uses, else the usual one."""
    longer = {m.group(1) for m in _MINISTRY_ANY.finditer(body) if m.group(1).endswith(name) and m.group(1) != name}
    if len(longer) == 1:
        return longer.pop()
    return _SHORT_NAMES.get(name, name)


def lead_start(text: str) -> int:
    """Where a release's lead sentence opens in ``text`` ("행정안전부(장관 윤호중)는", "윤호중 행정안전부
    장관은"; the publisher openings derive_agency reads), or -1."""
    found = [m.start() for m in (_OPENING_AGENCY.search(text), _OFFICIAL_SUBJECT.search(text)) if m]
    return min(found, default=-1)


_MINISTRY_ANY = re.compile(r"(?<![가-힣])([가-힣]{2,12}(?:부|청|처|위원회|공단))")


def derive_agency(body: str, title: str = "") -> str:
    """Best guess at the issuing agency of a release whose source gives none.

    The publisher first: the opening "○○부(장관 …)는" or the official who acts in the lead
    ("윤호중 행정안전부 장관은"), whichever comes first; then the agency named in the closing
    contact block; only then other mentions (a place visited, a partner, a programme), which are
    often not the publisher ("교황청", "광주보훈요양원", "디지털정부 협력센터").
    """
    head = body[:1500]
    found = [m for m in (_OPENING_AGENCY.search(head), _OFFICIAL_SUBJECT.search(head)) if m]
    if found:
        return min(found, key=lambda m: m.start()).group(1).lstrip("·")
    start, block = _last_contact_block(body)
    if block:
        m = re.search(rf"(?:담당\s?부서|담당자\s?:)\s*({_ORG})(?=\s)", block)
        if m:
            return m.group(1)
    for pattern in (_SUBJECT_AGENCY, _AGENCY_HEAD):
        for text in (title, head):
            m = pattern.search(text)
            if m:
                return _full_name(m.group(1).lstrip("·"), body)
    # last resort: the ministry-like name the release mentions most (with a particle after it, too)
    names = Counter(m.group(1) for m in _MINISTRY.finditer(body))
    if not names:
        names = Counter(m.group(1) for m in re.finditer(
            r"(?<![가-힣])([가-힣]{2,12}(?:부|청|처|위원회|공단))(?=(?:은|는|이|가|의|과|와|에서|\s))", body))
    return _full_name(names.most_common(1)[0][0], body) if names else ""
