"""The tool-call adapter for small local models (providers/tool_adapter.py): tool results
come back to the model as context it answers from, search passages with their titles. The
choice of a tool is the constrained decision's (test_tool_decision.py)."""

from __future__ import annotations

import json

from tests.scripted_openai import text
from workbench.providers.base import RESULT_SUMMARY, ChatRequest, ProviderConfig
from workbench.providers.openai_compat import OpenAICompatibleProvider
from workbench.providers.tool_adapter import (
    ANSWERING_SCORE,
    FOCUS_SENTENCES,
    FROM_PASSAGES_TEMPERATURE,
    CLEAR_MATCH,
    GROUNDING,
    GROUNDING_CLEAR,
    NOT_ABOUT,
    NOTHING_FOUND,
    REPLY_ASK,
    SAY_DONE,
    adapt_messages,
    adapt_request,
    focused,
    said_grammar,
    sentences,
    unknown_names,
)

NAMES = {"create_task", "search_knowledge"}
TOOLS = [{"type": "function", "function": {"name": n, "parameters": {"type": "object"}}}
         for n in sorted(NAMES)]


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


def test_tool_results_come_back_as_a_user_turn_and_the_model_is_told_to_answer():
    request = ChatRequest(model="m", messages=_turn_with_results(), tools=TOOLS)
    adapted = adapt_request(request)
    assert adapted.tool_choice == "none"  # it answers now instead of calling again
    assert adapted.messages[3:] == [
        {"role": "user", "content": "What does the handbook say about leave?"},
        {"role": "assistant", "content": 'I called search_knowledge({"query": "leave"}).'},
        {"role": "user", "content": f"search_knowledge returned: Staff get 31 days of leave."
                                    f"\n\n{REPLY_ASK}"}]
    assert adapt_request(adapted) == adapted  # idempotent: the runtime and provider both apply it
    assert request.messages == _turn_with_results()  # the original is not changed


def test_the_calls_of_an_answered_turn_are_left_out_and_a_new_question_keeps_the_tools():
    messages = _turn_with_results() + [
        {"role": "assistant", "content": "31 days."},
        {"role": "user", "content": "And sick days?"},
    ]
    adapted, ends_with_results = adapt_messages(messages)
    assert not ends_with_results
    assert adapted == [messages[0], messages[1], messages[2], messages[3],
                       {"role": "assistant", "content": "31 days."}, {"role": "user", "content": "And sick days?"}]
    assert adapt_request(ChatRequest(model="m", messages=messages, tools=TOOLS)).tools == TOOLS


def test_calls_left_without_a_reply_stay_as_turns():
    """A run that failed after its call left no reply: the next question still sees the call."""
    messages = _turn_with_results() + [{"role": "user", "content": "Hello?"}]
    adapted, ends_with_results = adapt_messages(messages)
    assert not ends_with_results
    assert [m["role"] for m in adapted] == ["system", "user", "assistant", "user", "assistant", "user", "user"]
    assert adapted[4]["content"] == 'I called search_knowledge({"query": "leave"}).'


def test_long_results_are_cut():
    messages = _turn_with_results()
    messages[-1]["content"] = "x" * 50_000
    adapted, _ = adapt_messages(messages)
    assert len(adapted[-1]["content"]) < 7000


def test_search_results_to_answer_from_go_into_the_system_turn_numbered_with_titles():
    hits = [{"title": "Returns policy", "document_id": 1, "chunk_id": 3, "position": 0, "page": None,
             "score": 0.61, "text": "Unopened items:\n  45 days."},
            {"title": "Shipping", "document_id": 2, "chunk_id": 4, "position": 0, "page": None,
             "score": ANSWERING_SCORE - 0.1, "text": "Express costs 12 euros."}]
    messages = _turn_with_results()
    messages[-1]["content"] = json.dumps(hits)
    adapted, ends_with_results = adapt_messages(messages)
    assert ends_with_results
    # the weak passage left out; the announcing turn too: it ends with the question
    assert adapted[0] == {"role": "system", "content": "Be brief.\n\n" + GROUNDING.format(
        tool="search_knowledge", passages="[1] Returns policy: Unopened items: 45 days.")}
    assert adapted[-1] == {"role": "user", "content": "What does the handbook say about leave?"}
    messages[-1]["content"] = "[]"
    assert adapt_messages(messages)[0][0]["content"] == (
        "Be brief.\n\n" + NOTHING_FOUND.format(tool="search_knowledge"))
    assert adapt_request(adapt_request(ChatRequest(model="m", messages=messages))).messages == (
        adapt_messages(messages)[0])  # idempotent
    # a passage matching as clearly as answering ones do: "I do not know" is not offered
    hits[0]["score"] = CLEAR_MATCH
    messages[-1]["content"] = json.dumps(hits)
    assert adapt_messages(messages)[0][0]["content"] == "Be brief.\n\n" + GROUNDING_CLEAR.format(
        tool="search_knowledge", passages="[1] Returns policy: Unopened items: 45 days.")


POLICIES = [  # one passage per topic, each sentence beside another with other figures
    {"title": "Shipping", "score": 0.7, "text": "Standard shipping takes 3 to 5 business days and is "
                                                 "free above 50 euros. Express shipping arrives the next "
                                                 "business day and costs 12 euros."},
    {"title": "Returns policy", "score": 0.6, "text": "Unopened items can be returned within 45 days.\n"
                                                       "Opened items can be returned within 14 days."},
    {"title": "Gift cards", "score": 0.55, "text": "Gift cards are valid for 3 years. Store credit is valid "
                                                    "for 12 months."}]


def test_sentences_split_at_a_full_stop_before_a_capital_or_a_figure():
    assert sentences("Open 8:30 to 17:00.  Closed on Fridays! 3 desks? e.g. the lobby") == [
        "Open 8:30 to 17:00.", "Closed on Fridays!", "3 desks? e.g. the lobby"]
    assert sentences("") == []


def test_an_answer_is_shown_the_sentences_closest_to_the_question_in_the_passages_order():
    """The real offline embedder: the express sentence, not standard shipping's beside it."""
    kept = focused("How fast is express shipping?", POLICIES)
    assert len(kept) == FOCUS_SENTENCES
    texts = [item["text"] for item in kept]
    assert "Express shipping arrives the next business day and costs 12 euros." in texts
    order = [s for item in POLICIES for s in sentences(item["text"])]
    assert texts == sorted(texts, key=order.index)  # as the passages have them
    assert all(item["title"] in {p["title"] for p in POLICIES} for item in kept)
    # no more sentences than are shown, or no question: every sentence, a line each
    assert focused("How fast is express shipping?", POLICIES[:1]) == [
        {"title": "Shipping", "text": "Standard shipping takes 3 to 5 business days and is free above 50 euros."},
        {"title": "Shipping", "text": "Express shipping arrives the next business day and costs 12 euros."}]
    assert len(focused("", POLICIES)) == 6


def test_the_system_turn_holds_the_focused_sentences_and_the_answer_is_checked_against_the_passages():
    messages = _turn_with_results()
    messages[3]["content"] = "How long can I return an opened item?"
    messages[-1]["content"] = json.dumps(POLICIES)
    adapted = adapt_request(ChatRequest(model="m", messages=messages))
    system = adapted.messages[0]["content"]
    assert "Opened items can be returned within 14 days." in system
    assert system.count("\n[") == FOCUS_SENTENCES  # numbered lines, one per sentence
    assert "Standard shipping" not in system
    # the check still knows every answering passage: a figure from one is not an invention
    assert any("Standard shipping takes 3 to 5" in source for source in adapted.sources)
    assert adapt_request(adapted) == adapted  # idempotent


def test_passages_that_do_not_mention_a_name_the_question_uses_answer_nothing():
    """Asked about a Madrid store, the model answered with the Lisbon office's hours."""
    offices = [{"title": "Lisbon office", "score": 0.6, "text": "Open Monday to Friday from 8:30 to 17:00."}]
    assert unknown_names("What are the opening hours of your Madrid store?", offices) == ["Madrid"]
    assert unknown_names("When does the Lisbon office open?", offices) == []
    assert unknown_names("Is Acme's Lisbon office open on Monday?", offices, "You work for Acme.") == []
    assert unknown_names("Madrid: when do you open?", offices) == []  # a sentence's first word is no name
    messages = _turn_with_results()
    messages[3]["content"] = "Does the Madrid office open on Monday?"
    messages[-1]["content"] = json.dumps(offices)
    system = adapt_messages(messages)[0][0]["content"]
    assert system == "Be brief.\n\n" + NOT_ABOUT.format(tool="search_knowledge", names="Madrid")


def test_an_answer_from_search_results_is_sampled_cooler_than_the_agents_temperature():
    searched = _turn_with_results()
    searched[-1]["content"] = "[]"
    adapted = adapt_request(ChatRequest(model="m", messages=searched, temperature=0.7))
    assert adapted.temperature == FROM_PASSAGES_TEMPERATURE < 0.7
    assert adapt_request(adapted) == adapted  # idempotent
    assert adapt_request(ChatRequest(model="m", messages=searched, temperature=0.0)).temperature == 0.0
    # another tool's result, or a new question: the agent's own temperature
    assert adapt_request(ChatRequest(model="m", messages=_turn_with_results(), temperature=0.7)).temperature == 0.7
    asked = [*searched, {"role": "assistant", "content": "I do not know."}, {"role": "user", "content": "Hi"}]
    assert adapt_request(ChatRequest(model="m", messages=asked, temperature=0.7)).temperature == 0.7


def test_an_action_that_says_what_it_did_is_given_as_the_sentence_to_reply_with():
    messages = _turn_with_results()
    messages[4]["tool_calls"][0]["function"] = {"name": "create_task", "arguments": '{"title": "Leave"}'}
    messages[-1]["content"] = json.dumps({"task_id": 7, "title": "Leave",
                                          RESULT_SUMMARY: "I have added the task\n \"Leave\"."})
    adapted, ends_with_results = adapt_messages(messages)
    assert ends_with_results
    assert adapted[0] == {"role": "system", "content": "Be brief.\n\n" + SAY_DONE.format(
        summary='I have added the task "Leave".')}
    # no "I called create_task(...)" turn to copy: it ends with the user's message
    assert adapted[1:] == [{"role": "user", "content": "Old question"},
                           {"role": "assistant", "content": "Old answer"},
                           {"role": "user", "content": "What does the handbook say about leave?"}]
    # and the reply is held to that sentence, greedily (the model answered around it)
    held = adapt_request(ChatRequest(model="m", messages=messages, temperature=0.7))
    assert held.grammar == said_grammar('I have added the task "Leave".') == 'root ::= "I have added the task \\"Leave\\"."'
    assert held.temperature == 0.0 and held.tool_choice == "none" and adapt_request(held) == held
    # A result without a sentence (or a blank one) comes back in a user turn, as before.
    for result in ({"task_id": 7}, {"task_id": 7, RESULT_SUMMARY: "  "}):
        messages[-1]["content"] = json.dumps(result)
        adapted, _ = adapt_messages(messages)
        assert adapted[0]["content"] == "Be brief." and adapted[-1]["content"].endswith(REPLY_ASK)


def test_provider_sends_the_adapted_messages(openai_server):
    openai_server.script(text("Staff get 31 days."))
    provider = OpenAICompatibleProvider(ProviderConfig(
        name="Small", kind="openai_compatible", base_url=openai_server.base_url, adapt_tools=True))
    request = ChatRequest(model="m", messages=_turn_with_results(), tools=TOOLS)
    response = list(provider.stream_chat(request))[-1].response
    assert response.content == "Staff get 31 days." and response.tool_calls == []
    sent = openai_server.last_request.body
    assert len(openai_server.chat_requests) == 1  # after results: no decision, it answers
    assert "tools" not in sent and "response_format" not in sent
    assert sent["messages"] == adapt_request(request).messages
