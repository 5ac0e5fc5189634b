"""SQLAlchemy 2 typed models: the six dimensions (groups, people, things, connections,
events, knowledge) plus threads, messages, runs, run steps, usage records and prices.
Every row that belongs to a tenant carries `group_id`. One module per family of tables;
everything is importable from here."""

from __future__ import annotations

from ..clock import utcnow  # the models' defaults and many callers use it
from .base import Base
from .tenancy import (Group, Person, Connection, Thing, AgentVersion, AgentLabel, ApiKey, ToolVersion,
                      ProviderRecord)
from .conversations import Thread, Message, Run, RunStep
from .iteration import (Comparison, ComparisonColumn, TestSet, TestSetVersion, Experiment, ExperimentResult,
                        Optimization, OptimizationCandidate)
from .records import Event, UsageRecord, GroupSpend, Price, Document, Chunk

__all__ = [
    "Base", "utcnow", "Group", "Person", "Connection", "Thing", "AgentVersion", "AgentLabel", "ApiKey", "ToolVersion",
    "ProviderRecord", "Thread", "Message", "Run", "RunStep", "Comparison", "ComparisonColumn",
    "TestSet", "TestSetVersion", "Experiment", "ExperimentResult", "Optimization",
    "OptimizationCandidate", "Event", "UsageRecord", "GroupSpend",
    "Price", "Document", "Chunk",
]
