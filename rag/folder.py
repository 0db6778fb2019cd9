"""The index folder on disk: what may be written where, one writer at a time, crash-safe switches.

Layout of an index folder (format 2):
    pressrag-index.json   marker, written before anything else: this folder belongs to pressrag
    CURRENT               the name of the complete snapshot readers load (replaced atomically)
    snap-<time>-<pid>-<n>/ one complete snapshot: manifest.json, notices.jsonl, chunks.jsonl, vectors.faiss
    write.lock            advisory lock held by the one process writing (ingest, sync, upload, remove)

A snapshot is written in full and fsynced before ``CURRENT`` names it, and ``CURRENT`` is switched
with one ``os.replace``, so a kill -9 at any moment leaves either the old or the new snapshot
loadable. Stale snapshots and temporary files are removed by the next writer, under the lock.

Format 1 kept the four files at the top of the folder (no marker, no pointer); such a folder is
still read, and the first write converts it.

The product deletes only what it can tell it made: names from the lists below, inside a folder that
carries the marker (or a format-1 manifest). Any other existing folder or file is refused.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MARKER = "pressrag-index.json"
POINTER = "CURRENT"
LOCK = "write.lock"
SNAPSHOT_PREFIX = "snap-"
DATA_FILES = ("notices.jsonl", "chunks.jsonl", "vectors.faiss")
MANIFEST = "manifest.json"
_LEGACY_FILES = (*DATA_FILES, MANIFEST)  # format 1: these sat at the top of the folder
# Temporary siblings that format-1 saves left beside the index when killed (".idx.tmp-abc", ".idx.old-123").
_LEGACY_SIBLINGS = (".tmp-", ".old-")

# Test and fault-injection hook: PRESSRAG_CRASH_AT=<step> makes the process exit at once (as a kill -9
# would) when it reaches that step of a save. Steps, in order: see SAVE_STEPS.
_HELD: dict[tuple[str, int], int] = {}  # write locks this process holds, by (folder, thread)

SAVE_STEPS = ("snapshot-started", "snapshot-written", "pointer-written", "pointer-switched", "cleaned")


class IndexProblem(RuntimeError):
    """The index folder is missing, half-written, tampered with, built for another model, or not ours."""


def crash_point(step: str) -> None:
    """Exit immediately at ``step`` when PRESSRAG_CRASH_AT names it (fault-injection tests only).

    With PRESSRAG_STEP_LOG set, append the step's name and the time to that file first, so a
    fault-injection run can tell where a kill landed.
    """
    log = os.environ.get("PRESSRAG_STEP_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{step} {time.time():.6f}\n")
    if os.environ.get("PRESSRAG_CRASH_AT") == step:
        os._exit(137)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _legacy_manifest_format(path: Path) -> str | None:
    try:
        data = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    fmt = data.get("format") if isinstance(data, dict) else None
    return fmt if isinstance(fmt, str) and fmt.startswith("pressrag-index/") else None


class IndexFolder:
    """One index folder: recognise it, lock it, hand out snapshot folders and switch between them."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def __str__(self) -> str:
        return str(self.path)

    # -- what is there ---------------------------------------------------------------------------
    def kind(self) -> str:
        """'missing', 'empty' (an empty folder), 'ours' (marker or format-1 index), 'foreign' or 'file'."""
        path = self.path
        if not path.exists():
            return "missing"
        if not path.is_dir():
            return "file"
        if (path / MARKER).exists() or (path / POINTER).exists():
            return "ours"
        if (path / MANIFEST).exists() and _legacy_manifest_format(path):
            return "ours"
        # A format-1 index whose manifest was deleted is still ours (damaged), not a user's folder.
        if all((path / name).is_file() for name in DATA_FILES):
            return "ours"
        if not any(path.iterdir()):
            return "empty"
        return "foreign"

    def refuse_if_not_ours(self) -> None:
        """Raise IndexProblem for a regular file or a folder holding anything but a pressrag index."""
        kind = self.kind()
        if kind == "file":
            raise IndexProblem(f"{self.path} is a file, not a pressrag index; choose an empty or new folder")
        if kind == "foreign":
            raise IndexProblem(f"{self.path} is not a pressrag index (the folder holds other files); "
                               "choose an empty or new folder")

    def current(self) -> Path | None:
        """The folder holding the complete snapshot to load, or None when there is none."""
        pointer = self.path / POINTER
        if pointer.exists():
            name = pointer.read_text(encoding="utf-8").strip()
            if not name.startswith(SNAPSHOT_PREFIX) or "/" in name or os.sep in name:
                raise IndexProblem(f"index at {self.path} is damaged: {POINTER} names {name!r}; rebuild it")
            return self.path / name
        if any((self.path / name).exists() for name in _LEGACY_FILES):
            return self.path  # format 1
        return None

    def has_snapshot(self) -> bool:
        return self.kind() == "ours" and self.current() is not None

    # -- writing ---------------------------------------------------------------------------------
    def claim(self) -> bool:
        """Make sure the folder exists and carries the marker; True when this call created the folder.

        Refuses a file or a folder of other files before writing anything.
        """
        self.refuse_if_not_ours()
        created = not self.path.exists()
        self.path.mkdir(parents=True, exist_ok=True)
        if not (self.path / MARKER).exists():
            _write_atomically(self.path / MARKER, json.dumps(
                {"what": "pressrag index folder", "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}) + "\n")
        return created

    def release_if_unused(self) -> None:
        """Remove a folder this process created when nothing was saved into it (a failed first ingest)."""
        if self.current() is not None:
            return
        for name in (MARKER, LOCK):
            try:
                (self.path / name).unlink()
            except FileNotFoundError:
                pass
        self.remove_stale()
        try:
            self.path.rmdir()  # only if empty: never removes anything else
        except OSError:
            pass

    @contextmanager
    def write_lock(self, timeout: float = 600.0, announce: bool = True) -> Iterator[None]:
        """Hold the folder's write lock; wait for another writer (saying so), fail after ``timeout`` s.

        Re-entrant within one thread (an ingest holds it across reading, embedding and ``save``).
        """
        from filelock import FileLock, Timeout

        key = (str(self.path.resolve()), threading.get_ident())
        if _HELD.get(key):
            _HELD[key] += 1
            try:
                yield
            finally:
                _HELD[key] -= 1
            return
        lock = FileLock(str(self.path / LOCK))
        try:
            lock.acquire(timeout=0.2)
        except Timeout:
            if announce:
                print(f"waiting for another pressrag process that is writing to {self.path} …", file=sys.stderr)
            try:
                lock.acquire(timeout=timeout)
            except Timeout:
                raise IndexProblem(f"index at {self.path} is being written by another process; "
                                   f"gave up after {timeout:.0f} s (PRESSRAG_LOCK_TIMEOUT)") from None
        _HELD[key] = 1
        try:
            yield
        finally:
            del _HELD[key]
            lock.release()

    def new_snapshot(self) -> Path:
        """An empty, uniquely named snapshot folder; not visible to readers until ``publish``."""
        crash_point("snapshot-started")
        stamp = time.strftime("%Y%m%dT%H%M%S")
        for n in range(1000):
            candidate = self.path / f"{SNAPSHOT_PREFIX}{stamp}-{os.getpid()}-{n}"
            try:
                candidate.mkdir()
                return candidate
            except FileExistsError:
                continue
        raise IndexProblem(f"cannot create a snapshot folder in {self.path}")

    def publish(self, snapshot: Path) -> None:
        """Make ``snapshot`` (fully written and fsynced) the current one, then drop stale ones."""
        _fsync_dir(snapshot)
        _fsync_dir(self.path)
        crash_point("snapshot-written")
        tmp = self.path / f".{POINTER}.{os.getpid()}.tmp"
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(snapshot.name + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        crash_point("pointer-written")
        os.replace(tmp, self.path / POINTER)
        _fsync_dir(self.path)
        crash_point("pointer-switched")
        self.remove_stale()
        crash_point("cleaned")

    def discard(self, snapshot: Path) -> None:
        """Remove an unpublished snapshot (a save that failed part-way)."""
        if snapshot.parent == self.path and snapshot.name.startswith(SNAPSHOT_PREFIX):
            shutil.rmtree(snapshot, ignore_errors=True)

    def remove_stale(self) -> None:
        """Remove snapshots other than the current one, temporary pointer files, and format-1 leftovers.

        Runs under the write lock; a reader still loading an old snapshot retries from CURRENT.
        """
        pointer = self.path / POINTER
        current = pointer.read_text(encoding="utf-8").strip() if pointer.exists() else None
        for child in self.path.iterdir():
            name = child.name
            if name.startswith(SNAPSHOT_PREFIX) and child.is_dir() and name != current:
                shutil.rmtree(child, ignore_errors=True)
            elif name.startswith(f".{POINTER}.") and name.endswith(".tmp"):
                child.unlink(missing_ok=True)
            elif name.startswith(f".{MARKER}.") and name.endswith(".tmp"):
                child.unlink(missing_ok=True)
            elif current and name in _LEGACY_FILES and child.is_file():
                child.unlink(missing_ok=True)  # format-1 files, superseded by the snapshot CURRENT names
        self._remove_legacy_siblings()

    def _remove_legacy_siblings(self) -> None:
        """Format 1 saved through ``.<name>.tmp-*``/``.<name>.old-*`` beside the folder; a kill left them."""
        parent = self.path.parent
        prefixes = tuple(f".{self.path.name}{p}" for p in _LEGACY_SIBLINGS)
        try:
            siblings = [c for c in parent.iterdir() if c.name.startswith(prefixes) and c.is_dir()]
        except OSError:
            return
        for sibling in siblings:
            names = {c.name for c in sibling.iterdir()}
            if names and names <= set(_LEGACY_FILES):  # only what a format-1 save writes
                shutil.rmtree(sibling, ignore_errors=True)
