"""The search_knowledge tool: semantic search over the run's group's knowledge base.

It returns JSON text (the tool message's content), a list best first:

    [{"title": str,          # document name
      "document_id": int,
      "chunk_id": int,
      "position": int,       # 0-based chunk index within the document
      "page": int | null,    # 1-based page for PDFs, else null
      "score": float,        # 1 - cosine distance, rounded to 4 places
      "text": str}, ...]     # the chunk

An empty list means nothing was found. The chat page finds the sources an answer used by
parsing tool messages named "search_knowledge" with exactly this shape (see
`parse_sources`); change both together."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

from .registry import ToolContext, register

NAME = "search_knowledge"
RESULT_KEYS = ("title", "document_id", "chunk_id", "position", "page", "score", "text")


class SearchKnowledgeArgs(BaseModel):
    query: str = Field(min_length=1, max_length=2000,
                       description="What to look for, in natural language.")
    limit: int = Field(default=5, ge=1, le=20, description="How many passages to return (1-20).")


@register(NAME, "Search the group's knowledge base (uploaded documents and snippets) and "
                "return the most relevant passages with their document titles and scores. "
                "Use it for questions the documents may answer.",
          SearchKnowledgeArgs, label="Search knowledge")
def search_knowledge(ctx: ToolContext, query: str, limit: int = 5) -> str:
    """Search as the agent of this run; only the run's group is ever searched."""
    # Here, not at module level: registering the built-ins must not load Chroma and the
    # embedding model (seconds) into every process that starts a run or lists tools.
    from ..knowledge import search_as_agent

    hits = search_as_agent(ctx.group_id, ctx.agent_id, ctx.person_id, query, limit,
                           thread_id=ctx.thread_id, run_id=ctx.run_id)
    return json.dumps([h.to_dict() for h in hits], ensure_ascii=False)


def parse_sources(content: str) -> list[dict[str, Any]]:
    """The result items of a search_knowledge tool message; [] if it is not that JSON
    (for example an error text)."""
    try:
        data = json.loads(content)
    except (TypeError, ValueError):
        return []
    if not isinstance(data, list):
        return []
    return [item for item in data if isinstance(item, dict) and "document_id" in item]
