"""Short answer forms held by the server's grammar (providers/answer_forms.py): which
messages ask for one, the request held to it, what the provider sends and the trace
records against the scripted server. The real model under it: tests/test_local_model.py."""

from __future__ import annotations

import pytest

from tests.scripted_openai import text
from workbench.providers.answer_forms import (
    FORM_TEMPERATURE,
    FULL_ANSWER_NOTE,
    PLAIN_ANSWER_TOKENS,
    answer_choices,
    answer_form,
    choice_grammar,
    plain_question,
    with_answer_form,
)
from workbench.providers.base import ChatRequest, Completed, ProviderConfig, TextDelta
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
    ("Yes or no: do fish breathe through gills?", "yes or no"),  # the form leads, then the question
    ("Just give the number: how many weeks are in a year?", "a number"),
    ("One word: what is the opposite of early?", "one word"),
    ("Is it yes or no: what do you think?", None),  # not leading
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


def _short_answer_thread(builtin_on_scripted):
    return builtin_on_scripted(["create_task"], name="Short answers", temperature=0.6)


def _step(run_id: int):
    from sqlalchemy import select

    from workbench.db import session_scope
    from workbench.models import RunStep

    with session_scope() as s:
        [step] = s.scalars(select(RunStep).where(RunStep.run_id == run_id)).all()
        return step.request, step.response


def test_the_question_is_answered_in_full_then_held_to_the_form_and_both_are_traced(wb, openai_server,
                                                                                     builtin_on_scripted):
    from workbench import runs

    thread = _short_answer_thread(builtin_on_scripted)
    openai_server.script(text('{"tool": "answer"}'), text("Yes, ice is cold."), text("Yes"))
    result = runs.continue_thread(thread.id, "Answer only yes or no: is ice cold?", wb.person_id).wait(30)
    assert result.status == "complete" and result.reply == "Yes", result.error
    decision, plain, held = (r.body for r in openai_server.requests)
    assert "grammar" not in decision and decision["temperature"] == 0.0
    # the full answer: the question without its form, greedy, no grammar
    assert plain["messages"][-1]["content"] == "Is ice cold?" and "grammar" not in plain
    assert plain["temperature"] == 0.0 and plain["max_tokens"] == PLAIN_ANSWER_TOKENS
    # the form, filled from it: the user's own message, the full answer in the system turn
    assert held["grammar"] == answer_form("Answer only yes or no")[1] and held["temperature"] == 0.0
    assert held["messages"][-1]["content"] == "Answer only yes or no: is ice cold?"
    assert held["messages"][0]["content"].endswith(FULL_ANSWER_NOTE.format(answer="Yes, ice is cold."))
    request, response = _step(result.run_id)
    assert request["grammar"] == held["grammar"] and request["temperature"] == 0.0
    assert request["plain_answer"]["messages"] == plain["messages"] and "grammar" not in request["decision"]
    assert response["full_answer"] == "Yes, ice is cold." and response["form_choices"] == []
    assert response["usage"]["output_tokens"] > 3  # the three calls' tokens, all of them


def test_a_full_answer_offering_one_choice_is_the_reply_without_another_call(wb, openai_server,
                                                                            builtin_on_scripted):
    from workbench import runs

    thread = _short_answer_thread(builtin_on_scripted)
    openai_server.script(text('{"tool": "answer"}'), text("A spider has eight legs."))
    result = runs.continue_thread(thread.id, "Reply with only the number: how many legs does a spider have?",
                                  wb.person_id).wait(30)
    assert result.status == "complete" and result.reply == "8", result.error
    assert len(openai_server.requests) == 2
    assert _step(result.run_id)[1]["form_choices"] == ["8"]


def test_several_choices_are_picked_by_a_call_held_to_them(wb, openai_server, builtin_on_scripted):
    from workbench import runs

    thread = _short_answer_thread(builtin_on_scripted)
    openai_server.script(text('{"tool": "answer"}'), text("Most leaves are green, some yellow."), text("green"))
    result = runs.continue_thread(thread.id, "Answer with one word: what colour are leaves?", wb.person_id).wait(30)
    assert result.status == "complete" and result.reply == "green", result.error
    assert openai_server.requests[-1].body["grammar"] == choice_grammar(["green", "yellow"])


@pytest.mark.parametrize(("message", "plain"), [
    ("Answer with one word: what colour is a lemon?", "What colour is a lemon?"),
    ("Name the colour of coal in one word.", "Name the colour of coal."),
    ("Yes or no, nothing else: is the moon bigger than the earth?", "Is the moon bigger than the earth?"),
    ("Number only, please: what is 2 plus 2?", "What is 2 plus 2?"),
    ("How many legs does a spider have? The number only.", "How many legs does a spider have?"),
    ("In one word, which animal gives us wool?", "Which animal gives us wool?"),
    ("What is the capital of France?", "What is the capital of France?"),  # no form: as it is
])
def test_the_question_without_its_form(message, plain):
    assert plain_question(message) == plain


@pytest.mark.parametrize(("form", "full", "question", "choices"), [
    ("one word", "A baby dog is called a puppy.", "What do you call a baby dog?", ["puppy"]),
    ("one word", 'Frozen water is called "ice water."', "What is frozen water called?", ["ice"]),
    ("one word", "The leaves are typically green or yellow.", "What colour are leaves?", ["green", "yellow"]),
    ("one word", "The capital is Rome.", "What is the capital of Italy?", ["rome"]),
    ("a number", "A triangle has three sides.", "How many sides does a triangle have?", ["3"]),
    ("a number", "5 plus 4 equals 9.", "What is 5 plus 4?", ["9"]),
    ("a number", "There are 2.5 litres, or 3 at most.", "How much?", ["2.5", "3"]),
    ("a number", "I do not know.", "How many?", []),
    ("yes or no", "Yes, ice is cold.", "Is ice cold?", []),  # the form's own grammar
])
def test_what_a_full_answer_offers_to_fill_the_form(form, full, question, choices):
    assert answer_choices(form, full, question) == choices


def test_the_choice_grammar_admits_exactly_the_choices():
    assert choice_grammar(["green", "it's"]) == 'root ::= ("green" | "it\'s") "."?'.replace("\\'", "'")


def test_an_answer_streams_through_the_grammar_field(openai_server):
    """The field goes out as llama.cpp names it, beside the OpenAI fields, and the stream
    comes back as usual."""
    openai_server.script(text("Six times seven is forty-two."), text("42"))  # no digits: the form's grammar
    provider = OpenAICompatibleProvider(ProviderConfig(name="Built-in", kind="local", base_url=openai_server.base_url,
                                                       adapt_tools=True))
    events = list(provider.stream_chat(ChatRequest(model="m", messages=[
        {"role": "user", "content": "Reply with only the number: 6 times 7?"}])))
    assert isinstance(events[-1], Completed) and events[-1].response.content == "42"
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["42"]  # the full answer is not shown
    assert openai_server.requests[1].body["grammar"].startswith("root ::= \"-\"?")
