"""A group's monthly budget: spend per calendar month in the group's time zone (UTC unless an
owner set one; see `clock`). At 80 % a `budget_warning` event is written once per group per
month (`note_spend`); at 100 % new runs are refused (costs.limits, `budget_exceeded`). A run
already going is never stopped: it finishes and its cost is recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from .. import clock, events
from ..db import session_scope
from ..models import Event, Group, UsageRecord, utcnow
from ..tenancy.access import load_group

WARN_AT = 0.8

# Built once with parameters: every priced call and run start reads them, and building a
# statement anew costs several times executing it.
_usage = UsageRecord.__table__
_SPEND_BETWEEN = select(func.coalesce(func.sum(_usage.c.cost_usd), 0.0)).where(
    _usage.c.group_id == bindparam("group_id"), _usage.c.created_at >= bindparam("start"),
    _usage.c.created_at < bindparam("end"))
# A group's limits as a plain row (no ORM object): every priced call and run start reads them.
GROUP_LIMITS = select(Group.__table__.c.id, Group.__table__.c.monthly_budget_usd, Group.__table__.c.rpm_limit,
                      Group.__table__.c.tpm_limit, Group.__table__.c.time_zone).where(
    Group.__table__.c.id == bindparam("group_id"))


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


def month_spend(s: Session, group: Group, now: datetime | None = None) -> float:
    """The group's spend in the calendar month (in its time zone) that contains `now`."""
    now = now or utcnow()
    return float(s.scalar(_SPEND_BETWEEN, {
        "group_id": group.id, "start": clock.month_start(now, group.time_zone),
        "end": clock.next_month_start(now, group.time_zone)}) or 0.0)


def budget_level(spent: float, budget: float | None) -> str:
    if budget is None:
        return "none"
    if spent >= budget:
        return "exceeded"
    return "warning" if spent >= WARN_AT * budget else "ok"


def group_budget(s: Session, group: Group, now: datetime | None = None) -> BudgetStatus:
    now = now or utcnow()
    spent = month_spend(s, group, now)
    budget = group.monthly_budget_usd
    return BudgetStatus(budget, spent, clock.month_label(now, group.time_zone), budget_level(spent, budget))


def note_spend(s: Session, group_id: int, now: datetime | None = None) -> BudgetStatus | None:
    """After spend changed (a call recorded, a budget lowered, costs recomputed): write the
    month's `budget_warning` the first time spend reaches 80 %. Call after the session has
    written, so on SQLite the write lock serialises the once-a-month check."""
    group = s.execute(GROUP_LIMITS, {"group_id": group_id}).first()  # a plain row: every priced call reads it
    if group is None or group.monthly_budget_usd is None:
        return None
    now = now or utcnow()
    status = group_budget(s, group, now)
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
