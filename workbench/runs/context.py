"""The context sent to the model: the agent's system prompt and the thread's recent
messages as OpenAI chat dicts, built with langchain-core messages."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import (AIMessage, HumanMessage, SystemMessage, ToolMessage,
                                     convert_to_openai_messages)
from sqlalchemy.orm import Session

from ..agents.definitions import AgentConfig
from ..threads.store import recent_messages


def build_context(s: Session, thread_id: int, cfg: AgentConfig,
                  pending_user: str | None = None) -> list[dict[str, Any]]:
    """System prompt plus the last `context_messages` messages, as OpenAI chat dicts built
    with langchain-core. A window never starts on a tool result whose call was cut off.
    `pending_user`: a user message about to be written, counted as the newest."""
    stored = cfg.context_messages - (pending_user is not None)
    rows = [m for m in (recent_messages(s, thread_id, stored) if stored > 0 else [])
            if m.status != "streaming"]
    while rows and rows[0].role == "tool":
        rows.pop(0)
    msgs: list = [SystemMessage(cfg.system_prompt)] if cfg.system_prompt else []
    for m in rows:
        if m.role == "user":
            msgs.append(HumanMessage(m.content))
        elif m.role == "assistant":
            if not m.content and not m.tool_calls:
                continue  # a failed reply with nothing in it
            calls = [{"id": c["id"], "name": c["name"], "args": parse_arguments(c["arguments"])}
                     for c in (m.tool_calls or [])]
            msgs.append(AIMessage(m.content or "", tool_calls=calls))
        elif m.role == "tool":
            msgs.append(ToolMessage(m.content, tool_call_id=m.tool_call_id or "", name=m.name))
        elif m.role == "human":
            msgs.append(AIMessage(f"[A human agent, {m.name or 'staff'}, replied]: {m.content}"))
    if pending_user is not None:
        msgs.append(HumanMessage(pending_user))
    return convert_to_openai_messages(msgs)


def parse_arguments(text: str) -> dict[str, Any]:
    try:  # strict JSON: NaN or Infinity from a model cannot be stored in a PostgreSQL JSON column
        value = json.loads(text or "{}", parse_constant=_not_json)
        return value if isinstance(value, dict) else {"value": value}
    except ValueError:
        return {"_raw": text}


def _not_json(constant: str):
    raise ValueError(f"{constant} is not JSON")
