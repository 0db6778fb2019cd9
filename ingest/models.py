"""Records that flow out of ingest: a parsed notice and the chunks cut from it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Contact:
    """One person or desk responsible for a notice (from 담당부서/담당 lines)."""

    department: str = ""
    name: str = ""
    phone: str = ""
    role: str = ""  # 책임자, 담당자, 관리자 … as written in the notice


@dataclass(frozen=True)
class Notice:
    """One press release, whatever file or record it came from.

    ``body`` is the normalised text; chunk offsets and citation quotes refer to it.
    ``published`` is ISO ``YYYY-MM-DD`` or "" when the source gives no date.
    """

    doc_id: str
    title: str
    body: str
    agency: str = ""
    published: str = ""
    url: str = ""
    source: str = ""  # file path the notice was read from
    source_type: str = ""  # korea.kr | bidpro | pdf | hwp | hwpx | text
    attachments: tuple[str, ...] = ()
    contacts: tuple[Contact, ...] = ()
    breadcrumb: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # what ingest changed that a reader of the source should know


@dataclass(frozen=True)
class Chunk:
    """A run of whole sentences of one notice's body.

    ``start``/``end`` are character offsets into ``Notice.body``; ``sentences``
    holds the body offsets of each sentence in the chunk, so an answer can quote
    and highlight a sentence without splitting the text again.
    The notice fields used for filtering and display are copied in.
    """

    doc_id: str
    ordinal: int
    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...] = ()
    title: str = ""
    agency: str = ""
    published: str = ""
    source_type: str = ""

    @property
    def chunk_id(self) -> str:
        return f"{self.doc_id}#{self.ordinal}"


@dataclass(frozen=True)
class SkippedFile:
    """A file (or record) that could not be read, and why, in one line."""

    path: str
    reason: str


@dataclass
class ReadReport:
    """What a read over many paths produced: the notices, and what was skipped."""

    notices: list[Notice] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    files_read: int = 0
