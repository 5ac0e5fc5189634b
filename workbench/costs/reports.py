"""Usage aggregations for the Usage page. Every figure is a SQL GROUP BY over
usage_records filtered by (group_id, created_at) -- the ix_usage_group_* indexes -- so a
dashboard reads only the period's rows of one group and returns a few hundred numbers.
Times are naive UTC, like every stored timestamp; periods are half-open [start, end).

A dashboard may be narrowed to one caller (`caller`): the workbench app (`APP`: people, and
records with no person) or one API key by id. A key acts through a person of its own, so this
is a condition on usage_records.person_id (ix_usage_group_person_time) against api_keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session

from .. import clock
from ..db import session_scope
from ..errors import ValidationError
from ..models import ApiKey, Connection, Group, Person, Run, Thing, Thread, UsageRecord, utcnow
from ..tenancy.access import MEMBER_OF, require_access
from ..tenancy.people import APP, caller_condition  # noqa: F401 - APP: the app as a caller, for pages
from .budget import budget_level

PERIODS = {"today": "Today", "7d": "Last 7 days", "30d": "Last 30 days",
           "mtd": "Month to date", "custom": "Custom"}
MAX_CUSTOM_DAYS = 366 * 3


@dataclass(frozen=True)
class Period:
    """A half-open [start, end) of naive UTC instants whose calendar edges (midnights, the
    1st of a month) are those of `time_zone`."""

    start: datetime
    end: datetime
    prev_start: datetime  # the previous period of equal length, for the deltas
    prev_end: datetime
    bucket: str  # hour | day | month
    label: str
    time_zone: str = clock.UTC_NAME

    def local(self, instant: datetime) -> datetime:
        """A naive UTC instant as wall time in the period's zone, for display."""
        return clock.to_local(instant, self.time_zone)


def period(kind: str, *, now: datetime | None = None, start: date | None = None,
           end: date | None = None, time_zone: str | None = None) -> Period:
    """A period by name, its days those of `time_zone` (UTC when None). Rolling periods end
    now and compare with the same span just before; "today" compares with yesterday up to
    the same time, month-to-date with as long a start of the previous month; custom
    [start, end] is whole local days."""
    now = now or utcnow()
    tz = time_zone or clock.UTC_NAME
    today = clock.local_today(tz, now)

    def day(d: date) -> datetime:
        return clock.day_start(d, tz)

    def make(lo: datetime, hi: datetime, prev_lo: datetime, bucket: str, label: str) -> Period:
        return Period(lo, hi, prev_lo, min(prev_lo + (hi - lo), lo), bucket, label, tz)

    if kind == "today":
        return make(day(today), now, day(today - timedelta(days=1)), "hour", PERIODS[kind])
    if kind in ("7d", "30d"):
        days = 7 if kind == "7d" else 30
        return make(day(today - timedelta(days=days - 1)), now, day(today - timedelta(days=2 * days - 1)),
                    "day", PERIODS[kind])
    if kind == "mtd":
        first = today.replace(day=1)
        prev_first = (first - timedelta(days=1)).replace(day=1)
        return make(day(first), now, day(prev_first), "day", PERIODS[kind])
    if kind == "custom":
        if start is None or end is None or end < start:
            raise ValidationError(field_errors={"period": "Pick a start date on or before the end date."})
        if (end - start).days > MAX_CUSTOM_DAYS:
            raise ValidationError(field_errors={"period": "Pick at most three years."})
        lo, hi = day(start), day(end + timedelta(days=1))
        days = (end - start).days + 1
        bucket = "hour" if days <= 2 else "day" if days <= 120 else "month"
        return Period(lo, hi, lo - (hi - lo), lo, bucket, f"{start:%d %b %Y} – {end:%d %b %Y}", tz)
    raise ValidationError(field_errors={"period": f"Unknown period {kind!r}."})


def bucket_expr(s: Session, column, bucket: str):
    """A SQL expression truncating `column` to hour/day/month, for the session's dialect:
    strftime/date on SQLite, date_trunc on PostgreSQL (and others that have it)."""
    if s.get_bind().dialect.name == "sqlite":
        if bucket == "day":
            return func.date(column)
        fmt = "%Y-%m-%d %H:00:00" if bucket == "hour" else "%Y-%m-01"
        return func.strftime(fmt, column)
    return func.date_trunc(bucket, column)


def _as_datetime(value) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime.combine(value, time.min)
    return datetime.fromisoformat(str(value))


def in_period(group_id: int, start: datetime, end: datetime, caller: int | str | None = None):
    """The WHERE of a group's records in [start, end), of one caller when `caller` is set
    (APP, or an API key's id)."""
    conds = (UsageRecord.group_id == group_id, UsageRecord.created_at >= start, UsageRecord.created_at < end)
    by = caller_condition(UsageRecord.person_id, group_id, caller)
    return conds if by is None else (*conds, by)


_COST = func.coalesce(func.sum(UsageRecord.cost_usd), 0.0)
_IN = func.coalesce(func.sum(UsageRecord.input_tokens), 0)
_OUT = func.coalesce(func.sum(UsageRecord.output_tokens), 0)


# --- the queries (each takes an open session; the services below check access) -------

@dataclass(frozen=True)
class Totals:
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    avg_latency_ms: float | None = None
    estimated_calls: int = 0
    default_priced_calls: int = 0


def q_totals(s: Session, group_id: int, start: datetime, end: datetime, caller: int | str | None = None) -> Totals:
    row = s.execute(select(
        func.count(), _IN, _OUT, _COST, func.avg(UsageRecord.duration_ms),
        func.coalesce(func.sum(cast(UsageRecord.estimated, Integer)), 0),
        func.coalesce(func.sum(cast(UsageRecord.price_is_default, Integer)), 0),
    ).where(*in_period(group_id, start, end, caller))).one()
    return Totals(int(row[0]), int(row[1]), int(row[2]), float(row[3]),
                  float(row[4]) if row[4] is not None else None, int(row[5]), int(row[6]))


def q_cost_over_time(s: Session, group_id: int, start: datetime, end: datetime, bucket: str,
                     time_zone: str | None = None, caller: int | str | None = None) -> list[tuple[datetime, str, float, int]]:
    """(bucket start as wall time in `time_zone`, model, cost, calls) rows, oldest first.
    In UTC the database buckets; in another zone it sums whole UTC hours, folded here into
    local days or months (a zone with a half-hour offset folds at the UTC hour)."""
    if (time_zone or clock.UTC_NAME) == clock.UTC_NAME:
        b = bucket_expr(s, UsageRecord.created_at, bucket).label("b")
        rows = s.execute(select(b, UsageRecord.model, _COST, func.count())
                         .where(*in_period(group_id, start, end, caller)).group_by(b, UsageRecord.model).order_by(b))
        return [(_as_datetime(t), m, float(c), int(n)) for t, m, c, n in rows]
    b = bucket_expr(s, UsageRecord.created_at, "hour").label("b")
    folded: dict[tuple[datetime, str], list] = {}
    for t, m, c, n in s.execute(select(b, UsageRecord.model, _COST, func.count())
                                .where(*in_period(group_id, start, end, caller)).group_by(b, UsageRecord.model)):
        local = clock.to_local(_as_datetime(t), time_zone)
        key = (_truncate(local, bucket), m)
        acc = folded.setdefault(key, [0.0, 0])
        acc[0] += float(c)
        acc[1] += int(n)
    return [(t, m, c, n) for (t, m), (c, n) in sorted(folded.items())]


def _truncate(local: datetime, bucket: str) -> datetime:
    if bucket == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return day.replace(day=1) if bucket == "month" else day


def q_by_agent(s: Session, group_id: int, start: datetime, end: datetime, caller: int | str | None = None) -> list[tuple[str, int, int, float]]:
    """(agent name, input tokens, output tokens, cost), most tokens first."""
    rows = s.execute(select(UsageRecord.agent_id, _IN, _OUT, _COST).where(*in_period(group_id, start, end, caller))
                     .group_by(UsageRecord.agent_id).order_by((_IN + _OUT).desc())).all()
    names = _names(s, Thing, [r[0] for r in rows], Thing.name)
    return [(names.get(a, f"Agent #{a}") if a else "(no agent)", int(i), int(o), float(c)) for a, i, o, c in rows]


def q_by_person(s: Session, group_id: int, start: datetime, end: datetime, caller: int | str | None = None) -> list[tuple[str, float, int]]:
    """(person name, cost, calls), most expensive first."""
    rows = s.execute(select(UsageRecord.person_id, _COST, func.count()).where(*in_period(group_id, start, end, caller))
                     .group_by(UsageRecord.person_id).order_by(_COST.desc())).all()
    names = _names(s, Person, [r[0] for r in rows], Person.name)
    return [(names.get(p, f"Person #{p}") if p else "(system)", float(c), int(n)) for p, c, n in rows]


@dataclass(frozen=True)
class CallerRow:
    """One caller's share: an API key (key_id, its name), or the workbench app (key_id None)."""

    key_id: int | None
    name: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    revoked: bool = False


APP_NAME = "Workbench app"


def q_by_caller(s: Session, group_id: int, start: datetime, end: datetime,
                caller: int | str | None = None) -> list[CallerRow]:
    """Calls, tokens and cost per API key, and the workbench app's (people, and records with
    no person) as one row; most expensive first."""
    rows = s.execute(select(ApiKey.id, ApiKey.name, ApiKey.revoked_at.is_not(None), func.count(), _IN, _OUT, _COST)
                     .select_from(UsageRecord)
                     .outerjoin(ApiKey, (ApiKey.person_id == UsageRecord.person_id) & (ApiKey.group_id == group_id))
                     .where(*in_period(group_id, start, end, caller))
                     .group_by(ApiKey.id, ApiKey.name, ApiKey.revoked_at).order_by(_COST.desc(), ApiKey.id)).all()
    return [CallerRow(k, name if k is not None else APP_NAME, int(n), int(i), int(o), float(c), bool(k and gone))
            for k, name, gone, n, i, o, c in rows]


def q_by_provider(s: Session, group_id: int, start: datetime, end: datetime, caller: int | str | None = None) -> list[tuple[str, float, int]]:
    rows = s.execute(select(UsageRecord.provider, _COST, func.count()).where(*in_period(group_id, start, end, caller))
                     .group_by(UsageRecord.provider).order_by(_COST.desc()))
    return [(p, float(c), int(n)) for p, c, n in rows]


@dataclass(frozen=True)
class ModelRow:
    provider: str
    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    default_priced_calls: int  # calls priced with the provider default: the model has no price
    estimated_calls: int


def q_by_model(s: Session, group_id: int, start: datetime, end: datetime, caller: int | str | None = None) -> list[ModelRow]:
    rows = s.execute(select(
        UsageRecord.provider, UsageRecord.model, func.count(), _IN, _OUT, _COST,
        func.coalesce(func.sum(cast(UsageRecord.price_is_default, Integer)), 0),
        func.coalesce(func.sum(cast(UsageRecord.estimated, Integer)), 0),
    ).where(*in_period(group_id, start, end, caller)).group_by(UsageRecord.provider, UsageRecord.model)
        .order_by(_COST.desc()))
    return [ModelRow(p, m, int(n), int(i), int(o), float(c), int(d), int(e)) for p, m, n, i, o, c, d, e in rows]


@dataclass(frozen=True)
class TopRow:
    id: int  # thread id or run id
    title: str
    cost_usd: float
    calls: int
    tokens: int
    run_id: int | None  # the trace to open: the run itself, or the thread's latest run
    when: datetime | None
    detail: str = ""


def q_top_threads(s: Session, group_id: int, start: datetime, end: datetime, limit: int = 10,
                  caller: int | str | None = None) -> list[TopRow]:
    rows = s.execute(select(UsageRecord.thread_id, _COST, func.count(), _IN + _OUT,
                            func.max(UsageRecord.run_id), func.max(UsageRecord.created_at))
                     .where(*in_period(group_id, start, end, caller), UsageRecord.thread_id.is_not(None))
                     .group_by(UsageRecord.thread_id).order_by(_COST.desc(), UsageRecord.thread_id)
                     .limit(limit)).all()
    titles = _names(s, Thread, [r[0] for r in rows], Thread.title, Thread.group_id == group_id)
    return [TopRow(t, titles.get(t, f"Thread #{t}"), float(c), int(n), int(k), r, _as_datetime(w) if w else None)
            for t, c, n, k, r, w in rows]


def q_top_runs(s: Session, group_id: int, start: datetime, end: datetime, limit: int = 10,
               caller: int | str | None = None) -> list[TopRow]:
    rows = s.execute(select(UsageRecord.run_id, UsageRecord.thread_id, _COST, func.count(), _IN + _OUT,
                            func.min(UsageRecord.created_at))
                     .where(*in_period(group_id, start, end, caller), UsageRecord.run_id.is_not(None))
                     .group_by(UsageRecord.run_id, UsageRecord.thread_id)
                     .order_by(_COST.desc(), UsageRecord.run_id).limit(limit)).all()
    titles = _names(s, Thread, [r[1] for r in rows], Thread.title, Thread.group_id == group_id)
    status = dict(s.execute(select(Run.id, Run.status).where(
        Run.id.in_([r[0] for r in rows]), Run.group_id == group_id)).all()) if rows else {}
    return [TopRow(r, titles.get(t, f"Thread #{t}"), float(c), int(n), int(k), r,
                   _as_datetime(w) if w else None, status.get(r, ""))
            for r, t, c, n, k, w in rows]


def _names(s: Session, model, ids, column, *extra) -> dict[int, str]:
    ids = sorted({i for i in ids if i is not None})
    if not ids:
        return {}
    return dict(s.execute(select(model.id, column).where(model.id.in_(ids), *extra)).all())


# --- the dashboard service -------------------------------------------------------------

@dataclass
class Dashboard:
    period: Period
    totals: Totals
    previous: Totals
    cost_over_time: list[tuple[datetime, str, float, int]] = field(default_factory=list)
    by_agent: list[tuple[str, int, int, float]] = field(default_factory=list)
    by_person: list[tuple[str, float, int]] = field(default_factory=list)
    by_provider: list[tuple[str, float, int]] = field(default_factory=list)
    by_model: list[ModelRow] = field(default_factory=list)
    top_threads: list[TopRow] = field(default_factory=list)
    top_runs: list[TopRow] = field(default_factory=list)
    by_caller: list[CallerRow] = field(default_factory=list)
    caller: int | str | None = None  # what the dashboard was narrowed to (None: every caller)

    def change(self, attr: str) -> float | None:
        """Relative change of a total against the previous period (None: nothing before)."""
        now, before = getattr(self.totals, attr), getattr(self.previous, attr)
        if now is None or not before:
            return None
        return (now - before) / before

    @property
    def default_priced(self) -> list[ModelRow]:
        return [m for m in self.by_model if m.default_priced_calls]


def dashboard(actor_id: int, group_id: int, p: Period, *, caller: int | str | None = None) -> Dashboard:
    """Everything the Usage page shows for one group and period, in one read; with `caller`
    (APP, or an API key's id) every figure counts only that caller's calls."""
    with session_scope() as s:
        require_access(s, actor_id, group_id, "viewer")
        a, b, by = p.start, p.end, caller
        return Dashboard(
            period=p, totals=q_totals(s, group_id, a, b, by),
            previous=q_totals(s, group_id, p.prev_start, p.prev_end, by),
            cost_over_time=q_cost_over_time(s, group_id, a, b, p.bucket, p.time_zone, by),
            by_agent=q_by_agent(s, group_id, a, b, by), by_person=q_by_person(s, group_id, a, b, by),
            by_provider=q_by_provider(s, group_id, a, b, by), by_model=q_by_model(s, group_id, a, b, by),
            top_threads=q_top_threads(s, group_id, a, b, caller=by), top_runs=q_top_runs(s, group_id, a, b, caller=by),
            by_caller=q_by_caller(s, group_id, a, b, by), caller=caller)


# --- groups side by side ---------------------------------------------------------------

@dataclass(frozen=True)
class GroupRow:
    group_id: int
    name: str
    plan: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    month_spend_usd: float
    budget_usd: float | None
    budget_level: str


def comparable_groups(s: Session, actor_id: int) -> list[Group]:
    """The groups the person is a member of, each passing the access check. Administrators
    too: nothing of a group is shown to someone outside it, so an admin joins a group to
    compare it."""
    ids = s.scalars(select(Connection.target_id).where(
        Connection.type == MEMBER_OF, Connection.source_type == "person",
        Connection.source_id == actor_id, Connection.target_type == "group")).all()
    for gid in ids:
        require_access(s, actor_id, gid, "viewer")
    return list(s.scalars(select(Group).where(Group.id.in_(ids)).order_by(Group.name))) if ids else []


def compare_groups(actor_id: int, start: datetime, end: datetime) -> list[GroupRow]:
    """Totals of [start, end) and this month's spend (each group's month, in its own time
    zone) per visible group, most expensive first."""
    with session_scope() as s:
        groups = comparable_groups(s, actor_id)
        ids = [g.id for g in groups]
        if not ids:
            return []
        u = UsageRecord
        totals = {g: (n, i, o, c) for g, n, i, o, c in s.execute(
            select(u.group_id, func.count(), _IN, _OUT, _COST)
            .where(u.group_id.in_(ids), u.created_at >= start, u.created_at < end).group_by(u.group_id))}
        now = utcnow()
        month: dict[int, float] = {}
        for tz in {g.time_zone for g in groups}:  # one query per zone in use, usually one
            in_zone = [g.id for g in groups if g.time_zone == tz]
            month.update(s.execute(select(u.group_id, _COST).where(
                u.group_id.in_(in_zone), u.created_at >= clock.month_start(now, tz),
                u.created_at < clock.next_month_start(now, tz)).group_by(u.group_id)).all())
        rows = []
        for g in groups:
            n, i, o, c = totals.get(g.id, (0, 0, 0, 0.0))
            spent = float(month.get(g.id, 0.0))
            rows.append(GroupRow(g.id, g.name, g.plan, int(n), int(i), int(o), float(c), spent,
                                 g.monthly_budget_usd, budget_level(spent, g.monthly_budget_usd)))
        return sorted(rows, key=lambda r: (-r.cost_usd, r.name))
