"""A request for a person goes to call_human whatever the built-in model's decision chose
(providers/hand_over.py): the sign, the calls made, and a whole run against the scripted
server with the escalation made and the trace saying why."""

from __future__ import annotations

import json

import pytest

from tests.scripted_openai import text
from tests.test_tool_decision import BUILTINS, _provider
from workbench.providers.base import ChatRequest, ToolCallRequest
from workbench.providers.builtin_model import model_id
from workbench.providers.hand_over import HANDED_OVER, asks_for_a_person, handed_over
from workbench.providers.tool_decision import with_decision


@pytest.mark.parametrize(("message", "asks"), [
    ("Is a supervisor available to speak with me?", True),
    ("Can a real human take over this chat?", True),
    ("Is anyone human available to take my case?", True),
    ("Please connect me with one of your support agents.", True),
    ("Could you get a colleague of yours to call me back?", True),
    ("Who is the manager of the Porto office?", False),  # a question about a person, not for one
    ("How many people work at the Lisbon office?", False),
    ("Can I call the Porto office on Fridays?", False),  # no person named
    ("Create a task for the operations manager to order chairs.", False),
    ("The fridge in the staff kitchen smells bad; file a task to get it cleaned.", False),  # a task asked for
    ("I want a real person, now.", True),  # wanting one
    ("Give me a human, not a machine.", True),
    ("Our staff park in the garage; can you tell me what the permit costs? Someone said 25 euros, I "
     "think, but I would like to know for sure.", False),  # a person, and far from the wanting
    ("What is 12 plus 30?", False),
])
def test_a_message_asks_for_a_person_when_it_names_one_near_reaching_them(message, asks):
    assert asks_for_a_person(message) is asks


def _asking(message: str, tools=BUILTINS) -> ChatRequest:
    return with_decision(ChatRequest(model="m", messages=[{"role": "user", "content": message}], tools=tools))


def _call(name: str, **arguments) -> ToolCallRequest:
    return ToolCallRequest(id="c1", name=name, arguments=json.dumps(arguments))


def test_a_request_for_a_person_replaces_an_answer_a_search_or_a_task():
    asking = _asking("Is a supervisor available to speak with me?")
    for chosen in ([], [_call("search_knowledge", query="supervisor")], [_call("create_task", title="Supervisor")]):
        [call] = handed_over(asking, chosen)
        assert call.name == "call_human"
        assert json.loads(call.arguments) == {
            "reason": 'The user asks for a person: "Is a supervisor available to speak with me?"'}
    # the decision's own call to a human stands, with its reason
    assert handed_over(asking, [_call("call_human", reason="asks")]) is None
    # not for other messages, nor when no human can be called
    assert handed_over(_asking("How long does shipping take?"), []) is None
    no_human = [t for t in BUILTINS if t["function"]["name"] != "call_human"]
    assert handed_over(_asking("Is a supervisor available to speak with me?", no_human), []) is None


def test_the_provider_calls_a_human_when_the_decision_answered(openai_server):
    openai_server.script(text('{"tool": "answer"}'))
    response = list(_provider(openai_server).stream_chat(_asking("Can a real human take over this chat?")))[-1].response
    assert [c.name for c in response.tool_calls] == ["call_human"] and response.content == ""
    assert response.decision == '{"tool": "answer"}' and response.decision_replaced == HANDED_OVER
    assert len(openai_server.chat_requests) == 1  # no answer pass


def test_a_run_hands_the_request_over_and_the_trace_says_why(wb, openai_server, builtin_on_scripted):
    from sqlalchemy import select

    from workbench import runs
    from workbench.db import session_scope
    from workbench.models import Connection, RunStep, Thing

    thread = builtin_on_scripted(["call_human", "create_task"], name="Support")
    openai_server.script(text('{"tool": "create_task", "arguments": {"title": "Human takeover"}}'),
                         text("I have asked a person from the team to join."))
    result = runs.continue_thread(thread.id, "Can a real human take over this chat?", wb.person_id).wait(30)
    assert result.status == "complete", result.error
    with session_scope() as s:
        steps = s.scalars(select(RunStep).where(RunStep.run_id == result.run_id).order_by(RunStep.seq)).all()
        assert [(st.kind, st.name) for st in steps][:2] == [("model_call", model_id()), ("tool_call", "call_human")]
        assert steps[0].response["decision_replaced"] == HANDED_OVER
        assert json.loads(steps[0].response["decision"])["tool"] == "create_task"
        escalations = s.scalars(select(Connection).where(Connection.group_id == wb.group_id,
                                                         Connection.type == "escalated_to")).all()
        assert [e.data["reason"] for e in escalations] == [
            'The user asks for a person: "Can a real human take over this chat?"']
        assert not s.scalars(select(Thing).where(Thing.group_id == wb.group_id, Thing.type == "task")).all()
