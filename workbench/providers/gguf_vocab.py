"""The built-in model's tokenizer, read from its GGUF file's metadata (no weights, no
llama.cpp): Qwen2's byte-level BPE rebuilt with the `tokenizers` package, for offline
token estimates. Reading the 151k-token vocabulary and its merges takes ~1 s once."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

# Qwen2's pre-tokenizer split (as in its tokenizer.json and llama.cpp's "qwen2" pre type).
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+"
               r"[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q",
            11: "<q", 12: "<d"}
_WANTED = ("tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens",
           "tokenizer.ggml.merges")


def _string(fh: BinaryIO) -> str:
    (length,) = struct.unpack("<Q", fh.read(8))
    return fh.read(length).decode("utf-8", "replace")


def _value(fh: BinaryIO, kind: int) -> Any:
    if kind == 8:
        return _string(fh)
    if kind == 9:
        item_kind, count = struct.unpack("<IQ", fh.read(12))
        if item_kind == 8:
            return [_string(fh) for _ in range(count)]
        fmt = _SCALARS[item_kind]
        size = struct.calcsize(fmt)
        data = fh.read(size * count)
        return [v[0] for v in struct.iter_unpack(fmt, data)]
    fmt = _SCALARS[kind]
    return struct.unpack(fmt, fh.read(struct.calcsize(fmt)))[0]


def read_metadata(path: Path, keys: tuple[str, ...] = _WANTED) -> dict[str, Any]:
    """The GGUF key/values named in `keys` (the others are read past)."""
    found: dict[str, Any] = {}
    with path.open("rb") as fh:
        magic, version = fh.read(4), struct.unpack("<I", fh.read(4))[0]
        if magic != b"GGUF" or version < 2:
            raise ValueError(f"{path} is not a GGUF v2+ file")
        _tensors, n_kv = struct.unpack("<QQ", fh.read(16))
        for _ in range(n_kv):
            key = _string(fh)
            (kind,) = struct.unpack("<I", fh.read(4))
            value = _value(fh, kind)
            if key in keys:
                found[key] = value
                if len(found) == len(keys):
                    break
    return found


def load_tokenizer(path: Path) -> Any:
    """A `tokenizers.Tokenizer` equal to the GGUF's byte-level BPE vocabulary."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

    meta = read_metadata(path)
    if meta.get("tokenizer.ggml.model") != "gpt2" or "tokenizer.ggml.merges" not in meta:
        raise ValueError(f"{path} has no byte-level BPE vocabulary")
    vocab = {token: i for i, token in enumerate(meta["tokenizer.ggml.tokens"])}
    merges = [tuple(m.split(" ", 1)) for m in meta["tokenizer.ggml.merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    return tok
