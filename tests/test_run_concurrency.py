"""Runs at team scale: every run starts at once (no small pool), a lane bounds them, and a
run that must wait says so live and in its trace."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from sqlalchemy import select

from tests.scripted_openai import text
from workbench import runs, settings, threads
from workbench.db import session_scope
from workbench.models import RunStep
from workbench.runs.workers import Lanes, QueueCancelled, RunHandle, RunUpdate


def _handles(n: int) -> list[RunHandle]:
    return [RunHandle(run_id=i, thread_id=i, group_id=1) for i in range(1, n + 1)]


def _queued(handle: RunHandle) -> list[int]:
    seen = []
    while not handle._updates.empty():
        update = handle._updates.get_nowait()
        if update.kind == "queued":
            seen.append(update.data["ahead"])
    return seen


def _acquire_in_thread(lanes: Lanes, handle: RunHandle, got: dict) -> threading.Thread:
    def go():
        try:
            got[handle.run_id] = lanes.acquire(handle, "remote")
        except QueueCancelled:
            got[handle.run_id] = "cancelled"

    worker = threading.Thread(target=go)
    worker.start()
    return worker


def _until(condition, timeout: float = 30.0) -> None:
    # Generous: only a failing test waits it out. In CI the PostgreSQL half runs niced beside
    # the built-in model and the browsers, and once took over 5 s to send a first request.
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_lanes_admit_up_to_the_limit_then_serve_in_arrival_order():
    lanes = Lanes(limit=lambda lane: 2)
    a, b, c, d = _handles(4)
    assert lanes.acquire(a, "remote") == 0.0 and lanes.acquire(b, "remote") == 0.0
    got: dict = {}
    waiting_c = _acquire_in_thread(lanes, c, got)
    _until(lambda: c.queued_ahead == 0)
    waiting_d = _acquire_in_thread(lanes, d, got)
    _until(lambda: d.queued_ahead == 1)
    assert lanes.load()["remote"] == (2, 2)
    lanes.release(a)
    waiting_c.join(5)
    assert c.run_id in got and d.run_id not in got  # first come, first served
    _until(lambda: d.queued_ahead == 0)  # d moved up
    lanes.release(b)
    waiting_d.join(5)
    assert got[d.run_id] > 0 and lanes.load()["remote"] == (2, 0)
    assert _queued(c) == [0] and _queued(d) == [1, 0]


def test_a_run_stopped_while_queued_leaves_the_line():
    lanes = Lanes(limit=lambda lane: 1)
    a, b, c = _handles(3)
    lanes.acquire(a, "remote")
    got: dict = {}
    waiting_b, waiting_c = _acquire_in_thread(lanes, b, got), None
    _until(lambda: b.queued_ahead == 0)
    waiting_c = _acquire_in_thread(lanes, c, got)
    _until(lambda: c.queued_ahead == 1)
    b.cancel()
    waiting_b.join(5)
    assert got[b.run_id] == "cancelled"
    _until(lambda: c.queued_ahead == 0)  # c moved up past the stopped run
    lanes.release(a)
    waiting_c.join(5)
    assert isinstance(got[c.run_id], float) and lanes.load()["remote"] == (1, 0)


def test_lanes_are_independent():
    lanes = Lanes(limit=lambda lane: 1)
    a, b = _handles(2)
    lanes.acquire(a, "local")
    assert lanes.acquire(b, "remote") == 0.0  # a busy built-in model never blocks remote runs


def test_twelve_runs_stream_at_once_with_no_queue(scripted):
    """The old pool of 4 made the 5th run wait; now all start together."""
    n = 12
    scripted.server.script(*[text(f"Reply number {i} streams slowly.", chunk_size=4, delay=0.05)
                             for i in range(n)])
    scripted.server.hold_until_in_flight(n)  # a pool of 4 would never get there
    started = []
    for i in range(n):
        _, handle = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id,
                                          initial_message=f"Question {i}")
        started.append(handle)
    results = [h.wait(30) for h in started]
    assert [r.status for r in results] == ["complete"] * n
    assert scripted.server.peak_in_flight == n  # every stream was open at the same time
    assert sorted(r.reply for r in results) == sorted(f"Reply number {i} streams slowly." for i in range(n))
    with session_scope() as s:
        assert s.scalar(select(RunStep).where(RunStep.kind == "queue")) is None


def test_a_run_over_the_limit_waits_says_so_and_its_trace_shows_the_queue(scripted, monkeypatch):
    monkeypatch.setenv("WORKBENCH_MAX_CONCURRENT_RUNS", "1")
    settings.reset_settings()
    scripted.server.script(text("The first, slowly.", chunk_size=2, delay=0.05), text("The second."))
    _, first = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id,
                                     initial_message="One")
    _until(lambda: first.lane is not None)
    _, second = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id,
                                      initial_message="Two")
    kinds = [u.kind for u in second.updates(timeout=10)]
    assert kinds[0] == "queued" and kinds[-1] == "done" and "text" in kinds
    assert first.wait(10).status == "complete" and second.wait(10).status == "complete"
    assert scripted.server.peak_in_flight == 1
    with session_scope() as s:
        steps = s.scalars(select(RunStep).where(RunStep.run_id == second.run_id).order_by(RunStep.seq)).all()
    assert [st.kind for st in steps] == ["queue", "model_call"]
    assert steps[0].duration_ms > 50 and steps[0].request == {"lane": "remote"}
    assert (steps[0].seq, steps[1].seq) == (0, 1)


def test_a_run_stopped_in_the_queue_ends_cancelled_without_calling_the_model(scripted, monkeypatch):
    monkeypatch.setenv("WORKBENCH_MAX_CONCURRENT_RUNS", "1")
    settings.reset_settings()
    scripted.server.script(text("Slow and long.", chunk_size=1, delay=0.05))
    _, first = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id,
                                     initial_message="One")
    _until(lambda: first.lane is not None)
    thread, second = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id,
                                           initial_message="Two")
    _until(lambda: second.queued_ahead is not None)
    second.cancel()
    assert second.wait(5).status == "cancelled"
    assert first.wait(10).status == "complete"
    assert len(scripted.server.chat_requests) == 1
    page = threads.get_thread_messages(thread.id, limit=10, actor_id=scripted.person_id)
    assert [(m.role, m.status, m.content) for m in page.messages] == [
        ("user", "complete", "Two"), ("assistant", "cancelled", "")]
    with session_scope() as s:
        step = s.scalar(select(RunStep).where(RunStep.run_id == second.run_id))
    assert step.status == "cancelled" and step.response == {"note": "Stopped in the queue; never sent."}
    # The thread is usable again.
    scripted.server.script(text("Now it answers."))
    assert runs.continue_thread(thread.id, "Again", scripted.person_id).wait(10).reply == "Now it answers."


@pytest.mark.parametrize("ahead, words", [(0, "next in line"), (3, "3 ahead")])
def test_queued_label(ahead, words):
    from ui.chat_stream import queued_label

    assert words in queued_label(ahead)


def _queued_view():
    import streamlit as st

    from ui.chat_stream import stream_reply

    st.session_state["final"] = stream_reply(st.session_state["handle"], 1, can_stop=False)


def test_the_chat_says_a_run_is_queued_until_it_starts():
    from streamlit.testing.v1 import AppTest

    from workbench.runs.workers import RunUpdate

    handle = RunHandle(run_id=1, thread_id=1, group_id=1)
    handle.emit(RunUpdate("queued", data={"ahead": 3, "lane": "remote"}))
    handle.emit(RunUpdate("done", data={"status": "cancelled", "error": None}))
    at = AppTest.from_function(_queued_view, default_timeout=30)
    at.session_state["handle"] = handle
    at.run()
    assert not at.exception
    assert at.session_state["final"]["status"] == "cancelled"
    assert any("Queued, 3 ahead" in c.value for c in at.caption)


def test_the_first_call_leaves_before_the_rows_and_a_failed_opening_drops_it(scripted, monkeypatch):
    """The request goes out while the run's rows are written. If that transaction fails,
    the caller gets the error, nothing of the turn is stored, the call is dropped and the
    worker writes nothing; the thread takes the next message normally."""
    from workbench.models import Message, Run
    from workbench.runs import lifecycle

    server = scripted.server
    server.script(text("never read " * 30, delay=0.05))
    thread, _ = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id)
    sent_before_rows = threading.Event()
    requests_before = len(server.requests)

    def failing_record_call(s, plan, request, seq, reply_seq=None, thread=None):
        # The request is on the wire before the trace step is written.
        _until(lambda: len(server.requests) == requests_before + 1)
        sent_before_rows.set()
        raise RuntimeError("the database went away")

    record_call = lifecycle.record_call
    monkeypatch.setattr(lifecycle, "record_call", failing_record_call)
    with pytest.raises(RuntimeError, match="went away"):
        runs.continue_thread(thread.id, "Hello?", scripted.person_id)
    assert sent_before_rows.is_set()
    _until(lambda: runs.MANAGER.for_thread(thread.id) is None)
    with session_scope() as s:
        assert s.scalars(select(Run).where(Run.thread_id == thread.id)).all() == []
        assert s.scalars(select(Message).where(Message.thread_id == thread.id)).all() == []
    assert threads.get_thread(scripted.person_id, thread.id).status == "idle"

    monkeypatch.setattr(lifecycle, "record_call", record_call)
    server.script(text("Hello again."))
    handle = runs.continue_thread(thread.id, "Hello?", scripted.person_id)
    assert "".join(handle.text_stream()) == "Hello again."
    assert handle.wait(10).status == "complete"
    page = threads.get_thread_messages(thread.id, limit=10, actor_id=scripted.person_id)
    assert [(m.role, m.content) for m in page.messages] == [("user", "Hello?"), ("assistant", "Hello again.")]


def _read_feed(handle: RunHandle, on_text=None) -> list[tuple[str, str]]:
    async def read():
        got = []
        async for update in handle.aupdates():
            got.append((update.kind, update.text))
            if on_text and update.kind == "text":
                on_text(update.text)
        return got

    return asyncio.run(read())


def test_an_asyncio_reader_gets_text_piled_up_within_the_pace(monkeypatch):
    from workbench.runs import workers

    monkeypatch.setattr(workers, "FEED_PACE_S", 60.0)
    slept = []
    real_sleep = asyncio.sleep

    async def no_wait(seconds):
        slept.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(workers.asyncio, "sleep", no_wait)
    handle = RunHandle(run_id=1, thread_id=1, group_id=1)

    def more(text):  # text arriving just after a hand-off waits for the rest of the pace
        if text == "a":
            for piece in ("b", "c"):
                handle.emit(RunUpdate("text", text=piece))
            handle.emit(RunUpdate("done"))

    handle.emit(RunUpdate("text", text="a"))
    assert _read_feed(handle, more) == [("text", "a"), ("text", "bc"), ("done", "")]
    assert len(slept) == 1 and 0 < slept[0] <= 60.0


def test_an_asyncio_reader_gets_slow_text_at_once(monkeypatch):
    from workbench.runs import workers

    monkeypatch.setattr(workers, "FEED_PACE_S", 0.05)
    slept = []
    real_sleep = asyncio.sleep

    async def counted(seconds):
        slept.append(seconds)
        await real_sleep(seconds)

    monkeypatch.setattr(workers.asyncio, "sleep", counted)
    handle = RunHandle(run_id=1, thread_id=1, group_id=1)

    def model():  # a token every 0.1 s: slower than the pace
        for piece in ("a", "b", "c"):
            handle.emit(RunUpdate("text", text=piece))
            time.sleep(0.1)
        handle.emit(RunUpdate("done"))

    sender = threading.Thread(target=model)
    sender.start()
    got = _read_feed(handle)
    sender.join()
    assert got == [("text", "a"), ("text", "b"), ("text", "c"), ("done", "")]
    assert slept == []  # handed on as it came: no timer per token
