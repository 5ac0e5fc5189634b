"""A variant is an agent at a version plus optional unsaved edits (prompt, provider and
model, temperature, max output tokens, tools). `run_variant` runs one variant on an input
conversation as an ordinary run (tools, knowledge, trace, usage, budget and rate limits
apply) and returns its result; comparisons and experiments build on it.

Each variant run gets its own hidden thread (kind "playground", off the Chat list): the
input conversation is written into it, the thread pins the version and the edits, and the
run loop runs on it exactly as on a chat thread."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import agents
from ..agents.versions import version_in_session
from ..db import session_scope
from ..errors import AgentNotFound, ValidationError
from ..models import AgentVersion, Message, Run, RunStep, Thing, Thread
from ..runs.lifecycle import RunHandle, admit_run, launch, open_run, start_transaction
from ..runs.plan import SINGLE_CALL
from ..tenancy.access import require_access
from ..threads.store import MAX_MESSAGE_CHARS, PLAYGROUND, append_message, title_from

OVERRIDABLE = ("system_prompt", "provider_id", "model", "temperature", "max_output_tokens", "tools")
ROLES = ("system", "user", "assistant", "tool")
MAX_TURNS = 100


@dataclass
class Variant:
    agent_id: int
    version: int | None = None  # None: the agent's latest version
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> str:
        return f"{self.agent_id}" + (f"@{self.version}" if self.version is not None else "")


@dataclass
class VariantResult:
    """What one variant run produced. Times in ms; cost in USD."""

    run_id: int | None
    thread_id: int | None
    status: str  # complete | failed | cancelled | interrupted | running | refused
    reply: str
    error: str | None = None
    ttft_ms: float | None = None
    duration_ms: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # of the last model call

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def parse_variant(spec: str) -> Variant:
    """"12" or "12@3" (agent 12 at version 3)."""
    agent, _, version = str(spec).strip().partition("@")
    try:
        return Variant(agent_id=int(agent), version=int(version) if version else None)
    except ValueError:
        raise ValidationError(field_errors={"agent": f"{spec!r} is not AGENT_ID or AGENT_ID@VERSION."}) from None


def clean_conversation(conversation: str | list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The input as OpenAI-style message dicts: one message (a string) or several turns.
    A system message may only come first; it replaces the agent's system prompt."""
    turns = [{"role": "user", "content": conversation}] if isinstance(conversation, str) or \
        conversation is None else list(conversation)
    out: list[dict[str, Any]] = []
    for i, turn in enumerate(turns):
        role = str(turn.get("role") or "")
        if role not in ROLES:
            raise ValidationError(field_errors={"message": f"Turn {i + 1} has an unknown role {role!r}."})
        if role == "system" and i:
            raise ValidationError(field_errors={"message": "A system message can only come first."})
        content = turn.get("content") or ""
        content = content if isinstance(content, str) else json.dumps(content)
        if len(content) > MAX_MESSAGE_CHARS:
            raise ValidationError(field_errors={"message": f"Turn {i + 1} is longer than "
                                                           f"{MAX_MESSAGE_CHARS:,} characters."})
        msg = {"role": role, "content": content}
        if role == "assistant" and turn.get("tool_calls"):
            msg["tool_calls"] = [_call(c) for c in turn["tool_calls"]]
        if role == "tool":
            msg["tool_call_id"] = str(turn.get("tool_call_id") or "")
            msg["name"] = turn.get("name")
        out.append(msg)
    sent = [m for m in out if m["role"] != "system"]
    if not sent or not any(m["content"].strip() for m in sent if m["role"] in ("user", "tool")):
        raise ValidationError(field_errors={"message": "Write a message first."})
    if len(out) > MAX_TURNS:
        raise ValidationError(field_errors={"message": f"At most {MAX_TURNS} turns."})
    if sent[-1]["role"] not in ("user", "tool"):
        raise ValidationError(field_errors={"message": "The conversation must end with a user message "
                                                       "(or a tool result) for the agent to answer."})
    return out


def _call(c: dict[str, Any]) -> dict[str, Any]:
    """A tool call as stored on a message: {id, name, arguments (JSON text)}."""
    fn = c.get("function") or {}
    args = fn.get("arguments", c.get("arguments", "{}"))
    return {"id": str(c.get("id") or ""), "name": str(fn.get("name") or c.get("name") or ""),
            "arguments": args if isinstance(args, str) else json.dumps(args)}


def resolve_in_session(s: Session, group_id: int, variant: Variant) -> tuple[Thing, AgentVersion, dict]:
    """The variant's agent (of this group), version and validated edits; the edits kept are
    only those that differ from the version."""
    agent = s.get(Thing, variant.agent_id) if isinstance(variant.agent_id, int) else None
    if agent is None or agent.type != "agent" or agent.deleted_at or agent.group_id != group_id:
        raise AgentNotFound(f"Agent {variant.agent_id} does not exist in this group.")
    version = version_in_session(s, agent.id, variant.version)
    overrides = dict(variant.overrides or {})
    unknown = sorted(set(overrides) - set(OVERRIDABLE))
    if unknown:
        raise ValidationError(field_errors={"overrides": f"These settings cannot be edited here: "
                                                         f"{', '.join(unknown)}."})
    cfg = agents.validate(s, group_id, {**version.config, **overrides})
    merged = asdict(cfg)
    kept = {k: merged[k] for k in overrides if merged[k] != version.config.get(k)}
    return agent, version, kept


def open_variant_run(s: Session, actor_id: int, group_id: int, variant: Variant,
                     conversation: list[dict[str, Any]], *, single_call: bool = False,
                     kind: str = PLAYGROUND) -> Run:
    """In the caller's transaction: the variant's hidden thread with the conversation
    written into it, and an admitted run on it (launch it after the commit). `kind` marks
    the thread (experiments use their own, so usage can split their spend out)."""
    agent, version, overrides = resolve_in_session(s, group_id, variant)
    admit_run(s, group_id, actor_id)  # before any write: a refusal is recorded on its own
    run_overrides = dict(overrides)
    if conversation and conversation[0]["role"] == "system":
        if conversation[0]["content"] != version.config.get("system_prompt"):
            run_overrides["system_prompt"] = conversation[0]["content"]
        conversation = conversation[1:]
    window = int(version.config.get("context_messages") or 20)
    if len(conversation) > window:  # the whole input is sent, plus room for tool rounds
        steps = int(version.config.get("max_tool_steps") or 8)
        run_overrides["context_messages"] = min(500, len(conversation) + 2 * steps + 2)
    if single_call:
        run_overrides[SINGLE_CALL] = True
    first_user = next((m["content"] for m in conversation if m["role"] == "user"), "Playground")
    thread = Thread(group_id=group_id, agent_id=agent.id, person_id=actor_id, kind=kind,
                    title=title_from(first_user)[:200], agent_version_id=version.id,
                    overrides=run_overrides or None)
    s.add(thread)
    s.flush()
    last_user_id = None
    for m in conversation:
        msg = append_message(s, thread, role=m["role"], content=m["content"],
                             person_id=actor_id if m["role"] == "user" else None,
                             tool_calls=m.get("tool_calls") or None,
                             tool_call_id=m.get("tool_call_id"), name=m.get("name"))
        if m["role"] == "user":
            last_user_id = msg.id
    return open_run(s, thread, actor_id, last_user_id)


def start_variant(actor_id: int, group_id: int, variant: Variant,
                  conversation: str | list[dict[str, Any]], *, single_call: bool = False,
                  kind: str = PLAYGROUND) -> RunHandle:
    """Start one variant on the conversation; returns the run's live handle."""
    turns = clean_conversation(conversation)

    def start(s):
        require_access(s, actor_id, group_id, "editor")
        return open_variant_run(s, actor_id, group_id, variant, turns, single_call=single_call, kind=kind)

    return launch(start_transaction(group_id if isinstance(group_id, int) else None, start))


def run_variant(actor_id: int, group_id: int, variant: Variant,
                conversation: str | list[dict[str, Any]], *, timeout: float | None = 600) -> VariantResult:
    """Run one variant on the conversation and wait for it: what experiments call."""
    handle = start_variant(actor_id, group_id, variant, conversation)
    handle.wait(timeout)
    with session_scope() as s:
        return result_in_session(s, handle.run_id)


def result_in_session(s: Session, run_id: int | None) -> VariantResult:
    """A run's result as far as it has got (a running run shows what streamed so far)."""
    run = s.get(Run, run_id) if run_id else None
    if run is None:
        return VariantResult(run_id=None, thread_id=None, status="refused", reply="")
    last = s.scalar(select(Message).where(Message.run_id == run.id, Message.role == "assistant")
                    .order_by(Message.seq.desc()).limit(1))
    ttft = s.scalar(select(RunStep.ttft_ms).where(RunStep.run_id == run.id, RunStep.kind == "model_call")
                    .order_by(RunStep.seq).limit(1))
    tin, tout = run.input_tokens, run.output_tokens
    if run.status == "running":  # totals are written at the end: count the steps so far
        tin, tout = s.execute(select(func.coalesce(func.sum(RunStep.input_tokens), 0),
                                     func.coalesce(func.sum(RunStep.output_tokens), 0))
                              .where(RunStep.run_id == run.id)).one()
    error = run.error_message or ((last.data or {}).get("error") if last is not None else None)
    return VariantResult(run_id=run.id, thread_id=run.thread_id, status=run.status,
                         reply=last.content if last is not None else "", error=error, ttft_ms=ttft,
                         duration_ms=run.duration_ms, input_tokens=int(tin), output_tokens=int(tout),
                         cost_usd=run.cost_usd or 0.0,
                         tool_calls=list(last.tool_calls or []) if last is not None else [])
