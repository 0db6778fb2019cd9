"""Extractive answers: the sentences of the retrieved notices that answer the question, cited.

No language model is needed. The candidates are the sentences of the retrieved passages
(rag/candidates.py). With the fitted weights (the default: rag/answer_weights.json) each is scored by
the learned sentence model (rag/scorer.py) from features that mean the same on any corpus: the
question-sentence cosine of the stored sentence vectors, IDF-weighted term coverage, character bigrams,
its neighbours' signals, the retrieval rank of its chunk and notice, its position; without them, by
word overlap with the chunk's rank as a prior. rag/selection.py chooses the sentences to quote (the best
one, the enumeration asked for kept whole, each part of a question in parts its own evidence, near-
duplicates dropped); they are quoted verbatim, in document order within a notice, each marked [n].

A question is refused when the notices do not support an answer. With the learned scorer: when the best
sentence's probability, or P(answerable) (rag/scorer.py ``AnswerableModel``), is below its fitted
threshold, unless a sentence is close to the question in meaning (the meaning floor); when a one-part
question asking a value (a sum, a count, a date) has no likely sentence stating one (the value floor),
or its sentences stating one leave out what the question is about (the value gap); or when a
question-reading rule (rag/refusal_rules.py: the asked value stated nowhere, most words unknown to the
index) fires below its own fitted gate. eval/fit_answers.py fits every threshold on half A of the
tuning sets. The word-overlap scorer (no weights file) refuses by fixed thresholds and the rules alone.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from ingest.korean import search_terms
from ingest.metadata import contact_block
from rag.answer_settings import AnswerSettings
from rag.candidates import Candidate, CandidateSentences, sentence_at
from rag.embed import Embedder
from rag.scorer import (FEATURES, WEIGHTS_FILE, ScorerWeights, SentenceModel, bigram_share, closest_meaning,
                        content_bigrams, safe_log_length, value_gap, value_quote)
from rag.index import NoticeIndex
from rag.lists import INLINE_ITEM, wants_list
from rag.question import QUESTION_WORDS, focus_terms, is_contact_question, question_language
from rag.quotes import EDGE_MARKS, outline_parts
from rag.refusal_rules import RULES, QuestionRules, focus_missing
from rag.selection import SentenceSelector
from rag.sentence_terms import SentenceTerms, holds
from rag.types import Answer, AnswerSentence, Citation, Retrieval
from rag.values import asks_number, value_statements

REFUSAL_TEXT = "제공된 보도자료에서 이 질문에 대한 답을 찾지 못했습니다. (The notices do not contain an answer to this question.)"
ENGLISH_NOTE = "Answer quoted from the Korean source notices."

_CLAUSE_BREAK = re.compile(r"(?<=[,;]) |(?<=[가-힣]며) |(?<=[가-힣]고) (?=[가-힣])")
_DIGIT = re.compile(r"\d")
_LONG_QUOTE = 200  # characters a quoted sentence may run before it pays for its length


@dataclass(frozen=True)
class RefusalSignals:
    """A question's P(answerable), whether the best sentence probability or a rule refuses it anyway, and
    whether a sentence is so close to it in meaning that no threshold refuses it (``meaning_floor``)."""

    answerable: float
    refused_otherwise: bool
    near_in_meaning: bool = False


@dataclass(frozen=True)
class _Judged:
    """A question's candidate sentences as the learned scorer sees them (``ExtractiveAnswerer._judge``)."""

    model: SentenceModel
    candidates: list[Candidate]
    x: np.ndarray
    probabilities: np.ndarray
    confidence: float  # the best sentence's probability
    answerable: float  # P(answerable)
    closest: float | None  # the highest question-sentence cosine (None without sentence vectors)
    # the best probability among candidates stating the value asked (rag/scorer.py); None where no floor reads it
    value_quote: float | None
    # how much of the question the sentences stating that value leave out (rag/scorer.py); None where no
    # limit reads it
    value_gap: float | None = None
    # the first retrieved notice is one part of a document (NoticeIndex.in_parts): P(answerable)'s own threshold
    in_parts: bool = False


class ExtractiveAnswerer:
    """Composes a cited answer from retrieved passages, or refuses when they don't support one.

    ``idf`` gives a term's weight (the retriever's BM25 statistics); ``embedder``
    is used only to rank sentences for questions not in Korean.
    """

    mode = "extractive"

    def __init__(self, embedder: Embedder | None = None, idf: Callable[[str], float] | None = None,
                 settings: AnswerSettings | None = None, weights: ScorerWeights | Path | None = None,
                 learned: bool | None = None, **overrides):
        """``settings`` (rag/answer_settings.py; the measured defaults when None), with any of its fields
        given by name in ``overrides``: ``ExtractiveAnswerer(embedder, idf=index.idf, max_chars=200)``.
        An unknown name or a bad value raises ValueError naming the setting."""
        settings = settings or AnswerSettings()
        unknown = sorted(set(overrides) - {f.name for f in fields(AnswerSettings)})
        if unknown:
            raise ValueError(f"no answer setting named {', '.join(unknown)}")
        # read by every method (``self.settings.max_chars``); eval/sweep_answerer.py replaces it
        self.settings = replace(settings, **overrides) if overrides else settings
        self.embedder = embedder
        self.idf = idf or (lambda term: 1.0)
        self.reader = SentenceTerms()  # sentence terms and squashed texts, cached between questions
        # the learned sentence scorer (rag/scorer.py); ``learned=False`` keeps the word-overlap scores
        # default: learned whenever fitted weights ship (or are given)
        self.learned = learned if learned is not None else (weights is not None or WEIGHTS_FILE.exists())
        self._weights = weights
        self._query_cache: dict[str, np.ndarray] = {}

    def clear_caches(self) -> None:
        """Forget the sentence terms and question vectors kept between questions (benchmarks start cold)."""
        self.reader.clear()
        self._query_cache.clear()

    @property
    def weights(self) -> ScorerWeights:
        if not isinstance(self._weights, ScorerWeights):
            self._weights = ScorerWeights.load(self._weights)
        return self._weights

    # -- helpers ------------------------------------------------------------------------
    def question_terms(self, question: str) -> dict[str, float]:
        """The question's search terms that can be evidence (no question words), each with its IDF weight."""
        return {t: self.idf(t) for t in set(search_terms(question)) if t not in QUESTION_WORDS}

    def _coverage(self, q_terms: dict[str, float], terms: frozenset[str], text: str) -> float:
        return self.reader.coverage(q_terms, terms, text, self.settings.compound_credit)

    # -- the answer ---------------------------------------------------------------------
    def run(self, question: str, retrieval: Retrieval, index: NoticeIndex) -> Answer:
        started = time.perf_counter()
        lang = question_language(question)
        note = ENGLISH_NOTE if lang == "en" else ""
        if not retrieval.hits:
            return self._refuse(question, retrieval, index, started)
        if is_contact_question(question):
            answer = self._contact_answer(question, retrieval, index, started, note)
            if answer is not None:
                return answer

        q_terms = self.question_terms(question)
        if self.learned:
            return self._run_learned(question, q_terms, retrieval, index, started, lang, note)
        rules = self._rules()
        answering = rules.answering_notices(question, retrieval, index)
        # a question whose words (an English one's Korean names: 부처, 사업, 인물) the notices mostly never
        # use is about something else
        if rules.value_missing(question, retrieval, index) or rules.unknown_words(question, retrieval, index):
            return self._refuse(question, retrieval, index, started)
        candidates = CandidateSentences.from_settings(self.settings).run(question, retrieval, index)
        scored = self._score(question, q_terms, candidates, lang, index=index)
        if not scored:
            return self._refuse(question, retrieval, index, started)
        if lang == "ko":
            best = max(scored, key=lambda c: c.score)
            if (self._evidence_coverage(q_terms, best, index) < self.settings.min_coverage
                    or focus_missing(question, answering)):
                return self._refuse(question, retrieval, index, started)
        return self._compose(question, self._choose(question, q_terms, scored, index), index, started, note)

    # -- the learned scorer ------------------------------------------------------------------
    def _query_vector(self, question: str, retrieval: Retrieval) -> np.ndarray | None:
        """The question's vector: the retriever's when it passes one on, else embedded once and cached."""
        vector = getattr(retrieval, "query_vector", None)
        if vector is not None:
            return np.asarray(vector, np.float32).reshape(-1)
        return self._embedded_query(question)

    def _embedded_queries(self, texts: list[str]) -> list[np.ndarray] | None:
        """``texts`` embedded as queries, each once (cached); None without an embedder. Those not cached go
        to the embedder in one call where it takes several (``embed_queries``: an English question's parts
        cost ~35 ms for two on this machine, ~51 ms one by one)."""
        if self.embedder is None:
            return None
        missing = [t for t in dict.fromkeys(texts) if t not in self._query_cache]
        if missing:
            batch = getattr(self.embedder, "embed_queries", None)
            vectors = (batch(missing) if batch is not None and len(missing) > 1
                       else [self.embedder.embed_query(t) for t in missing])
            if len(self._query_cache) > 256:
                self._query_cache.clear()
            for text, vector in zip(missing, vectors):
                self._query_cache[text] = np.asarray(vector, np.float32).reshape(-1)
        return [self._query_cache[t] for t in texts]

    def _embedded_query(self, text: str) -> np.ndarray | None:
        """``text`` embedded as a query, once (cached); None without an embedder."""
        vectors = self._embedded_queries([text])
        return None if vectors is None else vectors[0]

    def _model(self, index: NoticeIndex) -> SentenceModel:
        return self.weights.model_for(index.manifest.model, index.sentence_vectors is not None)

    def features(self, question: str, retrieval: Retrieval, index: NoticeIndex,
                 candidates: list[Candidate] | None = None, dense: bool = True) -> tuple[list[Candidate], np.ndarray]:
        """The candidate sentences of a retrieval and their feature rows (rag/scorer.py FEATURES order).

        ``dense=False`` leaves the dense features at 0 (the lexical model ignores them): no query vector needed.
        """
        if candidates is None:
            candidates = CandidateSentences.from_settings(self.settings).run(question, retrieval, index)
        x = np.zeros((len(candidates), len(FEATURES)))
        if not candidates:
            return candidates, x
        english = question_language(question) == "en"
        q_terms = self.question_terms(question)
        grams = content_bigrams(q_terms)
        query = None
        if dense and index.sentence_vectors is not None:
            query = self._query_vector(question, retrieval)
            if query is not None and query.shape[0] != index.sentence_vectors.shape[1]:
                query = None
        doc_rank = {d: r for r, d in enumerate(retrieval.doc_ids)}
        wants_number = asks_number(question)

        def signals(doc_id: str, span: tuple[int, int]) -> tuple[float, float]:
            text = index.notices[doc_id].body[span[0]:span[1]]
            row = index.sentence_row(doc_id, *span) if query is not None else None
            dense = float(index.sentence_vectors[row].astype(np.float32) @ query) if row is not None else 0.0
            return dense, self._coverage(q_terms, self.reader.body_terms(doc_id, *span, index), text)

        for i, cand in enumerate(candidates):
            spans, k = sentence_at(cand, index)
            k = k or 0  # a quote that is no sentence of its notice reads as its first
            dense, _ = signals(cand.doc_id, cand.sentence)
            coverage = self._coverage(q_terms, self.reader.span_terms(cand), cand.text)
            prev_dense, prev_cov = signals(cand.doc_id, spans[k - 1]) if k > 0 else (0.0, 0.0)
            _, next_cov = signals(cand.doc_id, spans[k + 1]) if k + 1 < len(spans) else (0.0, 0.0)
            x[i] = (dense, 0.0, coverage, 0.0, bigram_share(grams, self.reader.squash(cand.text)), prev_dense, prev_cov, next_cov,
                    1.0 / (1.0 + cand.chunk_rank), doc_rank.get(cand.doc_id, len(doc_rank)), k / max(len(spans), 1),
                    float(k == 0), float(cand.cut_before), safe_log_length(len(cand.text)),
                    float(wants_number and bool(_DIGIT.search(cand.text))), dense if english else 0.0,
                    coverage if english else 0.0, float(query is not None))
        x[:, 1] = x[:, 0] - x[:, 0].max()
        x[:, 3] = x[:, 2] - x[:, 2].max()
        return candidates, x

    def _run_learned(self, question: str, q_terms: dict[str, float], retrieval: Retrieval, index: NoticeIndex,
                     started: float, lang: str, note: str) -> Answer:
        """Refusal from the learned scorer: refused when P(answerable) (the question-level model over the
        best sentence probability and the candidates' similarities) is below ``answerable_below``, or
        the best sentence probability below ``refuse_below``; the question-reading rules (``RULES``: a
        sum/head count/company the notices never state, the asked-about word absent, words the corpus lacks) refuse only below
        their gate, where the scorer is not confident: alone they refused 8% of the answerable
        korquad_tune questions. Each rule has its own gate, since they misfire at different rates (the
        asked-about word is often a category the notice names only by instance: "어느 나라" over "독일").
        All thresholds are fitted (eval/fit_answers.py).
        """
        judged = self._judge(question, retrieval, index, lang)
        if judged is None:
            return self._refuse(question, retrieval, index, started)
        model, candidates, x, probabilities = judged.model, judged.candidates, judged.x, judged.probabilities
        # the rules are read only where their gates could still refuse
        flags = (self.rule_flags(question, retrieval, index) if judged.confidence < max(map(model.gate, RULES))
                 else {})
        if model.refuses(judged.confidence, flags, judged.answerable, judged.closest, judged.value_quote, lang,
                         judged.value_gap, judged.in_parts):
            return self._refuse(question, retrieval, index, started)
        by_meaning = lang == "en" or float(x[:, FEATURES.index("coverage")].max()) < self.settings.meaning_below
        scored = self._score(question, q_terms, candidates, lang, probabilities,
                             dense=self._stored_meaning(question, retrieval, index, candidates) if by_meaning else None,
                             index=index)
        return self._compose(question, self._choose(question, q_terms, scored, index), index, started, note)

    def thresholds(self, index: NoticeIndex) -> dict[str, float]:
        """The operating point over ``index``: refuse when P(answerable) is below ``answerable_below``,
        the best sentence probability below ``refuse_below``, or below a rule's gate when that
        question-reading rule fires (``rules_below`` for a rule without its own gate); none of them but
        value_missing when a sentence is at least ``meaning_floor`` close in meaning (where fitted); and,
        for a one-part question asking a value, when every sentence stating one is below its language's
        ``value_below`` or those sentences leave out ``value_gap_above`` of the question."""
        model = self._model(index)
        floor = {"meaning_floor": model.meaning_floor} if model.meaning_floor is not None else {}
        value = {f"value_below_{lang}": t for lang, t in model.value_below}
        gap = {f"value_gap_above_{lang}": t for lang, t in model.value_gap_above}
        parts = ({"answerable_below_parts": model.answerable_below_parts}
                 if model.answerable_below_parts is not None else {})
        return {"refuse_below": model.refuse_below, "answerable_below": model.answerable_below, **parts,
                "rules_below": model.rules_below, **{f"{rule}_below": model.gate(rule) for rule in RULES},
                **floor, **value, **gap}

    def refusal_signals(self, question: str, retrieval: Retrieval, index: NoticeIndex) -> RefusalSignals:
        """What refusal reads (for the trade-off curve): P(answerable), and whether the other thresholds
        refuse anyway. A question the contact block answers: 1 and no; no candidates: 0 and yes."""
        if self.answers_from_contacts(question, retrieval, index):
            return RefusalSignals(1.0, False)
        lang = question_language(question)
        judged = self._judge(question, retrieval, index, lang)
        if judged is None:
            return RefusalSignals(0.0, True)
        model = judged.model
        refused = model.refuses(judged.confidence, self.rule_flags(question, retrieval, index), closest=judged.closest,
                                value_quote=judged.value_quote, lang=lang, value_gap=judged.value_gap)
        return RefusalSignals(judged.answerable, refused, model.near_in_meaning(judged.closest))

    def _judge(self, question: str, retrieval: Retrieval, index: NoticeIndex, lang: str) -> _Judged | None:
        """What the learned refusal reads, shared by answering and the eval's trade-off curve; None
        when there is no candidate sentence."""
        model = self._model(index)
        candidates, x = self.features(question, retrieval, index, dense=model is self.weights.dense)
        if not candidates:
            return None
        probabilities = model.probabilities(x)
        # the value signals only where a threshold reads them (fitted per language, dense model only)
        floor, limit = model.value_floor(lang) is not None, model.value_gap_limit(lang) is not None
        states = value_statements(question, [c.text for c in candidates]) if floor or limit else None
        quote = value_quote(probabilities, states) if floor else None
        gap = (value_gap(probabilities, states, *self.value_context(question, candidates, index))
               if limit and states is not None and any(states) else None)
        return _Judged(model, candidates, x, probabilities, float(probabilities.max()),
                       model.answerability(probabilities, x, chunk_cosines(retrieval), lang), closest_meaning(x), quote,
                       gap, self.leads_with_part(retrieval, index))

    def value_context(self, question: str, candidates: list[Candidate],
                      index: NoticeIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What rag/scorer.py ``value_gap`` reads: which of the question's terms each candidate holds
        (candidates x terms), which it holds read with the sentences before it (the ``value_context``
        setting, 3) and its notice's opening sentence, and the terms' IDF weights.

        A value sentence often names its subject by a pronoun ("이들은 … 195억 원만큼 … 더 받았다"), and a
        notice's opening sentence names the place and programme every later sentence is about: without it,
        "임실군 금성리 마을에는 주민이 몇 명 살고 있나요?" was refused over a sentence naming 금성리 마을 and its
        110 residents (임실군 is in the lead only). With both, one of korquad_tune's 201 answerable one-part
        value questions has a gap at all (0.26; 2026-12-07). A term is held as ``_coverage`` reads it:
        among the sentence's terms or inside its squashed text, where Kiwi cut a name otherwise ("김경준에게"
        is 김경 + 준, "김경준의" one word); one-character terms, that cut's remainders, are left out."""
        q_terms = {t: w for t, w in self.question_terms(question).items() if len(t) > 1}
        names = sorted(q_terms)
        weights = np.array([q_terms[t] for t in names], float)
        own = np.zeros((len(candidates), len(names)), bool)
        context = np.zeros_like(own)
        for i, cand in enumerate(candidates):
            terms, squashed = self.reader.span_terms(cand), self.reader.squash(cand.text)
            own[i] = [holds(t, terms, squashed) for t in names]
            spans, k = sentence_at(cand, index)
            # the lead, then the sentences just before, in notice order (none for the lead itself)
            before = [spans[j] for j in sorted({0, *range(max(0, k - self.settings.value_context), k)})] if k else []
            body = index.notices[cand.doc_id].body
            around = terms.union(*(self.reader.body_terms(cand.doc_id, *span, index) for span in before))
            text = squashed + "".join(self.reader.squash(body[start:end]) for start, end in before)
            context[i] = [holds(t, around, text) for t in names]
        return own, context, weights

    def answers_from_contacts(self, question: str, retrieval: Retrieval, index: NoticeIndex) -> bool:
        """A contact question whose notices have a 담당 block: answered from it, never refused."""
        return is_contact_question(question) and any(index.notices[d].contacts for d in retrieval.doc_ids[:2])

    @staticmethod
    def leads_with_part(retrieval: Retrieval, index: NoticeIndex) -> bool:
        """Whether the first retrieved notice is one part of a document (``NoticeIndex.in_parts``): the
        question then meets P(answerable)'s parts threshold (eval/fit_answers.py fits it on this reading)."""
        return bool(retrieval.doc_ids) and index.in_parts(retrieval.doc_ids[0])

    def rule_flags(self, question: str, retrieval: Retrieval, index: NoticeIndex) -> dict[str, bool]:
        """The question-reading refusal rules' flags (rag/refusal_rules.py); on the learned scorer they
        refuse only below their gates, see ``_run_learned``."""
        return self._rules().run(question, retrieval, index)

    def _rules(self) -> QuestionRules:
        # built from the settings at call time: eval/sweep_answerer.py and tests replace ``settings``
        return QuestionRules.from_settings(self.settings)

    def _part_meaning(self, part: str, candidates: list[Candidate], index: NoticeIndex) -> np.ndarray | None:
        """Cosines of one part of a question (embedded now, one short query) to the candidates' bare
        sentence vectors; None without an embedder or bare vectors, or for a candidate the index lacks."""
        query = self._embedded_query(part) if index.bare_sentence_vectors is not None else None
        return _bare_cosines(query, candidates, index)

    def _stored_meaning(self, question: str, retrieval: Retrieval, index: NoticeIndex,
                        candidates: list[Candidate]) -> np.ndarray | None:
        """Question–sentence cosines of every candidate from the index's bare sentence vectors; None when
        the index has none. Reading them costs no embedding, so no candidate is left at 0: the first
        ``max_sentence_embeddings`` only (the pool ``_score`` embeds without stored vectors) missed the
        answer in a notice's headline run-on when a later chunk of the notice ranked first."""
        query = self._query_vector(question, retrieval) if index.bare_sentence_vectors is not None else None
        return _bare_cosines(query, candidates, index)

    # -- scoring and choosing the sentences (both scorers) ------------------------------------
    def _notice_weights(self, question: str, q_terms: dict[str, float], candidates: list[Candidate],
                        index: NoticeIndex) -> dict[str, dict[str, float]]:
        """For each candidate notice, the question's term weights times how rare the term is among that
        notice's sentences: log(1 + n/df) / log(1 + n), 1 for a term in one sentence of n, ~0.3 for one in
        every sentence. The asked-about word (``focus_terms``: "방문객은 얼마나" → 방문객) keeps its weight.

        Why: corpus IDF weighs the question's context words (the event, the agency, the law: "전남광주통합특별시
        출범 관련 시행령") as much as the word that tells the answering sentence apart, and a press release
        restates its context in many sentences, so the fill quoted sentences that only restate it.
        """
        keep = set(focus_terms(question))
        out: dict[str, dict[str, float]] = {}
        for doc_id in dict.fromkeys(c.doc_id for c in candidates):
            spans = index.sentence_spans(doc_id)
            if len(spans) < 2:
                continue
            body = index.notices[doc_id].body
            sentences = [(self.reader.body_terms(doc_id, a, b, index), self.reader.squash(body[a:b])) for a, b in spans]
            norm = math.log(1 + len(spans))
            weights = {}
            for term, weight in q_terms.items():
                if term in keep:
                    weights[term] = weight
                    continue
                df = sum(1 for terms, squashed in sentences if holds(term, terms, squashed))
                weights[term] = weight * math.log(1 + len(spans) / max(df, 1)) / norm
            out[doc_id] = weights
        return out

    def _score(self, question: str, q_terms: dict[str, float], candidates: list[Candidate], lang: str,
               probabilities: np.ndarray | None = None, dense: np.ndarray | None = None,
               index: NoticeIndex | None = None) -> list[Candidate]:
        """Word-overlap scores (coverage, chunk rank; meaning for English questions), plus
        ``learned_weight`` times the learned probability when one is given. With ``index``, coverage is
        read ``local_terms`` with notice-local term weights (``_notice_weights``).

        ``dense``: an English question's cosines to the candidates, read from the index
        (``_stored_meaning``); without them the best chunks' sentences are embedded here.
        """
        if not candidates:
            return []
        if dense is None and lang == "en" and self.embedder is not None:
            # Korean sentences share few words with an English question: rank them by meaning. The
            # index's title + sentence vectors rank worse here (dev English key facts 0.724 against
            # 0.822), so an index without bare sentence vectors embeds them now (~0.3-0.5 s on two
            # cores): only the sentences of the best chunks.
            pool = candidates[: self.settings.max_sentence_embeddings]
            vectors = self.embedder.embed_passages([c.text for c in pool])
            query = self.embedder.embed_query(question)
            dense = np.full(len(candidates), 0.0)
            dense[: len(pool)] = vectors @ query
        # "주요 연구 4가지는?" is best answered by the sentence that lists them (▲ … ▲ …).
        list_question = wants_list(question)
        share = self.settings.local_terms if index is not None else 0.0
        local = self._notice_weights(question, q_terms, candidates, index) if share else {}
        out = []
        for i, cand in enumerate(candidates):
            terms = self.reader.span_terms(cand)
            coverage = self._coverage(q_terms, terms, cand.text)
            if cand.doc_id in local:
                coverage = (1 - share) * coverage + share * self._coverage(local[cand.doc_id], terms, cand.text)
            prior = 1.0 / (1.0 + 0.15 * cand.chunk_rank)
            score = coverage + self.settings.rank_prior * prior
            if dense is not None:
                # e5 puts almost any two texts above cosine 0.75: only the part above it says "related"
                score = 0.5 * coverage + 4.0 * max(dense[i] - 0.75, 0.0) + 0.1 * prior
            if probabilities is not None:
                score += self.settings.learned_weight * float(probabilities[i])
            start, end = self._trim(cand, q_terms, shortest=lang == "ko", figure=asks_number(question))
            # A long quote spends the answer's length budget that two short, precise sentences would share.
            score -= self.settings.long_quote_penalty * max(0, end - start - _LONG_QUOTE) / self.settings.max_chars
            if list_question and len(INLINE_ITEM.findall(cand.text)) >= 2:
                score += self.settings.inline_list_bonus
            out.append(replace(cand, start=start, end=end, text=cand.text[start - cand.start:end - cand.start],
                               probability=float(probabilities[i]) if probabilities is not None else 0.0,
                               score=score, coverage=coverage,
                               # a marker or space left off an edge is not a cut: no "…" for it
                               cut_before=cand.cut_before or bool(cand.text[:start - cand.start].strip(EDGE_MARKS)),
                               cut_after=cand.cut_after or bool(cand.text[end - cand.start:].strip(EDGE_MARKS + ","))))
        return out

    def _trim(self, cand: Candidate, q_terms: dict[str, float], shortest: bool = True,
              figure: bool = False) -> tuple[int, int]:
        """Body offsets of the part of a sentence that matters.

        A headline/subtitle run-on (rag/quotes.py ``OUTLINE_MARK``) is cut to the shortest run of its outline parts
        that holds every question word the whole sentence holds (and a figure, when ``figure``: the
        question asks for one). With ``shortest=False`` (English questions, whose Korean words are
        mostly names from the headline while the answer is found by meaning) only the parts before the
        first and after the last part holding a question word go. A sentence still longer than ``max_sentence_chars``
        (press-release sentences run to 300 characters) keeps its clauses from the first to the last one
        that carries a question word. Both keep the quote exact: a span of the notice.
        """
        text = cand.text
        a, b = 0, len(text)
        parts = outline_parts(text)
        if len(parts) > 1:
            found = [self.reader.span_terms(cand, cand.start + s, cand.start + e) & q_terms.keys()
                     | ({"#figure"} if figure and _DIGIT.search(text[s:e]) else set()) for s, e in parts]
            wanted = frozenset().union(*found)
            if wanted and not shortest:
                hits = [i for i, terms in enumerate(found) if terms]
                a, b = parts[hits[0]][0], parts[hits[-1]][1]
            elif wanted:
                # the shortest run of parts that holds every question word the sentence holds
                runs = ((parts[j][1] - parts[i][0], i, j) for i in range(len(parts)) for j in range(i, len(parts))
                        if frozenset().union(*found[i:j + 1]) == wanted)
                _, i, j = min(runs)
                a, b = parts[i][0], parts[j][1]
        if b - a > self.settings.max_sentence_chars:
            piece = text[a:b]
            bounds = [0] + [m.end() for m in _CLAUSE_BREAK.finditer(piece)] + [len(piece)]
            clauses = [(x, y) for x, y in zip(bounds, bounds[1:]) if y > x]
            hits = [i for i, (x, y) in enumerate(clauses)
                    if self.reader.span_terms(cand, cand.start + a + x, cand.start + a + y) & q_terms.keys()
                    or _DIGIT.search(piece[x:y]) and q_terms]
            if hits:
                a, b = a + clauses[hits[0]][0], a + clauses[hits[-1]][1]
        # no dangling markers or commas at the edges: "□ 소방청은 … 밝혔다. ○" shows as "소방청은 … 밝혔다."
        while a < b and text[a] in EDGE_MARKS:
            a += 1
        while b > a and text[b - 1] in EDGE_MARKS + ",":
            b -= 1
        if b - a < 10:  # nothing readable left: quote the sentence whole
            return cand.start, cand.end
        return cand.start + a, cand.start + b

    def _evidence_coverage(self, q_terms: dict[str, float], best: Candidate, index: NoticeIndex) -> float:
        """Share of the question's weighted words found around the best sentence (and in the notice title)."""
        notice = index.notices[best.doc_id]
        lo, hi = max(0, best.start - 300), best.end + 300
        window = notice.body[lo:hi]
        text = f"{notice.title} {window}"
        table = index.token_table(best.doc_id)
        terms = self.reader.terms(notice.title) | table.between(lo, hi) if table is not None else self.reader.terms(text)
        return self._coverage(q_terms, terms, text)

    def _choose(self, question: str, q_terms: dict[str, float], scored: list[Candidate],
                index: NoticeIndex) -> list[Candidate]:
        """The sentences to quote, by either scorer (rag/selection.py)."""
        # built at call time: eval/sweep_answerer.py and tests replace ``settings``
        selector = SentenceSelector(self.settings, self.reader, self._part_meaning, self._embedded_queries)
        return selector.run(question, q_terms, scored, index)

    def _compose(self, question: str, chosen: list[Candidate], index: NoticeIndex, started: float, note: str) -> Answer:
        order: list[str] = []
        for cand in chosen:
            if cand.doc_id not in order:
                order.append(cand.doc_id)
        numbers = {doc_id: n for n, doc_id in enumerate(order, 1)}
        by_doc: dict[str, list[Candidate]] = {}
        for cand in chosen:
            by_doc.setdefault(cand.doc_id, []).append(cand)
        sentences: list[AnswerSentence] = []
        citations: list[Citation] = []
        for doc_id in order:
            items = sorted(by_doc[doc_id], key=lambda c: c.start)
            n = numbers[doc_id]
            for cand in items:
                shown = ("…" if cand.cut_before else "") + cand.text + ("…" if cand.cut_after else "")
                sentences.append(AnswerSentence(text=shown, citations=(n,)))
            notice = index.notices[doc_id]
            citations.append(Citation.from_notice(n, notice, " ".join(c.text for c in items),
                                                  [(c.start, c.end) for c in items]))
        text = "\n".join(f"{s.text} [{s.citations[0]}]" for s in sentences)
        return Answer(question=question, answer=text, refused=False, citations=citations, sentences=sentences,
                      note=note, timings_ms=_answer_timing(started))

    def _contact_answer(self, question: str, retrieval: Retrieval, index: NoticeIndex, started: float, note: str) -> Answer | None:
        for doc_id in retrieval.doc_ids[:2]:  # the same two notices answers_from_contacts reads
            notice = index.notices[doc_id]
            if not notice.contacts:
                continue
            people = "; ".join(
                " ".join(p for p in (c.department, c.role, c.name, c.phone) if p) for c in notice.contacts
            )
            offset, block = contact_block(notice.body)
            spans = [(offset, offset + len(block))] if offset >= 0 else []
            prefix = f"{notice.agency} " if notice.agency else ""
            text = f"「{notice.title}」 문의: {prefix}{people} [1]"
            citation = Citation.from_notice(1, notice, block or people, spans)
            return Answer(question=question, answer=text, refused=False, citations=[citation],
                          sentences=[AnswerSentence(text=text[:-4], citations=(1,))], note=note,
                          timings_ms=_answer_timing(started))
        return None

    def _refuse(self, question: str, retrieval: Retrieval, index: NoticeIndex, started: float) -> Answer:
        # no "quoted from the Korean source" note: a refusal quotes nothing
        related = []
        for n, doc_id in enumerate(retrieval.doc_ids[:3], 1):
            notice = index.notices[doc_id]
            related.append(Citation.from_notice(n, notice, notice.body[:160]))
        return Answer(question=question, answer=REFUSAL_TEXT, refused=True, citations=[], related=related,
                      timings_ms=_answer_timing(started))


def _bare_cosines(query: np.ndarray | None, candidates: list[Candidate], index: NoticeIndex) -> np.ndarray | None:
    """``query``'s cosines to the candidates' whole sentences in the index's bare sentence vectors; None
    without a query or bare vectors, for a query of another dimension, or when a sentence has no row."""
    bare = index.bare_sentence_vectors
    if query is None or bare is None or query.shape[0] != bare.shape[1]:
        return None
    rows = [index.sentence_row(c.doc_id, *c.sentence) if c.sentence[0] >= 0 else None for c in candidates]
    if any(r is None for r in rows):
        return None
    return bare[rows].astype(np.float32) @ query


def chunk_cosines(retrieval: Retrieval) -> list[float | None]:
    """The retrieved chunks' query cosines, best first (None where dense retrieval did not score one)."""
    return [h.dense_score for h in retrieval.hits]


def _answer_timing(started: float) -> dict[str, float]:
    return {"answer_ms": (time.perf_counter() - started) * 1000}
