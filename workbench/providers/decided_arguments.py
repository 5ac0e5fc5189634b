"""A constrained decision's string arguments as the user wrote them (tool_decision.read_decision):
the model changes their case, leaves out a small word, puts the user's words in another order,
or writes a search query that drops a name the user used."""

from __future__ import annotations

import re

from .message_reading import SKIPPABLE, names_in, words

# How many SKIPPABLE words the model may drop from a value the user gave.
MAX_SKIPPED = 2
# Words the model adds when it puts the user's words in another order, following the
# decision's example query ("opening hours on Saturdays"): "opening hours in Porto" for
# "Search the knowledge base for Porto opening hours".
LINKING = SKIPPABLE | {"in", "on", "at", "about", "from", "with", "by"}


def query_keeping_names(query: str, message: str) -> str:
    """The decision's search query, or the user's message itself when the query leaves out a
    name the message uses: the model wrote "london office hours" for "Until what time is the
    Lisbon office open?", and the search found nothing about Lisbon."""
    names = names_in(message)
    if any(not re.search(rf"\b{re.escape(name)}\b", query, re.IGNORECASE) for name in names):
        return " ".join(message.split())
    return query


def as_the_user_wrote_it(value: str, message: str) -> str:
    """`value` as the user's message words it, when the model only changed its case or left
    out a small word ("Email Supplier About Late Deliveries" for "Email the supplier about
    late deliveries"): the span of the message that holds its words in order, with at most
    MAX_SKIPPED SKIPPABLE words between them, its first letter a capital if the model wrote
    one; or the user's words in another order (`reordered_span`). Anything else is kept as the
    model wrote it."""
    wanted = [w for w, _, _ in words(value)]
    if not wanted or len(wanted) != len(value.split()):
        return value  # punctuation inside words, or no words: leave it
    span = in_order_span(wanted, message) or reordered_span(value, message)
    if span is None:
        return value
    # a title the model started with a capital keeps it ("Fix the login page bug")
    return span[0].upper() + span[1:] if value[0].isupper() else span


def in_order_span(wanted: list[str], message: str) -> str | None:
    """The span of `message` that holds the words `wanted` in order, with at most MAX_SKIPPED
    SKIPPABLE words between them, or None."""
    said = words(message)
    for start in range(len(said)):
        if said[start][0] != wanted[0]:
            continue
        at, skipped = start, 0
        for word in wanted[1:]:
            at += 1
            while at < len(said) and said[at][0] != word and said[at][0] in SKIPPABLE:
                at, skipped = at + 1, skipped + 1
            if at >= len(said) or said[at][0] != word:
                break
        else:
            if skipped <= MAX_SKIPPED:
                return message[said[start][1]:said[at][2]]
    return None


def reordered_span(value: str, message: str) -> str | None:
    """The span of `message` that holds the same words as `value` in another order, `value`
    adding or leaving out only LINKING words ("opening hours in Porto" for "... for Porto
    opening hours"), or None. Two words at least: one word is found in order."""
    wanted = sorted(w for w, _, _ in words(value) if w not in LINKING)
    if len(wanted) < 2:
        return None
    said = words(message)
    for start in range(len(said)):
        if said[start][0] in LINKING:
            continue
        for end in range(start + len(wanted) - 1, len(said)):
            if said[end][0] in LINKING:
                continue
            held = sorted(w for w, _, _ in said[start:end + 1] if w not in LINKING)
            if held == wanted and end - start + 1 - len(held) <= MAX_SKIPPED:
                return message[said[start][1]:said[end][2]]
            if len(held) >= len(wanted):
                break
    return None
