"""One tool call of a run: its trace step written when it starts (so a live trace shows it
running), the tool run (an error goes back to the model, which may recover), the result
saved as a `tool` message, the step closed, and the page told at both ends. A group's custom
tool adds its `trace_info` (tool id, version, kind) to the step's request; its own checks
(arguments against the schema, deadline, secrets cut out) happen inside its `invoke`."""

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


def run_tool(handle: RunHandle, ctx: ToolContext, tools: dict, call: dict, seq: int) -> None:
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
