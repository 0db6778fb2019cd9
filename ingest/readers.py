"""Readers: one per file type, each turning a file into ``Notice`` records.

``READERS`` maps a file suffix to its reader; ``read_paths`` walks files and
folders, reads what it can and reports the rest as ``SkippedFile``s, so one bad
file never ends a run.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ingest.errors import UnreadableFile
from ingest.metadata import contact_block, derive_agency, parse_contacts
from ingest.models import Notice, ReadReport, SkippedFile
from ingest.normalize import decode_bytes, looks_like_text, normalize_report, normalize_text

# A reader returns the notices of a file; a multi-record file may also return
# SkippedFile entries for the records it could not read. The second argument is the id a
# whole-file notice gets (records in a multi-record file carry their own ids).
Reader = Callable[[Path, str], list[Notice | SkippedFile]]

_MAX_FILE_BYTES = 200 * 1024 * 1024


def file_doc_id(path: Path, root: Path | None = None) -> str:
    """The id of a notice that is a whole file: its path relative to the folder that was ingested.

    Attachments are often named alike (up1/보도자료.txt, up2/보도자료.txt), so the bare file
    stem is not an id; the relative path is stable across machines and readable in citations.
    A file given by itself is named by its file name (the index disambiguates clashes).
    """
    if root is not None and root != path:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return path.name


def _iso_date(text: str) -> str:
    """'2016/04/01 (금)', '2026-05-14', '2026.5.14.' → '2016-04-01'; '' when there is no date."""
    m = re.search(r"(\d{4})\s*[./-]\s*(\d{1,2})\s*[./-]\s*(\d{1,2})", text)
    if not m:
        return ""
    year, month, day = (int(g) for g in m.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return ""
    return f"{year:04d}-{month:02d}-{day:02d}"


def _normalized_body(text: str) -> tuple[str, tuple[str, ...]]:
    """The normalised body, and notes on what normalisation removed that a person should know."""
    report = normalize_report(text)
    notes = ()
    if report.repeated_chars_dropped:
        notes = (f"{report.repeated_chars_dropped:,} characters repeated word for word were kept once",)
    return report.text, notes


def _with_contacts(body: str) -> tuple:
    _, block = contact_block(body)
    return parse_contacts(block) if block else ()


# --- BidPro notice pages -------------------------------------------------------------

_BIDPRO_FIELD = re.compile(r"^(제목|기관|등록|파일|내용)(?:\s+(.*))?$")


def is_bidpro_page(text: str) -> bool:
    """A BidPro page has the site header or its breadcrumb, and the 제목/등록/내용 fields."""
    has_fields = bool(re.search(r"^제목\s", text, re.M)) and bool(re.search(r"^내용\s*$", text, re.M))
    return has_fields and ("비드프로" in text[:500] or "입찰자료 >" in text[:2000])


def parse_bidpro_page(text: str, doc_id: str, source: str) -> Notice:
    """Read a BidPro page: breadcrumb, 제목, 기관, 등록, 파일, 내용 and the closing 담당 line."""
    lines = [line.rstrip() for line in text.splitlines()]
    breadcrumb: tuple[str, ...] = ()
    fields: dict[str, list[str]] = {}
    current = None
    body_lines: list[str] = []
    for line in lines:
        stripped = line.strip()
        if current != "내용" and " > " in stripped and not breadcrumb and not fields:
            breadcrumb = tuple(part.strip() for part in stripped.split(">") if part.strip())
            continue
        m = _BIDPRO_FIELD.match(stripped) if current != "내용" else None
        if m:
            current = m.group(1)
            fields[current] = [m.group(2).strip()] if m.group(2) else []
            continue
        if current == "내용":
            body_lines.append(line)
        elif current is not None and stripped:
            fields[current].append(stripped)
    if not fields.get("제목") or not body_lines:
        raise UnreadableFile("BidPro page without 제목 or 내용")
    body, notes = _normalized_body("\n".join(body_lines))
    agency = " ".join(fields.get("기관", [])).strip()
    if not agency and breadcrumb:
        agency = breadcrumb[-1]
    if not agency:
        agency = derive_agency(body)
    return Notice(
        doc_id=doc_id,
        title=normalize_text(" ".join(fields["제목"])),
        body=body,
        agency=agency,
        published=_iso_date(" ".join(fields.get("등록", []))),
        source=source,
        source_type="bidpro",
        attachments=tuple(fields.get("파일", [])),
        contacts=_with_contacts(body),
        breadcrumb=breadcrumb,
        notes=notes,
    )


# --- plain text, Markdown and BidPro pages ------------------------------------------


def read_text_file(path: Path, doc_id: str) -> list[Notice | SkippedFile]:
    """A .txt/.md file: a BidPro page when it looks like one, else one notice titled by its first line."""
    text = decode_bytes(path.read_bytes())
    if not looks_like_text(text):
        raise UnreadableFile("binary data, not text")
    if is_bidpro_page(text):
        return [parse_bidpro_page(text, doc_id, str(path))]
    return [_notice_from_plain_text(text, path, doc_id, source_type="text")]


def _notice_from_plain_text(text: str, path: Path, doc_id: str, source_type: str) -> Notice:
    body, notes = _normalized_body(text)
    if len(body) < 2:
        raise UnreadableFile("no text")
    first_line = next((line.strip("# ").strip() for line in body.splitlines() if line.strip()), "")
    title = first_line[:120] if first_line else path.stem
    return Notice(
        doc_id=doc_id,
        title=title,
        body=body,
        agency=derive_agency(body, title),
        published=_iso_date(body[:2000]),
        source=str(path),
        source_type=source_type,
        contacts=_with_contacts(body),
        notes=notes,
    )


# --- korea.kr JSONL records ---------------------------------------------------------


def read_jsonl(path: Path, doc_id: str = "") -> list[Notice | SkippedFile]:
    """korea.kr records (id, title, published, url, text), one JSON object a line.

    A bad line becomes a SkippedFile naming its line number; the file fails as a
    whole only when no line is readable.
    """
    text = decode_bytes(path.read_bytes())
    results: list[Notice | SkippedFile] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            results.append(notice_from_record(json.loads(line), source=f"{path}:{lineno}"))
        except (ValueError, TypeError, KeyError) as exc:
            results.append(SkippedFile(f"{path}:{lineno}", str(exc).strip("'\"")))
    if not any(isinstance(item, Notice) for item in results):
        first = next((item.reason for item in results if isinstance(item, SkippedFile)), "")
        raise UnreadableFile("no readable records" + (f" ({first})" if first else ""))
    return results


def notice_from_record(record: dict, source: str = "") -> Notice:
    """One korea.kr record → Notice; the agency and contacts are derived from the text."""
    if not isinstance(record, dict):
        raise TypeError("record is not a JSON object")
    doc_id = str(record.get("id") or record.get("doc_id") or record.get("_id") or "").strip()
    text = record.get("text") or record.get("body") or ""
    if not doc_id:
        raise KeyError("record has no id")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"record {doc_id} has no text")
    body, notes = _normalized_body(text)
    title = normalize_text(str(record.get("title") or ""))
    url = str(record.get("url") or "")
    return Notice(
        doc_id=doc_id,
        title=title or body[:60],
        body=body,
        agency=str(record.get("agency") or "") or derive_agency(body, title),
        published=_iso_date(str(record.get("published") or "")),
        url=url,
        source=source,
        source_type="korea.kr" if "korea.kr" in url else "jsonl",
        contacts=_with_contacts(body),
        notes=notes,
    )


# --- attachments --------------------------------------------------------------------


def _attachment_reader(function_name: str, source_type: str) -> Reader:
    def read(path: Path, doc_id: str) -> list[Notice | SkippedFile]:
        from ingest import attachments  # PDF/HWP libraries load only when such a file comes

        text = getattr(attachments, function_name)(path)
        if not looks_like_text(text):
            raise UnreadableFile("extracted text looks garbled")
        return [_notice_from_plain_text(text, path, doc_id, source_type=source_type)]

    read.__doc__ = f"A {source_type.upper()} attachment read as one notice."
    return read


READERS: dict[str, Reader] = {
    ".txt": read_text_file,
    ".md": read_text_file,
    ".jsonl": read_jsonl,
    ".pdf": _attachment_reader("read_pdf", "pdf"),
    ".hwpx": _attachment_reader("read_hwpx", "hwpx"),
    ".hwp": _attachment_reader("read_hwp", "hwp"),
}


def supported_suffixes() -> tuple[str, ...]:
    return tuple(sorted(READERS))


def iter_files(paths: Iterable[Path]) -> Iterator[tuple[Path, str]]:
    """Files under ``paths`` with the id a whole-file notice of each gets (``file_doc_id``).

    Folders are walked recursively, hidden files skipped, in a stable order.
    """
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not any(part.startswith(".") for part in child.relative_to(path).parts):
                    yield child, file_doc_id(child, path)
        else:
            yield path, file_doc_id(path)


def read_file(path: Path, doc_id: str | None = None) -> list[Notice | SkippedFile]:
    """Read one file with the reader its suffix selects; raises UnreadableFile with a reason.

    ``doc_id`` names a whole-file notice (default: the file name).
    """
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise UnreadableFile(f"unsupported file type {path.suffix or '(none)'}; supported: {', '.join(supported_suffixes())}")
    if not path.exists():
        raise UnreadableFile("no such file")
    size = path.stat().st_size
    if size == 0:
        raise UnreadableFile("empty file")
    if size > _MAX_FILE_BYTES:
        raise UnreadableFile(f"file too large ({size // 1_000_000} MB)")
    try:
        return reader(path, doc_id or file_doc_id(path))
    except UnreadableFile:
        raise
    except (OSError, ValueError, KeyError, IndexError, EOFError) as exc:
        raise UnreadableFile(f"{type(exc).__name__}: {exc}") from exc


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes: the index uses it to notice changed files."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_paths(paths: Iterable[Path]) -> ReadReport:
    """Read every supported file under ``paths``; unreadable ones go to ``report.skipped``."""
    report = ReadReport()
    for path, doc_id in iter_files(paths):
        try:
            items = read_file(path, doc_id)
        except UnreadableFile as exc:
            report.skipped.append(SkippedFile(str(path), str(exc)))
            continue
        report.files_read += 1
        for item in items:
            (report.notices if isinstance(item, Notice) else report.skipped).append(item)
    return report
