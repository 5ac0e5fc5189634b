"""Events, usage records, prices, and the knowledge base's documents and chunks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String,
                        Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from .base import Base


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_group_time", "group_id", "created_at", "id"),
        Index("ix_events_group_type_time", "group_id", "type", "created_at", "id"),
        Index("ix_events_group_actor_time", "group_id", "actor_id", "created_at", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), default=None)
    type: Mapped[str] = mapped_column(String(60))
    actor_type: Mapped[str] = mapped_column(String(20), default="person")  # person|agent|system
    actor_id: Mapped[int | None] = mapped_column(Integer, default=None)
    target_type: Mapped[str | None] = mapped_column(String(40), default=None)
    target_id: Mapped[int | None] = mapped_column(Integer, default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class UsageRecord(Base):
    __tablename__ = "usage_records"
    __table_args__ = (
        # The budget and rate checks sum tokens and cost over a time range: from the index alone.
        Index("ix_usage_group_time_totals", "group_id", "created_at", "input_tokens", "output_tokens", "cost_usd"),
        Index("ix_usage_group_model_time", "group_id", "model", "created_at"),
        Index("ix_usage_group_agent_time", "group_id", "agent_id", "created_at"),
        Index("ix_usage_group_person_time", "group_id", "person_id", "created_at"),
        Index("ix_usage_run", "run_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    agent_id: Mapped[int | None] = mapped_column(Integer, default=None)
    thread_id: Mapped[int | None] = mapped_column(Integer, default=None)
    run_id: Mapped[int | None] = mapped_column(Integer, default=None)
    person_id: Mapped[int | None] = mapped_column(Integer, default=None)
    provider: Mapped[str] = mapped_column(String(80))
    model: Mapped[str] = mapped_column(String(200))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cached_input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    reasoning_tokens: Mapped[int] = mapped_column(Integer, default=0)
    estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    price_id: Mapped[int | None] = mapped_column(Integer, default=None)
    price_is_default: Mapped[bool] = mapped_column(Boolean, default=False)  # unknown model: flagged
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    ttft_ms: Mapped[float | None] = mapped_column(Float, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class GroupSpend(Base):
    """A group's spend in its current calendar month (in its time zone), kept as priced calls
    are recorded, so a budget check reads one row instead of summing the month's usage
    records (which grows with every call: ~14 ms at 200,000 records). Derived data: absent or
    of another month (a new month, a changed time zone), the records are summed; the row is
    dropped when records change behind it (costs recomputed, records imported)."""

    __tablename__ = "group_spend"
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    month_from: Mapped[datetime] = mapped_column(DateTime)  # the month's first instant (naive UTC)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)


class Price(Base):
    """USD per million tokens, effective from a date. model "*" is the provider's default."""

    __tablename__ = "prices"
    __table_args__ = (Index("ix_prices_lookup", "provider", "model", "effective_from"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(80))
    model: Mapped[str] = mapped_column(String(200))
    input_per_mtok: Mapped[float] = mapped_column(Float)
    output_per_mtok: Mapped[float] = mapped_column(Float)
    cached_input_per_mtok: Mapped[float | None] = mapped_column(Float, default=None)
    reasoning_per_mtok: Mapped[float | None] = mapped_column(Float, default=None)
    effective_from: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# --- knowledge ---------------------------------------------------------------------

class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("group_id", "content_hash", name="uq_documents_group_hash"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    doc_type: Mapped[str] = mapped_column(String(20))  # txt|md|pdf|html|csv|docx|json|snippet
    size_bytes: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)  # extracted text, kept so re-indexing needs no file
    pages: Mapped[list[Any] | None] = mapped_column(JSON, default=None)  # [start offset per page]
    chunk_size: Mapped[int] = mapped_column(Integer)
    chunk_overlap: Mapped[int] = mapped_column(Integer)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    added_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"), default=None)
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Chunk(Base):
    __tablename__ = "chunks"
    __table_args__ = (Index("ix_chunks_doc_pos", "document_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    start_char: Mapped[int | None] = mapped_column(Integer, default=None)
    page: Mapped[int | None] = mapped_column(Integer, default=None)
