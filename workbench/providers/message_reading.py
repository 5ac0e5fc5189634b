"""What a user's message is, read without the model: a question or a statement about the user,
a question about the organisation the agent speaks for, a question about what the user told
earlier; and the note the answer to it is given. The built-in model's decision
(tool_decision) searches or does not search by these signs; the answer pass gets the note.

A question about the organisation (`asks_about_the_organisation`): it says "your" (the user
asks the agent about its side: your office, your CEO, your policy), asks what "you" sell,
offer, deliver, accept ... or what the user may do as a customer ("Can I pay in
instalments?"), both answered "Yes" from nothing before (`TRADING`), or it names a name the
agent's instructions give (a capitalised word inside a sentence of the system prompt: the
organisation's or a product's name) or one that the group's passages closest to it use ("What
is the weight of the Toaster Max?", a product the knowledge names, was answered
"approximately 1200 grams"). General questions, format instructions and what the user said
about themselves ("my name is ...") carry no such sign.

A statement about the user (`states_a_fact`: "My flight leaves from gate B12.") and a
question about one told earlier (`told_statement`: "Which gate does my flight leave from?")
are answered from the conversation, not searched. The answer to such a question is given
the statement it asks about, and the answer to a statement is asked to acknowledge it
(`answer_note`): told "I drive a red Fiat.", the model replied "I'm sorry, but I can't assist
with that." and repeated the refusal when asked "What car do I drive?". A sum the message asks
for is handed to the answer worked out (arithmetic.worked_sum)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from .arithmetic import worked_sum
from .base import ChatRequest

# A question: a question mark, or a question word or a request for facts first.
QUESTION = re.compile(r"\?\s*$|^\W*(?:what|who|whom|whose|where|when|why|which|how|is|are|do|does|"
                      r"did|can|could|will|would|tell|give|list|show)\b", re.IGNORECASE)
YOUR = re.compile(r"\byours?\b", re.IGNORECASE)
# Trading with the organisation: "you" doing what a business does for its customers ("Do you
# sell coffee machines?", "Which payment methods do you accept?": the agent speaks for it),
# or the user asking what they may do as its customer ("Can I pay in instalments?"). Not
# "you" in general ("How do you say 'thank you' in French?", "What colour do you get by ...").
TRADING = re.compile(r"\byou\s+(?:sell|offer|deliver|ship|accept|charge|stock|carry|provide|install|repair|"
                     r"rent|hire|employ|refund|exchange|open|close|have)\b"
                     r"|\b(?:can|could|may|must|should|do)\s+(?:i|we)\s+(?:pay|return|exchange|cancel|collect|"
                     r"order|book|buy|rent|park|get\s+a\s+refund)\b", re.IGNORECASE)
# A message telling something about the user, and the words that make it ask after all.
STATEMENT = re.compile(r"^\W*(?:i|i'm|i've|i'd|i'll|my|we|we're|our|hi|hello|hey)\b", re.IGNORECASE)
ASKING = re.compile(r"\b(?:know|tell|search|look|check|find|explain|need|want|wonder|ask|show|give)\b",
                    re.IGNORECASE)
WORD = re.compile(r"[\w'-]+")
FIRST_PERSON = re.compile(r"\b(?:i|me|my|mine|we|us|our|ours)\b", re.IGNORECASE)  # as STATEMENT
# Words of a question that say nothing of its subject.
QUESTION_WORDS = {"what", "which", "who", "whom", "whose", "where", "when", "why", "how", "is", "are",
                  "was", "were", "do", "does", "did", "can", "could", "will", "would", "mine", "again"}
# Words of three letters and more that say nothing of a subject: shared with a passage, they
# do not make a message about it ("Which ocean lies between Europe and America?"; "What is 27
# plus 14?" beside "35 euros plus parts").
FUNCTION_WORDS = {"and", "but", "nor", "not", "for", "from", "with", "into", "onto", "than", "then", "there",
                  "their", "they", "them", "these", "those", "have", "has", "had", "all", "any", "some", "one",
                  "only", "just", "also", "very", "much", "many", "more", "most", "each", "every", "other",
                  "after", "before", "about", "its", "it's", "should", "please", "answer", "reply", "word",
                  "words", "nothing", "else", "give", "tell", "number", "plus", "minus", "times", "divided"}
# Units of time: every kind of question counts days or hours ("How many hours are there in a
# day?"), so sharing one with a passage (shipping takes "business days") does not relate them.
TIME_UNITS = {"second", "seconds", "minute", "minutes", "hour", "hours", "day", "days", "week", "weeks",
              "month", "months", "year", "years"}
# Numbers written out, and the first ones in order: "List the first three months of the year"
# shares "first" with "their first order" and is not about it.
NUMBER_WORDS = {word: str(value) for value, word in enumerate((
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"))}
ORDINALS = {"first", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"}
# A message asking to search: its words say what to look for even when no passage has them.
ASKS_TO_SEARCH = re.compile(r"\b(?:knowledge|search|look\s+up|documents?|docs|policy|policies)\b", re.IGNORECASE)
# Small words: the model may drop them from a value the user gave (tool_decision); they say
# nothing of a message's subject.
SKIPPABLE = {"the", "a", "an", "to", "of", "for", "our", "my", "your", "this", "that"}
# A capitalised word after the first word of a sentence: a name (Nordlicht Home, Kettle Pro).
INNER_NAME = re.compile(r"(?<![.!?:;]\s)(?<=\s)[A-Z][\w-]{2,}")
# Capitalised in English without naming anything of the organisation's: a passage's opening
# hours ("Monday to Friday") must not make "What day comes after Monday?" a search.
CALENDAR_WORDS = {day + suffix for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                                           "Sunday") for suffix in ("", "s")} | {
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December"}

# Notes for the answer pass (`answer_note`). Told "I drive a red Fiat.", the model replied
# "I'm sorry, but I can't assist with that." (29 of 108 first replies in the memory cases,
# 12 with ACKNOWLEDGE), and asked "What car do I drive?" next it repeated that refusal;
# memory answers called directly went 98 -> 104/108 with both notes (README, "Searching first").
TOLD_EARLIER = ('Earlier in this conversation the user told you: "{said}" Answer their last '
                "question from what they told you.")
ACKNOWLEDGE = "The user's last message tells you something about them. Acknowledge it in one short sentence."


def words(text: str) -> list[tuple[str, int, int]]:
    """(word folded to lower case, start, end) for each word of `text`."""
    return [(m.group().lower(), m.start(), m.end()) for m in WORD.finditer(text)]


def last_user_text(request: ChatRequest) -> str:
    for message in reversed(request.messages):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else ""
    return ""


def instructions_of(request: ChatRequest) -> str:
    """The agent's instructions: the request's first message when it is a system turn."""
    first = request.messages[0] if request.messages else {}
    return first.get("content") if first.get("role") == "system" and isinstance(first.get("content"), str) else ""


def states_a_fact(message: str) -> bool:
    """Whether `message` tells something about the user ("My flight leaves from gate B12.")
    rather than asking: no question mark, it starts with I, my, we or a greeting, and no
    word of asking (know, tell, search, look, need ...)."""
    return not QUESTION.search(message) and bool(STATEMENT.search(message)) and not ASKING.search(message)


# Endings dropped to compare words, longest first: "arrived" and "arrive", "leaves" and "leave".
ENDINGS = ("ing", "ed", "es", "s", "e")


def stem(word: str) -> str:
    """`word` without one of its ENDINGS when at least three letters are left: a told
    statement and the question about it often differ in tense ("My order arrived damaged on
    Monday." and "On which day did my order arrive?")."""
    for ending in ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[:-len(ending)]
    return word


def content_words(text: str) -> set[str]:
    """The words of `text` that carry its subject, folded (`stem`)."""
    return {stem(word) for word, _, _ in words(text)
            if len(word) >= 3 and word not in QUESTION_WORDS and word not in SKIPPABLE}


# The stems of the words that name no subject (`subject_words`), worked out once.
NO_SUBJECT = frozenset(stem(word) for word in FUNCTION_WORDS | TIME_UNITS | set(NUMBER_WORDS) | ORDINALS)


def subject_words(text: str) -> set[str]:
    """`content_words` without FUNCTION_WORDS, TIME_UNITS and numbers written out: what a
    message and a passage must share to speak of the same thing."""
    return content_words(text) - NO_SUBJECT


def told_statement(request: ChatRequest) -> str | None:
    """The earlier message in which the user told what their last message asks about: the
    last message asks a question in the first person ("When does my train leave?") that does
    not ask about the organisation, and at least half of its subject words are in one earlier
    message stating a fact about the user ("My train leaves at 07:45."); of several, the one
    sharing the most, the latest on a tie. None otherwise."""
    users = [m.get("content") for m in request.messages if m.get("role") == "user"]
    users = [m for m in users if isinstance(m, str)]
    if len(users) < 2 or not QUESTION.search(users[-1]) or not FIRST_PERSON.search(users[-1]):
        return None
    if asks_about_the_organisation(users[-1], instructions_of(request)):
        return None
    asked = content_words(users[-1])
    shared = [(len(asked & content_words(said)), order, said) for order, said in enumerate(users[:-1])
              if states_a_fact(said)]
    best = max(shared, default=None)
    return best[2] if asked and best is not None and 2 * best[0] >= len(asked) else None


def told_earlier(request: ChatRequest) -> bool:
    """Whether the last user message asks about what the user told earlier in the
    conversation (`told_statement`). The conversation answers it; searched, it got "the
    knowledge base says nothing about that"."""
    return told_statement(request) is not None


def answer_note(request: ChatRequest) -> str | None:
    """What the answer to the user's last message is told about it, or None: the statement
    it asks about (`told_statement`), or to acknowledge a statement about the user; and the
    result of a sum it asks for (arithmetic.worked_sum)."""
    message = last_user_text(request)
    said = told_statement(request)
    if said is not None:
        about = TOLD_EARLIER.format(said=" ".join(said.split()))
    else:
        about = ACKNOWLEDGE if states_a_fact(message) else None
    notes = [note for note in (about, worked_sum(message)) if note]
    return " ".join(notes) or None


def with_answer_note(request: ChatRequest) -> ChatRequest:
    """`request` with its `answer_note` at the end of the system turn (a system turn of its
    own when there is none)."""
    note = answer_note(request)
    return request if note is None else with_system_note(request, note)


def with_system_note(request: ChatRequest, note: str) -> ChatRequest:
    """`request` with `note` at the end of its system turn (a system turn of its own when
    there is none); unchanged when the note is there already."""
    messages = list(request.messages)
    if messages and messages[0].get("role") == "system" and isinstance(messages[0].get("content"), str):
        if messages[0]["content"].endswith(note):
            return request  # prepared already
        messages[0] = {**messages[0], "content": f"{messages[0]['content']}\n\n{note}"}
    else:
        messages.insert(0, {"role": "system", "content": note})
    return replace(request, messages=messages)


def names_in(text: str) -> set[str]:
    """The names `text` uses: capitalised words that do not start a sentence or a line (the
    agent's instructions: its organisation's and products' names; a passage: the products,
    places and people it speaks of)."""
    return {name for line in text.splitlines() for name in INNER_NAME.findall(line)} - CALENDAR_WORDS


def asks_about_the_organisation(message: str, instructions: str, known_names: Iterable[str] = ()) -> bool:
    """Whether `message` is a question about the agent's side: it says "your", asks what
    "you" sell, offer, deliver ... or what the user may do as a customer (TRADING), or it
    names a name from the agent's instructions or one of `known_names` (those the group's
    passages closest to it use: the knowledge probe's) (see the module's docstring)."""
    if not QUESTION.search(message):
        return False
    names = names_in(instructions) | set(known_names)
    named = any(re.search(rf"\b{re.escape(name)}\b", message) for name in names)
    return named or bool(YOUR.search(message) or TRADING.search(message))
