"""A tiny OpenAI-compatible chat server for tests: real HTTP on 127.0.0.1, scripted replies.

    with OpenAIStub() as stub:
        stub.reply("행정안전부는 … 발표했다.[1]")      # what the next requests get
        settings = LLMSettings(base_url=stub.base_url, model="stub")
        ...
        stub.requests[-1]["json"]["messages"]          # what the client sent

Behaviours (set before a request, kept until changed):
    reply(text)          200 with that text (JSON, or SSE chunks when the request says ``stream: true``)
    delay(seconds)       sleep before answering (to trip client timeouts), then reply as scripted
    status(code)         HTTP error (429, 500, …) with an OpenAI-style error body
    empty()              200 with empty content
    malformed()          200 whose body is not valid JSON (or SSE data lines that are not JSON)

Only ``POST /v1/chat/completions`` exists; anything else is 404.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Behaviour:
    kind: str = "reply"  # reply | status | empty | malformed
    text: str = ""
    status: int = 200
    delay_s: float = 0.0
    chunk_chars: int = 7  # characters per SSE delta


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    stub: "OpenAIStub"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass

    def do_GET(self):  # noqa: N802
        self._send(404, b'{"error": {"message": "not found"}}')

    def do_POST(self):  # noqa: N802
        stub = self.server.stub
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw.decode("utf-8")) if raw else {}
        except ValueError:
            body = None
        with stub._lock:
            stub.requests.append({"path": self.path, "headers": dict(self.headers.items()), "json": body})
            behaviour = Behaviour(**vars(stub.behaviour))
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._send(404, b'{"error": {"message": "not found"}}')
            return
        if behaviour.delay_s and stub._stopping.wait(behaviour.delay_s):
            return  # the stub is shutting down
        try:
            self._answer(behaviour, body or {})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout) before we answered

    # -- responses ---------------------------------------------------------------------
    def _send(self, status: int, payload: bytes, content_type: str = "application/json", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()

    def _answer(self, b: Behaviour, request: dict) -> None:
        model = request.get("model", "stub")
        if b.kind == "status":
            error = {"error": {"message": f"scripted HTTP {b.status}", "type": "stub_error", "code": str(b.status)}}
            extra = {"Retry-After": "30"} if b.status == 429 else None
            self._send(b.status, json.dumps(error).encode(), extra=extra)
            return
        if request.get("stream"):
            self._stream(b, model)
            return
        if b.kind == "malformed":
            self._send(200, b'{"id": "chatcmpl-stub", "choices": [{"message": {"content": "unterminated')
            return
        content = "" if b.kind == "empty" else b.text
        reply = {
            "id": "chatcmpl-stub", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        self._send(200, json.dumps(reply, ensure_ascii=False).encode("utf-8"))

    def _stream(self, b: Behaviour, model: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

        def event(delta: dict, finish: str | None = None) -> None:
            chunk = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": int(time.time()),
                     "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode("utf-8"))
            self.wfile.flush()

        if b.kind == "malformed":
            self.wfile.write(b"data: {\"choices\": [{\"delta\": {\"content\": \"broken\n\n")
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            return
        event({"role": "assistant", "content": ""})
        text = "" if b.kind == "empty" else b.text
        step = max(1, b.chunk_chars)
        for i in range(0, len(text), step):
            event({"content": text[i:i + step]})
        event({}, finish="stop")
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


class OpenAIStub:
    """The server, its scripted behaviour and the requests it has received."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.behaviour = Behaviour()
        self.requests: list[dict] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.stub = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name=f"openai-stub-{self.port}")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- scripting ---------------------------------------------------------------------
    def _set(self, **fields) -> "OpenAIStub":
        with self._lock:
            self.behaviour = Behaviour(**fields)
        return self

    def reply(self, text: str, delay_s: float = 0.0, chunk_chars: int = 7) -> "OpenAIStub":
        return self._set(kind="reply", text=text, delay_s=delay_s, chunk_chars=chunk_chars)

    def delay(self, seconds: float, text: str = "늦은 답변입니다.[1]") -> "OpenAIStub":
        return self._set(kind="reply", text=text, delay_s=seconds)

    def status(self, code: int) -> "OpenAIStub":
        return self._set(kind="status", status=code)

    def empty(self) -> "OpenAIStub":
        return self._set(kind="empty")

    def malformed(self) -> "OpenAIStub":
        return self._set(kind="malformed")

    # -- what was asked ----------------------------------------------------------------
    @property
    def last_messages(self) -> list[dict]:
        return self.requests[-1]["json"]["messages"]

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> "OpenAIStub":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "OpenAIStub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
