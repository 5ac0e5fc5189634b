"""The one clock and calendar of the workbench.

Every stored timestamp is naive UTC. Calendar periods ("today", "this month", monthly
budgets, Usage periods) are computed in one time zone: the group's `time_zone` when an
owner set one, else UTC. A local boundary (midnight, the 1st of a month) is converted to
the UTC instant it falls on, so a query stays a plain range on an indexed UTC column and a
record at 23:59:59 on the last day of a month and one at 00:00:00 on the 1st fall in
different months. Rolling windows (rate limits, "last 60 s") need no zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

UTC_NAME = "UTC"


def utcnow() -> datetime:
    """Now, as naive UTC (the form every stored timestamp has)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


@lru_cache(maxsize=64)
def zone(name: str | None) -> ZoneInfo:
    """The zone named `name` (an IANA name like "Europe/Paris"); UTC for None or ""."""
    return ZoneInfo(name or UTC_NAME)


def is_valid_zone(name: str) -> bool:
    try:
        zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone_names() -> list[str]:
    """Every IANA zone name this machine knows, UTC first, for a picker."""
    return [UTC_NAME, *sorted(n for n in available_timezones() if n != UTC_NAME)]


def to_local(utc_naive: datetime, tz: str | None) -> datetime:
    """A stored (naive UTC) instant as naive wall time in `tz`, for display and bucketing."""
    return utc_naive.replace(tzinfo=timezone.utc).astimezone(zone(tz)).replace(tzinfo=None)


def to_utc(local_naive: datetime, tz: str | None) -> datetime:
    """Naive wall time in `tz` as the naive UTC instant it names. A repeated wall time (clocks
    going back) is its first occurrence; one skipped by clocks going forward is read with
    the offset before the change, so a skipped midnight is the instant the day begins."""
    return local_naive.replace(tzinfo=zone(tz), fold=0).astimezone(timezone.utc).replace(tzinfo=None)


def local_today(tz: str | None, now: datetime | None = None) -> date:
    """Today's date in `tz`; `now` is naive UTC (default: the clock)."""
    return to_local(now or utcnow(), tz).date()


def day_start(d: date, tz: str | None) -> datetime:
    """The naive UTC instant at which local day `d` begins in `tz`."""
    return to_utc(datetime.combine(d, time.min), tz)


def month_start(now: datetime, tz: str | None) -> datetime:
    """The naive UTC instant at which the local month containing `now` (naive UTC) began."""
    return day_start(to_local(now, tz).date().replace(day=1), tz)


def next_month_start(now: datetime, tz: str | None) -> datetime:
    first = to_local(now, tz).date().replace(day=1)
    return day_start((first + timedelta(days=32)).replace(day=1), tz)


def month_label(now: datetime, tz: str | None) -> str:
    """"2026-11": the local month containing `now` (naive UTC)."""
    return to_local(now, tz).strftime("%Y-%m")
