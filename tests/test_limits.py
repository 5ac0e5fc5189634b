"""Budgets (79/80/100 %, events, refusal, a running run finishes) and rate limits (wait,
refuse, a burst of concurrent starts never overshoots), against the scripted server."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from tests.scripted_openai import text
from workbench import clock, runs
from workbench.costs import budget, limits, prices
from workbench.costs.usage import record_model_call
from workbench.db import session_scope
from workbench.errors import AccessDenied, BudgetExceeded, RateLimitExceeded, ValidationError
from workbench.models import Event, Group, GroupSpend, Person, Run, UsageRecord, utcnow
from workbench.providers.base import Usage
from workbench.tenancy import groups


def _events(group_id, type_):
    with session_scope() as s:
        return list(s.scalars(select(Event).where(Event.group_id == group_id, Event.type == type_)
                              .order_by(Event.id)))


def _set(group_id, **values):
    with session_scope() as s:
        g = s.get(Group, group_id)
        for k, v in values.items():
            setattr(g, k, v)


def _spend(group_id, usd):
    """Record a model call costing `usd` (a test price of $1 per million input tokens)."""
    with session_scope() as s:
        record_model_call(s, group_id=group_id, provider="testco", model="dollar", usage=Usage(round(usd * 1e6), 0),
                          duration_ms=10.0, ttft_ms=None)


def _new_thread(scripted):
    thread, _ = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id)
    return thread.id


@pytest.fixture()
def priced(scripted):
    prices.add_price(scripted.person_id, scripted.group_id, provider="testco", model="dollar",
                          input_per_mtok=1.0, output_per_mtok=1.0, effective_from=date(2020, 1, 1))
    _set(scripted.group_id, monthly_budget_usd=10.0, rpm_limit=None, tpm_limit=None)
    return scripted


# --- budget -------------------------------------------------------------------------------

def test_budget_79_80_100(priced):
    gid, pid = priced.group_id, priced.person_id
    _spend(gid, 7.9)
    status = budget.budget_status(pid, gid)
    assert status.level == "ok" and status.fraction == pytest.approx(0.79)
    assert _events(gid, "budget_warning") == []
    assert runs.continue_thread(_new_thread(priced), "at 79 %", pid).wait(10).status == "complete"

    _spend(gid, 0.1)  # plus the run's own few micro-dollars: 80 %
    assert budget.budget_status(pid, gid).level == "warning"
    warnings = _events(gid, "budget_warning")
    assert len(warnings) == 1 and warnings[0].data["percent"] >= 80
    _spend(gid, 0.5)  # still once a month
    assert len(_events(gid, "budget_warning")) == 1
    assert runs.continue_thread(_new_thread(priced), "at 85 %", pid).wait(10).status == "complete"

    _spend(gid, 2.0)
    status = budget.budget_status(pid, gid)
    assert status.level == "exceeded"
    thread_id = _new_thread(priced)
    with pytest.raises(BudgetExceeded) as refused:
        runs.continue_thread(thread_id, "over budget", pid)
    assert "new runs are paused" in refused.value.user_message and "$10.00" in refused.value.user_message
    ev = _events(gid, "budget_exceeded")
    assert len(ev) == 1 and ev[0].data["budget_usd"] == 10.0
    with session_scope() as s:  # the refused message was not stored, no run was opened
        assert s.scalar(select(Run).where(Run.thread_id == thread_id)) is None
    # an owner raising the budget lets runs start again
    limits.set_limits(pid, gid, monthly_budget_usd=100.0, rpm_limit=None, tpm_limit=None)
    assert runs.continue_thread(thread_id, "budget raised", pid).wait(10).status == "complete"


def test_a_running_run_finishes_when_the_budget_runs_out(priced):
    gid, pid = priced.group_id, priced.person_id
    priced.server.script(text("word " * 60, delay=0.02))
    handle = runs.continue_thread(_new_thread(priced), "write a lot", pid)
    first = next(u for u in handle.updates(timeout=10) if u.kind == "text")
    assert first.text
    _spend(gid, 10.0)  # the budget is gone while the reply streams
    with pytest.raises(BudgetExceeded):
        runs.continue_thread(_new_thread(priced), "another", pid)
    result = handle.wait(10)
    assert result.status == "complete" and result.reply.count("word") == 60
    with session_scope() as s:  # its cost is still recorded
        assert s.scalar(select(UsageRecord).where(UsageRecord.run_id == result.run_id)).cost_usd > 0


def test_set_limits_is_for_owners_validates_and_warns(priced):
    gid, pid = priced.group_id, priced.person_id
    editor = groups.add_member(pid, gid, email="ed@example.com", role="editor")
    with pytest.raises(AccessDenied):
        limits.set_limits(editor.id, gid, monthly_budget_usd=1.0, rpm_limit=None, tpm_limit=None)
    with pytest.raises(ValidationError) as bad:
        limits.set_limits(pid, gid, monthly_budget_usd=-5, rpm_limit=0, tpm_limit="lots")
    assert set(bad.value.field_errors) == {"monthly_budget_usd", "rpm_limit", "tpm_limit"}
    _spend(gid, 3.0)
    assert _events(gid, "budget_warning") == []
    limits.set_limits(pid, gid, monthly_budget_usd=3.5, rpm_limit=20, tpm_limit=5000)
    assert len(_events(gid, "budget_warning")) == 1  # lowering the budget past 80 % warns
    changed = _events(gid, "limits_changed")[-1]
    assert changed.data["to"] == {"monthly_budget_usd": 3.5, "rpm_limit": 20, "tpm_limit": 5000}
    back = limits.reset_limits_to_plan(pid, gid)
    assert (back.monthly_budget_usd, back.rpm_limit, back.tpm_limit) == (
        groups.PLANS["starter"]["monthly_budget_usd"], groups.PLANS["starter"]["rpm_limit"],
        groups.PLANS["starter"]["tpm_limit"])


def _kept(group_id):
    with session_scope() as s:
        kept = s.get(GroupSpend, group_id)
        return None if kept is None else (kept.month_from, kept.cost_usd)


def _month_spend(group_id, now=None):
    with session_scope() as s:
        return budget.month_spend(s, s.get(Group, group_id), now)


def test_the_months_spend_is_kept_as_calls_are_priced(priced):
    """A budget check reads the kept sum, not the month's records; records written behind
    it are counted once it is forgotten."""
    gid = priced.group_id
    _spend(gid, 1.5)
    _spend(gid, 0.25)
    month_from, kept = _kept(gid)
    assert kept == pytest.approx(1.75) and month_from == clock.month_start(utcnow(), None)
    with session_scope() as s:  # a record nobody priced through record_model_call
        s.add(UsageRecord(group_id=gid, provider="testco", model="dollar", cost_usd=5.0, created_at=utcnow()))
    assert _month_spend(gid) == pytest.approx(1.75), "the kept sum is read, not the records"
    with session_scope() as s:
        budget.forget_spend(s, [gid])
    assert _kept(gid) is None and _month_spend(gid) == pytest.approx(6.75)
    _spend(gid, 1.0)  # the next priced call keeps the records' sum, its own cost included
    assert _kept(gid)[1] == pytest.approx(7.75) == _month_spend(gid)


def test_a_new_month_or_time_zone_sums_the_records_again(priced):
    gid = priced.group_id
    _spend(gid, 2.0)
    with session_scope() as s:  # kept for last month
        kept = s.get(GroupSpend, gid)
        kept.month_from, kept.cost_usd = kept.month_from - timedelta(days=31), 99.0
    assert _month_spend(gid) == pytest.approx(2.0)
    _spend(gid, 0.5)
    assert _kept(gid) == (clock.month_start(utcnow(), None), pytest.approx(2.5))
    # Another time zone starts the month at another instant: summed there, then kept for it.
    _set(gid, time_zone="Pacific/Auckland")
    zoned_from = clock.month_start(utcnow(), "Pacific/Auckland")
    assert zoned_from != _kept(gid)[0]
    with session_scope() as s:
        in_zone = s.scalar(select(func.sum(UsageRecord.cost_usd)).where(
            UsageRecord.group_id == gid, UsageRecord.created_at >= zoned_from))
    assert _month_spend(gid) == pytest.approx(in_zone)
    _spend(gid, 0.5)
    assert _kept(gid) == (zoned_from, pytest.approx(in_zone + 0.5))


def test_recomputed_costs_are_kept_from_the_new_prices(priced):
    gid, pid = priced.group_id, priced.person_id
    _spend(gid, 2.0)
    today = utcnow().date()
    prices.add_price(pid, gid, provider="testco", model="dollar", input_per_mtok=3.0, output_per_mtok=3.0,
                     effective_from=today - timedelta(days=today.day - 1))  # from this month's first day
    with session_scope() as s:
        s.get(Person, pid).is_admin = True
    prices.recompute_costs(pid, gid, start=today - timedelta(days=today.day - 1), end=today)
    assert _month_spend(gid) == pytest.approx(6.0)
    _spend(gid, 1.0)
    assert _kept(gid)[1] == pytest.approx(9.0)


# --- rate limits ----------------------------------------------------------------------

def _past_run(scripted, seconds_ago: float) -> None:
    with session_scope() as s:
        s.add(Run(group_id=scripted.group_id, thread_id=_new_thread(scripted), agent_id=scripted.agent_id,
                  status="complete", started_at=utcnow() - timedelta(seconds=seconds_ago)))


def test_rpm_waits_when_the_window_frees_soon_else_refuses(priced):
    gid, pid = priced.group_id, priced.person_id
    _set(gid, rpm_limit=1)
    # leaves the window in ~2 s (under MAX_WAIT_S, 3 s): the next run waits for it. Not much
    # closer to 60: a busy machine can spend half a second before the check, and then the
    # window is already free (no wait to see).
    _past_run(priced, 58.0)
    assert runs.continue_thread(_new_thread(priced), "soon", pid).wait(10).status == "complete"
    waited = _events(gid, "rate_limited")
    assert len(waited) == 1 and waited[0].data["outcome"] == "waited" and waited[0].data["waited_s"] > 0
    # the run just started keeps the window full for ~60 s: refused at once
    with pytest.raises(RateLimitExceeded) as refused:
        runs.continue_thread(_new_thread(priced), "again", pid)
    assert "1 run a minute" in refused.value.user_message and "try again in about" in refused.value.user_message
    ev = _events(gid, "rate_limited")[-1]
    assert ev.data["outcome"] == "refused" and ev.data["limit"] == "rpm" and ev.data["retry_after_s"] > 50


def test_tpm_counts_tokens_of_the_last_minute(priced):
    gid, pid = priced.group_id, priced.person_id
    _set(gid, tpm_limit=1000)
    with session_scope() as s:
        s.add(UsageRecord(group_id=gid, provider="openai", model="gpt-4o-mini", input_tokens=1200,
                          output_tokens=300, created_at=utcnow() - timedelta(seconds=30)))
    with pytest.raises(RateLimitExceeded) as refused:
        runs.continue_thread(_new_thread(priced), "tokens", pid)
    assert "1,000 tokens a minute" in refused.value.user_message and "1,500" in refused.value.user_message
    with session_scope() as s:  # move it to the edge of the window: a short wait, then admitted
        rec = s.scalar(select(UsageRecord).where(UsageRecord.input_tokens == 1200))
        rec.created_at = utcnow() - timedelta(seconds=58.0)  # ~2 s to go: see the rpm test
    assert runs.continue_thread(_new_thread(priced), "tokens", pid).wait(10).status == "complete"
    assert [e.data["outcome"] for e in _events(gid, "rate_limited")] == ["refused", "waited"]


def test_a_wait_for_the_admission_lock_is_not_counted_twice(priced):
    """A start that waits a while for the admission lock (another transaction writing to
    the group) measures the window's time to free from when it got the lock: it waits for
    the window and runs, where reading the clock before the lock made it refuse."""
    gid, pid = priced.group_id, priced.person_id
    _set(gid, tpm_limit=1000)
    thread_id = _new_thread(priced)
    with session_scope() as s:  # the window frees in 2.5 s, the lock in 2 s
        s.add(UsageRecord(group_id=gid, provider="openai", model="gpt-4o-mini", input_tokens=1200,
                          output_tokens=300, created_at=utcnow() - timedelta(seconds=57.5)))
    holding, release = threading.Event(), threading.Event()

    def hold_the_group_row():
        with session_scope() as s:
            s.execute(update(Group).where(Group.id == gid).values(plan=Group.plan))
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_group_row)
    holder.start()
    assert holding.wait(10)
    threading.Timer(2.0, release.set).start()
    handle = runs.continue_thread(thread_id, "after the lock", pid)
    holder.join(10)
    assert handle.wait(10).status == "complete"
    assert [e.data["outcome"] for e in _events(gid, "rate_limited")] in (["waited"], [])


def test_a_burst_of_concurrent_starts_never_overshoots_rpm(priced, monkeypatch):
    gid, pid = priced.group_id, priced.person_id
    monkeypatch.setattr(limits, "MAX_WAIT_S", 0.0)
    _set(gid, rpm_limit=3)
    thread_ids = [_new_thread(priced) for _ in range(10)]
    barrier = threading.Barrier(len(thread_ids))
    outcomes: list = []
    lock = threading.Lock()

    def start(tid):
        barrier.wait()
        try:
            handle = runs.continue_thread(tid, "burst", pid)
            result = ("ok", handle)
        except RateLimitExceeded as exc:
            result = ("refused", exc)
        with lock:
            outcomes.append(result)

    workers = [threading.Thread(target=start, args=(tid,)) for tid in thread_ids]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    admitted = [h for kind, h in outcomes if kind == "ok"]
    assert len(outcomes) == 10 and len(admitted) == 3
    assert all(h.wait(10).status == "complete" for h in admitted)
    with session_scope() as s:
        assert len(s.scalars(select(Run).where(Run.group_id == gid)).all()) == 3
    assert len(_events(gid, "rate_limited")) == 7
