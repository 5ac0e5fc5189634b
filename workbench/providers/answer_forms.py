"""Short answer forms the user asks for, held by llama.cpp's constrained decoding.

Asked "Answer only yes or no: ...", "Reply with only the number: ..." or "In one word: ...",
the built-in model (Qwen2.5-Coder-0.5B) often wrote more ("No, nothing else.", "Nestled in
the leaves of bees, they produce honey") and, sampled at the agent's temperature, flipped
between answers it knows: "Answer only yes or no: is fire hot?" got "No" at 0.2 and "Yes" at
0. So when the user's new message asks for one of these forms (`answer_form`), the answer is
decoded greedily (temperature 0), like the tool decision, and held to a GBNF `grammar` that
admits only that form.

Held to one word from the start, the model wrote the first word of the sentence it had in
mind, or a guess: "Nestled." for what bees make, "Red" for a ripe banana, "Dog" says meow.
Asked the same question without the form ("What colour is a ripe banana?") it wrote "A ripe
banana is a yellow color."; the fact comes with the sentence. So the question is first
answered in full, hidden and greedy (`plain_question`, the request's `plain_answer`), and the
form is then filled from that answer: with the one word or number it offers when there is
only one (`form_choices`), no second call; else a second call held to a choice among its words
or numbers, or to yes or no, with the full answer in its system turn (`held_request`).
Measured on the 47 one-word, number and yes-or-no questions of bench/agent_behaviours.py's
sets (the agent's prompt, greedy, one reply each): held from the start 29/47, filled from
the full answer 36/47 (README, "Short forms filled from a full answer").

Only an answer from what the model knows or the conversation holds gets a form: an answer
from search results may have to say "I do not know", which no form admits, and a message
that also asks for more ("... and explain why") gets none. Comma-separated lists are not
held: a list's items are free text."""

from __future__ import annotations

import json
import re
from dataclasses import replace

from .base import ChatRequest
from .message_reading import (FUNCTION_WORDS, NUMBER_WORDS, QUESTION_WORDS, SKIPPABLE, last_user_text, stem,
                              with_system_note)

# The form asked for, read from the user's message: (name, sign, the grammar that holds it).
# A sign wants "only", "just", "nothing else" or the like beside the form, so that "Is it
# yes or no?" or "tell me the number of the bus and how to get there" stay free.
FORMS: list[tuple[str, re.Pattern[str], str]] = [
    ("yes or no",
     re.compile(r"\b(?:answer|reply|respond)(?:\s+(?:only|just))?(?:\s+with)?(?:\s+(?:only|just))?\s+"
                r"[\"']?yes[\"']?\s+or\s+[\"']?no\b|\byes\s+or\s+no,?\s+(?:only|nothing\s+else)\b"
                r"|\b(?:only|just)\s+[\"']?yes[\"']?\s+or\s+[\"']?no\b"
                r"|^\W*yes\s+or\s+no\s*[:?]", re.IGNORECASE),  # "Yes or no: do fish have gills?"
     'root ::= ("Yes" | "No" | "yes" | "no") "."?'),
    ("a number",
     re.compile(r"\b(?:only|just)\s+(?:(?:give|say|write|tell|reply)(?:\s+me)?\s+)?(?:with\s+)?(?:the|a)\s+"
                r"(?:number|figure)\b|\b(?:the\s+)?number\s+only\b"
                r"|\b(?:only|just)\s+(?:the\s+)?digits?\b", re.IGNORECASE),
     'root ::= "-"? [0-9]+ ([.,] [0-9]+)? "."?'),
    ("one word",
     re.compile(r"\b(?:in|with|using)\s+(?:one|a\s+single|a)\s+word\b|\bone\s+word\s+only\b"
                r"|\bonly\s+one\s+word\b|\bsingle\s+word\b|^\W*one\s+word\s*:", re.IGNORECASE),
     # a word of letters, an article allowed: any character but a space let the model write
     # "A小狗" for "what do you call a baby dog?", where with the article it wrote "A puppy"
     'root ::= (("A" | "An" | "The" | "a" | "an" | "the") " ")? [A-Za-z\\u00C0-\\u024F\'-]+ "."?'),
]
# The message asks for more than the form: the answer is left free.
MORE_THAN_THE_FORM = re.compile(r"\b(?:explain|why|and\s+(?:say|tell|describe|give|list))\b", re.IGNORECASE)
FORM_TEMPERATURE = 0.0
# The full answer's length: a sentence or two, the fact in it.
PLAIN_ANSWER_TOKENS = 48
FULL_ANSWER_NOTE = 'Your answer in full: "{answer}" Give that answer in the form the user asks for.'

CLAUSE = re.compile(r"[^:;,.!?]+[:;,.!?]*")
COURTESY = re.compile(r"^\W*(?:please|thanks|thank you)\W*$", re.IGNORECASE)
WORD_OR_NUMBER = re.compile(r"\d+(?:[.,]\d+)?|[^\W\d_][\w'-]*")
NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
# Words a one-word answer is never: the frame of the sentence around it.
FILLER = FUNCTION_WORDS | QUESTION_WORDS | SKIPPABLE | {
    "is", "are", "was", "be", "it", "that", "called", "known", "as", "in", "on", "at", "by", "or", "yes",
    "no", "typically", "usually", "generally", "commonly", "indeed", "answer"}


def answer_form(message: str) -> tuple[str, str] | None:
    """(the form's name, its grammar) when `message` asks for a yes or no, a number or one
    word and nothing more; else None."""
    if MORE_THAN_THE_FORM.search(message):
        return None
    for name, sign, grammar in FORMS:
        if sign.search(message):
            return name, grammar
    return None


def with_answer_form(request: ChatRequest) -> ChatRequest:
    """`request` held to the form the user's last message asks for (`answer_form`): its
    grammar, greedy decoding, and its question without the form to be answered in full
    first (`plain_answer`, see reply_passes). Unchanged when no form is asked for or the
    request has tools (its decision has a grammar of its own; the answer after it is the
    request itself)."""
    message = last_user_text(request)
    form = answer_form(message)
    if form is None or request.tools or request.response_format is not None:
        return request
    messages = list(request.messages)
    last = max(i for i, m in enumerate(messages) if m.get("role") == "user")
    messages[last] = {**messages[last], "content": plain_question(message)}
    plain = replace(request, messages=messages, temperature=FORM_TEMPERATURE, max_tokens=PLAIN_ANSWER_TOKENS,
                    grammar=None, decision=None, plain_answer=None, knowledge_probe=None)
    return replace(request, grammar=form[1], temperature=FORM_TEMPERATURE, plain_answer=plain)


def plain_question(message: str) -> str:
    """`message` without the form it asks for: "Answer with one word: what colour is a
    lemon?" -> "What colour is a lemon?"; "Name the colour of coal in one word." -> "Name
    the colour of coal."."""
    found = next((m for _, sign, _ in FORMS if (m := sign.search(message))), None)
    if found is None:
        return message
    # the clauses around the form, without a "please"
    kept = [c.group() for c in CLAUSE.finditer(message)
            if (c.end() <= found.start() or c.start() >= found.end()) and not COURTESY.match(c.group())]
    rest = " ".join("".join(kept).split()).strip(" ,;:")
    if len(rest.split()) < 2:  # the form was inside the question's clause: cut it out of it
        rest = " ".join((message[:found.start()] + message[found.end():]).split()).strip(" ,;:")
        rest = re.sub(r"\s+([.?!])", r"\1", rest)
    return rest[:1].upper() + rest[1:] if rest else message


def _folded(word: str) -> str:
    return stem(word.lower().strip("'-"))


def answer_choices(form_name: str, full_answer: str, question: str) -> list[str]:
    """What the form may be filled with, in the order the full answer gives them: its words
    (one word) or its numbers, written-out ones as digits (a number); none the question
    itself uses. "A baby dog is called a puppy." to "What do you call a baby dog?" ->
    ["puppy"]. Empty for yes or no, or when nothing is left."""
    asked = {_folded(w) for w in WORD_OR_NUMBER.findall(question)}
    asked |= {NUMBER_WORDS[w] for w in asked if w in NUMBER_WORDS}
    found: list[str] = []
    for token in WORD_OR_NUMBER.findall(full_answer):
        low = token.lower().strip("'-")
        if form_name == "a number":
            value = NUMBER_WORDS.get(low, token if NUMBER.fullmatch(token) else None)
            choice = value if value is not None and value not in asked else None
        else:
            choice = low if (form_name == "one word" and not NUMBER.fullmatch(token) and len(low) > 1
                             and low not in FILLER and _folded(low) not in asked) else None
        if choice is not None and choice not in found:
            found.append(choice)
    return found


def choice_grammar(choices: list[str]) -> str:
    """A GBNF grammar that admits one of `choices` (and a full stop)."""
    return f'root ::= ({" | ".join(json.dumps(choice) for choice in choices)}) "."?'


def form_choices(request: ChatRequest, full_answer: str) -> list[str]:
    """`answer_choices` for the form `request`'s question asks for, from its full answer."""
    message = last_user_text(request)
    form = answer_form(message)
    return answer_choices(form[0], full_answer, plain_question(message)) if form else []


def said_choice(choice: str) -> str:
    """The reply when the full answer offers one choice: that word or number, as a reply starts."""
    return choice[:1].upper() + choice[1:]


def held_request(request: ChatRequest, full_answer: str, choices: list[str]) -> ChatRequest:
    """The call that fills the form when the full answer offers no choice or several: the
    full answer in its system turn, and a grammar admitting its `choices`, or the form's
    own when there are none."""
    held = replace(request, plain_answer=None, grammar=choice_grammar(choices) if choices else request.grammar)
    answer = " ".join(full_answer.split()).replace('"', "'")
    return with_system_note(held, FULL_ANSWER_NOTE.format(answer=answer)) if answer else held
