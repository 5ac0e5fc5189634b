"""Text -> overlapping chunks with their start offsets (and pages), so a search hit can say
where in the document it came from. The settings are stored per document, so re-indexing
with the same size and overlap reproduces the same chunks."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from ..errors import ValidationError

DEFAULT_CHUNK_SIZE = 800
DEFAULT_CHUNK_OVERLAP = 100
MIN_CHUNK_SIZE = 100
MAX_CHUNK_SIZE = 8000


@dataclass(frozen=True)
class Piece:
    position: int  # 0-based order in the document
    text: str
    start_char: int  # offset of the chunk in the document text
    page: int | None  # 1-based page, for documents that have pages


def validate_settings(chunk_size: int, chunk_overlap: int) -> tuple[int, int]:
    errors: dict[str, str] = {}
    try:
        chunk_size, chunk_overlap = int(chunk_size), int(chunk_overlap)
    except (TypeError, ValueError):
        raise ValidationError(field_errors={"chunk_size": "Chunk size and overlap must be "
                                                          "whole numbers."}) from None
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        errors["chunk_size"] = f"Between {MIN_CHUNK_SIZE} and {MAX_CHUNK_SIZE} characters."
    if chunk_overlap < 0:
        errors["chunk_overlap"] = "Cannot be negative."
    elif chunk_overlap >= chunk_size:
        errors["chunk_overlap"] = "Must be smaller than the chunk size."
    if errors:
        raise ValidationError(field_errors=errors)
    return chunk_size, chunk_overlap


def page_of(offset: int, pages: list[int] | None) -> int | None:
    """1-based page holding `offset`, given each page's start offset."""
    if not pages:
        return None
    return max(1, bisect.bisect_right(pages, offset))


def split(text: str, chunk_size: int = DEFAULT_CHUNK_SIZE,
          chunk_overlap: int = DEFAULT_CHUNK_OVERLAP, pages: list[int] | None = None
          ) -> list[Piece]:
    """Split on paragraphs, then lines, then words (RecursiveCharacterTextSplitter), keeping
    each chunk's start offset (add_start_index)."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    chunk_size, chunk_overlap = validate_settings(chunk_size, chunk_overlap)
    splitter = RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap,
                                              add_start_index=True)
    pieces: list[Piece] = []
    for doc in splitter.create_documents([text]):
        if not doc.page_content.strip():
            continue
        start = int(doc.metadata.get("start_index", -1))
        if start < 0:  # the splitter could not locate it (should not happen): search ourselves
            start = max(0, text.find(doc.page_content))
        pieces.append(Piece(len(pieces), doc.page_content, start, page_of(start, pages)))
    return pieces
