"""A group's limits: rate limits, and the admission of a run against them and the budget.

- Budget: see costs.budget; at 100 % new runs are refused here (`budget_exceeded` event).
- Rate limits: runs started per minute (rpm) and tokens per minute (tpm, input + output
  of the usage records of the last 60 s). A run over a limit waits when the window frees
  within `MAX_WAIT_S`, else it is refused; either way a `rate_limited` event is written.
- A group's plan (groups.PLANS) sets the defaults; owners change them.

Concurrency: a burst of runs started at once must not all read the same count and overshoot
the limit. The database's lock makes that hold across app processes and hosts sharing it: on
PostgreSQL the group's row is locked (SELECT ... FOR NO KEY UPDATE) before counting; on SQLite
the admission that passes takes the database's write lock and counts again; either is held
until the transaction that inserts the Run ends. In front of it, a process takes its turn for
the group (`admission_turn`) before its start transaction takes a connection, so a process's
own burst queues in memory, holding no connection, not on the database. A start over a rate
limit whose window frees soon does not sleep in its transaction either: `check_run_allowed`
raises WindowWait, the caller ends the transaction and tries again (runs.lifecycle). Tokens
are only known after a call, so tpm admits on what the last minute already used."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, event, func, select, update
from sqlalchemy.orm import Session

from .. import clock, events
from ..db import session_scope
from ..errors import BudgetExceeded, GroupNotFound, RateLimitExceeded, RunsBusy, ValidationError
from ..models import Group, Run, UsageRecord, utcnow
from ..tenancy.access import load_group
from ..tenancy.groups import PLANS
from .budget import GROUP_LIMITS, group_budget, note_spend

WINDOW = timedelta(seconds=60)
MAX_WAIT_S = 3.0  # a run over a rate limit waits at most this long for the window to free
TURN_WAIT_S = 30.0  # the longest a start waits (holding nothing) for its turn to admit in its group
MAX_BUDGET_USD = 10_000_000.0
MAX_INT = 2**31 - 1  # an INTEGER column (PostgreSQL refuses more)


# The admission's reads, built once with parameters: every run start runs them, and
# building a statement anew costs several times executing it.
_usage = UsageRecord.__table__
_RUNS_SINCE = select(func.count()).select_from(Run.__table__).where(
    Run.__table__.c.group_id == bindparam("group_id"), Run.__table__.c.started_at >= bindparam("since"))
_TOKENS_SINCE = select(func.coalesce(func.sum(_usage.c.input_tokens + _usage.c.output_tokens), 0)).where(
    _usage.c.group_id == bindparam("group_id"), _usage.c.created_at >= bindparam("since"))

_RUNS_AND_TOKENS_SINCE = select(_RUNS_SINCE.scalar_subquery(), _TOKENS_SINCE.scalar_subquery())
_groups = Group.__table__
_TAKE_WRITE_LOCK = update(_groups).where(_groups.c.id == bindparam("group_id")).values(plan=_groups.c.plan)



# --- rate limits ----------------------------------------------------------------------

@dataclass(frozen=True)
class RateState:
    rpm_used: int
    tpm_used: int
    over: str | None  # None | "rpm" | "tpm"
    retry_after_s: float  # when the window frees enough for one more run


def _rate_state(s: Session, group: Group, now: datetime) -> RateState:
    since = now - WINDOW
    window = {"group_id": group.id, "since": since}
    rpm_used = tpm_used = 0
    if group.rpm_limit and group.tpm_limit:  # both counts in one statement
        rpm_used, tpm_used = (int(n or 0) for n in s.execute(_RUNS_AND_TOKENS_SINCE, window).one())
    elif group.rpm_limit:
        rpm_used = s.scalar(_RUNS_SINCE, window) or 0
    elif group.tpm_limit:
        tpm_used = int(s.scalar(_TOKENS_SINCE, window) or 0)
    if group.rpm_limit and rpm_used >= group.rpm_limit:
        # the run whose leaving the window brings the count under the limit
        frees = s.scalar(select(Run.started_at).where(Run.group_id == group.id, Run.started_at >= since)
                         .order_by(Run.started_at).offset(rpm_used - group.rpm_limit).limit(1))
        wait = (frees + WINDOW - now).total_seconds() if frees else WINDOW.total_seconds()
        return RateState(rpm_used, tpm_used, "rpm", max(wait, 0.0))
    if group.tpm_limit and tpm_used >= group.tpm_limit:
        tokens = UsageRecord.input_tokens + UsageRecord.output_tokens
        in_window = (UsageRecord.group_id == group.id, UsageRecord.created_at >= since)
        need, dropped, wait = tpm_used - group.tpm_limit + 1, 0, WINDOW.total_seconds()
        for at, n in s.execute(select(UsageRecord.created_at, tokens).where(*in_window)
                               .order_by(UsageRecord.created_at).limit(100_000)):
            dropped += n or 0
            if dropped >= need:
                wait = (at + WINDOW - now).total_seconds()
                break
        return RateState(rpm_used, tpm_used, "tpm", max(wait, 0.0))
    return RateState(rpm_used, tpm_used, None, 0.0)


_turns: dict[int, threading.Lock] = {}
_turns_guard = threading.Lock()


@contextmanager
def admission_turn(group_id: int | None) -> Iterator[None]:
    """This process's turn to admit a run in the group; take it before the start's
    transaction opens, so a start waiting here holds no database connection. Starts of a
    group take turns (each the few milliseconds of its transaction); a start that waits
    longer than TURN_WAIT_S is refused as busy. `group_id` None (a thread that is not
    there: the transaction will say so) needs no turn."""
    if group_id is None:
        yield
        return
    with _turns_guard:
        turn = _turns.setdefault(group_id, threading.Lock())
    if not turn.acquire(timeout=TURN_WAIT_S):
        raise runs_busy(TURN_WAIT_S / 2)
    try:
        yield
    finally:
        turn.release()


def runs_busy(retry_after_s: float) -> RunsBusy:
    """The refusal of a start this process cannot take now, saying when to try again."""
    retry_after_s = max(1.0, retry_after_s)
    return RunsBusy(f"The workbench is busy: too many runs are starting at once; try again in "
                    f"{math.ceil(retry_after_s)} s.", retry_after_s=retry_after_s)


class WindowWait(Exception):
    """The group's rate window frees within the wait still allowed to this start: end the
    transaction (its connection goes back to the pool), sleep `seconds`, try again."""

    def __init__(self, seconds: float):
        super().__init__(f"wait {seconds:.2f} s for the rate window")
        self.seconds = seconds


# Set by the caller on the start's session (Session.info): (monotonic deadline of waiting for
# the rate window, seconds waited so far). Without it a start over a limit is refused at once.
WAIT_INFO = "workbench.admission_wait"


def _when_transaction_ends(s: Session, fn) -> None:
    """Call `fn()` once, when the session's outermost transaction ends (commit or rollback)."""
    done = False

    def _on_end(_session, transaction) -> None:
        nonlocal done
        if transaction.parent is None and not done:
            done = True
            fn()

    event.listen(s, "after_transaction_end", _on_end)


def _record_refusal(type_: str, group_id: int, person_id: int | None, data: dict, after: Session) -> None:
    """Written in its own transaction once the start's (`after`) has ended: that one rolls
    back when the refusal is raised, and may hold a write lock the refusal would wait on
    (SQLite's, once the start has opened its thread)."""
    def write() -> None:
        with session_scope() as other:
            events.record(other, type_, group_id=group_id, actor_id=person_id,
                          actor_type="person" if person_id else "system",
                          target_type="group", target_id=group_id, data=data)

    _when_transaction_ends(after, write)


def _rate_message(group: Group, state: RateState) -> str:
    secs = max(1, math.ceil(state.retry_after_s))
    if state.over == "rpm":
        runs = "run" if group.rpm_limit == 1 else "runs"
        return (f"This group is limited to {group.rpm_limit:,} {runs} a minute and has started "
                f"{state.rpm_used:,} in the last minute; try again in about {secs} s. "
                "An owner can change the limit on the Usage page.")
    return (f"This group is limited to {group.tpm_limit:,} tokens a minute and used "
            f"{state.tpm_used:,} in the last minute; try again in about {secs} s. "
            "An owner can change the limit on the Usage page.")


def check_run_allowed(s: Session, group_id: int, *, person_id: int | None = None) -> None:
    """Admit a new run or raise BudgetExceeded / RateLimitExceeded with a sentence for the
    user. Call inside the transaction that then inserts the Run, after its reads and before
    it writes anything; the database's admission lock is held until that transaction ends.
    Over a rate limit whose window frees before the deadline in `s.info[WAIT_INFO]`, raises
    WindowWait instead (the caller waits outside the transaction and tries again)."""
    group = s.execute(GROUP_LIMITS, {"group_id": group_id}).first()  # a plain row: every start reads it
    if group is None:
        raise GroupNotFound()
    wait_until, waited = s.info.get(WAIT_INFO, (time.monotonic(), 0.0))
    postgres = s.get_bind().dialect.name == "postgresql"
    if postgres:  # other processes' admissions of this group wait here until we commit
        # NO KEY UPDATE: rows that merely reference the group (a refusal event written
        # from another connection) are not blocked by it.
        s.execute(select(Group.id).where(Group.id == group_id).with_for_update(key_share=True))
    if not postgres and (group.rpm_limit or group.tpm_limit):
        # SQLite locks the whole database: count under its write lock, or another process
        # may admit between our count and our insert. A transaction that has written (a
        # start that opened its thread) holds it already.
        conn = s.connection()
        if not conn.connection.dbapi_connection.in_transaction:
            conn.execute(_TAKE_WRITE_LOCK, {"group_id": group_id})
    # Now is read after the locks: a window's time to free is measured from it against the
    # monotonic deadline, so a second spent waiting for a lock must not count twice.
    now, now_monotonic = utcnow(), time.monotonic()
    budget = group_budget(s, group, now) if group.monthly_budget_usd is not None else None
    if budget is not None and budget.level == "exceeded":
        _record_refusal("budget_exceeded", group_id, person_id, {
            "month": budget.month, "spent_usd": round(budget.spent_usd, 6),
            "budget_usd": budget.budget_usd}, after=s)
        tz = group.time_zone or clock.UTC_NAME
        raise BudgetExceeded(budget.message, retry_after_s=(clock.next_month_start(now, tz) - now)
                             .total_seconds())
    state = _rate_state(s, group, now)
    if state.over is None:
        if waited:
            events.record(s, "rate_limited", group_id=group_id, actor_id=person_id,
                          target_type="group", target_id=group_id,
                          data={"outcome": "waited", "waited_s": round(waited, 2)})
        return
    retry_after = state.retry_after_s + 0.05  # clock granularity
    if now_monotonic + retry_after <= wait_until:
        raise WindowWait(retry_after)  # the caller's rollback lets go of any lock first
    _record_refusal("rate_limited", group_id, person_id, {
        "outcome": "refused", "limit": state.over,
        "limit_value": group.rpm_limit if state.over == "rpm" else group.tpm_limit,
        "used": state.rpm_used if state.over == "rpm" else state.tpm_used,
        "retry_after_s": round(state.retry_after_s, 1), "waited_s": round(waited, 2)}, after=s)
    raise RateLimitExceeded(_rate_message(group, state), retry_after_s=state.retry_after_s)


def rate_usage(actor_id: int, group_id: int) -> RateState:
    """Runs and tokens of the last minute, for the limits panel."""
    with session_scope() as s:
        group = load_group(s, actor_id, group_id, "viewer")
        return _rate_state(s, group, utcnow())


# --- editing limits --------------------------------------------------------------------

@dataclass(frozen=True)
class Limits:
    plan: str
    monthly_budget_usd: float | None
    rpm_limit: int | None
    tpm_limit: int | None
    plan_defaults: dict


def _limits_of(group: Group) -> Limits:
    return Limits(group.plan, group.monthly_budget_usd, group.rpm_limit, group.tpm_limit,
                  dict(PLANS.get(group.plan, {})))


def get_limits(actor_id: int, group_id: int) -> Limits:
    with session_scope() as s:
        group = load_group(s, actor_id, group_id, "viewer")
        return _limits_of(group)


def _validate(budget, rpm, tpm) -> tuple[float | None, int | None, int | None]:
    errors: dict[str, str] = {}

    def number(value, field, kind, low):
        if value is None or value == "":
            return None
        try:
            num = kind(value)
        except (TypeError, ValueError):
            errors[field] = "Enter a number, or leave it empty for no limit."
            return None
        if isinstance(num, float) and not math.isfinite(num):
            errors[field] = "Enter a finite number."
        elif num < low:
            errors[field] = f"Must be at least {low}, or empty for no limit."
        elif field == "monthly_budget_usd" and num > MAX_BUDGET_USD:
            errors[field] = f"At most ${MAX_BUDGET_USD:,.0f}."
        elif kind is int and num > MAX_INT:
            errors[field] = f"At most {MAX_INT:,}, or empty for no limit."
        return num

    budget = number(budget, "monthly_budget_usd", float, 0)
    rpm = number(rpm, "rpm_limit", int, 1)
    tpm = number(tpm, "tpm_limit", int, 1)
    if errors:
        raise ValidationError(field_errors=errors)
    return budget, rpm, tpm


def set_limits(actor_id: int, group_id: int, *, monthly_budget_usd: float | None,
               rpm_limit: int | None, tpm_limit: int | None) -> Limits:
    """Owners set the monthly budget (USD) and rate limits; None means no limit."""
    budget, rpm, tpm = _validate(monthly_budget_usd, rpm_limit, tpm_limit)
    with session_scope() as s:
        group = load_group(s, actor_id, group_id, "owner")
        before = {"monthly_budget_usd": group.monthly_budget_usd, "rpm_limit": group.rpm_limit,
                  "tpm_limit": group.tpm_limit}
        after = {"monthly_budget_usd": budget, "rpm_limit": rpm, "tpm_limit": tpm}
        if before != after:
            group.monthly_budget_usd, group.rpm_limit, group.tpm_limit = budget, rpm, tpm
            events.record(s, "limits_changed", group_id=group_id, actor_id=actor_id,
                          target_type="group", target_id=group_id, data={"from": before, "to": after})
            s.flush()
            note_spend(s, group_id)  # a lowered budget may already be past 80 %
        return _limits_of(group)


def reset_limits_to_plan(actor_id: int, group_id: int) -> Limits:
    with session_scope() as s:
        group = load_group(s, actor_id, group_id, "owner")
        plan = PLANS.get(group.plan, {})
    return set_limits(actor_id, group_id, monthly_budget_usd=plan.get("monthly_budget_usd"),
                      rpm_limit=plan.get("rpm_limit"), tpm_limit=plan.get("tpm_limit"))
