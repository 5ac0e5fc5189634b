"""Threads and their messages. Reads are paginated by `seq` (unique per thread, indexed),
so opening a 10,000-message thread costs the same as opening a short one."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from .. import events
from ..db import insert_row, session_scope
from ..errors import AgentNotFound, ThreadNotFound, ValidationError
from ..models import Message, Thing, Thread, utcnow
from ..tenancy.access import require_access

MAX_MESSAGE_CHARS = 64_000
CHAT, PLAYGROUND = "chat", "playground"  # thread kinds: playground threads stay off the Chat list
MAX_TITLE_CHARS = 80


@dataclass
class MessagePage:
    messages: list[Message]  # oldest first
    has_older: bool

    @property
    def oldest_seq(self) -> int | None:
        return self.messages[0].seq if self.messages else None


def validate_message(content: str | None) -> str:
    text = (content or "").strip()
    if not text:
        raise ValidationError(field_errors={"message": "Write a message first."})
    if len(text) > MAX_MESSAGE_CHARS:
        raise ValidationError(field_errors={"message": (
            f"The message is {len(text):,} characters long; the limit is {MAX_MESSAGE_CHARS:,}. "
            "Add long material to Knowledge instead.")})
    return text


def title_from(text: str) -> str:
    """A thread title from its first message: the first line, whitespace folded, cut at a word."""
    first = re.sub(r"\s+", " ", text.strip().splitlines()[0] if text.strip() else "").strip()
    if len(first) <= MAX_TITLE_CHARS:
        return first or "New thread"
    cut = first[:MAX_TITLE_CHARS].rsplit(" ", 1)[0]
    return (cut or first[:MAX_TITLE_CHARS]) + "…"


def load_thread(s: Session, actor_id: int, thread_id: int, role: str = "viewer") -> Thread:
    """The thread, after the access check on its group."""
    thread = s.get(Thread, thread_id) if isinstance(thread_id, int) else None
    if thread is None:
        raise ThreadNotFound(f"Thread {thread_id} does not exist.")
    require_access(s, actor_id, thread.group_id, role)
    return thread


_GROUP_OF_THREAD = select(Thread.__table__.c.group_id).where(Thread.__table__.c.id == bindparam("thread_key"))
_groups_of_threads: dict[int, int] = {}  # a thread never moves to another group
_GROUPS_OF_THREADS_MAX = 100_000


def cached_group_of_thread(thread_id: int) -> int | None:
    """`group_of_thread` when this process has seen the thread, else None (no database)."""
    return _groups_of_threads.get(thread_id)


def group_of_thread(thread_id: int) -> int | None:
    """The group a thread belongs to, or None when there is no such thread. No access check:
    for choosing which group's admission line a start joins, before its transaction (which
    checks access) opens; cached, as a thread's group never changes."""
    group_id = _groups_of_threads.get(thread_id)
    if group_id is None and isinstance(thread_id, int):
        with session_scope() as s:
            group_id = s.execute(_GROUP_OF_THREAD, {"thread_key": thread_id}).scalar()
        if group_id is not None:
            if len(_groups_of_threads) >= _GROUPS_OF_THREADS_MAX:
                _groups_of_threads.clear()
            _groups_of_threads[thread_id] = group_id
    return group_id


_threads = Thread.__table__
_things = Thing.__table__
_AGENT_OF_GROUP = select(_things.c.type, _things.c.deleted_at, _things.c.group_id).where(
    _things.c.id == bindparam("agent_key"))
_NEXT_SEQ = (update(_threads).where(_threads.c.id == bindparam("thread_id"))
             .values(message_count=_threads.c.message_count + bindparam("n"), last_activity_at=bindparam("now"))
             .returning(_threads.c.message_count))


_SET_THREAD = update(_threads).where(_threads.c.id == bindparam("thread_key"))


def set_thread_fields(s: Session, thread: Thread, **values) -> None:
    """Change columns of a loaded thread with one plain UPDATE, at once (the hot path of a
    run start: no unit of work at commit); the loaded object agrees."""
    s.connection().execute(_SET_THREAD, {"thread_key": thread.id, **values})
    for key, value in values.items():
        set_committed_value(thread, key, value)


def append_message(s: Session, thread: Thread, *, role: str, content: str = "", status: str = "complete",
                   person_id: int | None = None, run_id: int | None = None,
                   thread_fields: dict | None = None, reserve: int = 1, seq: int | None = None,
                   **fields) -> Message:
    """Add a message at the end of the thread (seq is the thread's running count).
    `thread_fields`: other columns of the thread to set in the same statement. `reserve`:
    seqs to take at once (this message gets the first; the caller writes the others in the
    same transaction, passing `seq`, which then takes none)."""
    if seq is None:
        # One atomic statement takes the next seq, even with another writer on the thread.
        # Plain statements on the session's connection: no autoflush of pending objects.
        count = s.connection().execute(_NEXT_SEQ, {"thread_id": thread.id, "n": reserve, "now": utcnow(),
                                                   **(thread_fields or {})}).scalar_one()
        seq = count - reserve + 1
        for key, value in {"message_count": count, **(thread_fields or {})}.items():
            set_committed_value(thread, key, value)  # the loaded object agrees, no reload
    values = dict(thread_id=thread.id, group_id=thread.group_id, seq=seq, role=role, content=content,
                  status=status, person_id=person_id, run_id=run_id, created_at=utcnow(), **fields)
    return Message(id=insert_row(s, Message, **values), **values)  # a detached copy of the row


HISTORY_ROLES = ("user", "assistant")


def open_thread(group_id: int, agent_id: int, person_id: int, title: str | None = None,
                first_message: str | None = None, *, history: Sequence[tuple[str, str]] = ()) -> Thread:
    """A new thread with an agent, titled after its first user turn when no title is given
    (starting a run on `first_message` is `runs.create_thread`). `history`: (role, text)
    turns, user or assistant, it starts with (a conversation carried in from elsewhere)."""
    history = clean_history(history)
    with session_scope() as s:
        return open_thread_in_session(s, group_id, agent_id, person_id, title, first_message, history=history)


def clean_history(history: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """A thread's opening turns, checked (before any transaction opens)."""
    for role, _ in history:
        if role not in HISTORY_ROLES:
            raise ValidationError(field_errors={"messages": f"A thread's earlier turns are user or assistant, not {role!r}."})
    return [(role, validate_message(text) if role == "user" else (text or "")) for role, text in history]


def open_thread_in_session(s: Session, group_id: int, agent_id: int, person_id: int, title: str | None,
                           first_message: str | None, *, history: Sequence[tuple[str, str]] = ()) -> Thread:
    """`open_thread` in the caller's transaction (a run start that opens its thread too);
    `history` already cleaned. Returns the row as a detached object."""
    require_access(s, person_id, group_id, "editor")
    agent = s.execute(_AGENT_OF_GROUP, {"agent_key": agent_id}).first() if isinstance(agent_id, int) else None
    if agent is None or agent.type != "agent" or agent.deleted_at or agent.group_id != group_id:
        raise AgentNotFound(f"Agent {agent_id} does not exist in this group.")
    if first_message is not None:
        first_message = validate_message(first_message)
    clean_title = (title or "").strip()[:200]
    opening = next((text for role, text in history if role == "user"), first_message)
    # A plain INSERT (every API call opens a thread), and the row as a detached object.
    now = utcnow()
    values = dict(group_id=group_id, agent_id=agent_id, person_id=person_id,
                  title=clean_title or (title_from(opening) if opening else "New thread"), archived=False,
                  status="idle", message_count=0, last_activity_at=now, created_at=now, kind=CHAT,
                  agent_version_id=None, overrides=None)
    thread = Thread(id=insert_row(s, Thread, **values), **values)
    make_transient_to_detached(thread)
    _groups_of_threads[thread.id] = group_id
    for role, text in history:
        append_message(s, thread, role=role, content=text, person_id=person_id if role == "user" else None)
    events.record(s, "thread_created", group_id=group_id, actor_id=person_id,
                  target_type="thread", target_id=thread.id, data={"agent_id": agent_id})
    return thread


def get_thread(actor_id: int, thread_id: int) -> Thread:
    with session_scope() as s:
        return load_thread(s, actor_id, thread_id)


def list_threads(actor_id: int, group_id: int, *, agent_id: int | None = None,
                 archived: bool = False, limit: int = 50, offset: int = 0) -> list[Thread]:
    """Newest activity first."""
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        q = select(Thread).where(Thread.group_id == group_id, Thread.kind == CHAT,
                                 Thread.archived == archived)
        if agent_id is not None:
            q = q.where(Thread.agent_id == agent_id)
        q = q.order_by(Thread.last_activity_at.desc(), Thread.id.desc()).limit(limit).offset(offset)
        return list(s.scalars(q))


def count_threads(actor_id: int, group_id: int, *, archived: bool = False) -> int:
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        return s.scalar(select(func.count()).select_from(Thread).where(
            Thread.group_id == group_id, Thread.kind == CHAT, Thread.archived == archived)) or 0


def rename_thread(actor_id: int, thread_id: int, title: str) -> Thread:
    title = (title or "").strip()
    if not title:
        raise ValidationError(field_errors={"title": "A title cannot be empty."})
    if len(title) > 200:
        raise ValidationError(field_errors={"title": "At most 200 characters."})
    with session_scope() as s:
        thread = load_thread(s, actor_id, thread_id, "editor")
        events.record(s, "thread_renamed", group_id=thread.group_id, actor_id=actor_id,
                      target_type="thread", target_id=thread_id, data={"from": thread.title, "to": title})
        thread.title = title
        return thread


def archive_thread(actor_id: int, thread_id: int, archived: bool = True) -> Thread:
    with session_scope() as s:
        thread = load_thread(s, actor_id, thread_id, "editor")
        if thread.archived != archived:
            thread.archived = archived
            events.record(s, "thread_archived" if archived else "thread_unarchived",
                          group_id=thread.group_id, actor_id=actor_id, target_type="thread",
                          target_id=thread_id)
        return thread


def unarchive_thread(actor_id: int, thread_id: int) -> Thread:
    return archive_thread(actor_id, thread_id, archived=False)


def get_thread_messages(thread_id: int, limit: int = 50, before: int | None = None, *,
                        actor_id: int) -> MessagePage:
    """The latest `limit` messages with seq < `before` (the newest page when None),
    returned oldest first; `has_older` says whether "load older" has more to show."""
    limit = max(1, min(int(limit), 500))
    with session_scope() as s:
        load_thread(s, actor_id, thread_id)
        q = select(Message).where(Message.thread_id == thread_id)
        if before is not None:
            q = q.where(Message.seq < before)
        rows = list(s.scalars(q.order_by(Message.seq.desc()).limit(limit + 1)))
        has_older = len(rows) > limit
        return MessagePage(messages=list(reversed(rows[:limit])), has_older=has_older)


def recent_messages(s: Session, thread_id: int, count: int) -> list:
    """The last `count` messages, oldest first (the context sent to the model): rows of only
    the columns a context needs (role, content, status, name, tool_call_id, tool_calls),
    read without building ORM objects, since this is on the way to every first token."""
    rows = s.execute(_RECENT, {"thread_id": thread_id, "count": count}).all()
    return rows[::-1]


_messages = Message.__table__
_RECENT = (select(_messages.c.role, _messages.c.content, _messages.c.status, _messages.c.name,
                  _messages.c.tool_call_id, _messages.c.tool_calls)
           .where(_messages.c.thread_id == bindparam("thread_id"))
           .order_by(_messages.c.seq.desc()).limit(bindparam("count")))


def count_messages(s: Session, thread_id: int) -> int:
    return s.scalar(select(func.count()).select_from(Message).where(Message.thread_id == thread_id)) or 0


def thread_titles(actor_id: int, group_id: int, thread_ids) -> dict[int, str]:
    """Titles of this group's threads among `thread_ids`, in one query (for links)."""
    ids = {i for i in thread_ids if isinstance(i, int)}
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        if not ids:
            return {}
        return dict(s.execute(select(Thread.id, Thread.title).where(
            Thread.group_id == group_id, Thread.id.in_(ids))).all())
