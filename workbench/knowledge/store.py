"""Chroma: one collection per group, cosine space, always with our own embedding function.

Chroma's default embedding function downloads a model on first use, which fails offline, so
every collection is created and opened with `WorkbenchEmbeddingFunction`; we also pass
vectors explicitly (they were computed in batches already) and query by vector, so the
function is a guard rather than the hot path. Vectors are keyed by chunk row id ("c<id>"),
and every vector's metadata carries group_id and document_id: searches check group_id as a second guard
next to the per-group collection, and a document's vectors can be deleted by filter.

With WORKBENCH_CHROMA_HOST set, the same calls go to a Chroma server. Every request is bounded
by WORKBENCH_CHROMA_TIMEOUT_S (chromadb's HTTP client waits forever by default), and failures
surface as KnowledgeStoreError / KnowledgeStoreUnavailable with a plain message naming the
store, never as raw httpx or chromadb errors."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import httpx
import numpy as np
from chromadb.errors import ChromaError, NotFoundError

from ..errors import KnowledgeStoreError, KnowledgeStoreUnavailable, WorkbenchError
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
_sessions: dict[tuple, list[httpx.Client]] = {}  # HTTP connection pools, closed on reset
_collections: dict[tuple, Any] = {}
_max_batch: dict[tuple, int] = {}
_ef = WorkbenchEmbeddingFunction()

T = TypeVar("T")


def _client_key() -> tuple:
    s = get_settings()
    if s.chroma_host:
        return ("http", s.chroma_host, s.chroma_port, s.chroma_ssl)
    return ("local", str(s.chroma_path))


def location() -> str:
    """Where the knowledge store is, for messages: the server's host:port, or the folder."""
    s = get_settings()
    if not s.chroma_host:
        return str(s.chroma_path)
    if s.chroma_host.startswith(("http://", "https://")):  # a full URL carries its own port
        return s.chroma_host
    return f"{s.chroma_host}:{s.chroma_port}"


def _unreachable() -> KnowledgeStoreUnavailable:
    return KnowledgeStoreUnavailable(
        f"The knowledge store at {location()} cannot be reached. "
        "Check that the Chroma server is running.")


def _guarded(fn: Callable[..., T]) -> Callable[..., T]:
    """Turn transport and Chroma failures into the workbench's typed errors."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except WorkbenchError:
            raise
        except httpx.TimeoutException as exc:
            log.warning("knowledge store at %s timed out: %r", location(), exc)
            raise KnowledgeStoreUnavailable(
                f"The knowledge store at {location()} did not answer within "
                f"{get_settings().chroma_timeout_s:g} seconds.") from exc
        except httpx.TransportError as exc:
            log.warning("knowledge store at %s unreachable: %r", location(), exc)
            raise _unreachable() from exc
        except (ChromaError, httpx.HTTPStatusError) as exc:
            log.exception("knowledge store at %s failed", location())
            raise KnowledgeStoreError(
                f"The knowledge store at {location()} could not complete the request "
                f"({type(exc).__name__}: {exc}).") from exc

    return call


def _connect_http(host: str, port: int, ssl: bool, chroma_settings: Any):
    """An HttpClient whose every request has a timeout. chromadb builds its httpx session
    with timeout=None and talks to the server while constructing the client, so the server
    is asked for a heartbeat first (bounded), then the session gets our timeout."""
    import chromadb
    from chromadb.api.base_http_client import BaseHTTPClient

    seconds = float(get_settings().chroma_timeout_s)
    timeout = httpx.Timeout(seconds, connect=min(seconds, 5.0))
    url = BaseHTTPClient.resolve_url(chroma_server_host=host, chroma_server_http_port=port,
                                     chroma_server_ssl_enabled=ssl,
                                     default_api_path="/api/v2")
    try:
        reply = httpx.get(f"{url}/heartbeat", timeout=timeout)
    except httpx.InvalidURL as exc:
        raise _unreachable() from exc
    if reply.status_code != 200:
        raise KnowledgeStoreUnavailable(
            f"The knowledge store at {location()} answered HTTP {reply.status_code} "
            "instead of a Chroma heartbeat. Check WORKBENCH_CHROMA_HOST and _PORT.")
    try:
        client = chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=chroma_settings)
    except ValueError as exc:  # chromadb's "Could not connect to a Chroma server"
        raise _unreachable() from exc
    # the client's own pool, and its admin client's (used while connecting; chromadb never
    # closes either)
    sessions = [getattr(getattr(owner, "_server", None), "_session", None)
                for owner in (client, getattr(client, "_admin_client", None))]
    sessions = [x for x in sessions if isinstance(x, httpx.Client)]
    for session in sessions:
        session.timeout = timeout
    if not sessions:  # a chromadb that changed its internals: still works, without our timeout
        log.warning("could not set a timeout on the Chroma HTTP client")
    return client, sessions


@_guarded
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
                client, _sessions[key] = _connect_http(key[1], key[2], key[3], chroma_settings)
            else:
                path = get_settings().chroma_path
                path.mkdir(parents=True, exist_ok=True)
                client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
            _clients[key] = client
        return client


def reset_clients() -> None:
    """Forget cached clients and collections (tests point the data dir elsewhere). Also
    drops Chroma's own per-path system cache, which would otherwise keep every old
    folder's database open, and closes HTTP connection pools."""
    with _lock:
        for session in (x for pools in _sessions.values() for x in pools):
            try:
                session.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                log.debug("could not close a Chroma HTTP session", exc_info=True)
        _sessions.clear()
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


@_guarded
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


def _forget_collection(group_id: int) -> None:
    with _lock:
        _collections.pop((_client_key(), int(group_id)), None)


def _on_collection(group_id: int, op: Callable[[Any], T]) -> T:
    """Run `op` on the group's collection. A cached handle whose collection is gone (deleted
    on the server, or the server restarted on empty storage) is opened afresh once, so the
    store heals instead of failing every request until the app restarts."""
    try:
        return op(get_collection(group_id))
    except NotFoundError:
        log.warning("collection %s is gone from the knowledge store at %s; opening it again",
                    collection_name(group_id), location())
        _forget_collection(group_id)
        return op(get_collection(group_id))


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
        except KnowledgeStoreError:
            raise
        except Exception:  # noqa: BLE001 - older clients/servers: a safe default
            _max_batch[key] = 1000
    return _max_batch[key]


@_guarded
def upsert(group_id: int, ids: Sequence[str], vectors: np.ndarray, documents: Sequence[str],
           metadatas: Sequence[dict[str, Any]]) -> None:
    if not ids:
        return
    limit = _batch_limit()

    def op(col) -> None:
        for sl in _batches(len(ids), limit):
            col.upsert(ids=list(ids[sl]), embeddings=np.asarray(vectors[sl], dtype=np.float32),
                       documents=list(documents[sl]), metadatas=list(metadatas[sl]))

    _on_collection(group_id, op)


@_guarded
def delete_ids(group_id: int, ids: Sequence[str]) -> None:
    if ids:
        _on_collection(group_id, lambda col: col.delete(ids=list(ids)))


@_guarded
def get_document_vectors(group_id: int, document_id: int) -> dict[str, Any]:
    """A document's stored vectors (ids, embeddings, documents, metadatas) so a failed
    delete or re-index can put them back."""
    return _on_collection(group_id, lambda col: col.get(
        where={"$and": [{"group_id": int(group_id)}, {"document_id": int(document_id)}]},
        include=["embeddings", "documents", "metadatas"]))


def restore(group_id: int, saved: dict[str, Any]) -> None:
    ids = saved.get("ids") or []
    if ids:
        upsert(group_id, ids, np.asarray(saved["embeddings"], dtype=np.float32),
               saved["documents"], saved["metadatas"])


@_guarded
def delete_document(group_id: int, document_id: int) -> None:
    _on_collection(group_id, lambda col: col.delete(
        where={"$and": [{"group_id": int(group_id)}, {"document_id": int(document_id)}]}))


@_guarded
def count(group_id: int) -> int:
    return _on_collection(group_id, lambda col: col.count())


@_guarded
def query(group_id: int, vector: np.ndarray, k: int) -> list[tuple[str, float, dict[str, Any]]]:
    """Top-k (vector id, cosine distance, metadata) in this group only.

    The collection is the group's own; the group_id in each vector's metadata is checked as
    a second guard. It is checked on the results rather than passed as a Chroma `where`
    filter because a filter that matches every vector makes Chroma build an allow-list of
    the whole collection per query (measured: 2 ms -> 53 ms at 20k vectors). If a foreign
    vector ever shows up, the query is repeated with the filter, so the answer is still the
    group's true top-k."""
    gid = int(group_id)
    include = ["distances", "metadatas"]
    res = _on_collection(group_id, lambda col: col.query(
        query_embeddings=np.asarray([vector], dtype=np.float32), n_results=k, include=include))
    hits = _hits(res)
    if any(m.get("group_id") != gid for _, _, m in hits):
        log.error("collection %s holds vectors of another group; filtering",
                  collection_name(group_id))
        res = get_collection(group_id).query(
            query_embeddings=np.asarray([vector], dtype=np.float32), n_results=k,
            where={"group_id": gid}, include=include)
        hits = [h for h in _hits(res) if h[2].get("group_id") == gid]
    return hits


def _hits(res: dict[str, Any]) -> list[tuple[str, float, dict[str, Any]]]:
    ids = res["ids"][0] if res.get("ids") else []
    dists = res["distances"][0] if res.get("distances") else [0.0] * len(ids)
    metas = res["metadatas"][0] if res.get("metadatas") else [{}] * len(ids)
    return [(i, float(d), dict(m or {})) for i, d, m in zip(ids, dists, metas)]


@_guarded
def drop_group(group_id: int) -> None:
    """Remove a group's whole collection (used when a group is deleted)."""
    client = get_client()
    try:
        client.delete_collection(collection_name(group_id))
    except (NotFoundError, ValueError):  # nothing to drop; an unreachable server still raises
        pass
    _forget_collection(group_id)
