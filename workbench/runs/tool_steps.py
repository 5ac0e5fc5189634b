"""One tool call of a run: its trace step written when it starts (so a live trace shows it
running), the tool run (an error goes back to the model, which may recover), the result
saved as a `tool` message, the step closed, and the page told at both ends. A group's custom
tool adds its `trace_info` (tool id, version, kind) to the step's request; its own checks
(arguments against the schema, deadline, secrets cut out) happen inside its `invoke`.

A call with the same tool and arguments as one already made in the run is not run again
(`skip_repeated`): its step says so, and its tool message gives the first result back
with the ask to answer from it (small models otherwise call the same tool over and over)."""

from __future__ import annotations

import json
import time

from sqlalchemy import update

from .. import events
from ..db import session_scope
from ..errors import cause_chain
from ..models import RunStep, Thread
from ..threads.store import append_message
from ..tools.registry import ToolContext
from .context import parse_arguments
from .workers import RunHandle, RunUpdate

REPEATED = ("Not run again: this run already made the same call (same tool, same arguments). "
            "Its result was:\n{result}\nAnswer the user from that result.")


def call_key(call: dict) -> tuple[str, str]:
    """What makes two calls the same: the tool and its arguments (key order aside)."""
    return call["name"], json.dumps(parse_arguments(call["arguments"]), sort_keys=True)


def run_tool(handle: RunHandle, ctx: ToolContext, tools: dict, call: dict, seq: int) -> str:
    """Run one call as a traced step; returns its result as the model sees it."""
    name, args = call["name"], parse_arguments(call["arguments"])
    handle.emit(RunUpdate("tool_start", data={"name": name, "arguments": args, "id": call["id"]}))
    with session_scope() as s:  # written before the call so a live trace shows it running
        step = RunStep(run_id=ctx.run_id, group_id=ctx.group_id, seq=seq, kind="tool_call", name=name,
                       request={"arguments": args, "tool_call_id": call["id"],
                                **getattr(tools.get(name), "trace_info", {})})
        s.add(step)
        s.flush()
        step_id = step.id
    started = time.perf_counter()
    err = None
    if name not in tools:
        err = {"type": "UnknownTool", "message": f"The tool {name!r} is not available to this agent."}
        result = f"Error: {err['message']}"
    else:
        try:
            result = tools[name].invoke(args)
            result = result if isinstance(result, str) else json.dumps(result, default=str)
        except Exception as exc:  # noqa: BLE001 - the model sees the error and may recover
            err = {"type": type(exc).__name__, "message": str(exc), "chain": cause_chain(exc)}
            result = f"Error: {exc}"
    duration_ms = (time.perf_counter() - started) * 1000
    with session_scope() as s:
        thread = s.get(Thread, ctx.thread_id)
        msg = append_message(s, thread, role="tool", content=result, run_id=ctx.run_id,
                             tool_call_id=call["id"], name=name,
                             status="failed" if err else "complete",
                             data={"arguments": args, "duration_ms": duration_ms, "error": err})
        s.execute(update(RunStep).where(RunStep.id == step_id).values(
            status="error" if err else "ok", duration_ms=duration_ms, message_id=msg.id,
            response={"result": result}, error=err))
        events.record(s, "tool_called", group_id=ctx.group_id, actor_type="agent", actor_id=ctx.agent_id,
                      target_type="run", target_id=ctx.run_id,
                      data={"tool": name, "ok": err is None, "duration_ms": round(duration_ms, 1)})
    handle.emit(RunUpdate("tool_end", data={"name": name, "result": result, "error": err,
                                            "duration_ms": duration_ms, "id": call["id"]}))
    return result


def skip_repeated(handle: RunHandle, ctx: ToolContext, call: dict, seq: int, first_result: str) -> None:
    """A call made before in this run: a step with status "skipped" and a tool message
    that hands back the first result (every call needs its tool message)."""
    name, args = call["name"], parse_arguments(call["arguments"])
    content = REPEATED.format(result=first_result)
    with session_scope() as s:
        msg = append_message(s, s.get(Thread, ctx.thread_id), role="tool", content=content,
                             run_id=ctx.run_id, tool_call_id=call["id"], name=name, status="complete",
                             data={"arguments": args, "repeated": True})
        s.add(RunStep(run_id=ctx.run_id, group_id=ctx.group_id, seq=seq, kind="tool_call", name=name,
                      status="skipped", duration_ms=0.0, message_id=msg.id,
                      request={"arguments": args, "tool_call_id": call["id"]},
                      response={"result": content, "note": "same call as before in this run: not run again"}))
    handle.emit(RunUpdate("tool_end", data={"name": name, "result": content, "error": None,
                                            "duration_ms": 0.0, "id": call["id"]}))
