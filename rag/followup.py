"""Follow-up questions in a chat: "그중 두 번째는?" means nothing to retrieval on its own.

A follow-up leans on an earlier turn: an anaphor (그중, 그것, 그 …, 이 중, 거기; it,
that, those, the second), an ordinal with nothing else to say (두 번째는?), a
request for more (더 자세히, tell me more), or a question too short to name its own
topic (담당자는?). Such a question is combined with the last self-contained
question of the conversation, so retrieval lands on the same notice and the
answerer still sees what is asked now ("… 그 담당자는?" is a contact question).
A question that names its own topic is returned unchanged.

Deliberately rule-based: it runs on every turn, needs no model, and a wrong
guess only widens the query with the previous question's words.
"""

from __future__ import annotations

import re

from rag.question import HANGUL

# Korean cues that refer back wherever they occur.
_KO_ANYWHERE = re.compile(
    r"(?<![가-힣])(?:그\s?중|이\s중|이중에|그것|그거|이것들?|이거|저것|거기|여기서|그곳|그분|그\s?사람|위의|앞의|앞서|방금|"
    r"말씀하신|언급한|해당\s?(?:내용|사업|제도|기관|부처|정책|보도|공지|자료|계획))"
)
# Korean cues that refer back only at the start of the question ("그 담당자는?", "이 사업의 예산은?").
_KO_START = re.compile(r"^(?:그|이|저|그럼|그러면|그리고|그래서|또|또는|또한|그런데|근데|그건|그게|이건|이게)(?:\s|$|[,?!.])")
# An ordinal or a request for more: a follow-up when the question says little else.
_KO_WEAK = re.compile(
    r"(?:첫|두|세|네|다섯|여섯|일곱|여덟|아홉|열|\d+)\s?번째|첫째|둘째|셋째|넷째|다섯째|마지막|"
    r"더\s?자세히|자세히|구체적으로|좀\s?더|더\s?알려|나머지|다른\s?(?:것|거)"
)
_EN_ANYWHERE = re.compile(r"\b(?:it|its|they|them|their|those|these)\b", re.IGNORECASE)
_EN_START = re.compile(r"^(?:and|what about|how about|also|so|then|what else|anything else)\b", re.IGNORECASE)
_EN_WEAK = re.compile(
    r"\b(?:that|this)\b|\bthe\s+(?:first|second|third|fourth|fifth|sixth|last|next|other|previous|same)\b|"
    r"\b(?:first|second|third|fourth|fifth|last)\s+one\b|\bmore\s+(?:detail|details|about)\b|\btell me more\b|"
    r"\belaborate\b|\bexplain further\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[0-9A-Za-z가-힣]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def is_follow_up(question: str) -> bool:
    """Whether ``question`` needs an earlier turn to be understood."""
    q = " ".join((question or "").split())
    if not q:
        return False
    words = _words(q)
    if not words:
        return False
    if _KO_ANYWHERE.search(q) or _KO_START.match(q):
        return True
    # "IT" (정보기술) is not the pronoun "it".
    if _EN_START.match(q):
        return True
    if len(words) <= 12 and any(m.group(0) != "IT" for m in _EN_ANYWHERE.finditer(q)):
        return True
    if (_KO_WEAK.search(q) and len(words) <= 4) or (_EN_WEAK.search(q) and len(words) <= 6):
        return True
    # Too short to carry a topic of its own: "담당자는?", "예산은?", "when?", "who signed?"
    if HANGUL.search(q):
        return len(words) == 1 and len(words[0]) <= 6
    return len(words) <= 2


def resolve_follow_up(question: str, previous_questions: list[str]) -> str:
    """The question to search for: ``question`` itself, or joined to the topic of the previous turns.

    ``previous_questions`` are the user's earlier questions, oldest first, as they
    typed them. A follow-up is joined to the latest earlier question that is
    self-contained (so "그중 두 번째는?" then "더 자세히" both refer to the
    question before them); when every earlier question is itself a follow-up,
    the latest one is used. Anything else is returned unchanged.
    """
    if not question or not question.strip():
        return question
    earlier = [q.strip() for q in previous_questions or [] if q and q.strip()]
    if not earlier or not is_follow_up(question):
        return question
    base = next((q for q in reversed(earlier) if not is_follow_up(q)), earlier[-1])
    return f"{base} {question.strip()}"
