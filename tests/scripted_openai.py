"""A scripted OpenAI-compatible HTTP server for tests (a fixture, never product code).

The real `openai` client talks to it over HTTP on 127.0.0.1. A test queues one reply per
chat completion request; each reply is streamed as real SSE chunks shaped exactly like
OpenAI's (role chunk, small content deltas, tool calls in pieces with `index`, a
finish_reason chunk, an optional usage chunk with empty choices, then `data: [DONE]`), or
answered as one JSON body for non-streaming requests. Replies can also fail on demand.

    def test_retry(openai_server):
        openai_server.script(error(429), text("Hello there"))
        provider = OpenAICompatibleProvider(ProviderConfig(
            name="t", kind="openai_compatible", base_url=openai_server.base_url))
        ...
        assert openai_server.requests[-1].body["messages"][0]["content"] == "hi"

Replies: `text`, `tool_call`, `tool_calls` (with `call`), `error`, `auth_error`,
`model_not_found`, `hang`, `cut_after`, `malformed`. When the queue is empty the server
answers `default_text`. Set `api_key` to require `Authorization: Bearer <key>` (401
otherwise) and `chunk_delay` to slow every stream down (per reply with `delay=`).
`script_for(model, ...)` queues replies for one model (concurrent variants); each recorded
request has `received_at` and `finished_at` (monotonic) to prove calls overlapped
(`answered_chat_requests()` waits for the handler threads to stamp the latter).
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

__all__ = [
    "ScriptedOpenAIServer", "RecordedRequest", "Reply", "ToolCallSpec",
    "text", "tool_call", "tool_calls", "call", "error", "auth_error", "model_not_found",
    "hang", "cut_after", "malformed", "usage", "openai_server",
]

DEFAULT_USAGE = object()  # sentinel: report usage computed from the reply


# --- what a test scripts -------------------------------------------------------------

@dataclass
class ToolCallSpec:
    name: str
    arguments: str  # JSON text, streamed in fragments
    id: str = field(default_factory=lambda: f"call_{uuid.uuid4().hex[:24]}")


@dataclass
class Reply:
    """One scripted answer to one chat completion request.

    kind: "message" (text and/or tool calls), "error", "hang", "cut", "malformed"."""

    kind: str = "message"
    content: str = ""
    tool_calls: list[ToolCallSpec] = field(default_factory=list)
    finish_reason: str | None = None  # default: "tool_calls" when there are calls, else "stop"
    usage: Any = DEFAULT_USAGE  # dict from usage(), None to omit even when asked for
    chunk_size: int = 4  # characters per content delta / argument fragment
    delay: float | None = None  # seconds between chunks; None uses the server's chunk_delay
    model: str | None = None  # model echoed back; default: the requested model
    # failures
    status: int = 200
    error_body: dict | None = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0  # hang duration
    after_chunks: int | None = None  # cut/hang/malformed after this many content chunks

    def resolved_finish_reason(self) -> str:
        if self.finish_reason:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"


def usage(prompt: int = 12, completion: int = 5, cached: int = 0, reasoning: int = 0) -> dict:
    """A usage object as OpenAI reports it."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0,
                                      "rejected_prediction_tokens": 0},
    }


def text(content: str, **options: Any) -> Reply:
    """A plain assistant reply. Options: usage, chunk_size, delay, finish_reason, model."""
    return Reply(content=content, **options)


def call(name: str, arguments: dict | str, id: str | None = None) -> ToolCallSpec:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ToolCallSpec(name=name, arguments=args, **({"id": id} if id else {}))


def tool_call(name: str, arguments: dict | str, *, id: str | None = None,
              content: str = "", **options: Any) -> Reply:
    """A reply that calls one tool (optionally with some text before the call)."""
    return Reply(content=content, tool_calls=[call(name, arguments, id)], **options)


def tool_calls(*calls: ToolCallSpec | tuple, content: str = "", **options: Any) -> Reply:
    """A reply with several tool calls: `tool_calls(call("a", {...}), ("b", {...}))`."""
    specs = [c if isinstance(c, ToolCallSpec) else call(*c) for c in calls]
    return Reply(content=content, tool_calls=specs, **options)


def error(status: int, message: str | None = None, *, code: str | None = None,
          type: str | None = None, headers: dict[str, str] | None = None) -> Reply:
    """An HTTP error with an OpenAI-style error body."""
    defaults = {400: ("Bad request.", "invalid_request_error"),
                401: ("Incorrect API key provided.", "invalid_request_error"),
                404: ("Not found.", "invalid_request_error"),
                429: ("Rate limit reached for requests.", "requests"),
                500: ("The server had an error while processing your request.", "server_error"),
                502: ("Bad gateway.", "server_error"),
                503: ("The engine is currently overloaded.", "server_error")}
    default_message, default_type = defaults.get(status, ("Error.", "api_error"))
    body = {"error": {"message": message or default_message, "type": type or default_type,
                      "param": None, "code": code}}
    return Reply(kind="error", status=status, error_body=body, headers=dict(headers or {}))


def auth_error() -> Reply:
    return error(401, "Incorrect API key provided: sk-te***ey. You can find your API key "
                      "at https://platform.openai.com/account/api-keys.",
                 code="invalid_api_key")


def model_not_found(model: str | None = None) -> Reply:
    """404 naming the model (the requested one unless given), as OpenAI answers."""
    reply = error(404, None, code="model_not_found")
    reply.content = model or ""  # filled from the request when empty
    return reply


def hang(seconds: float, *, after_chunks: int | None = None, content: str = "partial answer "
         "that never finishes") -> Reply:
    """Say nothing for `seconds` (before the headers, or after some chunks), then close."""
    return Reply(kind="hang", seconds=seconds, after_chunks=after_chunks, content=content)


def cut_after(n_chunks: int, text: str = "This answer is cut off in the middle", **options: Any
              ) -> Reply:
    """Stream `n_chunks` content chunks, then drop the connection mid-body."""
    return Reply(kind="cut", content=text, after_chunks=n_chunks, **options)


def malformed(after_chunks: int = 1, text: str = "Some text before garbage") -> Reply:
    """Stream some good chunks, then one that is not JSON (a non-JSON body when not streaming)."""
    return Reply(kind="malformed", content=text, after_chunks=after_chunks)


# --- what the server records -----------------------------------------------------------

@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: dict | None
    received_at: float = 0.0  # time.monotonic() when the request arrived
    finished_at: float | None = None  # ... and when its answer was fully written

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


# --- the server ------------------------------------------------------------------------

class ScriptedOpenAIServer:
    def __init__(self, *, api_key: str | None = None, chunk_delay: float = 0.0,
                 default_text: str = "This is the default scripted reply.",
                 models: list[str] | None = None):
        self.api_key = api_key
        self.chunk_delay = chunk_delay
        self.default_text = default_text
        # None makes GET /models answer 404, like endpoints that offer no list
        self.models: list[str] | None = models if models is not None else [
            "gpt-4o-mini", "gpt-4o", "o3-mini"]
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0  # chat completions being answered now
        self.peak_in_flight = 0  # the most at once: proves runs overlap, or queue
        self.gate: threading.Barrier | None = None  # see hold_until_in_flight
        self._queue: deque[Reply] = deque()
        # A function of the request body giving its Reply (None: the queue's), for replies
        # that depend on what was sent: set with `respond_with`.
        self.responder: Any = None
        self._by_model: dict[str, deque[Reply]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.scripted = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name="scripted-openai")

    # lifecycle
    def start(self) -> "ScriptedOpenAIServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes hanging replies
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            conns = list(self._connections)
        for conn in conns:  # drop keep-alive connections the client still holds
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=5)

    def __enter__(self) -> "ScriptedOpenAIServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # scripting
    def script(self, *replies: Reply) -> "ScriptedOpenAIServer":
        """Queue replies; each chat completion request takes the next one."""
        with self._lock:
            self._queue.extend(replies)
        return self

    def respond_with(self, responder) -> "ScriptedOpenAIServer":
        """Answer each chat completion with `responder(body)` (a Reply, or None for the queue)."""
        self.responder = responder
        return self

    def hold_until_in_flight(self, n: int, timeout: float = 15.0) -> None:
        """Chat completions wait before answering until `n` are in flight at once (or
        `timeout` passes): proves the client really runs them concurrently, whatever the
        machine's speed."""
        self.gate = threading.Barrier(n, timeout=timeout)

    def script_for(self, model: str, *replies: Reply) -> "ScriptedOpenAIServer":
        """Queue replies for requests naming `model` (taken before the shared queue), so
        concurrent requests from several variants each get their own script."""
        with self._lock:
            self._by_model.setdefault(model, deque()).extend(replies)
        return self

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def _next_reply(self, model: str | None = None) -> Reply:
        with self._lock:
            if self._by_model.get(model or ""):
                return self._by_model[model].popleft()
            if self._queue:
                return self._queue.popleft()
        return text(self.default_text)

    # inspection
    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def answered_chat_requests(self, timeout: float = 5.0) -> list[RecordedRequest]:
        """The chat requests once each has been fully answered: the client can read the last
        byte a moment before the handler thread stamps `finished_at`."""
        deadline = time.monotonic() + timeout
        while any(r.finished_at is None for r in self.chat_requests):
            if time.monotonic() > deadline:
                raise AssertionError(f"a chat request was still being answered after {timeout} s")
            time.sleep(0.01)
        return self.chat_requests

    @property
    def last_request(self) -> RecordedRequest:
        return self.requests[-1]

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # chunked bodies, keep-alive: what the SDK expects
    server_version = "ScriptedOpenAI/1.0"

    @property
    def scripted(self) -> ScriptedOpenAIServer:
        return self.server.scripted  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output quiet
        pass

    def setup(self) -> None:
        super().setup()
        # Small SSE writes must leave at once; Nagle + delayed ACK would add ~40 ms stalls.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.scripted._lock:
            self.scripted._connections.add(self.connection)

    def handle(self) -> None:
        try:
            super().handle()
        except OSError:
            pass  # the client dropped a keep-alive connection (timeouts, cut tests)

    def finish(self) -> None:
        with self.scripted._lock:
            self.scripted._connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    # --- routing
    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        recorded = RecordedRequest(method, self.path, headers, body, received_at=time.monotonic())
        self.scripted._record(recorded)
        try:
            if not self._authorised(headers):
                self._send_json(401, error(401, "Incorrect API key provided.",
                                           code="invalid_api_key").error_body)
            elif method == "GET" and self.path.rstrip("/").endswith("/models"):
                self._models()
            elif method == "POST" and self.path.rstrip("/").endswith("/chat/completions"):
                with self.scripted._lock:
                    self.scripted.in_flight += 1
                    self.scripted.peak_in_flight = max(self.scripted.peak_in_flight, self.scripted.in_flight)
                try:
                    if self.scripted.gate is not None:
                        try:
                            self.scripted.gate.wait()
                        except threading.BrokenBarrierError:
                            pass  # timed out: answer anyway; the test sees the peak fall short
                    self._chat(body or {})
                finally:
                    with self.scripted._lock:
                        self.scripted.in_flight -= 1
            else:
                self._send_json(404, error(404, f"Unknown path {self.path}").error_body)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True  # the client went away (timeout, cancel)
        finally:
            recorded.finished_at = time.monotonic()

    def _authorised(self, headers: dict[str, str]) -> bool:
        key = self.scripted.api_key
        return key is None or headers.get("authorization") == f"Bearer {key}"

    def _models(self) -> None:
        models = self.scripted.models
        if models is None:
            self._send_json(404, error(404, "This endpoint does not list models.").error_body)
            return
        self._send_json(200, {"object": "list", "data": [
            {"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "scripted"}
            for m in models]})

    # --- chat completions
    def _chat(self, body: dict) -> None:
        responder = self.scripted.responder
        reply = (responder(body) if responder else None) or self.scripted._next_reply(body.get("model"))
        model = reply.model or body.get("model") or "scripted-model"
        stream = bool(body.get("stream"))
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        if reply.kind == "error":
            payload = json.loads(json.dumps(reply.error_body))
            if reply.error_body and reply.error_body["error"].get("code") == "model_not_found":
                name = reply.content or model
                payload["error"]["message"] = (f"The model `{name}` does not exist or you do "
                                               "not have access to it.")
            self._send_json(reply.status, payload, reply.headers)
            return
        if reply.kind == "hang" and reply.after_chunks is None:
            self.scripted._stopping.wait(reply.seconds)
            self.close_connection = True
            return
        if not stream:
            self._chat_json(reply, model)
            return
        self._chat_stream(reply, model, include_usage)

    def _chat_json(self, reply: Reply, model: str) -> None:
        if reply.kind == "cut":
            self.close_connection = True  # no response at all
            return
        if reply.kind == "malformed":
            data = b'{"id": "chatcmpl-x", "choices": [ {"message": '
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        message: dict[str, Any] = {"role": "assistant", "content": reply.content or None,
                                   "refusal": None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function",
                 "function": {"name": c.name, "arguments": c.arguments}}
                for c in reply.tool_calls]
        payload = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion",
            "created": int(time.time()), "model": model, "system_fingerprint": "fp_scripted",
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": reply.resolved_finish_reason()}],
        }
        usage_obj = self._usage_for(reply)
        if usage_obj is not None:
            payload["usage"] = usage_obj
        self._send_json(200, payload)

    def _usage_for(self, reply: Reply) -> dict | None:
        if reply.usage is None:
            return None
        if reply.usage is DEFAULT_USAGE:
            pieces = len(_split(reply.content, reply.chunk_size)) + sum(
                1 + len(_split(c.arguments, reply.chunk_size)) for c in reply.tool_calls)
            return usage(prompt=12, completion=max(pieces, 1))
        return reply.usage

    def _chat_stream(self, reply: Reply, model: str, include_usage: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        chunk_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        delay = self.scripted.chunk_delay if reply.delay is None else reply.delay

        def chunk(delta: dict | None, finish_reason: str | None = None,
                  usage_obj: dict | None = None, empty_choices: bool = False) -> dict:
            data: dict[str, Any] = {
                "id": chunk_id, "object": "chat.completion.chunk", "created": created,
                "model": model, "system_fingerprint": "fp_scripted",
                "choices": [] if empty_choices else [
                    {"index": 0, "delta": delta, "logprobs": None,
                     "finish_reason": finish_reason}],
            }
            if include_usage:
                data["usage"] = usage_obj  # null on every chunk but the last, as OpenAI does
            return data

        first_delta: dict[str, Any] = {"role": "assistant",
                                       "content": None if reply.tool_calls and not reply.content
                                       else "", "refusal": None}
        self._sse(chunk(first_delta))

        content_pieces = _split(reply.content, reply.chunk_size)
        for n, piece in enumerate(content_pieces):
            if reply.after_chunks is not None and n == reply.after_chunks:
                if self._fail_mid_stream(reply):
                    return
            if delay:
                time.sleep(delay)
            self._sse(chunk({"content": piece}))
        if reply.after_chunks is not None and reply.after_chunks >= len(content_pieces):
            if self._fail_mid_stream(reply):
                return

        for index, tc in enumerate(reply.tool_calls):
            # id, type and name first with empty arguments, then argument fragments
            self._sse(chunk({"tool_calls": [
                {"index": index, "id": tc.id, "type": "function",
                 "function": {"name": tc.name, "arguments": ""}}]}))
            for fragment in _split(tc.arguments, reply.chunk_size):
                if delay:
                    time.sleep(delay)
                self._sse(chunk({"tool_calls": [
                    {"index": index, "function": {"arguments": fragment}}]}))

        self._sse(chunk({}, finish_reason=reply.resolved_finish_reason()))
        usage_obj = self._usage_for(reply)
        if include_usage and usage_obj is not None:
            self._sse(chunk(None, usage_obj=usage_obj, empty_choices=True))
        self._write_chunk(b"data: [DONE]\n\n")
        self._write_chunk(b"")  # terminating zero-length chunk

    def _fail_mid_stream(self, reply: Reply) -> bool:
        """Apply a mid-stream failure; True when the response is over."""
        if reply.kind == "cut":
            self.wfile.flush()
            self.close_connection = True
            try:  # drop the socket without the terminating chunk: an incomplete body
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return True
        if reply.kind == "malformed":
            self._write_chunk(b'data: {"id": "chatcmpl-broken", "choices": [{"delta": \n\n')
            self._write_chunk(b"data: [DONE]\n\n")
            self._write_chunk(b"")
            return True
        if reply.kind == "hang":
            self.scripted._stopping.wait(reply.seconds)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return True
        return False

    # --- low-level writing
    def _sse(self, data: dict) -> None:
        self._write_chunk(b"data: " + json.dumps(data).encode() + b"\n\n")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None
                   ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()


def _split(value: str, size: int) -> list[str]:
    size = max(1, size)
    return [value[i:i + size] for i in range(0, len(value), size)]


@pytest.fixture()
def openai_server():
    """A fresh scripted server per test, on an ephemeral port, stopped afterwards."""
    server = ScriptedOpenAIServer().start()
    try:
        yield server
    finally:
        server.stop()
