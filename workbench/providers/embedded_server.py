"""The built-in model served by llama.cpp's own server (xllamacpp) inside the app process,
on 127.0.0.1 at a free port: an OpenAI-compatible endpoint the ordinary provider talks to.

Started lazily by the first call that needs it, one per process, stopped at exit. It
batches several chats at once (`n_parallel` slots, each with its own context window).
Importing this module does not import xllamacpp; starting the server does."""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

from ..errors import ProviderUnavailable
from ..settings import get_settings
from .builtin_model import ModelFile, model_file, model_id

log = logging.getLogger(__name__)

# llama.cpp's OpenMP workers spin while they wait for each other; on a shared CPU (the app
# server, embeddings, other processes) a spinning worker that loses its core stalls every
# token. libgomp reads this once when xllamacpp loads it; an explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@dataclass(frozen=True)
class Running:
    url: str  # http://127.0.0.1:PORT (append /v1 for the OpenAI API)
    file: ModelFile
    load_s: float
    slots: int
    slot_context: int
    threads: int


_lock = threading.Lock()
_server: Any = None  # the xllamacpp.Server; kept referenced so it stays up
_running: Running | None = None
# Set while stopping: the provider closes its streams, so the server sees the clients gone
# and drops their work (its destructor otherwise waits for every reply to finish: 30 s).
stopping = threading.Event()
STOP_GRACE_S = 0.5  # streams notice `stopping` at their next token (~30-100 ms)


def _params(xllamacpp: Any, file: ModelFile) -> Any:
    settings = get_settings()
    slots = settings.local_model_slots
    params = xllamacpp.CommonParams()
    params.model.path = str(file.path)
    params.model_alias = {model_id()}
    params.n_parallel = slots
    params.n_ctx = settings.local_model_context * slots  # split evenly between the slots
    params.cpuparams.n_threads = settings.local_model_threads
    params.cpuparams_batch.n_threads = settings.local_model_threads
    params.cpuparams.poll = params.cpuparams_batch.poll = max(0, min(100, settings.local_model_poll))
    params.port = 0  # a free port, chosen by the OS
    params.warmup = False  # a warm-up decode costs ~1 s for nothing the first reply needs
    params.verbosity = -1  # errors only: llama.cpp logs every slot event otherwise
    return params


def ensure_started() -> Running:
    """The running server, started on first use (~2 s). Raises ProviderUnavailable when
    xllamacpp is missing or the model cannot be loaded, ModelFileRefused for a bad file."""
    global _server, _running
    if _running is not None:
        return _running
    with _lock:
        if _running is not None:
            return _running
        try:
            import xllamacpp
        except ImportError as exc:
            raise ProviderUnavailable(
                "The built-in model needs the xllamacpp package, which is not installed.",
                cause=exc) from exc
        file = model_file()
        params = _params(xllamacpp, file)
        started = time.perf_counter()
        try:
            server = xllamacpp.Server(params)
            url = server.listening_address.rstrip("/")
        except Exception as exc:  # noqa: BLE001 - the binding raises plain RuntimeErrors
            raise ProviderUnavailable(
                f"The built-in model could not be loaded from {file.path}: {exc}",
                cause=exc) from exc
        _server = server
        _running = Running(url=url, file=file, load_s=time.perf_counter() - started,
                           slots=params.n_parallel, slot_context=params.n_ctx // params.n_parallel,
                           threads=params.cpuparams.n_threads)
        atexit.register(shutdown)
        log.info("Built-in model %s serving at %s (loaded in %.1f s)", file.path.name, url,
                 _running.load_s)
        return _running


def running() -> Running | None:
    """The server if this process has started it, else None (never starts it)."""
    return _running


def base_url() -> str:
    return ensure_started().url + "/v1"


def tokenize(text: str, timeout_s: float = 5.0) -> list[int]:
    """Token ids from the running server's /tokenize (starts the server if needed)."""
    request = urllib.request.Request(
        ensure_started().url + "/tokenize", data=json.dumps({"content": text}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - loopback
        return list(json.loads(response.read())["tokens"])


def shutdown() -> None:
    """Stop the server (at exit, or tests). Its destructor joins llama.cpp's threads."""
    global _server, _running
    with _lock:
        server, _server, _running = _server, None, None
    if server is not None:
        stopping.set()
        time.sleep(STOP_GRACE_S)
        del server
        stopping.clear()
