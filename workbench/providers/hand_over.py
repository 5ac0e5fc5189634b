"""A request for a person, handed to call_human whatever the built-in model's decision chose.

Asked in the form of a question ("Is a supervisor available to speak with me?", "Can a real
human take over this chat?", "Is anyone human available to take my case?"), the model's
decision answered "Yes, a supervisor is available to speak with you.", filed a task, or
searched the knowledge and said it did not know; the same message, in most of its runs,
made the same wrong choice. So when the user's new message names a person (a human, someone,
staff, an agent, a manager ...) together with reaching them (speak, talk, call, connect, take
over, available ...) and call_human is offered, the call made is call_human with the user's
words as its reason (`handed_over`); the trace step says so. Over the 432 messages of
bench/agent_behaviours.py's sets the sign holds for 41 of the 54 asking for a person and for
none of the 378 others (README, "A request for a person")."""

from __future__ import annotations

import json
import re
import uuid

from .base import ChatRequest, ToolCallRequest
from .message_reading import last_user_text
from .tool_decision import offered_tools

CALL_HUMAN = "call_human"
PERSON = re.compile(r"\b(?:humans?|person|someone|somebody|anyone|anybody|staff|agents?|representatives?|"
                    r"supervisors?|managers?|colleagues?|operators?|team\s+members?)\b", re.IGNORECASE)
REACHING = re.compile(r"\b(?:speak|talk|chat|call|ring|phone|connect|transfer|put\s+me\s+through|take\s+over|"
                      r"escalate|hand|pass|deal\s+with|available|get|fetch)\b", re.IGNORECASE)
HANDED_OVER = "the message asks for a person"


def asks_for_a_person(message: str) -> bool:
    """Whether `message` asks to reach a person: it names one (PERSON) and reaching them (REACHING)."""
    return bool(PERSON.search(message) and REACHING.search(message))


def handed_over(request: ChatRequest, calls: list[ToolCallRequest]) -> list[ToolCallRequest] | None:
    """call_human for the user's last message when it asks for a person, call_human is
    offered and the decision chose something else (`calls`: its calls, [] to answer); else
    None, and the decision stands."""
    message = last_user_text(request)
    if CALL_HUMAN not in offered_tools(request) or CALL_HUMAN in [c.name for c in calls] or not asks_for_a_person(message):
        return None
    reason = f'The user asks for a person: "{" ".join(message.split())}"'
    return [ToolCallRequest(id=f"call_{uuid.uuid4().hex[:24]}", name=CALL_HUMAN,
                            arguments=json.dumps({"reason": reason[:2000]}, ensure_ascii=False))]
