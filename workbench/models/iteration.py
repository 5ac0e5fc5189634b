"""The playground's saved comparisons, test sets and experiments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from .base import Base


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
