"""Comparisons: one input conversation sent to 2 to 4 variants at once. Each column is an
ordinary run on its own hidden thread, so the columns stream concurrently in the process's
run workers; a column can be stopped alone. The comparison (input, variants, the runs of its
columns) is saved and can be reopened, rerun, shared as ?comparison=ID, and its best
column's edits saved as a new version of its agent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import agents, events
from ..db import session_scope
from ..errors import NotFound, ValidationError, WorkbenchError
from ..models import AgentVersion, Comparison, ComparisonColumn, RunStep, Thing
from ..runs.lifecycle import cancel_run, launch, start_transaction
from ..runs.workers import RunHandle
from ..tenancy.access import require_access
from ..threads.store import title_from
from .variants import (Variant, VariantResult, clean_conversation, open_variant_run, resolve_in_session,
                       result_in_session)

MIN_VARIANTS, MAX_VARIANTS = 2, 4  # what fits side by side on a page


class ComparisonNotFound(NotFound):
    default_message = "That comparison does not exist."


@dataclass
class ColumnView:
    position: int
    agent_id: int
    agent_name: str
    version: int
    version_id: int
    overrides: dict[str, Any]
    result: VariantResult

    @property
    def variant(self) -> Variant:
        return Variant(agent_id=self.agent_id, version=self.version, overrides=dict(self.overrides))

    @property
    def label(self) -> str:
        edits = ", ".join(sorted(self.overrides))
        return f"{self.agent_name} v{self.version}" + (f" + edits ({edits})" if edits else "")


@dataclass
class ComparisonView:
    id: int
    group_id: int
    title: str
    conversation: list[dict[str, Any]]
    columns: list[ColumnView]
    best_column: int | None
    created_by: int | None
    created_at: datetime
    source_step_id: int | None = None

    @property
    def running(self) -> bool:
        return any(c.result.status == "running" for c in self.columns)


@dataclass
class LiveComparison:
    """A comparison just started: its id and the live handle of each column that started
    (position -> handle; a column refused at start has none)."""

    id: int
    handles: dict[int, RunHandle] = field(default_factory=dict)

    def wait(self, timeout: float | None = None) -> None:
        for handle in self.handles.values():
            handle.wait(timeout)


def start_comparison(actor_id: int, group_id: int, variants: list[Variant],
                     conversation: str | list[dict[str, Any]], *, title: str | None = None,
                     source_step_id: int | None = None, single_call: bool = False) -> LiveComparison:
    """Save the comparison and start every column at once. Bad input (too few or too many
    variants, an empty message, an agent or version not of this group, bad edits) is
    refused before anything starts; a column refused at start (budget, rate limit) records
    its reason in its own column while the others run."""
    variants = list(variants or [])
    least = 1 if source_step_id is not None else MIN_VARIANTS
    if len(variants) > MAX_VARIANTS:
        raise ValidationError(field_errors={"variants": f"Compare at most {MAX_VARIANTS} variants at once; "
                                                        f"you picked {len(variants)}."})
    if len(variants) < least:
        raise ValidationError(field_errors={"variants": f"Pick at least {least} variants to compare."})
    turns = clean_conversation(conversation)
    with session_scope() as s:
        require_access(s, actor_id, group_id, "editor")
        if source_step_id is not None:
            step = s.get(RunStep, source_step_id) if isinstance(source_step_id, int) else None
            if step is None or step.group_id != group_id:
                raise NotFound(f"Step {source_step_id} does not exist in this group.")
        resolved = [resolve_in_session(s, group_id, v) for v in variants]
        first_user = next((t["content"] for t in turns if t["role"] == "user"), "Comparison")
        comparison = Comparison(group_id=group_id, title=(title or title_from(first_user))[:200],
                                conversation=turns, source_step_id=source_step_id, created_by=actor_id)
        s.add(comparison)
        s.flush()
        for position, (agent, version, overrides) in enumerate(resolved):
            s.add(ComparisonColumn(comparison_id=comparison.id, group_id=group_id, position=position,
                                   agent_id=agent.id, agent_version_id=version.id, overrides=overrides))
        events.record(s, "comparison_created", group_id=group_id, actor_id=actor_id,
                      target_type="comparison", target_id=comparison.id,
                      data={"variants": [f"{a.id}@{v.version}" for a, v, _ in resolved],
                            "turns": len(turns), "from_step": source_step_id})
        comparison_id = comparison.id
    live = LiveComparison(id=comparison_id)
    runs = []
    for position, variant in enumerate(variants):  # one transaction each: each run is admitted alone
        exact = Variant(variant.agent_id, resolved[position][1].version, variant.overrides)
        def start(s, exact=exact, position=position):
            run = open_variant_run(s, actor_id, group_id, exact, turns, single_call=single_call)
            _column(s, comparison_id, position).thread_id = run.thread_id
            _column(s, comparison_id, position).run_id = run.id
            return run

        try:
            runs.append((position, start_transaction(group_id, start)))
        except WorkbenchError as err:
            with session_scope() as s:
                _column(s, comparison_id, position).error = err.user_message
    for position, run in runs:  # started together once every column is admitted
        live.handles[position] = launch(run)
    return live


def _column(s: Session, comparison_id: int, position: int) -> ComparisonColumn:
    return s.scalar(select(ComparisonColumn).where(ComparisonColumn.comparison_id == comparison_id,
                                                   ComparisonColumn.position == position))


def _load(s: Session, actor_id: int, comparison_id, role: str = "viewer") -> Comparison:
    comparison = s.get(Comparison, comparison_id) if isinstance(comparison_id, int) else None
    if comparison is None:
        raise ComparisonNotFound(f"Comparison {comparison_id} does not exist.")
    require_access(s, actor_id, comparison.group_id, role)
    return comparison


def _view(s: Session, c: Comparison) -> ComparisonView:
    rows = s.execute(select(ComparisonColumn, Thing.name, AgentVersion.version)
                     .join(Thing, Thing.id == ComparisonColumn.agent_id)
                     .join(AgentVersion, AgentVersion.id == ComparisonColumn.agent_version_id)
                     .where(ComparisonColumn.comparison_id == c.id)
                     .order_by(ComparisonColumn.position)).all()
    columns = []
    for col, name, number in rows:
        result = result_in_session(s, col.run_id)
        if col.run_id is None:
            result.status, result.error = "refused", col.error
        columns.append(ColumnView(position=col.position, agent_id=col.agent_id, agent_name=name,
                                  version=number, version_id=col.agent_version_id,
                                  overrides=dict(col.overrides or {}), result=result))
    return ComparisonView(id=c.id, group_id=c.group_id, title=c.title, conversation=list(c.conversation),
                          columns=columns, best_column=c.best_column, created_by=c.created_by,
                          created_at=c.created_at, source_step_id=c.source_step_id)


def get_comparison(actor_id: int, comparison_id: int) -> ComparisonView:
    """A saved comparison with each column's result (as far as a running column has got)."""
    with session_scope() as s:
        return _view(s, _load(s, actor_id, comparison_id))


def list_comparisons(actor_id: int, group_id: int, limit: int = 50) -> list[tuple[int, str, datetime]]:
    """(id, title, created at) of the group's comparisons, newest first."""
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        return [tuple(r) for r in s.execute(
            select(Comparison.id, Comparison.title, Comparison.created_at)
            .where(Comparison.group_id == group_id)
            .order_by(Comparison.created_at.desc(), Comparison.id.desc()).limit(max(1, min(limit, 500))))]


def stop_column(actor_id: int, comparison_id: int, position: int) -> bool:
    """Stop one column's run; the others go on. False when it had already ended."""
    with session_scope() as s:
        _load(s, actor_id, comparison_id, "editor")
        column = _column(s, comparison_id, position)
        if column is None:
            raise ValidationError(field_errors={"column": f"There is no column {position}."})
        run_id = column.run_id
    return cancel_run(run_id, actor_id) if run_id else False


def mark_best(actor_id: int, comparison_id: int, position: int | None) -> ComparisonView:
    """Mark a column as the best (None clears the mark)."""
    with session_scope() as s:
        comparison = _load(s, actor_id, comparison_id, "editor")
        if position is not None and _column(s, comparison_id, position) is None:
            raise ValidationError(field_errors={"column": f"There is no column {position}."})
        comparison.best_column = position
        s.flush()
        return _view(s, comparison)


def save_column_as_version(actor_id: int, comparison_id: int, position: int | None = None,
                           note: str | None = None) -> agents.AgentView:
    """Save a column's variant (its version plus its edits; the best column by default) as
    the newest version of its agent. The agent keeps its current name and description."""
    with session_scope() as s:
        comparison = _load(s, actor_id, comparison_id, "editor")
        position = comparison.best_column if position is None else position
        column = _column(s, comparison_id, position) if position is not None else None
        if column is None:
            raise ValidationError(field_errors={"column": "Mark the best column first."})
        agent_id, version_id, overrides = column.agent_id, column.agent_version_id, dict(column.overrides)
        base = {k: v for k, v in s.get(AgentVersion, version_id).config.items()
                if k not in ("name", "description")}
    return agents.update_agent(actor_id, agent_id, note=note or f"From comparison #{comparison_id}",
                               **{**base, **overrides})


def rerun_comparison(actor_id: int, comparison_id: int) -> LiveComparison:
    """The same conversation and variants again, as a new comparison."""
    view = get_comparison(actor_id, comparison_id)
    return start_comparison(actor_id, view.group_id, [c.variant for c in view.columns], view.conversation,
                            title=view.title, source_step_id=view.source_step_id,
                            single_call=view.source_step_id is not None)
