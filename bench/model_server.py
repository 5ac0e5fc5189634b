"""A local streaming model server for the benchmarks, run in its own process as a real
model server is: its work then does not compete with the client's for one interpreter.

It is the tests' scripted OpenAI-compatible server; the reply is chosen by the requested
model name (REPLIES). Started by `start()`, which returns the base URL and the process.

    python bench/model_server.py      # prints the base URL, serves until stdin closes
"""

from __future__ import annotations

import subprocess
import sys
from http.server import ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.scripted_openai import ScriptedOpenAIServer, text

SHORT_TEXT = "Hello there, this is a short reply."
LONG_CHUNKS = 2000
LONG_TEXT = "".join(f"t{i} " for i in range(LONG_CHUNKS))
SLOW_TEXT = "".join(f"word{i} " for i in range(40))  # 40 chunks, 50 ms apart: about 2 s
PACED_TEXT = "w1 w2 w3 w4 "  # a word every 0.5 s: a model taking 2 s per reply

REPLIES = {
    "short": lambda: text(SHORT_TEXT, chunk_size=8),
    "long": lambda: text(LONG_TEXT, chunk_size=len("t0 ")),  # as fast as the server can
    "slow": lambda: text(SLOW_TEXT, chunk_size=len("wordNN "), delay=0.05),
    "paced": lambda: text(PACED_TEXT, chunk_size=len("w1 "), delay=0.5),
}


class ModelServer(ScriptedOpenAIServer):
    def _next_reply(self, model: str | None = None):
        self.requests.clear()  # a benchmark sends thousands; nothing reads them here
        return REPLIES.get(model or "", REPLIES["short"])()


def start() -> tuple[str, subprocess.Popen]:
    """Start the server process; returns (base URL, process). Close its stdin to stop it."""
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve())], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    return proc.stdout.readline().strip(), proc


if __name__ == "__main__":
    # A real server's listen backlog: socketserver's default (5) drops connections opened in
    # a burst (the clients then wait a 1 s SYN retry, or read a reset).
    ThreadingHTTPServer.request_queue_size = 1024
    server = ModelServer().start()
    print(server.base_url, flush=True)
    sys.stdin.read()  # until the benchmark closes our stdin (or exits)
    server.stop()
