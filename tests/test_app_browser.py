"""The web chat in headless Chromium: answers with citations, escaping, uploads, two tabs at once, follow-ups.

Needs Debian's chromium at /usr/bin/chromium (never ``playwright install``) and
fonts-nanum for Hangul in the screenshot. The server runs in-process on a free
port over a copy of the real demo index (uploads here must not touch the
session's shared index).
"""

from __future__ import annotations

import logging
import shutil
import socket
from pathlib import Path

import pytest

from tests.conftest import FIVE_STRATEGIES

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SEED_TITLE = "2020년, 국민을 즐겁게 하는 전자정부"
XSS = "<script>window.__xss=1</script>"
ANSWER_TIMEOUT_MS = 180_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium (apt install chromium)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(demo_index_dir, tmp_path_factory):
    import app
    from rag.service import open_assistant
    from rag.settings import Settings

    index = tmp_path_factory.mktemp("web") / "index"
    shutil.copytree(demo_index_dir, index)
    settings = Settings(index=index)
    assistant = open_assistant(settings, progress=False)
    # Two pages over one assistant: as an operator opens it by default (uploads off), and with
    # --allow-uploads (the upload tests; they must not leak into the first page's checks).
    demo = app.build_ui(assistant, settings, allow_uploads=True)
    plain = app.build_ui(assistant, settings)
    port, plain_port = _free_port(), _free_port()
    for blocks, p in ((demo, port), (plain, plain_port)):
        blocks.launch(server_name="127.0.0.1", server_port=p, prevent_thread_lock=True, share=False, quiet=True,
                      ssr_mode=False, **app.launch_options())
    try:
        yield {"url": f"http://127.0.0.1:{port}/", "plain_url": f"http://127.0.0.1:{plain_port}/",
               "assistant": assistant, "root": str(index.parent)}
    finally:
        demo.close()
        plain.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # Playwright gives the browser a fresh temporary profile; nothing of the user's is read or written.
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture()
def open_page(server, browser):
    pages = []

    def make(url: str | None = None):
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.external_requests = []
        page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "data:", "blob:"))
                else page.external_requests.append(r.url))
        page.goto(url or server["url"])
        page.wait_for_selector("#pr-question textarea", timeout=60_000)
        pages.append(page)
        return page

    yield make
    for page in pages:
        assert page.external_requests == [], f"the page reached outside: {page.external_requests[:5]}"
        page.close()


def _replies(page) -> int:
    return page.locator("#pr-chat .pr-answer, #pr-chat .pr-error").count()


def _submit(page, question: str) -> int:
    before = _replies(page)
    page.fill("#pr-question textarea", question)
    page.press("#pr-question textarea", "Enter")
    return before


def _wait_reply(page, before: int):
    page.wait_for_function(
        """n => document.querySelectorAll('#pr-chat .pr-answer, #pr-chat .pr-error').length > n
               && !document.querySelector('#pr-chat .pr-draft')""",
        arg=before, timeout=ANSWER_TIMEOUT_MS)
    return page.locator("#pr-chat .pr-answer, #pr-chat .pr-error").last


def _ask(page, question: str):
    return _wait_reply(page, _submit(page, question))


def _count(page) -> int:
    return int(page.locator("#pr-count").inner_text().replace(",", ""))


def _wait_for_count(page, n: int) -> None:
    """Wait until the page's corpus box shows ``n`` notices."""
    page.wait_for_function("n => document.querySelector('#pr-count').innerText.replace(',', '') == String(n)",
                           arg=n, timeout=ANSWER_TIMEOUT_MS)


def test_answer_shows_the_five_strategies_with_a_highlighted_citation(open_page, server, tmp_path):
    page = open_page()
    reply = _ask(page, "전자정부 2020의 5대 전략은?")
    text = reply.locator(".pr-text").inner_text()
    for strategy in FIVE_STRATEGIES:
        assert strategy in text, strategy
    assert "[1]" in text
    source = reply.locator(".pr-source").first
    assert SEED_TITLE in source.locator("summary").inner_text()
    assert "[1]" in source.locator("summary").inner_text()
    assert "2016-04-01" in source.inner_text() and "000_784a45d05de28dc5" in source.inner_text()
    marks = source.locator(".pr-passage mark")
    assert marks.count() >= 5
    assert "정부서비스 Re-디자인" in " ".join(marks.all_inner_texts())
    footer = page.locator("#pr-footer").inner_text()
    assert "공공누리 제1유형(출처표시)" in footer and "BidPro" in footer
    assert _count(page) == server["assistant"].summary().notices > 100
    shot = tmp_path / "answer.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")


def test_script_in_a_question_shows_as_text_and_never_runs(open_page):
    page = open_page()
    reply = _ask(page, f"{XSS} 전자정부 2020의 5대 전략은?")
    assert page.evaluate("typeof window.__xss") == "undefined"
    shown = page.locator("#pr-chat .pr-q").last.inner_text()
    assert XSS in shown
    assert page.evaluate("[...document.querySelectorAll('script')].some(s => s.textContent.includes('__xss'))") is False
    assert reply.count() == 1


def test_uploaded_notice_with_markup_is_searchable_and_shown_as_text(open_page, server, tmp_path):
    page = open_page()
    # from the server, as in the same-name upload test: the page may still show its start-up count
    before = len(server["assistant"].index.notices)
    _wait_for_count(page, before)
    notice = tmp_path / "penguin.txt"
    notice.write_text("행정안전부 펭귄마을 스크립트 점검 <script>window.__xss2=1</script>\n2026-06-20\n\n"
                      "행정안전부는 20일 펭귄마을 스크립트 점검 계획을 발표했다. "
                      '점검 대상은 <img src=x onerror="window.__xss3=1"> 태그를 포함한 게시물이다. '
                      "점검은 7월 31일까지 진행된다.\n", encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    page.set_input_files("#pr-upload input[type=file]", [str(notice), str(empty)])  # indexed on upload
    page.wait_for_selector("#pr-upload-report", timeout=ANSWER_TIMEOUT_MS)
    report = page.locator("#pr-upload-report").inner_text()
    assert "+1 notices" in report
    assert "empty.txt: empty file (0 bytes)" in report
    assert _count(page) == before + 1

    reply = _ask(page, "펭귄마을 스크립트 점검 계획은?")
    assert "펭귄마을" in reply.locator(".pr-text").inner_text()
    sources = reply.locator(".pr-source").first.inner_text()
    assert "<script>window.__xss2=1</script>" in sources
    assert '<img src=x onerror="window.__xss3=1">' in reply.inner_text()
    assert page.evaluate("[typeof window.__xss2, typeof window.__xss3]") == ["undefined", "undefined"]


def test_two_tabs_asking_at_once_both_get_their_answer_and_follow_ups_resolve(open_page):
    first, second = open_page(), open_page()
    before_first = _submit(first, "전자정부 2020의 5대 전략은?")
    before_second = _submit(second, "소방청 인도네시아 협력의향서 체결 내용은?")
    reply_first = _wait_reply(first, before_first).inner_text()
    reply_second = _wait_reply(second, before_second).inner_text()
    assert "글로벌 전자정부 질서 주도" in reply_first and "인도네시아" not in reply_first
    assert "인도네시아" in reply_second and "협력의향서" in reply_second
    assert "글로벌 전자정부 질서 주도" not in reply_second

    follow = _ask(second, "그 담당자는?")
    assert "소방청 인도네시아 협력의향서 체결 내용은? 그 담당자는?" in follow.locator(".pr-resolved").inner_text()
    assert "044-205-7010" in follow.locator(".pr-text").inner_text()
    # the other tab's conversation is its own: its follow-up refers to its own first question
    follow_first = _ask(first, "그중 두 번째는?")
    assert "전자정부 2020의 5대 전략은? 그중 두 번째는?" in follow_first.inner_text()
    assert "인지·예측기반 지능행정 실현" in follow_first.inner_text()


def test_empty_question_gets_a_message(open_page):
    page = open_page()
    before = _replies(page)
    page.click("#pr-ask")
    reply = _wait_reply(page, before)
    assert "empty" in reply.inner_text()
    # Gradio's date input marks a date it cannot read and does not send it (the server's own one-line
    # YYYY-MM-DD message, for API callers, is tested in tests/test_app.py).
    since = page.locator("#pr-since input")
    since.fill("2026/05/01")
    since.press("Tab")
    assert "invalid" in (since.get_attribute("class") or "")
    since.fill("2026-05-01")
    since.press("Tab")
    assert "invalid" not in (since.get_attribute("class") or "")


def _no_server_paths(page, server) -> None:
    html_text = page.content()
    assert server["root"] not in html_text and "/index-uploads/" not in html_text


def test_uploads_are_off_by_default(open_page, server):
    page = open_page(server["plain_url"])
    assert page.locator("#pr-upload").count() == 0 and page.locator("#pr-remove").count() == 0
    assert "--allow-uploads" in page.locator("#pr-uploads-off").inner_text()


def test_same_name_uploads_both_stay_and_an_upload_can_be_removed(open_page, server, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="pressrag.app")  # a failure shows what the server received
    page = open_page()
    # The count the server holds now: the page first shows the count from when the server started and
    # replaces it when its load event returns, so reading the page here could give an older figure.
    before = len(server["assistant"].index.notices)
    _wait_for_count(page, before)
    files = []
    for folder, count in (("first", "1,284"), ("second", "9,999")):
        (tmp_path / folder).mkdir()
        made_up = tmp_path / folder / "gull-release.txt"
        made_up.write_text(f"행정안전부 갈매기섬 방문객 집계\n2026-06-21\n\n행정안전부는 갈매기섬 방문객이 "
                           f"{count}명이라고 밝혔다.\n", encoding="utf-8")
        files.append(made_up)
    for i, made_up in enumerate(files, 1):
        # An upload is indexed as soon as it arrives. The second comes from another visitor's page: twice,
        # on busy machines, a second upload from the same page carried the first file's content; the
        # cause is not found (ui/uploads.py now logs every upload) and four later runs did not reproduce it.
        if i > 1:
            page = open_page()
        page.set_input_files("#pr-upload input[type=file]", [str(made_up)])
        _wait_for_count(page, before + i)
        assert "+1 notices" in page.locator("#pr-upload-report").inner_text()
    bodies = " ".join(n.body for n in server["assistant"].index.notices.values())
    assert "1,284명" in bodies and "9,999명" in bodies
    _no_server_paths(page, server)

    page.click("#pr-uploaded input")
    page.locator("ul[role=listbox] li", has_text="gull-release (2).txt").first.click()
    # Remove sends the box's value as the page holds it: wait until the box shows the choice as a token
    # (twice, on a loaded machine, this step timed out waiting for the count; see the report check below).
    token = page.locator("#pr-uploaded .token", has_text="gull-release (2).txt")
    token.wait_for(state="visible", timeout=ANSWER_TIMEOUT_MS)
    page.keyboard.press("Escape")
    assert token.count() == 1
    page.click("#pr-remove")
    # The removal's report replaces the upload's ("removed", or what went wrong): wait for it, so a
    # failure says what the server answered instead of only that the count did not change.
    page.wait_for_function("() => !document.querySelector('#pr-upload-report').innerText.includes('+1 notices')",
                           timeout=ANSWER_TIMEOUT_MS)
    report = page.locator("#pr-upload-report").inner_text()
    # "삭제함" is the success line only ("removed" also appears in the refusal to remove other notices).
    assert "삭제함" in report and "gull-release (2).txt" in report, report
    assert len(server["assistant"].index.notices) == before + 1, report
    _wait_for_count(page, before + 1)
    bodies = " ".join(n.body for n in server["assistant"].index.notices.values())
    assert "1,284명" in bodies and "9,999명" not in bodies


def _question_offset(page) -> float:
    """How far below the top of the chat's scroll box the newest question sits (pixels)."""
    return page.evaluate("""() => {
        const qs = document.querySelectorAll('#pr-chat .pr-q'), q = qs[qs.length - 1];
        let box = q.parentElement;
        while (box && !/(auto|scroll)/.test(getComputedStyle(box).overflowY)) box = box.parentElement;
        return q.getBoundingClientRect().top - box.getBoundingClientRect().top; }""")


def test_a_long_answer_is_read_from_its_start(open_page, server):
    # Each reply (answer and sources) is taller than the 640-px chat box: following the bottom while it
    # streams would hide its first lines. The newest question stays at the top, its answer below it.
    page = open_page(server["plain_url"])
    for question in ("전자정부 2020의 5대 전략은?", "소방청 인도네시아 협력의향서 체결 내용은?", "전자정부 2020의 5대 전략은?"):
        reply = _ask(page, question)
        assert reply.bounding_box()["height"] > 640
        assert 0 <= _question_offset(page) < 40, _question_offset(page)


def test_answer_links_focus_their_source_and_download_as_markdown(open_page, server):
    page = open_page()
    reply = _ask(page, "전자정부 2020의 5대 전략은?")
    _no_server_paths(page, server)
    link = reply.locator(".pr-cite a").first
    target = link.get_attribute("href")
    assert target and target.startswith("#pr-src-")
    link.focus()
    assert page.evaluate("document.activeElement.tagName") == "A"  # reachable with Tab
    link.click()
    page.wait_for_function("id => document.activeElement && document.activeElement.id === id",
                           arg=target[1:], timeout=10_000)
    assert "[1]" in page.evaluate("document.activeElement.querySelector('summary').innerText")

    page.wait_for_selector("#pr-download", state="visible", timeout=30_000)
    with page.expect_download() as info:
        page.click("#pr-download")
    text = Path(info.value.path()).read_text(encoding="utf-8")
    assert text.startswith("# 전자정부 2020의 5대 전략은?") and "[1]" in text
    assert "## 출처 (Sources)" in text and SEED_TITLE in text
    for strategy in FIVE_STRATEGIES:
        assert strategy in text, strategy


def test_typed_text_is_kept_and_replies_explain_themselves(open_page, server):
    page = open_page(server["plain_url"])
    # a follow-up on a fresh chat asks back instead of answering from some notice
    assert "그 담당자는?" not in page.locator("#pr-chat ~ *, body").first.inner_text().split("예시 질문")[-1][:300]
    reply = _ask(page, "그 담당자는?")
    assert "which notice do you mean" in reply.inner_text() and reply.locator(".pr-source").count() == 0
    # an over-long question is refused and stays in the box to be shortened
    long_question = "전자정부 " * 500
    reply = _ask(page, long_question)
    assert "too long" in reply.inner_text()
    assert page.locator("#pr-question textarea").input_value() == long_question
    # filters that leave nothing say so (a fresh page: nothing of the refused question still in flight)
    page = open_page(server["plain_url"])
    page.locator("#pr-since").locator("input, textarea").fill("2030-01-01")
    page.locator("#pr-since").locator("input, textarea").press("Tab")
    reply = _ask(page, "소방청 인도네시아 협력의향서 체결 내용은?")
    assert "filters leave no notice" in reply.inner_text()
