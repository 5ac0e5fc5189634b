"""The OpenAI-compatible provider reading its streams on an event loop (`LoopStreaming`, as the
API server's runs do): the real `openai` async client against the scripted server, the text
handed over on the loop's thread, retries, failures and stops as in a thread."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from tests.scripted_openai import (
    call,
    cut_after,
    hang,
    malformed,
    text,
    tool_calls,
    usage,
)
from tests.test_providers import MESSAGES, TOOLS, _isolated_secrets, make_provider  # noqa: F401 - a fixture
from workbench.errors import ProviderBadResponse
from workbench.providers import clients
from workbench.providers.base import (
    ChatRequest,
    Completed,
    LoopStreaming,
    StreamReset,
    TextDelta,
)


class LoopThread:
    """An event loop running in a thread of its own, as uvicorn's runs beside the run threads."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="test-loop")
        self.thread.start()

    def stop(self) -> None:
        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(clients.close_async_clients(), self.loop).result(5)
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture()
def loop_thread():
    running = LoopThread()
    yield running
    running.stop()


class Reading:
    """One call read on the loop: what reached on_text (and on which thread) and what the
    generator itself yielded, in the order they happened."""

    def __init__(self, loop_thread: LoopThread):
        self.events: list = []
        self.text_threads: set[str] = set()
        self.on_loop = LoopStreaming(loop_thread.loop, self._on_text)

    def _on_text(self, piece: str) -> None:
        self.text_threads.add(threading.current_thread().name)
        self.events.append(TextDelta(piece))

    def run(self, provider, cancel=None, stop_after_texts: int | None = None, **request):
        for event in provider.stream_chat(ChatRequest(model="gpt-4o-mini", messages=MESSAGES, **request),
                                          cancel=cancel, on_loop=self.on_loop):
            assert not isinstance(event, TextDelta), "text read on the loop goes to on_text, not the generator"
            self.events.append(event)
        assert isinstance(self.events[-1], Completed)
        return self.events[-1].response

    def texts(self) -> str:
        return "".join(e.text for e in self.events if isinstance(e, TextDelta))


def test_text_is_handed_over_on_the_loop_with_usage(openai_server, loop_thread):
    openai_server.script(text("Hello there, how are you today?", chunk_size=4,
                              usage=usage(prompt=42, completion=8)))
    reading = Reading(loop_thread)
    response = reading.run(make_provider(openai_server), temperature=0.2)
    assert reading.texts() == "Hello there, how are you today?" == response.content
    assert sum(isinstance(e, TextDelta) for e in reading.events) >= 5
    assert reading.text_threads == {"test-loop"}
    assert (response.usage.input_tokens, response.usage.output_tokens, response.usage.estimated) == (42, 8, False)
    assert response.finish_reason == "stop" and 0 < response.ttft_ms <= response.duration_ms
    sent = openai_server.last_request.body
    assert sent["messages"] == MESSAGES and sent["temperature"] == 0.2 and sent["stream"] is True
    assert clients.clients_of(openai_server.base_url) >= 1


def test_tool_calls_are_assembled_on_the_loop(openai_server, loop_thread):
    openai_server.script(tool_calls(call("create_task", {"title": "Write the report"}, id="call_A"),
                                    content="On it.", chunk_size=3))
    response = Reading(loop_thread).run(make_provider(openai_server), tools=TOOLS)
    assert response.finish_reason == "tool_calls" and response.content == "On it."
    [made] = response.tool_calls
    assert (made.id, made.name, json.loads(made.arguments)) == ("call_A", "create_task", {"title": "Write the report"})


def test_a_cut_stream_is_reset_and_retried(openai_server, loop_thread):
    openai_server.script(cut_after(3, text="This answer will be cut off"), text("Complete answer"))
    reading = Reading(loop_thread)
    response = reading.run(make_provider(openai_server))
    kinds = [type(e).__name__ for e in reading.events]
    reset_at = kinds.index("StreamReset")
    assert kinds[:reset_at] == ["TextDelta"] * 3, "the first try's text came before the reset"
    assert "".join(e.text for e in reading.events[reset_at:] if isinstance(e, TextDelta)) == "Complete answer"
    assert response.content == "Complete answer"
    assert [a.error_type for a in response.failed_attempts] == ["ProviderUnavailable"]


def test_a_stall_times_out_and_is_retried(openai_server, loop_thread):
    openai_server.script(hang(2, after_chunks=2), text("Fresh answer"))
    reading = Reading(loop_thread)
    response = reading.run(make_provider(openai_server, timeout=0.2))
    assert any(isinstance(e, StreamReset) for e in reading.events)
    assert response.content == "Fresh answer"


def test_an_unreadable_chunk_is_a_bad_response(openai_server, loop_thread):
    openai_server.script(malformed(), malformed())
    with pytest.raises(ProviderBadResponse) as info:
        Reading(loop_thread).run(make_provider(openai_server, tries=2))
    assert isinstance(info.value.__cause__, ValueError)
    assert len(openai_server.chat_requests) == 2


def test_a_stop_mid_stream_keeps_the_partial_text(openai_server, loop_thread):
    openai_server.script(text("word " * 200, chunk_size=5, delay=0.01))
    cancel = threading.Event()
    reading = Reading(loop_thread)
    original = reading.on_loop.on_text

    def on_text(piece: str) -> None:
        original(piece)
        if len(reading.events) == 3:
            cancel.set()

    reading.on_loop = LoopStreaming(loop_thread.loop, on_text)
    response = reading.run(make_provider(openai_server), cancel=cancel)
    assert response.finish_reason == "cancelled"
    assert response.content == "word word word " == reading.texts()


def test_a_loop_that_stops_mid_stream_ends_the_call_as_cancelled(openai_server, loop_thread, monkeypatch):
    """The API server shutting down: the waiting run thread is not left hanging."""
    from workbench.providers import openai_compat

    monkeypatch.setattr(openai_compat, "LOOP_CHECK_S", 0.05)
    openai_server.script(text("word " * 200, chunk_size=5, delay=0.02))
    reading = Reading(loop_thread)
    original = reading.on_loop.on_text

    def on_text(piece: str) -> None:
        original(piece)
        if len(reading.events) == 2:
            loop_thread.loop.stop()

    reading.on_loop = LoopStreaming(loop_thread.loop, on_text)
    began = time.monotonic()
    response = reading.run(make_provider(openai_server))
    assert response.finish_reason == "cancelled" and response.content == "word word "
    assert time.monotonic() - began < 5


def test_the_loops_clients_are_closed_with_it(openai_server, loop_thread):
    openai_server.script(text("One."), text("Two."))
    provider = make_provider(openai_server)
    Reading(loop_thread).run(provider)
    Reading(loop_thread).run(provider)
    assert clients.clients_of(openai_server.base_url) == 1, "one client lent to both calls in turn"
    asyncio.run_coroutine_threadsafe(clients.close_async_clients(), loop_thread.loop).result(5)
    assert clients.clients_of(openai_server.base_url) == 0
