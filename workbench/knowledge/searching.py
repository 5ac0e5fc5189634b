"""Searching knowledge: the page's search and the search_knowledge tool's, and the helpers the
page uses to show a hit (where it is, which words to highlight)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import events
from ..db import session_scope
from ..errors import AccessDenied, ValidationError
from ..markup import inert
from ..models import Chunk, Document, Thing
from ..tenancy.access import require_access
from . import embeddings, store
from .results import SearchHit

MAX_SEARCH_K = 20


# --- showing a hit -----------------------------------------------------------------

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
            out.append(inert(text[last:m.start()], one_line=False))
            out.append(f"<mark>{inert(m.group(0))}</mark>")
            last = m.end()
        out.append(inert(text[last:], one_line=False))
        body = "".join(out)
    else:
        body = inert(text, one_line=False)
    body = body.replace("\n", "<br>")
    return f'<div class="wb-chunk">{body}</div>'


# --- searching ---------------------------------------------------------------------

def closest_passages(s: Session, group_id: int, query: str, k: int = 3) -> list[SearchHit]:
    """The group's top-k chunks for `query`, with no access check and no event: a run's
    own look at its group's knowledge before its model decides (runs.plan), recorded in
    that call's trace. Searching for the model goes through search_as_agent."""
    query = " ".join((query or "").split())[:2000]
    return _search(s, group_id, query, k) if query else []


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
