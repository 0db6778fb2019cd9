"""Records that flow out of retrieval and answering. ``ask --json`` and the eval report serialise these."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ingest.models import Chunk, Notice


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with the score of each retriever (None where that retriever did not rank it)."""

    chunk: Chunk
    score: float
    dense_score: float | None = None
    bm25_score: float | None = None
    dense_rank: int | None = None
    bm25_rank: int | None = None


@dataclass(frozen=True)
class Retrieval:
    """Hits in rank order and the distinct notices they belong to, best first."""

    query: str
    hits: list[Hit]
    doc_ids: list[str]
    timings_ms: dict[str, float] = field(default_factory=dict)
    # IDF-weighted share of the query's search terms that occur in the index (None without BM25)
    lexical_coverage: float | None = None


@dataclass(frozen=True)
class Citation:
    """One numbered source of an answer: the notice and the passage quoted from it."""

    n: int
    doc_id: str
    title: str
    agency: str
    published: str
    url: str
    source: str
    quote: str
    # body offsets of the quoted sentences, for highlighting in the notice text
    spans: tuple[tuple[int, int], ...] = ()
    # where else the same notice (same title, nearly the same text) was published: its copies' addresses or files
    also: tuple[str, ...] = ()

    @classmethod
    def from_notice(cls, n: int, notice: Notice, quote: str, spans=()) -> Citation:
        return cls(n=n, doc_id=notice.doc_id, title=notice.title, agency=notice.agency,
                   published=notice.published, url=notice.url, source=notice.source,
                   quote=quote, spans=tuple(spans))


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of an answer and the citation numbers that support it."""

    text: str
    citations: tuple[int, ...]
    supported: bool = True
    reason: str = ""  # why the support check rejected it (generative mode)


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    refused: bool
    citations: list[Citation]
    sentences: list[AnswerSentence] = field(default_factory=list)
    # a refusal's nearest notices; an answer's "see also", the notices retrieval ranked close that it
    # does not quote (rag/related.py). Never evidence for the answer.
    related: list[Citation] = field(default_factory=list)
    mode: str = "extractive"
    note: str = ""  # e.g. "quoted from Korean sources", "model unavailable: fell back to extractive"
    timings_ms: dict[str, float] = field(default_factory=dict)
    # Generative mode: every sentence the model wrote, with the support check's verdict, kept also
    # when the check rejected them all and the extractive answer is shown instead.
    generated: list[AnswerSentence] = field(default_factory=list)

    def to_dict(self) -> dict:
        data = asdict(self)
        for c in data["citations"] + data["related"]:
            c["spans"] = [list(s) for s in c["spans"]]
            c["also"] = list(c["also"])
        return data
