"""Keeping an index current from press-release feeds (``pressrag sync``).

One run: fetch every feed (conditional GET) → turn items into korea.kr records → write each as
its own small file under ``<index>/sync/items/`` (and attachment texts under
``<index>/sync/attachments/<newsId>/``) → ``IndexUpdater.run`` over those folders → write
``<index>/sync/state.json``.

Why this order is crash-safe: the index is only ever written by ``IndexUpdater`` (which saves
atomically); item files are replaced whole (temp file + os.replace) and rewritten only when their
content changed, so unchanged items keep their SHA-256 and cost nothing; and the feeds' ETags are
saved only after a successful ingest, so a kill at any point makes the next sync fetch the feeds
again and finish the work. A feed that fails writes nothing.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ingest.feeds import (FeedError, FeedFetcher, FeedItem, ItemProblem, attachment_record, parse_feed,
                          write_if_changed)

if TYPE_CHECKING:
    from rag.build import IngestResult
    from rag.embed import Embedder
    from rag.settings import Settings

STATE_VERSION = 1
_RETRY = ".retry"  # in an item's attachment folder: a download failed in a way worth retrying (hidden: not indexed)


def sync_dir_for(index_dir: Path) -> Path:
    """Where sync keeps its item files and state: inside the index folder, so they go with it."""
    return Path(index_dir) / "sync"


def read_state(index_dir: Path) -> dict[str, Any]:
    """The last sync's state (``{}`` when there was none or the file is unreadable)."""
    try:
        data = json.loads((sync_dir_for(index_dir) / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and data.get("version") == STATE_VERSION else {}


def last_synced(index_dir: Path) -> str:
    """'YYYY-MM-DD HH:MM' of the last completed sync, or '' when the index was never synced."""
    stamp = str(read_state(index_dir).get("last_run", ""))
    try:
        return datetime.fromisoformat(stamp).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return ""


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


@dataclass
class FeedReport:
    """What one feed gave in one run."""

    url: str
    status: Literal["fetched", "not-modified", "failed"] = "failed"
    error: str = ""
    requests: int = 0
    items: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    attachments: int = 0
    problems: list[ItemProblem] = field(default_factory=list)
    seconds: float = 0.0  # fetch, parse and attachment downloads

    @property
    def failed(self) -> bool:
        return self.status == "failed"


@dataclass
class _Staged:
    """What a feed's fetch produced for the write phase (kept out of the public report)."""

    report: FeedReport
    items: list[FeedItem] = field(default_factory=list)
    attachments: dict[str, tuple[list[dict[str, str]], bool]] = field(default_factory=dict)  # doc id → (records, retry)
    validators: tuple[str, str] = ("", "")  # ETag, Last-Modified
    retry_later: bool = False


@dataclass
class SyncResult:
    """One sync run: a report per feed, the ingest that followed (None when nothing was there to
    index), and where the state was written."""

    index_dir: Path
    feeds: list[FeedReport]
    ingest: IngestResult | None
    started: str
    seconds: float

    @property
    def all_failed(self) -> bool:
        return bool(self.feeds) and all(f.failed for f in self.feeds)

    @property
    def added(self) -> int:
        return sum(f.added for f in self.feeds)

    @property
    def updated(self) -> int:
        return sum(f.updated for f in self.feeds)

    @property
    def unchanged(self) -> int:
        return sum(f.unchanged for f in self.feeds)

    @property
    def problems(self) -> list[tuple[str, ItemProblem]]:
        return [(f.url, p) for f in self.feeds for p in f.problems]

    @property
    def notices_total(self) -> int | None:
        return self.ingest.notices_total if self.ingest is not None else None


class FeedSync:
    """Brings an index up to date with press-release feeds; ``run(index_dir)`` does one pass.

    Settings live here (feeds, HTTP limits, attachments); the embedder is the one the index was
    built with. Failures of a feed or an item are reported in the result, never raised; a problem
    with the index itself (damaged, another model) is raised as ``IndexProblem``.
    """

    def __init__(self, embedder: Embedder, feeds: Sequence[str], *, attachments: bool = True,
                 timeout: float = 20.0, retries: int = 3, backoff: float = 1.0,
                 max_feed_bytes: int = 20 * 1024 * 1024, max_attachment_bytes: int = 20 * 1024 * 1024,
                 progress: bool = False, fetcher: FeedFetcher | None = None, lock_timeout: float = 600.0):
        self.embedder = embedder
        self.lock_timeout = lock_timeout
        self.feeds = list(dict.fromkeys(u.strip() for u in feeds if u.strip()))
        self.attachments = attachments
        self.progress = progress
        self.fetcher = fetcher or FeedFetcher(timeout=timeout, retries=retries, backoff=backoff,
                                              max_feed_bytes=max_feed_bytes, max_attachment_bytes=max_attachment_bytes)

    @classmethod
    def from_settings(cls, settings: Settings, embedder: Embedder, feeds: Sequence[str] | None = None,
                      progress: bool = False) -> FeedSync:
        return cls(embedder, list(feeds) if feeds else settings.feeds, attachments=settings.sync_attachments,
                   timeout=settings.sync_timeout, retries=settings.sync_retries,
                   max_attachment_bytes=int(settings.sync_max_attachment_mb * 1024 * 1024), progress=progress,
                   lock_timeout=settings.lock_timeout)

    def close(self) -> None:
        self.fetcher.close()

    # -- one run ----------------------------------------------------------------------------------
    def run(self, index_dir: Path) -> SyncResult:
        started_at, started = _now(), time.perf_counter()
        index_dir = Path(index_dir)
        state = read_state(index_dir)
        known = state.get("feeds", {}) if isinstance(state.get("feeds"), dict) else {}
        # The network part runs without the index's write lock: a slow feed must not hold up an ingest.
        staged = [self._fetch(url, known.get(url, {}), index_dir) for url in self.feeds]
        ingest = self._write_and_ingest(index_dir, staged, known, started_at)
        return SyncResult(index_dir, [s.report for s in staged], ingest, started_at, time.perf_counter() - started)

    def _fetch(self, url: str, previous: dict, index_dir: Path) -> _Staged:
        t0 = time.perf_counter()
        staged = _Staged(FeedReport(url))
        report = staged.report
        try:
            response = self.fetcher.fetch_feed(url, str(previous.get("etag") or ""),
                                               str(previous.get("last_modified") or ""))
            report.requests = response.requests
            staged.validators = (response.etag, response.last_modified)
            if response.not_modified:
                report.status = "not-modified"
                report.items = int(previous.get("items") or 0)
            else:
                parsed = parse_feed(response.content, url, response.content_type)
                report.status = "fetched"
                staged.items = list({item.doc_id: item for item in parsed.items}.values())  # a feed may repeat an item
                report.items = len(staged.items)
                report.problems.extend(parsed.problems)
                if self.attachments:
                    self._download_attachments(staged, sync_dir_for(index_dir))
        except FeedError as exc:
            # nothing of a failed feed is written, not even what was fetched before the failure
            staged = _Staged(FeedReport(url, "failed", str(exc), report.requests))
        staged.report.seconds = time.perf_counter() - t0
        return staged

    def _download_attachments(self, staged: _Staged, sync_dir: Path) -> None:
        """Fetch and read the attachments of new or changed items (and of items whose earlier
        download failed); unchanged items keep the attachment records they have."""
        from ingest.errors import UnreadableFile
        from ingest.metadata import derive_agency
        from ingest.models import Notice
        from ingest.normalize import normalize_text
        from ingest.readers import read_file

        report = staged.report
        for item in staged.items:
            if not item.attachments:
                continue
            folder = _attachment_folder(sync_dir, item.doc_id)
            item_file = sync_dir / "items" / f"{item.doc_id}.jsonl"
            if _read_text(item_file) == item.jsonl() and not (folder / _RETRY).exists():
                continue
            agency = derive_agency(normalize_text(item.record["text"]), item.record["title"])
            records, retry = [], False
            for n, link in enumerate(item.attachments, 1):
                label = f"{item.doc_id} attachment {link.name or link.url}"
                try:
                    download = self.fetcher.fetch_attachment(link)
                    with tempfile.TemporaryDirectory(prefix="pressrag-att-") as tmp:
                        path = Path(tmp) / f"attachment{download.suffix}"
                        path.write_bytes(download.data)
                        notices = [x for x in read_file(path) if isinstance(x, Notice)]
                    if not notices:
                        raise UnreadableFile("no text")
                    records.append(attachment_record(item, n, download, notices[0].body, agency))
                except FeedError as exc:
                    report.problems.append(ItemProblem(label, str(exc)))
                    retry = retry or exc.transient
                except UnreadableFile as exc:
                    report.problems.append(ItemProblem(label, f"unreadable: {exc}"))
            staged.retry_later = staged.retry_later or retry
            staged.attachments[item.doc_id] = (records, retry)
            report.attachments += len(records)

    def _write_and_ingest(self, index_dir: Path, staged: list[_Staged], known: dict,
                          started_at: str) -> IngestResult | None:
        from rag.build import IndexUpdater
        from rag.folder import IndexFolder

        store = IndexFolder(index_dir)
        store.claim()  # marks the folder as an index before sync/ is written into it
        with store.write_lock(timeout=self.lock_timeout, announce=self.progress):
            sync_dir = sync_dir_for(index_dir)
            items_dir, attachments_dir = sync_dir / "items", sync_dir / "attachments"
            for feed in staged:
                report = feed.report
                for item in feed.items:
                    path = items_dir / f"{item.doc_id}.jsonl"
                    existed = path.exists()
                    if not write_if_changed(path, item.jsonl()):
                        report.unchanged += 1
                    elif existed:
                        report.updated += 1
                    else:
                        report.added += 1
                for doc_id, (records, retry) in feed.attachments.items():
                    folder = _attachment_folder(sync_dir, doc_id)
                    for record in records:
                        write_if_changed(folder / f"{record['id']}.jsonl",
                                         json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
                    # A download that may work later (network, 5xx) is retried even if the item is unchanged.
                    if retry:
                        write_if_changed(folder / _RETRY, "\n")
                    else:
                        (folder / _RETRY).unlink(missing_ok=True)
            # Always ingest what is on disk, not just what changed now: it finishes a run that was
            # killed after writing items, and costs a hash per file when there is nothing to do.
            folders = [d for d in (items_dir, attachments_dir) if d.is_dir()]
            updater = IndexUpdater(self.embedder, progress=self.progress, lock_timeout=self.lock_timeout)
            ingest = updater.run(index_dir, folders) if folders else None
            self._save_state(sync_dir, staged, known, started_at, ingest)
        return ingest

    def _save_state(self, sync_dir: Path, staged: list[_Staged], known: dict, started_at: str,
                    ingest: IngestResult | None) -> None:
        feeds = {url: dict(entry) for url, entry in known.items() if isinstance(entry, dict)}
        for feed in staged:
            report = feed.report
            entry = feeds.setdefault(report.url, {})
            entry.update(status=report.status, checked=started_at, error=report.error)
            if report.failed:
                continue  # keep the validators of the content we hold
            entry["items"] = report.items
            if feed.retry_later:
                continue  # old validators: the next sync fetches the feed again and retries the downloads
            entry["etag"], entry["last_modified"] = feed.validators
            if report.status == "fetched":
                entry["fetched"] = started_at
        reports = [feed.report for feed in staged]
        counts = {
            "feeds": len(reports), "failed": sum(r.failed for r in reports),
            "items": sum(r.items for r in reports), "added": sum(r.added for r in reports),
            "updated": sum(r.updated for r in reports), "unchanged": sum(r.unchanged for r in reports),
            "attachments": sum(r.attachments for r in reports), "problems": sum(len(r.problems) for r in reports),
        }
        if ingest is not None:
            counts["notices"] = ingest.notices_total
        state = {"version": STATE_VERSION, "last_run": started_at, "feeds": feeds, "counts": counts}
        write_if_changed(sync_dir / "state.json", json.dumps(state, ensure_ascii=False, indent=1) + "\n")


def _attachment_folder(sync_dir: Path, doc_id: str) -> Path:
    return sync_dir / "attachments" / doc_id.removeprefix("koreakr-")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def describe_sync(result: SyncResult) -> str:
    """A few lines for the terminal: one per feed, one per problem, then the index."""
    lines = []
    for f in result.feeds:
        if f.status == "failed":
            lines.append(f"feed {f.url}: FAILED: {f.error}")
        elif f.status == "not-modified":
            lines.append(f"feed {f.url}: not modified")
        else:
            extra = f", {f.attachments} attachments" if f.attachments else ""
            lines.append(f"feed {f.url}: {f.items} items: {f.added} new, {f.updated} changed, "
                         f"{f.unchanged} unchanged{extra}")
        for p in f.problems:
            lines.append(f"  skipped {p.item}: {p.reason}")
    ingest = result.ingest
    if ingest is not None:
        for skip in ingest.skipped:
            lines.append(f"  not indexed {skip.path}: {skip.reason}")
        lines.append(f"index: +{ingest.notices_added} notices re-indexed or added, {ingest.chunks_added} chunks embedded; "
                     f"holds {ingest.notices_total} notices (sync {result.seconds:.1f} s)")
    return "\n".join(lines)


def parse_every(text: str) -> float:
    """'30m', '2h', '90s', '1h30m', '45' (seconds) → seconds; ValueError for anything else."""
    text = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(text)
    else:
        parts = re.findall(r"(\d+(?:\.\d+)?)\s*([dhms])", text)
        if not parts or re.sub(r"\d+(?:\.\d+)?\s*[dhms]", "", text).strip():
            raise ValueError(f"bad interval {text!r}; use e.g. 90s, 30m, 2h, 1h30m")
        seconds = sum(float(n) * {"d": 86400, "h": 3600, "m": 60, "s": 1}[u] for n, u in parts)
    if seconds < 1:
        raise ValueError("the interval must be at least 1 s")
    return seconds
