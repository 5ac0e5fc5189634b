"""Budgets and rate limits of a group, checked before a run starts."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .errors import BudgetExceeded, RateLimitExceeded
from .models import Group, Run, UsageRecord, utcnow


def month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_spend(s: Session, group_id: int, now: datetime | None = None) -> float:
    now = now or utcnow()
    return float(s.scalar(select(func.coalesce(func.sum(UsageRecord.cost_usd), 0.0)).where(
        UsageRecord.group_id == group_id, UsageRecord.created_at >= month_start(now))) or 0.0)


def check_run_allowed(s: Session, group_id: int) -> None:
    """Refuse a new run when the group is at 100 % of its monthly budget or over its
    requests-per-minute limit. A run already going is never stopped by this."""
    group = s.get(Group, group_id)
    now = utcnow()
    if group.monthly_budget_usd is not None and group.monthly_budget_usd >= 0:
        spent = month_spend(s, group_id, now)
        if spent >= group.monthly_budget_usd:
            raise BudgetExceeded(
                f"This group has spent ${spent:,.2f} of its ${group.monthly_budget_usd:,.2f} monthly "
                "budget; new runs are paused until next month or until an owner raises the budget.")
    if group.rpm_limit:
        recent = s.scalar(select(func.count()).select_from(Run).where(
            Run.group_id == group_id, Run.started_at >= now - timedelta(minutes=1))) or 0
        if recent >= group.rpm_limit:
            raise RateLimitExceeded(
                f"This group is limited to {group.rpm_limit} runs a minute; try again in a moment.")
