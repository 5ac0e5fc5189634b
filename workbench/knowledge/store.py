"""Chroma: one collection per group, cosine space, always with our own embedding function.

Chroma's default embedding function downloads a model on first use, which fails offline, so
every collection is created and opened with `WorkbenchEmbeddingFunction`; we also pass
vectors explicitly (they were computed in batches already) and query by vector, so the
function is a guard rather than the hot path. Vectors are keyed by chunk row id ("c<id>"),
and every vector's metadata carries group_id and document_id: searches check group_id as a second guard
next to the per-group collection, and a document's vectors can be deleted by filter."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..settings import get_settings
from . import embeddings

log = logging.getLogger(__name__)

EF_NAME = "workbench-minilm-l6-v2-onnx"

# chromadb 1.x stores the embedding function's name in the collection configuration and
# rebuilds it by that name on open, so ours is registered.
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function


@register_embedding_function
class WorkbenchEmbeddingFunction(EmbeddingFunction[Documents]):
    """The offline MiniLM embedder, wrapped for Chroma."""

    def __init__(self) -> None:  # no arguments: nothing to configure, nothing to download
        pass

    def __call__(self, input: Documents) -> Embeddings:
        return list(embeddings.embed_texts(list(input)))

    def embed_query(self, input: Documents) -> Embeddings:
        return [embeddings.embed_query(t) for t in input]

    @staticmethod
    def name() -> str:
        return EF_NAME

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine"]

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "WorkbenchEmbeddingFunction":
        return WorkbenchEmbeddingFunction()

    def get_config(self) -> dict[str, Any]:
        return {"model": embeddings.MODEL_ID, "dimensions": embeddings.DIMENSIONS}


_lock = threading.Lock()
_clients: dict[tuple, Any] = {}
_collections: dict[tuple, Any] = {}
_max_batch: dict[tuple, int] = {}
_ef = WorkbenchEmbeddingFunction()


def _client_key() -> tuple:
    s = get_settings()
    if s.chroma_host:
        return ("http", s.chroma_host, s.chroma_port, s.chroma_ssl)
    return ("local", str(s.chroma_path))


def get_client():
    """The Chroma client for the current settings, one per process (per location)."""
    key = _client_key()
    client = _clients.get(key)
    if client is not None:
        return client
    with _lock:
        client = _clients.get(key)
        if client is None:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            chroma_settings = ChromaSettings(anonymized_telemetry=False)
            if key[0] == "http":
                client = chromadb.HttpClient(host=key[1], port=key[2], ssl=key[3],
                                             settings=chroma_settings)
            else:
                path = get_settings().chroma_path
                path.mkdir(parents=True, exist_ok=True)
                client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
            _clients[key] = client
        return client


def reset_clients() -> None:
    """Forget cached clients and collections (tests point the data dir elsewhere). Also
    drops Chroma's own per-path system cache, which would otherwise keep every old
    folder's database open."""
    with _lock:
        _clients.clear()
        _collections.clear()
        _max_batch.clear()
        try:
            from chromadb.api.client import SharedSystemClient

            SharedSystemClient.clear_system_cache()
        except Exception:  # noqa: BLE001 - an internal API; losing it only costs memory
            log.debug("could not clear Chroma's system cache", exc_info=True)


def collection_name(group_id: int) -> str:
    return f"group_{int(group_id)}_knowledge"


def get_collection(group_id: int):
    """The group's collection, created on first use (cosine space, our embedding function)."""
    key = (_client_key(), int(group_id))
    col = _collections.get(key)
    if col is not None:
        return col
    client = get_client()
    col = client.get_or_create_collection(
        name=collection_name(group_id),
        configuration={"hnsw": {"space": "cosine"}},
        metadata={"group_id": int(group_id)},
        embedding_function=_ef,
    )
    with _lock:
        _collections[key] = col
    return col


def vector_id(chunk_id: int) -> str:
    return f"c{int(chunk_id)}"


def chunk_id_of(vid: str) -> int:
    return int(vid[1:])


def _batches(n: int, size: int):
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def _batch_limit() -> int:
    """Chroma's largest accepted batch (asked once per client: over HTTP it is a request)."""
    key = _client_key()
    if key not in _max_batch:
        try:
            _max_batch[key] = max(1, int(get_client().get_max_batch_size()))
        except Exception:  # noqa: BLE001 - older clients/servers: a safe default
            _max_batch[key] = 1000
    return _max_batch[key]


def upsert(group_id: int, ids: Sequence[str], vectors: np.ndarray, documents: Sequence[str],
           metadatas: Sequence[dict[str, Any]]) -> None:
    if not ids:
        return
    col = get_collection(group_id)
    limit = _batch_limit()
    for sl in _batches(len(ids), limit):
        col.upsert(ids=list(ids[sl]), embeddings=np.asarray(vectors[sl], dtype=np.float32),
                   documents=list(documents[sl]), metadatas=list(metadatas[sl]))


def delete_ids(group_id: int, ids: Sequence[str]) -> None:
    if ids:
        get_collection(group_id).delete(ids=list(ids))


def get_document_vectors(group_id: int, document_id: int) -> dict[str, Any]:
    """A document's stored vectors (ids, embeddings, documents, metadatas) so a failed
    delete or re-index can put them back."""
    return get_collection(group_id).get(
        where={"$and": [{"group_id": int(group_id)}, {"document_id": int(document_id)}]},
        include=["embeddings", "documents", "metadatas"])


def restore(group_id: int, saved: dict[str, Any]) -> None:
    ids = saved.get("ids") or []
    if ids:
        upsert(group_id, ids, np.asarray(saved["embeddings"], dtype=np.float32),
               saved["documents"], saved["metadatas"])


def delete_document(group_id: int, document_id: int) -> None:
    get_collection(group_id).delete(
        where={"$and": [{"group_id": int(group_id)}, {"document_id": int(document_id)}]})


def count(group_id: int) -> int:
    return get_collection(group_id).count()


def query(group_id: int, vector: np.ndarray, k: int) -> list[tuple[str, float, dict[str, Any]]]:
    """Top-k (vector id, cosine distance, metadata) in this group only.

    The collection is the group's own; the group_id in each vector's metadata is checked as
    a second guard. It is checked on the results rather than passed as a Chroma `where`
    filter because a filter that matches every vector makes Chroma build an allow-list of
    the whole collection per query (measured: 2 ms -> 53 ms at 20k vectors). If a foreign
    vector ever shows up, the query is repeated with the filter, so the answer is still the
    group's true top-k."""
    col = get_collection(group_id)
    gid = int(group_id)
    include = ["distances", "metadatas"]
    res = col.query(query_embeddings=np.asarray([vector], dtype=np.float32), n_results=k,
                    include=include)
    hits = _hits(res)
    if any(m.get("group_id") != gid for _, _, m in hits):
        log.error("collection %s holds vectors of another group; filtering",
                  collection_name(group_id))
        res = col.query(query_embeddings=np.asarray([vector], dtype=np.float32), n_results=k,
                        where={"group_id": gid}, include=include)
        hits = [h for h in _hits(res) if h[2].get("group_id") == gid]
    return hits


def _hits(res: dict[str, Any]) -> list[tuple[str, float, dict[str, Any]]]:
    ids = res["ids"][0] if res.get("ids") else []
    dists = res["distances"][0] if res.get("distances") else [0.0] * len(ids)
    metas = res["metadatas"][0] if res.get("metadatas") else [{}] * len(ids)
    return [(i, float(d), dict(m or {})) for i, d, m in zip(ids, dists, metas)]


def drop_group(group_id: int) -> None:
    """Remove a group's whole collection (used when a group is deleted)."""
    client = get_client()
    try:
        client.delete_collection(collection_name(group_id))
    except Exception:  # noqa: BLE001 - nothing to drop
        pass
    with _lock:
        _collections.pop((_client_key(), int(group_id)), None)
