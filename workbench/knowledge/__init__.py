"""Knowledge: documents a group uploads, split into chunks, embedded offline and stored in
Chroma (one collection per group), searched by the page and by the search_knowledge tool.

Public API (every function takes the acting person and checks group membership):

    ingest_files(actor_id, group_id, files: [(name, bytes)], chunk_size=800, chunk_overlap=100,
                 progress=callback) -> BatchResult
    add_snippet(actor_id, group_id, title, text, chunk_size=800, chunk_overlap=100) -> FileResult
    list_documents(actor_id, group_id) -> [DocumentInfo]
    get_document(actor_id, group_id, document_id) -> DocumentInfo
    get_chunks(actor_id, group_id, document_id, offset=0, limit=100) -> [ChunkInfo]
    delete_document(actor_id, group_id, document_id) -> None
    reindex_document(actor_id, group_id, document_id, chunk_size, chunk_overlap, progress=None)
        -> DocumentInfo
    search(actor_id, group_id, query, k=5) -> [SearchHit]
    search_as_agent(group_id, agent_id, person_id, query, k=5) -> [SearchHit]
    closest_passages(session, group_id, query, k=3) -> [SearchHit]  (no check, no event: runs.plan)
"""

from .chunking import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE
from .documents import (delete_document, get_chunks, get_document, knowledge_stats,
                        list_documents)
from .ingest import add_snippet, ingest_files, reindex_document
from .parsing import SUPPORTED_EXTENSIONS, count, format_size
from .results import BatchResult, ChunkInfo, DocumentInfo, FileResult, Progress, SearchHit
from .searching import (MAX_SEARCH_K, closest_passages, describe_location, highlight_html,
                        query_terms, search, search_as_agent)

__all__ = [
    "DEFAULT_CHUNK_OVERLAP", "DEFAULT_CHUNK_SIZE", "MAX_CHUNK_SIZE", "MIN_CHUNK_SIZE",
    "MAX_SEARCH_K", "SUPPORTED_EXTENSIONS", "BatchResult", "ChunkInfo", "DocumentInfo",
    "FileResult", "Progress", "SearchHit", "add_snippet", "closest_passages", "delete_document",
    "describe_location",
    "count", "format_size", "get_chunks", "get_document", "highlight_html", "ingest_files",
    "knowledge_stats", "list_documents", "query_terms", "reindex_document", "search",
    "search_as_agent",
]
