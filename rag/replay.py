"""An OpenAI-compatible chat server that replays recorded model replies (eval/record_llm.py output).

A recording holds the exact messages a real model was sent and what it wrote back. The server
answers a request whose messages are exactly a recorded prompt with that reply (as JSON, or as
server-sent events when the client streams), and any other prompt with HTTP 404, which the
generative answerer treats like any endpoint failure: it falls back to the extractive answer. So
`pressrag eval --mode generative --replay FILE` measures the support check and the fallback on real
model output without the model, and a prompt that drifted since recording (the index or the
prompt code changed) shows up as a fallback, never as a silently different answer.

    with ReplayServer(load_recordings(path)) as server:
        settings = LLMSettings(base_url=server.base_url, model=server.model)
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def prompt_key(messages: Sequence[dict]) -> str:
    """A recorded prompt's identity: the roles and contents of its messages, nothing else."""
    canonical = json.dumps([[str(m.get("role", "")), _text(m.get("content", ""))] for m in messages],
                           ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _text(content) -> str:
    if isinstance(content, list):  # the OpenAI "content parts" form
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content)


def load_recordings(path: Path) -> list[dict]:
    """The records of a recording file (JSON lines); a malformed line raises with its number."""
    records = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            record["messages"], record["output"]  # noqa: B018 - both are required
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{lineno}: not a recording ({exc})") from None
        records.append(record)
    return records


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    replay: "ReplayServer"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - a replay is quiet
        pass

    def do_GET(self):  # noqa: N802
        self._send(404, {"error": {"message": "not found"}})

    def do_POST(self):  # noqa: N802
        replay = self.server.replay
        length = int(self.headers.get("Content-Length") or 0)
        try:
            request = json.loads(self.rfile.read(length).decode("utf-8")) if length else {}
        except ValueError:
            self._send(400, {"error": {"message": "the request body is not JSON"}})
            return
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._send(404, {"error": {"message": "not found"}})
            return
        key = prompt_key(request.get("messages") or [])
        output = replay.replies.get(key)
        with replay._lock:
            replay.requests += 1
            replay.misses += output is None
        if output is None:
            self._send(404, {"error": {"message": "no recorded reply for this prompt", "type": "replay_miss"}})
            return
        try:
            if request.get("stream"):
                self._stream(output, replay.model)
            else:
                self._send(200, {"id": "replay", "object": "chat.completion", "created": int(time.time()),
                                 "model": replay.model,
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": output}}]})
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send(self, status: int, body: dict) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _stream(self, text: str, model: str, step: int = 8) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for i in range(0, len(text), step):
            chunk = {"id": "replay", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                     "choices": [{"index": 0, "delta": {"content": text[i:i + step]}, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode("utf-8"))
        end = {"id": "replay", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
               "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode("utf-8"))
        self.wfile.flush()


class ReplayServer:
    """Serves recorded replies on 127.0.0.1 (a free port) until stopped; counts requests and misses."""

    def __init__(self, records: Iterable[dict]):
        records = list(records)
        self.replies = {prompt_key(r["messages"]): str(r["output"]) for r in records}
        self.model = str(records[0].get("model", "replay")) if records else "replay"
        self.questions = {str(r["question"]) for r in records if r.get("question")}  # what a replay can score
        self.requests = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.replay = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name="pressrag-replay")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> "ReplayServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "ReplayServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
