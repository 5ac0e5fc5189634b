"""The run loop: what a run's worker does. It takes a slot of its lane, streams each model
call (the growing reply saved every flush interval, the deltas to whoever follows), records
usage, the trace step and the reply, runs the tools the model asked for, and ends the run
complete, failed or cancelled. A reply's first call may have been sent before the run's
rows were committed (see lifecycle.continue_thread): until they are, nothing is written."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import NamedTuple

from sqlalchemy import bindparam, case, select, update

from .. import events
from ..costs.usage import record_model_call
from ..db import session_scope
from ..errors import AgentExecutionError, StepLimitReached, WorkbenchError, cause_chain
from ..models import Message, Run, RunStep, Thread, utcnow
from ..providers.base import ChatRequest, Completed, ModelResponse, StreamReset, TextDelta
from ..threads.store import append_message
from .plan import load_plan, prepare_call
from .tool_steps import call_key, run_tool, skip_repeated
from .workers import MANAGER, QueueCancelled, RunHandle, RunTotals, RunUpdate
from .writer import RunWriter

RUN_EVENTS = {"complete": "run_completed", "failed": "run_failed", "cancelled": "run_cancelled",
              "interrupted": "run_interrupted"}

# Tool names and call ids come from the model: cut them to what their columns hold
# (PostgreSQL refuses longer values), so an invented name fails the call, not the run.
_TOOL_NAME_MAX = Message.name.type.length
_CALL_ID_MAX = Message.tool_call_id.type.length


class _ReplyWriter:
    """The growing assistant message of one model call. The process's run writer saves it
    every flush interval (with every other streaming reply, in one transaction); `flush`
    writes it at once. A reply whose call has ended (its message no longer "streaming") is
    never overwritten by an older text."""

    def __init__(self, message_id: int | None, handle: RunHandle):
        self._message_id = message_id  # None: sent before the run's rows existed (see _opened_ids)
        self._handle = handle
        self.text = ""
        self.saved = ""  # the text last written
        WRITER.watch(self)

    def add(self, delta: str) -> None:
        self.text += delta

    def reset(self) -> None:
        self.text = ""
        self.flush()

    @property
    def message_id(self) -> int:
        if self._message_id is None:
            self._message_id = _opened_ids(self._handle)[1]
        return self._message_id

    def known_message_id(self) -> int | None:
        """The message id if it exists yet, without waiting for it."""
        if self._message_id is None and self._handle.opened.is_set() and not self._handle.aborted:
            self._message_id = self._handle.first_call_ids[1]
        return self._message_id

    def pending_row(self) -> dict | None:
        text = self.text
        message_id = self.known_message_id() if text is not self.saved else None
        return None if message_id is None else {"message_key": message_id, "text": text}

    def mark_saved(self, row: dict) -> None:
        self.saved = row["text"]

    def flush(self, **fields) -> None:
        message_id, text = self.message_id, self.text
        WRITER.run(lambda s: s.execute(update(Message).where(Message.id == message_id)
                                       .values(content=text, **fields)))
        self.saved = text

    def close(self) -> None:
        """The call is over (its final text written by the caller): stop saving it."""
        WRITER.unwatch(self)


def _save_streaming(s, rows: list[dict]) -> None:
    s.connection().execute(_SAVE_STREAMING, rows)


WRITER = RunWriter(_save_streaming)

# The writes of every model call, built once (values go as parameters): building an ORM
# UPDATE anew costs several times executing it.
_messages, _steps = Message.__table__, RunStep.__table__
_SAVE_STREAMING = update(_messages).where(
    _messages.c.id == bindparam("message_key"), _messages.c.status == "streaming").values(
    content=bindparam("text", type_=_messages.c.content.type))
_CLOSE_STEP = update(_steps).where(_steps.c.id == bindparam("step_key")).values(
    **{name: bindparam(name, type_=_steps.c[name].type) for name in (
        "status", "duration_ms", "ttft_ms", "input_tokens", "output_tokens", "retries", "response")})
_CLOSE_REPLY = update(_messages).where(_messages.c.id == bindparam("message_key")).values(
    **{name: bindparam(name, type_=_messages.c[name].type) for name in ("content", "tool_calls", "status", "data")})


def execute(handle: RunHandle) -> None:
    started = time.perf_counter()
    status, error, step_seq, tools_used = "complete", None, 0, set()
    totals = {"input": 0, "output": 0, "cost": 0.0}
    writer: _ReplyWriter | None = None
    open_step: tuple[int, float] | None = None  # the model call in flight: (step id, perf start)
    ready = plan = None
    try:
        plan, ready = handle.prepared or (load_plan(handle.run_id), None)
        cfg, provider = plan.cfg, plan.provider
        _wait_for_slot(handle, plan, "local" if plan.provider_cfg.kind == "local" else "remote", ready)
        results: dict[tuple[str, str], str] = {}  # each call made in this run -> its result
        repeated = False  # a call was made again: the next model call must answer
        for call_index in range(cfg.max_tool_steps + 1):
            step_seq += 1
            if ready is not None:  # the first call, made ready (or sent) as the run opened
                (request, step_id, reply_id), ready = ready, None
            else:
                with session_scope() as s:
                    request, step_id, reply_id = prepare_call(s, plan, step_seq, answer_only=repeated)
            began = time.perf_counter()
            writer = _ReplyWriter(reply_id, handle)
            handle.emit(RunUpdate("message_start", data={"message_id": reply_id}))
            open_step = (step_id, began)
            response = _stream_call(provider, request, handle, writer)
            writer.close()  # its final text is written below
            if step_id is None:  # sent before its rows existed: they do now (or never will)
                step_id, reply_id = _opened_ids(handle)
                open_step = (step_id, began)
            ctx = plan.ctx
            calls = [{"id": c.id[:_CALL_ID_MAX], "name": c.name[:_TOOL_NAME_MAX], "arguments": c.arguments}
                     for c in response.tool_calls]
            cancelled = response.finish_reason == "cancelled"
            cost_usd = WRITER.run(partial(_close_call, plan, response, step_id, reply_id, calls, cancelled))
            totals["input"] += response.usage.input_tokens
            totals["output"] += response.usage.output_tokens
            totals["cost"] += cost_usd
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
                key = call_key(call)
                if key in results:
                    skip_repeated(handle, ctx, call, step_seq, results[key])
                    repeated = True
                else:
                    results[key] = run_tool(handle, ctx, plan.tools, call, step_seq)
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
    finally:
        if writer is not None:
            writer.close()
    # What the run's end would otherwise read back: its owners, and its last reply.
    known = _Known(owners=_Owners(plan.ctx.group_id, plan.ctx.agent_id, plan.ctx.person_id) if plan else None,
                   last_reply=writer.known_message_id() if writer is not None else None)
    _finish(handle, status, error, started, step_seq, tools_used, totals, known)


def _close_call(plan, response: ModelResponse, step_id: int, reply_id: int, calls: list[dict],
                cancelled: bool, s) -> float:
    """The writes that end a model call (a job of the run writer): its usage and price, its
    trace step, its reply. Returns the call's cost."""
    ctx, cfg = plan.ctx, plan.cfg
    rec = record_model_call(s, group_id=ctx.group_id, provider=plan.pricing_key, model=cfg.model,
                            usage=response.usage, duration_ms=response.duration_ms,
                            ttft_ms=response.ttft_ms, agent_id=ctx.agent_id,
                            thread_id=ctx.thread_id, run_id=ctx.run_id, person_id=ctx.person_id)
    conn = s.connection()
    conn.execute(_CLOSE_STEP, dict(
        step_key=step_id, status="cancelled" if cancelled else "ok", duration_ms=response.duration_ms,
        ttft_ms=response.ttft_ms, input_tokens=response.usage.input_tokens,
        output_tokens=response.usage.output_tokens, retries=len(response.failed_attempts),
        response={"content": response.content, "tool_calls": calls,
                  "finish_reason": response.finish_reason, "model": response.model,
                  "usage": vars(response.usage), "cost_usd": rec.cost_usd,
                  "failed_attempts": [vars(a) for a in response.failed_attempts],
                  **({"decision": response.decision} if response.decision is not None else {}),
                  **({"decision_set_aside": response.decision_set_aside}
                     if response.decision_set_aside is not None else {}),
                  **({"decision_replaced": response.decision_replaced}
                     if response.decision_replaced is not None else {}),
                  **({"full_answer": response.full_answer, "form_choices": response.form_choices}
                     if response.full_answer is not None else {}),
                  **({"passage_check": response.passage_check} if response.passage_check is not None else {}),
                  **({"replaced": response.replaced} if response.replaced is not None else {})}))
    conn.execute(_CLOSE_REPLY, dict(
        message_key=reply_id, content=response.content, tool_calls=calls or None,
        status="cancelled" if cancelled else "complete",
        data={"model": cfg.model, "usage": vars(response.usage),
              **({key: response.replaced[key] for key in ("unsupported", "repeats_question") if key in response.replaced}
                 if response.replaced else {})}))
    return rec.cost_usd


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
    if not waited_s:
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


class _Owners(NamedTuple):
    group_id: int
    agent_id: int
    person_id: int | None


@dataclass(frozen=True)
class _Known:
    """What the loop knows at a run's end (None: read it back)."""

    owners: _Owners | None
    last_reply: int | None  # the run's last assistant message


def _finish(handle: RunHandle, status: str, error: WorkbenchError | None, started: float,
            steps: int, tools_used: set[str], totals: dict, known: _Known) -> None:
    duration_ms = (time.perf_counter() - started) * 1000
    WRITER.run(partial(_end_run, handle.run_id, handle.thread_id, status, error, duration_ms, steps,
                       tools_used, totals, known))
    handle.totals = RunTotals(totals["input"], totals["output"], totals["cost"], steps)
    handle.status = status
    handle.error = error.user_message if error else None


def _end_run(run_id: int, thread_id: int, status: str, error: WorkbenchError | None, duration_ms: float,
             steps: int, tools_used: set[str], totals: dict, known: _Known, s) -> None:
    """The writes that end a run (a job of the run writer). Plain statements built once
    (every run ends here): loading the run and the thread as ORM objects to change a few
    columns costs several times the statements."""
    conn = s.connection()
    run = known.owners or conn.execute(_RUN_OWNERS, {"run_key": run_id}).one()
    last = known.last_reply if known.last_reply is not None else conn.execute(_LAST_REPLY, {"run_key": run_id}).scalar()
    values = dict(run_key=run_id, status=status, ended_at=utcnow(), duration_ms=duration_ms,
                  step_count=steps, input_tokens=totals["input"], output_tokens=totals["output"],
                  cost_usd=totals["cost"], tools_used=_tools_used(tools_used), reply_message_id=last)
    if error is not None:
        chain = cause_chain(error)
        conn.execute(_END_RUN_FAILED, {**values, "error_type": type(error).__name__,
                                       "error_message": error.user_message, "error_chain": chain})
        if last is None:  # failed before any reply existed: keep a visible failed reply
            append_message(s, s.get(Thread, thread_id), role="assistant", status="failed", run_id=run_id,
                           data={"error": error.user_message, "error_type": type(error).__name__})
        events.record(s, "agent_error", group_id=run.group_id, actor_type="agent",
                      actor_id=run.agent_id, target_type="run", target_id=run_id,
                      data={"error_type": type(error).__name__, "message": error.user_message,
                            "chain": chain})
    else:
        conn.execute(_END_RUN, values)
    conn.execute(_THREAD_AFTER_RUN, {"thread_key": thread_id, "now": utcnow()})
    events.record(s, RUN_EVENTS[status], group_id=run.group_id, actor_id=run.person_id,
                  target_type="run", target_id=run_id,
                  data={"duration_ms": round(duration_ms, 1), "steps": steps,
                        "input_tokens": totals["input"], "output_tokens": totals["output"]})


_runs, _threads = Run.__table__, Thread.__table__
_RUN_OWNERS = select(_runs.c.group_id, _runs.c.agent_id, _runs.c.person_id).where(_runs.c.id == bindparam("run_key"))
_LAST_REPLY = (select(_messages.c.id).where(_messages.c.run_id == bindparam("run_key"), _messages.c.role == "assistant")
               .order_by(_messages.c.seq.desc()).limit(1))
_END_COLUMNS = ("status", "ended_at", "duration_ms", "step_count", "input_tokens", "output_tokens", "cost_usd",
                "tools_used", "reply_message_id")
_END_RUN = update(_runs).where(_runs.c.id == bindparam("run_key")).values(
    **{name: bindparam(name, type_=_runs.c[name].type) for name in _END_COLUMNS})
_END_RUN_FAILED = update(_runs).where(_runs.c.id == bindparam("run_key")).values(
    **{name: bindparam(name, type_=_runs.c[name].type)
       for name in (*_END_COLUMNS, "error_type", "error_message", "error_chain")})
# The thread leaves "running" (not "waiting_human"); its activity time is now.
_THREAD_AFTER_RUN = update(_threads).where(_threads.c.id == bindparam("thread_key")).values(
    status=case((_threads.c.status == "running", "idle"), else_=_threads.c.status),
    last_activity_at=bindparam("now", type_=_threads.c.last_activity_at.type))


def _tools_used(names: set[str]) -> str:
    """",a,b," for the traces' tool filter. Names that no longer fit the column are left
    out (only a model inventing dozens of tool names gets there)."""
    kept, size = [], 1
    for name in sorted(names):
        if size + len(name) + 1 <= Run.tools_used.type.length:
            kept.append(name)
            size += len(name) + 1
    return "," + ",".join(kept) + "," if kept else ""
