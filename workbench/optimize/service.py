"""Optimizations: start, stop, resume, read, save the best candidate as a version, and run it
as an experiment against the start. Every function takes the acting person and checks their
role in the optimization's group (editors start and change, viewers read)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from .. import events
from ..agents.definitions import load_agent, provider_for, update_agent
from ..agents.versions import config_diff, version_in_session
from ..db import session_scope
from ..errors import AgentNotFound, NotFound, ValidationError
from ..experiments.runner import start_experiment
from ..experiments.testsets import TestSetNotFound, latest_version
from ..models import (AgentVersion, ExperimentResult, Optimization, OptimizationCandidate, ProviderRecord, TestSet,
                      TestSetVersion, utcnow)
from ..playground.variants import Variant
from ..runs.workers import STALE_S, worker_is_gone
from ..tenancy.access import require_access
from .search import PROMPT, case_score, launch, running_here, this_worker, wait_search

DEFAULT_BUDGET, MIN_PROPOSALS, MAX_BUDGET = 60, 3, 2000
SPLIT_AT = 6  # with this many scorable cases or more, half learn and half validate
COMPONENTS = (PROMPT,)


class OptimizationNotFound(NotFound):
    default_message = "That optimization does not exist."


@dataclass(frozen=True)
class CandidateView:
    index: int
    parents: list[int]
    prompt: str
    score: float | None
    scores: dict[str, float]  # validation case key -> score
    cases_won: int  # validation cases where no other candidate scores higher
    experiment_ids: list[int]


@dataclass
class OptimizationView:
    id: int
    group_id: int
    agent_id: int
    agent_name: str
    start_version: int
    test_set_id: int
    test_set_name: str
    budget: int
    evaluations: int
    status: str  # running | finished | stopped | failed | interrupted (its process is gone)
    error: str | None
    start_score: float | None
    best_score: float | None
    best_index: int | None
    saved_version: int | None
    train_keys: list[str]
    val_keys: list[str]
    reflection: str
    created_at: datetime
    finished_at: datetime | None
    start_prompt: str = ""
    candidates: list[CandidateView] = field(default_factory=list)

    @property
    def progress(self) -> float:
        return min(1.0, self.evaluations / self.budget) if self.budget else 0.0

    @property
    def best(self) -> CandidateView | None:
        return next((c for c in self.candidates if c.index == self.best_index), None)

    def prompt_diff(self, index: int) -> list[str]:
        """The candidate's system prompt against the starting version's, as diff lines."""
        candidate = next(c for c in self.candidates if c.index == index)
        return config_diff({PROMPT: self.start_prompt}, {PROMPT: candidate.prompt},
                           f"version {self.start_version}", f"candidate {index}")[0]


@dataclass(frozen=True)
class CandidateRun:
    """One case a candidate was run on: its score there and the run behind it (its trace)."""
    case_key: str
    input: Any
    validation: bool  # a validation case (counted in the candidate's score), else one it was learned from
    score: float
    reply: str
    run_id: int | None
    run_status: str
    experiment_id: int


def _load(s, actor_id: int, optimization_id: int, role: str = "viewer") -> Optimization:
    opt = s.get(Optimization, optimization_id) if isinstance(optimization_id, int) else None
    if opt is None:
        raise OptimizationNotFound()
    require_access(s, actor_id, opt.group_id, role)
    return opt


def is_alive(opt: Optimization) -> bool:
    """Running, and its process still runs it (here, or elsewhere with a fresh heartbeat)."""
    if opt.status != "running":
        return False
    if opt.worker == this_worker():
        return running_here(opt.id)
    if worker_is_gone(opt.worker):
        return False
    return opt.heartbeat_at is not None and (utcnow() - opt.heartbeat_at).total_seconds() < STALE_S


def _scorable(cases: list[dict]) -> list[dict]:
    return [c for c in cases if c.get("checks") or c.get("expected")]


def split_cases(keys: list[str], seed: int) -> tuple[list[str], list[str]]:
    """(cases to learn from, cases to validate on): a seeded half and half from SPLIT_AT
    cases on, else every case for both."""
    if len(keys) < SPLIT_AT:
        return list(keys), list(keys)
    shuffled = list(keys)
    random.Random(seed).shuffle(shuffled)
    half = len(shuffled) // 2
    return shuffled[:half], shuffled[half:]


def start_optimization(actor_id: int, group_id: int, agent_id: int, test_set_id: int, *, version: int | None = None,
                       budget: int = DEFAULT_BUDGET, reflection_provider_id: int | None = None,
                       reflection_model: str | None = None, components: list[str] | None = None,
                       train_keys: list[str] | None = None, val_keys: list[str] | None = None, seed: int = 0,
                       wait: bool = False) -> int:
    """Search for a better system prompt of the agent (at `version`, default its latest) over
    the test set's latest version; returns the optimization's id. Runs in a thread of this
    process (`wait=True`: in the caller's, until it ends)."""
    components = list(components or COMPONENTS)
    unknown = [c for c in components if c not in COMPONENTS]
    if unknown:
        raise ValidationError(field_errors={"components": f"Only the system prompt can be optimized for now, "
                                                          f"not {', '.join(unknown)}."})
    with session_scope() as s:
        require_access(s, actor_id, group_id, "editor")
        thing = load_agent(s, agent_id)
        ts = s.get(TestSet, test_set_id) if isinstance(test_set_id, int) else None
        if thing.group_id != group_id:
            raise AgentNotFound("That agent does not exist in this group.")
        if ts is None or ts.group_id != group_id:
            raise TestSetNotFound()
        start = version_in_session(s, agent_id, version)
        cases = latest_version(s, ts.id)
        scorable = [c["key"] for c in _scorable(cases.cases)]
        if not scorable:
            raise ValidationError(field_errors={"test_set": (
                "This test set has no checks or expected answers to score a prompt against; add an expected "
                "answer or a check to its cases on the Experiments page first.")})
        if train_keys is None and val_keys is None:
            train_keys, val_keys = split_cases(scorable, seed)
        elif not train_keys or not val_keys or not set(train_keys) | set(val_keys) <= set(scorable):
            raise ValidationError(field_errors={"split": "Both halves need cases of this test set with checks "
                                                         "or expected answers."})
        try:
            budget = int(budget)
        except (TypeError, ValueError):
            raise ValidationError(field_errors={"budget": "The budget is a whole number of case evaluations."}) from None
        least = len(val_keys) + MIN_PROPOSALS
        if not least <= budget <= MAX_BUDGET:
            raise ValidationError(field_errors={"budget": (
                f"The budget must be between {least} (one pass over the {len(val_keys)} validation cases, "
                f"then a first proposal) and {MAX_BUDGET} case evaluations.")})
        if reflection_provider_id is not None:
            provider_for(s, group_id, int(reflection_provider_id))  # of this group, or not found
        opt = Optimization(group_id=group_id, agent_id=agent_id, agent_version_id=start.id, test_set_id=ts.id,
                           test_set_version_id=cases.id, components=components, train_keys=list(train_keys),
                           val_keys=list(val_keys), budget=budget, reflection_provider_id=reflection_provider_id,
                           reflection_model=(reflection_model or "").strip() or None, seed=int(seed),
                           created_by=actor_id, worker=this_worker(), heartbeat_at=utcnow(), evaluations=0,
                           status="running", stop_requested=False)
        s.add(opt)
        s.flush()
        events.record(s, "optimization_started", group_id=group_id, actor_id=actor_id, target_type="optimization",
                      target_id=opt.id, data={"agent_id": agent_id, "version": start.version, "test_set_id": ts.id,
                                              "budget": budget, "train": len(train_keys), "validate": len(val_keys)})
        optimization_id = opt.id
    launch(optimization_id, actor_id, wait)
    return optimization_id


def stop_optimization(actor_id: int, optimization_id: int) -> bool:
    """Ask a running optimization to stop (it ends after the evaluation in progress); False
    when it is not running."""
    with session_scope() as s:
        opt = _load(s, actor_id, optimization_id, "editor")
        if opt.status != "running":
            return False
        opt.stop_requested = True
        events.record(s, "optimization_stop_requested", group_id=opt.group_id, actor_id=actor_id,
                      target_type="optimization", target_id=opt.id)
        if not is_alive(opt):  # nobody runs it: stopped at once
            opt.status, opt.finished_at = "stopped", utcnow()
        return True


def resume_optimization(actor_id: int, optimization_id: int, *, wait: bool = False) -> int:
    """Carry on a stopped, failed or interrupted optimization from the candidates already
    scored; returns the evaluations left."""
    with session_scope() as s:
        opt = _load(s, actor_id, optimization_id, "editor")
        if opt.status == "finished":
            return 0  # its budget is spent: nothing left to run
        if is_alive(opt):
            raise ValidationError("This optimization is still running.")
        opt.status, opt.stop_requested, opt.error, opt.finished_at = "running", False, None, None
        opt.worker, opt.heartbeat_at = this_worker(), utcnow()
        events.record(s, "optimization_resumed", group_id=opt.group_id, actor_id=actor_id,
                      target_type="optimization", target_id=opt.id, data={"evaluations": opt.evaluations})
        left = opt.budget - opt.evaluations
    launch(optimization_id, actor_id, wait)
    return left


def wait_optimization(optimization_id: int, timeout: float | None = None) -> bool:
    """Wait for this process's run of the optimization; True when it has ended."""
    return wait_search(optimization_id, timeout)


def _view(s, opt: Optimization, with_candidates: bool = True) -> OptimizationView:
    start = s.get(AgentVersion, opt.agent_version_id)
    saved = s.get(AgentVersion, opt.saved_version_id) if opt.saved_version_id else None
    names = dict(s.execute(select(TestSet.id, TestSet.name).where(TestSet.id == opt.test_set_id)).all())
    status = "interrupted" if opt.status == "running" and not is_alive(opt) else opt.status
    provider = s.get(ProviderRecord, opt.reflection_provider_id) if opt.reflection_provider_id else None
    reflection = provider.name if provider else "the agent's provider"
    reflection += f", {opt.reflection_model}" if opt.reflection_model else ", the agent's model"
    view = OptimizationView(
        id=opt.id, group_id=opt.group_id, agent_id=opt.agent_id, agent_name=start.config.get("name", ""),
        start_version=start.version, test_set_id=opt.test_set_id, test_set_name=names.get(opt.test_set_id, ""),
        budget=opt.budget, evaluations=opt.evaluations, status=status, error=opt.error, start_score=opt.start_score,
        best_score=opt.best_score, best_index=opt.best_candidate, saved_version=saved.version if saved else None,
        train_keys=list(opt.train_keys), val_keys=list(opt.val_keys), reflection=reflection,
        created_at=opt.created_at, finished_at=opt.finished_at, start_prompt=start.config.get(PROMPT) or "")
    if with_candidates:
        rows = list(s.scalars(select(OptimizationCandidate).where(OptimizationCandidate.optimization_id == opt.id)
                              .order_by(OptimizationCandidate.index)))
        top = {k: max((float(r.scores.get(k, 0.0)) for r in rows), default=0.0) for k in opt.val_keys}
        view.candidates = [CandidateView(
            index=r.index, parents=list(r.parents or []), prompt=str((r.texts or {}).get(PROMPT, "")), score=r.score,
            scores={k: float(v) for k, v in (r.scores or {}).items()},
            cases_won=sum(1 for k in opt.val_keys if k in (r.scores or {}) and float(r.scores[k]) >= top[k] > 0),
            experiment_ids=list(r.experiment_ids or [])) for r in rows]
    return view


def get_optimization(actor_id: int, optimization_id: int) -> OptimizationView:
    with session_scope() as s:
        return _view(s, _load(s, actor_id, optimization_id))


def candidate_runs(actor_id: int, optimization_id: int, index: int | None = None) -> list[CandidateRun]:
    """The runs behind a candidate's score (default: the best), one per case it ran on:
    validation cases first, in the test set's order."""
    with session_scope() as s:
        opt = _load(s, actor_id, optimization_id)
        index = opt.best_candidate if index is None else index
        row = s.scalar(select(OptimizationCandidate).where(OptimizationCandidate.optimization_id == opt.id,
                                                           OptimizationCandidate.index == index))
        if row is None:
            raise ValidationError(field_errors={"candidate": "There is no such candidate (yet)."})
        cases = s.get(TestSetVersion, opt.test_set_version_id).cases
        order = {c["key"]: n for n, c in enumerate(cases)}
        inputs = {c["key"]: c["input"] for c in cases}
        found: dict[str, ExperimentResult] = {}
        if row.experiment_ids:
            for r in s.scalars(select(ExperimentResult).where(ExperimentResult.experiment_id.in_(row.experiment_ids))
                               .order_by(ExperimentResult.id)):
                found[r.case_key] = r  # the newest, as the search reads them back
        val = set(opt.val_keys)
        keys = sorted(found, key=lambda k: (k not in val, order.get(k, len(order))))
        return [CandidateRun(case_key=k, input=inputs.get(k, ""), validation=k in val,
                             score=case_score(list(found[k].checks or []), found[k].run_status), reply=found[k].reply,
                             run_id=found[k].run_id, run_status=found[k].run_status,
                             experiment_id=found[k].experiment_id) for k in keys]


def list_optimizations(actor_id: int, group_id: int, agent_id: int | None = None,
                       limit: int = 50) -> list[OptimizationView]:
    """Newest first (without their candidates)."""
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        q = select(Optimization).where(Optimization.group_id == group_id)
        if agent_id is not None:
            q = q.where(Optimization.agent_id == agent_id)
        rows = s.scalars(q.order_by(Optimization.created_at.desc(), Optimization.id.desc()).limit(limit)).all()
        return [_view(s, o, with_candidates=False) for o in rows]


def save_candidate(actor_id: int, optimization_id: int, index: int | None = None) -> int:
    """Save a candidate (default: the best) as the agent's newest version: the starting
    version's settings with the candidate's prompt, the note saying where it came from.
    Returns the new version number."""
    with session_scope() as s:
        opt = _load(s, actor_id, optimization_id, "editor")
        index = opt.best_candidate if index is None else index
        row = s.scalar(select(OptimizationCandidate).where(OptimizationCandidate.optimization_id == opt.id,
                                                           OptimizationCandidate.index == index))
        if row is None:
            raise ValidationError(field_errors={"candidate": "There is no such candidate (yet)."})
        start = s.get(AgentVersion, opt.agent_version_id)
        config: dict[str, Any] = {**start.config, PROMPT: row.texts.get(PROMPT, "")}
        score = "–" if row.score is None else f"{row.score:.2f}"
        begin = "–" if opt.start_score is None else f"{opt.start_score:.2f}"
        note = f"Optimization {opt.id}, candidate {index}: score {score} (version {start.version}: {begin})"
    view = update_agent(actor_id, opt.agent_id, note=note, **config)
    with session_scope() as s:
        opt = s.get(Optimization, optimization_id)
        opt.saved_version_id = view.version_id
        events.record(s, "optimization_saved", group_id=opt.group_id, actor_id=actor_id, target_type="optimization",
                      target_id=opt.id, data={"candidate": index, "version": view.version})
    return view.version


def run_as_experiment(actor_id: int, optimization_id: int) -> tuple[int, int]:
    """The saved version and the starting one, each over the whole test set (its latest
    version): (experiment of the start, experiment of the saved version), for the
    Experiments page's comparison."""
    with session_scope() as s:
        opt = _load(s, actor_id, optimization_id, "editor")
        if opt.saved_version_id is None:
            raise ValidationError("Save a candidate as a version first.")
        start = s.get(AgentVersion, opt.agent_version_id).version
        saved = s.get(AgentVersion, opt.saved_version_id).version
        group_id, agent_id, test_set_id = opt.group_id, opt.agent_id, opt.test_set_id
    baseline = start_experiment(actor_id, group_id, test_set_id, Variant(agent_id, start))
    candidate = start_experiment(actor_id, group_id, test_set_id, Variant(agent_id, saved))
    return baseline, candidate
