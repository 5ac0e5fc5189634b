"""Replay a thread on another agent version or model: its user turns are sent again, in
order, into a new thread pinned to that variant and linked to the original (a connection
of type replay_of). The two threads can then be read side by side, turn by turn, with
tokens and cost per turn."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import events
from ..db import session_scope
from ..errors import ValidationError, WorkbenchError
from ..models import Connection, Message, Run, Thread
from ..runs.lifecycle import continue_thread
from ..threads.store import CHAT, load_thread
from .variants import Variant, resolve_in_session

REPLAY_OF = "replay_of"
_DRIVING: set[int] = set()  # replays whose turns are still being sent by this process
_driving_lock = threading.Lock()


@dataclass
class TurnResult:
    run_id: int | None
    status: str
    reply: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    duration_ms: float | None = None


@dataclass
class TurnPair:
    index: int
    user: str
    original: TurnResult | None
    replay: TurnResult | None


@dataclass
class ReplayView:
    original_thread_id: int
    replay_thread_id: int
    turns: list[TurnPair] = field(default_factory=list)
    running: bool = False


def _user_turns(s: Session, thread_id: int) -> list[Message]:
    return list(s.scalars(select(Message).where(Message.thread_id == thread_id, Message.role == "user")
                          .order_by(Message.seq)))


def replay_thread(actor_id: int, thread_id: int, variant: Variant | None = None, *, wait: bool = True,
                  turn_timeout: float = 600) -> int:
    """Send the thread's user turns again into a new thread on `variant` (default: the
    thread's agent at its latest version). Returns the new thread's id; with wait=False the
    turns run in the background, one after another."""
    with session_scope() as s:
        original = load_thread(s, actor_id, thread_id, "editor")
        variant = variant or Variant(agent_id=original.agent_id)
        agent, version, overrides = resolve_in_session(s, original.group_id, variant)
        turns = [m.content for m in _user_turns(s, original.id)]
        if not turns:
            raise ValidationError("This thread has no user messages to replay.")
        label = f"v{version.version}" + (" + edits" if overrides else "")
        replay = Thread(group_id=original.group_id, agent_id=agent.id, person_id=actor_id, kind=CHAT,
                        title=f"Replay of {original.title}"[:190] + f" ({label})",
                        agent_version_id=version.id, overrides=overrides or None)
        s.add(replay)
        s.flush()
        s.add(Connection(group_id=original.group_id, type=REPLAY_OF, source_type="thread",
                         source_id=replay.id, target_type="thread", target_id=original.id,
                         data={"agent_id": agent.id, "version": version.version, "overrides": overrides}))
        events.record(s, "thread_replayed", group_id=original.group_id, actor_id=actor_id,
                      target_type="thread", target_id=replay.id,
                      data={"original_thread_id": original.id, "agent_id": agent.id,
                            "version": version.version, "turns": len(turns)})
        replay_id = replay.id

    def drive() -> None:
        try:
            for text in turns:
                try:
                    continue_thread(replay_id, text, actor_id).wait(turn_timeout)
                except WorkbenchError:
                    break  # refused (budget, rate limit, archived): the turns so far stay
        finally:
            with _driving_lock:
                _DRIVING.discard(replay_id)

    with _driving_lock:
        _DRIVING.add(replay_id)

    if wait:
        drive()
    else:
        threading.Thread(target=drive, name=f"replay-{replay_id}", daemon=True).start()
    return replay_id


def replay_source(actor_id: int, thread_id: int) -> int | None:
    """The thread this one replays, if it is a replay."""
    with session_scope() as s:
        thread = load_thread(s, actor_id, thread_id)
        return s.scalar(select(Connection.target_id).where(
            Connection.group_id == thread.group_id, Connection.type == REPLAY_OF,
            Connection.source_type == "thread", Connection.source_id == thread.id).limit(1))


def _results(s: Session, thread_id: int) -> list[tuple[str, TurnResult | None]]:
    """(user text, the latest run answering it) for every user turn of the thread."""
    out = []
    for msg in _user_turns(s, thread_id):
        run = s.scalar(select(Run).where(Run.thread_id == thread_id, Run.user_message_id == msg.id)
                       .order_by(Run.id.desc()).limit(1))
        if run is None:
            out.append((msg.content, None))
            continue
        reply = s.scalar(select(Message).where(Message.run_id == run.id, Message.role == "assistant")
                         .order_by(Message.seq.desc()).limit(1))
        text = reply.content if reply is not None else ""
        if run.status == "failed" and not text:
            text = run.error_message or ""
        out.append((msg.content, TurnResult(run_id=run.id, status=run.status, reply=text,
                                            input_tokens=run.input_tokens, output_tokens=run.output_tokens,
                                            cost_usd=run.cost_usd or 0.0, duration_ms=run.duration_ms)))
    return out


def compare_replay(actor_id: int, replay_thread_id: int) -> ReplayView:
    """The original and the replay side by side, turn by turn."""
    with session_scope() as s:
        replay = load_thread(s, actor_id, replay_thread_id)
        original_id = s.scalar(select(Connection.target_id).where(
            Connection.group_id == replay.group_id, Connection.type == REPLAY_OF,
            Connection.source_type == "thread", Connection.source_id == replay.id).limit(1))
        if original_id is None:
            raise ValidationError(f"Thread {replay_thread_id} is not a replay.")
        original, again = _results(s, original_id), _results(s, replay.id)
        with _driving_lock:
            driving = replay.id in _DRIVING
        pending = driving or any(r is not None and r.status == "running" for _, r in again)
        turns = [TurnPair(index=i, user=text, original=result,
                          replay=again[i][1] if i < len(again) else None)
                 for i, (text, result) in enumerate(original)]
        return ReplayView(original_thread_id=original_id, replay_thread_id=replay.id, turns=turns,
                          running=pending)
