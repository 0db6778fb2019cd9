"""Extractive answers: the sentences of the retrieved notices that answer the question, cited.

No language model is needed. Each candidate sentence (the sentences of the top
chunks, whose body offsets the chunker stored) is scored by how much of the
question's weighted vocabulary it carries, with the rank of its chunk as a
prior and, for questions in another language than the notices, by embedding
similarity. The best sentences are quoted verbatim, in document order within a
notice, enumerations kept whole, near-duplicates dropped, each marked [n].

A question is refused when the best evidence is too weak: too little of the
question's distinctive vocabulary occurs near the best sentence. The
threshold was calibrated on the gold set's unanswerable questions (see eval/README.md).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ingest.korean import search_terms
from ingest.models import Chunk, Notice
from ingest.normalize import squash
from rag.embed import Embedder
from rag.index import NoticeIndex
from rag.types import Answer, AnswerSentence, Citation, Retrieval

REFUSAL_TEXT = "제공된 보도자료에서 이 질문에 대한 답을 찾지 못했습니다. (The notices do not contain an answer to this question.)"
ENGLISH_NOTE = "Answer quoted from the Korean source notices."

_CONTACT_QUESTION = re.compile(
    r"담당자|담당 ?부서|연락처|전화번호|문의처|어디에 문의|누구에게 (?:문의|연락)|연락해야|"
    r"\bcontact\b|\bin charge\b|phone number|whom should i|who should i (?:call|ask)",
    re.IGNORECASE,
)
# Items of an enumeration, as press releases write them.
_ITEM_START = re.compile(r"^\s*(?:첫째|둘째|셋째|넷째|다섯째|여섯째|일곱째|여덟째|아홉째|열째|[①-⑳]|\d{1,2}[.)]\s|[○●◦▲△■□◆◇•ㅇ-]\s?)")
_ENUM_HEAD = re.compile(r"(\d+|두|세|네|다섯|여섯|일곱|여덟|아홉|열)\s?(?:대|가지|개)\s?(?:전략|과제|원칙|분야|방향|목표|항목|사업|내용|요소)|다음과 같|다음과 같다|주요 내용은")
_HANGUL = re.compile(r"[가-힣]")
_LATIN = re.compile(r"[A-Za-z]")


def is_contact_question(question: str) -> bool:
    return bool(_CONTACT_QUESTION.search(question))


def question_language(question: str) -> str:
    """'en' when Latin letters clearly outnumber Hangul, else 'ko'."""
    hangul = len(_HANGUL.findall(question))
    latin = len(_LATIN.findall(question))
    return "en" if latin > 2 * hangul else "ko"


@dataclass(frozen=True)
class _Candidate:
    doc_id: str
    start: int
    end: int
    text: str
    chunk_rank: int
    score: float = 0.0
    coverage: float = 0.0


class ExtractiveAnswerer:
    """Composes a cited answer from retrieved passages, or refuses when they don't support one.

    ``idf`` gives a term's weight (the retriever's BM25 statistics); ``embedder``
    is used only to rank sentences for questions not in Korean.
    """

    mode = "extractive"

    def __init__(self, embedder: Embedder | None = None, max_chars: int = 400, max_notices: int = 3,
                 refusal_threshold: float = 0.45, idf: Callable[[str], float] | None = None):
        if max_chars < 50:
            raise ValueError(f"max_chars must be at least 50, got {max_chars}")
        if not 0.0 <= refusal_threshold <= 1.0:
            raise ValueError(f"refusal_threshold must be within [0, 1], got {refusal_threshold}")
        self.embedder = embedder
        self.max_chars = max_chars
        self.max_notices = max_notices
        self.refusal_threshold = refusal_threshold
        self.idf = idf or (lambda term: 1.0)
        self._terms_cache: dict[str, frozenset[str]] = {}

    # -- helpers ------------------------------------------------------------------------
    def _terms(self, text: str) -> frozenset[str]:
        cached = self._terms_cache.get(text)
        if cached is None:
            cached = frozenset(search_terms(text))
            if len(self._terms_cache) > 20000:
                self._terms_cache.clear()
            self._terms_cache[text] = cached
        return cached

    def _coverage(self, q_terms: dict[str, float], terms: frozenset[str], text: str) -> float:
        total = sum(q_terms.values())
        if not total:
            return 0.0
        squashed = squash(text)
        got = sum(w for t, w in q_terms.items() if t in terms or (len(t) > 1 and t in squashed))
        return got / total

    def _candidates(self, retrieval: Retrieval, index: NoticeIndex) -> list[_Candidate]:
        seen: set[tuple[str, int]] = set()
        out: list[_Candidate] = []
        docs = retrieval.doc_ids[: self.max_notices]
        for rank, hit in enumerate(retrieval.hits):
            chunk: Chunk = hit.chunk
            if chunk.doc_id not in docs:
                continue
            body = index.notices[chunk.doc_id].body
            for start, end in chunk.sentences:
                if (chunk.doc_id, start) in seen:
                    continue
                seen.add((chunk.doc_id, start))
                out.append(_Candidate(chunk.doc_id, start, end, body[start:end], rank))
        return out

    # -- the answer ---------------------------------------------------------------------
    def run(self, question: str, retrieval: Retrieval, index: NoticeIndex) -> Answer:
        started = time.perf_counter()
        lang = question_language(question)
        note = ENGLISH_NOTE if lang == "en" else ""
        if not retrieval.hits:
            return self._refuse(question, retrieval, index, started, note)
        if is_contact_question(question):
            answer = self._contact_answer(question, retrieval, index, started, note)
            if answer is not None:
                return answer

        q_terms = {t: self.idf(t) for t in set(search_terms(question))}
        candidates = self._candidates(retrieval, index)
        scored = self._score(question, q_terms, candidates, lang)
        if not scored:
            return self._refuse(question, retrieval, index, started, note)
        best = max(scored, key=lambda c: c.score)
        # Evidence: the best sentence with its neighbours and the notice title.
        if lang == "ko" and self._evidence_coverage(q_terms, best, index) < self.refusal_threshold:
            return self._refuse(question, retrieval, index, started, note)

        chosen = self._select(scored, best, index, question)
        return self._compose(question, chosen, index, started, note)

    def _score(self, question: str, q_terms: dict[str, float], candidates: list[_Candidate], lang: str) -> list[_Candidate]:
        if not candidates:
            return []
        dense = None
        if lang == "en" and self.embedder is not None:
            pool = candidates[:24]  # the sentences of the best chunks; embedding is the slow part
            vectors = self.embedder.embed_passages([c.text for c in pool])
            query = self.embedder.embed_query(question)
            dense = np.full(len(candidates), -1.0)
            dense[: len(pool)] = vectors @ query
        out = []
        for i, cand in enumerate(candidates):
            coverage = self._coverage(q_terms, self._terms(cand.text), cand.text)
            prior = 1.0 / (1.0 + 0.15 * cand.chunk_rank)
            score = coverage + 0.25 * prior
            if dense is not None:
                score = coverage * 0.5 + 2.0 * max(dense[i], 0.0) + 0.1 * prior
            out.append(_Candidate(cand.doc_id, cand.start, cand.end, cand.text, cand.chunk_rank, score, coverage))
        return out

    def _evidence_coverage(self, q_terms: dict[str, float], best: _Candidate, index: NoticeIndex) -> float:
        notice = index.notices[best.doc_id]
        window = notice.body[max(0, best.start - 300): best.end + 300]
        text = f"{notice.title} {window}"
        return self._coverage(q_terms, self._terms(text), text)

    def _select(self, scored: list[_Candidate], best: _Candidate, index: NoticeIndex, question: str) -> list[_Candidate]:
        ranked = sorted(scored, key=lambda c: -c.score)
        chosen = [best]
        used = len(best.text)
        seen_keys = {squash(best.text)}
        # Enumerations: the sentence that announces a list brings its items along.
        if _ENUM_HEAD.search(best.text) or _ENUM_HEAD.search(question):
            for item in self._enumeration_after(best, index):
                key = squash(item.text)
                if key not in seen_keys:
                    chosen.append(item)
                    seen_keys.add(key)
                    used += len(item.text)
        for cand in ranked[1:]:
            if used >= self.max_chars:
                break
            if cand.score < 0.6 * best.score:
                break
            key = squash(cand.text)
            if key in seen_keys or any(key in k or k in key for k in seen_keys):
                continue
            if used + len(cand.text) > self.max_chars * 1.25 and len(chosen) >= 1:
                continue
            chosen.append(cand)
            seen_keys.add(key)
            used += len(cand.text)
        return chosen

    def _enumeration_after(self, head: _Candidate, index: NoticeIndex) -> list[_Candidate]:
        """Item sentences (첫째…, ①…, ○…) that follow ``head`` in its notice, cut to their first clause."""
        notice = index.notices[head.doc_id]
        spans = [s for s in index.sentence_spans(head.doc_id) if s[0] >= head.end]
        items: list[_Candidate] = []
        misses = 0
        for start, end in spans:
            text = notice.body[start:end]
            if _ITEM_START.match(text):
                items.append(_Candidate(head.doc_id, start, end, text, head.chunk_rank, head.score * 0.9))
                misses = 0
            else:
                misses += 1
                # a list item may run over two sentences; two non-items end the list
                if items and misses >= 2 or not items and misses >= 2:
                    break
            if len(items) >= 12:
                break
        return items

    def _compose(self, question: str, chosen: list[_Candidate], index: NoticeIndex, started: float, note: str) -> Answer:
        order: list[str] = []
        for cand in chosen:
            if cand.doc_id not in order:
                order.append(cand.doc_id)
        numbers = {doc_id: n for n, doc_id in enumerate(order, 1)}
        by_doc: dict[str, list[_Candidate]] = {}
        for cand in chosen:
            by_doc.setdefault(cand.doc_id, []).append(cand)
        sentences: list[AnswerSentence] = []
        citations: list[Citation] = []
        for doc_id in order:
            items = sorted(by_doc[doc_id], key=lambda c: c.start)
            n = numbers[doc_id]
            for cand in items:
                sentences.append(AnswerSentence(text=cand.text, citations=(n,)))
            notice = index.notices[doc_id]
            citations.append(Citation.from_notice(n, notice, " ".join(c.text for c in items),
                                                  [(c.start, c.end) for c in items]))
        text = "\n".join(f"{s.text} [{s.citations[0]}]" for s in sentences)
        return Answer(question=question, answer=text, refused=False, citations=citations, sentences=sentences,
                      note=note, timings_ms={"answer_ms": (time.perf_counter() - started) * 1000})

    def _contact_answer(self, question: str, retrieval: Retrieval, index: NoticeIndex, started: float, note: str) -> Answer | None:
        for doc_id in retrieval.doc_ids[:2]:
            notice = index.notices[doc_id]
            if not notice.contacts:
                continue
            people = "; ".join(
                " ".join(p for p in (c.department, c.role, c.name, c.phone) if p) for c in notice.contacts
            )
            from ingest.metadata import contact_block

            offset, block = contact_block(notice.body)
            spans = [(offset, offset + len(block))] if offset >= 0 else []
            prefix = f"{notice.agency} " if notice.agency else ""
            text = f"「{notice.title}」 문의: {prefix}{people} [1]"
            citation = Citation.from_notice(1, notice, block or people, spans)
            return Answer(question=question, answer=text, refused=False, citations=[citation],
                          sentences=[AnswerSentence(text=text[:-4], citations=(1,))], note=note,
                          timings_ms={"answer_ms": (time.perf_counter() - started) * 1000})
        return None

    def _refuse(self, question: str, retrieval: Retrieval, index: NoticeIndex, started: float, note: str) -> Answer:
        related = []
        for n, doc_id in enumerate(retrieval.doc_ids[:3], 1):
            notice = index.notices[doc_id]
            related.append(Citation.from_notice(n, notice, notice.body[:160]))
        return Answer(question=question, answer=REFUSAL_TEXT, refused=True, citations=[], related=related,
                      note=note, timings_ms={"answer_ms": (time.perf_counter() - started) * 1000})
