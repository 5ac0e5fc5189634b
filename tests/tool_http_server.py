"""A small HTTP server on 127.0.0.1 for the HTTP tool tests: JSON and text answers, an echo of
the request (headers included, so a leaked secret would show), a slow answer, an endless
one, a big one, redirects and errors."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/json", extra: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _echo(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        seen = {"method": self.command, "path": urlsplit(self.path).path,
                "query": {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()},
                "headers": dict(self.headers.items()), "body": json.loads(body) if body else None}
        self.server.seen.append(seen)
        return seen

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the tool gave up first (timeouts, size caps): expected here

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def _dispatch(self):
        seen = self._echo()
        path, query = seen["path"], seen["query"]
        if path.startswith("/weather/"):
            self._send(200, json.dumps({"city": path.split("/")[-1], "days": query.get("days"),
                                        "forecast": "sunny"}).encode())
        elif path == "/echo":
            self._send(200, json.dumps(seen).encode())
        elif path == "/fail":
            self._send(500, ("Internal error; you sent " + json.dumps(seen["headers"])).encode(), "text/plain")
        elif path == "/text":
            self._send(200, b"plain words", "text/plain; charset=utf-8")
        elif path == "/big":
            self._send(200, b"x" * 50_000, "text/plain")
        elif path == "/slow":
            time.sleep(float(query.get("s", "3")))
            self._send(200, b'{"late": true}')
        elif path == "/redirect":
            self._send(int(query.get("code", "302")), b"", extra={"Location": query["to"]})
        else:
            self._send(404, b'{"error": "no such path"}')


class ToolHttpServer:
    def __init__(self):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.seen = []
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def seen(self) -> list[dict]:
        return self.httpd.seen

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
