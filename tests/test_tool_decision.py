"""The built-in model's constrained tool decision (providers/tool_decision.py): the JSON
Schema the server's grammar enforces (one branch per tool, its name fixed, its arguments its
own schema; one branch to answer), the decision request, and the provider's two passes
against the scripted server, and what it calls as the user meant it (statements and what was
told earlier not searched, values as the user wrote them). Whether it searches at all, by
the look at the knowledge: tests/test_search_choice.py; the reading of messages:
tests/test_message_reading.py; the real model under it: tests/test_local_model.py."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tests.scripted_openai import text, usage
from workbench.providers.base import (
    ChatRequest,
    Completed,
    KnowledgeProbe,
    ProviderConfig,
    TextDelta,
)
from workbench.providers.message_reading import (
    told_statement,
    with_answer_note,
)
from workbench.providers.openai_compat import OpenAICompatibleProvider
from workbench.providers.decided_arguments import as_the_user_wrote_it
from workbench.providers.tool_decision import (
    DECISION_SEED,
    MAX_STRING_CHARS,
    STRONG_MATCH,
    answer_choice,
    arguments_schema,
    decided_calls,
    decision_schema,
    example_turns,
    read_decision,
    search_first,
    with_decision,
)
from workbench.tools.registry import ToolContext, bind_tools, openai_schemas, tool_names

BUILTINS = openai_schemas(bind_tools(ToolContext(group_id=1, person_id=1, agent_id=1, thread_id=1),
                                     tool_names()))
NESTED = {"type": "function", "function": {"name": "book_trip", "description": "Book a trip.", "parameters": {
    "type": "object",
    "properties": {
        "traveller": {"type": "object", "properties": {
            "name": {"type": "string"},
            "seat": {"type": "string", "enum": ["aisle", "window"]}}, "required": ["name", "seat"]},
        "legs": {"type": "array", "items": {"type": "object", "properties": {
            "city": {"type": "string"}, "nights": {"type": "integer", "minimum": 1}},
            "required": ["city"]}}},
    "required": ["traveller", "legs"]}}}


def _valid(schema: dict, document: dict) -> bool:
    try:
        jsonschema.validate(document, schema)
    except jsonschema.ValidationError:
        return False
    return True


def test_every_builtin_tool_gets_a_branch_with_its_name_fixed_and_its_arguments():
    schema = decision_schema(BUILTINS)
    jsonschema.Draft202012Validator.check_schema(schema)
    names = [b["properties"]["tool"]["const"] for b in schema["anyOf"]]
    assert names == ["answer", "call_human", "create_task", "get_context", "search_knowledge"]
    for tool, branch in zip(BUILTINS, schema["anyOf"][1:]):
        own = tool["function"]["parameters"]
        held = branch["properties"]["arguments"]
        choices = [name for name, spec in own["properties"].items() if "enum" in spec]
        assert set(held.get("required", [])) == set(own.get("required", [])) | set(choices)
        assert set(held["properties"]) == set(own["properties"])
        assert branch["required"] == ["tool", "arguments"] and branch["additionalProperties"] is False
    examples = [{"tool": "answer"},
                {"tool": "create_task", "arguments": {"title": "Renew the SSL certificate", "priority": "low"}},
                {"tool": "search_knowledge", "arguments": {"query": "returns policy", "limit": 3}},
                {"tool": "call_human", "arguments": {"reason": "The user asks for a person."}},
                {"tool": "get_context", "arguments": {"about": "person"}}]
    assert all(_valid(schema, doc) for doc in examples)
    refused = [{"tool": "Fix Login Page Bug", "arguments": {"title": "x"}},  # the title as the name
               {"tool": "create_task", "arguments": {"title": "x", "priority": "urgent"}},  # not in the enum
               {"tool": "create_task", "arguments": {"priority": "low"}},  # title missing
               {"tool": "search_knowledge", "arguments": {"query": "x", "limit": 50}},  # over its maximum
               {"tool": "answer", "arguments": {}},
               {"tool": "create_task"},
               {"title": "x"}]
    assert not any(_valid(schema, doc) for doc in refused)


def test_a_choice_among_a_few_values_is_always_made():
    """A task's priority is required in the grammar although the tool defaults it."""
    [create_task] = [t for t in BUILTINS if t["function"]["name"] == "create_task"]
    assert "priority" not in (create_task["function"]["parameters"].get("required") or [])
    schema = decision_schema(BUILTINS)
    assert not _valid(schema, {"tool": "create_task", "arguments": {"title": "Audit the shelf"}})
    assert _valid(schema, {"tool": "create_task", "arguments": {"title": "Audit the shelf", "priority": "high"}})
    plain = {"function": {"name": "note", "parameters": {"type": "object", "properties": {"text": {"type": "string"}}}}}
    assert "required" not in arguments_schema(plain)  # nothing to choose: nothing added


def test_strings_are_capped_so_a_call_fits_the_decision_tokens():
    schema = decision_schema(BUILTINS)
    task = next(b for b in schema["anyOf"] if b["properties"]["tool"]["const"] == "create_task")
    props = task["properties"]["arguments"]["properties"]
    assert props["description"]["maxLength"] == MAX_STRING_CHARS  # 10,000 in the tool's own schema
    assert props["title"]["maxLength"] == 200  # already shorter: kept
    assert props["priority"]["enum"] == ["low", "medium", "high"] and "maxLength" not in props["priority"]
    assert BUILTINS[1]["function"]["parameters"]["properties"]["description"]["maxLength"] == 10_000  # not changed


def test_nested_objects_and_enums_are_constrained_all_the_way_down():
    schema = decision_schema([NESTED])
    args = schema["anyOf"][1]["properties"]["arguments"]
    assert args["properties"]["traveller"]["properties"]["name"]["maxLength"] == MAX_STRING_CHARS
    assert args["properties"]["legs"]["items"]["properties"]["city"]["maxLength"] == MAX_STRING_CHARS
    good = {"tool": "book_trip", "arguments": {"traveller": {"name": "Ana", "seat": "aisle"},
                                               "legs": [{"city": "Porto", "nights": 2}, {"city": "Faro"}]}}
    assert _valid(schema, good)
    for bad in ({"traveller": {"name": "Ana", "seat": "middle"}, "legs": []},
                {"traveller": {"name": "Ana", "seat": "aisle"}, "legs": [{"nights": 2}]},
                {"traveller": {"name": "Ana", "seat": "aisle"}, "legs": [{"city": "Porto", "nights": 0}]},
                {"traveller": {"name": "A" * (MAX_STRING_CHARS + 1), "seat": "aisle"}, "legs": []}):
        assert not _valid(schema, {"tool": "book_trip", "arguments": bad})


def test_a_tool_without_parameters_takes_no_arguments():
    bare = {"type": "function", "function": {"name": "ping", "description": "Ping."}}
    schema = decision_schema([bare])
    assert _valid(schema, {"tool": "ping", "arguments": {}})
    assert not _valid(schema, {"tool": "ping", "arguments": {"x": 1}})


def test_a_tool_named_answer_does_not_take_the_answer_branch():
    named = {"type": "function", "function": {"name": "answer", "parameters": {"type": "object"}}}
    assert answer_choice([named]) == "answer_in_words"
    schema = decision_schema([named])
    assert _valid(schema, {"tool": "answer_in_words"}) and not _valid(schema, {"tool": "answer"})


def test_no_tools_or_told_to_answer_means_one_plain_call():
    plain = ChatRequest(model="m", messages=[{"role": "user", "content": "Hi"}], temperature=0.7)
    assert with_decision(plain) == plain
    told = with_decision(ChatRequest(model="m", messages=plain.messages, tools=BUILTINS, tool_choice="none"))
    assert told.decision is None and told.tools is None and told.tool_choice is None


def test_the_decision_request_is_deterministic_and_lists_the_tools():
    messages = [{"role": "system", "content": "You are a support assistant."},
                {"role": "user", "content": "Create a task to renew the lease."}]
    request = with_decision(ChatRequest(model="m", messages=messages, tools=BUILTINS, temperature=0.9,
                                        max_tokens=500))
    assert request.tools is None and request.messages == messages  # the answer pass, as it would go
    assert request.temperature == 0.9 and request.max_tokens == 500
    decision = request.decision
    assert decision.temperature == 0.0 and decision.seed == DECISION_SEED
    assert decision.response_format == {"type": "json_schema", "json_schema": {
        "name": "next_step", "schema": decision_schema(BUILTINS)}}
    system = decision.messages[0]
    assert system["role"] == "system" and all(f"- {name}: " in system["content"] for name in tool_names())
    assert decision.messages[-len(messages):] == messages  # the conversation last, as it is
    assert with_decision(request) is request  # preparing twice changes nothing


def test_the_decision_is_shown_example_turns_for_the_offered_tools_only():
    messages = [{"role": "user", "content": "Hello"}]
    everything = with_decision(ChatRequest(model="m", messages=messages, tools=BUILTINS)).decision
    shown = everything.messages[1:-1]
    assert [m["role"] for m in shown] == ["user", "assistant"] * len(example_turns(BUILTINS))
    steps = [json.loads(m["content"]) for m in shown if m["role"] == "assistant"]
    assert {s["tool"] for s in steps} == {"answer", "search_knowledge", "call_human"}
    schema = decision_schema(BUILTINS)  # every example is a decision the grammar admits
    assert all(_valid(schema, step) for step in steps)
    # offered only create_task: no turn calls a tool it does not have, and the answer is named
    # as this request names it
    task_only = [t for t in BUILTINS if t["function"]["name"] == "create_task"]
    named = [{"type": "function", "function": {"name": "answer", "parameters": {}}}, *task_only]
    steps = [json.loads(m["content"]) for m in with_decision(ChatRequest(
        model="m", messages=messages, tools=named)).decision.messages[1:-1] if m["role"] == "assistant"]
    assert steps and {s["tool"] for s in steps} == {"answer_in_words"}


def test_reading_a_decision():
    response_format = with_decision(ChatRequest(model="m", messages=[], tools=BUILTINS)).decision.response_format
    assert read_decision('{"tool": "answer"}', response_format) == []
    [call] = read_decision('{"tool": "create_task", "arguments": {"title": "Été", "priority": "low"}}',
                           response_format)
    assert call.name == "create_task" and json.loads(call.arguments) == {"title": "Été", "priority": "low"}
    assert call.id.startswith("call_")
    assert read_decision('{"tool": "create_task", "arguments": {"title": "cut', response_format) == []


@pytest.mark.parametrize(("query", "message", "searched"), [
    # a name of the message left out: the message is the query
    ("london office hours", "Until what time is the Lisbon office open?", "Until what time is the Lisbon office open?"),
    ("warranty length", "How long is the   warranty on the Toaster Max?", "How long is the warranty on the Toaster Max?"),
    # the names kept, whatever else the model wrote; no name to keep
    ("liftoff Lisbon office", "Does the Lisbon office have a lift?", "liftoff Lisbon office"),
    ("spare parts order period", "For how many years can I order spare parts?", "spare parts order period"),
])
def test_a_search_query_keeps_the_names_the_user_used(query, message, searched):
    response_format = with_decision(ChatRequest(model="m", messages=[], tools=BUILTINS)).decision.response_format
    [call] = read_decision(json.dumps({"tool": "search_knowledge", "arguments": {"query": query}}),
                           response_format, message)
    assert json.loads(call.arguments) == {"query": searched}


def _provider(openai_server) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(ProviderConfig(
        name="Small", kind="openai_compatible", base_url=openai_server.base_url, adapt_tools=True))


def _request() -> ChatRequest:
    return ChatRequest(model="m", messages=[{"role": "user", "content": "Task: renew the lease"}],
                       tools=BUILTINS, temperature=0.8, max_tokens=300)


def test_a_decision_to_call_a_tool_ends_the_call_with_it(openai_server):
    openai_server.script(text('{"tool": "create_task", "arguments": {"title": "Renew the lease"}}', chunk_size=5))
    events = list(_provider(openai_server).stream_chat(_request()))
    assert not [e for e in events if isinstance(e, TextDelta)]  # the decision is never shown
    response = events[-1].response
    assert isinstance(events[-1], Completed) and response.content == ""
    assert response.finish_reason == "tool_calls" and response.decision.startswith('{"tool": "create_task"')
    assert [(c.name, json.loads(c.arguments)) for c in response.tool_calls] == [
        ("create_task", {"title": "Renew the lease"})]
    [sent] = [r.body for r in openai_server.chat_requests]
    assert sent["temperature"] == 0.0 and sent["seed"] == DECISION_SEED and "tools" not in sent
    assert sent["response_format"]["json_schema"]["schema"] == decision_schema(BUILTINS)


def test_a_decision_to_answer_streams_the_answer_at_the_agents_temperature(openai_server):
    openai_server.script(text('{"tool": "answer"}', usage=usage(300, 6)),
                         text("Happy to help.", chunk_size=3, usage=usage(20, 4, cached=18)))
    events = list(_provider(openai_server).stream_chat(_request()))
    shown = "".join(e.text for e in events if isinstance(e, TextDelta))
    response = events[-1].response
    assert shown == response.content == "Happy to help." and response.tool_calls == []
    assert response.decision == '{"tool": "answer"}'
    both = response.usage
    assert (both.input_tokens, both.output_tokens, both.cached_input_tokens) == (320, 10, 18)
    decision, answer = (r.body for r in openai_server.chat_requests)
    assert "response_format" in decision and "response_format" not in answer and "tools" not in answer
    assert answer["temperature"] == 0.8 and answer["max_tokens"] == 300
    assert answer["messages"] == _request().messages


@pytest.mark.parametrize("kind", ["local", "openai_compatible"])
def test_only_the_adapting_provider_makes_a_decision(kind):
    from workbench.providers import build_provider

    provider = build_provider(ProviderConfig(name="x", kind=kind, base_url="http://127.0.0.1:9/v1"))
    prepared = provider.prepare(_request())
    assert (prepared.decision is not None) == (kind == "local")


def test_the_built_in_provider_reminds_only_a_new_question_of_what_was_told():
    from workbench.providers import build_provider

    provider = build_provider(ProviderConfig(name="x", kind="local"))
    told = [{"role": "user", "content": "My locker code is 3390."}, {"role": "assistant", "content": "Noted."},
            {"role": "user", "content": "What is my locker code?"}]
    [system, *_] = provider.prepare(ChatRequest(model="m", messages=told, tools=BUILTINS)).messages
    assert system["role"] == "system" and "3390" in system["content"]
    # the reply to a tool's result (here a task made) says what was done, not what was told
    call = {"id": "c1", "type": "function", "function": {"name": "create_task", "arguments": "{}"}}
    after_call = [*told, {"role": "assistant", "content": None, "tool_calls": [call]},
                  {"role": "tool", "tool_call_id": "c1", "content": '{"summary": "I have added the task."}'}]
    prepared = provider.prepare(ChatRequest(model="m", messages=after_call, tools=BUILTINS))
    assert not any("3390" in str(m.get("content")) and m["role"] == "system" for m in prepared.messages)
    # another provider is sent the conversation as it is
    other = build_provider(ProviderConfig(name="y", kind="openai_compatible", base_url="http://127.0.0.1:9/v1"))
    assert other.prepare(ChatRequest(model="m", messages=told, tools=BUILTINS)).messages == told


@pytest.mark.parametrize(("value", "message", "kept"), [
    ("Email Supplier About Late Deliveries", "New task, high priority: Email the supplier about late deliveries",
     "Email the supplier about late deliveries"),  # case changed and "the" left out
    ("Fix the login page bug", "Please create a task to fix the login page bug.", "Fix the login page bug"),
    ("parking permit", "Search the knowledge base for: Parking Permit", "Parking Permit"),
    ("gate b12", "My flight leaves from Gate B12.", "Gate B12"),
    ("Renew the lease", "Create a task to renew the office lease.", "Renew the lease"),  # a word added: not the user's
    ("Fix bug", "Fix the login page bug", "Fix bug"),  # more than small words between
    ("Water plants", "Water the plants of the lobby", "Water the plants"),
    # the user's words in another order, a linking word added: the user's order
    ("opening hours in Porto", "Search the knowledge base for Porto opening hours", "Porto opening hours"),
    ("Freezer alarm fix", "New task: fix the freezer alarm now", "Fix the freezer alarm"),
    ("hours in Lisbon", "Search the knowledge base for Porto opening hours", "hours in Lisbon"),  # not the user's
    ("", "anything", ""),
])
def test_a_value_the_user_gave_is_kept_as_they_wrote_it(value, message, kept):
    assert as_the_user_wrote_it(value, message) == kept


def test_a_decision_searches_no_statement_and_keeps_the_users_words():
    def deciding(message):
        return with_decision(ChatRequest(model="m", messages=[{"role": "user", "content": message}], tools=BUILTINS))
    assert decided_calls(deciding("My flight leaves from gate B12."),
                         '{"tool": "search_knowledge", "arguments": {"query": "gate B12"}}') == (
        [], "the message tells something about the user")
    [call], _ = decided_calls(deciding("Where does my flight leave from? Gate b12 I think"),
                              '{"tool": "search_knowledge", "arguments": {"query": "gate B12"}}')
    assert json.loads(call.arguments) == {"query": "Gate b12"}
    [call], _ = decided_calls(deciding("New task, high priority: Email the supplier about late deliveries"),
                              '{"tool": "create_task", "arguments": {"title": "Email Supplier About Late '
                              'Deliveries", "priority": "high"}}')
    assert json.loads(call.arguments) == {"title": "Email the supplier about late deliveries", "priority": "high"}
    # a statement may still ask for a task or a person
    [call], set_aside = decided_calls(deciding("My printer is broken."),
                                      '{"tool": "create_task", "arguments": {"title": "Fix the printer", '
                                      '"priority": "low"}}')
    assert call.name == "create_task" and set_aside is None


def test_what_the_user_told_earlier_is_neither_searched_nor_searched_first():
    told = [{"role": "user", "content": "My train leaves at 07:45."},
            {"role": "assistant", "content": "Noted."},
            {"role": "user", "content": "When does my train leave?"}]
    probe = KnowledgeProbe(query="When does my train leave?", matches=[("Trains", STRONG_MATCH + 0.2)])
    request = with_decision(ChatRequest(model="m", messages=told, tools=BUILTINS, knowledge_probe=probe))
    assert decided_calls(request, '{"tool": "search_knowledge", "arguments": {"query": "train"}}') == (
        [], "the message asks about what the user told earlier in the conversation")
    assert search_first(request) == []
    # the same question without the statement before it is searched as decided
    request = with_decision(ChatRequest(model="m", messages=told[2:], tools=BUILTINS, knowledge_probe=probe))
    assert [c.name for c in search_first(request)] == ["search_knowledge"]


def test_the_answer_is_reminded_of_what_the_user_told_and_the_decision_is_not():
    told = [{"role": "system", "content": "You are a support assistant."},
            {"role": "user", "content": "My locker code is 3390."},
            {"role": "assistant", "content": "Noted."},
            {"role": "user", "content": "I moved here from Braga."},
            {"role": "assistant", "content": "Nice."},
            {"role": "user", "content": "What is my locker code?"}]
    assert told_statement(ChatRequest(model="m", messages=told)) == "My locker code is 3390."
    request = with_answer_note(with_decision(ChatRequest(model="m", messages=told, tools=BUILTINS)))
    system = request.messages[0]["content"]
    assert system.startswith("You are a support assistant.\n\n") and system.endswith(
        'the user told you: "My locker code is 3390." Answer their last question from what they told you.')
    assert request.messages[1:] == told[1:]
    assert request.decision.messages[0]["content"].count("3390") == 0  # the decision is left alone
    assert with_answer_note(request) is request  # noted once
    # without a system turn, the reminder is one; a question about nothing told is left alone
    [reminder, *rest] = with_answer_note(ChatRequest(model="m", messages=told[1:])).messages
    assert reminder["role"] == "system" and "3390" in reminder["content"] and rest == told[1:]
    plain = ChatRequest(model="m", messages=[*told[:-1], {"role": "user", "content": "What is the capital of Peru?"}])
    assert with_answer_note(plain) is plain
