"""The tool-call adapter for small local models (providers/tool_adapter.py): JSON written
as text becomes a real tool call only when it is one, and tool results come back to the
model as context it answers from."""

from __future__ import annotations

import json

import pytest

from tests.scripted_openai import text
from workbench.providers.base import ChatRequest, Completed, ProviderConfig, TextDelta
from workbench.providers.openai_compat import OpenAICompatibleProvider
from workbench.providers.tool_adapter import (
    REPLY_ASK,
    ReplyFilter,
    adapt_messages,
    adapt_request,
    parse_tool_calls,
)

NAMES = {"create_task", "search_knowledge"}
CALL = '{"name": "create_task", "arguments": {"title": "Buy milk", "notes": "tomorrow"}}'
TOOLS = [{"type": "function", "function": {"name": n, "parameters": {"type": "object"}}}
         for n in sorted(NAMES)]


def _only_call(reply: str) -> tuple[str, dict]:
    calls = parse_tool_calls(reply, NAMES)
    assert len(calls) == 1
    assert calls[0].id.startswith("call_")
    return calls[0].name, json.loads(calls[0].arguments)


@pytest.mark.parametrize("reply", [
    CALL,
    f"  \n{CALL}\n",
    f"```json\n{CALL}\n```",
    f"```\n{CALL}\n```",
    f"<tool_call>\n{CALL}\n</tool_call>",
    f"<tool_call>\n```json\n{CALL}\n```\n</tool_call>",
    f"<tool_call>{CALL}",  # the closing tag cut off by the token limit
    '{"name": "create_task", "arguments": "{\\"title\\": \\"Buy milk\\", \\"notes\\": \\"tomorrow\\"}"}',
    '{"type": "function", "function": {"name": "create_task", "parameters": '
    '{"title": "Buy milk", "notes": "tomorrow"}}}',
])
def test_json_tool_calls_written_as_text_are_recognised(reply):
    assert _only_call(reply) == ("create_task", {"title": "Buy milk", "notes": "tomorrow"})


def test_several_calls_in_tags_or_a_list():
    two = f"<tool_call>{CALL}</tool_call>\n<tool_call>" \
          '{"name": "search_knowledge", "arguments": {"query": "milk"}}</tool_call>'
    assert [c.name for c in parse_tool_calls(two, NAMES)] == ["create_task", "search_knowledge"]
    assert len(parse_tool_calls(f"[{CALL}, {CALL}]", NAMES)) == 2


@pytest.mark.parametrize("reply", [
    '{"name": "delete_everything", "arguments": {}}',  # not an offered tool
    f'[{CALL}, {{"name": "nope", "arguments": {{}}}}]',  # one unknown name: all text
    '{"name": "create_task", "arguments": {"title": "Buy milk"',  # malformed (cut off)
    "{name: create_task}",  # not JSON
    '{"title": "Buy milk"}',  # JSON, but no call
    '{"name": "create_task", "arguments": [1, 2]}',  # arguments not an object
    f"Sure! {CALL}",  # a call inside prose stays prose
    f"<tool_call>{CALL}</tool_call> and then some text",
    "```python\nprint('hi')\n```",
    "Paris is the capital of France.",
    "",
])
def test_anything_else_stays_text(reply):
    assert parse_tool_calls(reply, NAMES) == []


def test_no_tools_offered_means_no_calls():
    assert parse_tool_calls(CALL, set()) == []


def _stream(filter_: ReplyFilter, pieces: list[str]) -> tuple[list[str], str, list]:
    shown = [out for p in pieces if (out := filter_.feed(p))]
    rest, calls = filter_.finish()
    return shown, rest, calls


def test_reply_filter_holds_back_a_json_call_and_shows_nothing():
    pieces = ["```", "json\n{", '"name": "create_task", ', '"arguments": {"title": "x"}}', "\n```"]
    shown, rest, calls = _stream(ReplyFilter(NAMES), pieces)
    assert shown == [] and rest == "" and [c.name for c in calls] == ["create_task"]


def test_reply_filter_streams_prose_at_once():
    shown, rest, calls = _stream(ReplyFilter(NAMES), ["\n", "Paris", " is the", " capital."])
    assert shown == ["\nParis", " is the", " capital."] and rest == "" and calls == []


def test_reply_filter_releases_a_code_fence_that_is_not_json():
    f = ReplyFilter(NAMES)
    assert f.feed("``") == "" and f.feed("`python") == ""
    assert f.feed("\nprint(1)") == "```python\nprint(1)" and f.feed("\n```") == "\n```"


def test_reply_filter_gives_back_json_that_is_not_a_call_as_text():
    shown, rest, calls = _stream(ReplyFilter(NAMES), ['{"answer"', ": 42}"])
    assert shown == [] and rest == '{"answer": 42}' and calls == []
    assert _stream(ReplyFilter(set()), ["{", "}"]) == (["{", "}"], "", [])  # no tools: no hold


def _turn_with_results() -> list[dict]:
    return [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Old question"},
        {"role": "assistant", "content": "Old answer"},
        {"role": "user", "content": "What does the handbook say about leave?"},
        {"role": "assistant", "content": None, "tool_calls": [{
            "id": "c1", "type": "function",
            "function": {"name": "search_knowledge", "arguments": '{"query": "leave"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "Staff get 31 days of leave."},
    ]


def test_tool_results_come_back_as_a_user_turn_and_tools_are_withdrawn():
    request = ChatRequest(model="m", messages=_turn_with_results(), tools=TOOLS)
    adapted = adapt_request(request)
    assert adapted.tools is None  # it answers now instead of calling again
    assert adapted.messages[3:] == [
        {"role": "user", "content": "What does the handbook say about leave?"},
        {"role": "assistant", "content": 'I called search_knowledge({"query": "leave"}).'},
        {"role": "user", "content": f"search_knowledge returned: Staff get 31 days of leave."
                                    f"\n\n{REPLY_ASK}"}]
    assert adapt_request(adapted) == adapted  # idempotent: the runtime and provider both apply it
    assert request.messages == _turn_with_results()  # the original is not changed


def test_earlier_turns_stay_adapted_and_a_new_question_keeps_the_tools():
    messages = _turn_with_results() + [
        {"role": "assistant", "content": "31 days."},
        {"role": "user", "content": "And sick days?"},
    ]
    adapted, ends_with_results = adapt_messages(messages)
    assert not ends_with_results
    assert [m["role"] for m in adapted] == ["system", "user", "assistant", "user", "assistant",
                                            "user", "assistant", "user"]
    assert not any("tool_calls" in m or m["role"] == "tool" for m in adapted)
    assert adapted[-1] == {"role": "user", "content": "And sick days?"}
    assert adapt_request(ChatRequest(model="m", messages=messages, tools=TOOLS)).tools == TOOLS


def test_long_results_are_cut():
    messages = _turn_with_results()
    messages[-1]["content"] = "x" * 50_000
    adapted, _ = adapt_messages(messages)
    assert len(adapted[-1]["content"]) < 7000


def _provider(openai_server, adapt: bool) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(ProviderConfig(
        name="Small", kind="openai_compatible", base_url=openai_server.base_url,
        adapt_tools=adapt))


def test_provider_turns_a_streamed_json_reply_into_a_tool_call(openai_server):
    openai_server.script(text(f"```json\n{CALL}\n```", chunk_size=5))
    request = ChatRequest(model="m", messages=[{"role": "user", "content": "Task: buy milk"}],
                          tools=TOOLS)
    events = list(_provider(openai_server, True).stream_chat(request))
    assert not [e for e in events if isinstance(e, TextDelta)]  # never shown as text
    response = events[-1].response
    assert isinstance(events[-1], Completed) and response.content == ""
    assert response.finish_reason == "tool_calls"
    assert [(c.name, json.loads(c.arguments)["title"]) for c in response.tool_calls] == [
        ("create_task", "Buy milk")]


def test_provider_without_the_option_leaves_json_as_text(openai_server):
    openai_server.script(text(CALL, chunk_size=5))
    request = ChatRequest(model="m", messages=[{"role": "user", "content": "x"}], tools=TOOLS)
    response = list(_provider(openai_server, False).stream_chat(request))[-1].response
    assert response.content == CALL and response.tool_calls == []


def test_provider_sends_the_adapted_messages(openai_server):
    openai_server.script(text("Staff get 31 days."))
    request = ChatRequest(model="m", messages=_turn_with_results(), tools=TOOLS)
    response = list(_provider(openai_server, True).stream_chat(request))[-1].response
    assert response.content == "Staff get 31 days." and response.tool_calls == []
    sent = openai_server.last_request.body
    assert "tools" not in sent and sent["messages"] == adapt_request(request).messages
