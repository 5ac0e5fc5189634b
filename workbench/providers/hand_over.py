"""A request for a person, handed to call_human whatever the built-in model's decision chose.

Asked in the form of a question ("Is a supervisor available to speak with me?", "Can a real
human take over this chat?", "Is anyone human available to take my case?"), the model's
decision answered "Yes, a supervisor is available to speak with you.", filed a task, or
searched the knowledge and said it did not know; the same message, in most of its runs,
made the same wrong choice. So when the user's new message names a person (a human, someone,
staff, an agent, a manager ...) a few words from reaching or wanting them (speak, talk, call,
connect, take over, available, want, give me ...), asks for no task, and call_human is
offered, the call made is call_human with the user's words as its reason (`handed_over`); the
trace step says so. Over the 567 messages of bench/agent_behaviours.py's 22 sets the sign
holds for 59 of the 63 asking for a person and for none of the 504 others (README, "A request
for a person")."""

from __future__ import annotations

import json
import re
import uuid

from .base import ChatRequest, ToolCallRequest
from .message_reading import last_user_text
from .tool_decision import offered_tools

CALL_HUMAN = "call_human"
PERSON = re.compile(r"\b(?:humans?|person|someone|somebody|anyone|anybody|staff|agents?|representatives?|"
                    r"supervisors?|managers?|colleagues?|operators?|team\s+members?|members?\s+of\s+(?:your\s+)?"
                    r"(?:staff|team)|employees?|boss)\b", re.IGNORECASE)
# Reaching a person, or wanting one ("I want a real person", "Give me a human").
REACHING = re.compile(r"\b(?:speak|talk|chat|call|ring|phone|connect|transfer|put\s+me\s+through|take\s+over|"
                      r"escalate|hand|pass|deal\s+with|available|get|fetch|want|need|demand|insist|like|prefer|"
                      r"rather|give\s+me|put|touch)\b", re.IGNORECASE)
NEAR = 8  # words from the person to reaching them, at most: "Hand this conversation to one of your human staff"
# A task asked for is a task, whoever it names: "file a task to get the staff kitchen cleaned".
TASK = re.compile(r"\b(?:tasks?|tickets?|to-?dos?)\b", re.IGNORECASE)
HANDED_OVER = "the message asks for a person"


def _word_spans(message: str, pattern: re.Pattern) -> list[int]:
    """The word index where each match of `pattern` starts."""
    return [len(message[:m.start()].split()) for m in pattern.finditer(message)]


def asks_for_a_person(message: str) -> bool:
    """Whether `message` asks to reach a person: it names one (PERSON) within NEAR words of
    reaching or wanting them (REACHING), and asks for no task."""
    if TASK.search(message):
        return False
    people, reaching = _word_spans(message, PERSON), _word_spans(message, REACHING)
    return any(abs(p - r) <= NEAR for p in people for r in reaching)


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
