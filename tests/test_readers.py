import json

import pytest

from ingest.readers import read_file, read_paths
from tests.conftest import SEED_ID


def test_bidpro_page_fields(corpus_notices):
    seed = next(n for n in corpus_notices if n.doc_id == SEED_ID)
    assert seed.source_type == "bidpro"
    assert seed.title == "2020년, 국민을 즐겁게 하는 전자정부"
    assert seed.agency == "행정안전부"  # 기관 is empty: the breadcrumb's last element
    assert seed.published == "2016-04-01"
    assert seed.breadcrumb == ("입찰자료", "기관별 입찰 공지", "국가기관(보도자료)", "행정안전부")
    assert len(seed.attachments) == 2 and seed.attachments[0].endswith(".hwp") and seed.attachments[1].endswith(".pdf")
    assert seed.contacts[0].department == "전자정부정책과"
    assert seed.contacts[0].name == "김성일" and seed.contacts[0].phone == "02-2100-3908"
    # the site header (customer-service phone/fax/hours) is not part of the notice
    assert "031 628 7891" not in seed.body and "비드프로" not in seed.body
    assert seed.body.startswith("전 세계 5대 권역 별로")
    assert "다섯째" in seed.body


def test_korea_kr_records(corpus_notices):
    records = [n for n in corpus_notices if n.source_type == "korea.kr"]
    assert len(records) == 153
    first = next(n for n in records if n.doc_id == "koreakr-156761701")
    assert first.agency == "소방청"
    assert first.published == "2026-05-14"
    assert first.url.startswith("https://www.korea.kr/")
    assert "소방청, 인도네시아" in first.body and "( LOI )" not in first.body
    assert ("백승두", "044-205-7010") in {(c.name, c.phone) for c in first.contacts}
    with_agency = [n for n in records if n.agency]
    assert len(with_agency) >= 145


def test_bad_jsonl_lines_are_reported_with_line_numbers(tmp_path):
    good = json.dumps({"id": "x-1", "title": "제목", "published": "2026-06-01", "url": "", "text": "보건복지부는 1일 발표했다."},
                      ensure_ascii=False)
    path = tmp_path / "feed.jsonl"
    path.write_text(good + "\n{not json\n" + json.dumps({"id": "x-2"}) + "\n", encoding="utf-8")
    report = read_paths([path])
    assert [n.doc_id for n in report.notices] == ["x-1"]
    reasons = {s.path: s.reason for s in report.skipped}
    assert f"{path}:2" in reasons and f"{path}:3" in reasons


def test_cp949_text_file(tmp_path):
    path = tmp_path / "notice.txt"
    path.write_bytes("행정안전부 보도자료\n행정안전부(장관 홍길동)는 1일 새 계획을 발표했다.".encode("cp949"))
    [notice] = read_file(path)
    assert notice.title == "행정안전부 보도자료"
    assert notice.agency == "행정안전부"
    assert "새 계획을 발표했다." in notice.body


@pytest.mark.parametrize("name, content, reason", [
    ("empty.txt", b"", "empty"),
    ("junk.txt", bytes(range(256)) * 8, "binary"),
    ("junk.jsonl", b"\x00\x01garbage", "binary"),
    ("photo.png", b"\x89PNG\r\n", "unsupported file type"),
])
def test_bad_files_are_skipped_with_a_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    report = read_paths([path])
    assert not report.notices
    assert len(report.skipped) == 1 and reason in report.skipped[0].reason
    assert report.skipped[0].path == str(path)


def test_one_bad_file_does_not_stop_the_run(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"")
    (tmp_path / "b.txt").write_text("소방청 보도자료\n소방청은 훈련을 실시했다.", encoding="utf-8")
    report = read_paths([tmp_path])
    assert [n.doc_id for n in report.notices] == ["b.txt"]
    assert [s.path for s in report.skipped] == [str(tmp_path / "a.txt")]


def test_folder_with_nothing_readable(tmp_path):
    (tmp_path / "x.bin").write_bytes(b"\x00" * 10)
    report = read_paths([tmp_path])
    assert report.notices == [] and report.files_read == 0 and len(report.skipped) == 1


def test_a_body_pasted_twice_is_kept_once_and_reported_in_the_ingest_summary(corpus_notices, tmp_path):
    import json

    from rag.build import IndexUpdater
    from rag.service import describe_ingest
    from tests.conftest import DATA, HashEmbedder

    doubled = next(n for n in corpus_notices if n.doc_id == "koreakr-156766793")
    assert doubled.notes and "kept once" in doubled.notes[0]
    assert not [n for n in corpus_notices if n.notes and n.doc_id != "koreakr-156766793"]
    line = next(x for x in (DATA / "korea_kr_press_releases.jsonl").read_text(encoding="utf-8").splitlines()
                if json.loads(x)["id"] == "koreakr-156766793")
    (tmp_path / "one.jsonl").write_text(line + "\n", encoding="utf-8")
    result = IndexUpdater(HashEmbedder(), progress=False).run(tmp_path / "idx", [tmp_path / "one.jsonl"])
    assert "note koreakr-156766793: 1,757 characters repeated word for word were kept once" in describe_ingest(result)
