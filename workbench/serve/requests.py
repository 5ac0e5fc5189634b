"""What an OpenAI-style chat completion request asks of an agent, checked field by field.

An agent is called as it was designed and tested: its own system prompt, model, tools and
settings apply. Fields that would make the call another agent (REFUSED) get a 400 naming
them; sampling fields the agent's settings decide (IGNORED) are accepted and ignored, and the
answer says which were (the `X-Workbench-Ignored` header)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Would change what the agent is: its tools, its output format, its instructions.
REFUSED = ("tools", "tool_choice", "functions", "function_call", "parallel_tool_calls", "response_format")
# Decided by the agent's version (temperature, max output tokens) or meaningless here.
IGNORED = ("temperature", "top_p", "max_tokens", "max_completion_tokens", "presence_penalty",
           "frequency_penalty", "seed", "stop", "logit_bias", "user", "service_tier", "store",
           "reasoning_effort", "prediction", "modalities", "audio", "top_logprobs", "web_search_options")
KNOWN = ("model", "messages", "stream", "stream_options", "metadata", "n", "logprobs") + REFUSED + IGNORED
MAX_MESSAGES = 1000


class BadRequest(Exception):
    """A request the API refuses with 400; `param` names the field."""

    def __init__(self, message: str, param: str | None = None, code: str = "invalid_request"):
        super().__init__(message)
        self.message, self.param, self.code = message, param, code


@dataclass(frozen=True)
class ChatCall:
    model: str
    turns: list[tuple[str, str]]  # (role, text), oldest first; the last is the user's new message
    stream: bool = False
    include_usage: bool = False
    thread_id: int | None = None
    ignored: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        return self.turns[-1][1]

    @property
    def history(self) -> list[tuple[str, str]]:
        return self.turns[:-1]


def _text_of(content: Any, where: str) -> str:
    """A message's text: a string, or a list of text parts (the newer content shape)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for i, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise BadRequest(f"Only text content is accepted; {where}.content[{i}] is {kind!r}.",
                                 f"{where}.content[{i}]")
            parts.append(part["text"])
        return "".join(parts)
    if content is None:
        raise BadRequest(f"{where}.content is missing.", f"{where}.content")
    raise BadRequest(f"{where}.content must be a string or a list of text parts.", f"{where}.content")


def _turns(messages: Any) -> list[tuple[str, str]]:
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages must be a non-empty list of {role, content} objects.", "messages")
    if len(messages) > MAX_MESSAGES:
        raise BadRequest(f"At most {MAX_MESSAGES} messages per request; continue a thread with "
                         "metadata.thread_id instead of resending it.", "messages")
    turns = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise BadRequest(f"{where} must be an object with role and content.", where)
        role = message.get("role")
        if role in ("system", "developer"):
            raise BadRequest(f"{where} is a {role} message: the agent's own system prompt applies, as "
                             "tested; change it on the Agents page (a new version).", f"{where}.role")
        if role in ("tool", "function") or message.get("tool_calls"):
            raise BadRequest(f"{where} carries tool traffic: the agent runs its own tools on the server, "
                             "so a call sends only user and assistant text.", f"{where}.role")
        if role not in ("user", "assistant"):
            raise BadRequest(f"{where}.role must be user or assistant.", f"{where}.role")
        turns.append((role, _text_of(message.get("content"), where)))
    if turns[-1][0] != "user":
        raise BadRequest(f"The last message (messages[{len(turns) - 1}]) must be the user's: it is what the "
                         "agent answers.", f"messages[{len(turns) - 1}].role")
    if not turns[-1][1].strip():
        raise BadRequest(f"messages[{len(turns) - 1}].content is empty.", f"messages[{len(turns) - 1}].content")
    return turns


def _thread_id(metadata: Any) -> int | None:
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise BadRequest("metadata must be an object of strings.", "metadata")
    value = metadata.get("thread_id")
    if value is None or value == "":
        return None
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or len(text) > 18:
        raise BadRequest("metadata.thread_id must be a thread id, as returned in thread_id.", "metadata.thread_id")
    return int(text)


def parse_chat_request(body: Any) -> ChatCall:
    """The call a request body asks for, or BadRequest naming the first wrong field."""
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    refused = [name for name in REFUSED if body.get(name) is not None]
    if refused:
        raise BadRequest(
            f"Refused: {', '.join(refused)}. These would make the call another agent than the one tested; "
            "the agent's own tools and settings apply (change them on the Agents page).", refused[0],
            "refused_field")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise BadRequest("model must name an agent: its id or exact name, optionally @version or @label "
                         "(12, 12@3, 12@production).", "model")
    stream = body.get("stream", False)
    if stream is not None and not isinstance(stream, bool):
        raise BadRequest("stream must be true or false.", "stream")
    options = body.get("stream_options")
    if options is not None and (not isinstance(options, dict) or not isinstance(options.get("include_usage", False), bool)):
        raise BadRequest("stream_options must be an object like {\"include_usage\": true}.", "stream_options")
    if options is not None and not stream:
        raise BadRequest("stream_options is only allowed with stream: true.", "stream_options")
    n = body.get("n")
    if n is not None and n != 1:
        raise BadRequest("n must be 1: an agent gives one answer per call.", "n")
    if body.get("logprobs"):
        raise BadRequest("logprobs are not available: an answer may come from several model calls.", "logprobs")
    return ChatCall(model=model.strip(), turns=_turns(body.get("messages")), stream=bool(stream),
                    include_usage=bool((options or {}).get("include_usage")), thread_id=_thread_id(body.get("metadata")),
                    ignored=[name for name in IGNORED if body.get(name) is not None])
