"""Korean text analysis with kiwipiepy: sentence spans and search terms.

One Kiwi instance per process, created on first use (it takes ~2 s to load),
never at import time.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from functools import lru_cache

# Morpheme tags that carry meaning for search: nouns, foreign words, numbers,
# verb/adjective stems, roots, hanja, determiners. Endings and particles are
# dropped: whitespace BM25 fails on Korean exactly because it keeps them glued.
SEARCH_TAGS = frozenset({"NNG", "NNP", "NNB", "NR", "NP", "SL", "SN", "SH", "VV", "VA", "XR", "MM", "XPN", "XSN"})
_SKIP_FORMS = frozenset({"하", "되", "있", "없", "않", "이", "것", "수", "등", "및", "년", "월", "일"})

_lock = threading.Lock()


@lru_cache(maxsize=1)
def get_kiwi():
    """The process-wide Kiwi analyser (thread-safe to call; loads once)."""
    with _lock:
        from kiwipiepy import Kiwi

        # No multi-word dictionary: it makes "마하트마 간디" or "네이버 블로그" one term, which a question
        # saying "간디" or "블로그" cannot match, and loading it costs 1.5 s of every cold start
        # (Kiwi init + first analysis 3.3 s -> 1.8 s here). It changes the terms of 5 of the 154 demo notices.
        return Kiwi(num_workers=0, load_multi_dict=False)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each sentence in ``text``; paragraphs never share a sentence."""
    spans: list[tuple[int, int]] = []
    offset = 0
    kiwi = get_kiwi()
    for paragraph in text.split("\n"):
        stripped = paragraph.strip()
        if stripped:
            lead = paragraph.find(stripped)
            base = offset + lead
            for sent in kiwi.split_into_sents(stripped):
                start, end = base + sent.start, base + sent.end
                # Kiwi's spans can include trailing spaces; keep them tight.
                while end > start and text[end - 1].isspace():
                    end -= 1
                if end > start:
                    spans.append((start, end))
        offset += len(paragraph) + 1
    return spans


def _is_search_term(tok) -> bool:
    return tok.tag in SEARCH_TAGS and tok.form not in _SKIP_FORMS


def _terms(tokens) -> list[str]:
    return [tok.form.lower() for tok in tokens if _is_search_term(tok)]


_LATIN_OR_DIGIT = re.compile(r"[A-Za-z0-9]")


def search_terms(text: str) -> list[str]:
    """Search terms of one text (morphemes filtered by part of speech, Latin lower-cased)."""
    return search_terms_many([text])[0]


def search_tokens(text: str) -> list[tuple[int, int, str]]:
    """(start, end, term) of each search term of ``text``: the terms of search_terms with their offsets,
    so the terms of any part of the text can be read off without analysing it again."""
    if not text.strip():
        return []
    return [(tok.start, tok.start + tok.len, tok.form.lower()) for tok in get_kiwi().tokenize(text)
            if _is_search_term(tok)]


def search_terms_many(texts: Sequence[str] | Iterable[str]) -> list[list[str]]:
    """Search terms of many texts."""
    kiwi = get_kiwi()
    # One call per text: Kiwi's batch mode needs worker threads, which buy nothing on two cores.
    return [_terms(kiwi.tokenize(t)) if t.strip() else [] for t in texts]
