"""The knowledge store on a real Chroma server (WORKBENCH_CHROMA_HOST/_PORT), not the local
folder: a server subprocess from the installed chromadb (`chroma run`) on 127.0.0.1, the real
ingest / search / tool / delete / re-index flow against it, vectors checked through a raw
chromadb.HttpClient, and the errors a user sees when the server is down, hangs or restarts.

The test process may only connect to loopback addresses (a guard fails any other connection),
and chromadb's own downloading embedding function is booby-trapped: the workbench must embed
with its packaged model only."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from workbench import knowledge as kb
from workbench import settings
from workbench.db import session_scope
from workbench.errors import KnowledgeStoreUnavailable
from workbench.knowledge import embeddings, store
from workbench.models import Chunk, Document, Thing
from workbench.system import workspace

SERVER_START_S = 30.0  # a cold start here takes well under a second
SERVER_STOP_S = 10.0

# Runs `chroma run` through the Rust bindings chromadb ships (what its `chroma` script calls),
# so it is the same chromadb the workbench uses, with no PATH lookup and without importing
# the whole chromadb package. A watcher thread exits the server if its parent (pytest) dies
# without stopping it, so a killed CI job leaves no server behind.
_SERVER = r"""
import os, sys, threading, time
parent = os.getppid()
def watch():
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
import chromadb_rust_bindings
chromadb_rust_bindings.cli(["chroma", "run", "--path", sys.argv[1], "--host", "127.0.0.1",
                            "--port", sys.argv[2]])
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ChromaServer:
    """One `chroma run` subprocess on 127.0.0.1, storing under `path`."""

    def __init__(self, path: Path, port: int | None = None):
        self.path, self.port = path, port or free_port()
        self.log = path.with_suffix(".log")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ChromaServer":
        self.path.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-c", _SERVER, str(self.path), str(self.port)],
                                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        code = self.proc.poll()
        self.stop()
        raise RuntimeError(f"the Chroma server did not answer on {self.url} (exit code {code}); "
                           f"its log:\n{self.tail()}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(SERVER_STOP_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(SERVER_STOP_S)
        self.proc = None

    def tail(self, n: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else "(no log)"


def _server_cli_missing() -> str | None:
    try:
        import chromadb_rust_bindings  # the `chroma` command's server, shipped with chromadb
    except ImportError as exc:
        return f"the installed chromadb has no server ({exc})"
    if not hasattr(chromadb_rust_bindings, "cli"):
        return "the installed chromadb's Rust bindings have no `chroma run` command"
    return None


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    """A real Chroma server for this module, stopped at the end."""
    missing = _server_cli_missing()
    if missing:
        pytest.skip(f"cannot start a Chroma server here: {missing}")
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server") / "db").start()
    yield server
    server.stop()


@contextlib.contextmanager
def raw_client(server: ChromaServer):
    """A plain chromadb.HttpClient, to see what the server really holds."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.HttpClient(host="127.0.0.1", port=server.port,
                                 settings=ChromaSettings(anonymized_telemetry=False))
    try:
        yield client
    finally:  # chromadb never closes its connection pools (the client's and its admin's)
        client._server._session.close()
        client._admin_client._server._session.close()


def point_at(monkeypatch, port: int, timeout_s: float | None = None) -> None:
    monkeypatch.setenv("WORKBENCH_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("WORKBENCH_CHROMA_PORT", str(port))
    if timeout_s is not None:
        monkeypatch.setenv("WORKBENCH_CHROMA_TIMEOUT_S", str(timeout_s))
    settings.reset_settings()
    store.reset_clients()


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No connection leaves the machine, and chromadb's downloading embedder is never used."""
    real_connect = socket.socket.connect

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            if not ipaddress.ip_address(address[0]).is_loopback:
                raise AssertionError(f"the test tried to connect to {address}")
        return real_connect(sock, address)

    def no_download(*args, **kwargs):
        raise AssertionError("chromadb's default embedding function was used (it downloads a model)")

    from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(ONNXMiniLM_L6_V2, "__call__", no_download)
    monkeypatch.setattr(ONNXMiniLM_L6_V2, "_download_model_if_not_exists", no_download)
    embeddings.query_cache.clear()
    yield
    store.reset_clients()


@pytest.fixture()
def on_server(chroma_server, wb, monkeypatch):
    """The workbench pointed at the module's server, which starts every test empty (each
    test's fresh database numbers its groups from 1 again)."""
    point_at(monkeypatch, chroma_server.port)
    with raw_client(chroma_server) as client:
        for col in client.list_collections():
            client.delete_collection(col.name)
    yield wb
    store.reset_clients()


@pytest.fixture()
def raw(chroma_server):
    with raw_client(chroma_server) as client:
        yield client


WHALES = ("Blue whales are the largest animals ever known to have lived. They feed almost "
          "entirely on krill, tiny shrimp-like crustaceans, and can eat several tonnes a day. ")
BREAD = ("To bake sourdough bread, mix flour, water and salt with an active starter, let the "
         "dough rise slowly overnight, shape it, and bake it in a very hot Dutch oven. ")


def chunk_ids(document_id: int) -> set[str]:
    with session_scope() as s:
        return {store.vector_id(i) for i in s.scalars(select(Chunk.id).where(Chunk.document_id == document_id))}


def make_agent(group_id: int) -> int:
    with session_scope() as s:
        agent = Thing(group_id=group_id, type="agent", name="Helper", data={})
        s.add(agent)
        s.flush()
        return agent.id


# --- the whole flow on a server --------------------------------------------------------

def test_knowledge_flow_on_a_chroma_server(on_server, raw, data_dir):
    wb = on_server
    other = workspace.create_group(wb.person_id, "Other team").id
    shared = WHALES * 4 + "This copy belongs to group {}. "
    a = kb.ingest_files(wb.person_id, wb.group_id, [("a-whales.txt", shared.format("A").encode()),
                                                    ("bread.txt", (BREAD * 6).encode())])
    b = kb.ingest_files(wb.person_id, other, [("b-whales.txt", shared.format("B").encode()),
                                              ("bread.txt", (BREAD * 6).encode())])
    assert all(f.status == "added" for f in a.files + b.files), [f.message for f in a.files + b.files]
    a_docs, b_docs = {f.document_id for f in a.files}, {f.document_id for f in b.files}
    assert not (data_dir / "chroma").exists()  # nothing went to the local folder

    # the server holds one collection per group: cosine space, our embedder, group metadata
    for gid, batch in ((wb.group_id, a), (other, b)):
        col = raw.get_collection(store.collection_name(gid))
        conf = col.configuration_json
        assert conf["hnsw"]["space"] == "cosine"
        assert conf["embedding_function"]["name"] == store.EF_NAME
        assert col.metadata == {"group_id": gid}
        stored = col.get(include=["metadatas"])
        assert set(stored["ids"]) == set().union(*(chunk_ids(f.document_id) for f in batch.files))
        assert {m["group_id"] for m in stored["metadatas"]} == {gid}
        assert store.count(gid) == col.count() == sum(f.chunk_count for f in batch.files)

    # each group finds its own copy of the shared text and never the other's
    hits_a = kb.search(wb.person_id, wb.group_id, "what do blue whales eat", 20)
    hits_b = kb.search(wb.person_id, other, "what do blue whales eat", 20)
    assert hits_a and hits_b
    assert {h.document_id for h in hits_a} <= a_docs and {h.document_id for h in hits_b} <= b_docs
    assert hits_a[0].title == "a-whales.txt" and hits_b[0].title == "b-whales.txt"
    assert 0.3 < hits_a[0].score <= 1.0

    # the agent tool, bound to each group
    from workbench.tools.registry import ToolContext, builtin_tools

    tool = builtin_tools()["search_knowledge"]
    agent_b = make_agent(other)
    out_a = json.loads(tool.fn(ToolContext(wb.group_id, wb.person_id, wb.agent_id, 0),
                               query="sourdough starter", limit=5))
    out_b = json.loads(tool.fn(ToolContext(other, wb.person_id, agent_b, 0),
                               query="sourdough starter", limit=5))
    assert out_a[0]["title"] == out_b[0]["title"] == "bread.txt"
    assert {r["document_id"] for r in out_a} <= a_docs and {r["document_id"] for r in out_b} <= b_docs

    # a fresh process (new client, collections reopened by name) sees the same data
    store.reset_clients()
    assert [h.chunk_id for h in kb.search(wb.person_id, wb.group_id, "what do blue whales eat", 20)] \
        == [h.chunk_id for h in hits_a]

    # deleting A's bread removes its vectors from the server; B's identical copy stays
    a_bread = next(f.document_id for f in a.files if f.filename == "bread.txt")
    b_bread = next(f.document_id for f in b.files if f.filename == "bread.txt")
    a_bread_ids = chunk_ids(a_bread)
    kb.delete_document(wb.person_id, wb.group_id, a_bread)
    col_a = raw.get_collection(store.collection_name(wb.group_id))
    assert col_a.get(where={"document_id": a_bread})["ids"] == []
    assert col_a.get(ids=sorted(a_bread_ids))["ids"] == []
    assert len(raw.get_collection(store.collection_name(other)).get(where={"document_id": b_bread})["ids"]) \
        == kb.get_document(wb.person_id, other, b_bread).chunk_count
    assert all(h.document_id != a_bread for h in kb.search(wb.person_id, wb.group_id, "sourdough", 10))

    # re-index B's whale text with small chunks: the server holds exactly the new chunks
    b_whales = next(f.document_id for f in b.files if f.filename == "b-whales.txt")
    old_ids = chunk_ids(b_whales)
    info = kb.reindex_document(wb.person_id, other, b_whales, chunk_size=200, chunk_overlap=20)
    new_ids = chunk_ids(b_whales)
    assert info.chunk_count == len(new_ids) > len(old_ids)
    col_b = raw.get_collection(store.collection_name(other))
    got = col_b.get(where={"document_id": b_whales}, include=["metadatas", "documents"])
    assert set(got["ids"]) == new_ids
    assert all(m["group_id"] == other for m in got["metadatas"])
    assert hits_b[0].text not in got["documents"]  # the old 800-character chunks are gone
    hits = kb.search(wb.person_id, other, "what do blue whales eat", 3)
    assert hits[0].document_id == b_whales and len(hits[0].text) <= 200
    with session_scope() as s:
        assert s.scalar(select(func.count(Document.id))) == 3


def test_server_restart_and_deleted_collection(tmp_path, data_dir, monkeypatch):
    """A server that goes away gives a plain error; once it is back (same storage) the cached
    client works again; a collection deleted behind the workbench's back is recreated."""
    if _server_cli_missing():
        pytest.skip(f"cannot start a Chroma server here: {_server_cli_missing()}")
    server = ChromaServer(tmp_path / "db").start()
    try:
        point_at(monkeypatch, server.port)
        from workbench.system import bootstrap

        wb = bootstrap.init_app()
        doc = kb.add_snippet(wb.person_id, wb.group_id, "Whales", WHALES * 3).document_id
        assert kb.search(wb.person_id, wb.group_id, "krill", 3)[0].document_id == doc

        server.stop()
        with pytest.raises(KnowledgeStoreUnavailable) as err:
            kb.search(wb.person_id, wb.group_id, "krill", 3)
        assert err.value.user_message.startswith(
            f"The knowledge store at 127.0.0.1:{server.port} cannot be reached")

        server.start()  # same port, same storage
        assert kb.search(wb.person_id, wb.group_id, "krill", 3)[0].document_id == doc

        with raw_client(server) as raw:
            raw.delete_collection(store.collection_name(wb.group_id))
        assert kb.search(wb.person_id, wb.group_id, "krill", 3) == []  # gone, and no error
        bread = kb.ingest_files(wb.person_id, wb.group_id, [("bread.txt", BREAD.encode())]).files[0]
        assert bread.status == "added"
        assert kb.search(wb.person_id, wb.group_id, "sourdough", 3)[0].document_id == bread.document_id
    finally:
        server.stop()


# --- a server that is down or hangs ----------------------------------------------------

def test_server_down_gives_a_plain_error(wb, monkeypatch):
    port = free_port()  # nothing listens here
    point_at(monkeypatch, port)
    message = f"The knowledge store at 127.0.0.1:{port} cannot be reached. Check that the Chroma server is running."

    with pytest.raises(KnowledgeStoreUnavailable) as err:
        kb.search(wb.person_id, wb.group_id, "whales", 3)
    assert err.value.user_message == message
    assert isinstance(err.value.__cause__, httpx.ConnectError)

    with pytest.raises(KnowledgeStoreUnavailable) as err:  # the whole batch, before embedding
        kb.ingest_files(wb.person_id, wb.group_id, [("whales.txt", WHALES.encode())])
    assert err.value.user_message == message
    with pytest.raises(KnowledgeStoreUnavailable, match="cannot be reached"):
        kb.add_snippet(wb.person_id, wb.group_id, "Bread", BREAD)
    assert kb.list_documents(wb.person_id, wb.group_id) == []  # nothing stored

    from workbench.tools.registry import ToolContext, builtin_tools

    with pytest.raises(KnowledgeStoreUnavailable, match="cannot be reached"):  # the run shows it
        builtin_tools()["search_knowledge"].fn(ToolContext(wb.group_id, wb.person_id, wb.agent_id, 0),
                                          query="whales", limit=3)


def test_server_that_never_answers_times_out(wb, monkeypatch):
    """A port that accepts connections but never replies: every request is bounded by
    WORKBENCH_CHROMA_TIMEOUT_S (chromadb alone would wait forever)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    point_at(monkeypatch, listener.getsockname()[1], timeout_s=0.3)
    outcome: list[BaseException | None] = []

    def attempt():
        try:
            kb.search(wb.person_id, wb.group_id, "whales", 3)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=attempt, daemon=True)
    try:
        worker.start()
        worker.join(20)  # a liveness bound, not a timing assertion
        assert not worker.is_alive(), "the search hung on a server that never answers"
    finally:
        listener.close()
    assert isinstance(outcome[0], KnowledgeStoreUnavailable)
    assert outcome[0].user_message.endswith("did not answer within 0.3 seconds.")
