"""Never lose a user's data: each case a user met in the data-safety report, reproduced and checked.

Processes are real (the command line, or forked children that are killed); indexes are built with the
fake embedder so the cases run in seconds.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.build import IndexUpdater
from rag.folder import SAVE_STEPS, IndexFolder
from rag.index import IndexProblem, NoticeIndex
from tests.conftest import HashEmbedder

NOTICE = "{agency} 보도자료\n{agency}는 {day}일 {topic} 계획을 발표했다. 총 {amount}억 원을 투입한다."


def write_notices(folder: Path, agency: str, n: int, prefix: str = "n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"{prefix}{i}.txt").write_text(
            NOTICE.format(agency=agency, day=i + 1, topic=f"{agency} 사업 {i}", amount=100 + i), encoding="utf-8")
    return folder


def run_cli(*args, env_extra=None, timeout=120):
    env = {**os.environ, "PRESSRAG_LLM": "none", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def snapshot_of(folder: Path) -> dict[str, float]:
    """Every file under ``folder`` with its modification time: what 'untouched' means."""
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*"))}


def one_line_error(proc) -> str:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


# -- an index folder is recognised before anything is written or removed -----------------------------

def test_ingest_into_a_folder_of_user_files_touches_nothing(tmp_path):
    mydocs = tmp_path / "mydocs"
    (mydocs / "sub").mkdir(parents=True)
    (mydocs / "notes.txt").write_text("내 메모", encoding="utf-8")
    (mydocs / "sub" / "keep.doc").write_bytes(b"\xd0\xcf\x11\xe0 my document")
    before = snapshot_of(mydocs)
    setA = write_notices(tmp_path / "setA", "소방청", 2)
    error = one_line_error(run_cli("ingest", "--index", str(mydocs), str(setA), "-q"))
    assert "is not a pressrag index" in error and str(mydocs) in error
    assert snapshot_of(mydocs) == before


def test_ask_with_a_mistyped_index_folder_touches_nothing(tmp_path):
    notices = write_notices(tmp_path / "notices", "소방청", 3)
    before = snapshot_of(notices)
    error = one_line_error(run_cli("ask", "--index", str(notices), "소방청 계획은?"))
    assert "is not a pressrag index" in error
    assert snapshot_of(notices) == before


def test_index_naming_a_regular_file_is_refused(tmp_path):
    target = tmp_path / "important.txt"
    target.write_text("do not touch", encoding="utf-8")
    setA = write_notices(tmp_path / "setA", "소방청", 1)
    for args in (("ingest", "--index", str(target), str(setA), "-q"), ("ask", "--index", str(target), "질문")):
        error = one_line_error(run_cli(*args))
        assert "is a file, not a pressrag index" in error
    assert target.read_text(encoding="utf-8") == "do not touch"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["important.txt", "setA"]  # no hidden renamed copy


def test_missing_index_elsewhere_is_an_error_not_a_demo_build(tmp_path):
    error = one_line_error(run_cli("ask", "--index", str(tmp_path / "nonexistent"), "질문"))
    assert "no index at" in error and "--demo" in error
    assert not (tmp_path / "nonexistent").exists()
    # An ingest killed before its first save leaves only the marker: still an error, never a rebuild.
    half = tmp_path / "half"
    IndexFolder(half).claim()
    error = one_line_error(run_cli("ask", "--index", str(half), "질문"))
    assert "no complete snapshot" in error
    assert sorted(p.name for p in half.iterdir()) == ["pressrag-index.json"]


def test_deleted_manifest_is_an_error_not_a_rebuild(tmp_path, monkeypatch):
    from rag.service import ensure_index

    folder = tmp_path / "data" / "pressrag" / "index"  # the default location, where demo builds are allowed
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    embedder = HashEmbedder()
    IndexUpdater(embedder, progress=False).run(folder, [write_notices(tmp_path / "mine", "소방청", 6)])
    manifest = IndexFolder(folder).current() / "manifest.json"
    manifest.unlink()
    before, embedded = snapshot_of(folder), embedder.passages_embedded
    with pytest.raises(IndexProblem, match="manifest.json is missing"):
        ensure_index(folder, embedder, progress=False)
    assert embedder.passages_embedded == embedded  # nothing was rebuilt
    assert snapshot_of(folder) == before
    error = one_line_error(run_cli("ask", "--index", str(folder), "질문"))
    assert "damaged" in error and "--rebuild" in error


def test_format_1_index_without_manifest_is_damaged_not_foreign(tmp_path):
    legacy = tmp_path / "old"
    legacy.mkdir()
    for name in ("notices.jsonl", "chunks.jsonl", "vectors.faiss"):
        (legacy / name).write_text("", encoding="utf-8")
    with pytest.raises(IndexProblem, match="manifest.json is missing"):
        NoticeIndex.load(legacy)


def test_format_1_index_is_read_and_converted_on_the_next_write(tmp_path):
    import faiss

    embedder = HashEmbedder()
    folder = tmp_path / "idx"
    updater = IndexUpdater(embedder, progress=False)
    updater.run(folder, [write_notices(tmp_path / "a", "소방청", 2)])
    # Lay the snapshot out as format 1 did: the four files at the top, no marker, no pointer.
    snap = IndexFolder(folder).current()
    for child in snap.iterdir():
        child.rename(folder / child.name)
    snap.rmdir()
    for name in ("CURRENT", "pressrag-index.json", "write.lock"):
        (folder / name).unlink()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["format"] = "pressrag-index/1"
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert len(NoticeIndex.load(folder).notices) == 2
    assert faiss is not None
    updater.run(folder, [write_notices(tmp_path / "b", "경찰청", 1)])
    index = NoticeIndex.load(folder)
    assert len(index.notices) == 3 and index.manifest.format == "pressrag-index/2"
    assert not (folder / "manifest.json").exists() and (folder / "CURRENT").exists()


# -- unique, stable notice ids ------------------------------------------------------------------------

def test_same_named_files_in_two_folders_are_two_notices(tmp_path):
    up1, up2 = tmp_path / "up1", tmp_path / "up2"
    up1.mkdir()
    up2.mkdir()
    (up1 / "보도자료.txt").write_text(NOTICE.format(agency="소방청", day=1, topic="훈련", amount=1284), encoding="utf-8")
    (up2 / "보도자료.txt").write_text(NOTICE.format(agency="경찰청", day=2, topic="단속", amount=9999), encoding="utf-8")
    updater = IndexUpdater(HashEmbedder(), progress=False)
    together = updater.run(tmp_path / "idx1", [up1, up2])
    assert together.notices_added == 2 and together.notices_total == 2
    # One at a time, as a user adding attachments does.
    updater.run(tmp_path / "idx2", [up1 / "보도자료.txt"])
    second = updater.run(tmp_path / "idx2", [up2 / "보도자료.txt"])
    assert second.notices_added == 1 and second.notices_total == 2
    for folder in (tmp_path / "idx1", tmp_path / "idx2"):
        index = NoticeIndex.load(folder)
        bodies = " ".join(n.body for n in index.notices.values())
        assert "1284억" in bodies and "9999억" in bodies
        assert {c.doc_id for c in index.chunks} == set(index.notices)  # no orphan chunks
    # Re-ingesting an unchanged file keeps its id; changing it replaces only its own notice.
    (up1 / "보도자료.txt").write_text(NOTICE.format(agency="소방청", day=1, topic="훈련", amount=4321), encoding="utf-8")
    updater.run(tmp_path / "idx2", [up1 / "보도자료.txt"])
    bodies = " ".join(n.body for n in NoticeIndex.load(tmp_path / "idx2").notices.values())
    assert "4321억" in bodies and "9999억" in bodies and "1284억" not in bodies


def test_a_record_id_used_by_another_file_is_reported_not_overwritten(tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text(json.dumps({"id": "rec-1", "title": "원본", "text": "소방청은 원본 계획을 발표했다."},
                                ensure_ascii=False) + "\n", encoding="utf-8")
    second.write_text(json.dumps({"id": "rec-1", "title": "다른 것", "text": "경찰청은 다른 계획을 발표했다."},
                                 ensure_ascii=False) + "\n", encoding="utf-8")
    updater = IndexUpdater(HashEmbedder(), progress=False)
    updater.run(tmp_path / "idx", [first])
    result = updater.run(tmp_path / "idx", [second])
    assert result.notices_added == 0
    assert any("rec-1 is already used by" in s.reason for s in result.skipped)
    assert NoticeIndex.load(tmp_path / "idx").notices["rec-1"].title == "원본"


def test_a_korea_kr_release_is_one_notice_wherever_it_comes_from(tmp_path):
    record = {"id": "koreakr-1", "title": "발표", "url": "https://www.korea.kr/briefing/pressReleaseView.do?newsId=1",
              "text": "소방청은 계획을 발표했다."}
    (tmp_path / "export.jsonl").write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    newer = {**record, "text": "소방청은 수정된 계획을 발표했다."}
    (tmp_path / "feed.jsonl").write_text(json.dumps(newer, ensure_ascii=False) + "\n", encoding="utf-8")
    updater = IndexUpdater(HashEmbedder(), progress=False)
    updater.run(tmp_path / "idx", [tmp_path / "export.jsonl"])
    updater.run(tmp_path / "idx", [tmp_path / "feed.jsonl"])
    index = NoticeIndex.load(tmp_path / "idx")
    assert list(index.notices) == ["koreakr-1"] and "수정된" in index.notices["koreakr-1"].body
    assert {c.doc_id for c in index.chunks} == {"koreakr-1"} and len(index.chunks) == 1


# -- one writer at a time -----------------------------------------------------------------------------

class SlowEmbedder(HashEmbedder):
    """Embeds slowly, so two ingests overlap for certain."""

    def embed_passages(self, texts):
        time.sleep(0.4)
        return super().embed_passages(texts)


def _ingest_child(folder: str, corpus: str) -> None:
    IndexUpdater(SlowEmbedder(), progress=False).run(Path(folder), [Path(corpus)])


def test_two_concurrent_ingests_both_land(tmp_path):
    ctx = multiprocessing.get_context("fork")
    for attempt in range(2):
        folder = tmp_path / f"idx{attempt}"
        IndexUpdater(HashEmbedder(), progress=False).run(folder, [write_notices(tmp_path / "base", "행정안전부", 3)])
        a = write_notices(tmp_path / f"a{attempt}", "소방청", 2, prefix="a")
        b = write_notices(tmp_path / f"b{attempt}", "경찰청", 2, prefix="b")
        procs = [ctx.Process(target=_ingest_child, args=(str(folder), str(c))) for c in (a, b)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
            assert p.exitcode == 0
        bodies = [n.body for n in NoticeIndex.load(folder).notices.values()]
        assert len(bodies) == 7
        assert sum("소방청" in b for b in bodies) == 2 and sum("경찰청" in b for b in bodies) == 2


def test_a_reader_keeps_the_last_complete_snapshot_while_a_writer_works(tmp_path):
    folder = tmp_path / "idx"
    IndexUpdater(HashEmbedder(), progress=False).run(folder, [write_notices(tmp_path / "a", "소방청", 2)])
    with IndexFolder(folder).write_lock():  # a writer is busy
        assert len(NoticeIndex.load(folder).notices) == 2


def test_a_second_writer_gives_up_with_a_message(tmp_path):
    folder = tmp_path / "idx"
    IndexUpdater(HashEmbedder(), progress=False).run(folder, [write_notices(tmp_path / "a", "소방청", 1)])
    ctx = multiprocessing.get_context("fork")
    holding = ctx.Event()

    def hold():
        with IndexFolder(folder).write_lock():
            holding.set()
            time.sleep(60)  # killed by the test once it has its answer; long so a slow machine still finds it held

    p = ctx.Process(target=hold)
    p.start()
    try:
        assert holding.wait(10)
        with pytest.raises(IndexProblem, match="being written by another process"):
            IndexUpdater(HashEmbedder(), progress=False, lock_timeout=0.5).run(
                folder, [write_notices(tmp_path / "b", "경찰청", 1)])
    finally:
        p.kill()
        p.join()


# -- crash-safe saves -----------------------------------------------------------------------------------

def _crash_child(folder: str, corpora: list[str], step: str) -> None:
    os.environ["PRESSRAG_CRASH_AT"] = step
    IndexUpdater(HashEmbedder(), progress=False).run(Path(folder), [Path(c) for c in corpora])


@pytest.mark.parametrize("step", SAVE_STEPS)
def test_kill_at_every_step_of_save_leaves_old_or_new_index(tmp_path, step):
    folder = tmp_path / "idx"
    old = write_notices(tmp_path / "old", "소방청", 2)
    new = write_notices(tmp_path / "new", "경찰청", 2)
    IndexUpdater(HashEmbedder(), progress=False).run(folder, [old])
    child = multiprocessing.get_context("fork").Process(target=_crash_child, args=(str(folder), [str(old), str(new)], step))
    child.start()
    child.join(60)
    assert child.exitcode == 137  # it really died at that step
    count = len(NoticeIndex.load(folder).notices)
    assert count == (4 if step in ("pointer-switched", "cleaned") else 2)
    # The next write completes the work and clears what the killed one left.
    result = IndexUpdater(HashEmbedder(), progress=False).run(folder, [old, new])
    assert result.notices_total == 4
    snaps = [p.name for p in folder.iterdir() if p.name.startswith("snap-")]
    assert snaps == [IndexFolder(folder).current().name]
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_kill_during_a_first_save_leaves_an_error_then_the_next_ingest_works(tmp_path):
    folder = tmp_path / "idx"
    corpus = write_notices(tmp_path / "c", "소방청", 2)
    child = multiprocessing.get_context("fork").Process(target=_crash_child, args=(str(folder), [str(corpus)], "snapshot-written"))
    child.start()
    child.join(60)
    assert child.exitcode == 137
    with pytest.raises(IndexProblem, match="no complete snapshot"):
        NoticeIndex.load(folder)
    assert IndexUpdater(HashEmbedder(), progress=False).run(folder, [corpus]).notices_total == 2


def test_format_1_temporary_folders_beside_the_index_are_cleared(tmp_path):
    folder = tmp_path / "idx"
    corpus = write_notices(tmp_path / "c", "소방청", 1)
    IndexUpdater(HashEmbedder(), progress=False).run(folder, [corpus])
    stale = tmp_path / ".idx.tmp-abc123"
    stale.mkdir()
    (stale / "notices.jsonl").write_text("", encoding="utf-8")
    users = tmp_path / ".idx.tmp-users"
    users.mkdir()
    (users / "diary.txt").write_text("mine", encoding="utf-8")
    (corpus / "n9.txt").write_text(NOTICE.format(agency="경찰청", day=9, topic="t", amount=1), encoding="utf-8")
    IndexUpdater(HashEmbedder(), progress=False).run(folder, [corpus])
    assert not stale.exists()
    assert (users / "diary.txt").exists()  # not what a save writes: left alone


# -- honest exit codes and messages ---------------------------------------------------------------------

def test_an_ingest_that_reads_nothing_fails_and_creates_no_index(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    proc = run_cli("ingest", str(folder), "--index", str(tmp_path / "idx"), "-q")
    assert proc.returncode == 1 and "nothing was indexed" in proc.stderr
    assert not (tmp_path / "idx").exists()
    empty = tmp_path / "nothing"
    empty.mkdir()
    proc = run_cli("ingest", str(empty), "--index", str(tmp_path / "idx"), "-q")
    assert proc.returncode == 1 and "no files found" in proc.stderr
    assert not (tmp_path / "idx").exists()


def test_invalid_utf8_question_is_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "rag.cli", "ask", "--index", str(tmp_path / "x"), b"ab\xff\xfe"],
                          capture_output=True, text=True, timeout=120)
    error = one_line_error(proc)
    assert "not valid UTF-8" in error and "surrogates" not in error


def test_bad_flag_values_name_what_the_user_typed(tmp_path):
    error = one_line_error(run_cli("ask", "--index", str(tmp_path / "x"), "--k", "0", "질문"))
    assert "--k" in error and "PRESSRAG_K" not in error and "at least 1" in error
    error = one_line_error(run_cli("ask", "--index", str(tmp_path / "x"), "질문", env_extra={"PRESSRAG_K": "0"}))
    assert "PRESSRAG_K" in error
    error = one_line_error(run_cli("ask", "--index", str(tmp_path / "x"), "질문",
                                   env_extra={"PRESSRAG_ANSWER_CHARS": "20"}))
    assert "PRESSRAG_ANSWER_CHARS" in error and "at least 50" in error
    error = one_line_error(run_cli("ask", "--index", str(tmp_path / "x"), "--answer-chars", "20", "질문"))
    assert "--answer-chars" in error and "at least 50" in error


def test_fault_injection_script_finds_no_loss():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "eval"))
    from fault_injection import run

    stats = run(kills=6, n_batches=2, seed=1, records=24)
    assert stats["kills"] == 6 and stats["batches"] == 2
    assert stats["index unloadable"] == 0 and stats["notices lost"] == 0 and stats["partial batch visible"] == 0
    assert stats["next ingest completed"] == 2 and stats["stale files after next ingest"] == 0
