"""An answer from passages names only what the passages hold.

Told to answer from search results or say it does not know, the built-in model still fills
a gap with a likely figure or name when a passage on the same topic lacks the asked fact
("There are 10 parking spaces in the garage" from a passage about the garage's permits; "in
Porto, Portugal" for a street address). Such an answer gives itself away: it holds a number
or a name that none of its sources (the passages, the user's messages) contains. The
provider checks each answer from passages (`ChatRequest.sources`) with `unsupported_terms`
and replaces one that fails by NOT_IN_SOURCES; the trace keeps the replaced answer.

An answer must also say something its sources hold beyond the question (`adds_to_question`).
Asked a yes-or-no question the passages only touch, the model repeats it as a statement ("Yes,
you can collect your order from the Porto office."): nothing in such an answer comes from the
passages.

Checked: every run of digits ("8:30" is 8 and 30; number words from two to twenty and
ordinals from second to twentieth count as their digits) and every capitalised word inside a
sentence, as written (a sentence's first word is capitalised anyway). A figure given with a
unit (`UNITS`: time, money, people, weights and measures) must be held with that unit where
the sources give it with units at all: asked "What is the minimum age for the cooking
classes?", the model answered "12 years" from "Each class takes at most 12 people". Not
checked: common words, so an answer that rewords the right passage passes, and so does a
wrong claim made only of the sources' words."""

from __future__ import annotations

import re

from .message_reading import subject_words

NOT_IN_SOURCES = "I do not know; the knowledge base does not say."
# How every reply of the adapter that says it does not know begins (NOT_IN_SOURCES, and the
# sentences tool_adapter gives the model to reply with).
DOES_NOT_KNOW = "I do not know"
DIGITS = re.compile(r"\d+")
WORD = re.compile(r"[^\W\d_][\w'-]*")
# A capitalised word of 3 letters or more that does not open a sentence, a line or a list item.
NAME = re.compile(r"(?<![.!?:;*•-]\s)(?<=[ \t])[A-Z][^\W\d_][\w-]+")
NUMBER_WORDS = {word: str(n) for n, word in enumerate((
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"))}
# Ordinals stand for their figure too ("on the second floor" is 2, as "2nd floor" is).
NUMBER_WORDS |= {word: str(n) for n, word in enumerate((
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
    "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
    "eighteenth", "nineteenth", "twentieth"), start=1)}
# "one" is as often a pronoun ("one of them"), "first" an order of steps ("first, sign in")
COUNTED_WORDS = set(NUMBER_WORDS) - {"zero", "one", "first"}
# What a figure counts, each spelling as one unit (a plural's -s is dropped before the lookup).
UNITS = {unit: name for name, spellings in {
    "second": ("second", "sec"), "minute": ("minute", "min"), "hour": ("hour", "hr"), "day": ("day",),
    "week": ("week",), "month": ("month",), "year": ("year", "yr"),
    "euro": ("euro", "eur", "€"), "dollar": ("dollar", "usd", "$"), "cent": ("cent",),
    "percent": ("percent", "per cent", "%"), "people": ("people", "person", "guest", "participant"),
    "gram": ("gram", "g"), "kilogram": ("kilogram", "kilo", "kg"), "litre": ("litre", "liter", "l"),
    "metre": ("metre", "meter", "m"), "kilometre": ("kilometre", "kilometer", "km"),
    "centimetre": ("centimetre", "centimeter", "cm"),
}.items() for unit in spellings}
# A figure (digits or a number word), then what it counts: a word or a sign after a space or
# a hyphen ("45 days", "3-year", "10 %", "10%").
FIGURE_AND_UNIT = re.compile(r"(?<![\w:.,])(\d+|[^\W\d_]+)(?:[ \t]*-[ \t]*|[ \t]+|(?=[%€$]))(per cent|[^\W\d_]+|[%€$])")


def _figure(said: str) -> str:
    """A digit run or a number word as the figure it stands for ("09" and "nine" are 9)."""
    return NUMBER_WORDS.get(said.lower()) or said.lstrip("0") or "0"


def _numbers(text: str) -> set[str]:
    """The figures of `text`: its digit runs and number words."""
    words = (m.group() for m in WORD.finditer(text))
    return {_figure(said) for said in [*DIGITS.findall(text), *(w for w in words if w.lower() in NUMBER_WORDS)]}


def _words(text: str) -> set[str]:
    """The words of `text` as written (a name is compared with its capital: "Porto Street" is
    not backed by "the street address"), a possessive 's dropped."""
    return {m.group().removesuffix("'s") for m in WORD.finditer(text)}


def unbacked_names(text: str, sources: list[str]) -> list[str]:
    """The names `text` uses (capitalised words inside a sentence), as written and each once,
    that no source holds (a possessive 's left out of the comparison)."""
    known = _words("\n".join(sources))
    return list(dict.fromkeys(m.group() for m in NAME.finditer(text) if m.group().removesuffix("'s") not in known))


def _unit(word: str) -> str | None:
    word = word.lower()
    return UNITS.get(word) or UNITS.get(word.removesuffix("s"))


def figures_with_units(text: str) -> list[tuple[str, str, str]]:
    """(the figure, its unit, the words as written) for each figure of `text` followed by a
    unit ("45 days" is ("45", "day", "45 days"))."""
    found = []
    for m in FIGURE_AND_UNIT.finditer(text):
        said, after = m.group(1), m.group(2)
        if not (said.isdigit() or said.lower() in NUMBER_WORDS):
            continue
        unit = _unit(after)
        if unit is not None:
            found.append((_figure(said), unit, m.group()))
    return found


def unsupported_terms(answer: str, sources: list[str]) -> list[str]:
    """The numbers in `answer` that no source holds, then figures the sources give only with
    other units (as written: "12 years"), then the names, each once."""
    if answer.strip() == NOT_IN_SOURCES:
        return []
    source_text = "\n".join(sources)
    known_numbers = _numbers(source_text)
    missing: list[str] = []
    said_numbers = DIGITS.findall(answer) + [m.group() for m in WORD.finditer(answer)
                                             if m.group().lower() in COUNTED_WORDS]
    for said in said_numbers:
        if _figure(said) not in known_numbers and said not in missing:
            missing.append(said)
    held: dict[str, set[str]] = {}  # figure -> the units the sources give it with
    for figure, unit, _ in figures_with_units(source_text):
        held.setdefault(figure, set()).add(unit)
    for figure, unit, as_written in figures_with_units(answer):
        if held.get(figure) and unit not in held[figure] and as_written not in missing:
            missing.append(as_written)
    return missing + unbacked_names(answer, sources)


def adds_to_question(answer: str, question: str, sources: list[str]) -> bool:
    """Whether `answer` says something of its `sources` that `question` does not: a subject
    word (`subject_words`: stemmed, no function words) or a figure it holds that a source holds
    too. In six logs of bench/agent_behaviours.py's earlier runs (both models), 42 of the 60
    answers given to "I do not know" questions added nothing, and 19 of the 228 given to
    grounded ones, 7 of those right ("Yes, the Lisbon office is open on Fridays."). A reply
    that says it does not know is left as it is."""
    if answer.strip().startswith(DOES_NOT_KNOW):
        return True
    return bool((_said(answer) - _said(question)) & _said("\n".join(sources)))


def _said(text: str) -> set[str]:
    """What `text` says, to compare: its subject words and its figures."""
    return subject_words(text) | _numbers(text)
