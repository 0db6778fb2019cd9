"""RSS/Atom press-release feeds (korea.kr and alike): fetch, parse, and turn items into records.

Three parts, used in this order by ``rag.sync``:

- ``FeedFetcher`` talks HTTP (httpx): timeouts, retries with exponential backoff on network
  errors and 5xx/429, a clear User-Agent, conditional GET (ETag / Last-Modified, so an unchanged
  feed costs one small request), size limits, and attachment downloads with a content-type check.
- ``parse_feed`` reads the bytes with feedparser and refuses a feed that is not well-formed XML:
  a truncated feed parses "leniently" into truncated bodies, which must never reach the index.
- ``item_record`` turns one item into a korea.kr record (id, title, published, url, text), the
  format ``ingest.readers.read_jsonl`` reads; ``html_to_text`` strips the body the way the demo
  corpus was made (a space at each tag boundary), so a synced release and a shipped one agree.

Nothing here knows about the index; httpx and feedparser are imported only when used.
"""

from __future__ import annotations

import email.utils
import html
import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

from importlib.metadata import PackageNotFoundError, version as _dist_version

DEFAULT_FEED = "https://www.korea.kr/rss/pressrelease.xml"
ATTACHMENT_SUFFIXES = (".hwp", ".hwpx", ".pdf")
# Servers label attachments loosely (korea.kr's download.do says application/octet-stream), so the
# type is a first filter and the file's magic bytes decide; a text/html answer is an error page.
_ATTACHMENT_TYPES = {
    "application/pdf", "application/x-pdf", "application/hwp", "application/x-hwp", "application/haansofthwp",
    "application/vnd.hancom.hwp", "application/vnd.hancom.hwpx", "application/hwp+zip", "application/x-hwpx",
    "application/haansofthwpx", "application/zip", "application/x-zip-compressed", "application/octet-stream",
    "application/x-download", "application/download", "application/force-download", "binary/octet-stream",
}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # HWP 5 is an OLE compound file


def user_agent() -> str:
    """'pressrag/<version> (+feed sync)': feed operators can see who polls them and why."""
    try:
        ver = _dist_version("pressrag")
    except PackageNotFoundError:
        ver = "dev"
    return f"pressrag/{ver} (+feed sync)"


class FeedError(RuntimeError):
    """A feed or attachment could not be fetched or read; the message is one line for the report.

    ``transient`` marks failures worth retrying on the next sync (network, 5xx) as opposed to
    ones that will not change by asking again (too large, wrong type, 404).
    """

    def __init__(self, message: str, transient: bool = False):
        super().__init__(message)
        self.transient = transient


# --- HTTP ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedResponse:
    """One feed fetch: ``status`` 200 with ``content``, or 304 (unchanged since ``etag``/``last_modified``)."""

    url: str
    status: int
    content: bytes = b""
    content_type: str = ""
    etag: str = ""
    last_modified: str = ""
    requests: int = 1

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True)
class Download:
    """An attachment fetched into memory (size-limited), with the name and suffix it will be read as."""

    url: str
    filename: str
    suffix: str
    data: bytes
    content_type: str = ""


class FeedFetcher:
    """HTTP for feeds and attachments: bounded in time, size and retries.

    ``retries`` is the number of extra tries after the first for a network error, a timeout or an
    HTTP 5xx/429; the waits double from ``backoff`` seconds (capped at 30 s, or the server's
    Retry-After when it gives one). A 4xx other than 429 is not retried: asking again won't help.
    """

    def __init__(self, timeout: float = 20.0, retries: int = 3, backoff: float = 1.0,
                 max_feed_bytes: int = 20 * 1024 * 1024, max_attachment_bytes: int = 20 * 1024 * 1024,
                 client: Any = None, sleep: Callable[[float], None] = time.sleep):
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self.max_feed_bytes = max_feed_bytes
        self.max_attachment_bytes = max_attachment_bytes
        self._client = client
        self._owns_client = client is None
        self._sleep = sleep

    def _http(self):
        if self._client is None:
            import httpx

            self._client = httpx.Client(timeout=httpx.Timeout(self.timeout), follow_redirects=True,
                                        headers={"User-Agent": user_agent()})
        return self._client

    def close(self) -> None:
        if self._client is not None and self._owns_client:
            self._client.close()
            self._client = None

    def __enter__(self) -> FeedFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, url: str, headers: dict[str, str], limit: int, what: str) -> tuple[Any, bytes, int]:
        """GET with retries; returns (response, body, requests made). Raises FeedError."""
        import httpx

        tries = self.retries + 1
        last, last_response = "", None
        for attempt in range(tries):
            if attempt:
                self._sleep(self._wait(attempt, last_response))
            last_response = None
            try:
                with self._http().stream("GET", url, headers=headers) as response:
                    last_response = response
                    if response.status_code >= 500 or response.status_code == 429:
                        last = f"HTTP {response.status_code}"
                        continue
                    if response.status_code == 304:
                        return response, b"", attempt + 1
                    if response.status_code >= 400:
                        raise FeedError(f"HTTP {response.status_code} for {what}")
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > limit:
                        raise FeedError(f"{what} too large ({_mb(int(declared))} > {_mb(limit)} limit)")
                    body = bytearray()
                    for block in response.iter_bytes():
                        body.extend(block)
                        if len(body) > limit:  # servers may omit or understate Content-Length
                            raise FeedError(f"{what} too large (over the {_mb(limit)} limit)")
                    return response, bytes(body), attempt + 1
            except httpx.TimeoutException:
                last = f"timed out after {self.timeout:g} s"
            except httpx.TransportError as exc:
                last = f"network error: {type(exc).__name__}: {_one_line(exc)}"
            except httpx.InvalidURL as exc:
                raise FeedError(f"bad URL {url!r}: {_one_line(exc)}") from exc
        raise FeedError(f"{last} ({tries} {'try' if tries == 1 else 'tries'})", transient=True)

    def _wait(self, attempt: int, response: Any) -> float:
        wait = self.backoff * (2 ** (attempt - 1))
        retry_after = response.headers.get("retry-after", "") if response is not None else ""
        if retry_after.isdigit():
            wait = max(wait, float(retry_after))
        return min(wait, 30.0)

    def fetch_feed(self, url: str, etag: str = "", last_modified: str = "") -> FeedResponse:
        """GET a feed, conditionally when ``etag``/``last_modified`` from the last sync are given."""
        headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        response, body, requests = self._get(url, headers, self.max_feed_bytes, "feed")
        if response.status_code == 304:
            # A 304 may omit the validators; the old ones still describe what we hold.
            return FeedResponse(url, 304, etag=response.headers.get("etag", etag),
                                last_modified=response.headers.get("last-modified", last_modified), requests=requests)
        return FeedResponse(url, response.status_code, body, response.headers.get("content-type", ""),
                            response.headers.get("etag", ""), response.headers.get("last-modified", ""), requests)

    def fetch_attachment(self, link: AttachmentLink) -> Download:
        """Download one attachment (size limit, content-type check, magic bytes must match its suffix)."""
        response, body, _ = self._get(link.url, {}, self.max_attachment_bytes, "attachment")
        ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype and ctype not in _ATTACHMENT_TYPES:
            raise FeedError(f"attachment is {ctype}, not a PDF/HWP/HWPX file")
        name = _disposition_filename(response.headers.get("content-disposition", "")) or link.name
        # The bytes decide what the file is: a mislabelled HWP/HWPX is common, an HTML error page
        # served as octet-stream too.
        suffix = _suffix_from_magic(body)
        if suffix is None:
            raise FeedError("attachment is not a PDF, HWP or HWPX file")
        return Download(link.url, safe_filename(name or f"attachment{suffix}", suffix), suffix, body, ctype)


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


def _one_line(exc: object, limit: int = 200) -> str:
    return " ".join(str(exc).split())[:limit]


def _suffix_of(name: str) -> str | None:
    lower = name.lower().rstrip()
    return next((s for s in ATTACHMENT_SUFFIXES if lower.endswith(s)), None)


def _suffix_from_magic(data: bytes) -> str | None:
    if data.startswith(b"%PDF"):
        return ".pdf"
    if data.startswith(_OLE_MAGIC):
        return ".hwp"
    if data.startswith(b"PK\x03\x04"):
        return ".hwpx"  # the only zip family we accept; the HWPX reader rejects other zips itself
    return None


def _disposition_filename(header: str) -> str:
    """The file name a Content-Disposition header gives (RFC 5987 filename* first)."""
    m = re.search(r"filename\*\s*=\s*([^']*)'[^']*'([^;]+)", header, re.I)
    if m:
        try:
            return unquote(m.group(2).strip().strip('"'), encoding=m.group(1) or "utf-8")
        except LookupError:
            return unquote(m.group(2).strip().strip('"'))
    m = re.search(r'filename\s*=\s*"([^"]*)"|filename\s*=\s*([^;]+)', header, re.I)
    if not m:
        return ""
    name = (m.group(1) or m.group(2) or "").strip()
    try:  # Korean servers often send raw UTF-8 bytes that httpx decoded as Latin-1
        name = name.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return unquote(name)


def safe_filename(name: str, suffix: str = "") -> str:
    """A file name that stays inside its folder: no separators, no leading dot, bounded length."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f<>:\"|?*]", "_", name).strip(" .") or "attachment"
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    ext = f".{ext}" if ext else ""
    if suffix and ext.lower() != suffix:
        ext = suffix
    return f"{stem[:80]}{ext}"


# --- HTML → text -------------------------------------------------------------------------------

_DROPPED = {"script", "style", "noscript", "template", "head", "title"}
_VOID = {"br", "img", "hr", "input", "meta", "link", "wbr", "col", "area", "base", "source"}


class _Stripper(HTMLParser):
    """Text of an HTML fragment with a space at every tag boundary (as korea.kr's feed text is made).

    Script/style contents are dropped. A table comes out one row per line with cells joined by
    " | " (the attachment readers' convention), so a row's figures stay together for the chunker.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[tuple[str, str]] = []  # (href, anchor text)
        self._drop = 0
        self._tables = 0
        self._cells_in_row = 0
        self._href: str | None = None
        self._anchor: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            if tag not in _VOID:
                self._drop += 1
            return
        if self._drop:
            return
        if tag == "table":
            self._tables += 1
            self.parts.append("\n")
        elif tag == "tr" and self._tables:
            self._cells_in_row = 0
            self.parts.append("\n")
        elif tag in ("td", "th") and self._tables:
            if self._cells_in_row:
                self.parts.append(" | ")
            self._cells_in_row += 1
        elif tag == "a":
            self._href = dict(attrs).get("href") or None
            self._anchor = []
        self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._drop:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED:
            self._drop = max(0, self._drop - 1)
            return
        if self._drop:
            return
        self.parts.append(" ")
        if tag == "table" and self._tables:
            self._tables -= 1
            self.parts.append("\n")
        elif tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._anchor).strip()))
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._drop:
            return
        self.parts.append(data)
        if self._href is not None:
            self._anchor.append(data)


def strip_html(fragment: str) -> tuple[str, list[tuple[str, str]]]:
    """``html_to_text`` of ``fragment`` and its links as (href, anchor text) pairs."""
    links: list[tuple[str, str]] = []
    if "<" in fragment or "&" in fragment:
        parser = _Stripper()
        parser.feed(fragment)
        parser.close()
        fragment, links = "".join(parser.parts), parser.links
    text = fragment.replace("\r\n", "\n").replace("\r", "\n")
    lines = (re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line), links


def html_to_text(fragment: str) -> str:
    """Plain text of an item body: tags become spaces, scripts and styles go, table rows get lines.

    Whitespace runs are folded to one space (and lines trimmed); every other clean-up is left
    to ``normalize_text``, which the JSONL reader applies, exactly as to the demo corpus.
    """
    return strip_html(fragment)[0]


# --- feed → items → records ------------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentLink:
    url: str
    name: str = ""  # a file name when the feed shows one (link text, enclosure URL)
    type: str = ""


@dataclass(frozen=True)
class FeedItem:
    """One usable item: its korea.kr record and the attachments it links to."""

    record: dict[str, str]
    attachments: tuple[AttachmentLink, ...] = ()

    @property
    def doc_id(self) -> str:
        return self.record["id"]

    def jsonl(self) -> str:
        """The item's file content: one JSON line, keys in a fixed order so unchanged items hash the same."""
        return json.dumps(self.record, ensure_ascii=False, sort_keys=True) + "\n"


@dataclass(frozen=True)
class ItemProblem:
    """An item that was left out, and why (one line)."""

    item: str
    reason: str


@dataclass
class ParsedFeed:
    title: str = ""
    items: list[FeedItem] = field(default_factory=list)
    problems: list[ItemProblem] = field(default_factory=list)


def parse_feed(content: bytes, url: str = "", content_type: str = "") -> ParsedFeed:
    """Items of an RSS/Atom document; raises FeedError when it is not a well-formed feed."""
    import feedparser

    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(content, response_headers=headers, sanitize_html=False, resolve_relative_uris=False)
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        # feedparser reports a mislabelled encoding as "bozo" yet parses correctly; anything
        # else means broken XML, whose lenient parse could cut bodies short.
        benign = (getattr(feedparser, "CharacterEncodingOverride", ()), getattr(feedparser, "NonXMLContentType", ()))
        if not isinstance(exc, tuple(t for t in benign if isinstance(t, type))):
            raise FeedError(f"malformed feed: {_one_line(exc) or 'not XML'}")
    if not parsed.get("version") and not parsed.entries:
        raise FeedError("not an RSS or Atom feed")
    feed = ParsedFeed(title=str(parsed.feed.get("title", "")))
    for n, entry in enumerate(parsed.entries, 1):
        try:
            feed.items.append(item_from_entry(entry, base_url=url))
        except ValueError as exc:
            label = str(entry.get("link") or entry.get("id") or entry.get("title") or f"item {n}")
            feed.problems.append(ItemProblem(label[:200], str(exc)))
    return feed


_NEWS_ID = re.compile(r"(?:newsId|newsid|news_id)=(\d+)")


def news_id(link: str, guid: str = "") -> str:
    """korea.kr's newsId from an item's link (or guid); '' when it has none."""
    for text in (link, guid):
        if not text:
            continue
        query = parse_qs(urlsplit(text).query)
        for key in ("newsId", "newsid", "news_id"):
            if query.get(key) and query[key][0].isdigit():
                return query[key][0]
        m = _NEWS_ID.search(text)
        if m:
            return m.group(1)
    return ""


def item_doc_id(link: str, guid: str = "") -> str:
    """'koreakr-<newsId>' (the demo corpus's ids), else a stable id from the link or guid."""
    nid = news_id(link, guid)
    if nid:
        return f"koreakr-{nid}"
    key = link or guid
    if not key:
        return ""
    import hashlib

    return "feed-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def published_date(raw: str, parsed: Any = None) -> str:
    """The date as the feed wrote it, 'YYYY-MM-DD'.

    Taken from the raw string in its own time zone: feedparser's parsed tuple is in UTC, which
    moves a release published at 08:00 KST to the day before.
    """
    raw = (raw or "").strip()
    if raw:
        try:
            return email.utils.parsedate_to_datetime(raw).date().isoformat()
        except (TypeError, ValueError, IndexError):
            pass
        try:
            return datetime.fromisoformat(raw.replace("Z", "+00:00")).date().isoformat()
        except ValueError:
            pass
        m = re.search(r"(\d{4})[./-](\d{1,2})[./-](\d{1,2})", raw)
        if m:
            return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
    if parsed:
        return time.strftime("%Y-%m-%d", parsed)
    return ""


def _entry_html(entry: Any) -> str:
    """The fullest body the item carries: content:encoded / Atom content, else description/summary."""
    contents = entry.get("content") or []
    best = max((c.get("value", "") for c in contents), key=len, default="")
    summary = entry.get("summary", "") or entry.get("description", "")
    return best if len(best) >= len(summary) else summary


def _entry_title(entry: Any) -> str:
    title = str(entry.get("title") or "")
    # feedparser has already decoded a plain-text title; stripping it as HTML would eat "<2026 계획>"
    if (entry.get("title_detail") or {}).get("type") in ("text/html", "application/xhtml+xml"):
        return html_to_text(title)
    return " ".join(title.split())


def item_from_entry(entry: Any, base_url: str = "") -> FeedItem:
    """A feedparser entry → FeedItem; raises ValueError (one line) for an item that cannot be used."""
    link = str(entry.get("link") or "").strip()
    guid = str(entry.get("id") or "").strip()
    doc_id = item_doc_id(link, guid)
    if not doc_id:
        raise ValueError("item has no link or guid to name it by")
    text, anchors = strip_html(_entry_html(entry))
    if not text.strip():
        raise ValueError(f"{doc_id}: item has no body")
    record = {
        "id": doc_id,
        "title": _entry_title(entry),
        "published": published_date(str(entry.get("published") or entry.get("updated") or ""),
                                    entry.get("published_parsed") or entry.get("updated_parsed")),
        "url": link,
        "text": text,
    }
    page = link or base_url
    return FeedItem(record, tuple(attachment_links(entry, anchors, page)))


def attachment_links(entry: Any, anchors: Sequence[tuple[str, str]], page_url: str) -> Iterator[AttachmentLink]:
    """Enclosures, then <a href> links whose URL or text ends .hwp/.hwpx/.pdf; each URL once."""
    seen: set[str] = set()
    candidates: list[AttachmentLink] = []
    for enc in entry.get("enclosures") or []:
        href = enc.get("href") or enc.get("url") or ""
        if href:
            candidates.append(AttachmentLink(urljoin(page_url, href), _name_from_url(href), enc.get("type", "")))
    for link in entry.get("links") or []:
        if link.get("rel") == "enclosure" and link.get("href"):
            candidates.append(AttachmentLink(urljoin(page_url, link["href"]), _name_from_url(link["href"]),
                                             link.get("type", "")))
    for href, text in anchors:
        href = html.unescape(href.strip())
        name = text if _suffix_of(text) else _name_from_url(href)
        if _suffix_of(name) or _suffix_of(urlsplit(href).path):
            candidates.append(AttachmentLink(urljoin(page_url, href), name))
    for cand in candidates:
        if cand.url in seen or not cand.url.lower().startswith(("http://", "https://")):
            continue
        # An enclosure of another type (an image, audio) is not a notice attachment.
        if cand.type and not _suffix_of(cand.name) and cand.type.split(";")[0].lower() not in _ATTACHMENT_TYPES:
            continue
        seen.add(cand.url)
        yield cand


def _name_from_url(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def attachment_record(item: FeedItem, number: int, download: Download, text: str, agency: str = "") -> dict[str, str]:
    """A record for an attachment's text, cited as an attachment of its notice.

    Title and date are the notice's, so a citation reads "<notice title> [첨부] <file>"; the URL is
    the attachment's own, on the same site; ``attachment_of`` names the notice.
    """
    record = item.record
    out = {
        "id": f"{record['id']}-att{number}",
        "title": f"{record['title']} [첨부] {download.filename}",
        "published": record["published"],
        "url": download.url,
        "text": text,
        "attachment_of": record["id"],
        "notice_url": record["url"],
        "file": download.filename,
    }
    if agency:
        out["agency"] = agency
    return out


def write_if_changed(path: Path, content: str) -> bool:
    """Write ``content`` to ``path`` through a temporary file and os.replace; False when it was already so.

    An unchanged file keeps its bytes and mtime, so the index sees the same SHA-256 and skips it; a
    kill mid-write leaves the old file or the new one, never half of one.
    """
    import os

    data = content.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return True
