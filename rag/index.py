"""The index: notices, their chunks, chunk vectors and BM25 terms, and a manifest, persisted as snapshots.

A snapshot is one folder (no pickle anywhere: a folder a user can be sent must never execute code on load):
    manifest.json   format, embedding model and dimension, chunker settings, per-source-file
                    SHA-256 and doc ids, and a SHA-256 of each data file below
    notices.jsonl   one Notice per line
    chunks.jsonl    one Chunk per line, with its BM25 search terms and (optional) ``tokens``: the
                    search terms of its sentences with their body offsets, so the answerer reads the
                    terms of any sentence or clause off them instead of running Kiwi at question time
    vectors.faiss   faiss.write_index of an inner-product flat index, row i = chunk i
    ivf.faiss       (optional, above 200,000 chunks) the trained approximate index, so a process
                    start reads it instead of training it again
    sentences.npy   (optional) float16 vectors of every sentence of every chunk, in chunk order
                    (chunk i's rows follow chunk i-1's, one per entry of ``chunk.sentences``); the
                    answerer's learned scorer reads them, so no sentence is embedded at question time
                    for it. An index saved without it still loads (the scorer's lexical model is used).

``rag.folder.IndexFolder`` decides where snapshots go, refuses folders that are not ours, and
switches to a new snapshot atomically, so a crash at any point leaves the previous index usable.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ingest.models import Chunk, Contact, Notice
from ingest.readers import file_digest
from rag.copies import copy_groups
from rag.dates import notice_days
from rag.folder import DATA_FILES as _FILES
from rag.folder import MANIFEST, IndexFolder, IndexProblem

FORMAT = "pressrag-index/2"
SENTENCE_FILE = "sentences.npy"
BARE_SENTENCE_FILE = "sentences_bare.npy"
_SENTENCE_FILES = (SENTENCE_FILE, BARE_SENTENCE_FILE)  # optional: older indexes load without them
# Format 1 kept the same files at the top of the folder; its snapshots read the same way.
_READABLE_FORMATS = ("pressrag-index/1", FORMAT)

__all__ = ["FORMAT", "IndexProblem", "Manifest", "NoticeIndex"]


@dataclass
class Manifest:
    model: str
    dim: int
    chunker: dict
    files: dict[str, dict] = field(default_factory=dict)  # source path → {"sha256", "doc_ids"}
    checksums: dict[str, str] = field(default_factory=dict)
    format: str = FORMAT
    updated: str = ""
    counts: dict[str, int] = field(default_factory=dict)


# A release re-issued to correct it carries the same title with a mark: "[정정] …", "(수정) …", "【정정보도】 …",
# "… (정정)". The mark is the ministries' convention, not a word of the title.
_CORRECTION_MARK = re.compile(
    r"^\s*[\[(【〔<]\s*(?:정정|수정|재배포)\s*(?:보도|배포)?\s*(?:자료)?\s*[\])】〕>]\s*"
    r"|\s*[\[(【〔<]\s*(?:정정|수정)\s*[\])】〕>]\s*$")


def title_key(title: str) -> str:
    """A title as compared between notices: whitespace collapsed (a reader may keep a line break), and a
    correction's mark left off ("[정정] X" is X re-issued)."""
    return " ".join(_CORRECTION_MARK.sub("", title).split())


def is_correction(title: str) -> bool:
    """Whether a title carries a correction's mark ("[정정] …", "(수정) …", "… (정정)")."""
    return bool(_CORRECTION_MARK.search(title))


def _notice_from_json(data: dict) -> Notice:
    data = dict(data)
    data["attachments"] = tuple(data.get("attachments", ()))
    data["breadcrumb"] = tuple(data.get("breadcrumb", ()))
    data["notes"] = tuple(data.get("notes", ()))
    data["contacts"] = tuple(Contact(**c) for c in data.get("contacts", ()))
    return Notice(**data)


def _chunk_from_json(data: dict) -> tuple[Chunk, list[str], list | None]:
    data = dict(data)
    terms, tokens = _shared_terms(data.pop("terms", []), data.pop("tokens", None))
    data["sentences"] = tuple(tuple(s) for s in data.get("sentences", ()))
    return Chunk(**data), terms, tokens


def _shared_terms(terms: list[str], tokens: Iterable | None) -> tuple[list[str], TokenRow | None]:
    """A chunk's terms, and its (start, end, term) tokens as a ``TokenRow``, with each term one shared
    string object.

    JSON parsing and Kiwi make a new string for every occurrence of a term, and each token was a
    3-element list: on the demo index terms and tokens were 39 of the 59 KB a chunk held in Python
    objects (tracemalloc, 2026-12-07), which decides how many chunks a machine's memory can hold."""
    from sys import intern

    return [intern(t) for t in terms], None if tokens is None else TokenRow(tokens)


class TokenRow(Sequence):
    """One chunk's sentence tokens, a sequence of (start, end, term) tuples held as two int arrays and a
    tuple of shared term strings: 16 bytes a token where a tuple of two ints and a string took ~130
    (demo index: 15.0 → 2.3 KB a chunk, tracemalloc, 2026-12-07)."""

    __slots__ = ("_starts", "_ends", "_terms")

    def __init__(self, tokens: Iterable[tuple[int, int, str]]):
        from array import array
        from sys import intern

        rows = list(tokens)
        self._starts = array("i", [r[0] for r in rows])
        self._ends = array("i", [r[1] for r in rows])
        self._terms = tuple(intern(r[2]) for r in rows)

    def __len__(self) -> int:
        return len(self._terms)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return list(zip(self._starts[i], self._ends[i], self._terms[i]))
        return self._starts[i], self._ends[i], self._terms[i]

    def __iter__(self):
        return zip(self._starts, self._ends, self._terms)

    def __eq__(self, other) -> bool:
        if isinstance(other, (TokenRow, list, tuple)):
            return len(self) == len(other) and all(tuple(a) == tuple(b) for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # a sequence compared by value, like a list


class TokenTable:
    """The search terms of one notice's sentences with their body offsets (from its chunks' ``tokens``)."""

    def __init__(self, rows: Iterable[tuple[int, int, str]]):
        rows = sorted(set(map(tuple, rows)))
        self.starts = [r[0] for r in rows]
        self.ends = [r[1] for r in rows]
        self.terms = [r[2] for r in rows]
        # Kiwi's tokens do not overlap, so their ends rise with their starts and the tokens inside a span
        # are one slice (a third of an extractive answer's time went to filtering them one by one).
        self._ends_sorted = all(a <= b for a, b in zip(self.ends, self.ends[1:]))

    def between(self, start: int, end: int) -> frozenset[str]:
        """The terms of the tokens that lie within body offsets [start, end)."""
        i, j = bisect_left(self.starts, start), bisect_left(self.starts, end)
        if self._ends_sorted:
            return frozenset(self.terms[i:bisect_right(self.ends, end, i, j)])
        return frozenset(self.terms[k] for k in range(i, j) if self.ends[k] <= end)


class NoticeIndex:
    """Notices, their chunks, chunk vectors and BM25 terms, kept row-aligned.

    ``vectors[i]``, ``chunks[i]`` and ``terms[i]`` describe the same chunk.
    """

    def __init__(self, manifest: Manifest, notices: dict[str, Notice], chunks: list[Chunk],
                 terms: list[list[str]], vectors: np.ndarray, sentence_vectors: np.ndarray | None = None,
                 tokens: list[Iterable | None] | None = None, bare_sentence_vectors: np.ndarray | None = None):
        if not (len(chunks) == len(terms) == len(vectors)):
            raise IndexProblem("index rows disagree: chunks, terms and vectors differ in count")
        if tokens is not None and len(tokens) != len(chunks):
            raise IndexProblem("index rows disagree: chunks and sentence tokens differ in count")
        # per chunk: [(start, end, term), …] of its sentences, or None (built before tokens were stored)
        self.tokens: list[TokenRow | None] = ([t if t is None or isinstance(t, TokenRow) else TokenRow(t)
                                               for t in tokens] if tokens is not None else [None] * len(chunks))
        self._token_tables: dict[str, TokenTable | None] = {}
        self._doc_rows: dict[str, list[int]] | None = None
        if sentence_vectors is not None and len(sentence_vectors) != sum(len(c.sentences) for c in chunks):
            raise IndexProblem("index rows disagree: sentence vectors and chunk sentences differ in count")
        # float16 halves the file and memory; cosine differences stay below 1e-3
        self.sentence_vectors = (None if sentence_vectors is None else
                                 np.asarray(sentence_vectors, np.float16).reshape(-1, manifest.dim))
        # The same sentences embedded alone (see rag/build.py _embed_sentences): rows as sentence_vectors.
        if bare_sentence_vectors is not None and (self.sentence_vectors is None
                                                  or len(bare_sentence_vectors) != len(self.sentence_vectors)):
            raise IndexProblem("index rows disagree: bare and titled sentence vectors differ in count")
        self.bare_sentence_vectors = (None if bare_sentence_vectors is None else
                                      np.asarray(bare_sentence_vectors, np.float16).reshape(-1, manifest.dim))
        self._sentence_rows: dict[tuple[str, int, int], int] | None = None
        self._sentence_starts: np.ndarray | None = None
        self.manifest = manifest
        self.notices = notices
        self.chunks = chunks
        self.terms = terms
        self.vectors = held_vectors(vectors, manifest.dim)
        self._faiss = None
        self._doc_freq: dict[str, int] | None = None
        self._shared_titles: frozenset[str] | None = None
        self._copies: dict[str, str] | None = None
        self._current: dict[str, str] | None = None
        # rag.search stores built over these rows (dropped on every edit), and the snapshot they may load from
        self.search_cache: dict = {}
        self.snapshot_dir: Path | None = None
        self._sentences: dict[str, list[tuple[int, int]]] | None = None
        self._days: dict[str, frozenset[tuple[int, int]]] = {}
        self._sequences: TermSequences | None = None  # built at the first phrase_coverage

    @classmethod
    def empty(cls, model: str, dim: int, chunker: dict) -> NoticeIndex:
        return cls(Manifest(model=model, dim=dim, chunker=chunker), {}, [], [], np.zeros((0, dim), np.float32))

    # -- search structures ------------------------------------------------------------
    @property
    def faiss_index(self):
        """An inner-product flat FAISS index over the chunk vectors (built on first use)."""
        if self._faiss is None:
            import faiss

            index = faiss.IndexFlatIP(self.manifest.dim)
            if len(self.vectors):
                index.add(np.ascontiguousarray(self.vectors, np.float32))
            self._faiss = index
        return self._faiss

    def document_frequency(self, term: str) -> int:
        """How many chunks contain a search term."""
        if self._doc_freq is None:
            freq: dict[str, int] = {}
            for terms in self.terms:
                for t in set(terms):
                    freq[t] = freq.get(t, 0) + 1
            self._doc_freq = freq
        return self._doc_freq.get(term, 0)

    def shared_titles(self) -> frozenset[str]:
        """The titles (``title_key``) two or more notices carry: parts of one document, such as a
        Wikipedia article's paragraphs (read by fusion's ``sibling_terms``)."""
        if self._shared_titles is None:
            seen: dict[str, int] = {}
            for notice in self.notices.values():
                key = title_key(notice.title)
                if key:
                    seen[key] = seen.get(key, 0) + 1
            self._shared_titles = frozenset(key for key, n in seen.items() if n > 1)
        return self._shared_titles

    def in_parts(self, doc_id: str) -> bool:
        """Whether notice ``doc_id`` is one part of a document: another notice carries its title
        (``shared_titles``), as a Wikipedia article's paragraphs or a report's sections do."""
        notice = self.notices.get(doc_id)  # shared_titles holds no empty title
        return notice is not None and title_key(notice.title) in self.shared_titles()

    def copies(self) -> dict[str, str]:
        """For each notice that is a copy of another (``rag.copies``: the same title, and texts whose
        5-gram sets overlap at Jaccard >= 0.9: whitespace, a footer or a changed word aside), the id of the
        first of its copies in the index: one release posted twice (korea.kr and the ministry's own feed,
        a bid site's repost, a re-issue with a figure changed) or korquad_tune's paragraph kept under three
        ids. Retrieval lists one copy, and evaluation counts any copy as the gold notice. Only notices with
        a copy are keys."""
        if self._copies is None:
            shared = self.shared_titles()  # copies share their title: only those notices' texts are read
            by_title: dict[str, dict[str, str]] = {}
            for doc_id, notice in self.notices.items():
                title = title_key(notice.title)
                if title in shared:
                    by_title.setdefault(title, {})[doc_id] = notice.body
            self._copies = {doc_id: first for texts in by_title.values()
                            for doc_id, first in copy_groups(texts).items()}
        return self._copies

    def current_copy(self, doc_id: str) -> str | None:
        """The copy of ``doc_id``'s release that supersedes the others (``copies``): the one whose title
        carries a correction's mark ("[정정] …"; the latest published of them if several), else the one
        published last. None when ``doc_id`` has no copy or no copy stands out (the same day, no mark:
        a repost, or korquad_tune's paragraph under three ids), where the best-ranked copy is listed."""
        if self._current is None:
            def standing(d: str) -> tuple[bool, str]:  # a correction first, then the later (ISO dates)
                return is_correction(self.notices[d].title), self.notices[d].published or ""

            groups: dict[str, list[str]] = {}
            for member, first in self.copies().items():
                groups.setdefault(first, []).append(member)
            current: dict[str, str] = {}
            for first, members in groups.items():
                ranked = sorted(members, key=standing, reverse=True)
                if standing(ranked[0]) != standing(ranked[1]):
                    current[first] = ranked[0]
            self._current = current
        first = self.copies().get(doc_id)
        return None if first is None else self._current.get(first)

    def idf(self, term: str) -> float:
        """BM25-style inverse document frequency of a search term over the chunks."""
        df = self.document_frequency(term)
        n = len(self.terms)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def known_share(self, terms: Iterable[str]) -> float:
        """IDF-weighted share of distinct ``terms`` that occur in some chunk (0 when there are none)."""
        weights = {t: self.idf(t) for t in set(terms)}
        total = sum(weights.values())
        known = sum(w for t, w in weights.items() if self.document_frequency(t) > 0)
        return known / total if total else 0.0

    def sentence_spans(self, doc_id: str) -> list[tuple[int, int]]:
        """Body offsets of every sentence of a notice, in order (from its chunks)."""
        if self._sentences is None:
            by_doc: dict[str, set[tuple[int, int]]] = {}
            for chunk in self.chunks:
                by_doc.setdefault(chunk.doc_id, set()).update(chunk.sentences)
            self._sentences = {d: sorted(s) for d, s in by_doc.items()}
        return self._sentences.get(doc_id, [])

    def days(self, doc_id: str) -> frozenset[tuple[int, int]]:
        """The calendar days (month, day) a notice's text names (``rag.dates.notice_days``), read once."""
        if doc_id not in self._days:
            notice = self.notices[doc_id]
            self._days[doc_id] = notice_days(notice.body, notice.published)
        return self._days[doc_id]

    def token_table(self, doc_id: str) -> TokenTable | None:
        """The notice's sentence terms with offsets; None when one of its chunks was stored without them."""
        if doc_id not in self._token_tables:
            if self._doc_rows is None:  # one pass over the chunks until the next edit, not one per notice
                rows_of: dict[str, list[int]] = {}
                for i, chunk in enumerate(self.chunks):
                    rows_of.setdefault(chunk.doc_id, []).append(i)
                self._doc_rows = rows_of
            stored = [self.tokens[i] for i in self._doc_rows.get(doc_id, [])]
            rows = [t for part in stored for t in part] if all(t is not None for t in stored) else []
            self._token_tables[doc_id] = TokenTable(rows) if rows else None
        return self._token_tables[doc_id]

    def sentence_row(self, doc_id: str, start: int, end: int) -> int | None:
        """Row of a sentence (body offsets) in ``sentence_vectors``; None when the index holds none."""
        if self.sentence_vectors is None:
            return None
        if self._sentence_rows is None:
            rows: dict[tuple[str, int, int], int] = {}
            row = 0
            for chunk in self.chunks:
                for s_start, s_end in chunk.sentences:
                    rows.setdefault((chunk.doc_id, s_start, s_end), row)
                    row += 1
            self._sentence_rows = rows
        return self._sentence_rows.get((doc_id, start, end))

    def _sentence_offsets(self) -> np.ndarray:
        """Row in ``sentence_vectors`` of each chunk's first sentence (one more entry: the total)."""
        if self._sentence_starts is None:
            self._sentence_starts = np.cumsum([0] + [len(c.sentences) for c in self.chunks])
        return self._sentence_starts

    def best_sentence_scores(self, vector: np.ndarray, rows: np.ndarray) -> np.ndarray | None:
        """For each chunk row, the cosine of ``vector`` with the chunk's closest sentence (its own vector
        otherwise); None when the index holds no sentence vectors. A sentence that answers the query is
        diluted in a ~600-character chunk's one vector; its own vector is not."""
        if self.sentence_vectors is None:
            return None
        offsets = self._sentence_offsets()
        rows = np.asarray(rows, np.int64)
        starts, ends = offsets[rows], offsets[rows + 1]
        counts = ends - starts
        out = self.vectors[rows].astype(np.float32) @ vector if len(rows) else np.zeros(0, np.float32)
        filled = counts > 0
        if filled.any():
            n = counts[filled]
            offsets = np.cumsum(n) - n  # where each chunk's sentences begin in ``sims``
            sel = np.repeat(starts[filled] - offsets, n) + np.arange(int(n.sum()))
            sims = self.sentence_vectors[sel].astype(np.float32) @ vector
            out[filled] = np.maximum.reduceat(sims, offsets)
        return out

    def best_sentence_coverage(self, rows: np.ndarray, weights: dict[str, float]) -> np.ndarray | None:
        """For each chunk row, the largest share of ``weights`` (term -> IDF) that one of its sentences
        holds; None when the index was built without sentence terms. A chunk that has the question's
        words spread over unrelated sentences scores lower than one with them together in one sentence:
        that is where KorQuAD's paragraphs of one article differ (most of its top-1 misses)."""
        chunks = [self.chunks[int(r)] for r in rows]
        tables = [self.token_table(c.doc_id) for c in chunks]
        if any(t is None for t in tables):
            return None
        total = sum(weights.values())
        out = np.zeros(len(rows), np.float32)
        if not total:
            return out
        for i, (chunk, table) in enumerate(zip(chunks, tables)):
            held = [table.between(s, e) & weights.keys() for s, e in chunk.sentences]
            out[i] = max((sum(weights[t] for t in terms) for terms in held), default=0.0) / total
        return out

    def phrase_coverage(self, rows: np.ndarray, weights: dict[str, float], terms: list[str]) -> np.ndarray | None:
        """For each chunk row, the share of the query's adjacent term pairs (``terms`` in order; a pair
        weighs its two terms' ``weights``) that the chunk holds adjacent too; None when the index was
        built without sentence terms. "국회 통과" as a phrase, not 국회 in one sentence and 통과 in
        another: where paragraphs of one article share their words, the one the question paraphrases
        shares its word order (korquad_tune, AutoRAG; docs/measurements.md, fusion weights)."""
        if self._sequences is None:
            self._sequences = TermSequences.from_tokens(self.tokens)
        return pair_coverage(rows, weights, terms, self._sequences)

    def _invalidate(self) -> None:
        self._faiss = None
        self.search_cache = {}
        self.snapshot_dir = None
        self._doc_freq = None
        self._shared_titles = None
        self._copies = None
        self._current = None
        self._sentences = None
        self._days = {}
        self._sequences = None
        self._sentence_rows = None
        self._sentence_starts = None
        self._token_tables = {}
        self._doc_rows = None

    # -- edits ---------------------------------------------------------------------------
    def remove_docs(self, doc_ids: set[str]) -> None:
        if not doc_ids:
            return
        keep = [i for i, c in enumerate(self.chunks) if c.doc_id not in doc_ids]
        if self.sentence_vectors is not None:
            starts = self._sentence_offsets()
            rows = [r for i in keep for r in range(starts[i], starts[i + 1])]
            self.sentence_vectors = self.sentence_vectors[rows]
            if self.bare_sentence_vectors is not None:
                self.bare_sentence_vectors = self.bare_sentence_vectors[rows]
        self.chunks = [self.chunks[i] for i in keep]
        self.terms = [self.terms[i] for i in keep]
        self.tokens = [self.tokens[i] for i in keep]
        self.vectors = held_vectors(self.vectors[keep] if keep else np.zeros((0, self.manifest.dim)), self.manifest.dim)
        for doc_id in doc_ids:
            self.notices.pop(doc_id, None)
        self._invalidate()

    def add(self, notices: list[Notice], chunks: list[Chunk], terms: list[list[str]], vectors: np.ndarray,
            sentence_vectors: np.ndarray | None = None, tokens: list[list | None] | None = None,
            bare_sentence_vectors: np.ndarray | None = None) -> None:
        """Append rows; ``sentence_vectors`` (and ``bare_sentence_vectors``, the same sentences embedded
        without their title) hold one row per entry of each chunk's ``sentences``.

        Adding without sentence vectors to an index that has them (or the reverse) drops them for
        the whole index: half-covered vectors would score some notices' sentences and not others.
        """
        dim, empty, adding = self.manifest.dim, not self.chunks, bool(chunks)
        self.sentence_vectors = _extend_rows(self.sentence_vectors, sentence_vectors, dim, empty, adding)
        self.bare_sentence_vectors = (None if self.sentence_vectors is None else
                                      _extend_rows(self.bare_sentence_vectors, bare_sentence_vectors, dim, empty, adding))
        for notice in notices:
            self.notices[notice.doc_id] = notice
        self.chunks.extend(chunks)
        rows = [_shared_terms(t, k) for t, k in zip(terms, tokens if tokens is not None else [None] * len(terms),
                                                    strict=True)]
        self.terms.extend(t for t, _ in rows)
        self.tokens.extend(k for _, k in rows)
        self.vectors = held_vectors(np.concatenate([self.vectors, np.asarray(vectors, self.vectors.dtype).reshape(
            -1, self.manifest.dim)]), self.manifest.dim)
        self._invalidate()

    # -- persistence ------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """Write a new snapshot into ``folder`` and switch to it atomically (under the folder's write lock).

        Refuses a file or a folder of someone else's files; a failure part-way leaves the previous
        snapshot current and removes the partial one.
        """
        import faiss

        store = IndexFolder(folder)
        store.claim()
        with store.write_lock():
            snap = store.new_snapshot()
            try:
                with (snap / "notices.jsonl").open("w", encoding="utf-8") as fh:
                    for notice in self.notices.values():
                        fh.write(json.dumps(asdict(notice), ensure_ascii=False) + "\n")
                with (snap / "chunks.jsonl").open("w", encoding="utf-8") as fh:
                    for chunk, terms, tokens in zip(self.chunks, self.terms, self.tokens):
                        row = {**asdict(chunk), "terms": terms}
                        if tokens is not None:
                            row["tokens"] = list(tokens)
                        fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                faiss.write_index(self.faiss_index, str(snap / "vectors.faiss"))
                written = list(_FILES)
                from rag.search.embedded import save_bm25s, save_ivf  # saved, not rebuilt at every start

                written += save_bm25s(self, snap)
                written += save_ivf(self, snap)
                for name, held in ((SENTENCE_FILE, self.sentence_vectors),
                                   (BARE_SENTENCE_FILE, self.bare_sentence_vectors)):
                    if held is not None:
                        np.save(snap / name, held, allow_pickle=False)
                        written.append(name)
                self.manifest.format = FORMAT
                self.manifest.checksums = {name: file_digest(snap / name) for name in written}
                self.manifest.updated = time.strftime("%Y-%m-%dT%H:%M:%S%z")
                self.manifest.counts = {"notices": len(self.notices), "chunks": len(self.chunks)}
                (snap / MANIFEST).write_text(json.dumps(asdict(self.manifest), ensure_ascii=False, indent=1),
                                             encoding="utf-8")
                for name in (*written, MANIFEST):
                    with (snap / name).open("rb") as fh:
                        os.fsync(fh.fileno())
            except BaseException:
                store.discard(snap)
                raise
            store.publish(snap)

    @classmethod
    def load(cls, folder: Path, expected_model: str | None = None) -> NoticeIndex:
        """Load and verify the current snapshot; raise IndexProblem with a one-line reason if unusable."""
        store = IndexFolder(folder)
        store.refuse_if_not_ours()
        if store.kind() in ("missing", "empty"):
            raise IndexProblem(f"no index at {folder} (run `pressrag ingest FILES --index {folder}` first)")
        for _ in range(5):
            snap = store.current()
            if snap is None:
                raise IndexProblem(f"index at {folder} holds no complete snapshot (an ingest did not finish); "
                                   "run `pressrag ingest` again")
            try:
                return cls._load_snapshot(snap, Path(folder), expected_model)
            except IndexProblem:
                # A writer may have switched snapshots and removed this one while we read it.
                if store.current() == snap:
                    raise
        raise IndexProblem(f"index at {folder} keeps changing while being read; try again")

    @classmethod
    def _load_snapshot(cls, snap: Path, folder: Path, expected_model: str | None) -> NoticeIndex:
        import faiss

        manifest_path = snap / MANIFEST
        if not manifest_path.exists():
            raise IndexProblem(f"index at {folder} is damaged: {MANIFEST} is missing; "
                               f"rebuild it with `pressrag ingest FILES --index {folder} --rebuild`")
        try:
            raw = json.loads(manifest_path.read_text(encoding="utf-8"))
            manifest = Manifest(**raw)
        except (ValueError, TypeError) as exc:
            raise IndexProblem(f"index manifest at {manifest_path} is unreadable: {exc}") from exc
        if manifest.format not in _READABLE_FORMATS:
            raise IndexProblem(f"index at {folder} has format {manifest.format!r}, expected {FORMAT!r}; rebuild it")
        if expected_model and manifest.model != expected_model:
            raise IndexProblem(
                f"index at {folder} was built with embedding model {manifest.model!r} but "
                f"{expected_model!r} is configured; re-ingest with --rebuild or set PRESSRAG_EMBED_MODEL={manifest.model}"
            )
        missing = [name for name in _FILES if not (snap / name).exists()]
        if missing:
            raise IndexProblem(f"index at {folder} is incomplete: {', '.join(missing)} missing; rebuild it")
        for name in _FILES:
            if manifest.checksums.get(name) != file_digest(snap / name):
                raise IndexProblem(f"index at {folder} is damaged: {name} does not match its checksum; rebuild it")
        try:
            notices = {}
            for line in (snap / "notices.jsonl").read_text(encoding="utf-8").splitlines():
                notice = _notice_from_json(json.loads(line))
                notices[notice.doc_id] = notice
            chunks, terms, tokens = [], [], []
            for line in (snap / "chunks.jsonl").read_text(encoding="utf-8").splitlines():
                chunk, chunk_terms, chunk_tokens = _chunk_from_json(json.loads(line))
                chunks.append(chunk)
                terms.append(chunk_terms)
                tokens.append(chunk_tokens)
            flat = faiss.read_index(str(snap / "vectors.faiss"))
            vectors = _read_flat(flat)
        except (ValueError, TypeError, KeyError, RuntimeError, OSError) as exc:
            raise IndexProblem(f"index at {folder} is unreadable: {exc}") from exc
        if flat.d != manifest.dim:
            raise IndexProblem(f"index at {folder}: vectors have dimension {flat.d}, manifest says {manifest.dim}")
        # optional: indexes saved before sentence vectors (or bare ones) existed load without them
        sentence_vectors, bare = (_load_optional_array(folder, snap, manifest, name)
                                  for name in _SENTENCE_FILES)
        index = cls(manifest, notices, chunks, terms, vectors, sentence_vectors, tokens,
                    bare if sentence_vectors is not None else None)
        # the optional search files (bm25s/, ivf.faiss): verified like the rest
        for name in (n for n in manifest.checksums if n not in _FILES and n not in _SENTENCE_FILES):
            if not (snap / name).exists() or manifest.checksums[name] != file_digest(snap / name):
                raise IndexProblem(f"index at {folder} is damaged: {name} is missing or does not match its checksum; "
                                   "rebuild it")
        from rag.search.embedded import APPROXIMATE_ABOVE

        # Above the IVF threshold the flat copy is only needed to save again (faiss_index rebuilds it
        # then): keeping it would hold every vector twice more (1.5 GB at 10⁶ chunks).
        index._faiss = flat if len(chunks) <= APPROXIMATE_ABOVE else None
        index.snapshot_dir = snap
        return index


@dataclass(frozen=True)
class TermSequences:
    """Every chunk's stored search terms in text order, as one int32 array of term ids (row ``r`` is
    ``seq[ptr[r]:ptr[r + 1]]``): the adjacent pairs of a question's few hundred candidate rows are then
    read in a few numpy operations. Python sets of a row's pairs cost ~15 µs a row, 7 ms of a hybrid
    question at 10⁶ chunks (eval/bench_scale.py, 2026-12-05), and the table holds a term in 4 bytes."""

    ids: dict[str, int]
    seq: np.ndarray  # int32 term ids, rows concatenated
    ptr: np.ndarray  # int64, len(rows) + 1
    present: np.ndarray  # bool per row: False where the row was stored without terms

    @classmethod
    def from_tokens(cls, tokens: list[list | None]) -> TermSequences:
        """From ``NoticeIndex.tokens`` ([(start, end, term), …] or None per row)."""
        ids: dict[str, int] = {}
        seq: list[int] = []
        ptr = [0]
        for row in tokens:
            if row is not None:
                seq.extend([ids.setdefault(t[2], len(ids)) for t in row])
            ptr.append(len(seq))
        return cls(ids, np.asarray(seq, np.int32), np.asarray(ptr, np.int64),
                   np.asarray([row is not None for row in tokens], bool))


def pair_coverage(rows: np.ndarray, weights: dict[str, float], terms: list[str],
                  table: TermSequences) -> np.ndarray | None:
    """``NoticeIndex.phrase_coverage`` over any ``table`` of rows' term sequences: for each of ``rows``,
    the weight of the query's adjacent pairs (``terms`` in order, ``weights`` of both terms; a pair
    counts once) the row holds adjacent, over the weight of all of them. None when a row has no
    stored terms."""
    pairs: dict[tuple[str, str], float] = {}
    for a, b in zip(terms, terms[1:]):
        if a != b:
            pairs[(a, b)] = weights.get(a, 0.0) + weights.get(b, 0.0)
    total = sum(pairs.values())
    rows = np.asarray(rows, np.int64)
    out = np.zeros(len(rows), np.float32)
    if not total or not len(rows):
        return out
    if not table.present[rows].all():
        return None
    size = max(len(table.ids), 1)
    known = {table.ids[a] * size + table.ids[b]: w for (a, b), w in pairs.items() if a in table.ids and b in table.ids}
    if not known:
        return out
    codes = np.fromiter(sorted(known), np.int64, len(known))
    code_weights = np.array([known[int(c)] for c in codes], np.float64)
    starts, lengths = table.ptr[rows], table.ptr[rows + 1] - table.ptr[rows]
    owner = np.repeat(np.arange(len(rows)), lengths)
    # the positions of every row's terms, rows one after another
    first = np.repeat(np.cumsum(lengths) - lengths, lengths)
    flat = table.seq[np.repeat(starts, lengths) + np.arange(len(owner)) - first].astype(np.int64)
    inside = owner[1:] == owner[:-1]  # adjacent within one row, not across two rows' boundary
    adjacent = (flat[:-1] * size + flat[1:])[inside]
    owners = owner[1:][inside]
    at = np.minimum(np.searchsorted(codes, adjacent), len(codes) - 1)
    matched = codes[at] == adjacent
    held = np.unique(owners[matched] * len(codes) + at[matched])  # each pair once per row
    sums = np.bincount(held // len(codes), weights=code_weights[held % len(codes)], minlength=len(rows))
    out[:] = sums / total
    return out


def held_vectors(vectors: np.ndarray, dim: int) -> np.ndarray:
    """Chunk vectors as an index holds them in memory: float32, or float16 above the dense store's IVF
    threshold (rag/search/embedded.py ``APPROXIMATE_ABOVE``). There the store picks candidates by 8-bit
    codes and reads these rows only to re-score the few hundred candidates, so half precision costs
    scores ~1e-4 (recall@10 against exact float32 search: eval/bench_scale.py) and saves 0.77 GB at 10⁶
    chunks of 384 dims. Below it flat FAISS search holds its own float32 copy, and fusion compares
    FAISS's scores with scores read from these rows, so both stay float32."""
    rows = np.asarray(vectors).reshape(-1, dim)
    return np.ascontiguousarray(rows, dtype=_held_dtype(len(rows)))


def _held_dtype(rows: int) -> type:
    """The dtype ``held_vectors`` gives ``rows`` chunk vectors."""
    from rag.search.embedded import APPROXIMATE_ABOVE  # read at each call: tests lower it

    return np.float16 if rows > APPROXIMATE_ABOVE else np.float32


def _read_flat(flat, block: int = 65_536) -> np.ndarray:
    """A flat FAISS index's vectors as ``held_vectors`` holds them, read a block at a time so a float16
    index never has all its rows in float32 at once (1.5 GB more at 10⁶ chunks)."""
    out = np.empty((flat.ntotal, flat.d), _held_dtype(flat.ntotal))
    for start in range(0, flat.ntotal, block):
        out[start:start + block] = flat.reconstruct_n(start, min(block, flat.ntotal - start))
    return out


def _extend_rows(held: np.ndarray | None, new: np.ndarray | None, dim: int, empty: bool,
                 adding: bool) -> np.ndarray | None:
    """``held`` (float16 sentence vectors) with ``new``'s rows appended; None once rows are added without
    them, or to an index (not ``empty``) that lacks them; ``held`` unchanged when nothing is added."""
    if new is not None and (held is not None or empty):
        base = held if held is not None else np.zeros((0, dim), np.float16)
        return np.concatenate([base, np.asarray(new, np.float16).reshape(-1, dim)])
    return None if adding else held


def _load_optional_array(folder: Path, snap: Path, manifest: Manifest, name: str) -> np.ndarray | None:
    """An optional .npy file of a snapshot, checked against the manifest; None when it has none."""
    if name not in manifest.checksums:
        return None
    path = snap / name
    if not path.exists() or manifest.checksums[name] != file_digest(path):
        raise IndexProblem(f"index at {folder} is damaged: {name} is missing or does not match its checksum; rebuild it")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise IndexProblem(f"index at {folder} is unreadable: {exc}") from exc
