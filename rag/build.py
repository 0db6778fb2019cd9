"""Building and updating an index from files: read, chunk, embed only what changed, save atomically."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ingest.chunk import Chunker
from ingest.korean import search_terms_many
from ingest.models import Chunk, Notice, SkippedFile
from ingest.readers import file_digest, iter_files, read_file
from ingest.errors import UnreadableFile
from rag.embed import Embedder
from rag.index import IndexProblem, NoticeIndex


def passage_text(chunk: Chunk) -> str:
    """What gets embedded: the chunk with its notice title and agency, so short chunks keep their context."""
    head = " | ".join(part for part in (chunk.title, chunk.agency) if part)
    return f"{head}\n{chunk.text}" if head else chunk.text


def bm25_text(chunk: Chunk) -> str:
    return f"{chunk.title}\n{chunk.text}" if chunk.title else chunk.text


@dataclass
class IngestResult:
    files_seen: int = 0
    files_unchanged: int = 0
    files_indexed: int = 0
    files_removed: int = 0
    notices_added: int = 0
    chunks_added: int = 0
    chars_added: int = 0
    notices_total: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    skipped: list[SkippedFile] = field(default_factory=list)

    @property
    def chars_per_s(self) -> float:
        return self.chars_added / self.seconds if self.seconds else 0.0


class IndexUpdater:
    """Brings an index folder up to date with a set of files.

    Unchanged files (same SHA-256) are not read again and nothing is re-embedded;
    a changed file's old notices are replaced; with ``prune`` the notices of files
    that no longer exist are removed. A bad file is reported and skipped, and
    what the index already held from it is kept.
    """

    def __init__(self, embedder: Embedder, chunker: Chunker | None = None, batch_size: int = 32,
                 progress: bool = True, on_progress: Callable[[int, int], None] | None = None):
        self.embedder = embedder
        self.chunker = chunker or Chunker()
        self.batch_size = batch_size
        self.progress = progress
        self.on_progress = on_progress

    def _chunker_settings(self) -> dict:
        return asdict(self.chunker.settings)

    def open_index(self, folder: Path, rebuild: bool = False) -> NoticeIndex:
        if not rebuild and (Path(folder) / "manifest.json").exists():
            index = NoticeIndex.load(folder, expected_model=self.embedder.name)
            if index.manifest.chunker != self._chunker_settings():
                raise IndexProblem(f"index at {folder} was built with other chunker settings; re-ingest with --rebuild")
            return index
        return NoticeIndex.empty(self.embedder.name, self.embedder.dim, self._chunker_settings())

    def run(self, folder: Path, paths: Sequence[Path], prune: bool = False, rebuild: bool = False) -> IngestResult:
        started = time.perf_counter()
        index = self.open_index(folder, rebuild=rebuild)
        result = IngestResult()
        known = index.manifest.files
        new_notices, new_chunks = [], []
        seen: set[str] = set()
        for path in iter_files(paths):
            result.files_seen += 1
            key = str(path.resolve())
            seen.add(key)
            try:
                digest = file_digest(path)
            except OSError as exc:
                result.skipped.append(SkippedFile(str(path), f"cannot read: {exc.strerror or exc}"))
                continue
            if key in known and known[key]["sha256"] == digest:
                result.files_unchanged += 1
                continue
            try:
                items = read_file(path)
            except UnreadableFile as exc:
                result.skipped.append(SkippedFile(str(path), str(exc)))
                continue
            notices = [item for item in items if not isinstance(item, SkippedFile)]
            result.skipped.extend(item for item in items if isinstance(item, SkippedFile))
            old_ids = set(known.get(key, {}).get("doc_ids", []))
            new_ids = {n.doc_id for n in notices}
            index.remove_docs(old_ids | new_ids)
            known[key] = {"sha256": digest, "doc_ids": sorted(new_ids)}
            result.files_indexed += 1
            for notice in notices:
                new_notices.append(notice)
                new_chunks.extend(self.chunker.run(notice))
        if prune:
            for key in [k for k in known if k not in seen and not Path(k).exists()]:
                index.remove_docs(set(known.pop(key)["doc_ids"]))
                result.files_removed += 1
        self._add(index, new_notices, new_chunks)
        result.notices_added = len(new_notices)
        result.chunks_added = len(new_chunks)
        result.chars_added = sum(len(n.body) for n in new_notices)
        if new_chunks or result.files_removed or rebuild or not (Path(folder) / "manifest.json").exists():
            index.save(folder)
        result.notices_total = len(index.notices)
        result.chunks_total = len(index.chunks)
        result.seconds = time.perf_counter() - started
        return result

    def build_in_memory(self, notices: Sequence[Notice]) -> NoticeIndex:
        """An index of ``notices`` that is never written to disk (benchmarks, BEIR evaluation, tests)."""
        index = NoticeIndex.empty(self.embedder.name, self.embedder.dim, self._chunker_settings())
        notices = list({n.doc_id: n for n in notices}.values())
        self._add(index, notices, [c for n in notices for c in self.chunker.run(n)])
        return index

    def _add(self, index: NoticeIndex, notices: list[Notice], chunks: list[Chunk]) -> None:
        if not notices:
            return
        terms = search_terms_many(bm25_text(c) for c in chunks)
        index.add(notices, chunks, terms, self._embed(chunks))

    def _embed(self, chunks: list[Chunk]) -> np.ndarray:
        texts = [passage_text(c) for c in chunks]
        bar = None
        if self.progress:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), unit="chunk", desc="embedding", file=sys.stderr, dynamic_ncols=True)
        parts = []
        try:
            # Bigger slices than the engine's batch keep its length-sorting effective.
            step = max(self.batch_size, 1) * 4
            for start in range(0, len(texts), step):
                batch = texts[start:start + step]
                parts.append(self.embedder.embed_passages(batch))
                if bar is not None:
                    bar.update(len(batch))
                if self.on_progress is not None:
                    self.on_progress(start + len(batch), len(texts))
        finally:
            if bar is not None:
                bar.close()
        return np.concatenate(parts) if parts else np.zeros((0, self.embedder.dim), np.float32)
