"""Text clean-up for Korean government notices.

Two kinds of damage are undone here: legacy encodings (CP949/EUC-KR are still
common for Korean government files) and the spacing artefacts of the korea.kr
RSS feeds, where HTML was stripped with a space at every tag boundary
("소방청 , 인도네시아", "( LOI )", "정부 24").
"""

from __future__ import annotations

import re
import unicodedata

from ingest.errors import UnreadableFile

# Odd spaces (NBSP, ideographic space, zero-width …) that break tokenisation.
_ODD_SPACES = re.compile(r"[\u00a0\u2000-\u200a\u202f\u205f\u3000]")
_ZERO_WIDTH = re.compile(r"[\u200b-\u200d\u2060\ufeff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Full-width ASCII forms (ＡＢＣ１２３) → ASCII; NFKC would also fold ㈜ and ① which carry meaning.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}

# RSS artefacts. Each rule removes a space the markup put there, never one the author wrote:
# a space before closing punctuation, inside brackets, or inside quotes.
_SPACE_BEFORE_PUNCT = re.compile(r"(?<=\S) +([,.;:!?%)\]}」』〉》’”…])")
_SPACE_AFTER_OPEN = re.compile(r"([(\[{「『〈《‘“]) +")
# A space between a Hangul word and a number it is fused with in names like 정부24, 케이(K)-소방.
_HANGUL_DIGIT_NAME = re.compile(r"(?<![\w])(정부|국민|안전|민원|복지로|119|112) (24|365|119|112)(?!\d)")
# "소방청 (청장 김승룡) 은" → "소방청(청장 김승룡)은": Korean style puts no space before "(" after a word,
# nor between ")" and the particle that follows it.
_SPACE_BEFORE_PAREN = re.compile(r"(?<=[가-힣A-Za-z0-9]) \((?=[^()\n]{1,40}\))")
_PARTICLE_AFTER_PAREN = re.compile(
    r"\) (은|는|이|가|을|를|의|에|에서|에게|와|과|로|으로|도|만|까지|부터|이며|이다|으로서|로서|께서|란|이란)(?=[\s,.]|$)"
)
# "13 일", "514 개", "제 114 차": numbers glued to their counters in the original.
_NUMBER_UNIT = re.compile(
    r"(?<=\d) (년|개월|월|일|시간|시|분|초|개소|개국|개|명|원|건|곳|대|차|회|주년|주|층|배|세|억|만|천|조|%p|%)(?![가-힣A-Za-z])"
)
_ORDINAL_PREFIX = re.compile(r"(?<![가-힣])제 (?=\d)")
# A closing quote is the one a particle follows ("…중요하다 " 며" → "…중요하다"며"); an opening quote
# is one that follows a space and is followed by one.
_CLOSING_QUOTE = re.compile(r'\s?"\s?(며|고|라며|라고|라면서|이라며|이라고|면서|라는|이라는|이다|이라|라)(?=[\s,.])')
_OPENING_QUOTE = re.compile(r'(?:(?<=\s)|^)" (?=\S)')
_SPACED_MIDDLE_DOT = re.compile(r" ?([·ㆍ]) ?")
_MULTI_SPACE = re.compile(r"[ \t]+")
_SPACE_AROUND_NEWLINE = re.compile(r" *\n *")
_MANY_NEWLINES = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """Return ``text`` in NFC with clean spaces and the RSS spacing artefacts undone."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ZERO_WIDTH.sub("", text)
    text = _ODD_SPACES.sub(" ", text)
    text = _CONTROL.sub(" ", text)
    text = text.translate(_FULLWIDTH)
    text = _MULTI_SPACE.sub(" ", text)
    text = _SPACE_AFTER_OPEN.sub(r"\1", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = _HANGUL_DIGIT_NAME.sub(r"\1\2", text)
    text = _SPACE_BEFORE_PAREN.sub("(", text)
    text = _PARTICLE_AFTER_PAREN.sub(r")\1", text)
    # twice: "3,000 만 원" needs the unit rule to see "만" after the first pass
    text = _NUMBER_UNIT.sub(r"\1", text)
    text = _NUMBER_UNIT.sub(r"\1", text)
    text = _ORDINAL_PREFIX.sub("제", text)
    text = _SPACED_MIDDLE_DOT.sub(r"\1", text)
    text = _CLOSING_QUOTE.sub(r'"\1', text)
    text = _OPENING_QUOTE.sub('"', text)
    text = _SPACE_AROUND_NEWLINE.sub("\n", text)
    text = _MANY_NEWLINES.sub("\n\n", text)
    return text.strip()


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
