"""`pressrag sync` against a local HTTP server serving RSS 2.0 built from the demo corpus (no network).

The feeds come from tests/feed_fixtures.py: korea.kr-style RSS made from data/corpus records.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
from pathlib import Path

import pytest

from ingest.feeds import AttachmentLink, FeedError, FeedFetcher, html_to_text, parse_feed, published_date
from ingest.normalize import normalize_text
from ingest.readers import notice_from_record
from rag.index import NoticeIndex
from rag.sync import FeedSync, last_synced, parse_every, read_state, sync_dir_for
from tests.conftest import HashEmbedder
from tests.feed_fixtures import FeedServer, Route, changed, load_records, news_link, rss

RECORDS = load_records()
TABLE_SAMPLE = """<div class="view_cont"><p>행정안전부는 2026년 예산을 다음과 같이 편성했다.</p>
<script type="text/javascript">var tracker = "절대 색인되면 안 됨"; document.write(tracker);</script>
<style>.view_cont td { border: 1px solid #ccc }</style>
<table border="1"><thead><tr><th>구분</th><th>2025년</th><th>2026년</th></tr></thead>
<tbody><tr><td>디지털정부</td><td>3,000억 원</td><td>3,500억 원</td></tr>
<tr><td>재난안전</td><td>1,200억 원</td><td>1,450억 원</td></tr></tbody></table>
<p>문의&nbsp;: 디지털정부국 &lt;044-205-2700&gt;</p><!-- 주석도 빠진다 --></div>"""


def passages_of(index, doc_ids: set[str]) -> int:
    """What ingesting ``doc_ids`` embeds: each chunk, each distinct sentence and each notice's title (the
    answerer's sentence vectors are the sentence alone, and the sentence plus its title's vector)."""
    chunks = [c for c in index.chunks if c.doc_id in doc_ids]
    titled = {c.doc_id for c in chunks if c.title}
    return len(chunks) + len({(c.doc_id, span) for c in chunks for span in c.sentences}) + len(titled)


@pytest.fixture

def server():
    srv = FeedServer()
    yield srv
    srv.close()


def make_sync(embedder, feeds, **kwargs) -> FeedSync:
    options = {"timeout": 2.0, "retries": 1, "backoff": 0.01, **kwargs}
    return FeedSync(embedder, feeds, **options)


def disk_state(folder: Path, skip: tuple[str, ...] = ("state.json", "write.lock")) -> dict[str, tuple[int, str]]:
    """Every file under ``folder`` with its mtime and SHA-256 (to prove a run changed nothing)."""
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name not in skip}


# --- text, dates, parsing ----------------------------------------------------------------------------


def test_feed_body_agrees_with_the_demo_corpus():
    """The whole demo corpus through RSS, feedparser and html_to_text reads as the shipped JSONL does."""
    feed = parse_feed(rss(RECORDS), "https://www.korea.kr/rss/pressrelease.xml")
    assert not feed.problems and len(feed.items) == len(RECORDS)
    for item, record in zip(feed.items, RECORDS):
        synced, shipped = notice_from_record(item.record), notice_from_record(record)
        assert item.doc_id == record["id"]
        assert synced.body == shipped.body, record["id"]
        assert (synced.title, synced.published, synced.url, synced.agency) == \
            (shipped.title, shipped.published, shipped.url, shipped.agency)


def test_html_body_drops_scripts_and_renders_table_rows():
    text = html_to_text(TABLE_SAMPLE)
    assert "tracker" not in text and "색인되면" not in text and "border" not in text and "주석" not in text
    lines = normalize_text(text).split("\n")
    assert "구분 | 2025년 | 2026년" in lines
    assert "디지털정부 | 3,000억 원 | 3,500억 원" in lines
    assert lines[0] == "행정안전부는 2026년 예산을 다음과 같이 편성했다."
    assert lines[-1] == "문의: 디지털정부국 <044-205-2700>"


def test_published_date_is_the_feeds_own_day():
    assert published_date("Thu, 14 May 2026 08:10:00 +0900") == "2026-05-14"  # 2026-05-13 in UTC
    assert published_date("2026-05-14T08:10:00+09:00") == "2026-05-14"
    assert published_date("2026.5.4") == "2026-05-04"
    assert published_date("", time.strptime("2026-05-14", "%Y-%m-%d")) == "2026-05-14"


def test_items_without_body_or_id_are_reported_not_indexed():
    good = RECORDS[0]
    body = rss([good]).replace(b"</channel>", b"<item><title>empty</title><link>https://www.korea.kr/briefing/"
                               b"pressReleaseView.do?newsId=1</link><description><![CDATA[<p> </p>]]></description>"
                               b"</item><item><title>no link</title><description>text</description></item></channel>")
    feed = parse_feed(body)
    assert [i.doc_id for i in feed.items] == [good["id"]]
    assert [p.reason for p in feed.problems] == ["koreakr-1: item has no body", "item has no link or guid to name it by"]


@pytest.mark.parametrize("body", [rss(RECORDS[:3])[:-400], b"<html><body>503 Service Unavailable</body></html>",
                                  b"\x89PNG\r\n\x1a\n"])
def test_malformed_feed_is_refused_whole(body):
    with pytest.raises(FeedError, match="malformed|not an RSS"):
        parse_feed(body)


def test_settings_and_intervals(monkeypatch):
    from rag.settings import Settings

    assert Settings().feeds == ["https://www.korea.kr/rss/pressrelease.xml"]
    monkeypatch.setenv("PRESSRAG_FEEDS", "https://www.korea.kr/rss/dept_msit.xml, https://www.korea.kr/rss/ebriefing.xml")
    assert Settings().feeds == ["https://www.korea.kr/rss/dept_msit.xml", "https://www.korea.kr/rss/ebriefing.xml"]
    assert [parse_every(t) for t in ("90s", "30m", "2h", "1h30m", "45")] == [90, 1800, 7200, 5400, 45]
    for bad in ("", "soon", "10x", "0s", "5m later"):
        with pytest.raises(ValueError):
            parse_every(bad)


# --- syncing -------------------------------------------------------------------------------------


def test_first_sync_then_304_changes_nothing_then_updates_and_new_items(tmp_path, server):
    idx, embedder = tmp_path / "idx", HashEmbedder()
    url = server.feed("/rss/pressrelease.xml", RECORDS[:5])
    first = make_sync(embedder, [url]).run(idx)
    report = first.feeds[0]
    assert (report.status, report.items, report.added, report.updated, report.unchanged) == ("fetched", 5, 5, 0, 0)
    index = NoticeIndex.load(idx)
    assert set(index.notices) == {r["id"] for r in RECORDS[:5]} and first.notices_total == 5
    notice = index.notices[RECORDS[0]["id"]]
    assert notice.url == news_link(RECORDS[0]) and notice.published == RECORDS[0]["published"]
    assert notice.body == notice_from_record(RECORDS[0]).body and notice.agency
    assert server.seen_headers[-1]["User-Agent"].startswith("pressrag/") and "feed sync" in server.seen_headers[-1]["User-Agent"]
    state = read_state(idx)
    assert state["feeds"][url]["etag"] == server.routes["/rss/pressrelease.xml"].etag
    assert state["counts"]["added"] == 5 and state["counts"]["notices"] == 5 and last_synced(idx)

    # unchanged feed: one conditional request, 304, nothing embedded, nothing on disk changed but the state
    before, embedded, hits = disk_state(idx), embedder.passages_embedded, server.hits["/rss/pressrelease.xml"]
    second = make_sync(embedder, [url]).run(idx)
    assert second.feeds[0].status == "not-modified" and second.feeds[0].requests == 1
    assert server.hits["/rss/pressrelease.xml"] == hits + 1
    assert server.seen_headers[-1]["If-None-Match"] == server.routes["/rss/pressrelease.xml"].etag
    assert embedder.passages_embedded == embedded and disk_state(idx) == before

    # one item changed, one new: only those two are embedded
    server.feed("/rss/pressrelease.xml", [changed(RECORDS[0])] + RECORDS[1:6])
    third = make_sync(embedder, [url]).run(idx)
    report = third.feeds[0]
    assert (report.added, report.updated, report.unchanged) == (1, 1, 4)
    assert third.ingest.files_indexed == 2 and third.notices_total == 6
    index = NoticeIndex.load(idx)
    assert "일부 수치를 바로잡았다" in index.notices[RECORDS[0]["id"]].body
    assert embedder.passages_embedded == embedded + passages_of(index, {RECORDS[0]["id"], RECORDS[5]["id"]})


def test_failing_feeds_are_reported_and_leave_the_index_alone(tmp_path, server):
    idx, embedder = tmp_path / "idx", HashEmbedder()
    good = server.feed("/good.xml", RECORDS[:2])
    make_sync(embedder, [good]).run(idx)
    before = disk_state(idx)
    server.routes["/500.xml"] = Route(b"oops", status=500, content_type="text/plain")
    # The feed timeout stays at make_sync's 2 s: at 0.3 s a loaded CI machine could turn the prompt
    # HTTP 500 into a timeout, as it once did to the language-model stub's 1-s limit (stop 57).
    server.routes["/slow.xml"] = Route(rss(RECORDS[2:3]), delay=8.0)
    server.routes["/malformed.xml"] = Route(rss(RECORDS[3:6])[:-300])
    bad = [server.url(p) for p in ("/500.xml", "/slow.xml", "/malformed.xml", "/missing.xml")]
    result = make_sync(embedder, bad).run(idx)
    errors = {f.url.rsplit("/", 1)[1]: f.error for f in result.feeds}
    assert all(f.status == "failed" for f in result.feeds) and result.all_failed
    assert errors["500.xml"].startswith("HTTP 500") and server.hits["/500.xml"] == 2  # retried once
    assert errors["slow.xml"].startswith("timed out") and errors["malformed.xml"].startswith("malformed feed")
    assert errors["missing.xml"] == "HTTP 404 for feed" and server.hits["/missing.xml"] == 1  # 4xx: no retry
    assert disk_state(idx) == before and set(NoticeIndex.load(idx).notices) == {r["id"] for r in RECORDS[:2]}
    state = read_state(idx)
    assert state["feeds"][bad[0]]["status"] == "failed" and state["counts"]["failed"] == 4

    # a failing feed beside a good one: the good one lands, the bad one writes nothing
    mixed = make_sync(embedder, [server.feed("/good.xml", RECORDS[:3]), bad[2]]).run(idx)
    assert not mixed.all_failed and mixed.feeds[0].added == 1 and mixed.notices_total == 3


def test_cli_sync_reports_and_exits_nonzero_when_every_feed_fails(tmp_path, server, monkeypatch):
    from typer.testing import CliRunner

    import rag.embed
    from rag.cli import app

    monkeypatch.setattr(rag.embed, "make_embedder", lambda *a, **k: HashEmbedder())
    monkeypatch.delenv("PRESSRAG_FEEDS", raising=False)
    runner, idx = CliRunner(), str(tmp_path / "idx")
    ok = runner.invoke(app, ["sync", server.feed("/f.xml", RECORDS[:2]), "--index", idx, "--quiet"])
    assert ok.exit_code == 0, ok.output
    assert "2 items: 2 new, 0 changed, 0 unchanged" in ok.output and "holds 2 notices" in ok.output
    server.routes["/down.xml"] = Route(b"", status=503)
    monkeypatch.setenv("PRESSRAG_SYNC_RETRIES", "0")
    failed = runner.invoke(app, ["sync", server.url("/down.xml"), "--index", idx, "--quiet"])
    assert failed.exit_code == 1 and "FAILED: HTTP 503" in failed.output
    assert "error: every feed failed" in failed.output
    assert runner.invoke(app, ["sync", "--every", "soon", "--index", idx]).exit_code == 2
    assert runner.invoke(app, ["sync", "ftp://x/feed.xml", "--index", idx]).exit_code == 2

    # --every: runs, sleeps, runs again; Ctrl-C (here: during the sleep) exits 0
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", sleep)
    looped = runner.invoke(app, ["sync", server.url("/f.xml"), "--index", idx, "--every", "30m", "--quiet"])
    assert looped.exit_code == 0 and sleeps == [1800, 1800] and looped.output.count("not modified") == 2


def test_attachments_are_indexed_as_attachments_of_their_notice(tmp_path, server):
    from tests.fixtures import make_hwpx

    hwpx = make_hwpx(tmp_path / "a.hwpx", ["붙임 1. 국제소방안전박람회 세부 일정", [["구분", "일정"], ["개막식", "6월 3일"]]])
    server.routes["/files/release.hwpx"] = Route(hwpx.read_bytes(), content_type="application/octet-stream")
    server.routes["/files/big.pdf"] = Route(b"%PDF-1.4\n" + b"0" * 300_000, content_type="application/pdf")
    server.routes["/files/login.pdf"] = Route(b"<html>login</html>", content_type="text/html")
    record = RECORDS[1]
    links = (f'<p>첨부파일: <a href="{server.url("/files/release.hwpx")}">보도자료(박람회).hwpx</a> '
             f'<a href="{server.url("/files/login.pdf")}">로그인.pdf</a> <a href="{server.url("/about.html")}">소개</a></p>')
    url = server.feed("/att.xml", [record], extra_html={record["id"]: links},
                      enclosures={record["id"]: [server.url("/files/big.pdf")]})
    result = make_sync(HashEmbedder(), [url], max_attachment_bytes=100_000).run(tmp_path / "idx")
    report = result.feeds[0]
    assert report.attachments == 1
    reasons = sorted(p.reason for p in report.problems)
    assert reasons[0].startswith("attachment is text/html") and "too large" in reasons[1]
    index = NoticeIndex.load(tmp_path / "idx")
    att = index.notices[f"{record['id']}-att2"]  # numbered in the item's order: big.pdf, release.hwpx, login.pdf
    assert att.title == f"{notice_from_record(record).title} [첨부] 보도자료(박람회).hwpx"
    assert att.url == server.url("/files/release.hwpx") and att.published == record["published"]
    assert "개막식" in att.body and "6월 3일" in att.body and record["id"] in index.notices
    assert server.hits["/about.html"] == 0
    # the item is unchanged next time: no attachment is fetched again
    hits = sum(server.hits.values())
    server.feed("/att.xml", [record], extra_html={record["id"]: links})  # new ETag, same item
    again = make_sync(HashEmbedder(), [url], max_attachment_bytes=100_000).run(tmp_path / "idx")
    assert again.feeds[0].unchanged == 1 and sum(server.hits.values()) == hits + 1


def test_oversized_feed_and_attachment_limits(server):
    server.routes["/huge.xml"] = Route(b"<rss>" + b" " * 50_000 + b"</rss>")
    server.routes["/huge.pdf"] = Route(b"%PDF" + b"0" * 50_000, content_type="application/pdf")
    with FeedFetcher(timeout=2, retries=0, max_feed_bytes=10_000, max_attachment_bytes=10_000) as fetcher:
        with pytest.raises(FeedError, match="feed too large"):
            fetcher.fetch_feed(server.url("/huge.xml"))
        with pytest.raises(FeedError, match="attachment too large") as exc:
            fetcher.fetch_attachment(AttachmentLink(server.url("/huge.pdf"), "x.pdf"))
        assert not exc.value.transient


def test_fifty_item_feed_into_an_index_built_from_a_subset(tmp_path, server):
    """The issue's 'done when', with the fake embedder: exactly the new notices are added, the
    changed ones re-indexed, and a question about a new release cites its korea.kr URL."""
    from rag.build import IndexUpdater
    from rag.service import open_assistant
    from rag.settings import Settings

    idx, embedder = tmp_path / "idx", HashEmbedder()
    shipped = tmp_path / "shipped.jsonl"
    shipped.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in RECORDS[:60]), encoding="utf-8")
    IndexUpdater(embedder, progress=False).run(idx, [shipped])
    url = server.feed("/rss/pressrelease.xml", RECORDS[60:110])
    first = make_sync(embedder, [url]).run(idx)
    assert first.feeds[0].items == 50 and first.feeds[0].added == 50 and first.notices_total == 110

    later = RECORDS[63:113]  # the feed moved on: 3 new at the top, 3 old ones dropped off
    later[0], later[10] = changed(later[0]), changed(later[10])
    server.feed("/rss/pressrelease.xml", later)
    embedded = embedder.passages_embedded
    second = make_sync(embedder, [url]).run(idx)
    report = second.feeds[0]
    assert (report.added, report.updated, report.unchanged) == (3, 2, 45)
    assert second.ingest.files_indexed == 5 and second.notices_total == 113
    index = NoticeIndex.load(idx)
    touched = {r["id"] for r in later[:1] + later[10:11] + RECORDS[110:113]}
    assert embedder.passages_embedded - embedded == passages_of(index, touched)

    new = RECORDS[111]
    assistant = open_assistant(Settings(index=idx), progress=False, embedder=embedder)
    answer = assistant.ask(new["title"])
    assert not answer.refused
    assert news_link(new) in [c.url for c in answer.citations]


# --- kill -9 at any point ------------------------------------------------------------------------

KILL_POINTS = ["fetch", "items", "embedding", "snapshot-written", "pointer-written", "state"]


def _child_sync(idx: Path, url: str, point: str) -> None:
    """Runs in a forked child: a sync that SIGKILLs itself at ``point``."""
    import rag.sync

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    embedder = HashEmbedder()
    syncer = make_sync(embedder, [url])
    if point == "fetch":
        real = syncer.fetcher.fetch_feed
        syncer.fetcher.fetch_feed = lambda *a, **k: (real(*a, **k), die())[0]
    elif point == "items":
        real_write, count = rag.sync.write_if_changed, [0]

        def write(path, content):
            count[0] += 1
            if count[0] == 3:
                die()
            return real_write(path, content)

        rag.sync.write_if_changed = write
    elif point == "embedding":
        embedder.embed_passages = lambda texts: die()
    elif point == "state":
        FeedSync._save_state = lambda *a, **k: die()
    else:
        os.environ["PRESSRAG_CRASH_AT"] = point  # the index layer's own fault-injection steps of a save
    syncer.run(idx)


@pytest.mark.parametrize("point", KILL_POINTS)
def test_kill_9_leaves_the_index_loadable_and_the_next_sync_finishes(tmp_path, server, point):
    idx = tmp_path / "idx"
    url = server.feed("/rss/pressrelease.xml", RECORDS[:4])
    make_sync(HashEmbedder(), [url]).run(idx)
    server.feed("/rss/pressrelease.xml", [changed(RECORDS[0])] + RECORDS[1:7])

    pid = os.fork()
    if pid == 0:  # the child never returns to pytest
        try:
            _child_sync(idx, url, point)
        finally:
            os._exit(0)
    deadline = time.monotonic() + 60
    while (waited := os.waitpid(pid, os.WNOHANG))[0] == 0:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"sync child hung at {point}")
        time.sleep(0.02)
    status = waited[1]
    assert (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL) or os.WEXITSTATUS(status) == 137, status

    survivors = NoticeIndex.load(idx)  # never half-written
    assert len(survivors.notices) in (4, 7)
    embedder = HashEmbedder()
    result = make_sync(embedder, [url]).run(idx)
    assert result.feeds[0].status == "fetched" and result.notices_total == 7
    index = NoticeIndex.load(idx)
    assert "일부 수치를 바로잡았다" in index.notices[RECORDS[0]["id"]].body
    assert read_state(idx)["feeds"][url]["etag"] == server.routes["/rss/pressrelease.xml"].etag
    assert make_sync(embedder, [url]).run(idx).feeds[0].status == "not-modified"
    assert not [p for p in sync_dir_for(idx).rglob(".*.tmp")]


def test_web_chat_shows_when_the_index_was_last_synced(tmp_path, server):
    from rag.service import CorpusSummary
    from ui.render import render_corpus_html

    summary = CorpusSummary(notices=5, chunks=9, agencies=[("소방청", 5)], first_published="2026-05-14",
                            last_published="2026-05-18", model="test")
    assert "last synced" not in render_corpus_html(summary, index_dir=tmp_path / "idx")
    make_sync(HashEmbedder(), [server.feed("/f.xml", RECORDS[:1])]).run(tmp_path / "idx")
    shown = render_corpus_html(summary, index_dir=tmp_path / "idx")
    assert f"last synced): {last_synced(tmp_path / 'idx')}" in shown and "<b id=\"pr-count\">5</b>" in shown
