"""Recorded korea.kr feeds for tests and the sync benchmark, made from the demo corpus (no copied fixtures).

``rss(records)`` renders korea.kr records as RSS 2.0 the way korea.kr publishes them: the link
pressReleaseView.do?newsId=…, an RFC 822 pubDate in KST, and the body as HTML in CDATA with tags
where the corpus text has the spaces that stripping left ("a space at each tag boundary").
``FeedServer`` serves such feeds (and anything else) from 127.0.0.1 with ETag/304 support.
"""

from __future__ import annotations

import hashlib
import html
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "corpus"
KST = timezone(timedelta(hours=9))


def load_records() -> list[dict]:
    """The demo corpus's korea.kr records, as shipped."""
    text = (DATA / "korea_kr_press_releases.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


_TAGS = [("<p>", "</p>"), ('<span style="font-size:11pt">', "</span>"), ("<strong>", "</strong>"), ("<br/>", ""),
         ('<div class="x">', "</div>")]


def body_html(text: str) -> str:
    """The corpus text as korea.kr-like HTML: tags only where the text has spaces."""
    words, out, i, k = text.split(" "), [], 0, 0
    while i < len(words):
        n = 3 + (k * 7) % 11
        opening, closing = _TAGS[k % len(_TAGS)]
        out.append(opening + html.escape(" ".join(words[i:i + n]), quote=False) + closing)
        i, k = i + n, k + 1
    return "".join(out)


def news_link(record: dict) -> str:
    return f"https://www.korea.kr/briefing/pressReleaseView.do?newsId={record['id'].removeprefix('koreakr-')}"


def rss(records: list[dict], extra_html: dict[str, str] | None = None, enclosures: dict[str, list[str]] | None = None) -> bytes:
    items = []
    for n, r in enumerate(records):
        # 08:xx KST is the previous day in UTC: the date must stay the feed's own
        when = datetime.fromisoformat(r["published"]).replace(hour=8, minute=n % 60, tzinfo=KST)
        description = body_html(r["text"]) + (extra_html or {}).get(r["id"], "")
        enc = "".join(f'<enclosure url="{html.escape(u)}" length="1" type="application/pdf"/>'
                      for u in (enclosures or {}).get(r["id"], []))
        items.append(
            f"<item><title>{html.escape(r['title'])}</title><link>{html.escape(news_link(r))}</link>"
            f"<guid isPermaLink=\"true\">{html.escape(news_link(r))}</guid><pubDate>{format_datetime(when)}</pubDate>"
            f"<description><![CDATA[{description.replace(']]>', ']]]]><![CDATA[>')}]]></description>{enc}</item>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>정책브리핑 보도자료</title>'
            "<link>https://www.korea.kr</link><description>recorded</description>"
            + "".join(items) + "</channel></rss>").encode("utf-8")


def changed(record: dict, note: str = "정정") -> dict:
    return {**record, "text": record["text"] + f" ( {note} : 일부 수치를 바로잡았다 . )"}


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    etag: str = ""
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


class FeedServer:
    """http.server on 127.0.0.1:<free port>: routes by path, ETag/304, counts every request."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.seen_headers: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?")[0]
                server.hits[path] += 1
                server.seen_headers.append(dict(self.headers))
                route = server.routes.get(path)
                try:
                    if route is None:
                        self.send_error(404)
                        return
                    if route.delay:
                        time.sleep(route.delay)
                    if route.etag and self.headers.get("If-None-Match") == route.etag:
                        self.send_response(304)
                        self.send_header("ETag", route.etag)
                        self.end_headers()
                        return
                    self.send_response(route.status)
                    self.send_header("Content-Type", route.content_type)
                    self.send_header("Content-Length", str(len(route.body)))
                    if route.etag:
                        self.send_header("ETag", route.etag)
                    for key, value in route.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def feed(self, path: str, records: list[dict], **kwargs) -> str:
        body = rss(records, **kwargs)
        self.routes[path] = Route(body, etag='"' + hashlib.sha1(body).hexdigest()[:12] + '"')
        return self.url(path)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
