"""The built-in tools: create_task, get_context, call_human."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select

from .. import events
from ..db import session_scope
from ..models import Connection, Group, Person, Thing, Thread
from ..providers.base import RESULT_SUMMARY as SUMMARY
from .registry import ToolContext, register

TASK = "task"


class CreateTaskArgs(BaseModel):
    title: str = Field(min_length=1, max_length=200, description="Short title of the task")
    description: str = Field(default="", max_length=10_000, description="What needs to be done")
    priority: Literal["low", "medium", "high"] = Field(default="medium")


@register("create_task", "Create a task (a to-do for the team) in this group's task list, when "
                         "the user asks for a task or ticket to be made.", CreateTaskArgs,
          label="Create task")
def create_task(ctx: ToolContext, title: str, description: str = "", priority: str = "medium") -> str:
    with session_scope() as s:
        task = Thing(group_id=ctx.group_id, type=TASK, name=title.strip(), description=description,
                     status="open", created_by=ctx.person_id,
                     data={"priority": priority, "thread_id": ctx.thread_id, "agent_id": ctx.agent_id,
                           "run_id": ctx.run_id})
        s.add(task)
        s.flush()
        events.record(s, "task_created", group_id=ctx.group_id, actor_type="agent", actor_id=ctx.agent_id,
                      target_type="task", target_id=task.id, data={"title": task.name, "priority": priority})
        return json.dumps({"task_id": task.id, "title": task.name, "priority": priority, "status": "open",
                           SUMMARY: f"I have added the task \"{task.name}\" ({priority} priority) to the "
                                    f"team's list as task {task.id}."})


class GetContextArgs(BaseModel):
    about: Literal["group", "person", "agent"] = Field(
        default="group", description="Which facts to return: the group, the person chatting, or you")


@register("get_context", "Facts about the current group, the person you are talking to, or yourself.",
          GetContextArgs, label="Get context")
def get_context(ctx: ToolContext, about: str = "group") -> str:
    with session_scope() as s:
        if about == "person":
            person = s.get(Person, ctx.person_id) if ctx.person_id else None
            facts = {"name": person.name, "email": person.email} if person else {"name": "unknown"}
        elif about == "agent":
            agent = s.get(Thing, ctx.agent_id)
            facts = {"name": agent.name, "description": agent.description,
                     "model": agent.data.get("model"), "tools": agent.data.get("tools", [])}
        else:
            group = s.get(Group, ctx.group_id)
            open_tasks = len(s.scalars(select(Thing.id).where(
                Thing.group_id == ctx.group_id, Thing.type == TASK, Thing.status == "open")).all())
            facts = {"name": group.name, "plan": group.plan, "open_tasks": open_tasks}
        return json.dumps({"about": about, **facts})


class CallHumanArgs(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="Why a human is needed")


@register("call_human", "Hand this conversation to a human member of the team: when the user "
                        "asks to speak to someone, for a person or someone in charge, or is "
                        "unhappy with the answers.",
          CallHumanArgs, label="Call a human")
def call_human(ctx: ToolContext, reason: str) -> str:
    """Records an escalation (a connection thread -> group) and marks the thread waiting."""
    with session_scope() as s:
        thread = s.get(Thread, ctx.thread_id)
        esc = Connection(group_id=ctx.group_id, type="escalated_to", source_type="thread",
                         source_id=ctx.thread_id, target_type="group", target_id=ctx.group_id,
                         status="open", data={"reason": reason, "run_id": ctx.run_id,
                                              "agent_id": ctx.agent_id})
        s.add(esc)
        thread.status = "waiting_human"
        s.flush()
        events.record(s, "human_called", group_id=ctx.group_id, actor_type="agent", actor_id=ctx.agent_id,
                      target_type="thread", target_id=ctx.thread_id,
                      data={"reason": reason, "escalation_id": esc.id})
        return json.dumps({"escalation_id": esc.id, "status": "waiting for a human",
                           "note": "A human has been asked and will reply in this thread.",
                           SUMMARY: "I have asked a person from the team to join; they will reply "
                                    "here in this conversation."})
