"""Whether the built-in model searches (providers/tool_decision.py): a decision to answer turned
into a search when the group's knowledge or the message points to the organisation
(`search_first`), a search the decision chose dropped when nothing does
(`unrelated_to_the_knowledge`), and the look at the knowledge before the call that both read
(runs.plan.knowledge_probe). The decision itself: tests/test_tool_decision.py."""

from __future__ import annotations

import json

import pytest

from tests.scripted_openai import text
from tests.test_message_reading import SUPPORT
from tests.test_tool_decision import BUILTINS, _provider
from workbench.providers.base import ChatRequest, KnowledgeProbe
from workbench.providers.builtin_model import model_id
from workbench.providers.message_reading import names_in
from workbench.providers.tool_decision import (
    RELATED_MATCH,
    STRONG_MATCH,
    decided_calls,
    search_first,
    unrelated_to_the_knowledge,
    with_decision,
)


def _asking(question: str, best_score: float, tools=BUILTINS, instructions: str = "") -> ChatRequest:
    probe = KnowledgeProbe(query=question, matches=[("Shipping", best_score), ("Returns", 0.1)])
    system = [{"role": "system", "content": instructions}] if instructions else []
    return with_decision(ChatRequest(model="m", messages=[*system, {"role": "user", "content": question}],
                                     tools=tools, knowledge_probe=probe))


def test_a_strong_knowledge_match_turns_the_choice_to_answer_into_a_search():
    [call] = search_first(_asking("How much is express shipping?", STRONG_MATCH + 0.1))
    assert call.name == "search_knowledge" and json.loads(call.arguments) == {
        "query": "How much is express shipping?"}
    assert search_first(_asking("What is 7 times 8?", RELATED_MATCH - 0.1)) == []
    no_search = [t for t in BUILTINS if t["function"]["name"] != "search_knowledge"]
    assert search_first(_asking("How much is express shipping?", 0.9, tools=no_search)) == []
    assert search_first(_asking("My express shipping order is late.", 0.9)) == []  # told, not asked


def test_a_strong_match_searches_unless_the_decision_calls_another_tool(openai_server):
    openai_server.script(text('{"tool": "answer"}'))
    response = list(_provider(openai_server).stream_chat(_asking("How much is express shipping?", 0.8)))[-1].response
    assert [c.name for c in response.tool_calls] == ["search_knowledge"] and response.content == ""
    assert len(openai_server.chat_requests) == 1  # no answer pass: the answer comes from the passages
    openai_server.script(text('{"tool": "call_human", "arguments": {"reason": "asks for a person"}}'))
    response = list(_provider(openai_server).stream_chat(_asking("Shipping: put me through to a person", 0.8)))[-1].response
    assert [c.name for c in response.tool_calls] == ["call_human"]


def test_a_decision_to_answer_searches_when_the_question_is_about_the_organisation():
    [call] = search_first(_asking("How many people work at Acme Bikes?", 0.1, instructions=SUPPORT))
    assert json.loads(call.arguments) == {"query": "How many people work at Acme Bikes?"}
    assert search_first(_asking("What is 7 times 8?", 0.1, instructions=SUPPORT)) == []
    # without instructions naming it, the name is just a word
    assert search_first(_asking("How many people work at Acme Bikes?", 0.1)) == []


def test_a_decision_to_answer_searches_when_the_question_names_what_the_closest_passages_name():
    def asking(question: str, names: list[str]) -> ChatRequest:
        probe = KnowledgeProbe(query=question, matches=[("Warranty", RELATED_MATCH - 0.1)], names=names)
        return with_decision(ChatRequest(model="m", messages=[{"role": "user", "content": question}],
                                         tools=BUILTINS, knowledge_probe=probe))

    [call] = search_first(asking("What is the weight of the Toaster Max?", ["Kettle", "Max", "Pro", "Toaster"]))
    assert call.name == "search_knowledge"
    assert search_first(asking("What is the weight of the Toaster Max?", [])) == []  # the score alone: no
    assert search_first(asking("What is the weight of a toaster?", ["Max", "Toaster"])) == []  # as written
    assert names_in("Warranty.\nEvery Kettle Pro carries a 2-year warranty. The Toaster Max too.") == {
        "Kettle", "Pro", "Toaster", "Max"}  # "Warranty", "Every" and "The" start a line or a sentence
    assert names_in("The office is open Monday to Friday, in March and on Saturdays.") == set()


def test_a_decision_to_answer_searches_when_a_passage_is_related_to_the_message():
    [call] = search_first(_asking("Is there a lift in the Lisbon office?", RELATED_MATCH))
    assert call.name == "search_knowledge"
    assert search_first(_asking("Is there a lift in the Lisbon office?", RELATED_MATCH - 0.01)) == []


def _searched(question: str, best_score: float, words: list[str], instructions: str = SUPPORT) -> ChatRequest:
    """`question` with a knowledge probe whose passages score `best_score` and use `words`."""
    probe = KnowledgeProbe(query=question, matches=[("Shipping", best_score), ("Returns", 0.05)],
                           words=words)
    return with_decision(ChatRequest(model="m", messages=[{"role": "system", "content": instructions},
                                                          {"role": "user", "content": question}],
                                     tools=BUILTINS, knowledge_probe=probe))


SEARCHED = '{"tool": "search_knowledge", "arguments": {"query": "capital of Spain"}}'
PASSAGE_WORDS = ["business", "day", "delivery", "euro", "expres", "fre", "shipp", "standard"]


def test_a_search_for_a_question_nothing_relates_to_the_knowledge_is_answered_instead():
    general = _searched("Which country has Madrid as its capital?", 0.2, PASSAGE_WORDS)
    assert unrelated_to_the_knowledge(general)
    assert decided_calls(general, SEARCHED) == (
        [], "nothing relates the message to the organisation or its knowledge")
    # words of no subject shared with a passage ("and") do not relate it
    assert unrelated_to_the_knowledge(_searched("Which ocean lies between Europe and America?", 0.16,
                                                [*PASSAGE_WORDS, "and"]))
    # a call to another tool stands
    task = '{"tool": "create_task", "arguments": {"title": "Look up Madrid", "priority": "low"}}'
    assert [c.name for c in decided_calls(general, task)[0]] == ["create_task"]


@pytest.mark.parametrize("question, best_score, words", [
    ("How long does express delivery take?", 0.2, PASSAGE_WORDS),  # a subject word shared
    ("Which country has Madrid as its capital?", RELATED_MATCH, PASSAGE_WORDS),  # a related passage
    ("Do you have a showroom in Faro?", 0.27, PASSAGE_WORDS),  # asks what the organisation has
    ("What is your phone number?", 0.1, PASSAGE_WORDS),  # "your"
    ("How many people work at Acme Bikes?", 0.1, PASSAGE_WORDS),  # a name of the instructions
    ("Search the knowledge base for Madrid.", 0.1, PASSAGE_WORDS),  # asked to search
])
def test_a_search_the_decision_makes_stands_when_something_points_to_the_organisation(question, best_score, words):
    request = _searched(question, best_score, words)
    assert not unrelated_to_the_knowledge(request)
    assert decided_calls(request, SEARCHED)[1] is None
    assert [c.name for c in decided_calls(request, SEARCHED)[0]] == ["search_knowledge"]


def test_the_provider_answers_instead_and_says_why_the_search_was_not_made(openai_server):
    openai_server.script(text(SEARCHED), text("Spain."))
    request = _searched("Which country has Madrid as its capital?", 0.2, PASSAGE_WORDS)
    response = list(_provider(openai_server).stream_chat(request))[-1].response
    assert response.tool_calls == [] and response.content == "Spain."
    assert response.decision == SEARCHED
    assert response.decision_set_aside == "nothing relates the message to the organisation or its knowledge"
    openai_server.script(text('{"tool": "answer"}'), text("Spain."))  # nothing set aside
    assert list(_provider(openai_server).stream_chat(request))[-1].response.decision_set_aside is None


def test_without_a_look_at_the_knowledge_a_search_the_decision_makes_stands():
    request = with_decision(ChatRequest(model="m", messages=[{"role": "user", "content": "Capital of Spain?"}],
                                        tools=BUILTINS))
    assert not unrelated_to_the_knowledge(request)
    assert decided_calls(request, SEARCHED)[1] is None
    assert [c.name for c in decided_calls(request, SEARCHED)[0]] == ["search_knowledge"]


def _run_on_scripted_server(wb, builtin_on_scripted, message: str):
    """One run of a search_knowledge agent on the group's built-in provider, its embedded
    server replaced by the scripted one: (the result, its trace steps in order)."""
    from sqlalchemy import select

    from workbench import runs
    from workbench.db import session_scope
    from workbench.models import RunStep

    thread = builtin_on_scripted(["search_knowledge"], name="Looks first")
    result = runs.continue_thread(thread.id, message, wb.person_id).wait(30)
    with session_scope() as s:
        steps = s.scalars(select(RunStep).where(RunStep.run_id == result.run_id).order_by(RunStep.seq)).all()
    return result, steps


def test_a_failing_look_at_the_knowledge_leaves_the_run_to_decide_alone(wb, openai_server, monkeypatch, caplog,
                                                                        builtin_on_scripted):
    """The run's look at its group's knowledge before the call (runs.plan.knowledge_probe)
    is only a look ahead: when the knowledge store fails, the run still decides and answers,
    its trace step carries no probe, and the failure is logged."""
    from workbench import knowledge

    def store_down(*_args, **_kwargs):
        raise ConnectionError("the Chroma server is down")

    monkeypatch.setattr(knowledge, "closest_passages", store_down)
    openai_server.script(text('{"tool": "answer"}'), text("Answered anyway."))
    with caplog.at_level("WARNING"):
        result, [step] = _run_on_scripted_server(wb, builtin_on_scripted, "What is our refund window?")
    assert result.status == "complete" and result.reply == "Answered anyway.", result.error
    assert step.kind == "model_call" and "knowledge_probe" not in step.request
    assert "response_format" in step.request["decision"]  # it still decided
    assert any("knowledge before the call failed" in r.getMessage() for r in caplog.records)


def test_the_look_at_the_knowledge_names_what_its_passages_name_and_a_question_naming_it_searches(
        wb, openai_server, builtin_on_scripted):
    """A passage that names the product asked about, though it scores under RELATED_MATCH
    (it does not speak of weights), makes the decision to answer a search; the probe in the
    trace step carries the passages' names."""
    from workbench import knowledge

    knowledge.add_snippet(wb.person_id, wb.group_id, "Warranty",
                          "Every Kettle Pro carries a 2-year warranty, and the Toaster Max a 3-year one.")
    openai_server.script(text('{"tool": "answer"}'), text("I do not know."))
    result, steps = _run_on_scripted_server(wb, builtin_on_scripted, "What is the weight of the Toaster Max?")
    assert result.status == "complete", result.error
    probe = steps[0].request["knowledge_probe"]
    assert probe["matches"][0][0] == "Warranty" and probe["matches"][0][1] < RELATED_MATCH
    assert probe["names"] == ["Kettle", "Max", "Pro", "Toaster"]
    assert {"kettl", "toaster", "warranty"} <= set(probe["words"])  # what the passages speak of
    assert [(st.kind, st.name) for st in steps][:2] == [("model_call", model_id()), ("tool_call", "search_knowledge")]


def test_the_trace_step_says_why_a_search_the_decision_chose_was_not_made(wb, openai_server, builtin_on_scripted):
    from workbench import knowledge

    knowledge.add_snippet(wb.person_id, wb.group_id, "Shipping",
                          "Standard shipping takes 3 to 5 business days and is free above 50 euros.")
    openai_server.script(text(SEARCHED), text("Spain."))
    result, steps = _run_on_scripted_server(wb, builtin_on_scripted, "Which country has Madrid as its capital?")
    assert result.status == "complete" and result.reply == "Spain."
    assert [st.kind for st in steps] == ["model_call"]  # no search
    assert steps[0].response["decision"] == SEARCHED
    assert steps[0].response["decision_set_aside"] == (
        "nothing relates the message to the organisation or its knowledge")
    assert "capital" not in steps[0].request["knowledge_probe"]["words"]


def test_a_word_shared_only_with_a_passage_about_something_else_does_not_relate_the_message(
        wb, openai_server, builtin_on_scripted):
    """"standard" is in the question and in the shipping passage, which scores under
    PROBE_WORDS_SCORE against it: the probe leaves that passage's words out, so the search the
    decision chose is not made and the model answers."""
    from workbench import knowledge
    from workbench.runs.plan import PROBE_WORDS_SCORE

    knowledge.add_snippet(wb.person_id, wb.group_id, "Shipping",
                          "Standard shipping takes 3 to 5 business days and is free above 50 euros.")
    openai_server.script(text(SEARCHED), text("6"))
    result, steps = _run_on_scripted_server(
        wb, builtin_on_scripted, "How many strings does a standard guitar have?")
    assert result.status == "complete" and result.reply == "6"
    probe = steps[0].request["knowledge_probe"]
    assert probe["matches"][0][0] == "Shipping" and probe["matches"][0][1] < PROBE_WORDS_SCORE
    assert probe["words"] == [] and [st.kind for st in steps] == ["model_call"]
    assert steps[0].response["decision_set_aside"] == (
        "nothing relates the message to the organisation or its knowledge")
