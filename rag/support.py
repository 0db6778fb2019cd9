"""The support check: is each sentence of a model's reply supported by the passage it cites?

Each sentence must resemble the passage it cites (a score fitted on labelled real model sentences,
over embedding similarity, shared key terms and character bigrams), use only numbers, names and
nouns that the passage contains, and add no negation that the passage sentences it matches do not
make. A sentence citing a passage that does not exist is rejected; one without any marker is judged
against its nearest passage and cited to it when it passes. ``SupportChecker`` gives each sentence
its verdict; rag/generate.py builds the answer from the verdicts.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.embed import Embedder
from rag.prompt import Passage
from rag.types import AnswerSentence

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------------------
# constants

# A sentence is supported by a passage it cites when every number and name in it occurs in the
# passages it cites (exact agreement: the errors similarity cannot see), and, for a Korean sentence
# (Hangul at least KOREAN_SHARE of its letters),
#
#     p = sigmoid(bias + Σ weight_f × feature_f)  >=  threshold
#
# over these features of the sentence against that passage:
# embed   cosine of the sentence to its best-matching passage sentence (or the whole passage),
#         rescaled against a per-sentence floor: the median cosine of the same sentence to
#         REFERENCE_SENTENCES, unrelated Korean press-release sentences. Small multilingual encoders
#         put any two Korean sentences at cosine 0.8-0.9 (e5-small: unrelated notices ~0.86, a
#         faithful paraphrase ~0.95-0.99), so the floor turns raw cosine into "how far above an
#         unrelated notice" (0 = no closer, 1 = the same text).
# terms   share of the sentence's key terms (Kiwi nouns, stems, Latin words) found in the passage
# chars   share of the character bigrams of those key terms found in the passage (counts a partly
#         matching compound; ignores the endings and particles a restatement changes)
# elsewhere  the same share in the best of the prompt's other notices (those it does not cite)
# The weights and the threshold are fitted by eval/fit_support.py on half of a labelled set of real
# model sentences and reported on the other half (rag/support_weights.json); another embedder shifts
# the embed feature, so refit if PRESSRAG_EMBED_MODEL changes.
#
# An English sentence over Korean notices shares no terms with them, and the recorded model never
# wrote one (it answered English questions in Korean), so nothing could be fitted for it: it keeps the
# rule set by hand on hand-written restatements, score = embed >= CROSS_LINGUAL_THRESHOLD (English
# restatements scored 0.23-0.56, the same sentences against a wrong notice 0.00-0.15).
SUPPORT_FEATURES = ("embed", "terms", "chars", "elsewhere")
# the sign each weight must have: more similarity to the cited notice never means less support,
# more similarity to a notice it does not cite never means more
SUPPORT_SIGNS = (1, 1, 1, -1)
KOREAN_SHARE = 0.5
CROSS_LINGUAL_THRESHOLD = 0.20
SUPPORT_WEIGHTS_FILE = Path(__file__).with_name("support_weights.json")


@dataclass(frozen=True)
class SupportModel:
    """The fitted support score: logistic over SUPPORT_FEATURES, and the threshold on it."""

    weights: tuple[float, ...]
    bias: float
    threshold: float

    @classmethod
    def load(cls, path: Path = SUPPORT_WEIGHTS_FILE) -> SupportModel:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if tuple(data.get("features", ())) != SUPPORT_FEATURES:
            raise ValueError(f"{path}: fitted for features {data.get('features')}, expected {list(SUPPORT_FEATURES)}")
        return cls(weights=tuple(float(w) for w in data["weights"]), bias=float(data["bias"]),
                   threshold=float(data["threshold"]))

    def probability(self, features: Mapping[str, float]) -> float:
        z = self.bias + sum(w * features[f] for w, f in zip(self.weights, SUPPORT_FEATURES))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


REFERENCE_SENTENCES = (
    "농림축산식품부는 쌀 수급 안정을 위해 공공비축미를 추가로 매입한다고 밝혔다.",
    "기상청은 이번 주말 남부 지방에 강한 비가 내릴 것으로 예보했다.",
    "문화체육관광부는 지역 축제 활성화를 위한 공모 사업 결과를 발표했다.",
    "해양수산부는 연안 어선의 구명조끼 착용 점검을 강화하기로 했다.",
    "교육부는 초등학교 돌봄교실 운영 시간을 저녁까지 늘린다고 밝혔다.",
    "국토교통부는 고속도로 휴게소 편의시설 개선 계획을 내놓았다.",
    "보건복지부는 독감 예방접종 대상을 어르신과 어린이로 확대한다.",
    "산림청은 봄철 산불 예방을 위해 일부 등산로의 입산을 통제한다.",
)

# The model's own "not in the sources" statements (checked on uncited sentences only).
NOT_FOUND = re.compile(
    r"(찾을\s*수\s*없|찾지\s*못|확인(할|되지|이)\s*(수\s*)?(없|않)|(포함|언급|제시|명시|기재|나와)\s*(되어|돼)?\s*있지\s*않"
    r"|(내용|정보|답|언급)[은는이가]?\s*없|알\s*수\s*없"
    r"|do(es)?\s*not\s*(contain|mention|include|provide|say|specify|state)|don'?t\s*(contain|mention|say)"
    r"|cannot\s*(find|answer|be\s*(found|answered|determined))|can'?t\s*(find|answer)|unable\s*to\s*(find|answer|determine)"
    r"|no\s*(information|mention|answer)|not\s*(found|mentioned|available|specified|stated|provided))",
    re.IGNORECASE,
)

MARKER = re.compile(r"\[\s*(\d{1,3}(?:\s*[,，]\s*\d{1,3})*)\s*\]")
_MARKER_SRC = r"\[\s*\d{1,3}(?:\s*[,，]\s*\d{1,3})*\s*\]"
# Sentence end: terminal punctuation, closing quotes/brackets, then any citation markers,
# then whitespace or end of line.
_BOUNDARY = re.compile(r"[.!?。！？]+[\"'”’」』)）]*(?:\s*" + _MARKER_SRC + r")*(?=\s|$)")
_DOTTED_DATE = re.compile(r"\d{2,4}\.\s?\d{1,2}\.\s?\d{1,2}$")
_LIST_PREFIX = re.compile(r"^\s*(?:[-*•·▪○●□■◦]|\d{1,2}[.)])\s+")
_NUMBER_UNIT = re.compile(r"(\d+(?:[,，]\d{3})*(?:\.\d+)?)\s*(천만|백만|천억|백억|십억|만|억|조|천|"
                          r"thousand|million|billion|trillion)?", re.IGNORECASE)
THINK = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL | re.IGNORECASE)
_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_LATIN = re.compile(r"[A-Za-z]")
_DIGITS_ONLY = re.compile(r"^[\d.,]+$")
_NUMERAL_WORD = re.compile(r"^[십백천만억조]+$")


# ----------------------------------------------------------------------------------------
# splitting the model's answer


@dataclass
class _Sentence:
    raw: str  # as written, markers included
    clean: str  # markers removed
    cited: tuple[int, ...]  # numbers as written, in order, deduplicated
    line: int
    prefix: str = ""  # list bullet of its line ("- ", "1. "), re-emitted when the line keeps a sentence


def _clean(raw: str) -> str:
    text = MARKER.sub(" ", raw)
    text = re.sub(r"\s+([.,!?。])", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


def _cited(raw: str) -> tuple[int, ...]:
    numbers: list[int] = []
    for m in MARKER.finditer(raw):
        for part in re.split(r"[,，]", m.group(1)):
            value = int(part.strip())
            if value not in numbers:
                numbers.append(value)
    return tuple(numbers)


def _is_boundary(line: str, m: re.Match) -> bool:
    start = m.start()
    after = line[m.end():].lstrip()
    # "2026. 6. 1." — a period after a digit followed by another digit is a date, not an end
    if start > 0 and line[start - 1].isdigit() and after[:1].isdigit() and line[start] == ".":
        return False
    # "2026. 6. 1. 계획을…" — the last period of a dotted date ends no sentence
    if line[start] == "." and _DOTTED_DATE.search(line, 0, start):
        return False
    # "U.S.", "e.g." — a single Latin letter before the period
    if line[start] == "." and start > 0 and _LATIN.match(line[start - 1]) \
            and (start < 2 or not line[start - 2].isalpha()):
        return False
    return True


def split_sentences(text: str) -> list[_Sentence]:
    """Sentences of an answer, each keeping the [n] markers that follow or sit inside it."""
    out: list[_Sentence] = []
    for line_no, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        prefix = ""
        m = _LIST_PREFIX.match(line)
        if m:
            prefix, line = m.group(0).strip() + " ", line[m.end():]
        if MARKER.sub("", line).strip() == "" and out:
            # a line of markers only belongs to the sentence before it
            last = out[-1]
            last.raw = f"{last.raw} {line.strip()}"
            last.cited = _cited(last.raw)
            continue
        pieces: list[str] = []
        begin = 0
        for b in _BOUNDARY.finditer(line):
            if b.end() <= begin or not _is_boundary(line, b):
                continue
            pieces.append(line[begin:b.end()])
            begin = b.end()
        pieces.append(line[begin:])
        for piece in pieces:
            piece = piece.strip()
            if not piece:
                continue
            if not MARKER.sub("", piece).strip(" .") and out and out[-1].line == line_no:
                out[-1].raw += " " + piece
                out[-1].cited = _cited(out[-1].raw)
                continue
            out.append(_Sentence(raw=piece, clean=_clean(piece), cited=_cited(piece), line=line_no,
                                 prefix=prefix))
    return out


_UNITS = {"천만": 1e7, "백만": 1e6, "천억": 1e11, "백억": 1e10, "십억": 1e9, "만": 1e4, "억": 1e8, "조": 1e12,
          "천": 1e3, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}


def _norm(value: float) -> str:
    return f"{value:.6g}"


def number_mentions(text: str) -> list[frozenset[str]]:
    """Each number in a text as the values it may stand for: as written, and scaled by its unit.

    "3,000만 원" → {"3000", "3e+07"}; "30 million won" → {"30", "3e+07"}; "06" → {"6"};
    "150%" → {"150"}. A sentence's number is backed by a passage when the two share a value,
    so "3,000만 원" in a notice backs "3천만 원" and "30 million won" in an answer.
    """
    mentions = []
    for m in _NUMBER_UNIT.finditer(text):
        raw = float(m.group(1).replace(",", "").replace("，", ""))
        values = {_norm(raw)}
        unit = (m.group(2) or "").lower()
        if unit in _UNITS:
            values.add(_norm(raw * _UNITS[unit]))
        mentions.append(frozenset(values))
    return mentions


def _values(text: str) -> set[str]:
    return set().union(*number_mentions(text))


def hangul_share(text: str) -> float:
    hangul = len(_HANGUL.findall(text))
    latin = len(_LATIN.findall(text))
    return hangul / (hangul + latin) if hangul + latin else 0.0


def _squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def _char_bigrams(text: str) -> set[str]:
    """Character bigrams inside words (a one-character word counts as itself)."""
    grams: set[str] = set()
    for word in re.findall(r"\w+", text.lower()):
        grams.update(word[i:i + 2] for i in range(max(1, len(word) - 1)))
    return grams


def proper_nouns(text: str) -> list[str]:
    """Names in ``text``: Kiwi's proper nouns (NNP) of two or more characters and Latin words, as
    written. The check requires each to occur in the passage a sentence cites, because a wrong name
    is the one error embedding similarity barely sees."""
    if not text.strip():
        return []
    return [tok.form for tok in _tokenize(text) if tok.tag in ("NNP", "SL") and len(tok.form) > 1]


_SINGLE = frozenset({"NNG", "NNP", "NNB", "XPN"})


def claim_words(text: str, tokens: Sequence | None = None) -> tuple[list[str], list[str]]:
    """(names, other nouns) a Korean sentence states, each of which its cited notice must contain.

    names: Kiwi's NNP and Latin words of two or more characters, and runs of two or more adjoining
    one-syllable nouns, which is how Kiwi splits a name it does not know (고광완 -> 고/광/완).
    other nouns: every other noun of two or more syllables, except one used as a verb stem
    (제시했다, 발표됐다): a restatement changes the verbs and endings of its notice, not its nouns.

    Why nouns and not only names: on half A of the labelled real model sentences (eval/fit_support.py)
    requiring them rejected 7 more of 77 wrong facts and 1 more of 12 other unsupported claims, and no
    supported sentence: the recorded model copies its nouns, and its real errors add one (a framing
    word of the question, a name Kiwi tags NNG in that context). ``tokens``: Kiwi's tokens of ``text``
    when the caller has them."""
    if not text.strip():
        return [], []
    tokens = list(tokens if tokens is not None else _tokenize(text))
    names: list[str] = []
    nouns: list[str] = []
    run: list = []  # adjoining one-syllable nouns so far
    for i, tok in enumerate(tokens + [None]):
        single = tok is not None and tok.tag in _SINGLE and len(tok.form) == 1
        if single and run and run[-1].start + run[-1].len == tok.start:
            run.append(tok)
            continue
        if len(run) >= 2:
            names.append(text[run[0].start:run[-1].start + run[-1].len])
        run = [tok] if single else []
        if tok is None or single or len(tok.form) < 2:
            continue
        if tok.tag in ("NNP", "SL"):
            names.append(tok.form)
        elif tok.tag == "NNG" and not (i + 1 < len(tokens) and tokens[i + 1].tag in ("XSV", "XSA")):
            nouns.append(tok.form)
    return list(dict.fromkeys(names)), list(dict.fromkeys(n for n in nouns if n not in names))


# Kiwi's negators: 않다 (auxiliary), 못/안 (adverbs), 아니다, 없다.
_NEGATORS = frozenset({("않", "VX"), ("못", "MAG"), ("안", "MAG"), ("아니", "VCN"), ("없", "VA")})


def negations(text: str, tokens: Sequence | None = None) -> int:
    """How many negators ``text`` uses (체결하지 않았다, 못했다, 없다, 아니다)."""
    if not text.strip():
        return 0
    tokens = tokens if tokens is not None else _tokenize(text)
    return sum((tok.form, tok.tag.split("-")[0]) in _NEGATORS for tok in tokens)


def _tokenize(text: str) -> tuple:
    """Kiwi's tokens, through the package's memo: a supported sentence is analysed once, however many
    checks read it."""
    from ingest.korean import tokenize

    return tokenize(text)


def _negations(text: str) -> int:
    try:
        return negations(text)
    except Exception:  # noqa: BLE001 - the check must not die on the analyser
        return 0


def _claims(text: str) -> tuple[list[str], list[str], bool]:
    """(names, nouns, negated) of a Korean sentence, from one Kiwi pass."""
    try:
        tokens = _tokenize(text) if text.strip() else []
        return (*claim_words(text, tokens), negations(text, tokens) > 0)
    except Exception:  # noqa: BLE001 - the check must not die on the analyser
        return [], [], False


def _absent(sup: "SentenceSupport", squashed: str) -> str:
    """Why a sentence fails the word check against a passage text (squashed), or ""."""
    for kind, words in (("name", sup.names), ("word", sup.nouns)):
        missing = [w for w in words if _squash(w) not in squashed]
        if missing:
            return f"a {kind} the cited notice does not contain ({missing[0]})"
    return ""


def _mention_text(text: str, mention: frozenset[str]) -> str:
    for m in _NUMBER_UNIT.finditer(text):
        if number_mentions(m.group(0))[:1] == [mention]:
            return m.group(0).strip()
    return sorted(mention)[0]


def _targets(s: _Sentence, by_n: Mapping[int, Passage]) -> tuple[int, ...]:
    """The passages a sentence is checked against: those it cites that exist; every passage for a
    sentence without markers (small models often drop them on sentences copied from a passage), and
    none for one citing only numbers that no passage has."""
    if s.cited:
        return tuple(dict.fromkeys(n for n in s.cited if n in by_n))
    if not re.search(r"\w", s.clean) or NOT_FOUND.search(s.clean):
        return ()
    return tuple(sorted(by_n))


@dataclass
class SentenceSupport:
    """What the check knows of one sentence: features per passage it is checked against (its
    ``targets``), best passage sentence, and the names, nouns and negation it states."""

    hangul: float
    targets: tuple[int, ...] = ()
    features: dict[int, dict[str, float]] = field(default_factory=dict)
    best: dict[int, int] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    nouns: list[str] = field(default_factory=list)
    negated: bool = False


def _prepare_text(p: Passage) -> None:
    """The passage's key terms, numbers, bigrams and squashed text (no embedding), once."""
    if p._terms is None:
        p._terms = _key_terms([p.text])[0]
        p._numbers = _values(p.text)
        p._bigrams = _char_bigrams(p.text)
        p._squashed = _squash(p.text)


def _key_terms(texts: Sequence[str]) -> list[set[str]]:
    """Key terms of each text: Kiwi search terms without digits and single characters (plain words without Kiwi)."""
    try:
        from ingest.korean import search_terms

        raw = [search_terms(t) for t in texts]
    except Exception:  # noqa: BLE001 - the check must not die on the analyser
        raw = [re.findall(r"[\w]+", t.lower()) for t in texts]
    # single characters (만, 원, 월 …) are units and bound nouns that any two notices share; numeral
    # words (천만, 십억) are the number rule's business ("3천만" restates "3,000만")
    return [{t for t in terms if len(t) > 1 and not _DIGITS_ONLY.match(t) and not _NUMERAL_WORD.match(t)}
            for terms in raw]


# ----------------------------------------------------------------------------------------
# the checker


# A sentence, the passages kept as its citations (none: rejected), the (passage, sentence index) pairs
# quoted as its support, and why it was rejected ("" when kept).
Verdict = tuple[_Sentence, list[int], list[tuple[int, int]], str]


class SupportChecker:
    """Judges each sentence of a model's reply against the passages its prompt showed.

    ``embedder`` embeds the reply's sentences, the passages' sentences and REFERENCE_SENTENCES (the
    floor of the embed feature); ``support`` is the fitted score (the shipped weights by default).
    """

    def __init__(self, embedder: Embedder, support: SupportModel | None = None):
        self.embedder = embedder
        self.support = support or SupportModel.load()
        self._reference_vectors: np.ndarray | None = None

    def _references(self) -> np.ndarray:
        if self._reference_vectors is None:
            self._reference_vectors = np.asarray(self.embedder.embed_passages(list(REFERENCE_SENTENCES)), np.float32)
        return self._reference_vectors

    def prepare(self, p: Passage) -> None:
        _prepare_text(p)
        if p._vectors is None:
            units = list(p.sentences)
            if len(units) > 1:
                units.append(" ".join(p.sentences))
            p._vectors = np.asarray(self.embedder.embed_passages(units), np.float32)

    def support_features(self, sentences: Sequence[_Sentence], by_n: Mapping[int, Passage]) -> list[SentenceSupport]:
        """Per sentence: its features against each existing passage it cites, its best-matching
        passage sentence there, and the names, nouns and negation it states. Empty for a sentence citing
        no existing passage."""
        out = [SentenceSupport(hangul=hangul_share(s.clean), targets=_targets(s, by_n)) for s in sentences]
        checkable = [i for i, sup in enumerate(out) if sentences[i].clean and sup.targets]
        if not checkable:
            return out
        for n in sorted({n for i in checkable for n in out[i].targets}):
            self.prepare(by_n[n])
        for p in by_n.values():
            _prepare_text(p)
        texts = [sentences[i].clean for i in checkable]
        vectors = np.asarray(self.embedder.embed_passages(texts), np.float32)
        floors = np.median(vectors @ self._references().T, axis=1)
        terms = _key_terms(texts)
        for row, i in enumerate(checkable):
            s, support = sentences[i], out[i]
            vec, floor, sent_terms = vectors[row], float(floors[row]), terms[row]
            # bigrams of the content words only: a restatement's other endings (했다/했습니다) and
            # particles must not count against it, a changed word must
            grams = set().union(*(_char_bigrams(t) for t in sent_terms)) if sent_terms else set()
            h = support.hangul
            # Names, nouns and negations are checked in Korean sentences only: an English sentence
            # romanises the notice's names and words its claims in other terms.
            if h >= KOREAN_SHARE:
                support.names, support.nouns, support.negated = _claims(s.clean)
            def chars_in(p: Passage) -> float:
                return len(grams & p._bigrams) / len(grams) if grams else 0.0

            for n in support.targets:
                p = by_n[n]
                sims = p._vectors @ vec
                scaled = np.clip((sims - floor) / max(1e-6, 1.0 - floor), 0.0, 1.0)
                recall = len(sent_terms & p._terms) / len(sent_terms) if sent_terms else 0.0
                # the best match among the notices it does not cite: copied from another notice and
                # cited to this one is the commonest real citation error
                others = [q for m, q in by_n.items() if m != n and m not in s.cited]
                elsewhere = max((chars_in(q) for q in others), default=0.0)
                support.features[n] = {"embed": float(scaled.max()), "terms": recall, "chars": chars_in(p),
                                       "elsewhere": elsewhere}
                support.best[n] = int(np.argmax(sims[:len(p.sentences)]))
        return out

    def _score(self, sup: SentenceSupport, n: int) -> tuple[float, float]:
        """(support score, the score it needs) of a sentence against passage ``n``."""
        features = sup.features[n]
        if sup.hangul >= KOREAN_SHARE:
            return self.support.probability(features), self.support.threshold
        return features["embed"], CROSS_LINGUAL_THRESHOLD

    def _verdict(self, s: _Sentence, sup: SentenceSupport, by_n: Mapping[int, Passage]
                 ) -> tuple[list[int], list[tuple[int, int]], str]:
        """(passages kept as its citations, (passage, sentence) pairs quoted as support, why it was rejected).

        Rejected (nothing kept) unless a cited passage scores at or above the threshold and the kept
        passages hold every number, name and noun the sentence uses (see claim_words)."""
        if not sup.features:
            reason = ("cites no notice" if not s.cited else
                      f"cites {', '.join(f'[{n}]' for n in s.cited)}, which no retrieved notice has")
            return [], [], reason
        valid = list(sup.targets)
        if not s.cited:  # no marker: judged against the one notice it is closest to, cited if it passes
            valid = [max(valid, key=lambda n: self._score(sup, n)[0])]
        needed = number_mentions(s.clean)
        # exact agreement first: its reasons are the ones a reader can check
        cited_numbers: set[str] = set().union(*(by_n[n]._numbers for n in valid))
        missing = [m for m in needed if not m & cited_numbers]
        if missing:
            return [], [], f"a number the cited notice does not contain ({_mention_text(s.clean, missing[0])})"
        cited_text = "".join(by_n[n]._squashed for n in valid)
        absent = _absent(sup, cited_text)
        if absent:
            return [], [], absent
        scores = {n: self._score(sup, n) for n in valid}
        kept = [n for n in valid if scores[n][0] >= scores[n][1]]
        covered: set[str] = set().union(*(by_n[n]._numbers for n in kept)) if kept else set()
        for n in valid:  # a cited passage that backs a number the others lack stays cited
            if n not in kept and any(not (m & covered) and m & by_n[n]._numbers for m in needed):
                kept.append(n)
                covered |= by_n[n]._numbers
        if not any(scores[n][0] >= scores[n][1] for n in kept):
            best = max(scores.values())
            return [], [], f"not close enough to the notice it cites (support {best[0]:.2f}, needs {best[1]:.2f})"
        missing = [m for m in needed if not m & covered]
        if missing:  # only in passages whose text the sentence does not resemble
            return [], [], f"a number the cited notice does not contain ({_mention_text(s.clean, missing[0])})"
        absent = _absent(sup, "".join(by_n[n]._squashed for n in kept))
        if absent:
            return [], [], absent
        kept.sort(key=valid.index)
        support: list[tuple[int, int]] = []
        for n in kept:
            p = by_n[n]
            picks = [sup.best.get(n, 0)]
            held = _values(p.sentences[picks[0]])
            lacking = [m for m in needed if m & p._numbers and not m & held]
            for j, sentence in enumerate(p.sentences):  # add the sentences that hold the other numbers
                if not lacking:
                    break
                values = _values(sentence)
                if j not in picks and any(m & values for m in lacking):
                    picks.append(j)
                    lacking = [m for m in lacking if not m & values]
            support.extend((n, j) for j in picks)
        # a negation the notice does not make reverses the claim while keeping every word of it
        if sup.negated and not any(_negations(by_n[n].sentences[j]) for n, j in support):
            return [], [], "a negation the cited notice does not make"
        return kept, support, ""

    def marks(self, text: str, passages: Sequence[Passage], done: int) -> list[AnswerSentence]:
        """check_complete on a streamed draft (its ``<think>`` block removed); never raises."""
        try:
            return self.check_complete(THINK.sub("", text), passages, done)
        except Exception:  # noqa: BLE001 - marking a draft must never stop the answer
            log.debug("marking a streamed sentence failed", exc_info=True)
            return []

    def check_complete(self, text: str, passages: Sequence[Passage], done: int = 0) -> list[AnswerSentence]:
        """Verdicts on the sentences of a reply still being written that are complete (another sentence
        with words has begun after them), from the ``done``-th on: for marking a streaming draft."""
        sentences = split_sentences(text)
        complete = len(sentences)
        while complete and not re.search(r"\w", MARKER.sub("", sentences[complete - 1].clean)):
            complete -= 1
        complete -= 1  # the last sentence with words may still grow
        if complete <= done:
            return []
        return [AnswerSentence(text=s.clean, citations=tuple(kept), supported=bool(kept), reason=reason)
                for s, kept, _, reason in self._judge(sentences[done:complete], passages)]

    def verdicts(self, text: str, passages: Sequence[Passage]) -> list[Verdict]:
        """The verdict on each sentence of a complete reply, in the order the model wrote them."""
        return self._judge(split_sentences(text), passages)

    def _judge(self, sentences: Sequence[_Sentence], passages: Sequence[Passage]) -> list[Verdict]:
        by_n = {p.n: p for p in passages}
        supports = self.support_features(sentences, by_n)
        return [(s, *self._verdict(s, sup, by_n)) for s, sup in zip(sentences, supports)]
