"""A group's monthly budget: spend per calendar month in the group's time zone (UTC unless an
owner set one; see `clock`). At 80 % a `budget_warning` event is written once per group per
month (`note_spend`); at 100 % new runs are refused (costs.limits, `budget_exceeded`). A run
already going is never stopped: it finishes and its cost is recorded.

The month's spend is kept per group (`GroupSpend`), added to as each priced call is recorded
(`note_spend`), so checking it reads one row whatever the month's volume; when the row is
absent or of another month, the month's usage records are summed (and the next priced call
keeps that sum). Whatever changes records behind it drops the row (`forget_spend`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .. import clock, events
from ..db import session_scope
from ..models import Event, Group, GroupSpend, UsageRecord, utcnow
from ..tenancy.access import load_group

WARN_AT = 0.8

# Built once with parameters: every priced call and run start reads them, and building a
# statement anew costs several times executing it.
_usage = UsageRecord.__table__
_SPEND_BETWEEN = select(func.coalesce(func.sum(_usage.c.cost_usd), 0.0)).where(
    _usage.c.group_id == bindparam("group_id"), _usage.c.created_at >= bindparam("start"),
    _usage.c.created_at < bindparam("end"))
_groups, _spend = Group.__table__, GroupSpend.__table__
# A group's limits and kept spend as a plain row (no ORM object): every priced call and run
# start reads them.
GROUP_LIMITS = select(_groups.c.id, _groups.c.monthly_budget_usd, _groups.c.rpm_limit, _groups.c.tpm_limit,
                      _groups.c.time_zone, _spend.c.month_from.label("spend_from"),
                      _spend.c.cost_usd.label("spend_usd")).select_from(
    _groups.outerjoin(_spend, _spend.c.group_id == _groups.c.id)).where(_groups.c.id == bindparam("group_id"))
_KEPT_SPEND = select(_spend.c.month_from, _spend.c.cost_usd).where(_spend.c.group_id == bindparam("group_id"))
# Added to the month's kept spend; no row when none is kept for this month.
_ADD_SPEND = (update(_spend).where(_spend.c.group_id == bindparam("group_key"),
                                   _spend.c.month_from == bindparam("start", type_=_spend.c.month_from.type))
              .values(cost_usd=_spend.c.cost_usd + bindparam("added", type_=_spend.c.cost_usd.type))
              .returning(_spend.c.cost_usd))


@dataclass(frozen=True)
class BudgetStatus:
    budget_usd: float | None  # None: no budget
    spent_usd: float  # this month so far
    month: str  # "2026-11", in the group's time zone
    level: str  # none | ok | warning | exceeded

    @property
    def fraction(self) -> float | None:
        if self.budget_usd is None:
            return None
        if self.budget_usd <= 0:
            return 1.0
        return self.spent_usd / self.budget_usd

    @property
    def message(self) -> str:
        if self.level == "exceeded":
            return (f"This group has spent ${self.spent_usd:,.2f} of its ${self.budget_usd:,.2f} "
                    f"budget for {self.month}: new runs are paused until next month or until an "
                    "owner raises the budget. Runs already going finish normally.")
        if self.level == "warning":
            return (f"This group has used {self.fraction:.0%} of its ${self.budget_usd:,.2f} budget "
                    f"for {self.month} (${self.spent_usd:,.2f} spent). At 100 % new runs are paused.")
        if self.level == "ok":
            return f"${self.spent_usd:,.2f} of ${self.budget_usd:,.2f} spent in {self.month}."
        return f"${self.spent_usd:,.2f} spent in {self.month}; no monthly budget is set."


def _summed_spend(s: Session, group_id: int, start: datetime, end: datetime) -> float:
    return float(s.scalar(_SPEND_BETWEEN, {"group_id": group_id, "start": start, "end": end}) or 0.0)


def month_spend(s: Session, group, now: datetime | None = None) -> float:
    """The group's spend in the calendar month (in its time zone) that contains `now`.
    `group`: a Group, or a GROUP_LIMITS row (which carries the kept spend)."""
    now = now or utcnow()
    start = clock.month_start(now, group.time_zone)
    if hasattr(group, "spend_from"):
        kept = (group.spend_from, group.spend_usd) if group.spend_from is not None else None
    else:
        kept = s.execute(_KEPT_SPEND, {"group_id": group.id}).first()
    if kept is not None and kept[0] == start:
        return float(kept[1])
    return _summed_spend(s, group.id, start, clock.next_month_start(now, group.time_zone))


def add_spend(s: Session, group, added_usd: float, now: datetime) -> float:
    """Add a priced call's cost (its usage record already written in `s`) to the group's
    kept spend for the month of `now`, and return the month's spend. Without a kept spend
    for that month, the month's records (this call's included) are summed and kept."""
    start = clock.month_start(now, group.time_zone)
    spent = s.execute(_ADD_SPEND, {"group_key": group.id, "start": start, "added": added_usd}).scalar()
    if spent is not None:
        return float(spent)
    summed = _summed_spend(s, group.id, start, clock.next_month_start(now, group.time_zone))
    dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
    keep = dialect.insert(_spend).values(group_id=group.id, month_from=start, cost_usd=summed)
    # Another process kept this month's first call meanwhile (PostgreSQL): add to its sum,
    # which misses ours; a row of another month is replaced by the sum.
    keep = keep.on_conflict_do_update(index_elements=[_spend.c.group_id], set_={
        "cost_usd": case((_spend.c.month_from == keep.excluded.month_from, _spend.c.cost_usd + added_usd),
                         else_=keep.excluded.cost_usd),
        "month_from": keep.excluded.month_from}).returning(_spend.c.cost_usd)
    return float(s.execute(keep).scalar())


def forget_spend(s: Session, group_ids: Iterable[int]) -> None:
    """Drop the kept spend of these groups: their usage records changed behind it."""
    s.execute(delete(_spend).where(_spend.c.group_id.in_(list(group_ids))))


def budget_level(spent: float, budget: float | None) -> str:
    if budget is None:
        return "none"
    if spent >= budget:
        return "exceeded"
    return "warning" if spent >= WARN_AT * budget else "ok"


def group_budget(s: Session, group: Group, now: datetime | None = None) -> BudgetStatus:
    now = now or utcnow()
    return _status(group, month_spend(s, group, now), now)


def _status(group, spent: float, now: datetime) -> BudgetStatus:
    budget = group.monthly_budget_usd
    return BudgetStatus(budget, spent, clock.month_label(now, group.time_zone), budget_level(spent, budget))


def note_spend(s: Session, group_id: int, now: datetime | None = None,
               added_usd: float = 0.0) -> BudgetStatus | None:
    """After spend changed (a call recorded, costing `added_usd`; a budget lowered; costs
    recomputed): keep the month's spend, and write the month's `budget_warning` the first
    time it reaches 80 %. Call after the session has written, so on SQLite the write lock
    serialises the once-a-month check."""
    group = s.execute(GROUP_LIMITS, {"group_id": group_id}).first()  # a plain row: every priced call reads it
    if group is None:
        return None
    now = now or utcnow()
    # Kept for every group, budget or not: a budget set later finds the month's spend kept.
    spent = add_spend(s, group, added_usd, now) if added_usd else None
    if group.monthly_budget_usd is None:
        return None
    status = group_budget(s, group, now) if spent is None else _status(group, spent, now)
    if status.level in ("warning", "exceeded"):
        already = s.scalar(select(Event.id).where(
            Event.group_id == group_id, Event.type == "budget_warning",
            Event.created_at >= clock.month_start(now, group.time_zone),
            Event.created_at < clock.next_month_start(now, group.time_zone)).limit(1))
        if already is None:
            events.record(s, "budget_warning", group_id=group_id, actor_type="system",
                          target_type="group", target_id=group_id,
                          data={"month": status.month, "spent_usd": round(status.spent_usd, 6),
                                "budget_usd": status.budget_usd,
                                "percent": round(100 * (status.fraction or 0), 1)})
    return status


def budget_status(actor_id: int, group_id: int) -> BudgetStatus:
    with session_scope() as s:
        group = load_group(s, actor_id, group_id, "viewer")
        return group_budget(s, group)
