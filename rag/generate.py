"""Optional generative answers from any OpenAI-compatible chat endpoint, checked sentence by sentence.

The model sees the retrieved notices as numbered passages ([1]…[n], one per notice; rag/prompt.py)
and must cite every sentence. Nothing it writes reaches the answer text unchecked: each sentence is
judged against the passage it cites (rag/support.py). Sentences that fail are removed from
``Answer.answer`` but kept in ``Answer.sentences`` (and ``Answer.generated``) with ``supported=False``
and a reason, so a UI can flag them; the kept ones are cited to their notices, renumbered in order of
first use.

Any failure of the endpoint (refused connection, timeout, HTTP error, empty or
malformed reply, any client exception) falls back to the extractive answerer,
with a one-line ``note`` saying why. ``run``/``stream`` never raise and never run
past ``LLMSettings.timeout_s`` waiting for the model (the client call runs in a
daemon thread and is abandoned at the deadline).
"""

from __future__ import annotations

import json
import math
import queue
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol
from urllib.parse import urlparse

import numpy as np

from rag.embed import Embedder
from rag.index import NoticeIndex
from rag.prompt import PASSAGE_MAX_CHARS, Passage, build_messages, build_passages
from rag.question import question_language
from rag.support import MARKER, NOT_FOUND, THINK, SupportChecker, SupportModel
from rag.types import Answer, AnswerSentence, Citation, Retrieval

# ----------------------------------------------------------------------------------------
# settings


@dataclass(frozen=True)
class LLMSettings:
    """Where the chat model lives. Field errors name the environment variable that sets them.

    ``timeout_s`` bounds the whole model call, streamed or not: past it the answerer
    stops waiting and falls back. ``api_key`` may be empty for local servers
    (Ollama, vLLM, llama.cpp); it is kept out of ``repr``.
    """

    base_url: str
    model: str
    api_key: str = field(default="", repr=False)
    timeout_s: float = 60.0
    temperature: float = 0.0

    def __post_init__(self) -> None:
        url = (self.base_url or "").strip()
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"PRESSRAG_LLM_BASE_URL must be an http(s) URL, got {self.base_url!r}")
        object.__setattr__(self, "base_url", url.rstrip("/"))
        if not isinstance(self.model, str) or not self.model.strip():
            raise ValueError("PRESSRAG_LLM_MODEL must name the chat model (e.g. gpt-4o-mini, qwen2.5:7b)")
        object.__setattr__(self, "model", self.model.strip())
        if not isinstance(self.api_key, str):
            raise ValueError("PRESSRAG_LLM_API_KEY must be a string")
        try:
            timeout = float(self.timeout_s)
        except (TypeError, ValueError):
            timeout = float("nan")
        if not math.isfinite(timeout) or timeout <= 0:
            raise ValueError(f"PRESSRAG_LLM_TIMEOUT must be a positive number of seconds, got {self.timeout_s!r}")
        object.__setattr__(self, "timeout_s", timeout)
        try:
            temperature = float(self.temperature)
        except (TypeError, ValueError):
            temperature = float("nan")
        if not (0.0 <= temperature <= 2.0):
            raise ValueError(f"PRESSRAG_LLM_TEMPERATURE must be between 0 and 2, got {self.temperature!r}")
        object.__setattr__(self, "temperature", temperature)


class Fallback(Protocol):
    """The extractive answerer (or anything with its ``run``)."""

    def run(self, question: str, retrieval: Retrieval, index: NoticeIndex) -> Answer: ...


# ----------------------------------------------------------------------------------------
# the answerer


class _ModelFailure(Exception):
    """The endpoint did not produce a usable answer; the message is the one-line reason."""


def _content_text(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and block.get("type") in (None, "text"):
                parts.append(str(block.get("text") or ""))
        return "".join(parts)
    return ""


def _refusal_text(question: str) -> str:
    if question_language(question) == "ko":
        return "제공된 보도자료에서 이 질문에 대한 답을 찾지 못했습니다."
    return "The indexed press releases do not contain an answer to this question."


class GenerativeAnswerer:
    """Answers with a chat model over the top retrieved notices; falls back to ``fallback`` on any failure."""

    mode = "generative"

    def __init__(self, settings: LLMSettings, embedder: Embedder, fallback: Fallback, max_passages: int = 6,
                 chat_model=None, passage_chars: int = PASSAGE_MAX_CHARS, support: SupportModel | None = None):
        if max_passages < 1:
            raise ValueError(f"max_passages must be at least 1, got {max_passages}")
        if passage_chars < 100:
            raise ValueError(f"passage_chars must be at least 100, got {passage_chars}")
        self.passage_chars = passage_chars
        self.settings = settings
        self.embedder = embedder
        self.fallback = fallback
        self.max_passages = max_passages
        self._chat_model = chat_model
        self.checker = SupportChecker(embedder, support)

    # -- the model -------------------------------------------------------------------------
    def chat_model(self):
        """The LangChain chat model (ChatOpenAI against ``settings.base_url`` unless one was injected)."""
        if self._chat_model is None:
            from langchain_openai import ChatOpenAI

            s = self.settings
            self._chat_model = ChatOpenAI(base_url=s.base_url, model=s.model, api_key=s.api_key or "not-needed",
                                          timeout=s.timeout_s, max_retries=0, temperature=s.temperature)
        return self._chat_model

    def _describe(self, exc: BaseException) -> str:
        timeout = f"timeout after {self.settings.timeout_s:g} s"
        try:
            import openai

            if isinstance(exc, openai.APITimeoutError):
                return timeout
            if isinstance(exc, openai.APIConnectionError):
                return f"cannot connect to {self.settings.base_url}"
            if isinstance(exc, openai.RateLimitError):
                return "rate limited, HTTP 429"
            if isinstance(exc, openai.APIStatusError):
                return f"HTTP {exc.status_code} from {self.settings.base_url}"
            if isinstance(exc, openai.APIResponseValidationError):
                return "malformed reply"
        except ImportError:
            pass
        if isinstance(exc, TimeoutError) or type(exc).__name__.endswith("Timeout"):
            return timeout
        if isinstance(exc, json.JSONDecodeError):
            return "malformed reply"
        message = str(exc).splitlines()[0][:120] if str(exc) else ""
        return f"{type(exc).__name__}: {message}" if message else type(exc).__name__

    def _generate(self, messages, streaming: bool) -> Iterator[str]:
        """Text deltas from the model; raises _ModelFailure with a reason. Bounded by timeout_s overall."""
        try:
            model = self.chat_model()
        except Exception as exc:  # noqa: BLE001
            raise _ModelFailure(f"cannot set up the client ({self._describe(exc)})") from exc
        channel: queue.Queue = queue.Queue()
        cancel = threading.Event()

        def work() -> None:
            try:
                if streaming:
                    for chunk in model.stream(messages):
                        if cancel.is_set():
                            break
                        text = _content_text(getattr(chunk, "content", ""))
                        if text:
                            channel.put(("delta", text))
                else:
                    reply = model.invoke(messages)
                    channel.put(("delta", _content_text(getattr(reply, "content", ""))))
                channel.put(("done", None))
            except BaseException as exc:  # noqa: BLE001 - reported to the caller as a failure
                channel.put(("error", exc))

        threading.Thread(target=work, daemon=True, name="pressrag-llm").start()
        deadline = time.monotonic() + self.settings.timeout_s
        try:
            while True:
                remaining = deadline - time.monotonic()
                try:
                    if remaining <= 0:
                        raise queue.Empty
                    kind, value = channel.get(timeout=remaining)
                except queue.Empty:
                    raise _ModelFailure(f"timeout after {self.settings.timeout_s:g} s") from None
                if kind == "delta":
                    yield value
                elif kind == "done":
                    return
                else:
                    raise _ModelFailure(self._describe(value)) from value
        finally:
            cancel.set()

    # -- public ----------------------------------------------------------------------------
    def run(self, question: str, retrieval: Retrieval, index: NoticeIndex) -> Answer:
        """The checked generative answer, or the fallback's answer with a note."""
        final = None
        for item in self._answer(question, retrieval, index, streaming=False):
            final = item
        return final if isinstance(final, Answer) else self._fall_back(question, retrieval, index, "no answer")

    def stream(self, question: str, retrieval: Retrieval, index: NoticeIndex
               ) -> Iterator[str | AnswerSentence | Answer]:
        """Text deltas as the model writes them, then the checked Answer (always last, always present).

        The deltas are the model's raw text: sentences the check later removes are in
        them. Each sentence's verdict (an AnswerSentence, ``supported`` False with a
        ``reason`` when the check rejects it) follows as soon as the sentence is complete,
        so a draft can mark it; the final Answer replaces the draft.
        """
        yield from self._answer(question, retrieval, index, streaming=True)

    def _answer(self, question: str, retrieval: Retrieval, index: NoticeIndex, streaming: bool):
        started = time.perf_counter()
        try:
            passages = build_passages(retrieval, index, self.max_passages, self.passage_chars)
            if not passages:
                yield Answer(question=question, answer=_refusal_text(question), refused=True, citations=[],
                             mode=self.mode, note="no notices were retrieved for this question")
                return
            messages = build_messages(question, passages)
        except Exception as exc:  # noqa: BLE001
            yield self._fall_back(question, retrieval, index, f"could not build the prompt ({self._describe(exc)})")
            return
        parts: list[str] = []
        marked = 0
        try:
            for delta in self._generate(messages, streaming):
                parts.append(delta)
                if streaming:
                    yield delta
                    # mark each sentence as soon as it is complete, so a draft shows what will go
                    for verdict in self.checker.marks("".join(parts), passages, marked):
                        marked += 1
                        yield verdict
        except _ModelFailure as failure:
            yield self._fall_back(question, retrieval, index, str(failure))
            return
        generated = time.perf_counter()
        text = THINK.sub("", "".join(parts)).strip()
        if not text:
            yield self._fall_back(question, retrieval, index, "empty reply")
            return
        try:
            answer = self.check(question, text, passages)
        except Exception as exc:  # noqa: BLE001 - a bug in the check must not lose the question
            yield self._fall_back(question, retrieval, index, f"answer check failed ({self._describe(exc)})")
            return
        if answer.refused:
            # Rejecting the model's text must never cost the user the answer the product already had:
            # the extractive answer is shown, and the question is refused only when it refuses too.
            fallback = self._fall_back(question, retrieval, index, answer.note,
                                       note=f"{answer.note}; showing the extractive answer")
            yield replace(fallback, generated=answer.generated)
            return
        timings = {"generate": round((generated - started) * 1000, 1),
                   "check": round((time.perf_counter() - generated) * 1000, 1)}
        yield replace(answer, timings_ms={**answer.timings_ms, **timings})

    def _fall_back(self, question: str, retrieval: Retrieval, index: NoticeIndex, reason: str,
                   note: str | None = None) -> Answer:
        note = note or f"language model unavailable ({reason}); showing the extractive answer"
        try:
            answer = self.fallback.run(question, retrieval, index)
            return replace(answer, note=f"{note}; {answer.note}" if answer.note else note)
        except Exception as exc:  # noqa: BLE001 - never raise: say what happened instead
            return Answer(question=question, answer=_refusal_text(question), refused=True, citations=[],
                          mode="extractive", note=f"{note}; the extractive answer failed too ({self._describe(exc)})")

    # -- the answer from the check's verdicts ---------------------------------------------
    def check(self, question: str, text: str, passages: Sequence[Passage]) -> Answer:
        """Keep the sentences of ``text`` that their citations support; renumber; build the Answer."""
        # sentence, kept passages, (passage, sentence index) support, reason when rejected
        verdicts = self.checker.verdicts(text, passages)
        by_n = {p.n: p for p in passages}

        first = verdicts[0][0] if verdicts else None
        said_not_found = bool(first and not first.cited and NOT_FOUND.search(first.clean))
        supported = [v for v in verdicts if v[1]]
        if said_not_found or not supported:
            return self._refusal(question, verdicts, passages,
                                 "the model found no answer in the notices" if said_not_found
                                 else "no sentence of the generated answer is supported by the cited notices")

        # renumber in order of first use, as the kept markers appear in the text
        renumber: dict[int, int] = {}
        for s, kept, _, _ in supported:
            for n in s.cited or kept:
                if n in kept and n not in renumber:
                    renumber[n] = len(renumber) + 1
        quotes: dict[int, list[int]] = {n: [] for n in renumber}
        for _, _, support, _ in supported:
            for n, j in support:
                if j not in quotes[n]:
                    quotes[n].append(j)
        citations = []
        for old, new in sorted(renumber.items(), key=lambda kv: kv[1]):
            p = by_n[old]
            picks = sorted(quotes[old])
            citations.append(Citation.from_notice(new, p.notice, _join_quote(p, picks), [p.spans[j] for j in picks]))

        out_sentences: list[AnswerSentence] = []
        lines: dict[int, tuple[str, list[str]]] = {}
        removed = 0
        for s, kept, _, reason in verdicts:
            if kept:
                new_numbers = tuple(renumber[n] for n in s.cited or kept if n in kept)
                out_sentences.append(AnswerSentence(text=s.clean, citations=new_numbers, supported=True))
                rewritten = _rewrite_markers(s.raw, {n: renumber[n] for n in kept})
                if not s.cited:  # the check found its notice: cite it
                    rewritten += "".join(f"[{n}]" for n in new_numbers)
                lines.setdefault(s.line, (s.prefix, []))[1].append(rewritten)
            else:
                out_sentences.append(AnswerSentence(text=s.clean, citations=(), supported=False, reason=reason))
                removed += 1
        answer_text = "\n".join(prefix + " ".join(parts) for _, (prefix, parts) in sorted(lines.items()))
        note = ""
        if removed:
            note = (f"{removed} sentence{'s' if removed > 1 else ''} of the generated answer removed: "
                    "not supported by the notices they cite")
        return Answer(question=question, answer=answer_text, refused=False, citations=citations,
                      sentences=out_sentences, mode=self.mode, note=note, generated=out_sentences)

    def _refusal(self, question: str, verdicts, passages: Sequence[Passage], reason: str) -> Answer:
        related = []
        try:
            qvec = np.asarray(self.embedder.embed_query(question), np.float32)
        except Exception:  # noqa: BLE001
            qvec = None
        for p in list(passages)[:3]:
            j = 0
            if qvec is not None:
                self.checker.prepare(p)
                j = int(np.argmax(p._vectors[:len(p.sentences)] @ qvec))
            related.append(Citation.from_notice(len(related) + 1, p.notice, p.sentences[j], [p.spans[j]]))
        # the check's verdicts stay visible; a refusal cites nothing
        sentences = [AnswerSentence(text=s.clean, citations=(), supported=bool(kept), reason=why)
                     for s, kept, _, why in verdicts]
        return Answer(question=question, answer=_refusal_text(question), refused=True, citations=[],
                      sentences=sentences, related=related, mode=self.mode, note=reason, generated=sentences)


def _join_quote(p: Passage, picks: Sequence[int]) -> str:
    out = ""
    previous = None
    for j in picks:
        if previous is not None:
            adjacent = p.spans[j][0] - p.spans[previous][1] <= 2
            out += " " if adjacent else " … "
        out += p.sentences[j]
        previous = j
    return out


def _rewrite_markers(raw: str, mapping: Mapping[int, int]) -> str:
    """Rewrite [n] markers with their new numbers; drop numbers not in ``mapping`` (and emptied markers)."""

    def sub(m: re.Match) -> str:
        numbers = []
        for part in re.split(r"[,，]", m.group(1)):
            value = int(part.strip())
            if value in mapping and mapping[value] not in numbers:
                numbers.append(mapping[value])
        return "".join(f"[{n}]" for n in numbers)

    text = MARKER.sub(sub, raw)
    text = re.sub(r"[ \t]+(?=\[\d)", "", text)  # "발표했다. [1]" → "발표했다.[1]"
    return re.sub(r"[ \t]+(?=[.,!?。])", "", re.sub(r"[ \t]{2,}", " ", text)).strip()