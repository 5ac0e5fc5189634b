"""Short answer forms the user asks for, held by llama.cpp's constrained decoding.

Asked "Answer only yes or no: ...", "Reply with only the number: ..." or "In one word: ...",
the built-in model (Qwen2.5-Coder-0.5B) often wrote more ("No, nothing else.", "Nestled in
the leaves of bees, they produce honey") and, sampled at the agent's temperature, flipped
between answers it knows: "Answer only yes or no: is fire hot?" got "No" at 0.2 and "Yes" at
0. So when the user's new message asks for one of these forms (`answer_form`), the answer
pass is sent with a GBNF `grammar` that admits only that form and decoded greedily
(temperature 0), like the tool decision: it is a pick among a few short answers, not prose.
Measured on the 39 format questions of bench/agent_behaviours.py's sets (3 replies each,
the agent's prompt and the question alone): at temperature 0.2 64/117 right, at 0 75, at 0
with the grammar 78; a free answer at 0 and then the form asked for in a second, held call
was 78 as well, for two calls. Most misses left are facts this model gets wrong ("Dog" says
"meow"), with the form kept.

Only an answer from what the model knows or the conversation holds gets a form: an answer
from search results may have to say "I do not know", which no form admits, and a message
that also asks for more ("... and explain why") gets none. Comma-separated lists are not
held: a list's items are free text."""

from __future__ import annotations

import re
from dataclasses import replace

from .base import ChatRequest
from .message_reading import last_user_text

# The form asked for, read from the user's message: (name, sign, the grammar that holds it).
# A sign wants "only", "just", "nothing else" or the like beside the form, so that "Is it
# yes or no?" or "tell me the number of the bus and how to get there" stay free.
FORMS: list[tuple[str, re.Pattern[str], str]] = [
    ("yes or no",
     re.compile(r"\b(?:answer|reply|respond)(?:\s+(?:only|just))?(?:\s+with)?(?:\s+(?:only|just))?\s+"
                r"[\"']?yes[\"']?\s+or\s+[\"']?no\b|\byes\s+or\s+no,?\s+(?:only|nothing\s+else)\b"
                r"|\b(?:only|just)\s+[\"']?yes[\"']?\s+or\s+[\"']?no\b", re.IGNORECASE),
     'root ::= ("Yes" | "No" | "yes" | "no") "."?'),
    ("a number",
     re.compile(r"\b(?:only|just)\s+(?:with\s+)?(?:the|a)\s+(?:number|figure)\b|\b(?:the\s+)?number\s+only\b"
                r"|\b(?:only|just)\s+(?:the\s+)?digits?\b", re.IGNORECASE),
     'root ::= "-"? [0-9]+ ([.,] [0-9]+)? "."?'),
    ("one word",
     re.compile(r"\b(?:in|with|using)\s+(?:one|a\s+single|a)\s+word\b|\bone\s+word\s+only\b"
                r"|\bonly\s+one\s+word\b|\bsingle\s+word\b", re.IGNORECASE),
     # a word of letters, an article allowed: any character but a space let the model write
     # "A小狗" for "what do you call a baby dog?", where with the article it wrote "A puppy"
     'root ::= (("A" | "An" | "The" | "a" | "an" | "the") " ")? [A-Za-z\\u00C0-\\u024F\'-]+ "."?'),
]
# The message asks for more than the form: the answer is left free.
MORE_THAN_THE_FORM = re.compile(r"\b(?:explain|why|and\s+(?:say|tell|describe|give|list))\b", re.IGNORECASE)
FORM_TEMPERATURE = 0.0


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
    grammar, greedy decoding. Unchanged when no form is asked for or the request has tools
    (its decision has a grammar of its own; the answer after it is the request itself)."""
    form = answer_form(last_user_text(request))
    if form is None or request.tools or request.response_format is not None:
        return request
    return replace(request, grammar=form[1], temperature=FORM_TEMPERATURE)
