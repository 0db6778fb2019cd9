"""Korean text analysis with kiwipiepy: sentence spans and search terms.

One Kiwi instance per process, created on first use (it takes ~2 s to load),
never at import time. A command that answers one question from a cold start can
have that question analysed in a helper process meanwhile (``start_helper``, ``prefetch``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import islice
from typing import NamedTuple

# Morpheme tags that carry meaning for search: nouns, foreign words, numbers,
# verb/adjective stems, roots, hanja, determiners. Endings and particles are
# dropped: whitespace BM25 fails on Korean exactly because it keeps them glued.
SEARCH_TAGS = frozenset({"NNG", "NNP", "NNB", "NR", "NP", "SL", "SN", "SH", "VV", "VA", "XR", "MM", "XPN", "XSN"})
_SKIP_FORMS = frozenset({"하", "되", "있", "없", "않", "이", "것", "수", "등", "및", "년", "월", "일"})

_lock = threading.Lock()


class Token(NamedTuple):
    """One Kiwi morpheme: the fields of kiwipiepy's Token this package reads."""

    form: str
    tag: str
    start: int
    len: int


@lru_cache(maxsize=1)
def get_kiwi():
    """The process-wide Kiwi analyser (thread-safe to call; loads once)."""
    with _lock:
        from kiwipiepy import Kiwi

        # No multi-word dictionary: it makes "마하트마 간디" or "네이버 블로그" one term, which a question
        # saying "간디" or "블로그" cannot match, and loading it costs 1.5 s of every cold start
        # (Kiwi init + first analysis 3.3 s -> 1.8 s here). It changes the terms of 5 of the 154 demo notices.
        # No default dictionary (Wikipedia/Namuwiki proper nouns) either: load + first analysis 1.6 -> 1.0 s,
        # which is what brings a cold `ask` under 2 s (median 2.27 -> 1.74 s). Measured 2026-12-03 on both
        # gold sets and AutoRAGRetrieval: retrieval the same (korquad_tune hit@1 +0.001), key facts +0.007
        # dev / +0.002 korquad_tune; dev refusal 8/8 -> 7/8 (one question just above the rules' threshold).
        return Kiwi(num_workers=kiwi_workers(), load_multi_dict=False, load_default_dict=False)


def _forget_kiwi_in_child() -> None:
    # A forked child (multiprocessing's "fork") inherits the Kiwi object but not its worker threads, so
    # its first batch would wait for ever (tests/test_data_safety.py's two concurrent ingests hung so):
    # the child loads its own Kiwi on first use instead. The inherited one must never be freed, not even
    # at the child's exit: its destructor joins those threads and aborts the process ("No such process").
    global _lock
    _lock = threading.Lock()
    if get_kiwi.cache_info().currsize:
        import ctypes

        ctypes.pythonapi.Py_IncRef(ctypes.py_object(get_kiwi()))
    get_kiwi.cache_clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_kiwi_in_child)


def kiwi_workers() -> int:
    """Kiwi's worker threads: one per core up to four, none (its single-thread mode) on one core.

    Workers let Kiwi analyse a batch of texts in parallel (``_analyse_many``): the demo index's 577 chunks
    in 2.8 s against 5.3-6.0 s one by one on 2 cores, with the same tokens (2026-12-07); one question alone
    costs the same either way (1.3 ms p50). Kiwi's single-thread mode cannot take a batch at all.
    """
    cores = os.cpu_count() or 1
    return min(cores, 4) if cores > 1 else 0


def _analyse_many(texts: Iterable[str], analyse, size: int = 256) -> list:
    """``analyse(text)`` for every text, as one call ``analyse(texts)`` where Kiwi has workers (its methods
    take a text or a list of them); blank texts are not analysed (``None`` in their place). Texts are read
    ``size`` at a time, so a progress bar wrapped around them moves as they are analysed."""
    out: list = []
    texts = iter(texts)
    while part := list(islice(texts, size)):
        todo = [i for i, t in enumerate(part) if t.strip()]
        done: list = [None] * len(part)
        results = analyse([part[i] for i in todo]) if kiwi_workers() else (analyse(part[i]) for i in todo)
        for i, result in zip(todo, results):
            done[i] = result
        out.extend(done)
    return out


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each sentence in ``text``; paragraphs never share a sentence."""
    return sentence_spans_many([text])[0]


def sentence_spans_many(texts: Sequence[str]) -> list[list[tuple[int, int]]]:
    """``sentence_spans`` of many texts, their paragraphs split by Kiwi as one batch (``kiwi_workers``)."""
    kiwi = get_kiwi()
    paragraphs = [text.split("\n") for text in texts]
    split = iter(_analyse_many((p.strip() for ps in paragraphs for p in ps), kiwi.split_into_sents))
    return [_text_spans(text, ps, split) for text, ps in zip(texts, paragraphs)]


def _text_spans(text: str, paragraphs: list[str], split) -> list[tuple[int, int]]:
    """The sentence spans of ``text`` from Kiwi's sentences of its ``paragraphs`` (taken in order from ``split``)."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for paragraph in paragraphs:
        sents = next(split)
        stripped = paragraph.strip()
        if stripped:
            lead = paragraph.find(stripped)
            base = offset + lead
            mine: list[tuple[int, int]] = []
            for sent in sents:
                start, end = base + sent.start, base + sent.end
                # Kiwi's spans can include trailing spaces; keep them tight.
                while end > start and text[end - 1].isspace():
                    end -= 1
                if end > start:
                    mine.append((start, end))
            spans.extend(_notes_forward(text, _bullets_forward(text, mine)))
        offset += len(paragraph) + 1
    return spans


# The markers that open a list item or a note in notices ("○ …", "※ …", "① …").
_MARKS = r"○●◦▪■□◇◆▶▷※ㅇ•\-–①-⑳"
# An item's marker that Kiwi leaves at the end of the sentence before it ("… 진행된다. ○ 첫 번째 …" splits
# as "… 진행된다. ○" + "첫 번째 …"): 258 of the demo index's 2,058 sentences ended so, in 47 of its 153
# notices, which put stray markers in quotes and hid the items from list detection.
_TRAILING_MARKER = re.compile(rf"\s+([{_MARKS}])$")
# A quoted name that opens the next sentence, which Kiwi leaves after the period of the one before
# ("… 나타났다. ' 시 '" + "에서는 울산 …"; "… 마련된다. ○ ' 국제소방안전박람회 '" + "는 2003년 …"): 38 of
# the demo corpus's 2,056 sentences ended so, in 26 of its 154 notices (2026-12-05), which left the next
# quote opening on a particle and its subject's words in the wrong sentence. After a sentence's final
# stop a quote can only open (a footnote's "*" may lead it: "… 밝혔다. * 「혈액관리법」" + "개정('21.12.)으로 …").
_TRAILING_QUOTED = re.compile(
    rf"(?<=[.!?])\s+((?:[{_MARKS}*]\s*)?['‘\"“「『][^'‘’\"“”「」『』\n]{{1,60}}['’\"”」』])$")
_LEADING_MARKER = re.compile(rf"[{_MARKS}]\s")


# A footnote after a sentence's final stop ("… 모색한다. * (논의주제) ▲…, ▲…"): Kiwi does not split before
# "*", so the note's label ended the sentence before it and its items opened the next one without it, or
# the whole note stayed glued to that sentence ("… 출동시키기로 했다. * 소방펌프차와 구급차를 합성한 용어로 …").
# 117 of the demo index's 2,059 sentences held a note's start after a stop, 21 of them with the note's first
# words (2026-12-06; korquad_tune has none).
_NOTE_START = re.compile(r"(?<=[.!?])\s+(?=\*{1,3}(?:\s|[(\[▲]|$))")
_ENDS_AS_SENTENCE = re.compile(r"[.!?][)'’\"”」』]*$")


def _notes_forward(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``spans`` split where a footnote starts after a sentence's final stop; a note's opening left at the
    end of a sentence (its marker and label, no stop of its own) goes on to the sentence that follows."""
    out: list[tuple[int, int]] = []
    carry = None  # where a note's opening, moved forward, starts
    for k, (start, end) in enumerate(spans):
        if carry is not None:
            start, carry = carry, None
        cuts = [m.end() for m in _NOTE_START.finditer(text, start, end)]
        bounds = [start, *cuts]
        pieces = []
        for a, b in zip(bounds, [*cuts, end]):
            while b > a and text[b - 1].isspace():
                b -= 1
            if b > a:
                pieces.append((a, b))
        last = pieces[-1]
        if cuts and last[0] == cuts[-1] and k < len(spans) - 1 and not _ENDS_AS_SENTENCE.search(text, *last) \
                and last[1] - last[0] <= 40:
            carry = last[0]
            pieces.pop()
        out.extend(pieces)
    return out


def _bullets_forward(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``spans`` (one paragraph's sentences) with a marker that ends a sentence moved to the next one, and a
    quoted name after a sentence's final stop moved to the sentence it opens ("' 시 ' 에서는 …"), or made
    a sentence of its own where none follows or the next opens with its own marker (a quoted subtitle:
    "… 증명되었다. □ "보이지 않는 연기 속, …" ○ 이어 …")."""
    out = list(spans)
    i = 0
    while i < len(out):
        start, end = out[i]
        last = i == len(out) - 1
        marker = None if last else _TRAILING_MARKER.search(text, start, end)
        if marker and marker.start() > start:
            out[i] = (start, end := marker.start())
            out[i + 1] = (marker.start(1), out[i + 1][1])
        quoted = _TRAILING_QUOTED.search(text, start, end)
        if quoted and quoted.start() > start:
            out[i] = (start, quoted.start())
            if last or _LEADING_MARKER.match(text, out[i + 1][0]):
                out.insert(i + 1, (quoted.start(1), end))
                i += 1
            else:
                out[i + 1] = (quoted.start(1), out[i + 1][1])
        i += 1
    return out


def _is_search_term(tok) -> bool:
    return tok.tag in SEARCH_TAGS and tok.form not in _SKIP_FORMS


def _terms(tokens) -> list[str]:
    return [tok.form.lower() for tok in tokens if _is_search_term(tok)]


_LATIN_OR_DIGIT = re.compile(r"[A-Za-z0-9]")


# -- one text at a time, memoised (a question is analysed by retrieval and by the answerer) ----------
_MEMO_SIZE = 512
_memo: OrderedDict[str, tuple[Token, ...]] = OrderedDict()
_memo_lock = threading.Lock()
_helper: subprocess.Popen | None = None  # started, question not yet sent
_pending: tuple[tuple[str, ...], subprocess.Popen] | None = None  # question sent, tokens not yet read
# The helper runs this package's own get_kiwi, so its tokens are the ones this process would make.
_WORKER = (sys.executable, "-c", "from ingest.korean import _serve_prefetch; _serve_prefetch()")


def start_helper() -> bool:
    """Start loading Kiwi in a helper process now, for texts that ``prefetch`` sends it later.

    Kiwi's load and first analysis take ~1.9 s of a cold ``ask`` and hold the GIL throughout, so a
    thread cannot overlap them with loading the index and the embedder (measured: slower); a second
    process can, on a second core. A command calls this as early as it can, before it even knows its
    question. Nothing happens when this process already has Kiwi. False when not started.
    """
    global _helper
    with _memo_lock:
        if get_kiwi.cache_info().currsize or _helper is not None or _pending is not None:
            return False
        try:
            _helper = subprocess.Popen(_WORKER, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL)
        except OSError:
            return False
        return True


def prefetch(texts: Sequence[str]) -> bool:
    """Have the helper analyse ``texts`` (starting it if needed) while this process loads the rest.

    ``tokenize`` collects the result when it is first asked for one of ``texts``; if the helper
    fails, it analyses in this process as before. False when no helper took them.
    """
    global _helper, _pending
    if not texts:
        return False
    start_helper()
    with _memo_lock:
        proc, _helper = _helper, None
        if proc is None:
            return False
        try:
            proc.stdin.write(json.dumps(list(texts), ensure_ascii=False).encode("utf-8") + b"\n")
            proc.stdin.close()
        except OSError:
            proc.kill()
            return False
        proc.stdin = None  # sent in full: communicate() must not flush it again
        _pending = (tuple(texts), proc)
        return True


def _serve_prefetch() -> None:
    """The helper's side: load Kiwi, then tokens (JSON on stdout) of the texts that arrive on stdin."""
    kiwi = get_kiwi()
    kiwi.tokenize("준비")  # Kiwi builds its analyser at the first analysis: do it before the texts come
    line = sys.stdin.buffer.readline()
    if not line:
        return  # the command ended without a question (--help, a bad option)
    texts = json.loads(line.decode("utf-8"))
    out = [[(t.form, t.tag, t.start, t.len) for t in kiwi.tokenize(text)] if text.strip() else [] for text in texts]
    sys.stdout.buffer.write(json.dumps(out, ensure_ascii=False).encode("utf-8"))


def _collect_prefetched(text: str) -> None:
    """Wait for the helper when it holds ``text`` and memoise all it analysed (nothing on failure)."""
    global _pending
    with _memo_lock:
        if _pending is None or text not in _pending[0]:
            return
        texts, proc = _pending
        _pending = None
    try:
        out, _ = proc.communicate(timeout=120)
        analysed = json.loads(out.decode("utf-8")) if proc.returncode == 0 else None
    except (subprocess.TimeoutExpired, ValueError, UnicodeDecodeError):
        proc.kill()
        proc.wait()
        analysed = None
    if isinstance(analysed, list) and len(analysed) == len(texts):
        for t, tokens in zip(texts, analysed):
            _remember(t, tuple(Token(*tok) for tok in tokens))


def _remember(text: str, tokens: tuple[Token, ...]) -> None:
    with _memo_lock:
        _memo[text] = tokens
        _memo.move_to_end(text)
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)


def tokenize(text: str) -> tuple[Token, ...]:
    """Kiwi's tokens of one text (memoised; taken from ``prefetch``'s helper when it analysed it)."""
    with _memo_lock:
        found = _memo.get(text)
    if found is None:
        _collect_prefetched(text)
        with _memo_lock:
            found = _memo.get(text)
    if found is None:
        found = tuple(Token(t.form, t.tag, t.start, t.len) for t in get_kiwi().tokenize(text)) if text.strip() else ()
        _remember(text, found)
    return found


def search_terms(text: str) -> list[str]:
    """Search terms of one text (morphemes filtered by part of speech, Latin lower-cased)."""
    return _terms(tokenize(text))


def search_tokens(text: str) -> list[tuple[int, int, str]]:
    """(start, end, term) of each search term of ``text``: the terms of search_terms with their offsets,
    so the terms of any part of the text can be read off without analysing it again."""
    return search_tokens_many([text])[0]


def _offset_terms(tokens) -> list[tuple[int, int, str]]:
    return [(tok.start, tok.start + tok.len, tok.form.lower()) for tok in tokens if _is_search_term(tok)]


def search_tokens_many(texts: Sequence[str] | Iterable[str]) -> list[list[tuple[int, int, str]]]:
    """``search_tokens`` of many texts, analysed as one batch (``kiwi_workers``)."""
    kiwi = get_kiwi()
    return [_offset_terms(tokens) if tokens is not None else []
            for tokens in _analyse_many(texts, kiwi.tokenize)]


def search_terms_many(texts: Sequence[str] | Iterable[str]) -> list[list[str]]:
    """Search terms of many texts, analysed as one batch (``kiwi_workers``)."""
    kiwi = get_kiwi()
    return [_terms(tokens) if tokens is not None else []
            for tokens in _analyse_many(texts, kiwi.tokenize)]
