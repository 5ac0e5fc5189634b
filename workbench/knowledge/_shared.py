"""Small helpers the knowledge modules share: find a group's document (another group's does
not exist here), describe it as a DocumentInfo, and run a compensating action after a failed
write without hiding the first error."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

from ..errors import DocumentNotFound
from ..models import Document
from .results import DocumentInfo

log = logging.getLogger(__name__)


def _get_doc(s: Session, group_id: int, document_id: int) -> Document:
    doc = s.get(Document, document_id)
    if doc is None or doc.group_id != group_id:  # another group's document does not exist here
        raise DocumentNotFound()
    return doc


def _info(doc: Document, added_by_name: str | None) -> DocumentInfo:
    return DocumentInfo(
        id=doc.id, group_id=doc.group_id, name=doc.name, doc_type=doc.doc_type,
        size_bytes=doc.size_bytes, content_hash=doc.content_hash, chunk_count=doc.chunk_count,
        chunk_size=doc.chunk_size, chunk_overlap=doc.chunk_overlap,
        page_count=len(doc.pages) if doc.pages else None, added_by=doc.added_by,
        added_by_name=added_by_name, added_at=doc.added_at)


def _undo(label: str, fn: Callable[[], None]) -> None:
    """Run a compensating action; its own failure is logged, never hides the first error."""
    try:
        fn()
    except Exception:  # noqa: BLE001
        log.exception("could not %s after a failed knowledge write", label)
