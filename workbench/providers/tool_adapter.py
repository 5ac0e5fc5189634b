"""Tool results for small local models that cannot follow the tool-call protocol.

Shown a result in a `tool` message, the built-in model (Qwen2.5-Coder-0.5B) tends to call
the same tool again; it answers from a result given as context in a user turn. So, only for
providers that opt in (`ProviderConfig.adapt_tools`), `adapt_request` turns tool calls and
results into plain turns: the assistant says which tool it called, and the results come
back in a user turn asking for a reply from them; a request that ends with results offers
no tools, so the model answers. Search results (a JSON list of passages with titles) come
back as numbered passages with their titles, with the ask to answer from them only and to
say so when they do not hold the answer (not yet compared with other forms on a set of
questions). Whether to call a tool at all is tool_decision's business."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from .base import ChatRequest

MAX_RESULT_CHARS = 6000  # one tool result in the context; a 4k-token slot holds ~12k chars
REPLY_ASK = "Reply to my message above using this result, in one or two plain sentences."
PASSAGES_ASK = ("Answer my message above from these passages only, and name the title of the "
                "passage you used. If they do not hold the answer, say that you do not know.")


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, list):  # OpenAI content parts
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def passages(result: str) -> list[dict[str, Any]] | None:
    """The passages a search result holds (a JSON list of objects with a title and a text,
    like search_knowledge's), or None when it is some other result."""
    try:
        data = json.loads(result)
    except ValueError:
        return None
    if isinstance(data, list) and all(
            isinstance(item, dict) and "title" in item and "text" in item for item in data):
        return data
    return None


def result_text(name: str, result: str) -> tuple[str, bool]:
    """(how a tool result is given to the model, whether it is a set of passages)."""
    found = passages(result)
    if found is None:
        if len(result) > MAX_RESULT_CHARS:
            result = result[:MAX_RESULT_CHARS] + " ..."
        return f"{name} returned: {result}", False
    if not found:
        return f"{name} found no passages.", True
    lines, size = [f"{name} found these passages:"], 0
    for number, item in enumerate(found, 1):
        line = f"[{number}] {item['title']}: {' '.join(str(item['text']).split())}"
        size += len(line)
        if size > MAX_RESULT_CHARS:
            break
        lines.append(line)
    return "\n".join(lines), True


def _call_text(call: dict[str, Any]) -> tuple[str, str]:
    fn = call.get("function") or {}
    name = fn.get("name") or "a tool"
    return name, f"I called {name}({fn.get('arguments') or ''})."


def adapt_messages(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    """(messages without tool calls or tool messages, whether the conversation ends with
    tool results). A call becomes the assistant saying "I called name(args)."; its results
    come back in a user message that asks for a reply to the request from them (in `tool`
    messages this model calls again)."""
    out: list[dict[str, Any]] = []
    results: list[str] = []
    grounded = False  # some result is a set of passages: answer from them only
    names: dict[str, str] = {}  # tool call id -> tool name

    def flush() -> None:
        nonlocal grounded
        if results:
            ask = PASSAGES_ASK if grounded else REPLY_ASK
            out.append({"role": "user", "content": "\n\n".join(results) + "\n\n" + ask})
            results.clear()
            grounded = False

    for message in messages:
        role = message.get("role")
        if role == "tool":
            name = names.get(message.get("tool_call_id", ""), message.get("name") or "The tool")
            text, are_passages = result_text(name, _text(message.get("content")))
            results.append(text)
            grounded = grounded or are_passages
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
    """The request as the small model should see it (idempotent): after tool results it
    is told to answer (`tool_choice` "none")."""
    messages, had_results = adapt_messages(request.messages)
    return replace(request, messages=messages,
                   tool_choice="none" if had_results else request.tool_choice)
