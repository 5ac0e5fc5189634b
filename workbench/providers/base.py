"""The one interface every model provider implements.

Messages and tools are in the OpenAI chat format (the runtime builds them with
langchain-core and converts). A call streams `TextDelta`s, may emit `StreamReset` when a
retry starts after partial output (the consumer drops what this call streamed so far), and
always ends with exactly one `Completed` carrying the assembled response."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

# A tool's JSON object result may hold, under this key, the sentence that tells the user what
# was done ("I have added the task ..."); a model that cannot phrase it from the result (the
# built-in one) is given it to say (tool_adapter).
RESULT_SUMMARY = "summary"


@dataclass
class KnowledgeProbe:
    """The group's passages closest to the user's last message, looked up by the run before
    the call (see runs.plan.knowledge_probe): the built-in model's decision searches first
    when one of them matches strongly (see tool_decision)."""

    query: str  # the user's message, as searched
    matches: list[tuple[str, float]]  # (title, score), best first
    names: list[str] = field(default_factory=list)  # the names the passages use (message_reading.names_in)
    # the subject words of a few more passages (runs.plan.PROBE_WORDS_FROM; message_reading.subject_words)
    words: list[str] = field(default_factory=list)


# The fields of a ChatRequest that constrain the reply, sent as they are when set (by the
# provider) and recorded as sent (in the trace step, runs.plan): one list, so a new one is
# both sent and shown.
CONSTRAINT_FIELDS = ("tool_choice", "response_format", "seed", "grammar")


@dataclass
class ChatRequest:
    model: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    tool_choice: str | None = None  # "none": the model must answer (tools stay described)
    response_format: dict[str, Any] | None = None  # e.g. a JSON Schema the reply must match
    seed: int | None = None
    grammar: str | None = None  # llama.cpp's GBNF the reply must match (see answer_forms)
    # A constrained call made before this one (the built-in model, see tool_decision): its
    # reply is either tool calls, which end the call, or the choice to answer, which this
    # request then streams.
    decision: ChatRequest | None = None
    # A hidden call made before this one (the built-in model, see answer_forms): the user's
    # question without the short form it asks for, answered in full; this request's reply
    # is then that answer held to the form.
    plain_answer: ChatRequest | None = None
    knowledge_probe: KnowledgeProbe | None = None
    # A hidden call made before an answer from search results (the built-in model, see
    # tool_adapter.passage_check): whether the passages say the answer, held to yes or no;
    # "no" and the reply says the knowledge does not say, without the answer's call.
    passage_check: ChatRequest | None = None
    # An answer from search results (the built-in model, see grounding_check): the texts it
    # must take its numbers and names from (the passages, the user's messages). Not sent.
    sources: list[str] | None = None


@dataclass
class ToolCallRequest:
    id: str
    name: str
    arguments: str  # JSON text exactly as the model produced it


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0
    estimated: bool = False  # True when counted locally because the provider sent none


@dataclass
class Attempt:
    """One failed try of a model call that was retried."""

    error_type: str
    message: str
    status_code: int | None
    waited_s: float


@dataclass
class ModelResponse:
    content: str
    tool_calls: list[ToolCallRequest]
    finish_reason: str | None
    usage: Usage
    model: str
    duration_ms: float
    ttft_ms: float | None = None
    failed_attempts: list[Attempt] = field(default_factory=list)
    decision: str | None = None  # the constrained decision's text, when one was made
    decision_set_aside: str | None = None  # why the search it chose was not made (tool_decision)
    decision_replaced: str | None = None  # why a human was called instead of its choice (hand_over)
    # A short form filled from the question answered in full first (answer_forms): that
    # answer, and the words or numbers it offered to fill the form with.
    full_answer: str | None = None
    form_choices: list[str] | None = None
    passage_check: str | None = None  # "yes" or "no": whether the passages say the answer
    # Set when the answer named what its sources do not hold, or only repeated the question,
    # and was replaced (see grounding_check): {"answer": the model's answer, "unsupported":
    # [the terms]}, with "repeats_question": True for the second.
    replaced: dict[str, Any] | None = None


@dataclass
class TextDelta:
    text: str


@dataclass
class StreamReset:
    reason: str


@dataclass
class Completed:
    response: ModelResponse


StreamEvent = TextDelta | StreamReset | Completed


@dataclass
class ProviderConfig:
    """How to reach a provider. `api_key_name` names the environment variable or secret
    that holds the key; the key itself is never stored."""

    name: str
    kind: str  # "openai_compatible" or "local"
    base_url: str | None = None
    api_key_name: str | None = None
    default_model: str | None = None
    timeout_s: float = 60.0
    max_retries: int = 3  # tries in all, with exponential backoff between them
    # Small models that cannot follow the tool-call protocol: tool results come back as a
    # user turn (tool_adapter) and the choice to call a tool is a constrained decision
    # (tool_decision). The endpoint must accept llama.cpp's JSON Schema `response_format`.
    adapt_tools: bool = False


class ChatProvider(ABC):
    def __init__(self, config: ProviderConfig):
        self.config = config

    def prepare(self, request: ChatRequest) -> ChatRequest:
        """The request exactly as it will be sent (a provider may adapt the messages for
        its model); callers record this in the trace. `stream_chat` applies it too, so
        preparing twice must change nothing."""
        return request

    @abstractmethod
    def stream_chat(self, request: ChatRequest,
                    cancel: threading.Event | None = None) -> Iterator[StreamEvent]:
        """Stream one model call. When `cancel` is set the call stops early and still ends
        with `Completed` (finish_reason "cancelled", the text streamed so far)."""

    @abstractmethod
    def list_models(self) -> list[str]:
        """Model ids the endpoint offers, or [] where it offers no list."""

    @abstractmethod
    def check_connection(self) -> str:
        """Reach the endpoint once; a short sentence on success, a ProviderError on failure."""
