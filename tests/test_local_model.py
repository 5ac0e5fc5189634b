"""The built-in offline model (Gemma 3 270M via llama.cpp) answers for real."""

from __future__ import annotations

import threading

import pytest

from workbench.providers.base import ChatRequest, Completed, ProviderConfig, TextDelta
from workbench.providers.local_llama import (
    LOCAL_MODEL_ID,
    LocalLlamaProvider,
    build_prompt_parts,
    model_path,
)

pytestmark = pytest.mark.slow

CONFIG = ProviderConfig(name="Built-in", kind="local", default_model=LOCAL_MODEL_ID)


def test_model_file_is_assembled_once_and_reused():
    first = model_path()
    assert first.exists() and first.stat().st_size > 100_000_000
    assert model_path() == first


def test_prompt_is_a_dialogue_the_base_model_continues():
    preface, turns = build_prompt_parts([
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c"}]},
        {"role": "tool", "content": "done"},
    ])
    assert preface.endswith("Be brief.")
    assert turns[-3:] == ["User: Hi", "Tool: done", "Assistant:"]


def test_builtin_model_answers_a_short_prompt():
    provider = LocalLlamaProvider(CONFIG)
    events = list(provider.stream_chat(ChatRequest(
        model=LOCAL_MODEL_ID,
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        tools=[{"type": "function", "function": {"name": "ignored", "parameters": {}}}],
        temperature=0.0, max_tokens=24)))
    assert isinstance(events[-1], Completed)
    response = events[-1].response
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert response.content.strip() and response.content == text.rstrip()
    assert response.tool_calls == [] and response.model == LOCAL_MODEL_ID
    assert response.usage.estimated is False
    assert response.usage.input_tokens > 10 and 0 < response.usage.output_tokens <= 24
    assert response.finish_reason in ("stop", "length")
    assert provider.list_models() == [LOCAL_MODEL_ID]
    assert "ready" in provider.check_connection()


def test_builtin_model_can_be_cancelled():
    cancel = threading.Event()
    events = []
    for event in LocalLlamaProvider(CONFIG).stream_chat(ChatRequest(
            model=LOCAL_MODEL_ID,
            messages=[{"role": "user", "content": "Tell me a long story about a dragon."}],
            temperature=0.8, max_tokens=64), cancel=cancel):
        events.append(event)
        if isinstance(event, TextDelta):
            cancel.set()
    response = events[-1].response
    assert response.finish_reason == "cancelled"
    assert response.usage.output_tokens <= 3
