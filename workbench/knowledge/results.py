"""What the knowledge service hands back: progress reports, per-file and batch results of an
ingest, a document's and a chunk's details, and search hits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from ..errors import IngestError


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
