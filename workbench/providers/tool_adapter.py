"""Tool use for small local models that cannot follow the native tool-call protocol.

The built-in model (Qwen2.5-Coder-0.5B) picks the right tool with the right arguments but
writes the call as JSON text (bare, in a ```json fence, or in `<tool_call>` tags), which the
server's parser returns as plain text; and shown a tool result in a `tool` message it tends
to call the same tool again. So, only for providers that opt in (`ProviderConfig.adapt_tools`):

- `adapt_request`: tool calls and results become plain turns (the assistant says which
  tool it called; the results come back in a user turn asking for a reply from them), which
  the model answers from; and a request that ends with tool results offers no tools, so it
  answers instead of calling again.
- `ReplyFilter`: while a streamed reply could still be a JSON call it is held back; at the
  end it becomes real tool calls when it is one (naming offered tools), else the text."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import replace
from typing import Any

from .base import ChatRequest, ToolCallRequest

_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_FENCED = re.compile(r"^```[ \t]*(?:json)?[ \t]*\n?(.*?)\n?```$", re.DOTALL | re.IGNORECASE)
_CALL_OPENERS = ("{", "[", "```", "<tool_call>")
MAX_RESULT_CHARS = 6000  # one tool result in the context; a 4k-token slot holds ~12k chars
REPLY_ASK = "Reply to my message above using this result, in one or two plain sentences."


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, list):  # OpenAI content parts
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def _call_text(call: dict[str, Any]) -> tuple[str, str]:
    fn = call.get("function") or {}
    name = fn.get("name") or "a tool"
    return name, f"I called {name}({fn.get('arguments') or ''})."


def adapt_messages(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    """(messages without tool calls or tool messages, whether the conversation ends with
    tool results). A call becomes the assistant saying "I called name(args)."; its results
    come back in a user message that asks for a reply to the request from them (the form
    this model answers from best, measured on a few prompts; in `tool` messages it calls
    again)."""
    out: list[dict[str, Any]] = []
    results: list[str] = []
    names: dict[str, str] = {}  # tool call id -> tool name

    def flush() -> None:
        if results:
            out.append({"role": "user", "content": "\n".join(results) + "\n\n" + REPLY_ASK})
            results.clear()

    for message in messages:
        role = message.get("role")
        if role == "tool":
            result = _text(message.get("content"))
            if len(result) > MAX_RESULT_CHARS:
                result = result[:MAX_RESULT_CHARS] + " ..."
            name = names.get(message.get("tool_call_id", ""), message.get("name") or "The tool")
            results.append(f"{name} returned: {result}")
            continue
        flush()
        if role == "assistant" and message.get("tool_calls"):
            lines = [_text(message.get("content")).strip()]
            for call in message["tool_calls"]:
                names[call.get("id", "")], said = _call_text(call)
                lines.append(said)
            out.append({"role": "assistant", "content": "\n".join(x for x in lines if x)})
        else:
            out.append(dict(message))
    ends_with_results = bool(results)
    flush()
    return out, ends_with_results


def adapt_request(request: ChatRequest) -> ChatRequest:
    """The request as the small model should see it (idempotent)."""
    messages, had_results = adapt_messages(request.messages)
    return replace(request, messages=messages, tools=None if had_results else request.tools)


def _as_call(obj: Any, names: set[str]) -> ToolCallRequest | None:
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("function"), dict):  # {"type": "function", "function": {...}}
        obj = obj["function"]
    name = obj.get("name")
    args = obj.get("arguments", obj.get("parameters", {}))
    if not isinstance(name, str) or name not in names:
        return None
    if isinstance(args, str):
        try:
            args = json.loads(args or "{}")
        except ValueError:
            return None
    if not isinstance(args, dict):
        return None
    return ToolCallRequest(id=f"call_{uuid.uuid4().hex[:24]}", name=name,
                           arguments=json.dumps(args, ensure_ascii=False))


def _load_calls(text: str, names: set[str]) -> list[ToolCallRequest] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    items = data if isinstance(data, list) else [data]
    calls = [_as_call(item, names) for item in items]
    if not calls or any(c is None for c in calls):
        return None
    return calls  # type: ignore[return-value]


def parse_tool_calls(text: str, tool_names: set[str] | list[str]) -> list[ToolCallRequest]:
    """The tool calls `text` consists of, or [] when it is anything else: a reply that is
    only JSON (bare, fenced, or in `<tool_call>` tags) naming offered tools."""
    names, stripped = set(tool_names), text.strip()
    if not names or not stripped:
        return []
    if stripped.startswith("<tool_call>"):
        bodies = _TAGGED.findall(stripped)
        leftover = _TAGGED.sub("", stripped).strip()
        calls = [_load_calls(_FENCED.sub(r"\1", b.strip()), names) for b in bodies]
        if leftover or not bodies or any(c is None for c in calls):
            return []
        return [call for group in calls for call in group]  # type: ignore[union-attr]
    fenced = _FENCED.match(stripped)
    return _load_calls(fenced.group(1) if fenced else stripped, names) or []


def _could_be_call(text: str) -> bool:
    """Whether a reply starting with `text` (left-stripped) may still turn out a call."""
    if any(text.startswith(o) or o.startswith(text) for o in _CALL_OPENERS):
        if text.startswith("```") and "\n" in text:  # a fence: only ```json or bare ``` may
            tag = text[3:text.index("\n")].strip().lower()
            return tag in ("", "json")
        return True
    return False


class ReplyFilter:
    """Holds back a streamed reply while it could be a JSON tool call."""

    def __init__(self, tool_names: set[str] | list[str]):
        self.names = set(tool_names)
        self.held = ""
        self.holding = bool(self.names)

    def feed(self, delta: str) -> str:
        """The text to show now (maybe "")."""
        if not self.holding:
            return delta
        self.held += delta
        start = self.held.lstrip()
        if not start or _could_be_call(start):
            return ""
        self.holding, text, self.held = False, self.held, ""
        return text

    def finish(self) -> tuple[str, list[ToolCallRequest]]:
        """(text still to show, tool calls) once the reply is complete."""
        text, self.held, self.holding = self.held, "", False
        calls = parse_tool_calls(text, self.names) if text else []
        return ("", calls) if calls else (text, [])


def tool_names(tools: list[dict[str, Any]] | None) -> set[str]:
    return {t.get("function", {}).get("name", "") for t in tools or []} - {""}
