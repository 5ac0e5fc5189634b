"""The built-in model's choice between calling a tool and answering, made by llama.cpp's
constrained decoding rather than read from free text.

Offered tools, the small model may write a call as prose, name a tool after its arguments,
or answer in JSON. So a request that offers tools (and `tool_choice` is not "none") gets a
decision made first (`with_decision`):

1. The decision: the conversation, then a system turn listing the tools and asking for the
   next step, sent with a JSON Schema `response_format` (`decision_schema`): one branch per
   tool, `{"tool": <its name, const>, "arguments": <its parameters' schema>}`, and one
   `{"tool": "answer"}`. The server's grammar admits nothing else, so a call always names an
   offered tool with arguments that match its schema. Temperature 0 and a fixed seed: the
   same conversation makes the same choice.
2. If the choice is to answer: the conversation without tools, streamed at the agent's own
   temperature. The decision's prompt starts with this one, so the server's prompt cache
   has it already and the second pass only decodes the answer.

Both requests are built before anything is sent, so the trace records them as they go.

Examples: before the conversation the decision is shown a few finished turns (`EXAMPLES`),
each kept only when its tool is offered: a sum and a general question answered, a statement
about the user answered, a question about the organisation searched (its query the phrase
to look up), a request for someone on the staff handed to call_human. Without them this
model filed "I need a manager to look at my complaint." as a task, asked about its company
it mostly answered from nothing, and it called a tool on "I live in Tampere."; measured on
bench/agent_behaviours.py (README). An example that is not balanced moves every choice: with
the call_human turn alone, questions about prices and phone numbers went to call_human;
with a search turn and no statement, "I live in Tampere." was searched.

Searching first: a question about the organisation that the model still answers is turned
into a search. The run looks at the group's knowledge before the call
(`ChatRequest.knowledge_probe`, runs.plan): when a passage matches the user's message
strongly (score >= STRONG_MATCH) and the decision chooses to answer, the call made is
search_knowledge with the message as its query (`search_first`), run and traced like any
call; the answer then comes from the passages. A decision to call another tool (a task, a
human) stands. Two more signs that the message asks about the organisation also search first
(message_reading.asks_about_the_organisation: it says "your", asks what "you" sell or what
the user may do as a customer, or names a name of the agent's instructions or of the
passages the probe found); and a passage that matches the message at least RELATED_MATCH
(the knowledge talks about what the message names, although no passage answers it). A search
that finds no answering passage makes the reply "I do not know" (tool_adapter), the honest
reply to such a question.

Not searching: a search the decision chooses is dropped, and the model answers from what it
knows, when nothing points the message to the organisation or its knowledge
(`unrelated_to_the_knowledge`: no passage scores RELATED_MATCH or shares a word of its
subject, none of the signs above, no ask to search). Both models searched general questions
("Which country has Madrid as its capital?", "how many continents") and then said they did
not know.

What the decision calls is then read as the user meant it (`decided_calls`): a string
argument the model wrote with another case or without a small word the user's message has
("Email Supplier About Late Deliveries") is given as the user wrote it; a search for a
message that only tells something about the user ("My flight leaves from gate B12.") is
dropped, and the model answers (nor is it searched first, below), as is a search for a
question about what they told earlier ("Which gate does my flight leave from?",
message_reading.told_earlier); and an argument that is a choice among a few values (a task's priority) is
required by the grammar, so the model cannot write it into a description and leave it out.

Until the examples, a decision to answer also searched when the model's own odds of
searching (its log probabilities at the tool name) came close to those of answering. With
the examples, dev questions that need no search came to 0.3-0.4 of answering, where the
threshold had been, and every dev question about the organisation was searched by the
decision or by the signs above; the rule and the log probabilities it read were removed."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import replace
from typing import Any

from .base import ChatRequest, ToolCallRequest
from .decided_arguments import as_the_user_wrote_it, query_keeping_names
from .message_reading import (
    ASKS_TO_SEARCH,
    asks_about_the_organisation,
    instructions_of,
    last_user_text,
    states_a_fact,
    subject_words,
    told_earlier,
)

ANSWER = "answer"
DECISION_SEED = 0
# Room for a call with a few short arguments; string arguments are capped to fit in it.
DECISION_MAX_TOKENS = 256
MAX_STRING_CHARS = 300
SEARCH_KNOWLEDGE = "search_knowledge"
# A passage that clearly matches: the answer searches first (0.5, the floor an answer from
# passages had before it was checked: tool_adapter.ANSWERING_SCORE).
STRONG_MATCH = 0.5
# A passage scoring this much shares the message's subject (an office, a product) without
# answering it: on the dev and held-out cases messages that need no search scored at most
# 0.25 against the bench's knowledge, questions about what it names 0.42 and up.
RELATED_MATCH = 0.35
DECIDE = (
    "Before each reply you decide its next step: answer in words, or call one tool.\n"
    "Your choices:\n"
    "- {answer}: reply in words yourself, from what you know and what was said in this "
    "conversation.\n"
    "{tools}\n"
    "Call a tool when the user asks for what it does, or asks about facts you cannot know "
    "yourself (your organisation, its products, policies, documents, people).\n"
    "Copy names, titles and values exactly as the user wrote them.\n"
    "Give the decision as JSON: {{\"tool\": \"<tool name>\", \"arguments\": {{...}}}} or "
    "{{\"tool\": \"{answer}\"}}.")


# Turns shown before the conversation, in this order: (message, tool, its arguments), or the
# tool None for an answer in words. A tool's turn is shown only when the tool is offered.
EXAMPLES: list[tuple[str, str | None, dict[str, Any] | None]] = [
    ("What is 9 times 8?", None, None),
    ("What are your opening hours on Saturdays?", SEARCH_KNOWLEDGE, {"query": "opening hours on Saturdays"}),
    ("My sister's name is Ana.", None, None),
    ("Could someone from your staff look into my problem?", "call_human",
     {"reason": "The user asks for a member of staff to look into their problem."}),
    ("Which planet is the largest?", None, None),
]


def _function(tool: dict[str, Any]) -> dict[str, Any]:
    return tool.get("function") or {}


def answer_choice(tools: list[dict[str, Any]]) -> str:
    """The decision's name for answering in words: "answer", unless a tool has that name."""
    names = {_function(t).get("name") for t in tools}
    choice = ANSWER
    while choice in names:
        choice = f"{choice}_in_words"
    return choice


def _bounded(schema: Any) -> Any:
    """The schema with every string capped at MAX_STRING_CHARS (a decision's tokens are
    few: an uncapped string could run past them and cut the JSON)."""
    if isinstance(schema, list):
        return [_bounded(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    bounded = {key: _bounded(value) for key, value in schema.items()}
    if bounded.get("type") == "string" and "enum" not in bounded and "const" not in bounded:
        bounded["maxLength"] = min(int(bounded.get("maxLength", MAX_STRING_CHARS)), MAX_STRING_CHARS)
    return bounded


def _choices_required(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters with every choice among a few values (an `enum`) required: left
    optional, this model wrote "It is high priority" into a task's description and left the
    priority out (bench/agent_behaviours.py, fresh-3). It now always picks one; the value a
    tool would default to is among them."""
    properties = params.get("properties")
    if not isinstance(properties, dict):
        return params
    required = list(params.get("required") or [])
    choices = [name for name, spec in properties.items()
               if isinstance(spec, dict) and "enum" in spec and name not in required]
    return {**params, "required": required + choices} if choices else params


def arguments_schema(tool: dict[str, Any]) -> dict[str, Any]:
    """A tool's parameters as the decision's grammar holds them (no parameters: `{}`)."""
    params = copy.deepcopy(_function(tool).get("parameters") or {})
    params.setdefault("type", "object")
    if params["type"] == "object" and not params.get("properties"):
        params.setdefault("additionalProperties", False)
    return _bounded(_choices_required(params))


def decision_schema(tools: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON Schema a decision must match: one branch per tool, one for answering."""
    branches = [{"type": "object", "properties": {"tool": {"const": answer_choice(tools)}},
                 "required": ["tool"], "additionalProperties": False}]
    for tool in tools:
        branches.append({"type": "object",
                         "properties": {"tool": {"const": _function(tool)["name"]},
                                        "arguments": arguments_schema(tool)},
                         "required": ["tool", "arguments"], "additionalProperties": False})
    return {"anyOf": branches}


def _describe(tool: dict[str, Any]) -> str:
    fn = _function(tool)
    params = (fn.get("parameters") or {}).get("properties") or {}
    required = set((fn.get("parameters") or {}).get("required") or [])
    args = []
    for name, spec in params.items():
        kind = " or ".join(json.dumps(v) for v in spec["enum"]) if "enum" in spec else spec.get("type", "any")
        args.append(f"{name} ({kind}{'' if name in required else ', optional'})")
    line = f"- {fn['name']}: {(fn.get('description') or '').strip()}"
    return line + (f" Arguments: {', '.join(args)}." if args else "")


def example_turns(tools: list[dict[str, Any]]) -> list[tuple[str, str | None, dict[str, Any] | None]]:
    """The EXAMPLES shown for these tools: every answer, and each call of an offered tool."""
    offered = {_function(t).get("name") for t in tools}
    return [example for example in EXAMPLES if example[1] is None or example[1] in offered]


def decision_request(request: ChatRequest) -> ChatRequest:
    """The constrained call that decides between the request's tools and an answer: the
    instructions and tools in the system turn (the same for every call of an agent, so the
    server's prompt cache holds them), then the conversation."""
    tools = request.tools or []
    decide = DECIDE.format(tools="\n".join(_describe(t) for t in tools), answer=answer_choice(tools))
    examples = []
    for text, tool, arguments in example_turns(tools):
        step = {"tool": tool, "arguments": arguments} if tool else {"tool": answer_choice(tools)}
        examples += [{"role": "user", "content": text}, {"role": "assistant", "content": json.dumps(step)}]
    messages = [{"role": "system", "content": decide}, *examples, *request.messages]
    return ChatRequest(
        model=request.model, messages=messages, temperature=0.0, seed=DECISION_SEED,
        max_tokens=DECISION_MAX_TOKENS,
        response_format={"type": "json_schema",
                         "json_schema": {"name": "next_step", "schema": decision_schema(tools)}})


def with_decision(request: ChatRequest) -> ChatRequest:
    """`request` as two passes: a decision first, then the answer without tools. A request
    without tools, or told to answer (`tool_choice` "none"), stays one plain call."""
    if request.decision is not None:
        return request
    if not request.tools or request.tool_choice == "none":
        return replace(request, tools=None, tool_choice=None)
    return replace(request, tools=None, tool_choice=None, decision=decision_request(request))


def decision_tools(response_format: dict[str, Any] | None) -> set[str]:
    """The tool names a decision's schema admits (its answer branch left out)."""
    branches = (((response_format or {}).get("json_schema") or {}).get("schema") or {}).get("anyOf") or []
    return {b["properties"]["tool"]["const"] for b in branches if "arguments" in b.get("properties", {})}


def offered_tools(request: ChatRequest) -> set[str]:
    """The tools `request`'s decision may call (none without a decision)."""
    return decision_tools(request.decision.response_format) if request.decision else set()


def read_decision(text: str, response_format: dict[str, Any] | None, said: str = "") -> list[ToolCallRequest]:
    """The tool call a decision names, or [] for the answer. The grammar made the text
    match the schema in `response_format`; anything else (a reply cut at the token limit)
    counts as the choice to answer, so the user still gets a reply. Given the user's message
    (`said`), each string argument is kept as the user wrote it (`as_the_user_wrote_it`)."""
    try:
        choice = json.loads(text)
    except ValueError:
        return []
    if not isinstance(choice, dict) or choice.get("tool") not in decision_tools(response_format):
        return []
    arguments = {key: as_the_user_wrote_it(value, said) if isinstance(value, str) else value
                 for key, value in (choice.get("arguments") or {}).items()}
    if choice["tool"] == SEARCH_KNOWLEDGE and isinstance(arguments.get("query"), str):
        arguments["query"] = query_keeping_names(arguments["query"], said)
    return [ToolCallRequest(id=f"call_{uuid.uuid4().hex[:24]}", name=choice["tool"],
                            arguments=json.dumps(arguments, ensure_ascii=False))]


def unrelated_to_the_knowledge(request: ChatRequest) -> bool:
    """Whether nothing points the user's last message to the organisation or its knowledge:
    no passage of the group's closest to it (the knowledge probe) scores RELATED_MATCH or
    more or shares a word of its subject (`subject_words`), it does not ask about the agent's
    side (`asks_about_the_organisation`) and does not ask to search. The decision searched
    "Which country has Madrid as its capital?" (0.20, nothing shared) and the reply was "I do
    not know". False without a probe: no knowledge, or not looked at."""
    probe = request.knowledge_probe
    message = last_user_text(request)
    if probe is None or not probe.matches or ASKS_TO_SEARCH.search(message):
        return False
    if max(score for _, score in probe.matches) >= RELATED_MATCH:
        return False
    if asks_about_the_organisation(message, instructions_of(request), probe.names):
        return False
    return not subject_words(message) & set(probe.words)


def decided_calls(request: ChatRequest, text: str) -> tuple[list[ToolCallRequest], str | None]:
    """The calls a decision makes (`read_decision`, string arguments as the user wrote them),
    and why a search it chose is not made (`search_set_aside`, else None): no search for a
    message that states a fact about the user (searched, "I live in Tampere." got "the
    knowledge base says nothing about that", and the question about it next was searched as
    well), asks about one told earlier (`told_earlier`), or that nothing relates to the
    organisation or its knowledge (`unrelated_to_the_knowledge`)."""
    message = last_user_text(request)
    calls = read_decision(text, request.decision.response_format if request.decision else None, message)
    set_aside = search_set_aside(request) if [c.name for c in calls] == [SEARCH_KNOWLEDGE] else None
    return ([], set_aside) if set_aside else (calls, None)


def search_set_aside(request: ChatRequest) -> str | None:
    """Why a search the decision chooses for the user's last message is not made (shown in
    the trace step), or None when it is made."""
    if states_a_fact(last_user_text(request)):
        return "the message tells something about the user"
    if told_earlier(request):
        return "the message asks about what the user told earlier in the conversation"
    if unrelated_to_the_knowledge(request):
        return "nothing relates the message to the organisation or its knowledge"
    return None


def search_first(request: ChatRequest) -> list[ToolCallRequest]:
    """The call made instead of answering: search_knowledge with the user's message as its
    query, when the group's knowledge holds a passage matching it strongly, or the message
    asks about the organisation (a passage related to it, or `asks_about_the_organisation`).
    [] when search_knowledge is not offered, the knowledge is empty, or the message only tells
    something about the user (`states_a_fact`: "My meeting is at 3 pm on Thursday." matched a
    passage and was searched, and the question about it next too) or asks about what they
    told earlier (`told_earlier`)."""
    probe = request.knowledge_probe
    offered = offered_tools(request)
    if (probe is None or not probe.matches or SEARCH_KNOWLEDGE not in offered or states_a_fact(probe.query)
            or told_earlier(request)):
        return []
    best = max(score for _, score in probe.matches)
    about = best >= RELATED_MATCH or asks_about_the_organisation(probe.query, instructions_of(request), probe.names)
    if not (best >= STRONG_MATCH or about):
        return []
    return [ToolCallRequest(id=f"call_{uuid.uuid4().hex[:24]}", name=SEARCH_KNOWLEDGE,
                            arguments=json.dumps({"query": probe.query}, ensure_ascii=False))]
