"""Budgets (79/80/100 %, events, refusal, a running run finishes) and rate limits (wait,
refuse, a burst of concurrent starts never overshoots), against the scripted server."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.scripted_openai import text
from workbench import runs
from workbench.costs import budget, limits, prices
from workbench.costs.usage import record_model_call
from workbench.db import session_scope
from workbench.errors import AccessDenied, BudgetExceeded, RateLimitExceeded, ValidationError
from workbench.models import Event, Group, Run, UsageRecord, utcnow
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


# --- rate limits ----------------------------------------------------------------------

def _past_run(scripted, seconds_ago: float) -> None:
    with session_scope() as s:
        s.add(Run(group_id=scripted.group_id, thread_id=_new_thread(scripted), agent_id=scripted.agent_id,
                  status="complete", started_at=utcnow() - timedelta(seconds=seconds_ago)))


def test_rpm_waits_when_the_window_frees_soon_else_refuses(priced):
    gid, pid = priced.group_id, priced.person_id
    _set(gid, rpm_limit=1)
    _past_run(priced, 59.4)  # leaves the window in ~0.6 s: the next run waits for it
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
        rec.created_at = utcnow() - timedelta(seconds=59.5)
    assert runs.continue_thread(_new_thread(priced), "tokens", pid).wait(10).status == "complete"
    assert [e.data["outcome"] for e in _events(gid, "rate_limited")] == ["refused", "waited"]


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
