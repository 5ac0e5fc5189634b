"""The playground's saved comparisons, test sets, experiments and optimizations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text,
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
    # An optimization's evaluation of one candidate: only these cases (keys), kept off the
    # Experiments list. None: an experiment of its own, over every case.
    optimization_id: Mapped[int | None] = mapped_column(
        ForeignKey("optimizations.id", ondelete="CASCADE", name="fk_experiments_optimization_id"), default=None)
    case_keys: Mapped[list[Any] | None] = mapped_column(JSON, default=None)


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


class Optimization(Base):
    """A search for a better system prompt of an agent version over a test set (gepa): its
    settings, progress, and the search's own checkpoint (`state`), so it resumes after the
    process that ran it is gone, on this host or another."""

    __tablename__ = "optimizations"
    __table_args__ = (Index("ix_optimizations_group_time", "group_id", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("things.id"))
    agent_version_id: Mapped[int] = mapped_column(ForeignKey("agent_versions.id"))  # where it starts
    test_set_id: Mapped[int] = mapped_column(ForeignKey("test_sets.id", ondelete="CASCADE"))
    test_set_version_id: Mapped[int] = mapped_column(ForeignKey("test_set_versions.id"))
    components: Mapped[list[Any]] = mapped_column(JSON, default=list)  # what may change: ["system_prompt"]
    train_keys: Mapped[list[Any]] = mapped_column(JSON, default=list)  # cases to learn from
    val_keys: Mapped[list[Any]] = mapped_column(JSON, default=list)  # cases candidates are scored on
    budget: Mapped[int] = mapped_column(Integer)  # the most case evaluations
    evaluations: Mapped[int] = mapped_column(Integer, default=0)  # used so far
    reflection_provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"), default=None)
    reflection_model: Mapped[str | None] = mapped_column(String(200), default=None)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|finished|stopped|failed
    stop_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    start_score: Mapped[float | None] = mapped_column(Float, default=None)
    best_score: Mapped[float | None] = mapped_column(Float, default=None)
    best_candidate: Mapped[int | None] = mapped_column(Integer, default=None)  # its index
    saved_version_id: Mapped[int | None] = mapped_column(ForeignKey("agent_versions.id"), default=None)
    state: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # gepa's checkpoint
    worker: Mapped[str | None] = mapped_column(String(160), default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class OptimizationCandidate(Base):
    """One candidate of an optimization: its texts, its parents, its score per validation
    case and the experiments whose runs produced those scores."""

    __tablename__ = "optimization_candidates"
    __table_args__ = (UniqueConstraint("optimization_id", "index", name="uq_optimization_candidates_index"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    optimization_id: Mapped[int] = mapped_column(ForeignKey("optimizations.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)  # 0: the starting version
    parents: Mapped[list[Any]] = mapped_column(JSON, default=list)  # candidate indexes
    texts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # component -> text
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # validation case key -> score
    score: Mapped[float | None] = mapped_column(Float, default=None)  # mean over the validation cases
    experiment_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
