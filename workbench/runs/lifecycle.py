"""Starting, retrying, cancelling and recovering runs. A user message starts a run that
executes in a worker owned by the process (not by the page script), so a rerun, leaving the
page or a second tab does not kill it; what the worker does is `loop`. A run ends
complete, failed, cancelled or interrupted (its process died: see recover_interrupted_runs)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from .. import events
from ..costs import limits
from ..db import get_engine, insert_row, pool_capacity, session_scope
from ..errors import RunInProgress, RunNotFound, ValidationError
from ..models import AgentVersion, Message, Run, RunStep, Thread, utcnow
from ..threads.store import (append_message, cached_group_of_thread, clean_history, group_of_thread, load_thread,
                             open_thread, open_thread_in_session, set_thread_fields, title_from,
                             validate_message)
from .loop import RUN_EVENTS, execute
from .plan import build_request, make_plan, prepare_call, record_call
from .workers import MANAGER, STALE_S, TERMINAL, WORKER_ID, RunHandle, RunResult, RunUpdate, worker_is_gone

# The handle types are part of this module's API (callers follow runs through them).
__all__ = ["create_thread", "continue_thread", "retry_last", "cancel_run", "active_handle",
           "recover_interrupted_runs", "start_transaction", "RunHandle", "RunResult", "RunUpdate", "TERMINAL"]


# --- starting, cancelling, retrying -------------------------------------------------

def create_thread(group_id: int, agent_id: int, person_id: int, title: str | None = None,
                  initial_message: str | None = None, *, history: Sequence[tuple[str, str]] = (),
                  version_id: int | None = None):
    """A new thread with an agent. With `initial_message` a run starts at once and its
    handle is returned next to the thread: (thread, handle or None); the thread, its
    message and its run are then written in one transaction. `history`: earlier (role, text)
    turns the thread starts with (an API call carrying a conversation); `version_id`: the
    agent version of this run (default: the latest)."""
    if initial_message is None:
        return open_thread(group_id, agent_id, person_id, title, history=history), None
    text = validate_message(initial_message)
    history = clean_history(history)
    opened: list[Thread] = []

    def open_it(s):
        thread = open_thread_in_session(s, group_id, agent_id, person_id, title, text, history=history)
        opened.append(thread)
        return thread

    handle = _start_run(group_id if isinstance(group_id, int) else None, open_it, text, person_id, version_id)
    return opened[-1], handle


def continue_thread(thread_id: int, message: str, person_id: int, *, version_id: int | None = None) -> RunHandle:
    """Post a user message and start the agent's reply. Returns the live handle: iterate
    `handle.text_stream()` for the streamed reply and `handle.wait()` for the result.
    `version_id` (a version of the thread's agent) runs that version instead of the thread's
    pinned one or the latest.

    The model call goes out as soon as its request is known (access, limits and context
    read); the rows that record it (the message, the run, the trace step, the events) are
    written while it travels, and the worker writes nothing until they are committed. If
    that transaction fails, the call is dropped and the error is the caller's."""
    text = validate_message(message)

    def load_it(s):
        thread = load_thread(s, person_id, thread_id, "editor")
        _check_can_start(s, thread)
        return thread

    return _start_run(_group_of_thread(thread_id), load_it, text, person_id, version_id)


def _start_run(group_id: int | None, get_thread: Callable[[Session], Thread], text: str, person_id: int,
               version_id: int | None) -> RunHandle:
    """One transaction: the thread (`get_thread`: loaded and checked, or opened), admission,
    the user's message and the run; the first call sent before the commit when it can be."""
    sent_early: list[RunHandle] = []  # a first call sent before the commit, to drop if it fails

    def start(s):
        thread = get_thread(s)
        run_version = _version_id(s, thread, version_id)
        early = _first_call(s, thread, run_version, person_id, text)
        admit_run(s, thread.group_id, person_id)  # last of the reads, before any write of the run
        handle = None
        if early is not None:
            handle = RunHandle(None, thread.id, thread.group_id)
            handle.prepared = (early[0], (early[1], None, None))
            sent_early.append(handle)
            MANAGER.submit(handle, execute)  # the request leaves now
        turn = {"status": "running"}  # also ends a wait for a human
        if thread.message_count == 0 and thread.title == "New thread":
            turn["title"] = title_from(text)
        # With the first call already sent, the reply's seq is taken here too.
        user_msg = append_message(s, thread, role="user", content=text, person_id=person_id,
                                  thread_fields=turn, reserve=1 if early is None else 2)
        sent = ("message_sent", dict(group_id=thread.group_id, actor_id=person_id, target_type="thread",
                                     target_id=thread.id, data={"message_id": user_msg.id, "chars": len(text)}))
        if early is None:
            events.record_many(s, [sent])
            return _open_run(s, thread, person_id, user_msg.id, run_version), None, None
        run = _insert_run(s, thread, person_id, user_msg.id, run_version, record=False)
        events.record_many(s, [sent, _run_started(thread, person_id, run.id)])
        plan, request = early
        plan.for_run(run.id)
        return run, handle, record_call(s, plan, request, seq=1, reply_seq=user_msg.seq + 1, thread=thread)

    try:
        run, handle, first_call_ids = start_transaction(group_id, start)
    except BaseException:
        for handle in sent_early:
            handle.abort()
        raise
    if handle is None:
        return launch(run)
    handle.open(run.id, first_call_ids)
    return handle


T = TypeVar("T")


def start_transaction(group_id: int | None, body: Callable[[Session], T]) -> T:
    """`body(s)` in the transaction that starts a run of the group: its reads, then
    `admit_run`, then its writes. A start never waits holding a database connection: it
    takes its process's turn in the group (limits.admission_turn) and a start slot before the
    transaction opens, and over a rate limit whose window frees within limits.MAX_WAIT_S it
    ends the transaction, sleeps and tries again. A start that finds no connection free is
    refused as busy (RunsBusy), before admission: nothing of it is written."""
    wait_until = time.monotonic() + limits.MAX_WAIT_S
    waited = 0.0
    while True:
        with limits.admission_turn(group_id), _start_slot():
            _wait_for_a_free_connection()
            try:
                with session_scope() as s:
                    s.info[limits.WAIT_INFO] = (wait_until, waited)
                    return body(s)
            except limits.WindowWait as wait:
                pause = wait.seconds
            except PoolTimeout as exc:  # every connection stayed busy for the pool's timeout
                raise limits.runs_busy(POOL_BUSY_RETRY_S) from exc
        time.sleep(pause)  # holding nothing: the group's other starts go on
        waited += pause


POOL_BUSY_WAIT_S = 1.0  # how long a start waits for a free connection before it is refused
POOL_BUSY_RETRY_S = 2.0


def _wait_for_a_free_connection() -> None:
    """A moment's wait while every connection of the pool is out (the pool's own timeout is
    for the writes of admitted runs, long); then the start is refused as busy."""
    pool, capacity = get_engine().pool, pool_capacity()
    give_up = time.monotonic() + POOL_BUSY_WAIT_S
    while getattr(pool, "checkedout", lambda: 0)() >= capacity:
        if time.monotonic() >= give_up:
            raise limits.runs_busy(POOL_BUSY_RETRY_S)
        time.sleep(0.01)


def _group_of_thread(thread_id: int) -> int | None:
    """The thread's group, to join its admission line: looked up (once per thread and
    process) in a start slot, so a burst of starts does not take every connection for it."""
    group_id = cached_group_of_thread(thread_id)
    if group_id is None:
        with _start_slot():
            try:
                group_id = group_of_thread(thread_id)
            except PoolTimeout as exc:
                raise limits.runs_busy(POOL_BUSY_RETRY_S) from exc
    return group_id


_start_slots: tuple[int, threading.BoundedSemaphore] | None = None
_start_slots_guard = threading.Lock()


@contextmanager
def _start_slot() -> Iterator[None]:
    """Starts of this process inside their transaction at once: at most half the database
    pool (the rest stays for the writes of admitted runs and for the pages). Waiting for a
    slot holds no connection; past limits.TURN_WAIT_S the start is refused as busy."""
    global _start_slots
    size = max(1, pool_capacity() // 2)
    with _start_slots_guard:
        if _start_slots is None or _start_slots[0] != size:  # the settings changed (tests)
            _start_slots = (size, threading.BoundedSemaphore(size))
        slots = _start_slots[1]
    if not slots.acquire(timeout=limits.TURN_WAIT_S):
        raise limits.runs_busy(limits.TURN_WAIT_S / 2)
    try:
        yield
    finally:
        slots.release()


def _first_call(s, thread: Thread, version_id: int, person_id: int, text: str):
    """(plan, request) of a reply's first call, or None when the plan cannot be made (the
    agent's provider was deleted, say): the run then opens anyway and its worker records
    the failure in the trace."""
    try:
        plan = make_plan(s, thread, version_id=version_id, overrides=thread.overrides, person_id=person_id)
        return plan, build_request(s, plan, pending_user=text)
    except Exception:  # noqa: BLE001 - see above
        return None


def retry_last(thread_id: int, person_id: int) -> RunHandle:
    """Run the agent again on the thread's last user message (after a failed reply)."""
    def start(s):
        thread = load_thread(s, person_id, thread_id, "editor")
        _check_can_start(s, thread)
        last_user = s.scalar(select(Message).where(Message.thread_id == thread_id, Message.role == "user")
                             .order_by(Message.seq.desc()).limit(1))
        if last_user is None:
            raise ValidationError("There is no message to retry in this thread.")
        admit_run(s, thread.group_id, person_id)
        return _open_run(s, thread, person_id, last_user.id)

    return launch(start_transaction(_group_of_thread(thread_id), start))


def cancel_run(run_id: int, person_id: int) -> bool:
    """Ask a running run to stop; what streamed so far is kept. False if not running here."""
    with session_scope() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise RunNotFound()
        load_thread(s, person_id, run.thread_id, "editor")
    handle = MANAGER.get(run_id)
    if handle is None:
        return False
    handle.cancel()
    return True


def active_handle(thread_id: int, *, actor_id: int) -> RunHandle | None:
    """The live handle of the thread's running run in this process, if any."""
    with session_scope() as s:
        load_thread(s, actor_id, thread_id)
    return MANAGER.for_thread(thread_id)


def admit_run(s, group_id: int, person_id: int) -> None:
    """Budget and rate limits of the group. Call in the transaction that then opens the run
    (a `start_transaction`), after its reads and before it writes anything (a refusal is
    recorded in a transaction of its own, which would wait on this one's writes on SQLite)."""

    limits.check_run_allowed(s, group_id, person_id=person_id)


def open_run(s, thread: Thread, person_id: int, user_message_id: int | None) -> Run:
    """Open a run on a thread of the caller's making (access checked, `admit_run` done);
    `launch` it once the transaction has committed."""
    return _open_run(s, thread, person_id, user_message_id)


def _check_can_start(s, thread: Thread) -> None:
    if thread.archived:
        raise ValidationError("This thread is archived; unarchive it to continue.")
    if thread.status == "running" or MANAGER.for_thread(thread.id):
        raise RunInProgress()


def _version_id(s, thread: Thread, requested: int | None = None) -> int:
    """The version asked for, else the thread's pinned agent version (playground and replay
    threads), else the agent's latest."""
    return requested or thread.agent_version_id or s.scalar(_LATEST_VERSION, {"agent_id": thread.agent_id})


_versions = AgentVersion.__table__
_LATEST_VERSION = (select(_versions.c.id).where(_versions.c.agent_id == bindparam("agent_id"))
                   .order_by(_versions.c.version.desc()).limit(1))


def _run_started(thread: Thread, person_id: int, run_id: int) -> tuple[str, dict]:
    return "run_started", dict(group_id=thread.group_id, actor_id=person_id, target_type="run",
                               target_id=run_id, data={"thread_id": thread.id})


def _insert_run(s, thread: Thread, person_id: int, user_message_id: int | None, version_id: int,
                record: bool = True) -> Run:
    """The run's row (and its `run_started` event unless the caller writes it with others)."""
    values = dict(group_id=thread.group_id, thread_id=thread.id, agent_id=thread.agent_id,
                  agent_version_id=version_id, person_id=person_id, overrides=thread.overrides or None,
                  user_message_id=user_message_id, worker=WORKER_ID, heartbeat_at=utcnow(),
                  status="running", started_at=utcnow())
    run = Run(id=insert_row(s, Run, **values), **values)  # a detached copy of the row
    if thread.status != "running":
        set_thread_fields(s, thread, status="running")
    if record:
        kind, fields = _run_started(thread, person_id, run.id)
        events.record(s, kind, **fields)
    return run


def _open_run(s, thread: Thread, person_id: int, user_message_id: int, version_id: int | None = None) -> Run:
    """A run on the thread's agent version (or `version_id`), with the thread's unsaved edits
    (overrides). Its first model call is made ready in this same transaction, so between the
    commit and the request there is no database work."""
    run = _insert_run(s, thread, person_id, user_message_id, _version_id(s, thread, version_id))
    try:
        plan = make_plan(s, thread, version_id=run.agent_version_id, overrides=run.overrides,
                         person_id=person_id, run_id=run.id)
    except Exception:  # noqa: BLE001 - the worker loads it again and records the failure in the trace
        plan = None
    if plan is not None:
        run.prepared = (plan, prepare_call(s, plan, seq=1))  # not a column: read by `launch`
    return run


def launch(run: Run) -> RunHandle:
    """Hand an opened run (its transaction committed) to the process's workers; returns its
    live handle."""
    handle = RunHandle(run.id, run.thread_id, run.group_id)
    handle.prepared = getattr(run, "prepared", None)
    MANAGER.submit(handle, execute)
    return handle


def recover_interrupted_runs() -> int:
    """Mark runs whose process is gone as interrupted (start-up): runs of this host's dead
    processes, and runs anywhere whose heartbeat stopped. Live runs of other app servers
    sharing the database are left alone."""
    live = MANAGER.active_ids()
    silent_since = utcnow() - timedelta(seconds=STALE_S)
    with session_scope() as s:
        stale = [r for r in s.scalars(select(Run).where(Run.status == "running"))
                 if r.id not in live and (worker_is_gone(r.worker) or r.heartbeat_at is None
                                          or r.heartbeat_at < silent_since)]
        for run in stale:
            run.status, run.ended_at = "interrupted", utcnow()
            run.error_type, run.error_message = "Interrupted", "The app stopped while this reply was being written."
            s.execute(update(Message).where(Message.run_id == run.id, Message.status == "streaming")
                      .values(status="interrupted"))
            s.execute(update(RunStep).where(RunStep.run_id == run.id, RunStep.status == "running")
                      .values(status="interrupted"))
            s.execute(update(Thread).where(Thread.id == run.thread_id, Thread.status == "running")
                      .values(status="idle"))
            events.record(s, RUN_EVENTS["interrupted"], group_id=run.group_id, actor_type="system",
                          target_type="run", target_id=run.id)
        return len(stale)
