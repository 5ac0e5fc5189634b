"""Tasks (things of type "task") and human escalations (connections of type escalated_to)."""

from __future__ import annotations

from sqlalchemy import select

from .. import events
from ..db import session_scope
from ..errors import TaskNotFound, ValidationError
from ..models import Connection, Message, Person, Thing
from ..tenancy.access import require_access
from ..threads.store import append_message, load_thread, validate_message

TASK_STATUSES = ("open", "done")


def list_tasks(actor_id: int, group_id: int, status: str | None = None) -> list[Thing]:
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        q = select(Thing).where(Thing.group_id == group_id, Thing.type == "task", Thing.deleted_at.is_(None))
        if status:
            q = q.where(Thing.status == status)
        return list(s.scalars(q.order_by(Thing.created_at.desc(), Thing.id.desc())))


def set_task_status(actor_id: int, task_id: int, status: str) -> Thing:
    if status not in TASK_STATUSES:
        raise ValidationError(field_errors={"status": f"Status must be one of {', '.join(TASK_STATUSES)}."})
    with session_scope() as s:
        task = s.get(Thing, task_id)
        if task is None or task.type != "task":
            raise TaskNotFound()
        require_access(s, actor_id, task.group_id, "editor")
        events.record(s, "task_status_changed", group_id=task.group_id, actor_id=actor_id,
                      target_type="task", target_id=task_id, data={"from": task.status, "to": status})
        task.status = status
        return task


def open_escalations(actor_id: int, group_id: int) -> list[Connection]:
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        return list(s.scalars(select(Connection).where(
            Connection.group_id == group_id, Connection.type == "escalated_to",
            Connection.status == "open").order_by(Connection.created_at.desc())))


def answer_as_human(actor_id: int, thread_id: int, text: str):
    """A person answers in the thread as the human agent; open escalations are resolved."""
    text = validate_message(text)
    with session_scope() as s:
        thread = load_thread(s, actor_id, thread_id, "editor")
        person = s.get(Person, actor_id)
        msg = append_message(s, thread, role="human", content=text, person_id=actor_id,
                             name=person.name[:Message.name.type.length] if person else None)
        for esc in s.scalars(select(Connection).where(
                Connection.type == "escalated_to", Connection.source_type == "thread",
                Connection.source_id == thread_id, Connection.status == "open")):
            esc.status = "answered"
            esc.data = {**esc.data, "answered_by": actor_id, "message_id": msg.id}
        if thread.status == "waiting_human":
            thread.status = "idle"
        events.record(s, "human_replied", group_id=thread.group_id, actor_id=actor_id,
                      target_type="thread", target_id=thread_id, data={"message_id": msg.id})
        return msg
