"""Attachment readers on files built at test time (tests/fixtures.py)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ingest import attachments
from ingest.attachments import (
    decode_para_text,
    garbled_reason,
    needs_pdf_fallback,
    read_hwp,
    read_hwpx,
    read_pdf,
)
from ingest.errors import UnreadableFile
from tests.fixtures import (
    make_cid_garbled_pdf,
    make_corrupt_hwp_body,
    make_cp949_text,
    make_empty,
    make_encrypted_hwpx,
    make_encrypted_pdf,
    make_html_as_pdf,
    make_hwp,
    make_hwpx,
    make_hwpx_without_sections,
    make_overprinted_pdf,
    make_pdf,
    make_protected_hwp,
    make_pua_garbled_pdf,
    make_random_bytes,
    make_scanned_pdf,
    make_sectioned,
    make_truncated,
    make_truncated_pdf,
    make_x01_space_pdf,
    make_zip_not_hwpx,
)

Reader = Callable[[Path], str]
Maker = Callable[..., Path]

TITLE = "행정안전부는 2026년 6월 1일 「전자정부 2020 기본계획」을 발표했다."
CENTRES = "전 세계 5대 권역별로 우리나라 전자정부 수출의 거점이 될 「전자정부 협력센터」가 구축된다."
TABLE = [
    ["구분", "2025년", "2026년"],
    ["전자정부 예산", "1,200억원", "1,500억원"],
    ["협력센터", "3곳", "5곳"],
]
AI = "아울러 인공지능을 활용해 재난·안전·치안 등 사회현안에 대한 대안 및 정책을 개발하는 방안이 추진된다."
CONTACT = "담당 부서: 전자정부정책과 (044-205-2701)"
BLOCKS = [TITLE, CENTRES, TABLE, AI, CONTACT]
EXPECTED_LINES = [
    TITLE,
    CENTRES,
    "[표] 구분 | 2025년 | 2026년",
    "구분: 전자정부 예산; 2025년: 1,200억원; 2026년: 1,500억원",
    "구분: 협력센터; 2025년: 3곳; 2026년: 5곳",
    "[/표]",
    AI,
    CONTACT,
]


def squash_ws(text: str) -> str:
    return " ".join(text.split())


def expected_text() -> str:
    return squash_ws("\n".join(EXPECTED_LINES))


# --------------------------------------------------------------------------- good files


def test_pdf_text_comes_back_in_order_with_table_rows(tmp_path: Path) -> None:
    text = read_pdf(make_pdf(tmp_path / "release.pdf", BLOCKS))
    assert squash_ws(text) == expected_text()
    # table rows stay rows (PDF lines may wrap long paragraphs, rows do not)
    lines = text.split("\n")
    for row in EXPECTED_LINES[2:6]:
        assert row in lines


def test_hwpx_paragraphs_and_table_exact(tmp_path: Path) -> None:
    assert read_hwpx(make_hwpx(tmp_path / "release.hwpx", BLOCKS)).split("\n") == EXPECTED_LINES


def test_hwp_paragraphs_and_table_exact(tmp_path: Path) -> None:
    assert read_hwp(make_hwp(tmp_path / "release.hwp", BLOCKS)).split("\n") == EXPECTED_LINES


@pytest.mark.parametrize(
    ("maker", "reader", "name"), [(make_hwpx, read_hwpx, "a.hwpx"), (make_hwp, read_hwp, "a.hwp")]
)
def test_hwp_family_skips_header_footer_keeps_footnote_and_text_box(
    tmp_path: Path, maker: Maker, reader: Reader, name: str
) -> None:
    note = "2016년 「전자정부법」 제5조에 따른 계획"
    box = "※ 자세한 내용은 붙임 참조"
    path = maker(tmp_path / name, [TITLE, AI], header="보도자료 머리말", footnote=note, text_box=box)
    assert reader(path).split("\n") == [TITLE, note, box, AI]


@pytest.mark.parametrize(("fmt", "reader"), [("hwpx", read_hwpx), ("hwp", read_hwp)])
def test_sections_read_in_numeric_order(tmp_path: Path, fmt: str, reader: Reader) -> None:
    # 12 sections: Section10 and Section11 sort before Section2 as strings
    sections = [[f"제{i}구역 첫 문단", f"제{i}구역 둘째 문단"] for i in range(12)]
    path = make_sectioned(tmp_path / f"many.{fmt}", sections, fmt)
    assert reader(path).split("\n") == [line for section in sections for line in section]


# --------------------------------------------------------------------------- tables

# A press-release schedule: three columns, the first row its header.
SCHEDULE = [
    ["일시", "장소", "내용"],
    ["6.16.(화)", "경상권(부산)", "초선의원 연수"],
    ["7.13.(월)", "강원권(춘천)", "최종 마무리"],
]
SCHEDULE_ROWS = [
    "[표] 일시 | 장소 | 내용",
    "일시: 6.16.(화); 장소: 경상권(부산); 내용: 초선의원 연수",
    "일시: 7.13.(월); 장소: 강원권(춘천); 내용: 최종 마무리",
    "[/표]",
]


@pytest.mark.parametrize(("maker", "reader", "name"), [(make_hwpx, read_hwpx, "t.hwpx"), (make_hwp, read_hwp, "t.hwp")])
def test_table_rows_carry_their_header(tmp_path: Path, maker: Maker, reader: Reader, name: str) -> None:
    lines = reader(maker(tmp_path / name, [TITLE, SCHEDULE, AI])).split("\n")
    assert lines == [TITLE, *SCHEDULE_ROWS, AI]


@pytest.mark.parametrize(("maker", "reader", "name"), [(make_hwpx, read_hwpx, "t.hwpx"), (make_hwp, read_hwp, "t.hwp")])
def test_a_quoted_table_row_names_its_figures(tmp_path: Path, maker: Maker, reader: Reader, name: str) -> None:
    """Through the reader, normalisation and the chunker: the sentence holding a row holds its header."""
    from ingest.chunk import Chunker, ChunkerSettings
    from ingest.readers import read_file

    notice = read_file(maker(tmp_path / name, BLOCKS))[0]
    chunk = Chunker(ChunkerSettings(max_chars=200)).run(notice)
    sentences = [notice.body[a:b] for c in chunk for a, b in c.sentences]
    assert "구분: 협력센터; 2025년: 3곳; 2026년: 5곳" in sentences
    assert any(c.text.count("[표]") for c in chunk)


def test_two_column_form_is_labels_and_values(tmp_path: Path) -> None:
    # "일시 | …" has no header row: each row is a label and its value
    form = [["일시", "2026. 6. 1.(월) 14:00"], ["장소", "정부세종청사 15동 대회의실"]]
    lines = read_hwpx(make_hwpx(tmp_path / "form.hwpx", [TITLE, form])).split("\n")
    assert lines == [TITLE, "[표]", "일시: 2026. 6. 1.(월) 14:00", "장소: 정부세종청사 15동 대회의실", "[/표]"]


def test_two_column_table_with_a_header_word_repeats_it(tmp_path: Path) -> None:
    table = [["지역", "인원"], ["서울", "30명"], ["부산", "12명"]]
    lines = read_hwpx(make_hwpx(tmp_path / "t.hwpx", [table])).split("\n")
    assert lines == ["[표] 지역 | 인원", "지역: 서울; 인원: 30명", "지역: 부산; 인원: 12명", "[/표]"]


def test_rows_that_do_not_fit_the_header_are_not_paired() -> None:
    # merged cells leave a row short: pairing it with the header would misname its figures
    rows = [[["구분"], ["2025년"], ["2026년"]], [["합계"], ["2,700억원"]], [["협력센터"], ["3곳"], ["5곳"]]]
    assert attachments._table_lines(rows) == [
        "[표] 구분 | 2025년 | 2026년",
        "합계 | 2,700억원",
        "구분: 협력센터; 2025년: 3곳; 2026년: 5곳",
        "[/표]",
    ]


def make_latin_table_pdf(path: Path, rows: list[list[str]]) -> Path:
    """A PDF with a ruled table in a core font (no Korean font needed, so it runs everywhere)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 7, "Budget of the e-Government plan", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    with pdf.table(first_row_as_headings=False) as table:
        for row in rows:
            out = table.row()
            for cell in row:
                out.cell(cell)
    path.write_bytes(bytes(pdf.output()))
    return path


def test_pdf_table_rows_carry_their_header(tmp_path: Path) -> None:
    rows = [["Item", "2025", "2026"], ["Budget", "120", "150"], ["Centres", "3", "5"]]
    lines = read_pdf(make_latin_table_pdf(tmp_path / "t.pdf", rows)).split("\n")
    assert lines == [
        "Budget of the e-Government plan",
        "[표] Item | 2025 | 2026",
        "Item: Budget; 2025: 120; 2026: 150",
        "Item: Centres; 2025: 3; 2026: 5",
        "[/표]",
    ]


def test_one_column_table_keeps_its_paragraphs(tmp_path: Path) -> None:
    # a boxed summary is a 1×1 or n×1 table; its lines must not be glued together
    box = [["□ 전자정부 협력센터 구축"], ["□ 인공지능 기반 정책 개발"]]
    path = make_hwpx(tmp_path / "box.hwpx", [TITLE, box])
    assert read_hwpx(path).split("\n") == [TITLE, "□ 전자정부 협력센터 구축", "□ 인공지능 기반 정책 개발"]


def test_mislabelled_hwp_family_files_are_read_as_what_they_are(tmp_path: Path) -> None:
    hwpx_named_hwp = make_hwpx(tmp_path / "really_hwpx.hwp", BLOCKS)
    hwp_named_hwpx = make_hwp(tmp_path / "really_hwp.hwpx", BLOCKS)
    assert read_hwp(hwpx_named_hwp).split("\n") == EXPECTED_LINES
    assert read_hwpx(hwp_named_hwpx).split("\n") == EXPECTED_LINES


def test_owner_password_only_pdf_is_readable(tmp_path: Path) -> None:
    # government PDFs often carry an owner password (no copying/printing) and open without one
    path = make_encrypted_pdf(tmp_path / "locked.pdf", [TITLE, AI], user_password=None)
    assert squash_ws(read_pdf(path)) == squash_ws(f"{TITLE}\n{AI}")


def test_pdf_with_x01_spaces_reads_with_spaces(tmp_path: Path) -> None:
    path = make_x01_space_pdf(tmp_path / "chromium.pdf", [TITLE, AI])
    text = read_pdf(path)
    assert "\x01" not in text
    assert squash_ws(text) == squash_ws(f"{TITLE}\n{AI}")


def test_pdf_fake_bold_is_not_doubled(tmp_path: Path) -> None:
    path = make_overprinted_pdf(tmp_path / "bold.pdf", ["행정안전부 보도자료", "2026년 6월 1일 배포"])
    assert read_pdf(path) == "행정안전부 보도자료\n2026년 6월 1일 배포"


def test_reader_accepts_str_paths(tmp_path: Path) -> None:
    path = make_hwpx(tmp_path / "a.hwpx", [TITLE])
    assert read_hwpx(str(path)) == TITLE  # type: ignore[arg-type]


# --------------------------------------------------------------------------- broken files


def assert_unreadable(reader: Reader, path: Path, *words: str) -> str:
    with pytest.raises(UnreadableFile) as info:
        reader(path)
    reason = str(info.value)
    assert "\n" not in reason and len(reason) <= 200
    for word in words:
        assert word.lower() in reason.lower(), reason
    return reason


@pytest.mark.parametrize(
    ("reader", "name"), [(read_pdf, "a.pdf"), (read_hwpx, "a.hwpx"), (read_hwp, "a.hwp")]
)
def test_empty_file(tmp_path: Path, reader: Reader, name: str) -> None:
    assert_unreadable(reader, make_empty(tmp_path / name), "empty", "0 bytes")


@pytest.mark.parametrize("reader", [read_pdf, read_hwpx, read_hwp])
def test_missing_file(tmp_path: Path, reader: Reader) -> None:
    assert_unreadable(reader, tmp_path / "nowhere.bin", "not found")


@pytest.mark.parametrize(
    ("reader", "name", "words"),
    [
        (read_pdf, "noise.pdf", ("not a PDF",)),
        (read_hwpx, "noise.hwpx", ("not an HWPX",)),
        (read_hwp, "noise.hwp", ("not an HWP",)),
    ],
)
def test_random_bytes(tmp_path: Path, reader: Reader, name: str, words: tuple[str, ...]) -> None:
    assert_unreadable(reader, make_random_bytes(tmp_path / name), *words)


def test_html_saved_as_pdf(tmp_path: Path) -> None:
    assert_unreadable(read_pdf, make_html_as_pdf(tmp_path / "error.pdf"), "not a PDF")


def test_truncated_pdf(tmp_path: Path) -> None:
    assert_unreadable(read_pdf, make_truncated_pdf(tmp_path / "cut.pdf", BLOCKS), "truncated")


def test_scanned_pdf(tmp_path: Path) -> None:
    reason = assert_unreadable(read_pdf, make_scanned_pdf(tmp_path / "scan.pdf"))
    assert reason == "no text layer (scanned?)"


def test_password_protected_pdf(tmp_path: Path) -> None:
    path = make_encrypted_pdf(tmp_path / "secret.pdf", [TITLE], user_password="secret")
    assert_unreadable(read_pdf, path, "encrypted", "password")


def test_cid_garbled_pdf(tmp_path: Path) -> None:
    assert_unreadable(read_pdf, make_cid_garbled_pdf(tmp_path / "cid.pdf", [TITLE, AI]), "garbled", "cid")


def test_private_use_garbled_pdf(tmp_path: Path) -> None:
    assert_unreadable(
        read_pdf, make_pua_garbled_pdf(tmp_path / "pua.pdf", [TITLE, AI]), "garbled", "private-use"
    )


def test_zip_that_is_not_hwpx(tmp_path: Path) -> None:
    assert_unreadable(read_hwpx, make_zip_not_hwpx(tmp_path / "files.hwpx"), "not HWPX")


def test_hwpx_without_sections(tmp_path: Path) -> None:
    source = make_hwpx(tmp_path / "full.hwpx", BLOCKS)
    assert_unreadable(read_hwpx, make_hwpx_without_sections(tmp_path / "hollow.hwpx", source), "not HWPX")


def test_truncated_hwpx(tmp_path: Path) -> None:
    source = make_hwpx(tmp_path / "full.hwpx", BLOCKS)
    assert_unreadable(read_hwpx, make_truncated(tmp_path / "cut.hwpx", source), "corrupt")


@pytest.mark.parametrize("keep", [0.3, 0.5, 0.8, 0.95])
def test_truncated_hwp(tmp_path: Path, keep: float) -> None:
    source = make_hwp(tmp_path / "full.hwp", BLOCKS)
    reason = assert_unreadable(read_hwp, make_truncated(tmp_path / "cut.hwp", source, keep))
    assert "truncated" in reason or "corrupt" in reason, reason


@pytest.mark.parametrize(
    ("protection", "word"), [("password", "password"), ("distribution", "distribution"), ("drm", "DRM")]
)
def test_protected_hwp_is_refused(tmp_path: Path, protection: str, word: str) -> None:
    path = make_protected_hwp(tmp_path / "locked.hwp", BLOCKS, protection)
    assert_unreadable(read_hwp, path, word)


def test_hwp_that_is_only_ole(tmp_path: Path) -> None:
    # an OLE file without the HWP FileHeader, like a .doc renamed to .hwp
    import olefile

    source = make_hwp(tmp_path / "full.hwp", BLOCKS)
    data = bytearray(source.read_bytes())
    at = data.find(b"HWP Document File")
    data[at : at + 3] = b"XYZ"
    (tmp_path / "other.hwp").write_bytes(bytes(data))
    assert olefile.isOleFile(str(tmp_path / "other.hwp"))
    assert_unreadable(read_hwp, tmp_path / "other.hwp", "not HWP")


def test_encrypted_hwpx(tmp_path: Path) -> None:
    source = make_hwpx(tmp_path / "full.hwpx", BLOCKS)
    assert_unreadable(read_hwpx, make_encrypted_hwpx(tmp_path / "locked.hwpx", source), "encrypted")


def test_hwp_with_corrupt_body(tmp_path: Path) -> None:
    reason = assert_unreadable(read_hwp, make_corrupt_hwp_body(tmp_path / "bad.hwp", BLOCKS))
    assert "corrupt" in reason or "truncated" in reason, reason


def test_hwpx_zip_bomb_guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_hwpx(tmp_path / "a.hwpx", BLOCKS)
    monkeypatch.setattr(attachments, "MAX_EXPANDED_BYTES", 1000)  # section0.xml is larger
    assert_unreadable(read_hwpx, path, "zip bomb")


def test_hwp_deflate_bomb_guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_hwp(tmp_path / "a.hwp", BLOCKS)
    monkeypatch.setattr(attachments, "MAX_EXPANDED_BYTES", 200)  # the body inflates past this
    assert_unreadable(read_hwp, path, "200 bytes")


# --------------------------------------------------------------------------- decision functions


def test_fallback_decision() -> None:
    assert needs_pdf_fallback("행정안전부는\x012026년\x016월\x011일")
    assert needs_pdf_fallback("행정안전부는 \ufffd\ufffd 발표했다")
    assert needs_pdf_fallback("(cid:53)(cid:51) 행정")
    assert not needs_pdf_fallback(TITLE + "\n" + AI + "\n구분 | 2025년")
    # one private-use bullet (Hancom fonts put some there) is normal, not a reason to re-read
    assert not needs_pdf_fallback("\uf0a7 " + AI)
    assert needs_pdf_fallback("\ue001\ue002\ue003 " + "\ue004" * 10 + AI)


def test_pdfium_text_used_when_pdfplumber_gives_controls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_x01_space_pdf(tmp_path / "chromium.pdf", [TITLE])
    monkeypatch.setattr(attachments, "_pdf_text_pdfium", lambda _path: "pdfium: " + TITLE)
    assert read_pdf(path) == "pdfium: " + TITLE


def test_pdfium_garbage_does_not_replace_pdfplumber(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_x01_space_pdf(tmp_path / "chromium.pdf", [TITLE])
    monkeypatch.setattr(attachments, "_pdf_text_pdfium", lambda _path: "\ue001\ue002 \ue003")
    assert read_pdf(path) == TITLE


def test_pdfium_rescues_a_file_pdfminer_cannot_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_pdf(tmp_path / "odd.pdf", [TITLE])

    def crash(_path: Path) -> tuple[str, bool]:
        raise KeyError("broken xref")

    monkeypatch.setattr(attachments, "_pdf_text_plumber", crash)
    assert read_pdf(path) == TITLE
    monkeypatch.setattr(attachments, "_pdf_text_pdfium", lambda _path: crash(_path)[0])
    assert_unreadable(read_pdf, path, "corrupt PDF", "KeyError")


def test_garbled_reason() -> None:
    assert garbled_reason(TITLE) is None
    assert garbled_reason("㈜한국정보화진흥원 ① 예산 1,500억원 ㎡당 ※ 붙임 참조 □ ○ ◦ 全國 行政") is None
    assert garbled_reason("Government of Korea announces e-Government 2020 plan.") is None
    assert garbled_reason("\x01".join(TITLE.split())) is None  # \x01-for-space is fixable, not garbage
    assert "cid" in garbled_reason("(cid:53)(cid:51)(cid:53)(cid:54)(cid:15434) (cid:4738)")
    assert "private-use" in garbled_reason("\ue001\ue002\ue003 \ue004\ue005")
    # CP949 bytes read as Latin-1: "행정안전부" → mojibake
    mojibake = TITLE.encode("cp949").decode("latin-1")
    assert "implausible" in garbled_reason(mojibake)
    assert "Hanja" in garbled_reason("丁七万丈三上下不与丐丑专且丕世丘丙业丛东丝丞")
    assert "control" in garbled_reason("\x01\x04\x05\x06 \x07\x08\x07\x0b \x0c\x0e")


def test_decode_para_text_skips_inline_controls() -> None:
    # 'tbl ' extended control (8 WCHARs), text, a tab (8 WCHARs), a line break, a paragraph end
    tbl = "\x0b" + " lbt" + "\x00\x00" + "\x0b"
    tab = "\x09" + "\x00" * 6 + "\x09"
    raw = (tbl + "예산" + tab + "1,500억원\n끝\r").encode("utf-16-le")
    assert decode_para_text(raw) == "예산\t1,500억원\n끝"
    assert decode_para_text("𝐀한".encode("utf-16-le")) == "𝐀한"  # surrogate pair survives


# --------------------------------------------------------------------------- module hygiene and makers


def test_import_is_light() -> None:
    code = (
        "import sys, ingest.attachments; "
        "heavy = {'pdfplumber', 'pypdfium2', 'olefile', 'hwpx', 'pdfminer'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[1],
    )
    assert out.stdout.strip() == "[]"


def test_cp949_maker(tmp_path: Path) -> None:
    path = make_cp949_text(tmp_path / "notice.txt", TITLE)
    data = path.read_bytes()
    assert data.decode("cp949") == TITLE
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
