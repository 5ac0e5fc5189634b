"""Traces: what every run did. A filterable, sortable list of a group's runs, and one run's
full trace: its steps in order (each model call with the exact request sent, the response,
every failed try; each tool call with its arguments and result), the messages it read and
wrote, the events it caused, and the agent version it ran with.

The trace is plain dataclasses so a page can render it and an export can round-trip it
(`trace_to_dict` / `load_run_export`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..db import session_scope
from ..errors import RunNotFound, ValidationError
from ..models import AgentVersion, ApiKey, Connection, Event, Message, Person, Run, RunStep, Thing, Thread, utcnow
from ..tenancy.access import MEMBER_OF, require_access
from ..tenancy.people import caller_condition
from ..tools.custom.catalog import exposed_names
from ..tools.registry import tool_names

RUN_STATUSES = ("running", "complete", "failed", "cancelled", "interrupted")
SORTS = {  # name -> column; ties go to the newest run
    "started_at": Run.started_at,
    "duration_ms": Run.duration_ms,
    "cost_usd": Run.cost_usd,
    "step_count": Run.step_count,
    "tokens": Run.input_tokens + Run.output_tokens,
}
MAX_PAGE = 500


@dataclass(frozen=True)
class RunFilters:
    """Empty tuples and None mean "any". Times are UTC; `until` is exclusive."""

    agent_ids: tuple[int, ...] = ()
    thread_id: int | None = None
    person_id: int | None = None
    statuses: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    min_duration_ms: float | None = None
    has_error: bool | None = None
    tool: str | None = None
    caller: int | str | None = None  # tenancy.people.APP (the app's people) or an API key's id


@dataclass
class RunRow:
    id: int
    group_id: int
    thread_id: int
    thread_title: str | None
    agent_id: int
    agent_name: str | None
    agent_version_id: int | None
    agent_version: int | None
    person_id: int | None
    person_name: str | None
    status: str
    started_at: datetime
    ended_at: datetime | None
    duration_ms: float | None
    step_count: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    tools: list[str]
    error_type: str | None
    error_message: str | None
    error_chain: list[Any] | None
    user_message_id: int | None
    reply_message_id: int | None
    api_key_name: str | None = None  # the run was started through the API with this group key

    @property
    def caller_name(self) -> str | None:
        """Who started it, as pages show it: the person, or 🔑 and the API key's name."""
        return f"🔑 {self.api_key_name}" if self.api_key_name else self.person_name

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass
class RunPage:
    rows: list[RunRow]
    total: int
    offset: int
    limit: int

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.rows) < self.total


@dataclass
class StepView:
    id: int
    seq: int
    kind: str  # model_call | tool_call
    name: str  # model id or tool name
    status: str  # running | ok | error | cancelled | interrupted
    started_at: datetime
    duration_ms: float | None
    ttft_ms: float | None
    input_tokens: int | None
    output_tokens: int | None
    retries: int
    request: dict[str, Any]
    response: dict[str, Any]
    error: dict[str, Any] | None
    message_id: int | None

    @property
    def cost_usd(self) -> float | None:
        return self.response.get("cost_usd")

    @property
    def failed_attempts(self) -> list[dict[str, Any]]:
        return list(self.response.get("failed_attempts") or [])


@dataclass
class MessageView:
    id: int
    seq: int
    role: str
    content: str
    tool_calls: list[Any] | None
    tool_call_id: str | None
    name: str | None
    status: str
    person_id: int | None
    run_id: int | None
    created_at: datetime
    data: dict[str, Any]


@dataclass
class TraceEvent:
    id: int
    type: str
    actor_type: str
    actor_id: int | None
    created_at: datetime
    data: dict[str, Any]


@dataclass
class RunTrace:
    run: RunRow
    agent_config: dict[str, Any] | None  # the agent version the run used
    steps: list[StepView] = field(default_factory=list)
    messages: list[MessageView] = field(default_factory=list)
    events: list[TraceEvent] = field(default_factory=list)

    @property
    def is_live(self) -> bool:
        return self.run.status == "running"

    @property
    def contexts(self) -> list[tuple[int, dict[str, Any]]]:
        """(step seq, exact request) of every model call: messages, tool schemas, params."""
        return [(s.seq, s.request) for s in self.steps if s.kind == "model_call"]

    @property
    def steps_duration_ms(self) -> float:
        return sum(s.duration_ms or 0.0 for s in self.steps)


@dataclass
class RunFilterOptions:
    agents: list[tuple[int, str]]
    people: list[tuple[int, str]]  # members who are people (the API keys' own people are in api_keys)
    threads: list[tuple[int, str]]
    tools: list[str]
    statuses: tuple[str, ...] = RUN_STATUSES
    api_keys: list[tuple[int, str]] = field(default_factory=list)  # (key id, name), revoked ones too


# --- listing -----------------------------------------------------------------------------

def _conditions(group_id: int, f: RunFilters) -> list:
    conds = [Run.group_id == group_id]
    if f.agent_ids:
        conds.append(Run.agent_id.in_([int(a) for a in f.agent_ids]))
    if f.thread_id is not None:
        conds.append(Run.thread_id == int(f.thread_id))
    if f.person_id is not None:
        conds.append(Run.person_id == int(f.person_id))
    if f.statuses:
        unknown = [x for x in f.statuses if x not in RUN_STATUSES]
        if unknown:
            raise ValidationError(field_errors={"status": f"Unknown status {unknown[0]!r}."})
        conds.append(Run.status.in_(f.statuses))
    if f.since is not None:
        conds.append(Run.started_at >= f.since)
    if f.until is not None:
        conds.append(Run.started_at < f.until)
    if f.since is not None and f.until is not None and f.until <= f.since:
        raise ValidationError(field_errors={"time_range": "The end must be after the start."})
    if f.min_duration_ms:
        if f.min_duration_ms < 0:
            raise ValidationError(field_errors={"min_duration": "Must be 0 or more."})
        conds.append(Run.duration_ms >= float(f.min_duration_ms))
    if f.has_error is True:
        conds.append(Run.error_type.is_not(None))
    elif f.has_error is False:
        conds.append(Run.error_type.is_(None))
    by = caller_condition(Run.person_id, group_id, f.caller)
    if by is not None:
        conds.append(by)
    if f.tool:
        escaped = f.tool.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conds.append(Run.tools_used.like(f"%,{escaped},%", escape="\\"))
    return conds


def _select_rows():
    return (select(Run, Thing.name, Thread.title, Person.name, AgentVersion.version, ApiKey.name)
            .outerjoin(Thing, Thing.id == Run.agent_id)
            .outerjoin(Thread, Thread.id == Run.thread_id)
            .outerjoin(Person, Person.id == Run.person_id)
            .outerjoin(AgentVersion, AgentVersion.id == Run.agent_version_id)
            .outerjoin(ApiKey, (ApiKey.person_id == Run.person_id) & (ApiKey.group_id == Run.group_id)))


def _to_row(run: Run, agent_name, thread_title, person_name, version, key_name=None) -> RunRow:
    return RunRow(
        id=run.id, group_id=run.group_id, thread_id=run.thread_id, thread_title=thread_title,
        agent_id=run.agent_id, agent_name=agent_name, agent_version_id=run.agent_version_id,
        agent_version=version, person_id=run.person_id, person_name=person_name,
        status=run.status, started_at=run.started_at, ended_at=run.ended_at,
        duration_ms=run.duration_ms, step_count=run.step_count, input_tokens=run.input_tokens,
        output_tokens=run.output_tokens, cost_usd=run.cost_usd,
        tools=[t for t in (run.tools_used or "").split(",") if t], error_type=run.error_type,
        error_message=run.error_message, error_chain=run.error_chain,
        user_message_id=run.user_message_id, reply_message_id=run.reply_message_id, api_key_name=key_name)


def _fill_live(s: Session, rows: list[RunRow]) -> None:
    """Runs still going have no totals yet: count what their steps have recorded so far."""
    live = {r.id: r for r in rows if r.status == "running"}
    if not live:
        return
    for run_id, n, tin, tout in s.execute(
            select(RunStep.run_id, func.count(), func.coalesce(func.sum(RunStep.input_tokens), 0),
                   func.coalesce(func.sum(RunStep.output_tokens), 0))
            .where(RunStep.run_id.in_(live)).group_by(RunStep.run_id)):
        live[run_id].step_count, live[run_id].input_tokens, live[run_id].output_tokens = n, tin, tout


def list_runs(actor_id: int, group_id: int, filters: RunFilters | None = None, *,
              sort: str = "started_at", descending: bool = True, limit: int = 50,
              offset: int = 0) -> RunPage:
    """One page of the group's runs matching `filters`, sorted by `sort` (a key of SORTS)."""
    f = filters or RunFilters()
    if sort not in SORTS:
        raise ValidationError(field_errors={"sort": f"Sort by one of {', '.join(SORTS)}."})
    limit, offset = max(1, min(int(limit), MAX_PAGE)), max(0, int(offset))
    column = SORTS[sort]
    order = [column.desc().nulls_last() if descending else column.asc().nulls_last(),
             Run.id.desc() if descending else Run.id.asc()]
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        conds = _conditions(group_id, f)
        total = s.scalar(select(func.count()).select_from(Run).where(*conds)) or 0
        rows = [_to_row(*r) for r in s.execute(_select_rows().where(*conds).order_by(*order)
                                               .limit(limit).offset(offset))]
        _fill_live(s, rows)
    return RunPage(rows=rows, total=total, offset=offset, limit=limit)


def run_filter_options(actor_id: int, group_id: int, max_threads: int = 200) -> RunFilterOptions:
    """What the Traces filters offer: the group's agents (deleted ones too, their runs
    remain), members who are people, API keys (revoked ones too: their runs remain), most
    recent threads and the known tools."""

    with session_scope() as s:
        require_access(s, actor_id, group_id)
        custom = sorted(exposed_names(s, group_id))
        agents = s.execute(select(Thing.id, Thing.name, Thing.deleted_at).where(
            Thing.group_id == group_id, Thing.type == "agent").order_by(Thing.name)).all()
        keys = s.execute(select(ApiKey.id, ApiKey.name, ApiKey.person_id, ApiKey.revoked_at)
                         .where(ApiKey.group_id == group_id)
                         .order_by(ApiKey.revoked_at.is_not(None), ApiKey.name, ApiKey.id)).all()
        key_people = {k.person_id for k in keys}
        people = [(i, n) for i, n in s.execute(select(Person.id, Person.name).join(
            Connection, Connection.source_id == Person.id).where(
            Connection.type == MEMBER_OF, Connection.source_type == "person",
            Connection.target_type == "group", Connection.target_id == group_id)
            .order_by(Person.name)) if i not in key_people]
        threads = s.execute(select(Thread.id, Thread.title).where(Thread.group_id == group_id)
                            .order_by(Thread.last_activity_at.desc()).limit(max_threads)).all()
    return RunFilterOptions(
        agents=[(i, n + (" (deleted)" if d else "")) for i, n, d in agents],
        people=people, threads=[(i, t) for i, t in threads],
        tools=tool_names() + custom,
        api_keys=[(k.id, k.name + (" (revoked)" if k.revoked_at else "")) for k in keys])


# --- one run -----------------------------------------------------------------------------

def _load_run(s: Session, actor_id: int, run_id) -> Run:
    try:
        run = s.get(Run, int(run_id))
    except (TypeError, ValueError):
        run = None
    if run is None:
        raise RunNotFound()
    require_access(s, actor_id, run.group_id)
    return run


def get_run_trace(actor_id: int, run_id: int) -> RunTrace:
    """Everything a run did, read from the database (so it also shows a run still going,
    from any tab or process): the run, its steps in order, its messages (the user message
    that started it and every message it wrote), its events and the agent version."""
    with session_scope() as s:
        run = _load_run(s, actor_id, run_id)
        row = _to_row(*s.execute(_select_rows().where(Run.id == run.id)).one())
        _fill_live(s, [row])
        version = s.get(AgentVersion, run.agent_version_id) if run.agent_version_id else None
        steps = [StepView(id=x.id, seq=x.seq, kind=x.kind, name=x.name, status=x.status,
                          started_at=x.started_at, duration_ms=x.duration_ms, ttft_ms=x.ttft_ms,
                          input_tokens=x.input_tokens, output_tokens=x.output_tokens,
                          retries=x.retries, request=dict(x.request or {}),
                          response=dict(x.response or {}), error=x.error, message_id=x.message_id)
                 for x in s.scalars(select(RunStep).where(RunStep.run_id == run.id)
                                    .order_by(RunStep.seq))]
        mine = Message.run_id == run.id
        if run.user_message_id is not None:
            mine = or_(mine, Message.id == run.user_message_id)
        messages = [MessageView(id=m.id, seq=m.seq, role=m.role, content=m.content,
                                tool_calls=m.tool_calls, tool_call_id=m.tool_call_id, name=m.name,
                                status=m.status, person_id=m.person_id, run_id=m.run_id,
                                created_at=m.created_at, data=dict(m.data or {}))
                    for m in s.scalars(select(Message).where(Message.thread_id == run.thread_id, mine)
                                       .order_by(Message.seq))]
        # Bounded by the run's time span so the group+time index keeps this cheap.
        end = (run.ended_at or utcnow()) + timedelta(seconds=5)
        events = [TraceEvent(id=e.id, type=e.type, actor_type=e.actor_type, actor_id=e.actor_id,
                             created_at=e.created_at, data=dict(e.data or {}))
                  for e in s.scalars(select(Event).where(
                      Event.group_id == run.group_id,
                      Event.created_at >= run.started_at - timedelta(seconds=5),
                      Event.created_at <= end, Event.target_type == "run",
                      Event.target_id == run.id).order_by(Event.created_at, Event.id))]
        return RunTrace(run=row, agent_config=dict(version.config) if version else None,
                        steps=steps, messages=messages, events=events)


def run_versions(actor_id: int, group_id: int, run_ids) -> dict[int, tuple[int, int | None]]:
    """{run id: (agent id, version number)} for this group's runs among `run_ids`, in one
    query (the Chat page labels each reply with the version that wrote it)."""
    ids = {i for i in run_ids if isinstance(i, int)}
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        if not ids:
            return {}
        rows = s.execute(select(Run.id, Run.agent_id, AgentVersion.version)
                         .outerjoin(AgentVersion, AgentVersion.id == Run.agent_version_id)
                         .where(Run.group_id == group_id, Run.id.in_(ids)))
        return {run_id: (agent_id, version) for run_id, agent_id, version in rows}


def run_status(actor_id: int, run_id: int) -> str:
    """Just the status (cheap: the live view polls it)."""
    with session_scope() as s:
        return _load_run(s, actor_id, run_id).status


_EXPORTS = ("export_run_json", "export_runs_csv", "export_runs_json", "load_run_export",
            "trace_to_dict")

