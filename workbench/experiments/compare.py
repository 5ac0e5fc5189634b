"""Comparing two experiments of one test set, a baseline and a candidate, case by case
(matched by case key, so an edited test set still compares): which cases regressed,
improved or became flaky, their replies side by side, and cost and latency deltas. Plus
the test set's history, one point per experiment, for the trend chart.

A case's state over its repeats: pass (all), fail (none), flaky (some), error (its checks
could not run). Regressed: pass or flaky -> fail. Became flaky: pass -> flaky. Improved:
fail -> pass or flaky, flaky -> pass. Error on either side is neither."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from ..db import session_scope
from ..errors import ValidationError
from ..models import Experiment, TestSet
from ..tenancy.access import require_access
from .results import CaseResult, ExperimentView, view_in_session
from .runner import load_experiment
from .testsets import TestSetNotFound

REGRESSED, IMPROVED, FLAKY, SAME, NEW, ERROR = "regressed", "improved", "became flaky", "unchanged", "new", "error"


def change(before: str | None, after: str) -> str:
    if before is None or before == "pending":
        return NEW
    if "error" in (before, after) or after == "pending":
        return ERROR
    if after == "fail" and before in ("pass", "flaky"):
        return REGRESSED
    if before == "pass" and after == "flaky":
        return FLAKY
    if (before == "fail" and after in ("pass", "flaky")) or (before == "flaky" and after == "pass"):
        return IMPROVED
    return SAME


@dataclass
class CaseChange:
    key: str
    input: object
    change: str
    baseline: CaseResult | None
    candidate: CaseResult


@dataclass
class ExperimentComparison:
    baseline: ExperimentView
    candidate: ExperimentView
    cases: list[CaseChange] = field(default_factory=list)

    def of(self, kind: str) -> list[CaseChange]:
        return [c for c in self.cases if c.change == kind]

    @property
    def regressions(self) -> list[CaseChange]:
        return self.of(REGRESSED)

    @property
    def cost_delta_usd(self) -> float:
        return self.candidate.cost_usd - self.baseline.cost_usd

    def latency_delta_ms(self, pct: float) -> float | None:
        a, b = self.baseline.latency_ms(pct), self.candidate.latency_ms(pct)
        return None if a is None or b is None else b - a

    @property
    def pass_rate_delta(self) -> float | None:
        a, b = self.baseline.pass_rate, self.candidate.pass_rate
        return None if a is None or b is None else b - a


def compare_experiments(actor_id: int, baseline_id: int, candidate_id: int) -> ExperimentComparison:
    with session_scope() as s:
        base = load_experiment(s, actor_id, baseline_id)
        cand = load_experiment(s, actor_id, candidate_id)
        if base.group_id != cand.group_id or base.test_set_id != cand.test_set_id:
            raise ValidationError("Compare two experiments of the same test set.")
        baseline, candidate = view_in_session(s, base), view_in_session(s, cand)
    before = {c.key: c for c in baseline.cases}
    report = ExperimentComparison(baseline, candidate)
    for case in candidate.cases:
        old = before.get(case.key)
        report.cases.append(CaseChange(case.key, case.input, change(old.state if old else None, case.state),
                                       old, case))
    return report


@dataclass
class HistoryPoint:
    experiment_id: int
    label: str
    created_at: datetime
    status: str
    pass_rate: float | None
    cost_usd: float
    p50_latency_ms: float | None
    p95_latency_ms: float | None


def experiment_history(actor_id: int, test_set_id: int, limit: int = 200) -> list[HistoryPoint]:
    """One point per experiment of the test set, oldest first (for the trend chart)."""
    with session_scope() as s:
        ts = s.get(TestSet, test_set_id) if isinstance(test_set_id, int) else None
        if ts is None:
            raise TestSetNotFound()

        require_access(s, actor_id, ts.group_id)
        rows = s.scalars(select(Experiment).where(Experiment.test_set_id == ts.id,
                                                  Experiment.optimization_id.is_(None))
                         .order_by(Experiment.created_at.desc(), Experiment.id.desc()).limit(limit)).all()
        views = [view_in_session(s, e) for e in reversed(rows)]
    return [HistoryPoint(v.id, v.label, v.created_at, v.status, v.pass_rate, v.cost_usd, v.latency_ms(50),
                         v.latency_ms(95)) for v in views]


def previous_experiment(actor_id: int, experiment_id: int) -> int | None:
    """The latest finished experiment of the same test set before this one: a default baseline."""
    with session_scope() as s:
        exp = load_experiment(s, actor_id, experiment_id)
        return s.scalar(select(Experiment.id).where(
            Experiment.test_set_id == exp.test_set_id, Experiment.id < exp.id, Experiment.optimization_id.is_(None),
            Experiment.status == "complete").order_by(Experiment.id.desc()).limit(1))
