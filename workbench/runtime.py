"""The agent loop. A user message starts a run that executes in a worker owned by the
process (not by the page script), so a rerun, leaving the page or a second tab does not
kill it. The run streams deltas to whoever started it, saves the growing reply to the
database in small batches, records every step in the run's trace, and ends complete,
failed, cancelled or interrupted (found unfinished at start-up)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import bindparam, select, update

from . import events
from .db import insert_row, session_scope
from .errors import (AgentExecutionError, RunInProgress, RunNotFound, StepLimitReached,
                     ValidationError, WorkbenchError, cause_chain)
from .models import AgentVersion, Message, Run, RunStep, Thread, utcnow
from .providers.base import ChatRequest, Completed, ModelResponse, StreamReset, TextDelta
from .run_manager import (MANAGER, STALE_S, TERMINAL, WORKER_ID, QueueCancelled, RunHandle, RunResult,
                          RunUpdate, worker_is_gone)
from .run_prep import build_request, load_plan, make_plan, prepare_call, record_call
from .settings import get_settings
from .threads import append_message, load_thread, set_thread_fields, title_from, validate_message
from .tool_steps import run_tool
from .usage import record_model_call

# The handle types are part of this module's API (callers follow runs through them).
__all__ = ["continue_thread", "retry_last", "cancel_run", "active_handle", "recover_interrupted_runs",
           "RunHandle", "RunResult", "RunUpdate", "TERMINAL"]


RUN_EVENTS = {"complete": "run_completed", "failed": "run_failed", "cancelled": "run_cancelled",
              "interrupted": "run_interrupted"}

# Tool names and call ids come from the model: cut them to what their columns hold
# (PostgreSQL refuses longer values), so an invented name fails the call, not the run.
_TOOL_NAME_MAX = Message.name.type.length
_CALL_ID_MAX = Message.tool_call_id.type.length


# --- starting, cancelling, retrying -------------------------------------------------

def continue_thread(thread_id: int, message: str, person_id: int) -> RunHandle:
    """Post a user message and start the agent's reply. Returns the live handle: iterate
    `handle.text_stream()` for the streamed reply and `handle.wait()` for the result.

    The model call goes out as soon as its request is known (access, limits and context
    read); the rows that record it (the message, the run, the trace step, the events) are
    written while it travels, and the worker writes nothing until they are committed. If
    that transaction fails, the call is dropped and the error is the caller's."""
    text = validate_message(message)
    handle = None
    try:
        with session_scope() as s:
            thread = load_thread(s, person_id, thread_id, "editor")
            _check_can_start(s, thread)
            version_id = _version_id(s, thread)
            early = _first_call(s, thread, version_id, person_id, text)
            # Last of the reads: the admission holds the group's lock (and SQLite's write
            # lock) until this transaction ends, so the starts of a busy group queue only
            # for the writes.
            admit_run(s, thread.group_id, person_id)
            if early is not None:
                handle = RunHandle(None, thread.id, thread.group_id)
                handle.prepared = (early[0], (early[1], None, None))
                MANAGER.submit(handle, _execute)  # the request leaves now
            turn = {"status": "running"}  # also ends a wait for a human
            if thread.message_count == 0 and thread.title == "New thread":
                turn["title"] = title_from(text)
            user_msg = append_message(s, thread, role="user", content=text, person_id=person_id,
                                      thread_fields=turn)
            events.record(s, "message_sent", group_id=thread.group_id, actor_id=person_id,
                          target_type="thread", target_id=thread.id, data={"message_id": user_msg.id,
                                                                           "chars": len(text)})
            if early is None:
                run = _open_run(s, thread, person_id, user_msg.id)
            else:
                run = _insert_run(s, thread, person_id, user_msg.id, version_id)
                plan, request = early
                plan.for_run(run.id)
                first_call_ids = record_call(s, plan, request, seq=1)
    except BaseException:
        if handle is not None:
            handle.abort()
        raise
    if handle is None:
        return launch(run)
    handle.open(run.id, first_call_ids)
    return handle


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
    with session_scope() as s:
        thread = load_thread(s, person_id, thread_id, "editor")
        _check_can_start(s, thread)
        admit_run(s, thread.group_id, person_id)
        last_user = s.scalar(select(Message).where(Message.thread_id == thread_id, Message.role == "user")
                             .order_by(Message.seq.desc()).limit(1))
        if last_user is None:
            raise ValidationError("There is no message to retry in this thread.")
        run = _open_run(s, thread, person_id, last_user.id)
    return launch(run)


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
    """Budget and rate limits of the group. Call first in the transaction that then opens
    the run, before it writes anything (a refusal is recorded in a transaction of its own,
    which would wait on this one's writes on SQLite)."""
    from . import limits

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


def _version_id(s, thread: Thread) -> int:
    """The thread's pinned agent version (playground and replay threads), else the agent's
    latest."""
    return thread.agent_version_id or s.scalar(_LATEST_VERSION, {"agent_id": thread.agent_id})


_versions = AgentVersion.__table__
_LATEST_VERSION = (select(_versions.c.id).where(_versions.c.agent_id == bindparam("agent_id"))
                   .order_by(_versions.c.version.desc()).limit(1))


def _insert_run(s, thread: Thread, person_id: int, user_message_id: int | None, version_id: int) -> Run:
    values = dict(group_id=thread.group_id, thread_id=thread.id, agent_id=thread.agent_id,
                  agent_version_id=version_id, person_id=person_id, overrides=thread.overrides or None,
                  user_message_id=user_message_id, worker=WORKER_ID, heartbeat_at=utcnow(),
                  status="running", started_at=utcnow())
    run = Run(id=insert_row(s, Run, **values), **values)  # a detached copy of the row
    if thread.status != "running":
        set_thread_fields(s, thread, status="running")
    events.record(s, "run_started", group_id=thread.group_id, actor_id=person_id,
                  target_type="run", target_id=run.id, data={"thread_id": thread.id})
    return run


def _open_run(s, thread: Thread, person_id: int, user_message_id: int) -> Run:
    """A run on the thread's agent version, with the thread's unsaved edits (overrides).
    Its first model call is made ready in this same transaction, so between the commit and
    the request there is no database work."""
    run = _insert_run(s, thread, person_id, user_message_id, _version_id(s, thread))
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
    MANAGER.submit(handle, _execute)
    return handle


# --- the loop ------------------------------------------------------------------------

class _ReplyWriter:
    """Writes the growing assistant message to the database every flush interval."""

    def __init__(self, message_id: int | Callable[[], int]):
        self._message_id = message_id  # or how to get it, once the run's rows exist
        self.text = ""
        self._last_flush = time.monotonic()
        self._interval = get_settings().run_flush_interval_s

    def add(self, delta: str) -> None:
        self.text += delta
        if time.monotonic() - self._last_flush >= self._interval:
            self.flush()

    def reset(self) -> None:
        self.text = ""
        self.flush()

    @property
    def message_id(self) -> int:
        if callable(self._message_id):
            self._message_id = self._message_id()
        return self._message_id

    def flush(self, **fields) -> None:
        message_id = self.message_id
        with session_scope() as s:
            s.execute(update(Message).where(Message.id == message_id)
                      .values(content=self.text, **fields))
        self._last_flush = time.monotonic()


def _execute(handle: RunHandle) -> None:
    started = time.perf_counter()
    status, error, step_seq, tools_used = "complete", None, 0, set()
    totals = {"input": 0, "output": 0, "cost": 0.0}
    writer: _ReplyWriter | None = None
    open_step: tuple[int, float] | None = None  # the model call in flight: (step id, perf start)
    ready = None
    try:
        plan, ready = handle.prepared or (load_plan(handle.run_id), None)
        cfg, provider = plan.cfg, plan.provider
        _wait_for_slot(handle, plan, "local" if plan.provider_cfg.kind == "local" else "remote", ready)
        for call_index in range(cfg.max_tool_steps + 1):
            step_seq += 1
            if ready is not None:  # the first call, made ready (or sent) as the run opened
                (request, step_id, reply_id), ready = ready, None
            else:
                with session_scope() as s:
                    request, step_id, reply_id = prepare_call(s, plan, step_seq)
            began = time.perf_counter()
            writer = _ReplyWriter(reply_id or (lambda: _opened_ids(handle)[1]))
            handle.emit(RunUpdate("message_start", data={"message_id": reply_id}))
            open_step = (step_id, began)
            response = _stream_call(provider, request, handle, writer)
            if step_id is None:  # sent before its rows existed: they do now (or never will)
                step_id, reply_id = _opened_ids(handle)
                open_step = (step_id, began)
            ctx = plan.ctx
            calls = [{"id": c.id[:_CALL_ID_MAX], "name": c.name[:_TOOL_NAME_MAX], "arguments": c.arguments}
                     for c in response.tool_calls]
            with session_scope() as s:
                rec = record_model_call(s, group_id=ctx.group_id, provider=plan.pricing_key, model=cfg.model,
                                        usage=response.usage, duration_ms=response.duration_ms,
                                        ttft_ms=response.ttft_ms, agent_id=ctx.agent_id,
                                        thread_id=ctx.thread_id, run_id=ctx.run_id, person_id=ctx.person_id)
                s.flush()
                totals["input"] += response.usage.input_tokens
                totals["output"] += response.usage.output_tokens
                totals["cost"] += rec.cost_usd
                cancelled = response.finish_reason == "cancelled"
                s.execute(update(RunStep).where(RunStep.id == step_id).values(
                    status="cancelled" if cancelled else "ok", duration_ms=response.duration_ms,
                    ttft_ms=response.ttft_ms, input_tokens=response.usage.input_tokens,
                    output_tokens=response.usage.output_tokens, retries=len(response.failed_attempts),
                    response={"content": response.content, "tool_calls": calls,
                              "finish_reason": response.finish_reason, "model": response.model,
                              "usage": vars(response.usage), "cost_usd": rec.cost_usd,
                              "failed_attempts": [vars(a) for a in response.failed_attempts]}))
                s.execute(update(Message).where(Message.id == reply_id).values(
                    content=response.content, tool_calls=calls or None,
                    status="cancelled" if cancelled else "complete",
                    data={"model": cfg.model, "usage": vars(response.usage)}))
            open_step = None
            handle.reply_text = response.content
            if cancelled:
                status = "cancelled"
                break
            if not calls or plan.single_call:
                break
            if call_index == cfg.max_tool_steps:
                raise StepLimitReached(
                    f"The agent reached its limit of {cfg.max_tool_steps} tool steps before answering. "
                    "Raise 'max tool steps' on the agent or ask a narrower question.")
            for call in calls:
                if handle.cancel_event.is_set():
                    status = "cancelled"
                    break
                step_seq += 1
                tools_used.add(call["name"])
                run_tool(handle, ctx, plan.tools, call, step_seq)
            if status == "cancelled":
                break
    except _OpeningAborted:
        return  # the caller's transaction failed: there is no run to record
    except QueueCancelled:
        status = "cancelled"  # stopped while waiting in line: the model was never called
        if not handle.wait_opened():
            return
        if ready is not None:
            _close_unsent_call(*(ready[1:] if ready[1] is not None else handle.first_call_ids))
    except Exception as exc:  # noqa: BLE001 - every failure ends the run cleanly
        if not handle.wait_opened():
            return
        status = "failed"
        error = exc if isinstance(exc, WorkbenchError) else AgentExecutionError(
            "The agent failed unexpectedly: " + str(exc), cause=exc)
        if writer is not None:
            writer.flush(status="failed", data={"error": error.user_message,
                                                "error_type": type(error).__name__})
        if open_step is not None:
            step_id, began = open_step
            _fail_step((step_id or handle.first_call_ids[0], began), error,
                       getattr(exc, "failed_attempts", None) or [])
    _finish(handle, status, error, started, step_seq, tools_used, totals)


class _OpeningAborted(Exception):
    """The transaction that opened the run failed after its first call was sent."""


def _opened_ids(handle: RunHandle) -> tuple[int, int]:
    """(step id, reply id) of a first call sent before its rows existed, once they do."""
    if not handle.wait_opened():
        raise _OpeningAborted()
    return handle.first_call_ids


def _wait_for_slot(handle: RunHandle, plan, lane: str, ready) -> None:
    """Take a slot of the run's lane, waiting in line if it is full. A wait shows in the
    trace as a `queue` step (seq 0, before the first model call), apart from model time."""
    waited_s = MANAGER.lanes.acquire(handle, lane)
    if waited_s < 0.001:
        return
    ready_step_id = ready[1] if ready else None
    if ready is not None and ready_step_id is None:
        ready_step_id = _opened_ids(handle)[0]
    ctx = plan.ctx
    with session_scope() as s:
        s.add(RunStep(run_id=ctx.run_id, group_id=ctx.group_id, seq=0, kind="queue",
                      name=f"waiting for a {lane} slot", status="ok", duration_ms=waited_s * 1000,
                      started_at=utcnow() - timedelta(seconds=waited_s), request={"lane": lane}))
        if ready_step_id is not None:  # the first call was made ready before the wait: it starts now
            s.execute(update(RunStep).where(RunStep.id == ready_step_id).values(started_at=utcnow()))


def _close_unsent_call(step_id: int, reply_id: int) -> None:
    """The call made ready at opening was never sent (stopped in the queue): say so."""
    with session_scope() as s:
        s.execute(update(RunStep).where(RunStep.id == step_id).values(
            status="cancelled", duration_ms=0.0, response={"note": "Stopped in the queue; never sent."}))
        s.execute(update(Message).where(Message.id == reply_id).values(status="cancelled"))


def _fail_step(open_step: tuple[int, float], error: WorkbenchError, failed_attempts: list) -> None:
    """Close the model-call step that failed, so its trace shows the error and every try."""
    step_id, began = open_step
    with session_scope() as s:
        s.execute(update(RunStep).where(RunStep.id == step_id).values(
            status="error", duration_ms=(time.perf_counter() - began) * 1000,
            retries=len(failed_attempts),
            response={"failed_attempts": [vars(a) for a in failed_attempts]},
            error={"type": type(error).__name__, "message": error.user_message,
                   "chain": cause_chain(error)}))


def _stream_call(provider, request: ChatRequest, handle: RunHandle, writer: _ReplyWriter) -> ModelResponse:
    for item in provider.stream_chat(request, cancel=handle.cancel_event):
        if isinstance(item, TextDelta):
            writer.add(item.text)
            handle.emit(RunUpdate("text", text=item.text))
        elif isinstance(item, StreamReset):
            writer.reset()
            handle.emit(RunUpdate("reset", data={"reason": item.reason}))
        elif isinstance(item, Completed):
            return item.response
    raise AgentExecutionError("The provider ended the call without a response.")


def _finish(handle: RunHandle, status: str, error: WorkbenchError | None, started: float,
            steps: int, tools_used: set[str], totals: dict) -> None:
    with session_scope() as s:
        run = s.get(Run, handle.run_id)
        thread = s.get(Thread, handle.thread_id)
        run.status, run.ended_at = status, utcnow()
        run.duration_ms = (time.perf_counter() - started) * 1000
        run.step_count, run.input_tokens, run.output_tokens = steps, totals["input"], totals["output"]
        run.cost_usd = totals["cost"]
        run.tools_used = _tools_used(tools_used)
        last = s.scalar(select(Message.id).where(Message.run_id == run.id, Message.role == "assistant")
                        .order_by(Message.seq.desc()).limit(1))
        run.reply_message_id = last
        if error is not None:
            run.error_type, run.error_message = type(error).__name__, error.user_message
            run.error_chain = cause_chain(error)
            if last is None:  # failed before any reply existed: keep a visible failed reply
                append_message(s, thread, role="assistant", status="failed", run_id=run.id,
                               data={"error": error.user_message, "error_type": type(error).__name__})
            events.record(s, "agent_error", group_id=run.group_id, actor_type="agent",
                          actor_id=run.agent_id, target_type="run", target_id=run.id,
                          data={"error_type": type(error).__name__, "message": error.user_message,
                                "chain": run.error_chain})
        if thread.status == "running":
            thread.status = "idle"
        thread.last_activity_at = utcnow()
        events.record(s, RUN_EVENTS[status], group_id=run.group_id, actor_id=run.person_id,
                      target_type="run", target_id=run.id,
                      data={"duration_ms": round(run.duration_ms, 1), "steps": steps,
                            "input_tokens": totals["input"], "output_tokens": totals["output"]})
    handle.status = status
    handle.error = error.user_message if error else None


def _tools_used(names: set[str]) -> str:
    """",a,b," for the traces' tool filter. Names that no longer fit the column are left
    out (only a model inventing dozens of tool names gets there)."""
    kept, size = [], 1
    for name in sorted(names):
        if size + len(name) + 1 <= Run.tools_used.type.length:
            kept.append(name)
            size += len(name) + 1
    return "," + ",".join(kept) + "," if kept else ""


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
