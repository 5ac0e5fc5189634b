"""Any OpenAI-compatible chat endpoint (OpenAI, OpenRouter, Anthropic's compatible API,
Ollama, vLLM, llama.cpp server, LM Studio) through the official `openai` SDK.

The SDK's own retries are off (`max_retries=0`): this module retries itself so that each
failed try is recorded (`ModelResponse.failed_attempts`) and so that a retry after partial
output can tell the consumer to drop that output (`StreamReset`)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import openai

from ..errors import MissingApiKey, ProviderBadResponse, ProviderError, ProviderUnavailable
from ..settings import get_secret
from .answer_forms import with_answer_form
from .base import (CONSTRAINT_FIELDS, Attempt, ChatProvider, ChatRequest, Completed, ModelResponse, ProviderConfig,
                   StreamEvent, StreamReset, TextDelta, ToolCallRequest, Usage)
from .clients import leased_client
from .message_reading import with_answer_note
from .reply_passes import reply
from .sdk_errors import provider_error
from .tokens import estimate_messages_tokens, estimate_tokens
from .tool_adapter import adapt_request
from .tool_decision import with_decision

# Local servers (Ollama, vLLM, llama.cpp) ignore the key, but the SDK insists on one.
PLACEHOLDER_API_KEY = "not-needed"
DEFAULT_BASE_URL = "https://api.openai.com/v1"


@dataclass
class _TryState:
    """What one try has produced so far (kept outside the generator so the retry loop can
    see it when the try fails)."""

    text_parts: list[str] = field(default_factory=list)
    ttft_ms: float | None = None


_T = TypeVar("_T")


class _Chunks(openai.Stream[_T]):
    """The SDK's stream of chunks, read to the end of the body after `[DONE]`: the SDK
    closes the response when it sees `[DONE]`, and a response closed before its end takes
    its connection with it, so every call opened a new one (and a new TLS handshake, on the
    way to the first token). Read to its end, the connection goes back to the client's pool.
    A server ends the body after `[DONE]` (the stock SDK reads that far too)."""

    def _iter_events(self):
        events = super()._iter_events()
        for event in events:
            if event.data.startswith("[DONE]"):
                for _ in events:  # the rest of the body: at most the end of the chunked encoding
                    pass
            yield event


class OpenAICompatibleProvider(ChatProvider):
    # Class-wide defaults, so tests can shrink every provider's waits with one monkeypatch.
    default_backoff_base_s: float = 0.5
    default_backoff_max_s: float = 8.0

    def __init__(self, config: ProviderConfig, *, backoff_base_s: float | None = None,
                 backoff_max_s: float | None = None, endpoint: Callable[[], str] | None = None,
                 closing: threading.Event | None = None):
        """`backoff_base_s`: wait before the 2nd try; it doubles per try (0.5, 1, 2 s),
        capped at `backoff_max_s`. A `Retry-After` header is honoured up to that cap.
        `endpoint`: gives the base URL when it is first needed (the built-in model's
        embedded server starts then) instead of `config.base_url`. `closing`: when set, every
        stream stops as if cancelled (the embedded server is shutting down)."""
        super().__init__(config)
        self._endpoint = endpoint
        self._closing = closing
        self.backoff_base_s = (self.default_backoff_base_s if backoff_base_s is None
                               else backoff_base_s)
        self.backoff_max_s = self.default_backoff_max_s if backoff_max_s is None else backoff_max_s

    # --- plumbing --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._endpoint is not None:
            return self._endpoint()
        return self.config.base_url or DEFAULT_BASE_URL

    def _api_key(self) -> str:
        """The key, read fresh on every call so a key added to the environment or
        secrets.toml works without a restart."""
        name = self.config.api_key_name
        if not name:
            return PLACEHOLDER_API_KEY
        key = get_secret(name)
        if not key:
            raise MissingApiKey(
                f"No API key for {self.config.name}: set {name} in the environment or "
                ".streamlit/secrets.toml.")
        return key

    def _client(self):
        """A shared client, lent for one call: `with self._client() as client:`."""
        return leased_client(self.base_url, self._api_key(), self.config.timeout_s)

    def _known_key(self) -> str | None:
        """The key when one is configured and set (to scrub it from error texts), else None."""
        try:
            key = self._api_key() if self.config.api_key_name else None
        except MissingApiKey:
            return None
        return None if key == PLACEHOLDER_API_KEY else key

    def _map_error(self, exc: BaseException, model: str) -> ProviderError:
        """Our typed error for an SDK/transport failure; the original stays as __cause__."""
        return provider_error(exc, self.config, self.base_url, model, self._known_key())

    def _backoff(self, try_number: int, error: ProviderError) -> float:
        """Seconds to wait after failed try `try_number` (1-based)."""
        delay = self.backoff_base_s * (2 ** (try_number - 1))
        cause = error.__cause__
        if isinstance(cause, openai.APIStatusError):
            retry_after = cause.response.headers.get("retry-after")
            try:
                delay = max(delay, float(retry_after)) if retry_after else delay
            except ValueError:
                pass
        return min(delay, self.backoff_max_s)

    # --- the interface ---------------------------------------------------------------

    def prepare(self, request: ChatRequest) -> ChatRequest:
        if not self.config.adapt_tools:
            return request
        prepared = with_decision(adapt_request(request))
        # a new message from the user, not tool results to reply from: the answer (not the
        # decision) is told what it asks about or to acknowledge what it tells, and held to
        # the short form it asks for
        new_message = bool(request.messages) and request.messages[-1].get("role") == "user"
        return with_answer_form(with_answer_note(prepared)) if new_message else prepared

    def stream_chat(self, request: ChatRequest,
                    cancel: threading.Event | None = None) -> Iterator[StreamEvent]:
        """See ChatProvider. ttft_ms and duration_ms count from the start of the call,
        failed tries and backoff included: that is what the user waited."""
        with self._client() as client:  # MissingApiKey surfaces before any network traffic
            return (yield from self._stream_with(client, request, cancel))

    def _stream_with(self, client: openai.OpenAI, request: ChatRequest,
                     cancel: threading.Event | None) -> Iterator[StreamEvent]:
        request = self.prepare(request)
        tries = max(1, self.config.max_retries)
        failed: list[Attempt] = []
        started = time.perf_counter()
        for try_number in range(1, tries + 1):
            state = _TryState()
            try:
                response = yield from self._one_try(client, request, cancel, state, started)
            except ProviderError as err:
                if cancel is not None and cancel.is_set():
                    # Stopped while the stream stalled (noticed when the read timed out):
                    # a stop, not a failure, and what came before the stall is kept.
                    yield Completed(self._cancelled(request, "".join(state.text_parts), started,
                                                    state.ttft_ms, failed))
                    return
                last_try = try_number == tries
                if not err.retryable or last_try:
                    err.failed_attempts = failed  # type: ignore[attr-defined]
                    if last_try and tries > 1 and err.retryable:
                        err.args = (f"{err.args[0]} (gave up after {tries} tries)",)
                    raise
                wait = self._backoff(try_number, err)
                failed.append(Attempt(error_type=type(err).__name__, message=err.user_message,
                                      status_code=err.status_code, waited_s=wait))
                if state.text_parts:
                    yield StreamReset(reason=f"Retrying after: {err.user_message}")
                if cancel is not None and cancel.wait(wait):
                    yield Completed(self._cancelled(request, "", started, None, failed))
                    return
                if cancel is None:
                    time.sleep(wait)
                continue
            response.failed_attempts = failed
            yield Completed(response)
            return

    def _one_try(self, client: openai.OpenAI, request: ChatRequest,
                 cancel: threading.Event | None, state: _TryState,
                 started: float) -> Iterator[StreamEvent]:
        """One try of the call. Yields TextDeltas and returns the ModelResponse (the
        retry loop wraps it in Completed). Raises ProviderError on failure. A request for
        the built-in model may take several calls (reply_passes); only shown ones use the
        try's state."""
        if cancel is not None and cancel.is_set():
            return self._cancelled(request, "", started, None, [])

        def call(one: ChatRequest, show: bool):
            return self._stream_pass(client, one, cancel, state if show else _TryState(), started, show)

        return (yield from reply(call, request, started))

    def _stream_pass(self, client: openai.OpenAI, request: ChatRequest,
                     cancel: threading.Event | None, state: _TryState, started: float,
                     show: bool) -> Iterator[StreamEvent]:
        """One streamed request; its text is yielded as TextDeltas when `show`. Returns
        its ModelResponse (finish_reason "cancelled" when stopped)."""
        kwargs: dict[str, Any] = {"model": request.model, "messages": request.messages,
                                  "stream": True, "stream_options": {"include_usage": True}}
        for name in ("tools", "temperature", "max_tokens", *CONSTRAINT_FIELDS):
            value = getattr(request, name)
            if value is not None:
                kwargs[name] = value
        calls: list[dict[str, Any]] = []  # tool calls being assembled, in order
        by_index: dict[int, int] = {}  # streamed `index` -> position in calls
        finish_reason: str | None = None
        usage_obj: Any = None
        model_name = request.model
        stream = None
        got_chunk = False
        try:
            # The SDK's create() first walks the whole request through its type-driven
            # transform (about 0.3 ms per message, before anything is sent); our body is
            # plain JSON already, so it is posted as is through the same client.
            # Chunks come as the JSON dicts they are (cast to `object`): building the SDK's
            # typed chunk objects costs more per token than everything else on the stream.
            stream = client.post("/chat/completions", body=kwargs, cast_to=object,
                                 stream=True, stream_cls=_Chunks[object])
            for chunk in stream:
                got_chunk = True
                if (cancel is not None and cancel.is_set()) or (
                        self._closing is not None and self._closing.is_set()):
                    stream.close()
                    return self._cancelled(request, "".join(state.text_parts), started,
                                           state.ttft_ms, [])
                model_name = chunk.get("model") or model_name
                if chunk.get("usage") is not None:
                    usage_obj = chunk["usage"]  # last one wins (some servers send it on every chunk)
                for choice in chunk.get("choices") or []:
                    delta = choice.get("delta")
                    if delta:
                        content = delta.get("content")
                        if content:
                            if state.ttft_ms is None:
                                state.ttft_ms = (time.perf_counter() - started) * 1000
                            state.text_parts.append(content)
                            if show:
                                yield TextDelta(content)
                        for tc in delta.get("tool_calls") or []:
                            if state.ttft_ms is None:
                                state.ttft_ms = (time.perf_counter() - started) * 1000
                            _merge_tool_call(calls, by_index, tc)
                    if choice.get("finish_reason"):
                        finish_reason = choice["finish_reason"]
        except ProviderError:
            raise
        except openai.APIError as exc:
            if finish_reason is not None:
                pass  # the answer was complete; only the trailing usage/[DONE] got lost
            elif got_chunk and type(exc) is openai.APIConnectionError:
                raise ProviderUnavailable(
                    f"The connection to {self.config.name} dropped in the middle of the reply.",
                    cause=exc) from exc
            else:
                raise self._map_error(exc, request.model) from exc
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ProviderBadResponse(
                f"{self.config.name} sent a streamed chunk that could not be read.",
                cause=exc) from exc
        finally:
            if stream is not None:
                stream.close()

        if finish_reason is None:
            raise ProviderUnavailable(
                f"The stream from {self.config.name} ended before the reply was complete.")

        tool_calls = [ToolCallRequest(id=c["id"] or f"call_{uuid.uuid4().hex[:24]}",
                                      name=c["name"], arguments="".join(c["args"]) or "{}")
                      for c in calls if c["name"]]
        content = "".join(state.text_parts)
        return ModelResponse(
            content=content, tool_calls=tool_calls, finish_reason=finish_reason,
            usage=self._usage(usage_obj, request, content, tool_calls), model=model_name,
            duration_ms=(time.perf_counter() - started) * 1000, ttft_ms=state.ttft_ms)

    def _usage(self, usage_obj: Any, request: ChatRequest, content: str,
               tool_calls: list[ToolCallRequest]) -> Usage:
        if usage_obj is None:
            output = estimate_tokens(content) + sum(
                estimate_tokens(tc.name) + estimate_tokens(tc.arguments) for tc in tool_calls)
            return Usage(input_tokens=estimate_messages_tokens(request.messages, request.tools),
                         output_tokens=output, estimated=True)
        prompt_details = usage_obj.get("prompt_tokens_details") or {}
        completion_details = usage_obj.get("completion_tokens_details") or {}
        return Usage(
            input_tokens=int(usage_obj.get("prompt_tokens") or 0),
            output_tokens=int(usage_obj.get("completion_tokens") or 0),
            cached_input_tokens=int(prompt_details.get("cached_tokens") or 0),
            reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0),
        )

    def _cancelled(self, request: ChatRequest, partial: str, started: float,
                   ttft_ms: float | None, failed: list[Attempt]) -> ModelResponse:
        """The response for a cancelled call: the partial text, estimated usage (the
        provider never sent any), no tool calls (their arguments would be incomplete)."""
        return ModelResponse(
            content=partial, tool_calls=[], finish_reason="cancelled",
            usage=Usage(input_tokens=estimate_messages_tokens(request.messages, request.tools),
                        output_tokens=estimate_tokens(partial), estimated=True),
            model=request.model, duration_ms=(time.perf_counter() - started) * 1000,
            ttft_ms=ttft_ms, failed_attempts=list(failed))

    def list_models(self) -> list[str]:
        try:
            with self._client() as client:
                return sorted(m.id for m in client.models.list())
        except openai.APIStatusError as exc:
            if exc.status_code in (404, 405, 501):
                return []  # the endpoint offers no list
            raise self._map_error(exc, "") from exc
        except (openai.APIError, ValueError, TypeError, AttributeError) as exc:
            raise self._map_error(exc, "") from exc

    def check_connection(self) -> str:
        try:
            with self._client() as client:
                models = sorted(m.id for m in client.models.list())
        except openai.APIStatusError as exc:
            if exc.status_code in (404, 405, 501):
                return f"{self.config.name} answered at {self.base_url} (it does not list models)."
            raise self._map_error(exc, "") from exc
        except (openai.APIError, ValueError, TypeError, AttributeError) as exc:
            raise self._map_error(exc, "") from exc
        if not models:
            return f"Connected to {self.config.name}; it lists no models."
        shown = ", ".join(models[:5]) + (" ..." if len(models) > 5 else "")
        return f"Connected to {self.config.name}: {len(models)} models ({shown})."


def _merge_tool_call(calls: list[dict[str, Any]], by_index: dict[int, int], tc: Any) -> None:
    """Fold one streamed tool-call fragment into `calls`. Fragments share an `index`; the
    first carries id and name, later ones carry argument pieces. A new id at an index
    already in use starts a new call (some servers send every call at index 0)."""
    index = tc["index"] if tc.get("index") is not None else len(calls)
    tc_id = tc.get("id")
    position = by_index.get(index)
    if position is None or (tc_id and calls[position]["id"] and calls[position]["id"] != tc_id):
        calls.append({"id": tc_id, "name": "", "args": []})
        position = by_index[index] = len(calls) - 1
    current = calls[position]
    if tc_id and not current["id"]:
        current["id"] = tc_id
    fn = tc.get("function")
    if fn:
        if fn.get("name") and not current["name"]:
            current["name"] = fn["name"]  # some servers repeat the name in every fragment
        if fn.get("arguments"):
            current["args"].append(fn["arguments"])
