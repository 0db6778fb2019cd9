"""Text clean-up for Korean government notices.

Two kinds of damage are undone here: legacy encodings (CP949/EUC-KR are still
common for Korean government files) and the artefacts of the korea.kr RSS feeds,
where HTML was stripped with a space at every tag boundary ("소방청 , 인도네시아",
"( LOI )", "정부 24"), some characters were replaced by a full-width question mark
("원？하청") and a body can be pasted twice.

Every rule is one named function ``rule(text) -> str`` in ``RULES``, applied in that
order by ``normalize_text``. Each docstring quotes a real case from the demo corpus
(data/corpus/) and what the rule must leave alone; tests/test_normalize.py holds the
same examples, and tests/test_normalize_audit.py counts what every rule changes over
the whole corpus. ``explain(text)`` applies the same rules and returns every change
with its context, so a person can audit them (``python eval/explain_normalize.py FILE``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from difflib import SequenceMatcher

from ingest.errors import UnreadableFile

Rule = Callable[[str], str]

# Characters of context kept on each side of a recorded change.
CONTEXT_CHARS = 30


@dataclass(frozen=True)
class Change:
    """One edit one rule made: ``old`` at ``position`` (in the text the rule was given) became ``new``."""

    rule: str
    position: int
    old: str
    new: str
    left: str  # context before the change
    right: str  # context after the change (as it was before the rule ran)

    @property
    def before(self) -> str:
        return f"{self.left}[{_clip(self.old)}]{self.right}"

    @property
    def after(self) -> str:
        return f"{self.left}[{_clip(self.new)}]{self.right}"

    @property
    def chars(self) -> int:
        """Characters changed: removed or inserted, whichever is more (" · " → "·" is 2)."""
        if not self.old or not self.new:
            return len(self.old) + len(self.new)
        same = sum(block.size for block in SequenceMatcher(None, self.old, self.new, autojunk=False).get_matching_blocks())
        return max(len(self.old), len(self.new)) - same


def _clip(s: str, keep: int = 40) -> str:
    """A long removed stretch shown by its two ends (the explain output stays readable)."""
    return s if len(s) <= 2 * keep + 20 else f"{s[:keep]} …({len(s) - 2 * keep} chars)… {s[-keep:]}"


# The rule being run and where its changes go, while ``explain`` runs; None otherwise, so
# plain ``normalize_text`` pays nothing for the bookkeeping.
_recording: ContextVar[tuple[str, list[Change]] | None] = ContextVar("_recording", default=None)


def _record(text: str, start: int, end: int, new: str) -> None:
    rec = _recording.get()
    if rec is not None and text[start:end] != new:
        rule, log = rec
        log.append(Change(rule, start, text[start:end], new,
                          text[max(0, start - CONTEXT_CHARS):start], text[end:end + CONTEXT_CHARS]))


def _sub(pattern: re.Pattern[str], repl: str | Callable[[re.Match[str]], str], text: str) -> str:
    """``pattern.sub`` that records each change while ``explain`` runs."""
    if _recording.get() is None:
        return pattern.sub(repl, text)

    def replace(m: re.Match[str]) -> str:
        new = repl(m) if callable(repl) else m.expand(repl)
        _record(text, m.start(), m.end(), new)
        return new

    return pattern.sub(replace, text)


# --------------------------------------------------------------------------- characters


_NON_SPACE = re.compile(r"\S+")


def unicode_nfc(text: str) -> str:
    """Compose Unicode to NFC: decomposed Hangul (jamo, as macOS file names and some PDFs give it)
    becomes syllables, and U+0387 GREEK ANO TELEIA (a look-alike some editors type) becomes "·".

    "\\u1112\\u1161\\u11ab" → "한"; "공공 \\u0387 민간" → "공공 · 민간" (koreakr-156762188 and two other
    releases write their middle dots as U+0387). Leaves alone: text already in NFC.
    """
    if unicodedata.is_normalized("NFC", text):
        return text
    # word by word, so explain can show where; NFC never composes across whitespace
    return _sub(_NON_SPACE, lambda m: unicodedata.normalize("NFC", m.group()), text)


_CR = re.compile(r"\r\n?")


def unify_line_breaks(text: str) -> str:
    """Windows and old Mac line ends (CP949 text files) → "\\n". Leaves alone: "\\n"."""
    return _sub(_CR, "\n", text)


_ZERO_WIDTH = re.compile(r"[\u200b-\u200d\u2060\ufeff]")


def drop_zero_width(text: str) -> str:
    """Zero-width spaces, joiners and a stray BOM split words for the tokenizer without showing:
    "다\\u200b라" → "다라". Leaves alone: every visible character."""
    return _sub(_ZERO_WIDTH, "", text)


_ODD_SPACES = re.compile(r"[\u00a0\u2000-\u200a\u202f\u205f\u3000]")


def plain_spaces(text: str) -> str:
    """NBSP, ideographic space (U+3000) and the typographic spaces → " ", so words split:
    "가\\u00a0나\\u3000다" → "가 나 다". Leaves alone: tabs and line breaks (layout)."""
    return _sub(_ODD_SPACES, " ", text)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_chars_to_space(text: str) -> str:
    """C0 control characters (Chromium PDFs write every space as \\x01) → " ".
    Leaves alone: "\\t" and "\\n"."""
    return _sub(_CONTROL, " ", text)


# U+FF1F between two letters or digits, with no space on either side. The korea.kr feed writes
# it where the release had a middle dot its encoding lacked: "원？하청" (koreakr-156766280),
# "발굴？지원", "전기？가스？주택", "중앙정부？지방정부" (156767124), "투자？출연기관" (156765959),
# "유사？동일" (156766280). A question mark ends a clause and is followed by a space or the end,
# so it never sits between two word characters; the corpus's other U+FF1F ("최저임금의 ？사업의
# 종류별 구분？ 여부", 156766814) touch a space and are left for fullwidth_to_ascii.
_FULLWIDTH_QUESTION_AS_DOT = re.compile(r"(?<=[가-힣A-Za-z0-9])\uff1f(?=[가-힣A-Za-z0-9])")


def fullwidth_question_as_middle_dot(text: str) -> str:
    """"원？하청" → "원·하청", "전기？가스？주택" → "전기·가스·주택" (korea.kr feed lost a middle dot).

    Leaves alone: "구분？ 여부", "？사업" (a space on one side), "무엇인가？" at a line end.
    Must run before fullwidth_to_ascii, which would make it an ASCII "?".
    """
    return _sub(_FULLWIDTH_QUESTION_AS_DOT, "·", text)


_FULLWIDTH = re.compile(r"[\uff01-\uff5e]")


def fullwidth_to_ascii(text: str) -> str:
    """Full-width ASCII forms → ASCII: "ＡＢＣ１２３" → "ABC123", "（" → "(".

    Leaves alone: ㈜, ①, ㎡ and the other compatibility characters NFKC would fold, which carry meaning.
    """
    return _sub(_FULLWIDTH, lambda m: chr(ord(m.group()) - 0xFEE0), text)


# --------------------------------------------------------------------------- spacing (RSS artefacts)

# Each spacing rule removes a space the markup put there, never one the author wrote.

_MULTI_SPACE = re.compile(r"[ \t]{2,}|\t")


def collapse_spaces(text: str) -> str:
    """Runs of spaces and tabs → one space: "6 월  12 일" → "6 월 12 일". Leaves alone: line breaks."""
    return _sub(_MULTI_SPACE, " ", text)


_SPACE_AFTER_OPEN = re.compile(r"([(\[{「『〈《‘“]) +")


def space_after_open_bracket(text: str) -> str:
    """No space after an opening bracket or quote: "( 목 )" → "(목 )", "「 전자정부법 」" → "「전자정부법 」".

    Leaves alone: a space before the bracket ("지난 6월 11일 (목)" is handled by space_before_paren).
    """
    return _sub(_SPACE_AFTER_OPEN, r"\1", text)


# A closing ’ followed by two digits is an opening one: "추진할 ’16년도" (’16 = 2016, the BidPro
# seed page) keeps its space, as does any year written "’25.".
# A "?" or "!" glued to the next word is not closing anything: "최저임금의 ？사업의 종류별 구분？ 여부"
# (koreakr-156766814, where the feed lost a pair of quotes) keeps its space.
_SPACE_BEFORE_PUNCT = re.compile(r"(?<=\S) +(?=[,.;:%)\]}」』〉》”…]|[!?](?![가-힣A-Za-z0-9])|’(?!\d\d))")


def space_before_closing_punct(text: str) -> str:
    """No space before closing punctuation: "소방청 , 인도네시아" → "소방청, 인도네시아",
    "운영하고 있다 ." → "운영하고 있다.", "81% )" → "81%)".

    Leaves alone: "추진할 ’16년도" (an apostrophe before a two-digit year opens a word) and
    "최저임금의 ?사업의" (a question mark glued to the next word closes nothing).
    """
    return _sub(_SPACE_BEFORE_PUNCT, "", text)


# Names fused with a number: 정부24, 국민365 …; the feed puts a space at the tag boundary.
_HANGUL_DIGIT_NAME = re.compile(r"(?<![\w])(정부|국민|안전|민원|복지로|119|112) (24|365|119|112)(?!\d)")


def hangul_digit_name(text: str) -> str:
    """Service names fused with a number: "정부 24" → "정부24".

    Leaves alone: "국민 2명" (the number must be one of 24/365/119/112 and end there).
    """
    return _sub(_HANGUL_DIGIT_NAME, r"\1\2", text)


# Korean style puts no space between a word and the "(" of its gloss. The gloss is short and has
# no brackets inside (a long one is a parenthetical sentence, whose space may be the author's).
_SPACE_BEFORE_PAREN = re.compile(r"(?<=[가-힣A-Za-z0-9]) \((?=[^()\n]{1,40}\))")


def space_before_paren(text: str) -> str:
    """"소방청 (청장 김승룡)" → "소방청(청장 김승룡)", "13일 (현지시간)" → "13일(현지시간)".

    Leaves alone: "( " after punctuation (", (") and a parenthesis longer than 40 characters.
    """
    return _sub(_SPACE_BEFORE_PAREN, "(", text)


_PARTICLE_AFTER_PAREN = re.compile(
    r"\) (은|는|이|가|을|를|의|에|에서|에게|와|과|로|으로|도|만|까지|부터|이며|이다|으로서|로서|께서|란|이란)(?=[\s,.]|$)"
)


def particle_after_paren(text: str) -> str:
    """A particle belongs to the word before it: "소방청(청장 김승룡) 은" → "소방청(청장 김승룡)은".

    Leaves alone: a word after ")" that only starts like a particle ("(금) 부터" is changed, "(목) 관계기관" is not).
    """
    return _sub(_PARTICLE_AFTER_PAREN, r")\1", text)


# "13 일", "514 개", "180 명": Arabic numerals are written glued to their counters, and the feed's
# tag boundaries split them ("5월 20 일부터 22 일까지", "최근 3 년간", "60 개사", "100 여 개사").
# The counter may carry a particle ("일부터", "명으로", "건의"); anything else after it ("3 년차",
# "119 시민수상구조대", "2026 국제소방안전박람회") means the word is not a counter and stays apart.
_UNITS = (
    "년|개월|월|일|시간|시|분|초|개소|개국|개사|개|명|원|건|곳|대|차|회|주년|주|층|배|세|억|만|천|조"
    "|단계|점|팀|위|인|기|급|여|%p|%"
)
_UNIT_PARTICLES = (
    "부터는|부터|까지는|까지|에서는|에서|에는|에도|에게|에|으로는|으로|로는|로|의|을|를|이|가|은|는"
    "|과|와|도|간의|간|째|씩|당"
)
_NUMBER_UNIT = re.compile(rf"(?<=\d) (?=(?:{_UNITS})(?:{_UNIT_PARTICLES})?(?![가-힣A-Za-z]))")
# A particle right after a number: "8.3대 1 의 경쟁률" → "1의", "정부24 로" → "정부24로".
_NUMBER_PARTICLE = re.compile(r"(?<=\d) (?=(?:의|을|를|은|는|에|로|으로|와|과|부터|까지)(?=[\s,.)]|$))")


def number_unit(text: str) -> str:
    """A counter follows its Arabic number with no space: "6 월 11 일" → "6월 11일", "3,000 만 원" →
    "3,000만 원", "5월 20 일부터" → "5월 20일부터", "최근 3 년간" → "최근 3년간", "8.3대 1 의" → "8.3대 1의".

    Leaves alone: "119 시민수상구조대", "2026 국제소방안전박람회", "4·16 세월호" (not counters) and
    "100여 개사" (the space after 여 is the author's).
    """
    # twice: "3,000 만 원" needs the unit rule to see "만" after the first pass
    text = _sub(_NUMBER_UNIT, "", _sub(_NUMBER_UNIT, "", text))
    return _sub(_NUMBER_PARTICLE, "", text)


# The ordinal prefix 제 and its number make one word with what follows: "제 114 차", "제 3 자",
# "킨텍스 제 2전시장". A preceding Hangul letter means 제 ends another word ("경제 5").
_ORDINAL_PREFIX = re.compile(r"(?<![가-힣])제 ?(\d{1,3}) ?(?=[가-힣])")


def ordinal_prefix(text: str) -> str:
    """"제 114 차 총회" → "제114차 총회", "부모가 아닌 제 3 자의" → "제3자의", "「제 8 기" → "「제8기".

    Leaves alone: "경제 5" (제 ends a word), "제 2026" followed by no Hangul.
    """
    return _sub(_ORDINAL_PREFIX, r"제\1", text)


# U+2024 and U+22C5 stand in for a middle dot in text pasted from HWP ("보험감독 ․ 소비자",
# koreakr-156764817; "지진 ⋅ 산사태 ⋅ 홍수"): same spacing, the character is kept as written.
_SPACED_MIDDLE_DOT = re.compile(r" ?([·ㆍ\u2024\u22c5]) ?")


def spaced_middle_dot(text: str) -> str:
    """A middle dot joins its words: "하천 · 계곡" → "하천·계곡", "민 · 관 협력" → "민·관 협력".

    Known miss (tests/data/normalize_review.json): a dot used as a list bullet after a heading
    ("피해 주의 · 본 사업의") is joined too; the feed lost the line break that told them apart.
    """
    return _sub(_SPACED_MIDDLE_DOT, r"\1", text)


# A closing quote is the one a particle or quoting ending follows ("…중요하다 " 며" → "…중요하다"며",
# "종전 " 전라남도 " 와 " 광주광역시 " 가", koreakr-156766540). 이 and 도 are not in the list: after an
# opening quote they start a sentence ("" 이 사업은", "" 도 단위").
_CLOSING_QUOTE = re.compile(
    r'\s?"\s?(며|고|라며|라고|라면서|이라며|이라고|면서|라는|이라는|이다|이라|라'
    r'|와|과|가|는|은|를|을|로|으로|의|에|에서|에게)(?=[\s,.])'
)


def closing_double_quote(text: str) -> str:
    """"시행하고 있다 " 라며" → "시행하고 있다"라며", "바란다 " 고 당부했다" → "바란다"고 당부했다",
    "" 전라남도 " 와" → "" 전라남도"와". Leaves alone: "" 이 사업은" (이 may start the quoted sentence)."""
    return _sub(_CLOSING_QUOTE, r'"\1', text)


# An opening quote follows a space (or starts the text) and is followed by one. A closing quote
# can look the same ("설명회 " 개최…", the end of a quoted headline, koreakr-156762188), so a quote
# counts as opening only when an even number of quotes comes before it in its paragraph.
_OPENING_QUOTE = re.compile(r'(?:(?<=\s)|^)" (?=\S)', re.M)


def opening_double_quote(text: str) -> str:
    """"본부장은 " 최근 무더위가" → "본부장은 "최근 무더위가".

    Leaves alone: the closing quote of a headline ("" 소방안전 빅데이터 기반(플랫폼) 설명회 " 개최…"
    keeps the space before 개최), found by counting the quotes before it.
    """
    def replace(m: re.Match[str]) -> str:
        line_start = text.rfind("\n", 0, m.start()) + 1
        return '"' if text.count('"', line_start, m.start()) % 2 == 0 else m.group()

    return _sub(_OPENING_QUOTE, replace, text)


_SPACE_AROUND_NEWLINE = re.compile(r" +\n *| *\n +")
_MANY_NEWLINES = re.compile(r"\n{3,}")


def line_edges(text: str) -> str:
    """No spaces at either end of a line; at most one blank line between paragraphs."""
    return _sub(_MANY_NEWLINES, "\n\n", _sub(_SPACE_AROUND_NEWLINE, "\n", text))


# --------------------------------------------------------------------------- repeated body

# Shortest stretch kept once. On the demo corpus the longest word-for-word repeat inside a
# genuine release is under 120 characters (a subtitle restated as the lead sentence, a contact
# line); the one body pasted twice (koreakr-156766793) repeats 1,833 characters. 200 keeps a
# wide margin on both sides (tests/test_normalize_audit.py checks it).
MIN_REPEAT_CHARS = 200
# Words a repeat is looked up by; any repeat of MIN_REPEAT_CHARS holds far more words.
_SHINGLE = 8


def find_repeated_stretches(text: str, min_chars: int = MIN_REPEAT_CHARS) -> list[tuple[int, int]]:
    """(start, end) of every later copy of a stretch of at least ``min_chars`` characters that
    already appeared earlier word for word; start includes the whitespace before the copy."""
    words = [(m.start(), m.end(), m.group()) for m in _NON_SPACE.finditer(text)]
    tokens = [w for _, _, w in words]
    seen: dict[tuple[str, ...], list[int]] = {}
    copies: list[tuple[int, int]] = []
    i = 0
    while i + _SHINGLE <= len(tokens):
        key = tuple(tokens[i:i + _SHINGLE])
        best = 0
        for j in seen.get(key, ()):
            n = 0
            # the first copy must end before the second starts
            while i + n < len(tokens) and j + n < i and tokens[j + n] == tokens[i + n]:
                n += 1
            best = max(best, n)
        if best >= _SHINGLE and words[i + best - 1][1] - words[i][0] >= min_chars:
            start = words[i - 1][1] if i else words[i][0]
            copies.append((start, words[i + best - 1][1]))
            i += best
            continue
        seen.setdefault(key, []).append(i)
        i += 1
    return copies


def drop_repeated_stretches(text: str) -> tuple[str, int]:
    """Keep the first occurrence of a long stretch repeated word for word; return the text and
    the number of characters dropped (readers report it in the ingest summary)."""
    copies = find_repeated_stretches(text)
    if not copies:
        return text, 0
    parts, last = [], 0
    for start, end in copies:
        _record(text, start, end, "")
        parts.append(text[last:start])
        last = end
    parts.append(text[last:])
    return "".join(parts), sum(end - start for start, end in copies)


def repeated_stretch_once(text: str) -> str:
    """A body pasted twice is kept once: koreakr-156766793 repeats 1,833 of its 3,834 characters
    ("정부는 기후변화로 … 박회성 (044-205-4251)"), which would double its chunks and quotes.

    Leaves alone: repeats shorter than MIN_REPEAT_CHARS, such as a subtitle the lead sentence restates.
    """
    return drop_repeated_stretches(text)[0]


def strip_text(text: str) -> str:
    """No whitespace at the start or end of the text."""
    stripped = text.strip()
    if stripped != text:
        lead = len(text) - len(text.lstrip())
        if lead:
            _record(text, 0, lead, "")
        if len(text.rstrip()) < len(text):
            _record(text, len(text.rstrip()), len(text), "")
    return stripped


# The order matters: characters first (so the spacing rules see ASCII), fullwidth_question_as_middle_dot
# before fullwidth_to_ascii, spacing before the repeat check (so both copies compare alike).
RULES: tuple[Rule, ...] = (
    unicode_nfc,
    unify_line_breaks,
    drop_zero_width,
    plain_spaces,
    control_chars_to_space,
    fullwidth_question_as_middle_dot,
    fullwidth_to_ascii,
    collapse_spaces,
    space_after_open_bracket,
    space_before_closing_punct,
    hangul_digit_name,
    space_before_paren,
    particle_after_paren,
    number_unit,
    ordinal_prefix,
    spaced_middle_dot,
    closing_double_quote,
    opening_double_quote,
    line_edges,
    repeated_stretch_once,
    strip_text,
)


def normalize_text(text: str) -> str:
    """Return ``text`` in NFC with clean spaces and the korea.kr feed's artefacts undone (``RULES`` in order)."""
    for rule in RULES:
        text = rule(text)
    return text


@dataclass(frozen=True)
class Normalized:
    """The normalised text and what the ingest summary reports about it."""

    text: str
    repeated_chars_dropped: int


def normalize_report(text: str) -> Normalized:
    """``normalize_text`` plus the count of repeated characters dropped, for the ingest summary."""
    text, changes = explain(text)
    dropped = sum(len(c.old) for c in changes if c.rule == repeated_stretch_once.__name__)
    return Normalized(text, dropped)


def explain(text: str) -> tuple[str, list[Change]]:
    """Apply ``RULES`` in order; return the normalised text and every change, in order."""
    log: list[Change] = []
    for rule in RULES:
        token = _recording.set((rule.__name__, log))
        try:
            text = rule(text)
        finally:
            _recording.reset(token)
    return text, log


def squash(text: str) -> str:
    """Comparison key: NFC, no whitespace, case-folded (the gold set's matching rule)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFC", text)).casefold()


_ENCODINGS = ("utf-8-sig", "cp949", "euc-kr", "utf-16")


def decode_bytes(data: bytes) -> str:
    """Decode a legacy text file: UTF-8 (with or without BOM), CP949/EUC-KR, UTF-16 with BOM.

    Strict decoding first, because charset detectors confuse CP949 Korean with
    other East Asian code pages on short texts; charset-normalizer is the last resort.
    """
    if not data.strip():
        raise UnreadableFile("empty file")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16")
    if b"\x00" in data[:4096]:
        raise UnreadableFile("binary data, not text")
    for encoding in _ENCODINGS[:3]:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise UnreadableFile("unknown text encoding")
    return str(best)


def looks_like_text(text: str) -> bool:
    """True when most characters are letters, digits, spaces or punctuation (not binary junk)."""
    if not text:
        return False
    sample = text[:5000]
    bad = sum(1 for ch in sample if unicodedata.category(ch) in ("Cc", "Co", "Cs", "Cn") and ch not in "\n\t")
    bad += sample.count("\ufffd")
    return bad / len(sample) < 0.02
