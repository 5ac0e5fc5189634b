"""Threads, their messages, runs and run steps (the trace)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from .base import Base


class Thread(Base):
    __tablename__ = "threads"
    __table_args__ = (Index("ix_threads_group_list", "group_id", "archived", "last_activity_at"),
                      Index("ix_threads_group_kind_list", "group_id", "kind", "archived", "last_activity_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("things.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), default=None)
    title: Mapped[str] = mapped_column(String(200), default="New thread")
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="idle")  # idle|running|waiting_human
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    last_activity_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # chat: listed on the Chat page; playground: a comparison column's own hidden thread
    kind: Mapped[str] = mapped_column(String(20), default="chat", server_default="chat")
    # Pinned configuration: runs use this agent version (not the latest) with these unsaved
    # edits on top (playground variants, replays on another version).
    agent_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("agent_versions.id", name="fk_threads_agent_version_id"), default=None)
    overrides: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("thread_id", "seq", name="uq_messages_thread_seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(20))  # user|assistant|tool|human|system
    content: Mapped[str] = mapped_column(Text, default="")
    tool_calls: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    tool_call_id: Mapped[str | None] = mapped_column(String(120), default=None)
    name: Mapped[str | None] = mapped_column(String(120), default=None)
    status: Mapped[str] = mapped_column(String(20), default="complete")
    run_id: Mapped[int | None] = mapped_column(Integer, index=True, default=None)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Run(Base):
    """One user turn: the model calls and tool calls that produced a reply."""

    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_group_started", "group_id", "started_at"),
        Index("ix_runs_thread", "thread_id", "started_at"),
        Index("ix_runs_status", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("things.id"))
    agent_version_id: Mapped[int | None] = mapped_column(ForeignKey("agent_versions.id"), default=None)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), default=None)
    status: Mapped[str] = mapped_column(String(20), default="running")
    # The process running it ("host:pid:nonce") and its last sign of life: on start-up and
    # periodically, runs whose process is gone are marked interrupted, never another
    # live server's.
    worker: Mapped[str | None] = mapped_column(String(160), default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    user_message_id: Mapped[int | None] = mapped_column(Integer, default=None)
    reply_message_id: Mapped[int | None] = mapped_column(Integer, default=None)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    duration_ms: Mapped[float | None] = mapped_column(Float, default=None)
    step_count: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    tools_used: Mapped[str] = mapped_column(String(500), default="")  # ",a,b," for filtering
    error_type: Mapped[str | None] = mapped_column(String(80), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    error_chain: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    overrides: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)  # unsaved edits used


class RunStep(Base):
    __tablename__ = "run_steps"
    __table_args__ = (UniqueConstraint("run_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # model_call | tool_call | queue (waited for a slot)
    name: Mapped[str] = mapped_column(String(200))  # model id or tool name
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|ok|error|cancelled
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    duration_ms: Mapped[float | None] = mapped_column(Float, default=None)
    ttft_ms: Mapped[float | None] = mapped_column(Float, default=None)
    input_tokens: Mapped[int | None] = mapped_column(Integer, default=None)
    output_tokens: Mapped[int | None] = mapped_column(Integer, default=None)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    response: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    message_id: Mapped[int | None] = mapped_column(Integer, default=None)
