"""Short answer forms held by the server's grammar (providers/answer_forms.py): which
messages ask for one, the request held to it, what the provider sends and the trace
records against the scripted server. The real model under it: tests/test_local_model.py."""

from __future__ import annotations

import pytest

from tests.scripted_openai import text
from workbench.providers.answer_forms import (
    FORM_TEMPERATURE,
    answer_form,
    with_answer_form,
)
from workbench.providers.base import ChatRequest, Completed, ProviderConfig
from workbench.providers.openai_compat import OpenAICompatibleProvider

TASK_TOOL = [{"type": "function", "function": {
    "name": "create_task", "description": "Create a task.",
    "parameters": {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}}}]


@pytest.mark.parametrize(("message", "form"), [
    ("Answer only yes or no: is ice cold?", "yes or no"),
    ("Answer yes or no only: do fish live in water?", "yes or no"),
    ("Yes or no, nothing else: is the moon bigger than the earth?", "yes or no"),
    ("Reply with just yes or no: is 10 greater than 3?", "yes or no"),
    ("Reply with only the number: what is 4 times 5?", "a number"),
    ("Give just the number: how many continents are there?", "a number"),
    ("How many legs does a spider have? The number only.", "a number"),
    ("In one word, which animal gives us wool?", "one word"),
    ("Answer with a single word: what is frozen water called?", "one word"),
    ("One word only: which fruit is yellow and curved?", "one word"),
    ("Is it yes or no?", None),  # no "only": the user may want the reasons
    ("Answer yes or no and explain why: is the sun a star?", None),  # more than the form
    ("What is the number of the bus to the airport?", None),
    ("Name the three primary colours, separated by commas, nothing else.", None),  # a list: free text
    ("Describe the word 'serendipity'.", None),
])
def test_the_form_a_message_asks_for(message, form):
    found = answer_form(message)
    assert (found[0] if found else None) == form


def test_a_request_is_held_to_the_form_asked_for_and_decoded_greedily():
    asked = ChatRequest(model="m", temperature=0.7, messages=[
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Reply with only the number: 6 x 7?"}])
    held = with_answer_form(asked)
    assert held.temperature == FORM_TEMPERATURE == 0.0 and held.grammar.startswith("root ::=")
    assert with_answer_form(held) == held  # prepared once, the same
    free = ChatRequest(model="m", temperature=0.7, messages=[{"role": "user", "content": "What is 6 x 7?"}])
    assert with_answer_form(free) is free
    # tools still offered: the call is not an answer (its decision has a grammar of its own)
    assert with_answer_form(ChatRequest(model="m", messages=asked.messages, tools=TASK_TOOL)).grammar is None


def test_the_provider_holds_the_answer_to_a_new_message_not_the_decision_nor_a_reply_to_results():
    provider = OpenAICompatibleProvider(ProviderConfig(name="Built-in", kind="local", adapt_tools=True))
    asked = [{"role": "user", "content": "Answer only yes or no: is ice cold?"}]
    prepared = provider.prepare(ChatRequest(model="m", messages=asked, tools=TASK_TOOL, temperature=0.2))
    assert prepared.grammar is not None and prepared.temperature == 0.0
    assert prepared.decision.grammar is None and prepared.decision.response_format is not None
    after_results = provider.prepare(ChatRequest(model="m", temperature=0.2, tools=TASK_TOOL, messages=[
        *asked, {"role": "assistant", "content": "", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "create_task", "arguments": '{"title": "x"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": '{"ok": true}'}]))
    assert after_results.grammar is None and after_results.temperature == 0.2
    plain = OpenAICompatibleProvider(ProviderConfig(name="Cloud", kind="openai", base_url="http://x/v1"))
    assert plain.prepare(ChatRequest(model="m", messages=asked)).grammar is None  # other providers: as asked


def test_the_grammar_is_sent_with_the_answer_and_recorded_in_the_trace(wb, openai_server, monkeypatch):
    from sqlalchemy import select

    from workbench import agents, runs
    from workbench.db import session_scope
    from workbench.models import ProviderRecord, RunStep
    from workbench.providers import embedded_server

    monkeypatch.setattr(embedded_server, "base_url", lambda: openai_server.base_url)
    with session_scope() as s:
        provider_id = s.scalar(select(ProviderRecord.id).where(
            ProviderRecord.group_id == wb.group_id, ProviderRecord.kind == "local"))
    agent_id = agents.create_agent(wb.person_id, wb.group_id, name="Short answers", provider_id=provider_id,
                                   model="m", temperature=0.6, tools=["create_task"]).id
    thread, _ = runs.create_thread(wb.group_id, agent_id, wb.person_id)
    openai_server.script(text('{"tool": "answer"}'), text("Yes."))
    result = runs.continue_thread(thread.id, "Answer only yes or no: is ice cold?", wb.person_id).wait(30)
    assert result.status == "complete" and result.reply == "Yes.", result.error
    decision, answer = (r.body for r in openai_server.requests)
    assert "grammar" not in decision and decision["temperature"] == 0.0
    assert answer["grammar"] == answer_form("Answer only yes or no")[1] and answer["temperature"] == 0.0
    with session_scope() as s:
        [step] = s.scalars(select(RunStep).where(RunStep.run_id == result.run_id)).all()
    assert step.request["grammar"] == answer["grammar"] and step.request["temperature"] == 0.0
    assert "grammar" not in step.request["decision"]


def test_an_answer_streams_through_the_grammar_field(openai_server):
    """The field goes out as llama.cpp names it, beside the OpenAI fields, and the stream
    comes back as usual."""
    openai_server.script(text("42"))
    provider = OpenAICompatibleProvider(ProviderConfig(name="Built-in", kind="local", base_url=openai_server.base_url,
                                                       adapt_tools=True))
    events = list(provider.stream_chat(ChatRequest(model="m", messages=[
        {"role": "user", "content": "Reply with only the number: 6 times 7?"}])))
    assert isinstance(events[-1], Completed) and events[-1].response.content == "42"
    assert openai_server.requests[0].body["grammar"].startswith("root ::= \"-\"?")
