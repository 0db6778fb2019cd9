"""Changing the served index from the page: uploaded files added, uploaded notices removed, the index
reloaded when another process (an ingest, a sync) switched its snapshot, and the filter choices read
from the index as it is now.

Every change is written by rag's IndexUpdater / remove_notices (atomically: a failure leaves the
previous index in place) and then swapped into the running assistant. No gradio here either, so tests
add and remove uploads without a browser.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.readers import supported_suffixes
from rag.manage import uploads_dir_for
from ui.render import escape, html_lines, one_line

if TYPE_CHECKING:  # pragma: no cover
    from rag.service import Assistant

# The file types the page's upload box offers (build_ui): those a reader is registered for.
UPLOAD_SUFFIXES = supported_suffixes()
log = logging.getLogger("pressrag.app")  # the web app's log, as before the split: one name to follow


_INGEST_LOCK = threading.Lock()


class _LockedEmbedder:
    """The assistant's embedder, used under its lock one batch at a time (questions interleave)."""

    def __init__(self, inner, lock):
        self.inner = inner
        self.lock = lock
        self.name = inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed_passages(self, texts):
        with self.lock:
            return self.inner.embed_passages(texts)

    def embed_query(self, text):
        with self.lock:
            return self.inner.embed_query(text)


@dataclass
class UploadReport:
    message: str  # plain text, several lines
    notices_added: int = 0
    problems: int = 0
    changed: bool = False


def _upload_path(item) -> Path | None:
    if item is None:
        return None
    if isinstance(item, (str, Path)):
        return Path(item)
    for attr in ("path", "name"):
        value = item.get(attr) if isinstance(item, dict) else getattr(item, attr, None)
        if value:
            return Path(value)
    return None


def _upload_destination(path: Path, target: Path) -> Path:
    """Where an upload is kept: its own name, or "name (2).ext" … when another file holds that name.

    An upload never replaces an earlier one (a re-upload under the same name is a new notice); the
    same bytes uploaded again map to the copy already kept, so they are not indexed twice.
    """
    from ingest.readers import file_digest

    digest = file_digest(path)
    for n in range(1, 10_000):
        dest = target / (path.name if n == 1 else f"{path.stem} ({n}){path.suffix}")
        if not dest.exists() or file_digest(dest) == digest:
            return dest
    raise OSError(f"too many uploads named {path.name}")


def ingest_uploads(assistant: Assistant, files, uploads_dir: Path | None = None,
                   on_progress: Callable[[int, int], None] | None = None) -> UploadReport:
    """Add uploaded files to the assistant's index and swap the new index in.

    The files are copied beside the index (so their source paths stay valid) and
    indexed with IndexUpdater, which writes the index atomically: a failure leaves
    the previous index in place. Every file that could not be used is reported
    with its name and the reason. Never raises for a bad file.
    """
    from rag.build import IndexUpdater
    from rag.index import IndexProblem, NoticeIndex

    suffixes = UPLOAD_SUFFIXES
    paths = [p for p in (_upload_path(f) for f in (files or [])) if p is not None]
    if not paths:
        return UploadReport(f"업로드된 파일이 없습니다. (No file was uploaded; supported: {' '.join(suffixes)})")
    if assistant.index_dir is None:
        return UploadReport("이 서버는 색인 폴더 없이 열려 업로드를 받을 수 없습니다. (Uploads are off: no index folder.)")
    target = Path(uploads_dir) if uploads_dir is not None else uploads_dir_for(assistant.index_dir)
    problems: list[tuple[str, str]] = []
    ready: list[Path] = []
    for path in paths:
        name = path.name
        if path.suffix.lower() not in suffixes:
            problems.append((name, f"unsupported file type {path.suffix or '(none)'}; supported: {', '.join(suffixes)}"))
            continue
        try:
            size = path.stat().st_size
        except OSError as exc:
            problems.append((name, f"the upload cannot be read ({exc.strerror or exc})"))
            continue
        if size == 0:
            problems.append((name, "empty file (0 bytes)"))
            continue
        try:
            target.mkdir(parents=True, exist_ok=True)
            dest = _upload_destination(path, target)
            if path.resolve() != dest.resolve() and not dest.exists():
                shutil.copyfile(path, dest)
            ready.append(dest)
            log.info("upload %s (%d bytes) from %s kept as %s", name, size, path.parent.name[:12], dest.name)
        except OSError as exc:
            problems.append((name, f"cannot store the upload ({exc.strerror or exc})"))

    result = None
    if ready:
        embedder = _LockedEmbedder(assistant.retriever.embedder, assistant.lock)
        try:
            with _INGEST_LOCK:
                updater = IndexUpdater(embedder, progress=False, on_progress=on_progress)
                result = updater.run(Path(assistant.index_dir), ready)
                if result.files_indexed:
                    assistant.replace_index(NoticeIndex.load(assistant.index_dir, expected_model=embedder.name))
        except (IndexProblem, OSError, ValueError) as exc:
            return UploadReport(f"업로드 실패, 색인은 바뀌지 않았습니다 (upload failed; the index is unchanged): "
                                f"{one_line(exc)}", problems=len(paths))
        prefix = str(target) + os.sep
        for skip in result.skipped:
            shown = skip.path[len(prefix):] if skip.path.startswith(prefix) else skip.path
            problems.append((shown, skip.reason))

    summary = assistant.summary()
    lines = []
    if result is not None:
        lines.append(f"{len(paths)}개 파일 중 {result.files_indexed}개 색인, {result.files_unchanged}개 변경 없음 "
                     f"(+{result.notices_added} notices, +{result.chunks_added} chunks, {result.seconds:.1f} s).")
    if result is None or not result.notices_added:
        lines.append("추가된 보도자료가 없습니다. (No notices were added.)")
    if problems:
        lines.append("색인하지 못한 파일 (not indexed):")
        lines.extend(f"  - {name}: {one_line(reason)}" for name, reason in problems)
    lines.append(f"색인 현황: 보도자료 {summary.notices:,}건, 구간 {summary.chunks:,}개, 기관 "
                 f"{len([a for a, _ in summary.agencies if a != '(unknown)'])}곳.")
    return UploadReport("\n".join(lines), notices_added=result.notices_added if result else 0,
                        problems=len(problems), changed=bool(result and result.files_indexed))


def render_upload_report(report: UploadReport) -> str:
    css = "pr-error" if report.problems and not report.notices_added else "pr-upload"
    return f'<div class="{css}" id="pr-upload-report">{html_lines(escape(report.message))}</div>'


def remove_uploads(assistant: Assistant, doc_ids: Sequence[str]) -> UploadReport:
    """Remove uploaded notices (and the copies of their files) and swap the new index in."""
    from rag.index import IndexProblem, NoticeIndex
    from rag.manage import list_notices, remove_notices

    wanted = [d for d in (doc_ids or []) if d]
    if not wanted:
        return UploadReport("삭제할 보도자료를 고르세요. (Choose the uploaded notices to remove.)")
    if assistant.index_dir is None:
        return UploadReport("색인 폴더가 없습니다. (No index folder.)", problems=1)
    uploaded = {n.doc_id for n in list_notices(assistant.index, assistant.index_dir, uploads_only=True)}
    others = [d for d in wanted if d not in uploaded]
    if others:  # the web page removes uploads only; the operator removes anything with `pressrag remove`
        return UploadReport(f"업로드한 보도자료만 삭제할 수 있습니다 (only uploaded notices can be removed here): "
                            f"{', '.join(others)}", problems=1)
    try:
        with _INGEST_LOCK:
            removal = remove_notices(Path(assistant.index_dir), wanted, announce=False)
            assistant.replace_index(NoticeIndex.load(assistant.index_dir,
                                                     expected_model=assistant.retriever.embedder.name))
    except (IndexProblem, OSError) as exc:
        return UploadReport(f"삭제 실패, 색인은 바뀌지 않았습니다 (removal failed; the index is unchanged): "
                            f"{one_line(exc)}", problems=1)
    return UploadReport(f"삭제함 (removed): {', '.join(removal.removed)}. 색인 현황: 보도자료 "
                        f"{removal.notices_total:,}건.", changed=True)


def uploaded_choices(assistant: Assistant) -> list[tuple[str, str]]:
    """(label, doc id) of every uploaded notice, for the removal list."""
    from rag.manage import list_notices

    return [(f"{n.doc_id} — {n.title[:60]}", n.doc_id)
            for n in list_notices(assistant.index, assistant.index_dir, uploads_only=True)]


class IndexWatch:
    """Reloads the assistant's index when another process (an ingest, a sync) switched the snapshot,
    so a new visitor sees the corpus as it is now, not as it was when the server started."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        self.snapshot = self._current()

    def _current(self) -> Path | None:
        from rag.folder import IndexFolder

        if self.assistant.index_dir is None:
            return None
        try:
            return IndexFolder(self.assistant.index_dir).current()
        except OSError:
            return None

    def refresh(self) -> bool:
        """True when a newer snapshot was loaded."""
        from rag.index import IndexProblem, NoticeIndex

        now = self._current()
        if now is None or now == self.snapshot:
            return False
        try:
            index = NoticeIndex.load(self.assistant.index_dir, expected_model=self.assistant.retriever.embedder.name)
        except IndexProblem as exc:  # keep serving the index in memory
            log.warning("index changed on disk but cannot be loaded: %s", exc)
            return False
        self.assistant.replace_index(index)
        self.snapshot = now
        return True


def source_type_choices(assistant: Assistant) -> list[str]:
    return sorted({n.source_type for n in assistant.index.notices.values() if n.source_type})
