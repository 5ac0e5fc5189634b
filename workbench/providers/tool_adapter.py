"""Tool results for small local models that cannot follow the tool-call protocol.

Shown a result in a `tool` message, the built-in model (Qwen2.5-Coder-0.5B) tends to call
the same tool again; it answers from a result given as context in a user turn. So, only for
providers that opt in (`ProviderConfig.adapt_tools`), `adapt_request` turns tool calls and
results into plain turns: the assistant says which tool it called, and the results come
back in a user turn asking for a reply from them; a request that ends with results offers
no tools, so the model answers. Whether to call a tool at all is tool_decision's business.

Search results (a JSON list of passages with titles and scores) that the model is about to
answer from go into the system turn, numbered with their titles, with the ask to answer in
one sentence from them only or reply "I do not know" (not offered when a passage matches as
clearly as those answering the dev questions: CLEAR_MATCH); the turn announcing the call is left
out, so the conversation ends with the user's question. Passages scoring under
ANSWERING_SCORE are left out; none left, the model is told nothing was found and to say it
does not know. Measured on bench/agent_behaviours.py's dev grounded and "I do not know"
questions with their real search results, 3 replies each at temperature 0.7: numbered
passages in a user turn after "I called search_knowledge(...)" with the ask to name the
title used 3/18 (it names the title instead of answering), the same without naming the title
9-10/18, the question repeated after the passages 8-10/18, passages in the system turn
9/18, with the score floor 12/18, and with "reply: I do not know" 14/18. Later, with every
dev and held-out "I do not know" question searched (5 questions, 6 replies each): "Reply: I
do not know" 23/30, the sentence to reply with (as for actions, below) 25/30, that and the
answer sampled at most at FROM_PASSAGES_TEMPERATURE 28/30, with the grounded answers still
30/30. The passages are shown one sentence a line, each with its title, and of more than
FOCUS_SENTENCES sentences only those closest to the question (`focused`): on the 36 grounded
and "I do not know" questions of the seven sets, 3 replies each, whole passages 94/108 and
96/108 in two runs, the two closest sentences a line 98/108 and 99/108, the three closest
99/108 (one run); through the whole run loop 104/108 (101/108 before: "How fast is express
shipping?" was answered from standard shipping's sentence beside it). The answer is asked
for in one sentence: three are enough for it, not for a list of steps. Passages that do not
mention a name the question uses (a capitalised word inside it that neither they nor the
agent's instructions hold: `unknown_names`) answer nothing: asked for "the opening hours of
your Madrid store", the model gave the Lisbon office's, figures the grounding check cannot
fault; it is told to say the knowledge base says nothing about Madrid (grounded and "I do not
know" of the nine sets 127 → 131/144, grounded unchanged at 62/72). Such an answer also
carries the texts it may take its figures and names from (`ChatRequest.sources`, see
grounding_check): the whole answering passages.

Results of actions that carry their own sentence for the user (`RESULT_SUMMARY`: create_task,
call_human) go into the system turn too, as the sentence to reply with. Given the result in a
user turn, 29 of 45 replies after a call in bench/agent_behaviours.py's tool-choice,
exact-argument and escalation cases repeated the call or its JSON ("I called
create_task({...})"); given the result's fields in the system turn to phrase from, they echoed
the fields or the instructions; given the sentence, 0 of 45 did. The reply is held to that
sentence by a grammar (`said_grammar`, greedy): given it, the model still answered "Is a
supervisor available to speak with me?", after calling a human, with "Yes, a supervisor is
available to speak with me.".

The calls of earlier turns that were answered are left out (`answered_calls_dropped`): the
reply that followed says what came of them. Shown as "I called name(args)." turns, they
were copied: in bench/agent_behaviours.py, 3 of 33 replies after a tool call were such a
line ("I called search_knowledge(...)."), each the reply to a follow-up question."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from typing import Any

import numpy as np

from .base import RESULT_SUMMARY, ChatRequest
from .grounding_check import NOT_IN_SOURCES, unbacked_names

log = logging.getLogger(__name__)

MAX_RESULT_CHARS = 6000  # one tool result in the context; a 4k-token slot holds ~12k chars
REPLY_ASK = "Reply to my message above using this result, in one or two plain sentences."
PASSAGES_ASK = ("Answer my message above from these passages only. If they do not hold the "
                "answer, say that you do not know.")
GROUNDING = ("Passages found by {tool} for the user's question:\n{passages}\nAnswer in one "
             "sentence from these passages only. If they do not answer the question, reply: "
             "I do not know.")
# For a passage that matches the question as clearly as those that answer (CLEAR_MATCH): with
# "I do not know" offered, the model took it for "How much do you charge to install a
# dishwasher?" beside "Our technicians install a dishwasher for 69 euros."
GROUNDING_CLEAR = ("Passages found by {tool} for the user's question:\n{passages}\nAnswer in one "
                   "sentence from these passages only.")
SAY_DONE = "Done for the user's last message. Reply with this sentence: {summary}"
# Asked after the question, in the answer's own conversation (the passages in its system turn),
# so the server reads the passages once for both calls: its prompt cache holds that prefix.
PASSAGE_CHECK = ("{question}\n\nBefore you answer: is the answer to this question written in the passages "
                 "above, or do they only speak of the same subject? Answer yes if it is written there, no if not.")
# Capitalised, as the model writes them: its lower-case "yes" and "no" are unlikely tokens, and
# between them "no" lost too often. Over the grounded and "I do not know" questions of the sets
# up to fresh-23 (a passage at 0.3 or more), the lower-case check said yes to 42 of 61 "I do not
# know" questions and to all 72 grounded ones; the capitalised one to 26 and 70.
YES_OR_NO = 'root ::= "Yes" | "No"'
NOT_SAID = NOT_IN_SOURCES  # the passages do not say: the same sentence as for an answer that failed its check
# The passages found are about something else: the model answered "What are the opening
# hours of your Madrid store?" with the Lisbon office's hours.
NOT_ABOUT = ("The passages {tool} found do not mention {names}. Reply with this sentence: I do not "
             "know; the knowledge base says nothing about {names}.")
NOTHING_FOUND = ("{tool} found nothing in the knowledge base about the user's question. "
                 "Reply with this sentence: I do not know; the knowledge base says nothing about that.")
# MiniLM cosine score from which a passage may answer a message, when the model, asked first,
# says it does (PASSAGE_CHECK). It was 0.5 without the check: on bench/agent_behaviours.py's
# knowledge the passages answering dev questions scored 0.64 to 0.89, but on the sets written
# later many answering passages scored 0.35 to 0.49 against the question or the model's query
# ("How many points do I need for a voucher?" 0.46-0.49), so the answer was "I do not know".
# Asked in the answer's conversation whether the passages shown say the answer, the 1.5B said
# yes for all 66 grounded questions of the sets up to fresh-21 with a passage at 0.3 or more,
# and for 36 of the 55 such "I do not know" ones (held to lower case then, see YES_OR_NO; asked
# apart from that conversation 32 of 55, but the server then reads the passages twice).
ANSWERING_SCORE = 0.3
# From this score a passage matches as clearly as those that answered the dev questions (0.64
# to 0.89): the answer is not offered "I do not know" (GROUNDING_CLEAR). On the 96 grounded and
# "I do not know" questions of the seventeen sets then written, called directly, 3 replies each: grounded
# 103 -> 113/144, "I do not know" 133 -> 134/144 (the grounding check still replaces a figure
# or name the passages do not hold).
CLEAR_MATCH = 0.64
# An answer from passages (or that none was found) repeats what they say: sampled at an
# agent's 0.7 the model still invented a CEO's name after "found nothing" in 4 of 6 replies
# (a new agent on the built-in model now starts at 0.2 as well: providers/presets).
FROM_PASSAGES_TEMPERATURE = 0.2
# An answer is shown the answering passages one sentence a line, at most this many: those
# closest to the question (`focused`). Shown whole passages, the model answered "How fast is
# express shipping?" from the standard-shipping sentence beside it.
FOCUS_SENTENCES = 3
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, list):  # OpenAI content parts
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def passages(result: str) -> list[dict[str, Any]] | None:
    """The passages a search result holds (a JSON list of objects with a title and a text,
    like search_knowledge's), or None when it is some other result."""
    try:
        data = json.loads(result)
    except ValueError:
        return None
    if isinstance(data, list) and all(
            isinstance(item, dict) and "title" in item and "text" in item for item in data):
        return data
    return None


def answering(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The passages scoring at least ANSWERING_SCORE (one without a score is kept)."""
    return [item for item in found if not isinstance(item.get("score"), (int, float))
            or item["score"] >= ANSWERING_SCORE]


def numbered_passages(found: list[dict[str, Any]]) -> str:
    """"[n] title: text" lines, whitespace collapsed, within MAX_RESULT_CHARS."""
    lines, size = [], 0
    for number, item in enumerate(found, 1):
        line = f"[{number}] {item['title']}: {' '.join(str(item['text']).split())}"
        size += len(line)
        if size > MAX_RESULT_CHARS:
            break
        lines.append(line)
    return "\n".join(lines)


def sentences(text: str) -> list[str]:
    """`text`'s sentences, whitespace collapsed."""
    return [part for part in SENTENCE_END.split(" ".join(str(text).split())) if part]


def focused(question: str, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`found` as one passage per sentence, each with its passage's title: of more than
    FOCUS_SENTENCES, those closest to `question` (MiniLM, as searched), in the passages'
    order. When the sentences cannot be embedded, all of them."""
    parts = [{"title": item["title"], "text": sentence} for item in found for sentence in sentences(item["text"])]
    if len(parts) <= FOCUS_SENTENCES or not question.strip():
        return parts
    # imported here: only an answer from search results needs the embedder, and it is
    # already loaded by the search that found the passages
    from ..knowledge.embeddings import embed_query, embed_texts

    try:
        closeness = embed_texts([f"{part['title']}: {part['text']}" for part in parts]) @ embed_query(question)
    except Exception:  # a focus only: every sentence can still answer
        log.warning("Embedding the passages' sentences failed; answering from all of them", exc_info=True)
        return parts
    return [parts[i] for i in sorted(int(i) for i in np.argsort(-closeness, kind="stable")[:FOCUS_SENTENCES])]


def unknown_names(question: str, found: list[dict[str, Any]], instructions: str = "") -> list[str]:
    """The names `question` uses (as the grounding check reads them: `unbacked_names`) that
    neither the passages `found` nor the agent's instructions hold, a possessive 's left out."""
    known = [instructions, *(f"{item['title']}: {item['text']}" for item in found)]
    return list(dict.fromkeys(name.removesuffix("'s") for name in unbacked_names(question, known)))


def grounding(name: str, found: list[dict[str, Any]], question: str = "", instructions: str = "") -> str:
    """What the system turn adds for an answer from search results to `question`: the
    passages, or that none answers it (none scores enough, or the question names a name that
    none of them nor the agent's instructions hold)."""
    kept = answering(found)
    if not kept:
        return NOTHING_FOUND.format(tool=name)
    missing = unknown_names(question, kept, instructions)
    if missing:
        return NOT_ABOUT.format(tool=name, names=" and ".join(missing))
    scores = [item["score"] for item in kept if isinstance(item.get("score"), (int, float))]
    ask = GROUNDING_CLEAR if scores and max(scores) >= CLEAR_MATCH else GROUNDING
    return ask.format(tool=name, passages=numbered_passages(focused(question, kept)))


def summary(result: str) -> str | None:
    """The sentence for the user a result carries (RESULT_SUMMARY), whitespace collapsed."""
    try:
        data = json.loads(result)
    except ValueError:
        return None
    said = data.get(RESULT_SUMMARY) if isinstance(data, dict) else None
    if not isinstance(said, str):
        return None
    return " ".join(said.split()) or None


def result_text(name: str, result: str, found: list[dict[str, Any]] | None) -> str:
    """How a tool result is given to the model in a user turn (`found`: its passages)."""
    if found is None:
        if len(result) > MAX_RESULT_CHARS:
            result = result[:MAX_RESULT_CHARS] + " ..."
        return f"{name} returned: {result}"
    if not found:
        return f"{name} found no passages."
    return f"{name} found these passages:\n{numbered_passages(found)}"


def _call_text(call: dict[str, Any]) -> tuple[str, str]:
    fn = call.get("function") or {}
    name = fn.get("name") or "a tool"
    return name, f"I called {name}({fn.get('arguments') or ''})."


def answered_calls_dropped(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages without the tool calls and results of turns an assistant reply in words
    has answered since; calls still waiting for that reply are kept."""
    kept: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []  # tool calls and results since the last other message
    for message in messages:
        if message.get("role") == "tool" or (message.get("role") == "assistant" and message.get("tool_calls")):
            calls.append(message)
            continue
        if not (message.get("role") == "assistant" and _text(message.get("content")).strip()):
            kept += calls  # not answered in words (a new user turn after a failed run)
        calls = []
        kept.append(message)
    return kept + calls


def adapt_messages(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    """(messages without tool calls or tool messages, whether the conversation ends with
    tool results): see `_adapt`."""
    adapted, ends_with_results, _, _ = _adapt(messages)
    return adapted, ends_with_results


def _adapt(messages: list[dict[str, Any]]
           ) -> tuple[list[dict[str, Any]], bool, list[dict[str, Any]] | None, str | None]:
    """(messages without tool calls or tool messages, whether the conversation ends with
    tool results, when those are all search results their passages, else None, and when
    they are all actions that say what they did their sentences, else None). A call
    becomes the assistant saying "I called name(args)."; its results
    come back in a user message that asks for a reply to the request from them (in `tool`
    messages this model calls again). When the conversation ends with search results
    only, they go into the system turn instead (`grounding`) and it ends with the question."""
    out: list[dict[str, Any]] = []
    # The results not yet given back: (tool, result, its passages or None), read once each.
    batch: list[tuple[str, str, list[dict[str, Any]] | None]] = []
    names: dict[str, str] = {}  # tool call id -> tool name

    def flush() -> None:
        if batch:
            grounded = any(found is not None for *_, found in batch)  # answer from passages only
            ask = PASSAGES_ASK if grounded else REPLY_ASK
            out.append({"role": "user", "content": "\n\n".join(
                result_text(name, result, found) for name, result, found in batch) + "\n\n" + ask})
            batch.clear()

    for message in answered_calls_dropped(messages):
        role = message.get("role")
        if role == "tool":
            name = names.get(message.get("tool_call_id", ""), message.get("name") or "The tool")
            content = _text(message.get("content"))
            batch.append((name, content, passages(content)))
            continue
        flush()
        if role == "assistant" and message.get("tool_calls"):
            lines = [_text(message.get("content")).strip()]
            for call in message["tool_calls"]:
                names[call.get("id", "")], said = _call_text(call)
                lines.append(said)
            out.append({"role": "assistant", "content": "\n".join(x for x in lines if x)})
        else:
            out.append(dict(message))
    ends_with_results = bool(batch)
    searched_only = all(found is not None for *_, found in batch)
    said = [] if searched_only else [summary(result) for _, result, _ in batch]
    answered_from = [item for *_, found in batch for item in found or []] if (
        ends_with_results and searched_only) else None
    to_say = " ".join(said) if ends_with_results and not searched_only and all(said) else None
    if ends_with_results and (searched_only or all(said)):
        out.pop()  # the turn announcing the call: the conversation ends with the user's message
        if searched_only:
            question, instructions = _question_and_instructions(out)
            extra = "\n\n".join(grounding(name, found, question, instructions) for name, _, found in batch)
        else:  # actions that say what they did: the model is given their sentences to say
            extra = SAY_DONE.format(summary=" ".join(said))
        if out and out[0].get("role") == "system":
            out[0] = {**out[0], "content": f"{_text(out[0].get('content')).rstrip()}\n\n{extra}"}
        else:
            out.insert(0, {"role": "system", "content": extra})
        batch.clear()
    flush()
    return out, ends_with_results, answered_from, to_say


def said_grammar(sentence: str) -> str:
    """A GBNF grammar that admits exactly `sentence`."""
    return f"root ::= {json.dumps(sentence)}"


def _question_and_instructions(messages: list[dict[str, Any]]) -> tuple[str, str]:
    """The user's question that ends `messages` and the system turn that starts them ("" for
    either that is not there)."""
    question = _text(messages[-1].get("content")) if messages and messages[-1].get("role") == "user" else ""
    instructions = _text(messages[0].get("content")) if messages and messages[0].get("role") == "system" else ""
    return question, instructions


def passage_check(request: ChatRequest, messages: list[dict[str, Any]],
                  found: list[dict[str, Any]]) -> ChatRequest | None:
    """The check made before an answer from the search results `found` (greedy, held to yes
    or no): the answer's conversation `messages`, its question followed by PASSAGE_CHECK. None
    when no passage is shown (the reply is already "I do not know")."""
    question, instructions = _question_and_instructions(messages)
    kept = answering(found)
    if not kept or not question or unknown_names(question, kept, instructions):
        return None
    asked = [*messages[:-1], {"role": "user", "content": PASSAGE_CHECK.format(question=question)}]
    return ChatRequest(model=request.model, messages=asked, temperature=0.0, max_tokens=2, grammar=YES_OR_NO)


def answer_sources(found: list[dict[str, Any]], messages: list[dict[str, Any]]) -> list[str]:
    """What an answer from the search results `found` that end `messages` may take its
    numbers and names from: the passages it is shown (with their titles) and the user's
    messages."""
    said = [_text(m.get("content")) for m in messages if m.get("role") == "user"]
    return [f"{item['title']}: {item['text']}" for item in answering(found)] + said


def adapt_request(request: ChatRequest) -> ChatRequest:
    """The request as the small model should see it (idempotent): after tool results it
    is told to answer (`tool_choice` "none"); after actions that say what they did, held to
    their sentences (`said_grammar`, greedy); an answer from search results is sampled at
    most at FROM_PASSAGES_TEMPERATURE and checked against its `sources`."""
    messages, had_results, answered_from, to_say = _adapt(request.messages)
    if to_say is not None:
        return replace(request, messages=messages, tool_choice="none", grammar=said_grammar(to_say),
                       temperature=0.0)
    if answered_from is None:
        return replace(request, messages=messages,
                       tool_choice="none" if had_results else request.tool_choice)
    temperature = request.temperature
    if temperature is not None:
        temperature = min(temperature, FROM_PASSAGES_TEMPERATURE)
    return replace(request, messages=messages, temperature=temperature, tool_choice="none",
                   sources=answer_sources(answered_from, request.messages),
                   passage_check=passage_check(request, messages, answered_from))
