"""Adding knowledge: files and pasted snippets are parsed, chunked, embedded and stored, and a
document can be re-indexed with new chunk settings.

Rows and vectors are written so that a failure leaves neither half done: embeddings are
computed before any transaction opens (so the SQLite write lock is held for milliseconds, not
seconds), rows are flushed first (surfacing DB errors before Chroma is touched), vectors are
written, then the transaction commits; if anything fails after the vectors went in, they are
taken out again (and, for re-index, the old ones put back)."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import PurePath
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import events
from ..db import session_scope
from ..errors import IngestError, ValidationError, WorkbenchError
from ..models import Chunk, Document, Person
from ..settings import get_settings
from ..tenancy.access import require_access
from . import chunking, embeddings, parsing, store
from ._shared import _get_doc, _info, _undo
from .chunking import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, Piece
from .parsing import format_size
from .results import BatchResult, DocumentInfo, FileResult, Progress, ProgressFn

log = logging.getLogger(__name__)

MAX_TITLE = 300
SNIPPET = "snippet"

# share of one file's progress bar each stage takes (embedding dominates)
_STAGES = {"parse": (0.0, 0.08), "chunk": (0.08, 0.1), "embed": (0.1, 0.95), "store": (0.95, 1.0)}


# --- internals ---------------------------------------------------------------------

def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _max_bytes() -> int:
    return int(get_settings().max_upload_mb * 1024 * 1024)


def _find_by_hash(s: Session, group_id: int, content_hash: str) -> Document | None:
    return s.scalar(select(Document).where(Document.group_id == group_id,
                                           Document.content_hash == content_hash))


def _metadata(group_id: int, document_id: int, chunk: Chunk) -> dict[str, Any]:
    meta: dict[str, Any] = {"group_id": group_id, "document_id": document_id,
                            "chunk_id": chunk.id, "position": chunk.position}
    if chunk.start_char is not None:
        meta["start_char"] = chunk.start_char
    if chunk.page is not None:  # Chroma metadata cannot hold None
        meta["page"] = chunk.page
    return meta


def _new_chunks(s: Session, doc: Document, pieces: Sequence[Piece]) -> list[Chunk]:
    rows = [Chunk(document_id=doc.id, group_id=doc.group_id, position=p.position, text=p.text,
                  start_char=p.start_char, page=p.page) for p in pieces]
    s.add_all(rows)
    s.flush()
    return rows


def _embed(pieces: Sequence[Piece], on_progress: Callable[[float], None] | None = None
           ) -> np.ndarray:
    cb = (lambda done, total: on_progress(done / total)) if on_progress else None
    return embeddings.embed_texts([p.text for p in pieces], progress=cb)


class _Duplicate(Exception):
    def __init__(self, name: str, document_id: int):
        super().__init__(name)
        self.name = name
        self.document_id = document_id


def _write_document(actor_id: int, group_id: int, *, name: str, doc_type: str, size_bytes: int,
                    content_hash: str, text: str, pages: list[int] | None, chunk_size: int,
                    chunk_overlap: int, pieces: Sequence[Piece], vectors: np.ndarray) -> int:
    """Rows and vectors of one new document, all or nothing. Returns the document id."""
    written: list[str] = []
    try:
        with session_scope() as s:
            require_access(s, actor_id, group_id, "editor")
            existing = _find_by_hash(s, group_id, content_hash)
            if existing is not None:
                raise _Duplicate(existing.name, existing.id)
            doc = Document(group_id=group_id, name=name, doc_type=doc_type, size_bytes=size_bytes,
                           content_hash=content_hash, text=text, pages=pages,
                           chunk_size=chunk_size, chunk_overlap=chunk_overlap,
                           chunk_count=len(pieces), added_by=actor_id)
            s.add(doc)
            try:
                s.flush()
            except IntegrityError:  # the same content was added by someone a moment ago
                s.rollback()
                other = _find_by_hash(s, group_id, content_hash)
                raise _Duplicate(other.name if other else name, other.id if other else 0) from None
            rows = _new_chunks(s, doc, pieces)
            events.record(s, "knowledge_added", group_id=group_id, actor_id=actor_id,
                          target_type="document", target_id=doc.id,
                          data={"name": name, "doc_type": doc_type, "size_bytes": size_bytes,
                                "chunk_count": len(rows), "chunk_size": chunk_size,
                                "chunk_overlap": chunk_overlap})
            s.flush()
            ids = [store.vector_id(c.id) for c in rows]
            written = ids
            store.upsert(group_id, ids, vectors, [c.text for c in rows],
                         [_metadata(group_id, doc.id, c) for c in rows])
            document_id = doc.id
        return document_id  # committed
    except BaseException:
        if written:
            _undo("remove new vectors", lambda: store.delete_ids(group_id, written))
        raise


def _check_editor(actor_id: int, group_id: int) -> None:
    with session_scope() as s:
        require_access(s, actor_id, group_id, "editor")


def _duplicate_of(actor_id: int, group_id: int, content_hash: str) -> tuple[str, int] | None:
    with session_scope() as s:
        require_access(s, actor_id, group_id, "editor")
        doc = _find_by_hash(s, group_id, content_hash)
        return (doc.name, doc.id) if doc else None


def _clean_name(filename: str) -> str:
    name = PurePath((filename or "").replace("\\", "/")).name.strip() or "untitled"
    return name[:MAX_TITLE]


# --- adding ------------------------------------------------------------------------

def ingest_files(actor_id: int, group_id: int, files: Sequence[tuple[str, bytes]],
                 chunk_size: int = DEFAULT_CHUNK_SIZE, chunk_overlap: int = DEFAULT_CHUNK_OVERLAP,
                 progress: ProgressFn | None = None) -> BatchResult:
    """Parse, chunk, embed and store each file. A bad file is reported by name (status
    "error" with an IngestError) and the rest of the batch still goes in; a file whose
    content is already in the group is reported as "duplicate"."""
    chunk_size, chunk_overlap = chunking.validate_settings(chunk_size, chunk_overlap)
    _check_editor(actor_id, group_id)
    store.get_collection(group_id)  # an unreachable store fails now, not after embedding
    started = time.perf_counter()
    files = list(files)
    sizes = [max(1, len(data)) for _, data in files]
    total = float(sum(sizes)) or 1.0
    done_bytes = 0.0
    results: list[FileResult] = []
    for index, (raw_name, data) in enumerate(files):
        name = _clean_name(raw_name)

        def report(stage: str, within: float = 1.0, message: str = "", *, _i=index, _n=name,
                   _done=done_bytes, _size=sizes[index]) -> None:
            if progress is None:
                return
            lo, hi = _STAGES.get(stage, (1.0, 1.0))
            frac = lo + (hi - lo) * min(1.0, max(0.0, within))
            progress(Progress(_n, _i, len(files), stage, frac, (_done + _size * frac) / total,
                              message))

        result = _ingest_one(actor_id, group_id, name, data, chunk_size, chunk_overlap, report)
        results.append(result)
        done_bytes += sizes[index]
        if progress is not None:
            progress(Progress(name, index, len(files), result.status, 1.0, done_bytes / total,
                              result.message))
    return BatchResult(results, time.perf_counter() - started)


def _ingest_one(actor_id: int, group_id: int, name: str, data: bytes, chunk_size: int,
                chunk_overlap: int, report: Callable[..., None]) -> FileResult:
    timings: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        report("parse", 0.0)
        parsing.check_size(name, len(data), _max_bytes())
        content_hash = _hash(data)
        dup = _duplicate_of(actor_id, group_id, content_hash)
        if dup is not None:
            return _duplicate_result(name, *dup)
        parsed = parsing.parse(name, data, max_bytes=_max_bytes())
        timings["parse"] = time.perf_counter() - t0
        report("chunk", 0.0)
        t0 = time.perf_counter()
        pieces = chunking.split(parsed.text, chunk_size, chunk_overlap, parsed.pages)
        timings["chunk"] = time.perf_counter() - t0
        report("embed", 0.0, f"{len(pieces)} chunks")
        t0 = time.perf_counter()
        vectors = _embed(pieces, lambda f: report("embed", f, f"{len(pieces)} chunks"))
        timings["embed"] = time.perf_counter() - t0
        report("store", 0.0)
        t0 = time.perf_counter()
        doc_id = _write_document(actor_id, group_id, name=name, doc_type=parsed.doc_type,
                                 size_bytes=len(data), content_hash=content_hash,
                                 text=parsed.text, pages=parsed.pages, chunk_size=chunk_size,
                                 chunk_overlap=chunk_overlap, pieces=pieces, vectors=vectors)
        timings["store"] = time.perf_counter() - t0
        return FileResult(name, "added", doc_id, len(pieces),
                          f"{name}: added ({parsing.count(len(pieces), 'chunk')}).", timings=timings)
    except _Duplicate as dup:
        return _duplicate_result(name, dup.name, dup.document_id)
    except IngestError as err:
        return FileResult(name, "error", message=err.user_message, error=err, timings=timings)
    except WorkbenchError as err:  # e.g. access revoked mid-batch
        ie = IngestError(name, err.user_message)
        return FileResult(name, "error", message=ie.user_message, error=ie, timings=timings)
    except Exception as exc:  # noqa: BLE001 - one broken file must not sink the batch
        log.exception("ingesting %s failed", name)
        ie = IngestError(name, f"it could not be added ({type(exc).__name__}); nothing was stored.")
        return FileResult(name, "error", message=ie.user_message, error=ie, timings=timings)


def _duplicate_result(name: str, existing: str, document_id: int) -> FileResult:
    return FileResult(name, "duplicate", document_id=document_id, existing_name=existing,
                      message=f"{name}: already in the knowledge base as {existing}.")


def add_snippet(actor_id: int, group_id: int, title: str, text: str,
                chunk_size: int = DEFAULT_CHUNK_SIZE, chunk_overlap: int = DEFAULT_CHUNK_OVERLAP
                ) -> FileResult:
    """Add pasted text as a document named `title` (dedupes on the text like files do)."""
    errors: dict[str, str] = {}
    title = (title or "").strip()
    text = parsing.normalise(text or "")
    if not title:
        errors["title"] = "Give the snippet a title."
    elif len(title) > MAX_TITLE:
        errors["title"] = f"At most {MAX_TITLE} characters."
    if not text.strip():
        errors["text"] = "Paste some text."
    elif len(text.encode("utf-8")) > _max_bytes():
        errors["text"] = f"At most {format_size(_max_bytes())}."
    if errors:
        raise ValidationError(field_errors=errors)
    chunk_size, chunk_overlap = chunking.validate_settings(chunk_size, chunk_overlap)
    data = text.encode("utf-8")
    content_hash = _hash(data)
    dup = _duplicate_of(actor_id, group_id, content_hash)
    if dup is not None:
        return _duplicate_result(title, *dup)
    pieces = chunking.split(text, chunk_size, chunk_overlap)
    vectors = _embed(pieces)
    try:
        doc_id = _write_document(actor_id, group_id, name=title, doc_type=SNIPPET,
                                 size_bytes=len(data), content_hash=content_hash, text=text,
                                 pages=None, chunk_size=chunk_size, chunk_overlap=chunk_overlap,
                                 pieces=pieces, vectors=vectors)
    except _Duplicate as d:
        return _duplicate_result(title, d.name, d.document_id)
    return FileResult(title, "added", doc_id, len(pieces),
                      f"{title}: added ({parsing.count(len(pieces), 'chunk')}).")


# --- re-indexing -------------------------------------------------------------------

def reindex_document(actor_id: int, group_id: int, document_id: int, chunk_size: int,
                     chunk_overlap: int, progress: Callable[[float], None] | None = None
                     ) -> DocumentInfo:
    """Re-chunk and re-embed a document with new settings (from its stored text); the old
    chunks stay until the new ones are safely in."""
    chunk_size, chunk_overlap = chunking.validate_settings(chunk_size, chunk_overlap)
    with session_scope() as s:
        require_access(s, actor_id, group_id, "editor")
        doc = _get_doc(s, group_id, document_id)
        text, pages = doc.text, doc.pages
    store.get_collection(group_id)  # an unreachable store fails now, not after embedding
    pieces = chunking.split(text, chunk_size, chunk_overlap, pages)
    vectors = _embed(pieces, progress)
    saved: dict[str, Any] | None = None
    written: list[str] = []
    try:
        with session_scope() as s:
            require_access(s, actor_id, group_id, "editor")
            doc = _get_doc(s, group_id, document_id)
            before = {"chunk_size": doc.chunk_size, "chunk_overlap": doc.chunk_overlap,
                      "chunk_count": doc.chunk_count}
            s.execute(delete(Chunk).where(Chunk.document_id == doc.id))
            rows = _new_chunks(s, doc, pieces)
            doc.chunk_size, doc.chunk_overlap, doc.chunk_count = chunk_size, chunk_overlap, len(rows)
            events.record(s, "knowledge_reindexed", group_id=group_id, actor_id=actor_id,
                          target_type="document", target_id=doc.id,
                          data={"name": doc.name, "before": before,
                                "after": {"chunk_size": chunk_size, "chunk_overlap": chunk_overlap,
                                          "chunk_count": len(rows)}})
            s.flush()
            saved = store.get_document_vectors(group_id, document_id)
            store.delete_document(group_id, document_id)
            # chunk ids may be reused by SQLite, so old vectors go before new ones come in
            written = [store.vector_id(c.id) for c in rows]
            store.upsert(group_id, written, vectors, [c.text for c in rows],
                         [_metadata(group_id, doc.id, c) for c in rows])
            person = s.get(Person, doc.added_by) if doc.added_by else None
            info = _info(doc, person.name if person else None)
        return info
    except BaseException:
        if written:
            _undo("remove new vectors", lambda: store.delete_ids(group_id, written))
        if saved is not None:
            _undo("restore old vectors", lambda: store.restore(group_id, saved))
        raise
