"""The calls one reply of the built-in model takes (ProviderConfig.adapt_tools), each a streamed
call of its provider (`Call`, openai_compat): a constrained decision first (tool_decision),
then its tool calls (or a human's, for a request for a person: hand_over) or the answer; an
answer from passages held back until it is checked against them (grounding_check); a short
form the user asked for, filled from the question answered in full first (answer_forms). A
request that asks for none of these is one call."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import replace

from .answer_forms import form_choices, held_request, said_choice
from .base import ChatRequest, ModelResponse, StreamEvent, TextDelta, Usage
from .grounding_check import NOT_IN_SOURCES, adds_to_question, unsupported_terms
from .hand_over import HANDED_OVER, handed_over
from .message_reading import last_user_text
from .tool_adapter import NOT_SAID
from .tool_decision import decided_calls, search_first

# One streamed call: (request, whether its text is shown to the user) -> its response.
Call = Callable[[ChatRequest, bool], Generator[StreamEvent, None, ModelResponse]]
Passes = Generator[StreamEvent, None, ModelResponse]


def reply(call: Call, request: ChatRequest, started: float) -> Passes:
    """The reply to `request`, from as many calls as it asks for; `started`: when the user
    began to wait (perf_counter)."""
    if request.sources is not None:
        return (yield from checked_answer(call, request, started))
    if request.decision is None:
        return (yield from answer(call, request, started))
    decided = yield from call(request.decision, False)
    if decided.finish_reason == "cancelled":
        return replace(decided, content="")
    calls, set_aside = decided_calls(request, decided.content)
    # a request for a person goes to a human; choosing to answer a question about the
    # organisation searches first
    to_a_human = handed_over(request, calls)
    calls = to_a_human or calls or search_first(request)
    if calls:
        return replace(decided, content="", tool_calls=calls, finish_reason="tool_calls",
                       decision=decided.content, decision_replaced=HANDED_OVER if to_a_human else None)
    response = yield from answer(call, request, started)
    response.usage = added(decided.usage, response.usage)
    response.decision, response.decision_set_aside = decided.content, set_aside
    return response


def answer(call: Call, request: ChatRequest, started: float) -> Passes:
    """The answer, streamed; one the user asked for in a short form is filled from the
    question answered in full first, not shown (answer_forms)."""
    if request.plain_answer is None:
        return (yield from call(request, True))
    full = yield from call(request.plain_answer, False)
    if full.finish_reason == "cancelled":
        return replace(full, content="")
    choices = form_choices(request, full.content)
    if len(choices) == 1:  # the one way to fill the form: no second call
        response = _shown_whole(full, said_choice(choices[0]), started)
        yield TextDelta(response.content)
    else:
        response = yield from call(held_request(request, full.content, choices), True)
        response.usage = added(full.usage, response.usage)
    response.full_answer, response.form_choices = full.content, choices
    return response


def checked_answer(call: Call, request: ChatRequest, started: float) -> Passes:
    """An answer from passages, held back until it is checked against its sources (one
    sentence: shown whole rather than streamed and then taken back). The passages are
    checked first: when the model says they do not say the answer, the reply is NOT_SAID
    without the answer's call. An answer naming what they do not hold, or saying nothing
    they hold beyond the question, is replaced by NOT_IN_SOURCES."""
    checked = None
    if request.passage_check is not None:
        checked = yield from call(request.passage_check, False)
        if checked.finish_reason == "cancelled":
            return replace(checked, content="")
        if checked.content.strip().lower() != "yes":
            response = _shown_whole(replace(checked, passage_check="no"), NOT_SAID, started)
            yield TextDelta(response.content)
            return response
    response = yield from call(request, False)
    if checked is not None:
        response.usage, response.passage_check = added(checked.usage, response.usage), "yes"
    if response.finish_reason == "cancelled":
        return replace(response, content="")  # never shown, and unchecked
    sources = request.sources or []
    unsupported = unsupported_terms(response.content, sources)
    if unsupported:
        response = replace(response, content=NOT_IN_SOURCES,
                           replaced={"answer": response.content, "unsupported": unsupported})
    elif not adds_to_question(response.content, last_user_text(request), sources):
        response = replace(response, content=NOT_IN_SOURCES,
                           replaced={"answer": response.content, "unsupported": [], "repeats_question": True})
    if response.content:
        response = _shown_whole(response, response.content, started)
        yield TextDelta(response.content)
    return response


def _shown_whole(response: ModelResponse, content: str, started: float) -> ModelResponse:
    # the first token the user sees is the whole answer: that is what they waited for
    waited_ms = (time.perf_counter() - started) * 1000
    return replace(response, content=content, ttft_ms=waited_ms, duration_ms=waited_ms)


def added(first: Usage, second: Usage) -> Usage:
    """The usage of two calls made for one reply."""
    return Usage(input_tokens=first.input_tokens + second.input_tokens,
                 output_tokens=first.output_tokens + second.output_tokens,
                 cached_input_tokens=first.cached_input_tokens + second.cached_input_tokens,
                 reasoning_tokens=first.reasoning_tokens + second.reasoning_tokens,
                 estimated=first.estimated or second.estimated)
