"""The check of an answer from passages (providers/grounding_check.py): its numbers and names
must come from the passages or the user's messages; the provider replaces one that fails."""

from __future__ import annotations

import json

import pytest

from tests.scripted_openai import text
from workbench.providers.base import ChatRequest, ProviderConfig, StreamReset, TextDelta
from workbench.providers.grounding_check import NOT_IN_SOURCES, adds_to_question, unsupported_terms
from workbench.providers.openai_compat import OpenAICompatibleProvider
from workbench.providers.tool_adapter import ANSWERING_SCORE, adapt_request

SOURCES = ["Parking: Staff park in the garage under the Lisbon office; a permit costs 25 euros a month.",
           "Lisbon office: Open Monday to Friday from 8:30 to 17:00. Visitors sign in at reception.",
           "How many parking spaces does the garage have?"]


@pytest.mark.parametrize("answer, unsupported", [
    ("A permit costs 25 euros a month.", []),
    ("The office opens at 8:30 and closes at 17:00, Monday to Friday.", []),
    ("It opens at 08:30.", []),  # a leading zero changes nothing
    ("Visitors sign in at the reception of the Lisbon office.", []),
    ("Lisbon's office is open on Monday.", []),  # a possessive of a known name
    ("I do not know.", []),
    (NOT_IN_SOURCES, []),
    ("There are 10 parking spaces in the garage.", ["10"]),
    ("The garage has twelve spaces.", ["twelve"]),  # a number word counts as its figure
    ("One of the staff parks there.", []),  # "one" is left alone: as often a pronoun
    ("The office is on the second floor.", ["second"]),  # an ordinal counts as its figure
    ("First, sign in at reception on Monday.", []),  # "first" is left alone: an order of steps
    ("The office is managed by Maria Costa.", ["Maria", "Costa"]),
    ("The garage is in Lisbon, Portugal.", ["Portugal"]),
    ("The office is on Lisbon Street.", ["Street"]),  # "street" only in lower case is no name
    ("It is open on Saturday from 9:00.", ["9", "Saturday"]),
    ("Maria parks there.", []),  # a sentence's first word is not read as a name
    # a figure with a unit: held with that unit where the sources give it units
    ("A permit costs 25 euros.", []),
    ("A permit costs 25 days.", ["25 days"]),
    ("A permit costs 25 euro a month.", []),  # the singular: the same unit
    ("The garage takes 25 cars.", []),  # a word that is no unit is not compared
])
def test_numbers_and_names_must_come_from_the_sources(answer, unsupported):
    assert unsupported_terms(answer, SOURCES) == unsupported


CLASSES = ["Cooking classes: Each class takes at most 12 people. Gift cards are valid for 3 years.",
           "Warranty: Every Kettle Pro carries a 2-year warranty; register within 30 days.",
           "Newsletter: subscribers get a 10 % discount, sent every second Tuesday; codes expire after 60 days.",
           "Shipping takes 3 to 5 business days."]


@pytest.mark.parametrize("answer, unsupported", [
    ("The minimum age for the cooking classes is 12 years.", ["12 years"]),  # the people were 12
    ("At most twelve people take a class.", []),
    ("The warranty lasts 2 years.", []),  # "2-year" is 2 years
    ("Register within 30 months.", ["30 months"]),
    ("The discount is 10%.", []), ("The discount is 10 percent.", []),  # the same unit, spelled otherwise
    ("The discount lasts 10 days.", ["10 days"]),
    ("Shipping takes 5 days.", []),  # "5 business days": a figure with no unit read is not compared
    ("Gift cards are valid for 3 years and shipping takes 3 to 5 days.", []),  # 3 is held with years
])
def test_a_figure_must_keep_the_unit_the_sources_give_it(answer, unsupported):
    assert unsupported_terms(answer, CLASSES) == unsupported


GIFTS = ["Gift wrapping: Gift wrapping costs 4 euros per item and can be added to an order up to 2 days "
         "before delivery. A handwritten card can be added free of charge.",
         "Loyalty club: Members earn 2 points for every euro they spend."]


@pytest.mark.parametrize("question, answer, adds", [
    ("How late can I add gift wrapping to my order?",
     "Gift wrapping can be added up to 2 days before delivery.", True),  # a figure and a word
    ("Is a handwritten card extra?", "No, a handwritten card is free of charge.", True),
    ("What does gift wrapping cost?", "Gift wrapping costs four euros per item.", True),  # four is 4
    ("Is wrapping free on an order of 60 euros?", "No, it costs 4 euros per item.", True),
    # repeating the question says nothing the passages hold
    ("Can you send a wrapped gift straight to another address?",
     "Yes, you can send a wrapped gift straight to another address.", False),
    ("Do loyalty points expire?", "Loyalty points do not expire.", False),
    # the rule's limit: a word of the passages passes whether or not it answers
    ("Does the card come in gold?", "Yes, the handwritten card comes in gold.", True),
    ("What colours does the wrapping come in?", "It comes in red and green.", False),  # words of no passage
    ("Do you wrap gifts in gold paper?", "I do not know; the knowledge base says nothing about that.", True),
])
def test_an_answer_must_say_something_of_the_passages_beyond_the_question(question, answer, adds):
    assert adds_to_question(answer, question, [*GIFTS, question]) is adds


def _searched(question: str, found: list[dict]) -> list[dict]:
    return [{"role": "system", "content": "You are the support assistant."},
            {"role": "user", "content": question},
            {"role": "assistant", "content": None, "tool_calls": [{
                "id": "c1", "type": "function",
                "function": {"name": "search_knowledge", "arguments": json.dumps({"query": question})}}]},
            {"role": "tool", "tool_call_id": "c1", "content": json.dumps(found)}]


PASSAGES = [{"title": "Parking", "score": 0.58, "text": "A parking permit costs 25 euros a month."},
            {"title": "Shipping", "score": ANSWERING_SCORE - 0.1, "text": "Express costs 12 euros."}]


def test_an_answer_from_search_results_is_checked_against_its_passages_and_the_users_words():
    adapted = adapt_request(ChatRequest(model="m", messages=_searched("How many spaces are there?", PASSAGES)))
    # the passage the model is shown (the weak one is not), then the user's messages
    assert adapted.sources == ["Parking: A parking permit costs 25 euros a month.", "How many spaces are there?"]
    assert adapt_request(adapted) == adapted  # idempotent
    asked_again = [*_searched("How many spaces are there?", PASSAGES),
                   {"role": "assistant", "content": "I do not know."}, {"role": "user", "content": "Hi"}]
    assert adapt_request(ChatRequest(model="m", messages=asked_again)).sources is None  # not an answer from passages


def _provider(server) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(ProviderConfig(
        name="Small", kind="openai_compatible", base_url=server.base_url, adapt_tools=True))


def test_an_invented_figure_is_replaced_before_the_user_sees_it(openai_server):
    openai_server.script(text("Yes"), text("There are 40 parking spaces.", chunk_size=3))
    events = list(_provider(openai_server).stream_chat(
        ChatRequest(model="m", messages=_searched("How many spaces are there?", PASSAGES))))
    response = events[-1].response
    assert [e.text for e in events if isinstance(e, TextDelta)] == [NOT_IN_SOURCES]  # nothing else shown
    assert not any(isinstance(e, StreamReset) for e in events)
    assert response.content == NOT_IN_SOURCES
    assert response.replaced == {"answer": "There are 40 parking spaces.", "unsupported": ["40"]}


def test_an_answer_that_only_repeats_the_question_is_replaced(openai_server):
    openai_server.script(text("Yes"), text("Yes, there is a car park for customers.", chunk_size=3))
    events = list(_provider(openai_server).stream_chat(
        ChatRequest(model="m", messages=_searched("Is there a car park for customers?", PASSAGES))))
    response = events[-1].response
    assert [e.text for e in events if isinstance(e, TextDelta)] == [NOT_IN_SOURCES]
    assert response.replaced == {"answer": "Yes, there is a car park for customers.", "unsupported": [],
                                 "repeats_question": True}


def test_an_answer_the_passages_back_is_shown_as_the_model_gave_it(openai_server):
    openai_server.script(text("Yes"), text("A permit costs 25 euros a month.", chunk_size=3))
    events = list(_provider(openai_server).stream_chat(
        ChatRequest(model="m", messages=_searched("What does a permit cost?", PASSAGES))))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "A permit costs 25 euros a month."
    response = events[-1].response
    assert response.replaced is None
    assert response.ttft_ms is not None and 0 < response.ttft_ms <= response.duration_ms  # when it was shown


def test_the_trace_keeps_the_replaced_answer_and_what_it_was_checked_against(wb, openai_server, builtin_on_scripted):
    """Through the run loop on the group's built-in provider (its embedded server replaced by
    the scripted one) and a real search of the group's knowledge."""
    from sqlalchemy import select

    from workbench import knowledge as kb
    from workbench import runs
    from workbench.db import session_scope
    from workbench.models import Message, RunStep

    kb.add_snippet(wb.person_id, wb.group_id, "Parking", "Staff park in the garage; a permit costs 25 euros a month.")
    thread = builtin_on_scripted(["search_knowledge"], name="Checked")
    openai_server.script(text('{"tool": "search_knowledge", "arguments": {"query": "garage parking spaces"}}'),
                         text("Yes"), text("The garage has 40 parking spaces."))
    result = runs.continue_thread(thread.id, "How many parking spaces does the garage have?", wb.person_id).wait(30)
    assert result.status == "complete" and result.reply == NOT_IN_SOURCES, result.error
    with session_scope() as s:
        answer_step = s.scalars(select(RunStep).where(RunStep.run_id == result.run_id, RunStep.kind == "model_call")
                                .order_by(RunStep.seq.desc())).first()
        stored = s.scalars(select(Message).where(Message.thread_id == thread.id)
                           .order_by(Message.seq.desc())).first()
        assert stored.content == NOT_IN_SOURCES and stored.data["unsupported"] == ["40"]  # the chat says so
    assert answer_step.response["content"] == NOT_IN_SOURCES
    assert answer_step.response["replaced"] == {"answer": "The garage has 40 parking spaces.", "unsupported": ["40"]}
    # the check made first, as sent, and its verdict
    assert answer_step.request["passage_check"]["grammar"] == 'root ::= "Yes" | "No"'
    assert answer_step.request["passage_check"]["temperature"] == 0.0
    assert answer_step.response["passage_check"] == "yes"
    assert answer_step.request["checked_against"] == [
        "Parking: Staff park in the garage; a permit costs 25 euros a month.",
        "How many parking spaces does the garage have?"]
    # an answer that only repeats the question: the chat's message says why it was replaced
    openai_server.script(text('{"tool": "search_knowledge", "arguments": {"query": "garage for staff"}}'),
                         text("Yes"), text("Yes, there is a garage for staff."))
    result = runs.continue_thread(thread.id, "Is there a garage for staff?", wb.person_id).wait(30)
    assert result.status == "complete" and result.reply == NOT_IN_SOURCES, result.error
    with session_scope() as s:
        stored = s.scalars(select(Message).where(Message.thread_id == thread.id)
                           .order_by(Message.seq.desc())).first()
        assert stored.data["unsupported"] == [] and stored.data["repeats_question"] is True


def test_passages_the_model_says_do_not_hold_the_answer_are_not_answered_from(openai_server):
    """The check made first (tool_adapter.passage_check): the answer's own conversation, its
    question followed by the ask, greedy, held to Yes or No. "No": the reply is NOT_SAID and
    no answer is asked for; "Yes": the answer is asked for, with the same prefix."""
    from workbench.providers.tool_adapter import NOT_SAID, PASSAGE_CHECK, YES_OR_NO

    openai_server.script(text("No"))
    events = list(_provider(openai_server).stream_chat(
        ChatRequest(model="m", messages=_searched("Is there a car park for customers?", PASSAGES))))
    response = events[-1].response
    assert [e.text for e in events if isinstance(e, TextDelta)] == [NOT_SAID]
    assert response.content == NOT_SAID and response.passage_check == "no"
    [check] = openai_server.chat_requests  # the answer was never asked for
    assert check.body["grammar"] == YES_OR_NO and check.body["temperature"] == 0.0
    system, asked = check.body["messages"]
    assert "[1] Parking: A parking permit costs 25 euros a month." in system["content"]
    assert asked == {"role": "user", "content": PASSAGE_CHECK.format(question="Is there a car park for customers?")}
    openai_server.script(text("Yes"), text("A permit costs 25 euros a month."))
    response = list(_provider(openai_server).stream_chat(
        ChatRequest(model="m", messages=_searched("What does a permit cost?", PASSAGES))))[-1].response
    assert response.content == "A permit costs 25 euros a month." and response.passage_check == "yes"
    check, answer = openai_server.chat_requests[1:]  # then the check and the answer, one prefix
    assert check.body["messages"][0] == answer.body["messages"][0]
    assert answer.body["messages"][-1] == {"role": "user", "content": "What does a permit cost?"}
