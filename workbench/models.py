"""SQLAlchemy 2 typed models: the six dimensions (groups, people, things, connections,
events, knowledge) plus threads, messages, runs, run steps, usage records and prices.
Every row that belongs to a tenant carries `group_id`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String,
                        Text, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .clock import utcnow  # noqa: F401 - re-exported: the models' defaults and many callers use it


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


# --- groups and people -------------------------------------------------------------

class Group(Base):
    __tablename__ = "groups"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    plan: Mapped[str] = mapped_column(String(32), default="starter")
    monthly_budget_usd: Mapped[float | None] = mapped_column(Float, default=None)
    rpm_limit: Mapped[int | None] = mapped_column(Integer, default=None)
    tpm_limit: Mapped[int | None] = mapped_column(Integer, default=None)
    # IANA name; calendar periods (months, days) are computed in it. None: UTC.
    time_zone: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Person(Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), unique=True, default=None)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Connection(Base):
    """A typed edge: member_of (person -> group, with role), escalated_to (thread -> person)."""

    __tablename__ = "connections"
    __table_args__ = (
        Index("ix_connections_group_type", "group_id", "type"),
        Index("ix_connections_source", "source_type", "source_id", "type"),
        Index("ix_connections_target", "target_type", "target_id", "type"),
        # the access check: one person's membership of one group, whatever the group's size
        Index("ix_connections_pair", "source_type", "source_id", "target_type", "target_id", "type"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    source_type: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[int] = mapped_column(Integer)
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[int] = mapped_column(Integer)
    role: Mapped[str | None] = mapped_column(String(20), default=None)
    status: Mapped[str | None] = mapped_column(String(20), default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# --- things: agents, tasks ---------------------------------------------------------

class Thing(Base):
    __tablename__ = "things"
    __table_args__ = (Index("ix_things_group_type", "group_id", "type", "deleted_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str | None] = mapped_column(String(40), default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class AgentVersion(Base):
    """An immutable snapshot of an agent's configuration; runs point at the one they used."""

    __tablename__ = "agent_versions"
    __table_args__ = (UniqueConstraint("agent_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("things.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(String(500), default=None)  # why it was saved


class ToolVersion(Base):
    """An immutable snapshot of a custom tool (a thing of type "tool"): name, description,
    parameters schema and implementation. Header and env values are variable NAMES only."""

    __tablename__ = "tool_versions"
    __table_args__ = (UniqueConstraint("tool_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tool_id: Mapped[int] = mapped_column(ForeignKey("things.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))  # mock | http | mcp
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(String(500), default=None)


class ProviderRecord(Base):
    """A configured model endpoint. `api_key_name` names an env var or secret, never a key."""

    __tablename__ = "providers"
    __table_args__ = (UniqueConstraint("group_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))  # openai_compatible | local
    preset: Mapped[str | None] = mapped_column(String(40), default=None)
    base_url: Mapped[str | None] = mapped_column(String(500), default=None)
    api_key_name: Mapped[str | None] = mapped_column(String(120), default=None)
    default_model: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# --- threads, messages, runs -------------------------------------------------------

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


# --- playground ------------------------------------------------------------------------

class Comparison(Base):
    """One input conversation sent to 2 to 4 variants at once; each column is a run."""

    __tablename__ = "comparisons"
    __table_args__ = (Index("ix_comparisons_group_time", "group_id", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200), default="Comparison")
    conversation: Mapped[list[Any]] = mapped_column(JSON)  # [{"role", "content", ...}]
    source_step_id: Mapped[int | None] = mapped_column(Integer, default=None)  # opened from a trace
    best_column: Mapped[int | None] = mapped_column(Integer, default=None)  # a column position
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ComparisonColumn(Base):
    __tablename__ = "comparison_columns"
    __table_args__ = (UniqueConstraint("comparison_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    comparison_id: Mapped[int] = mapped_column(ForeignKey("comparisons.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    agent_id: Mapped[int] = mapped_column(ForeignKey("things.id"))
    agent_version_id: Mapped[int] = mapped_column(ForeignKey("agent_versions.id"))
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    thread_id: Mapped[int | None] = mapped_column(Integer, default=None)
    run_id: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)  # refused before a run started


# --- test sets and experiments ---------------------------------------------------------

class TestSet(Base):
    """A named set of cases (inputs, expected answers, checks) of a group. Every save of its
    cases is a new immutable version, so an experiment records exactly what it ran."""

    __tablename__ = "test_sets"
    __table_args__ = (UniqueConstraint("group_id", "name", name="uq_test_sets_group_name"),)
    __test__ = False  # not a pytest class
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class TestSetVersion(Base):
    __tablename__ = "test_set_versions"
    __table_args__ = (UniqueConstraint("test_set_id", "version"),)
    __test__ = False
    id: Mapped[int] = mapped_column(primary_key=True)
    test_set_id: Mapped[int] = mapped_column(ForeignKey("test_sets.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    cases: Mapped[list[Any]] = mapped_column(JSON)  # [{"key", "input", "expected", "checks"}]
    note: Mapped[str | None] = mapped_column(String(500), default=None)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Experiment(Base):
    """An agent variant run over a test set version, each case `repeats` times. Stoppable
    from anywhere (stop_requested), resumable when the process running it is gone."""

    __tablename__ = "experiments"
    __table_args__ = (Index("ix_experiments_set_time", "group_id", "test_set_id", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    test_set_id: Mapped[int] = mapped_column(ForeignKey("test_sets.id", ondelete="CASCADE"))
    test_set_version_id: Mapped[int] = mapped_column(ForeignKey("test_set_versions.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("things.id"))
    agent_version_id: Mapped[int] = mapped_column(ForeignKey("agent_versions.id"))
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    label: Mapped[str] = mapped_column(String(200), default="")
    repeats: Mapped[int] = mapped_column(Integer, default=1)
    concurrency: Mapped[int] = mapped_column(Integer, default=4)
    total: Mapped[int] = mapped_column(Integer, default=0)  # cases x repeats
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|complete|stopped|failed
    stop_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    worker: Mapped[str | None] = mapped_column(String(160), default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class ExperimentResult(Base):
    """One (case, repeat) of an experiment, stored as soon as it is done."""

    __tablename__ = "experiment_results"
    __table_args__ = (UniqueConstraint("experiment_id", "case_index", "repeat"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    case_index: Mapped[int] = mapped_column(Integer)
    case_key: Mapped[str] = mapped_column(String(64))
    repeat: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(Integer, default=None)
    thread_id: Mapped[int | None] = mapped_column(Integer, default=None)
    run_status: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(10))  # pass | fail | error (a check failed to run)
    reply: Mapped[str] = mapped_column(Text, default="")
    checks: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"name", "status", "reason"}]
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    latency_ms: Mapped[float | None] = mapped_column(Float, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# --- events, usage, prices ---------------------------------------------------------

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
        Index("ix_usage_group_time", "group_id", "created_at"),
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
