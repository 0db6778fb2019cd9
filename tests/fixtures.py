"""Build real attachment files for tests: nothing binary is committed.

Every maker writes to ``path`` and returns it. Content is a list of blocks: a
``str`` is a paragraph, a list of rows (each a list of cell strings) is a table.

PDF makers need the NanumGothic TTF so Korean is real text in the file; without
it they ``pytest.skip`` (CI installs ``fonts-nanum``).
"""

from __future__ import annotations

import io
import logging
import random
import re
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from hwpx import HwpxDocument

Table = Sequence[Sequence[str]]
Block = str | Table

NANUM_CANDIDATES = (
    Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf"),
    Path("/usr/share/fonts/nanum/NanumGothic.ttf"),
    Path("/usr/local/share/fonts/NanumGothic.ttf"),
    Path("/Library/Fonts/NanumGothic.ttf"),
)


def nanum_font() -> Path:
    """Path of NanumGothic.ttf, or skip the calling test with the reason."""
    for candidate in NANUM_CANDIDATES:
        if candidate.is_file():
            return candidate
    pytest.skip("NanumGothic.ttf not found (apt-get install fonts-nanum) — needed to build Korean PDFs")


# --------------------------------------------------------------------------- PDF


def _pdf_bytes(
    blocks: Sequence[Block],
    *,
    compress: bool = True,
    owner_password: str | None = None,
    user_password: str | None = None,
) -> bytes:
    from fpdf import FPDF

    # fontTools prints a line per dropped table while subsetting NanumGothic.
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    pdf = FPDF()
    pdf.set_compression(compress)
    if owner_password is not None:
        pdf.set_encryption(owner_password=owner_password, user_password=user_password)
    pdf.add_page()
    pdf.add_font("Nanum", fname=str(nanum_font()))
    pdf.set_font("Nanum", size=11)
    for block in blocks:
        if isinstance(block, str):
            pdf.multi_cell(0, 7, block, new_x="LMARGIN", new_y="NEXT")
        else:
            # headings would need a bold face; a plain ruled grid is what matters
            with pdf.table(first_row_as_headings=False) as table:
                for row in block:
                    out = table.row()
                    for cell in row:
                        out.cell(cell)
        pdf.ln(3)
    return bytes(pdf.output())


def make_pdf(path: Path, paragraphs: Sequence[Block]) -> Path:
    """A text PDF in NanumGothic; tables are drawn as ruled grids."""
    path.write_bytes(_pdf_bytes(paragraphs))
    return path


def make_encrypted_pdf(path: Path, paragraphs: Sequence[Block], user_password: str | None = "secret") -> Path:
    """An RC4-encrypted PDF; ``user_password=None`` gives the owner-only kind anyone can open."""
    path.write_bytes(_pdf_bytes(paragraphs, owner_password="owner-pw", user_password=user_password))
    return path


def _rewrite_tounicode(data: bytes, rewrite: Callable[[re.Match[bytes]], bytes]) -> bytes:
    """Apply ``rewrite`` to each ``<src> <dst>`` line of the ToUnicode CMaps.

    Rewrites keep the length, so the xref offsets of the uncompressed file stay right.
    """

    def block(m: re.Match[bytes]) -> bytes:
        return re.sub(rb"<([0-9A-F]{4})> <([0-9A-F]{4})>", rewrite, m.group(0))

    out = re.sub(rb"beginbfchar.*?endbfchar", block, data, flags=re.S)
    assert len(out) == len(data) and out != data, "fpdf2 ToUnicode layout changed"
    return out


def make_x01_space_pdf(path: Path, paragraphs: Sequence[str]) -> Path:
    """Like a Chromium-printed PDF: every space extracts as \\x01."""
    data = _pdf_bytes(paragraphs, compress=False)
    path.write_bytes(
        _rewrite_tounicode(
            data, lambda m: b"<%s> <0001>" % m.group(1) if m.group(2) == b"0020" else m.group(0)
        )
    )
    return path


def make_cid_garbled_pdf(path: Path, paragraphs: Sequence[str]) -> Path:
    """A CID font whose ToUnicode maps none of the codes used: pdfminer gives (cid:NN)."""
    data = _pdf_bytes(paragraphs, compress=False)
    path.write_bytes(_rewrite_tounicode(data, lambda m: b"<F%s> <%s>" % (m.group(1)[1:], m.group(2))))
    return path


def make_pua_garbled_pdf(path: Path, paragraphs: Sequence[str]) -> Path:
    """A CID font whose ToUnicode points every glyph into the private-use area."""
    data = _pdf_bytes(paragraphs, compress=False)
    path.write_bytes(_rewrite_tounicode(data, lambda m: b"<%s> <E%s>" % (m.group(1), m.group(1)[1:])))
    return path


def make_overprinted_pdf(path: Path, lines: Sequence[str]) -> Path:
    """Each line drawn twice, 0.2 pt apart: the fake bold of Hancom's PDF printer."""
    from fpdf import FPDF

    logging.getLogger("fontTools").setLevel(logging.ERROR)
    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("Nanum", fname=str(nanum_font()))
    pdf.set_font("Nanum", size=14)
    for n, line in enumerate(lines):
        for dx in (0.0, 0.2):
            pdf.text(20 + dx, 30 + 12 * n, line)
    path.write_bytes(bytes(pdf.output()))
    return path


def make_scanned_pdf(path: Path) -> Path:
    """A page that is only an image (a scan): no text layer at all."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    image = Image.new("L", (600, 800), 255)
    draw = ImageDraw.Draw(image)
    for y in range(60, 760, 24):  # grey bars where scanned lines of text would be
        draw.rectangle((50, y, 550 - (y * 7) % 200, y + 10), fill=90)
    pdf = FPDF()
    pdf.add_page()
    pdf.image(image, x=10, y=10, w=190)
    path.write_bytes(bytes(pdf.output()))
    return path


def make_truncated_pdf(path: Path, paragraphs: Sequence[Block], keep: float = 0.6) -> Path:
    """A PDF cut short, as an interrupted download leaves it."""
    data = _pdf_bytes(paragraphs)
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def make_html_as_pdf(path: Path) -> Path:
    """An error page saved under a .pdf name, as crawlers often get."""
    path.write_text(
        "<!DOCTYPE html><html><head><title>404</title></head>"
        "<body>요청하신 파일을 찾을 수 없습니다.</body></html>",
        encoding="utf-8",
    )
    return path


# --------------------------------------------------------------------------- HWPX / HWP


def _hwpx_document(
    blocks: Sequence[Block],
    *,
    header: str | None = None,
    footnote: str | None = None,
    text_box: str | None = None,
) -> HwpxDocument:
    """A python-hwpx document holding ``blocks``; footnote and text box hang on the first paragraph."""
    from hwpx import HwpxDocument

    doc = HwpxDocument.new()
    first = True
    for block in blocks:
        if isinstance(block, str):
            if first:  # the blank document's only paragraph holds the section settings
                doc.paragraphs[0].text = block
                paragraph = doc.paragraphs[0]
            else:
                paragraph = doc.add_paragraph(block)
            if footnote is not None and first:
                doc.notes.add_footnote(footnote, paragraph=paragraph)
            if text_box is not None and first:
                doc.shapes.add_rectangle(paragraph=paragraph).set_draw_text(text_box)
        else:
            rows = [list(row) for row in block]
            table = doc.add_table(len(rows), max(len(row) for row in rows))
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    table.set_cell_text(r, c, cell)
        first = False
    if header is not None:
        doc.page.set_header(text=header)
        doc.page.set_footer(text=header)
    return doc


def make_hwpx(path: Path, paragraphs: Sequence[Block], **extras: str) -> Path:
    """A real HWPX (zip of OWPML XML) written by python-hwpx.

    ``extras``: ``header`` becomes both the page header and footer; ``footnote``
    and ``text_box`` (a rectangle with text) are attached to the first paragraph.
    """
    buffer = io.BytesIO()
    _hwpx_document(paragraphs, **extras).save_to_stream(buffer, format="hwpx")
    path.write_bytes(buffer.getvalue())
    return path


def make_hwp(path: Path, paragraphs: Sequence[Block], **extras: str) -> Path:
    """A real HWP 5 compound file (compressed BodyText) written by python-hwpx; extras as for make_hwpx."""
    doc = _hwpx_document(paragraphs, **extras)
    buffer = io.BytesIO()
    doc.save_to_stream(buffer, format="hwp")  # the suffix of ``path`` plays no part
    path.write_bytes(buffer.getvalue())
    return path


def make_sectioned(path: Path, sections: Sequence[Sequence[str]], format: str = "hwpx") -> Path:
    """A document with one section (구역) per entry of ``sections``; ``format`` is "hwpx" or "hwp"."""
    from hwpx import HwpxDocument

    doc = HwpxDocument.new()
    for index, paragraphs in enumerate(sections):
        if index:
            doc.add_section()
        for n, text in enumerate(paragraphs):
            if index == 0 and n == 0:
                doc.paragraphs[0].text = text
            else:
                doc.add_paragraph(text, section_index=index)
    buffer = io.BytesIO()
    doc.save_to_stream(buffer, format=format)
    path.write_bytes(buffer.getvalue())
    return path


HWP_PROTECTION_BITS = {"password": 1 << 1, "distribution": 1 << 2, "drm": 1 << 4}


def make_protected_hwp(path: Path, paragraphs: Sequence[Block], protection: str = "password") -> Path:
    """An HWP whose FileHeader says password/distribution/DRM protection.

    The body stays readable; a reader must trust the flag, since in a real
    protected file the body is ciphertext.
    """
    import olefile

    make_hwp(path, paragraphs)
    with olefile.OleFileIO(str(path), write_mode=True) as ole:
        header = bytearray(ole.openstream("FileHeader").read())
        header[36] |= HWP_PROTECTION_BITS[protection]
        ole.write_stream("FileHeader", bytes(header))
    return path


def make_truncated(path: Path, source: Path, keep: float = 0.5) -> Path:
    """Copy the first ``keep`` fraction of ``source`` to ``path``."""
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def make_zip_not_hwpx(path: Path) -> Path:
    """A valid zip archive that holds no HWPX parts."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("readme.txt", "첨부파일 목록")
        zf.writestr("data/table.csv", "구분,예산\n2026,1500\n")
    return path


def make_hwpx_without_sections(path: Path, source: Path) -> Path:
    """An HWPX package copied from ``source`` with the section parts left out."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if not info.filename.startswith("Contents/section"):
                dst.writestr(info, src.read(info))
    return path


def make_encrypted_hwpx(path: Path, source: Path) -> Path:
    """An HWPX as a password-protected save looks: encryption-data in the manifest,
    ciphertext in place of the section XML."""
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<odf:manifest xmlns:odf="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
        '<odf:file-entry odf:full-path="Contents/section0.xml" odf:media-type="application/xml">'
        '<odf:encryption-data odf:checksum-type="SHA1" odf:checksum="AAAA">'
        '<odf:algorithm odf:algorithm-name="http://www.w3.org/2001/04/xmlenc#aes256-cbc"/>'
        "</odf:encryption-data></odf:file-entry></odf:manifest>"
    )
    noise = random.Random(7).randbytes(2048)
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename == "META-INF/manifest.xml":
                dst.writestr(info, manifest)
            elif info.filename.startswith("Contents/section"):
                dst.writestr(info, noise)
            else:
                dst.writestr(info, src.read(info))
    return path


def make_corrupt_hwp_body(path: Path, paragraphs: Sequence[Block]) -> Path:
    """An HWP whose BodyText/Section0 stream is overwritten with noise of the same size."""
    import olefile

    make_hwp(path, paragraphs)
    with olefile.OleFileIO(str(path), write_mode=True) as ole:
        size = ole.get_size("BodyText/Section0")
        ole.write_stream("BodyText/Section0", random.Random(67).randbytes(size))
    return path


# --------------------------------------------------------------------------- generic


def make_cp949_text(path: Path, text: str) -> Path:
    """A text file in CP949, the legacy encoding Korean government files still use."""
    path.write_bytes(text.encode("cp949"))
    return path


def make_empty(path: Path) -> Path:
    """A 0-byte file (failed download)."""
    path.write_bytes(b"")
    return path


def make_random_bytes(path: Path, size: int = 4096, seed: int = 1035) -> Path:
    """Deterministic noise, e.g. named .hwp."""
    path.write_bytes(random.Random(seed).randbytes(size))
    return path
