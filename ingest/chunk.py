"""Sentence-aware chunking: runs of whole sentences, a sentence of overlap between neighbours."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ingest.models import Chunk, Notice

SentenceSplitter = Callable[[str], list[tuple[int, int]]]


@dataclass(frozen=True)
class ChunkerSettings:
    """How notices are cut. Recorded in the index manifest: changing them rebuilds the index."""

    max_chars: int = 600
    overlap_sentences: int = 1
    # A "sentence" longer than this is a flattened table or a list without
    # punctuation, not prose: it is cut at spaces so embeddings see all of it.
    max_sentence_chars: int = 900

    def __post_init__(self) -> None:
        if self.max_chars < 50:
            raise ValueError(f"max_chars must be at least 50, got {self.max_chars}")
        if self.overlap_sentences < 0:
            raise ValueError(f"overlap_sentences must be >= 0, got {self.overlap_sentences}")
        if self.max_sentence_chars < self.max_chars:
            raise ValueError("max_sentence_chars must be >= max_chars")


class Chunker:
    """Cuts a notice's body into chunks of whole sentences, never inside a sentence.

    The sentence splitter is passed in (kiwipiepy's by default) so tests can swap it.
    """

    def __init__(self, settings: ChunkerSettings | None = None, splitter: SentenceSplitter | None = None):
        self.settings = settings or ChunkerSettings()
        self._split_many: Callable[[Sequence[str]], list[list[tuple[int, int]]]]
        if splitter is None:
            from ingest.korean import sentence_spans, sentence_spans_many

            splitter, self._split_many = sentence_spans, sentence_spans_many  # Kiwi splits a batch in parallel
        else:
            self._split_many = lambda bodies: [splitter(body) for body in bodies]
        self._split = splitter

    def sentences(self, body: str) -> list[tuple[int, int]]:
        return self._cut(body, self._split(body))

    def _cut(self, body: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        limit = self.settings.max_sentence_chars
        return [piece for start, end in spans for piece in _cut_long(body, start, end, limit)]

    def run(self, notice: Notice) -> list[Chunk]:
        """Chunks of ``notice`` in body order; each keeps the notice's metadata and body offsets."""
        return self._chunks(notice, self.sentences(notice.body))

    def run_many(self, notices: Sequence[Notice]) -> list[Chunk]:
        """``run`` over many notices, in order; their sentences are found as one batch."""
        split = self._split_many([n.body for n in notices])
        return [chunk for notice, spans in zip(notices, split)
                for chunk in self._chunks(notice, self._cut(notice.body, spans))]

    def _chunks(self, notice: Notice, spans: list[tuple[int, int]]) -> list[Chunk]:
        groups: list[list[tuple[int, int]]] = []
        current: list[tuple[int, int]] = []
        for span in spans:
            if current and span[1] - current[0][0] > self.settings.max_chars:
                groups.append(current)
                keep = self.settings.overlap_sentences
                current = current[-keep:] if keep else []
                # overlap only while it leaves room for the new sentence
                while current and span[1] - current[0][0] > self.settings.max_chars:
                    current = current[1:]
            current.append(span)
        if current and (not groups or current[-1] != groups[-1][-1]):
            groups.append(current)
        return [
            Chunk(
                doc_id=notice.doc_id,
                ordinal=i,
                start=group[0][0],
                end=group[-1][1],
                text=notice.body[group[0][0] : group[-1][1]],
                sentences=tuple(group),
                title=notice.title,
                agency=notice.agency,
                published=notice.published,
                source_type=notice.source_type,
            )
            for i, group in enumerate(groups)
        ]


def _cut_long(body: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Split an over-long span at spaces into pieces of at most ``limit`` characters."""
    pieces = []
    while end - start > limit:
        cut = body.rfind(" ", start + limit // 2, start + limit)
        if cut <= start:
            cut = start + limit
        pieces.append((start, cut))
        start = cut
        while start < end and body[start].isspace():
            start += 1
    if end > start:
        pieces.append((start, end))
    return pieces
