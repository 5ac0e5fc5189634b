"""The knowledge service: add files and snippets, list, preview, delete, re-index, search.

Every public function takes the acting person and checks membership first (viewer to read,
editor to write). Rows and vectors are written so that a failure leaves neither half done:
embeddings are computed before any transaction opens (so the SQLite write lock is held for
milliseconds, not seconds), rows are flushed first (surfacing DB errors before Chroma is
touched), vectors are written, then the transaction commits; if anything fails after the
vectors went in, they are taken out again (and, for delete/re-index, the old ones put
back)."""

from __future__ import annotations

import hashlib
import html
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import PurePath
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import events
from ..db import session_scope
from ..errors import AccessDenied, DocumentNotFound, IngestError, ValidationError, WorkbenchError
from ..groups import require_access
from ..models import Chunk, Document, Person, Thing
from ..settings import get_settings
from . import chunking, embeddings, parsing, store
from .chunking import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, Piece
from .parsing import format_size

log = logging.getLogger(__name__)

MAX_SEARCH_K = 20
MAX_TITLE = 300
SNIPPET = "snippet"

# share of one file's progress bar each stage takes (embedding dominates)
_STAGES = {"parse": (0.0, 0.08), "chunk": (0.08, 0.1), "embed": (0.1, 0.95), "store": (0.95, 1.0)}


# --- results -----------------------------------------------------------------------

@dataclass(frozen=True)
class Progress:
    """One progress report; `file_fraction` and `batch_fraction` are 0..1 for two bars."""

    filename: str
    file_index: int
    file_count: int
    stage: str  # parse | chunk | embed | store | done | duplicate | error
    file_fraction: float
    batch_fraction: float
    message: str = ""


ProgressFn = Callable[[Progress], None]


@dataclass
class FileResult:
    filename: str
    status: str  # added | duplicate | error
    document_id: int | None = None
    chunk_count: int = 0
    message: str = ""
    error: IngestError | None = None
    existing_name: str | None = None  # for duplicates: the document already holding it
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage

    @property
    def ok(self) -> bool:
        return self.status == "added"


@dataclass
class BatchResult:
    files: list[FileResult]
    seconds: float = 0.0

    @property
    def added(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "added"]

    @property
    def duplicates(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "duplicate"]

    @property
    def errors(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "error"]

    @property
    def chunk_count(self) -> int:
        return sum(f.chunk_count for f in self.added)


@dataclass(frozen=True)
class DocumentInfo:
    id: int
    group_id: int
    name: str
    doc_type: str
    size_bytes: int
    content_hash: str
    chunk_count: int
    chunk_size: int
    chunk_overlap: int
    page_count: int | None
    added_by: int | None
    added_by_name: str | None
    added_at: datetime

    @property
    def settings_label(self) -> str:
        return f"{self.chunk_size} / {self.chunk_overlap}"


@dataclass(frozen=True)
class ChunkInfo:
    id: int
    document_id: int
    position: int
    text: str
    start_char: int | None
    page: int | None


@dataclass(frozen=True)
class SearchHit:
    """One search result. `to_dict()` is the search_knowledge tool's JSON item."""

    title: str
    document_id: int
    chunk_id: int
    position: int
    page: int | None
    score: float
    text: str
    start_char: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("start_char")
        return d


# --- small helpers the page uses ---------------------------------------------------

def describe_location(page: int | None, position: int, start_char: int | None = None) -> str:
    where = f"page {page}, " if page else ""
    chars = f" (from character {start_char:,})" if start_char is not None else ""
    return f"{where}chunk {position + 1}{chars}"


_STOPWORDS = frozenset("""a an and are as at be by can do does for from has have how i if in
into is it its of on or that the their there these this to was what when where which who why
will with you your""".split())


def query_terms(query: str) -> list[str]:
    """Words of a query worth highlighting: no stopwords, at least 3 letters (or a number)."""
    terms = {w for w in re.findall(r"\w+", query.lower())
             if w not in _STOPWORDS and (len(w) >= 3 or w.isdigit())}
    return sorted(terms, key=len, reverse=True)


def highlight_html(text: str, query: str) -> str:
    """Chunk text as safe HTML with the query's words (and words starting with them) in
    <mark>. One line (<br> for newlines) so Markdown never re-parses the content."""
    terms = query_terms(query)
    if terms:
        pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, terms)) + r")\w*", re.I)
        out, last = [], 0
        for m in pattern.finditer(text):
            out.append(html.escape(text[last:m.start()]))
            out.append(f"<mark>{html.escape(m.group(0))}</mark>")
            last = m.end()
        out.append(html.escape(text[last:]))
        body = "".join(out)
    else:
        body = html.escape(text)
    body = body.replace("$", "&#36;").replace("\n", "<br>")
    return f'<div class="wb-chunk">{body}</div>'


# --- internals ---------------------------------------------------------------------

def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _max_bytes() -> int:
    return int(get_settings().max_upload_mb * 1024 * 1024)


def _find_by_hash(s: Session, group_id: int, content_hash: str) -> Document | None:
    return s.scalar(select(Document).where(Document.group_id == group_id,
                                           Document.content_hash == content_hash))


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


def _undo(label: str, fn: Callable[[], None]) -> None:
    """Run a compensating action; its own failure is logged, never hides the first error."""
    try:
        fn()
    except Exception:  # noqa: BLE001
        log.exception("could not %s after a failed knowledge write", label)


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
                          f"{name}: added ({len(pieces)} chunks).", timings=timings)
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
                      f"{title}: added ({len(pieces)} chunks).")


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


# --- changing ----------------------------------------------------------------------

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


# --- searching ---------------------------------------------------------------------

def _validate_query(query: str, k: int) -> tuple[str, int]:
    errors = {}
    query = " ".join((query or "").split())
    if not query:
        errors["query"] = "Type something to search for."
    elif len(query) > 2000:
        errors["query"] = "At most 2,000 characters."
    try:
        k = int(k)
    except (TypeError, ValueError):
        k = 0
    if not 1 <= k <= MAX_SEARCH_K:
        errors["k"] = f"Between 1 and {MAX_SEARCH_K}."
    if errors:
        raise ValidationError(field_errors=errors)
    return query, k


def _search(s: Session, group_id: int, query: str, k: int) -> list[SearchHit]:
    vector = embeddings.embed_query(query)
    # a few spare results in case a vector has no row any more (never shown)
    raw = store.query(group_id, vector, k + 5)
    if not raw:
        return []
    chunk_ids = [store.chunk_id_of(vid) for vid, _, _ in raw]
    rows = s.execute(select(Chunk, Document.name).join(Document, Document.id == Chunk.document_id)
                     .where(Chunk.id.in_(chunk_ids), Chunk.group_id == group_id,
                            Document.group_id == group_id)).all()
    by_id = {c.id: (c, name) for c, name in rows}
    hits: list[SearchHit] = []
    for (vid, distance, meta), cid in zip(raw, chunk_ids):
        found = by_id.get(cid)
        if found is None or found[0].document_id != meta.get("document_id"):
            continue
        chunk, title = found
        hits.append(SearchHit(title=title, document_id=chunk.document_id, chunk_id=chunk.id,
                              position=chunk.position, page=chunk.page,
                              score=round(1.0 - distance, 4), text=chunk.text,
                              start_char=chunk.start_char))
        if len(hits) == k:
            break
    return hits


def search(actor_id: int, group_id: int, query: str, k: int = 5) -> list[SearchHit]:
    """The group's top-k chunks for `query`, best first; score = 1 - cosine distance."""
    query, k = _validate_query(query, k)
    with session_scope() as s:
        require_access(s, actor_id, group_id, "viewer")
        hits = _search(s, group_id, query, k)
        events.record(s, "knowledge_searched", group_id=group_id, actor_id=actor_id,
                      data={"query": query, "k": k, "result_count": len(hits), "via": "page"})
        return hits


def search_as_agent(group_id: int, agent_id: int, person_id: int | None, query: str,
                    k: int = 5, *, thread_id: int | None = None, run_id: int | None = None
                    ) -> list[SearchHit]:
    """The search_knowledge tool's search: the agent must belong to the group and the
    person the run acts for (if any) must be a member; the event's actor is the agent."""
    query, k = _validate_query(query, k)
    with session_scope() as s:
        if person_id is not None:
            require_access(s, person_id, group_id, "viewer")
        agent = s.get(Thing, agent_id)
        if agent is None or agent.group_id != group_id:
            raise AccessDenied("This agent does not belong to this group.")
        hits = _search(s, group_id, query, k)
        events.record(s, "knowledge_searched", group_id=group_id, actor_id=agent_id,
                      actor_type="agent",
                      data={"query": query, "k": k, "result_count": len(hits), "via": "tool",
                            "person_id": person_id, "thread_id": thread_id, "run_id": run_id})
        return hits
