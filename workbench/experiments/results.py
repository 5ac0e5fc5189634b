"""Reading experiments: per case the replies of every repeat, check results with reasons,
tokens, cost, latency and run links; totals (pass rate, cost, p50/p95 latency) and each
case's pass rate over its repeats. An experiment's results never change once stored."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from ..db import session_scope
from ..models import Experiment, ExperimentResult, TestSet, TestSetVersion, Thread, UsageRecord
from ..tenancy.access import require_access
from .runner import EXPERIMENT, is_alive, load_experiment


@dataclass
class Attempt:
    repeat: int
    outcome: str  # pass | fail | error
    reply: str
    checks: list[dict[str, str]]
    run_id: int | None
    run_status: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_ms: float | None


@dataclass
class CaseResult:
    index: int
    key: str
    input: Any
    expected: str | None
    checks: list[dict[str, Any]]
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def pass_rate(self) -> float | None:
        judged = [a for a in self.attempts if a.outcome != "error"]
        return sum(a.outcome == "pass" for a in judged) / len(judged) if judged else None

    @property
    def state(self) -> str:
        """pass (every repeat), fail (none), flaky (some), error (checks failed to run), pending."""
        if not self.attempts:
            return "pending"
        rate = self.pass_rate
        if rate is None:
            return "error"
        return "pass" if rate == 1 else "fail" if rate == 0 else "flaky"


@dataclass
class ExperimentView:
    id: int
    group_id: int
    test_set_id: int
    test_set_name: str
    test_set_version: int
    agent_id: int
    label: str
    overrides: dict[str, Any]
    repeats: int
    total: int
    done: int
    status: str  # running | complete | stopped | interrupted (running, but its process is gone)
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    cases: list[CaseResult]
    judge_cost_usd: float = 0.0

    @property
    def attempts(self) -> list[Attempt]:
        return [a for c in self.cases for a in c.attempts]

    @property
    def passed_cases(self) -> int:
        return sum(c.state == "pass" for c in self.cases)

    @property
    def pass_rate(self) -> float | None:
        judged = [a for a in self.attempts if a.outcome != "error"]
        return sum(a.outcome == "pass" for a in judged) / len(judged) if judged else None

    @property
    def cost_usd(self) -> float:
        return sum(a.cost_usd for a in self.attempts) + self.judge_cost_usd

    def latency_ms(self, pct: float) -> float | None:
        values = sorted(a.latency_ms for a in self.attempts if a.latency_ms is not None)
        return percentile(values, pct)

    @property
    def progress(self) -> float:
        return self.done / self.total if self.total else 1.0


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank-interpolated percentile (statistics.quantiles needs two values)."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1] if 0 < pct < 100 else \
        (values[0] if pct <= 0 else values[-1])


def view_in_session(s, exp: Experiment) -> ExperimentView:
    version = s.get(TestSetVersion, exp.test_set_version_id)
    name = s.scalar(select(TestSet.name).where(TestSet.id == exp.test_set_id))
    cases = [CaseResult(index=i, key=c["key"], input=c["input"], expected=c.get("expected"),
                        checks=list(c.get("checks") or [])) for i, c in enumerate(version.cases)]
    rows = s.scalars(select(ExperimentResult).where(ExperimentResult.experiment_id == exp.id)
                     .order_by(ExperimentResult.case_index, ExperimentResult.repeat)).all()
    for r in rows:
        if r.case_index < len(cases):
            cases[r.case_index].attempts.append(Attempt(
                repeat=r.repeat, outcome=r.outcome, reply=r.reply, checks=list(r.checks or []), run_id=r.run_id,
                run_status=r.run_status, input_tokens=r.input_tokens, output_tokens=r.output_tokens,
                cost_usd=r.cost_usd, latency_ms=r.latency_ms))
    # The judge's calls are priced on the case's thread, outside any run (a join, not an IN
    # list: a large experiment has more threads than SQLite takes parameters).
    judge_cost = s.scalar(select(func.coalesce(func.sum(UsageRecord.cost_usd), 0.0))
                          .join(ExperimentResult, ExperimentResult.thread_id == UsageRecord.thread_id)
                          .where(ExperimentResult.experiment_id == exp.id, UsageRecord.run_id.is_(None)))
    status = exp.status
    if status == "running" and not is_alive(exp):
        status = "interrupted"
    return ExperimentView(id=exp.id, group_id=exp.group_id, test_set_id=exp.test_set_id, test_set_name=name or "",
                          test_set_version=version.version, agent_id=exp.agent_id, label=exp.label,
                          overrides=dict(exp.overrides or {}), repeats=exp.repeats, total=exp.total, done=len(rows),
                          status=status, error=exp.error, created_at=exp.created_at, finished_at=exp.finished_at,
                          cases=cases, judge_cost_usd=float(judge_cost or 0.0))


def get_experiment(actor_id: int, experiment_id: int) -> ExperimentView:
    with session_scope() as s:
        return view_in_session(s, load_experiment(s, actor_id, experiment_id))


def list_experiments(actor_id: int, group_id: int, test_set_id: int | None = None,
                     limit: int = 100) -> list[ExperimentView]:
    """Newest first; of one test set when given."""
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        q = select(Experiment).where(Experiment.group_id == group_id, Experiment.optimization_id.is_(None))
        if test_set_id is not None:
            q = q.where(Experiment.test_set_id == test_set_id)
        rows = s.scalars(q.order_by(Experiment.created_at.desc(), Experiment.id.desc()).limit(limit)).all()
        return [view_in_session(s, e) for e in rows]


def experiment_spend(actor_id: int, group_id: int, start: datetime, end: datetime) -> dict[str, float]:
    """Cost and tokens of experiment runs (and their judges) in [start, end), for the Usage
    page's separate line: usage records on threads of kind "experiment"."""
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        cost, tokens, calls = s.execute(
            select(func.coalesce(func.sum(UsageRecord.cost_usd), 0.0),
                   func.coalesce(func.sum(UsageRecord.input_tokens + UsageRecord.output_tokens), 0),
                   func.count(UsageRecord.id))
            .join(Thread, Thread.id == UsageRecord.thread_id)
            .where(UsageRecord.group_id == group_id, Thread.kind == EXPERIMENT,
                   UsageRecord.created_at >= start, UsageRecord.created_at < end)).one()
        return {"cost_usd": float(cost), "tokens": int(tokens), "calls": int(calls)}
