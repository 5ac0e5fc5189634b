"""Reading and removing knowledge: a group's documents, one document and its chunks, counts,
and deleting a document with its chunks and vectors (all or nothing: if anything fails after
the vectors were taken out, they are put back)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select

from .. import events
from ..db import session_scope
from ..models import Chunk, Document, Person
from ..tenancy.access import require_access
from . import store
from ._shared import _get_doc, _info, _undo
from .results import ChunkInfo, DocumentInfo

# --- reading -----------------------------------------------------------------------

def list_documents(actor_id: int, group_id: int) -> list[DocumentInfo]:
    """The group's documents, newest first (without their text)."""
    with session_scope() as s:
        require_access(s, actor_id, group_id, "viewer")
        cols = [Document.id, Document.group_id, Document.name, Document.doc_type,
                Document.size_bytes, Document.content_hash, Document.chunk_count,
                Document.chunk_size, Document.chunk_overlap, Document.pages, Document.added_by,
                Person.name.label("added_by_name"), Document.added_at]
        rows = s.execute(select(*cols).outerjoin(Person, Person.id == Document.added_by)
                         .where(Document.group_id == group_id)
                         .order_by(Document.added_at.desc(), Document.id.desc())).all()
        return [DocumentInfo(id=r.id, group_id=r.group_id, name=r.name, doc_type=r.doc_type,
                             size_bytes=r.size_bytes, content_hash=r.content_hash,
                             chunk_count=r.chunk_count, chunk_size=r.chunk_size,
                             chunk_overlap=r.chunk_overlap,
                             page_count=len(r.pages) if r.pages else None,
                             added_by=r.added_by, added_by_name=r.added_by_name,
                             added_at=r.added_at) for r in rows]


def get_document(actor_id: int, group_id: int, document_id: int) -> DocumentInfo:
    with session_scope() as s:
        require_access(s, actor_id, group_id, "viewer")
        doc = _get_doc(s, group_id, document_id)
        person = s.get(Person, doc.added_by) if doc.added_by else None
        return _info(doc, person.name if person else None)


def get_chunks(actor_id: int, group_id: int, document_id: int, offset: int = 0,
               limit: int | None = 100) -> list[ChunkInfo]:
    """A document's chunks in order (a page of them for long documents)."""
    with session_scope() as s:
        require_access(s, actor_id, group_id, "viewer")
        _get_doc(s, group_id, document_id)
        q = (select(Chunk).where(Chunk.document_id == document_id, Chunk.group_id == group_id)
             .order_by(Chunk.position).offset(max(0, offset)))
        if limit is not None:
            q = q.limit(limit)
        return [ChunkInfo(c.id, c.document_id, c.position, c.text, c.start_char, c.page)
                for c in s.scalars(q)]


def knowledge_stats(actor_id: int, group_id: int) -> dict[str, int]:
    with session_scope() as s:
        require_access(s, actor_id, group_id, "viewer")
        docs, chunks = s.execute(select(func.count(Document.id), func.coalesce(
            func.sum(Document.chunk_count), 0)).where(Document.group_id == group_id)).one()
        return {"documents": int(docs), "chunks": int(chunks)}


# --- deleting ----------------------------------------------------------------------

def delete_document(actor_id: int, group_id: int, document_id: int) -> None:
    """Delete a document, its chunks and its vectors (all or nothing)."""
    saved: dict[str, Any] | None = None
    try:
        with session_scope() as s:
            require_access(s, actor_id, group_id, "editor")
            doc = _get_doc(s, group_id, document_id)
            events.record(s, "knowledge_deleted", group_id=group_id, actor_id=actor_id,
                          target_type="document", target_id=doc.id,
                          data={"name": doc.name, "doc_type": doc.doc_type,
                                "chunk_count": doc.chunk_count})
            s.execute(delete(Chunk).where(Chunk.document_id == doc.id))
            s.delete(doc)
            s.flush()
            saved = store.get_document_vectors(group_id, document_id)
            store.delete_document(group_id, document_id)
    except BaseException:
        if saved is not None:
            _undo("restore deleted vectors", lambda: store.restore(group_id, saved))
        raise
