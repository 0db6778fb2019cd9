"""An operator's view of an index: list its notices (uploads apart) and remove notices.

Used by ``pressrag list`` / ``pressrag remove`` and by the web chat when uploads are on. A removal
runs under the index folder's write lock (``rag.folder.IndexFolder.write_lock``), like an ingest, so
it never loses a concurrent writer's notices; the new snapshot is switched in atomically. Only the
copies the web chat made of uploaded files (in the ``<index>-uploads`` folder beside the index) are
ever deleted; a notice read from the user's own files is dropped from the index, never from disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rag.folder import IndexFolder, IndexProblem
from rag.index import NoticeIndex


def uploads_dir_for(index_dir: Path) -> Path:
    """Where uploaded files are kept: beside the index (the index folder holds only snapshots)."""
    index_dir = Path(index_dir)
    return index_dir.parent / f"{index_dir.name}-uploads"


def _is_upload(key: str, uploads: Path) -> bool:
    return Path(key).parent == uploads


@dataclass(frozen=True)
class ListedNotice:
    doc_id: str
    title: str
    agency: str
    published: str
    uploaded: bool
    file_name: str  # the source file's name (never the server's absolute path)
    superseded_by: str = ""  # the correction or later re-issue retrieval lists instead (NoticeIndex.current_copy)


def list_notices(index: NoticeIndex, index_dir: Path | None, uploads_only: bool = False) -> list[ListedNotice]:
    """The notices of ``index``, each marked when it came from a web upload, and when a correction or a
    later re-issue of it supersedes it (answers quote that one)."""
    uploads = uploads_dir_for(index_dir).resolve() if index_dir is not None else None
    file_of = {doc_id: key for key, entry in index.manifest.files.items() for doc_id in entry.get("doc_ids", [])}
    out = []
    for doc_id, notice in index.notices.items():
        key = file_of.get(doc_id, notice.source or "")
        uploaded = uploads is not None and bool(key) and _is_upload(key, uploads)
        if uploads_only and not uploaded:
            continue
        current = index.current_copy(doc_id)
        out.append(ListedNotice(doc_id, notice.title, notice.agency, notice.published, uploaded,
                                Path(key).name if key else "", current if current and current != doc_id else ""))
    return sorted(out, key=lambda n: (not n.uploaded, n.doc_id))


@dataclass
class Removal:
    removed: list[str] = field(default_factory=list)
    deleted_files: list[str] = field(default_factory=list)  # upload copies deleted (file names)
    notices_total: int = 0


def remove_notices(index_dir: Path, doc_ids: list[str], lock_timeout: float = 600.0,
                   announce: bool = True) -> Removal:
    """Remove ``doc_ids`` from the index at ``index_dir`` and save a new snapshot.

    Every id must be in the index (IndexProblem names the unknown ones; nothing changes then).
    A source file none of whose notices remain is dropped from the manifest, so ingesting it again
    adds its notices back; when that file is an upload copy the product made, it is deleted.
    """
    store = IndexFolder(index_dir)
    store.refuse_if_not_ours()
    if not store.has_snapshot():
        raise IndexProblem(f"no index at {index_dir}")
    targets = set(doc_ids)
    with store.write_lock(timeout=lock_timeout, announce=announce):
        index = NoticeIndex.load(index_dir)
        unknown = sorted(targets - set(index.notices))
        if unknown:
            raise IndexProblem(f"no notice {', '.join(unknown)} in the index at {index_dir} "
                               "(`pressrag list` shows the ids)")
        index.remove_docs(targets)
        uploads = uploads_dir_for(index_dir).resolve()
        to_delete: list[Path] = []
        for key, entry in list(index.manifest.files.items()):
            ids = entry.get("doc_ids", [])
            left = [d for d in ids if d not in targets]
            if len(left) == len(ids):
                continue
            if left:
                entry["doc_ids"] = left
            else:
                del index.manifest.files[key]
                if _is_upload(key, uploads):
                    to_delete.append(Path(key))
        index.save(index_dir)
    # After the new snapshot is current: a crash before this point leaves the copy, never a
    # snapshot that names a deleted file.
    for path in to_delete:
        path.unlink(missing_ok=True)
    return Removal(removed=sorted(targets), deleted_files=[p.name for p in to_delete],
                   notices_total=len(index.notices))
