"""Plain text from press-release attachments: PDF, HWPX and HWP 5.

Every reader takes a path and returns the document's text: one paragraph per
line ("\\n"); a table becomes a block between "[표]" and "[/표]" lines, one line per row,
each cell named by its column header ("구분: 협력센터; 2025년: 3곳; 2026년: 5곳").
A one-column table (the boxed summaries Korean releases love) keeps one line per
paragraph instead, since joining a box's paragraphs would glue sentences together.
Headers and footers are left out: they repeat page furniture, not content.

Anything that cannot give trustworthy text raises ``UnreadableFile`` with a
one-line reason: empty, not really that format, encrypted, truncated, no text,
or text that decodes to garbage. Parsers are imported inside the functions so
importing this module stays cheap.
"""

from __future__ import annotations

import re
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.errors import UnreadableFile

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

    from olefile import OleFileIO
    from pdfplumber.page import Page

# Refuse any archive member or compressed stream that expands past this: a zip/deflate
# bomb would otherwise be inflated into memory before we could look at it.
MAX_EXPANDED_BYTES = 200 * 1024 * 1024
CELL_SEPARATOR = " | "

# A table cell is a list of lines; a row is a list of cells.
Cell = list[str]
Row = list[Cell]


# --------------------------------------------------------------------------- shared


def _open_check(path: Path, kind: str) -> Path:
    """Fail early, with a clear reason, on paths that are missing or empty."""
    path = Path(path)
    if not path.is_file():
        raise UnreadableFile(f"{kind}: file not found")
    if path.stat().st_size == 0:
        raise UnreadableFile(f"{kind}: empty file (0 bytes)")
    return path


def _limit() -> str:
    """The expansion limit in words (read at call time so tests can lower it)."""
    n = MAX_EXPANDED_BYTES
    return f"{n // 2**20} MB" if n >= 2**20 else f"{n} bytes"


def _why(exc: BaseException, named: bool = True) -> str:
    """A library exception as a short one-line phrase for a skip reason."""
    text = f"{type(exc).__name__}: {exc}" if named else str(exc) or type(exc).__name__
    return " ".join(text.split())[:120]


def _head(path: Path, n: int = 1024) -> bytes:
    with path.open("rb") as fh:
        return fh.read(n)


def _finish(lines: Sequence[str], kind: str) -> str:
    """NFC, one paragraph per line, blank lines dropped; refuse a text-free document."""
    text = unicodedata.normalize("NFC", "\n".join(lines))
    kept = [line.strip() for line in text.split("\n")]
    text = "\n".join(line for line in kept if line)
    if not text:
        raise UnreadableFile(f"{kind}: no extractable text")
    return text


# Tables are written as a marked block a quote can stand on, one line per row:
#   [표] 구분 | 2025년 | 2026년
#   구분: 전자정부 예산; 2025년: 1,200억원; 2026년: 1,500억원
#   [/표]
# Each row repeats the header, so a sentence quoted from the middle of a schedule, budget or list
# of winners still says what its figures are; the chunker splits sentences per line, so a row is
# never cut in two and never glued to the paragraph after the table.
TABLE_START = "[표]"
TABLE_END = "[/표]"
PAIR_SEPARATOR = "; "
# First cells that name a header row in a two-column table ("구분 | 내용", "지역 | 인원"). Without
# one, a two-column table is a form of labels and values ("일시 | 2026. 6. 1.(월) 14:00").
_HEADER_WORDS = frozenset(
    "구분 항목 내용 분야 부문 순위 연번 번호 순번 지역 기관 기관명 시기 연도 년도 일자 날짜 명칭 성명 과제 과제명 사업 사업명".split()
)


def _cell_text(cell: Cell) -> str:
    return " ".join(" ".join(cell).split())


def _table_lines(rows: Sequence[Row]) -> list[str]:
    """Flatten a table into a marked block: one line per row, each cell with its column header.

    The first row is the header when the table has three or more columns or its first cell is
    a header word (구분, 항목 …); a two-column table without one is labels and values, written
    "label: value". A row whose cell count differs from the header's (merged cells) is written
    with its cells joined by " | ", since pairing it with the header would misname its figures.
    A table with at most one cell per row is a text box, not a grid: its paragraphs are
    returned as they are.
    """
    if all(len(row) <= 1 for row in rows):
        return [line for row in rows for cell in row for line in cell]
    table = [cells for cells in ([_cell_text(cell) for cell in row] for row in rows) if any(cells)]
    if not table:
        return []
    width = max(len(cells) for cells in table)
    header: list[str] = []
    if len(table) > 1 and (width >= 3 or table[0][0] in _HEADER_WORDS) and all(table[0]):
        header, table = table[0], table[1:]
    out = [f"{TABLE_START} {CELL_SEPARATOR.join(header)}" if header else TABLE_START]
    for cells in table:
        if header and len(cells) == len(header):
            out.append(PAIR_SEPARATOR.join(f"{h}: {v}" for h, v in zip(header, cells) if v))
        elif not header and len(cells) == 2 and cells[0] and cells[1]:
            out.append(f"{cells[0]}: {cells[1]}")
        else:
            out.append(CELL_SEPARATOR.join(cells))
    out.append(TABLE_END)
    return out


# --------------------------------------------------------------------------- PDF

_CID_TOKEN = re.compile(r"\(cid:\d+\)")
# C0 controls that are not layout whitespace. Chromium-printed PDFs map every
# space to \x01, so these are the first sign that a text layer is unreliable.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _is_pua(ch: str) -> bool:
    cp = ord(ch)
    return 0xE000 <= cp <= 0xF8FF or cp >= 0xF0000


def _plausible(ch: str) -> bool:
    """Whether a character is normal in a Korean government document.

    Hangul, ASCII, Hanja, and the punctuation/symbol blocks Korean documents use
    (□ ○ ※ ㈜ ① ㎡ 「」 · …). Anything else in bulk means a broken font mapping.
    """
    cp = ord(ch)
    return (
        0x20 <= cp < 0x7F
        or 0xAC00 <= cp <= 0xD7A3  # Hangul syllables
        or 0x1100 <= cp <= 0x11FF  # Hangul jamo
        or 0x3130 <= cp <= 0x318F  # compatibility jamo (ㅇ bullets)
        or 0x4E00 <= cp <= 0x9FFF  # Hanja
        or 0x3000 <= cp <= 0x303F  # CJK punctuation 「」『』
        or 0x3200 <= cp <= 0x33FF  # enclosed CJK, ㈜ ㎡ ㎞
        or 0x2000 <= cp <= 0x27BF  # punctuation, arrows, maths, boxes, shapes, dingbats
        or 0xFF00 <= cp <= 0xFFEF  # full-/half-width forms
        or 0xA0 <= cp <= 0xBF  # Latin-1 punctuation (· ° ± §)
        or cp in (0xD7, 0xF7)  # × ÷
    )


@dataclass
class _TextStats:
    """Counts of suspicious characters over the non-whitespace text."""

    total: int = 0
    cid: int = 0
    control: int = 0
    replacement: int = 0
    pua: int = 0
    implausible: int = 0
    hangul: int = 0
    hanja: int = 0

    @property
    def bad(self) -> int:
        return self.cid + self.control + self.replacement + self.pua + self.implausible


def _text_stats(text: str) -> _TextStats:
    stats = _TextStats()
    stats.cid = len(_CID_TOKEN.findall(text))
    for ch in _CID_TOKEN.sub("", text):
        if ch in " \t\n\r":
            continue
        stats.total += 1
        cp = ord(ch)
        if _CONTROL.match(ch):
            stats.control += 1
        elif ch == "\ufffd":
            stats.replacement += 1
        elif _is_pua(ch):
            stats.pua += 1
        elif not _plausible(ch):
            stats.implausible += 1
        if 0xAC00 <= cp <= 0xD7A3:
            stats.hangul += 1
        elif 0x4E00 <= cp <= 0x9FFF:
            stats.hanja += 1
    stats.total += stats.cid
    return stats


def _bad_fraction(text: str) -> float:
    stats = _text_stats(text)
    return stats.bad / stats.total if stats.total else 0.0


def needs_pdf_fallback(text: str) -> bool:
    """Whether pdfplumber's text is suspect enough to ask pypdfium2 as well.

    Control characters (Chromium PDFs give \\x01 for every space), U+FFFD and
    (cid:NN) tokens are always suspect. A few private-use characters are normal
    (Hancom fonts put bullets there), so those count only in bulk.
    """
    if _CONTROL.search(text) or "\ufffd" in text or _CID_TOKEN.search(text):
        return True
    stats = _text_stats(text)
    return bool(stats.total) and stats.pua / stats.total > 0.1


def garbled_reason(text: str) -> str | None:
    """Say why ``text`` looks like a broken font mapping, or None if it reads as text.

    This is pdfminer issue #1035 and its relatives: CID fonts without a usable
    ToUnicode map come out as (cid:NN) tokens, private-use codepoints, control
    characters, or real characters of the wrong script (CP949 bytes read as
    Latin-1, Hangul mapped onto Hanja).
    """
    s = _text_stats(text)
    if not s.total:
        return None
    if s.cid / s.total > 0.2:
        return "garbled text: mostly (cid:NN) glyph codes (font has no Unicode map)"
    if s.pua / s.total > 0.2:
        return "garbled text: mostly private-use codepoints (font has no Unicode map)"
    if s.control / s.total > 0.4:
        return "garbled text: mostly control characters"
    if s.replacement / s.total > 0.1:
        return "garbled text: many U+FFFD replacement characters"
    if s.bad / s.total > 0.3:
        return "garbled text: characters implausible for Korean (mis-decoded font or encoding)"
    # Korean text is mostly Hangul; a page of Hanja with no Hangul is the classic
    # symptom of a Korean font whose CIDs were mapped through the wrong ordering.
    if s.hanja / s.total > 0.4 and s.hangul / s.total < 0.05:
        return "garbled text: Hanja with no Hangul (mis-mapped CJK font)"
    return None


def _pdf_rows(table: list[list[str | None]]) -> list[Row]:
    """pdfplumber cells → our rows; None marks a position covered by a merged cell."""
    return [[(cell or "").split("\n") for cell in row if cell is not None] for row in table]


def _plumber_page_lines(page: Page) -> list[str]:
    """One page as lines, tables rendered as rows, all in top-to-bottom order."""
    # Hancom's PDF printer fakes bold by drawing a line twice, a hair apart:
    # without dedupe "보도자료" comes out as "보보도도자자료료".
    page = page.dedupe_chars()
    tables = page.find_tables()
    boxes = [t.bbox for t in tables]

    def outside_tables(obj: dict) -> bool:
        if obj.get("object_type") != "char":
            return True
        x = (obj["x0"] + obj["x1"]) / 2
        y = (obj["top"] + obj["bottom"]) / 2
        return not any(x0 <= x <= x1 and top <= y <= bottom for x0, top, x1, bottom in boxes)

    body = page.filter(outside_tables) if boxes else page
    items: list[tuple[float, int, list[str]]] = [
        (line["top"], 0, [line["text"]]) for line in body.extract_text_lines(return_chars=False)
    ]
    for table in tables:
        items.append((table.bbox[1], 1, _table_lines(_pdf_rows(table.extract()))))
    items.sort(key=lambda item: (item[0], item[1]))
    return [line for _, _, lines in items for line in lines]


def _pdf_text_plumber(path: Path) -> tuple[str, bool]:
    """Text via pdfplumber, and whether any page had images (for the scanned verdict)."""
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfplumber.utils.exceptions import PdfminerException

    try:
        with pdfplumber.open(path) as pdf:
            lines: list[str] = []
            has_images = False
            for page in pdf.pages:
                lines.extend(_plumber_page_lines(page))
                has_images = has_images or bool(page.images)
                page.close()  # drop the page's layout cache: long PDFs add up
            return "\n".join(lines), has_images
    except PdfminerException as exc:
        inner = exc.args[0] if exc.args else exc
        if isinstance(inner, PDFPasswordIncorrect):
            raise UnreadableFile("encrypted PDF (password required)") from exc
        if isinstance(inner, PDFEncryptionError):
            raise UnreadableFile(
                f"encrypted PDF (unsupported encryption: {_why(inner, named=False)})"
            ) from exc
        raise


def _pdf_text_pdfium(path: Path) -> str:
    """Text via pdfium: more tolerant of broken files and odd font maps, but no tables."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        parts = []
        for i in range(len(pdf)):
            page = pdf[i]
            textpage = page.get_textpage()
            parts.append(textpage.get_text_range())
            textpage.close()
            page.close()
    finally:
        pdf.close()
    return "\n".join(parts).replace("\r\n", "\n").replace("\r", "\n")


def read_pdf(path: Path) -> str:
    """Return the text of a PDF: pdfplumber first, pypdfium2 when that looks wrong."""
    path = _open_check(path, "PDF")
    head = _head(path)
    if b"%PDF-" not in head:
        raise UnreadableFile("not a PDF (no %PDF- header)")
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - 4096))
        tail = fh.read()
    # pdfium rebuilds a cut file's xref and returns whatever pages survive; a
    # silently partial document is worse than a skipped one.
    if b"%%EOF" not in tail:
        raise UnreadableFile("truncated PDF (no %%EOF trailer)")

    has_images = False
    try:
        text, has_images = _pdf_text_plumber(path)
        plumber_error = None
    except UnreadableFile:
        raise
    except Exception as exc:  # any pdfminer failure on a corrupt file
        text, plumber_error = "", exc

    if plumber_error is not None or not text.strip() or needs_pdf_fallback(text):
        try:
            alt = _pdf_text_pdfium(path)
        except Exception as exc:
            if "password" in str(exc).lower():
                raise UnreadableFile("encrypted PDF (password required)") from exc
            if plumber_error is not None:
                raise UnreadableFile(f"corrupt PDF ({_why(plumber_error)})") from plumber_error
            alt = ""
        if plumber_error is not None or not text.strip():
            text = alt
        elif alt.strip() and garbled_reason(alt) is None and _bad_fraction(alt) < _bad_fraction(text):
            # pdfium only wins with clean text: pdfplumber keeps the table rows, and
            # when both are garbage its (cid:NN) verdict is the more telling reason
            text = alt

    if not text.strip():
        raise UnreadableFile(
            "no text layer (scanned?)" if has_images or plumber_error is None else "no extractable text"
        )
    reason = garbled_reason(text)
    if reason:
        raise UnreadableFile(reason)
    # What is left of the controls stands for spaces (the \x01 case): keep the words apart.
    return _finish(_CONTROL.sub(" ", text).splitlines(), "PDF")


# --------------------------------------------------------------------------- HWPX

_SECTION_XML = re.compile(r"Contents/section(\d+)\.xml")
# Inline elements of <hp:t> that stand for visible characters.
_HWPX_INLINE = {"tab": "\t", "lineBreak": "\n", "hyphen": "-", "nbSpace": " ", "fwSpace": " "}
# Containers whose text is page furniture, repeated on every page.
_HWPX_SKIP = {"header", "footer", "masterPage"}
# ZIP general-purpose flag bit 0: the entry is encrypted (zip-level password).
_ZIP_ENCRYPTED = 0x1


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _hwpx_run_text(t: Element) -> str:
    """Text of an <hp:t>, whose inline children (tab, markpen …) carry tails."""
    parts = [t.text or ""]
    for child in t:
        parts.append(_HWPX_INLINE.get(_local(child.tag), ""))
        parts.append(child.tail or "")
    return "".join(parts)


def _hwpx_paragraph(p: Element) -> list[str]:
    """A paragraph's text line, then the lines of the tables/boxes anchored in it."""
    text: list[str] = []
    nested: list[str] = []

    def visit(el: Element) -> None:
        for child in el:
            name = _local(child.tag)
            if name == "t":
                text.append(_hwpx_run_text(child))
            elif name == "tbl":
                nested.extend(_hwpx_table(child))
            elif name in _HWPX_SKIP:
                continue
            elif name == "p":  # in a text box, footnote or caption's subList
                nested.extend(_hwpx_paragraph(child))
            else:
                visit(child)

    visit(p)
    return ["".join(text), *nested]


def _hwpx_sublist_lines(el: Element) -> list[str]:
    """Lines of the paragraphs in an element's <hp:subList> (a cell or a caption)."""
    lines: list[str] = []
    for sub in el:
        if _local(sub.tag) == "subList":
            for p in sub:
                if _local(p.tag) == "p":
                    lines.extend(_hwpx_paragraph(p))
    return lines


def _hwpx_table(tbl: Element) -> list[str]:
    rows: list[Row] = []
    caption: list[str] = []
    for child in tbl:
        name = _local(child.tag)
        if name == "tr":
            rows.append([_hwpx_sublist_lines(tc) for tc in child if _local(tc.tag) == "tc"])
        elif name == "caption":
            caption.extend(_hwpx_sublist_lines(child))
    return _table_lines(rows) + caption


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > MAX_EXPANDED_BYTES:
        raise UnreadableFile(f"HWPX member {info.filename} expands past {_limit()} (zip bomb?)")
    with zf.open(info) as fh:
        # file_size is the archive's own claim; cap the actual read too.
        data = fh.read(MAX_EXPANDED_BYTES + 1)
    if len(data) > MAX_EXPANDED_BYTES:
        raise UnreadableFile(f"HWPX member {info.filename} expands past {_limit()} (zip bomb?)")
    return data


def read_hwpx(path: Path) -> str:
    """Return the text of an HWPX (OWPML) document: section XML read in order."""
    import xml.etree.ElementTree as ET

    path = _open_check(path, "HWPX")
    head = _head(path, 8)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        # HWP 5 saved under an .hwpx name: read it as what it is.
        return read_hwp(path)
    if not head.startswith(b"PK"):
        raise UnreadableFile("not an HWPX file (not a zip archive)")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = {info.filename: info for info in zf.infolist()}
            sections = sorted(
                (int(m.group(1)), name) for name in infos if (m := _SECTION_XML.fullmatch(name))
            )
            if not sections:
                raise UnreadableFile("zip archive but not HWPX (no Contents/section*.xml)")
            if any(infos[name].flag_bits & _ZIP_ENCRYPTED for _, name in sections):
                raise UnreadableFile("encrypted HWPX (password-protected)")
            manifest = infos.get("META-INF/manifest.xml")
            if manifest is not None and b"encryption-data" in _read_member(zf, manifest):
                raise UnreadableFile("encrypted HWPX (password-protected)")
            lines: list[str] = []
            for _, name in sections:
                root = ET.fromstring(_read_member(zf, infos[name]))
                for p in root:  # a section's top-level paragraphs, in document order
                    if _local(p.tag) == "p":
                        lines.extend(_hwpx_paragraph(p))
    except UnreadableFile:
        raise
    except zipfile.BadZipFile as exc:
        raise UnreadableFile(f"corrupt or truncated HWPX zip ({_why(exc, named=False)})") from exc
    except ET.ParseError as exc:
        raise UnreadableFile(f"corrupt HWPX section XML ({_why(exc, named=False)})") from exc
    except (OSError, EOFError, zlib.error, NotImplementedError) as exc:
        # truncated members, bad CRCs, unsupported zip compression
        raise UnreadableFile(f"corrupt HWPX zip ({_why(exc)})") from exc
    return _finish(lines, "HWPX")


# --------------------------------------------------------------------------- HWP 5

# Record tags (HWP 5.0 spec: HWPTAG_BEGIN = 16).
_TAG_PARA_HEADER = 66
_TAG_PARA_TEXT = 67
_TAG_CTRL_HEADER = 71
_TAG_LIST_HEADER = 72
_TAG_TABLE = 77

# FileHeader property bits (offset 36).
_HWP_COMPRESSED = 1 << 0
_HWP_PROTECTIONS = {
    1 << 1: "password-protected HWP",
    1 << 2: "distribution-only HWP (배포용 문서, body encrypted)",
    1 << 4: "DRM-protected HWP",
    1 << 8: "certificate-encrypted HWP",
    1 << 10: "certificate-DRM-protected HWP",
}
# PARA_TEXT control characters that occupy 8 WCHARs (the code, 6 WCHARs of
# payload, the code again); all other codes below 32 occupy one.
_HWP_WIDE_CONTROLS = frozenset((*range(1, 10), 11, 12, *range(14, 24)))
_HWP_CHAR_CONTROLS = {9: "\t", 10: "\n", 24: "-", 30: " ", 31: " "}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass
class _Record:
    tag: int
    level: int
    data: bytes
    children: list[_Record] = field(default_factory=list)


def _iter_records(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """Yield (tag, level, payload); a record running past the stream end is corruption."""
    offset, n = 0, len(data)
    while offset < n:
        if offset + 4 > n:
            raise UnreadableFile("corrupt HWP body (truncated record header)")
        (header,) = struct.unpack_from("<I", data, offset)
        offset += 4
        tag, level, size = header & 0x3FF, (header >> 10) & 0x3FF, header >> 20
        if size == 0xFFF:  # long record: the real size follows
            if offset + 4 > n:
                raise UnreadableFile("corrupt HWP body (truncated record size)")
            (size,) = struct.unpack_from("<I", data, offset)
            offset += 4
        if offset + size > n:
            raise UnreadableFile("corrupt HWP body (record runs past end of stream)")
        yield tag, level, data[offset : offset + size]
        offset += size


def _record_tree(data: bytes) -> list[_Record]:
    """Nest records by level: each record owns the deeper-level records after it."""
    roots: list[_Record] = []
    stack: list[_Record] = []
    for tag, level, payload in _iter_records(data):
        rec = _Record(tag, level, payload)
        while stack and stack[-1].level >= level:
            stack.pop()
        (stack[-1].children if stack else roots).append(rec)
        stack.append(rec)
    return roots


def decode_para_text(data: bytes) -> str:
    """UTF-16LE paragraph text with the inline control characters removed."""
    out: list[str] = []
    i, n = 0, len(data) - 1
    while i < n:
        (code,) = struct.unpack_from("<H", data, i)
        i += 2
        if code >= 32:
            out.append(chr(code))
            continue
        if code in _HWP_CHAR_CONTROLS:
            out.append(_HWP_CHAR_CONTROLS[code])
        if code in _HWP_WIDE_CONTROLS:
            i += 14  # skip the control's payload (e.g. 'tbl ', 'secd' ids)
    # Surrogate pairs were copied as two code units; let the codec join them.
    return "".join(out).encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _hwp_paragraph(rec: _Record) -> list[str]:
    """A paragraph's text line, then the lines of the controls anchored in it."""
    text = "".join(decode_para_text(c.data) for c in rec.children if c.tag == _TAG_PARA_TEXT)
    lines = [text]
    for child in rec.children:
        if child.tag == _TAG_CTRL_HEADER:
            lines.extend(_hwp_control(child))
    return lines


def _hwp_nested(records: Sequence[_Record]) -> list[str]:
    """Paragraphs anywhere below a control (text boxes, footnotes, captions)."""
    lines: list[str] = []
    for rec in records:
        if rec.tag == _TAG_PARA_HEADER:
            lines.extend(_hwp_paragraph(rec))
        else:
            lines.extend(_hwp_nested(rec.children))
    return lines


def _hwp_control(rec: _Record) -> list[str]:
    ctrl_id = rec.data[:4][::-1]  # stored as a little-endian DWORD
    if ctrl_id == b"tbl ":
        return _hwp_table(rec)
    if ctrl_id in (b"head", b"foot"):
        return []
    return _hwp_nested(rec.children)


def _hwp_table(rec: _Record) -> list[str]:
    """Cells are LIST_HEADER records, each followed by its paragraphs as siblings."""
    cells: dict[tuple[int, int], Cell] = {}
    caption: Cell = []
    current: Cell | None = None
    seen_table = False
    for child in rec.children:
        if child.tag == _TAG_TABLE:
            seen_table = True
        elif child.tag == _TAG_LIST_HEADER:
            if not seen_table:
                current = caption  # a list before the TABLE record is the caption
            elif len(child.data) >= 12:
                # list header (8 bytes), then the cell's column and row address
                col, row = struct.unpack_from("<HH", child.data, 8)
                current = cells.setdefault((row, col), [])
            else:
                current = cells.setdefault((len(cells), 0), [])
        elif child.tag == _TAG_PARA_HEADER and current is not None:
            current.extend(_hwp_paragraph(child))
    rows: dict[int, Row] = {}
    for (row, _col), cell in sorted(cells.items()):
        rows.setdefault(row, []).append(cell)
    return _table_lines(list(rows.values())) + caption


def _inflate(data: bytes, name: str) -> bytes:
    """Raw-deflate a stream (zlib-wrapped as a fallback), capped at MAX_EXPANDED_BYTES."""
    for wbits in (-15, 15):
        decoder = zlib.decompressobj(wbits)
        try:
            out = decoder.decompress(data, MAX_EXPANDED_BYTES + 1)
        except zlib.error:
            continue
        if len(out) > MAX_EXPANDED_BYTES:
            raise UnreadableFile(f"HWP stream {name} expands past {_limit()} (deflate bomb?)")
        if not decoder.eof:
            raise UnreadableFile(f"truncated HWP (compressed stream {name} ends early)")
        return out
    raise UnreadableFile(f"corrupt HWP (stream {name} is not valid deflate data)")


def read_hwp(path: Path) -> str:
    """Return the text of an HWP 5 document from its BodyText/Section* records."""
    import olefile

    path = _open_check(path, "HWP")
    head = _head(path, 32)
    if head.startswith(b"PK"):
        # HWPX saved under an .hwp name, as some portals do: read it as what it is.
        return read_hwpx(path)
    if head.startswith(b"HWP Document File V"):
        raise UnreadableFile("HWP 3.x document (pre-2002 format) is not supported")
    if not head.startswith(_OLE_MAGIC):
        raise UnreadableFile("not an HWP file (no OLE compound-file header)")
    try:
        ole = olefile.OleFileIO(str(path))
    except Exception as exc:  # olefile raises plain OSError/struct errors on damage
        raise UnreadableFile(f"corrupt or truncated HWP (OLE container: {_why(exc, named=False)})") from exc
    try:
        return _finish(_hwp_lines(ole), "HWP")
    except UnreadableFile:
        raise
    except Exception as exc:  # olefile on a damaged FAT/stream chain
        raise UnreadableFile(f"corrupt or truncated HWP ({_why(exc)})") from exc
    finally:
        ole.close()


def _hwp_lines(ole: OleFileIO) -> list[str]:
    """Paragraph lines of every BodyText section, in section order."""
    if not ole.exists("FileHeader"):
        raise UnreadableFile("OLE file but not HWP (no FileHeader stream)")
    header = ole.openstream("FileHeader").read(256)
    if not header.startswith(b"HWP Document File") or len(header) < 40:
        raise UnreadableFile("OLE file but not HWP (bad FileHeader signature)")
    (flags,) = struct.unpack_from("<I", header, 36)
    for bit, what in _HWP_PROTECTIONS.items():
        if flags & bit:
            raise UnreadableFile(what)
    # numerically: listdir() is lexical, which puts Section10 before Section2
    sections = sorted(
        (int(entry[1][7:]), "/".join(entry))
        for entry in ole.listdir()
        if len(entry) == 2
        and entry[0] == "BodyText"
        and entry[1].startswith("Section")
        and entry[1][7:].isdigit()
    )
    if not sections:
        raise UnreadableFile("HWP without BodyText sections")
    lines: list[str] = []
    for _, name in sections:
        if ole.get_size(name) > MAX_EXPANDED_BYTES:
            raise UnreadableFile(f"HWP stream {name} is larger than {_limit()}")
        data = ole.openstream(name).read()
        if flags & _HWP_COMPRESSED:
            data = _inflate(data, name)
        for rec in _record_tree(data):
            if rec.tag == _TAG_PARA_HEADER:
                lines.extend(_hwp_paragraph(rec))
    return lines
