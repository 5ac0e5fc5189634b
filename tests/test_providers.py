"""The OpenAI-compatible provider, driven through the real `openai` client against the
scripted server: streaming, tool calls, usage, retries, failures, cancellation."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading

import pytest

from tests.scripted_openai import (
    auth_error,
    call,
    cut_after,
    error,
    hang,
    malformed,
    model_not_found,
    text,
    tool_call,
    tool_calls,
    usage,
)
from workbench import settings
from workbench.errors import (
    MissingApiKey,
    ModelNotFound,
    ProviderAuthError,
    ProviderBadResponse,
    ProviderError,
    ProviderRateLimited,
    ProviderUnavailable,
)
from workbench.providers import PRESETS, build_provider, config_from_record
from workbench.providers.base import (
    ChatRequest,
    Completed,
    ProviderConfig,
    StreamReset,
    TextDelta,
)
from workbench.providers.openai_compat import PLACEHOLDER_API_KEY, OpenAICompatibleProvider
from workbench.providers.tokens import estimate_messages_tokens, estimate_tokens

TEST_KEY = "sk-test-SECRET-0123456789abcdef"
MESSAGES = [{"role": "system", "content": "You are a test assistant."},
            {"role": "user", "content": "Say hello."}]
TOOLS = [{"type": "function", "function": {
    "name": "create_task", "description": "Create a task.",
    "parameters": {"type": "object", "properties": {"title": {"type": "string"}},
                   "required": ["title"]}}}]


@pytest.fixture(autouse=True)
def _isolated_secrets(tmp_path, monkeypatch):
    """No real secrets file; keys only from what a test puts in the environment."""
    monkeypatch.setenv("WORKBENCH_SECRETS_FILE", str(tmp_path / "secrets.toml"))
    settings.reset_settings()
    yield
    settings.reset_settings()


def make_provider(server, *, key_name=None, timeout=2.0, tries=3, **config):
    cfg = ProviderConfig(name="Scripted", kind="openai_compatible", base_url=server.base_url,
                         api_key_name=key_name, timeout_s=timeout, max_retries=tries, **config)
    return OpenAICompatibleProvider(cfg, backoff_base_s=0.001, backoff_max_s=0.01)


def run(provider, *, model="gpt-4o-mini", tools=None, cancel=None, **request):
    events = list(provider.stream_chat(
        ChatRequest(model=model, messages=MESSAGES, tools=tools, **request), cancel=cancel))
    assert isinstance(events[-1], Completed), "a call always ends with Completed"
    assert sum(isinstance(e, Completed) for e in events) == 1
    return events, events[-1].response


def deltas(events):
    return [e.text for e in events if isinstance(e, TextDelta)]


# --- streaming -------------------------------------------------------------------------

def test_streams_text_in_several_deltas_with_usage(openai_server):
    openai_server.script(text("Hello there, how are you today?", chunk_size=4,
                              usage=usage(prompt=42, completion=8, cached=16, reasoning=3)))
    events, response = run(make_provider(openai_server), temperature=0.2, max_tokens=50)

    assert len(deltas(events)) >= 5
    assert "".join(deltas(events)) == "Hello there, how are you today?" == response.content
    assert response.finish_reason == "stop" and response.tool_calls == []
    u = response.usage
    assert (u.input_tokens, u.output_tokens, u.cached_input_tokens, u.reasoning_tokens) == (
        42, 8, 16, 3)
    assert u.estimated is False
    assert response.model == "gpt-4o-mini"
    assert response.ttft_ms is not None and 0 < response.ttft_ms <= response.duration_ms
    assert response.failed_attempts == []

    sent = openai_server.last_request.body
    assert sent["messages"] == MESSAGES and sent["model"] == "gpt-4o-mini"
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["temperature"] == 0.2 and sent["max_tokens"] == 50
    assert "tools" not in sent, "tools are only sent when given"


def test_streamed_calls_reuse_one_connection(openai_server):
    """A stream read to its end after [DONE] gives its connection back to the pool: no new
    connection (and, on HTTPS, no new TLS handshake) per call."""

    class Counted(set):
        opened = 0

        def add(self, item):
            Counted.opened += 1
            super().add(item)

    openai_server._connections = Counted()
    provider = make_provider(openai_server)
    for words in ("One reply.", "Two replies.", "Three replies."):
        openai_server.script(text(words))
        _, response = run(provider)
        assert response.content == words
    assert Counted.opened == 1


def test_calls_at_once_beyond_a_clients_share_get_another_client(openai_server, monkeypatch):
    """A client carries at most CALLS_PER_CLIENT calls at once (its pool slows down with
    hundreds); more at once get another client, the least busy one is lent first, and a
    stream holds its client until it ends."""
    from contextlib import ExitStack

    from workbench.providers import clients

    monkeypatch.setattr(clients, "CALLS_PER_CLIENT", 2)
    url = openai_server.base_url
    with ExitStack() as held:
        lent = [held.enter_context(clients.leased_client(url, "k", 2.0)) for _ in range(5)]
        assert [lent.index(c) for c in lent] == [0, 0, 2, 2, 4]  # 2 + 2 + 1 at once
        assert clients.clients_of(url) == 3
    monkeypatch.setattr(clients, "CALLS_PER_CLIENT", 1)
    provider = make_provider(openai_server)  # its calls go to (url, PLACEHOLDER_API_KEY, 2.0)
    openai_server.script(text("Slow words come one by one.", chunk_size=5, delay=0.05))
    stream = provider.stream_chat(ChatRequest(model="gpt-4o-mini", messages=MESSAGES))
    assert isinstance(next(stream), TextDelta)  # streaming: its client is out
    with clients.leased_client(url, PLACEHOLDER_API_KEY, 2.0) as during:
        assert clients.clients_of(url) == 5  # the stream's and this one
    rest = list(stream)
    assert isinstance(rest[-1], Completed) and rest[-1].response.content == "Slow words come one by one."
    with clients.leased_client(url, PLACEHOLDER_API_KEY, 2.0) as after:
        assert after is not during  # the stream's client, free again, comes first
    assert clients.clients_of(url) == 5


def test_assembles_two_streamed_tool_calls(openai_server):
    openai_server.script(tool_calls(
        call("create_task", {"title": "Write the report", "due": "friday"}, id="call_A"),
        call("search_knowledge", {"query": "refund policy", "k": 3}, id="call_B"),
        content="Let me do that.", chunk_size=3))
    events, response = run(make_provider(openai_server), tools=TOOLS)

    assert response.content == "Let me do that."
    assert response.finish_reason == "tool_calls"
    assert [(c.id, c.name) for c in response.tool_calls] == [
        ("call_A", "create_task"), ("call_B", "search_knowledge")]
    assert json.loads(response.tool_calls[0].arguments) == {"title": "Write the report",
                                                            "due": "friday"}
    assert json.loads(response.tool_calls[1].arguments) == {"query": "refund policy", "k": 3}
    assert openai_server.last_request.body["tools"] == TOOLS


def test_single_tool_call_without_text(openai_server):
    openai_server.script(tool_call("create_task", {"title": "x"}))
    events, response = run(make_provider(openai_server), tools=TOOLS)
    assert deltas(events) == [] and response.content == ""
    assert response.tool_calls[0].name == "create_task"
    assert json.loads(response.tool_calls[0].arguments) == {"title": "x"}
    assert response.tool_calls[0].id.startswith("call_")


def test_missing_usage_is_estimated_offline(openai_server):
    openai_server.script(text("An answer from a server that reports no usage.", usage=None))
    _, response = run(make_provider(openai_server))
    u = response.usage
    assert u.estimated is True
    assert u.output_tokens == estimate_tokens("An answer from a server that reports no usage.")
    assert u.output_tokens > 0
    assert u.input_tokens == estimate_messages_tokens(MESSAGES) > 0


def test_empty_queue_answers_default_text(openai_server):
    _, response = run(make_provider(openai_server))
    assert response.content == openai_server.default_text


# --- retries ---------------------------------------------------------------------------

def test_rate_limit_then_success_is_retried_and_recorded(openai_server):
    openai_server.script(error(429), text("Recovered"))
    events, response = run(make_provider(openai_server))
    assert response.content == "Recovered"
    assert not any(isinstance(e, StreamReset) for e in events), "nothing streamed before"
    assert len(openai_server.chat_requests) == 2
    [attempt] = response.failed_attempts
    assert attempt.error_type == "ProviderRateLimited" and attempt.status_code == 429
    assert attempt.waited_s == pytest.approx(0.001)


def test_server_errors_give_up_after_all_tries(openai_server):
    openai_server.script(error(500), error(502), error(503), text("too late"))
    with pytest.raises(ProviderUnavailable) as info:
        run(make_provider(openai_server, tries=3))
    assert len(openai_server.chat_requests) == 3
    assert info.value.status_code == 503 and info.value.retryable
    assert "3 tries" in info.value.user_message
    assert [a.status_code for a in info.value.failed_attempts] == [500, 502]
    assert info.value.__cause__ is not None
    assert openai_server.pending == 1


def test_backoff_doubles(openai_server):
    openai_server.script(error(500), error(500), text("ok"))
    provider = make_provider(openai_server)
    provider.backoff_base_s, provider.backoff_max_s = 0.01, 1.0
    _, response = run(provider)
    assert [a.waited_s for a in response.failed_attempts] == pytest.approx([0.01, 0.02])


def test_insufficient_quota_is_not_retried(openai_server):
    openai_server.script(error(429, "You exceeded your current quota.", code="insufficient_quota"))
    with pytest.raises(ProviderRateLimited):
        run(make_provider(openai_server))
    assert len(openai_server.chat_requests) == 1


def test_timeout_is_retried_then_fails(openai_server):
    openai_server.script(hang(2), hang(2))
    with pytest.raises(ProviderUnavailable) as info:
        run(make_provider(openai_server, timeout=0.2, tries=2))
    assert "did not answer within 0.2 s" in info.value.user_message
    assert len(openai_server.chat_requests) == 2
    assert [a.error_type for a in info.value.failed_attempts] == ["ProviderUnavailable"]


def test_timeout_then_success(openai_server):
    openai_server.script(hang(2), text("Answered on the second try"))
    _, response = run(make_provider(openai_server, timeout=0.2))
    assert response.content == "Answered on the second try"
    assert len(response.failed_attempts) == 1


def test_stall_mid_stream_resets_then_succeeds(openai_server):
    openai_server.script(hang(2, after_chunks=2), text("Fresh answer"))
    events, response = run(make_provider(openai_server, timeout=0.2))
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("StreamReset") > kinds.index("TextDelta")
    assert response.content == "Fresh answer"


def test_cut_stream_resets_then_succeeds(openai_server):
    openai_server.script(cut_after(3, text="This answer will be cut off"), text("Complete answer"))
    events, response = run(make_provider(openai_server))
    reset_at = next(i for i, e in enumerate(events) if isinstance(e, StreamReset))
    before, after = deltas(events[:reset_at]), deltas(events[reset_at:])
    assert "".join(before) == "This answer " and len(before) == 3
    assert "".join(after) == "Complete answer" == response.content
    assert "dropped" in events[reset_at].reason
    [attempt] = response.failed_attempts
    assert attempt.error_type == "ProviderUnavailable"


def test_malformed_chunk_is_a_bad_response(openai_server):
    openai_server.script(malformed(), malformed())
    with pytest.raises(ProviderBadResponse) as info:
        run(make_provider(openai_server, tries=2))
    assert isinstance(info.value.__cause__, ValueError)
    assert len(openai_server.chat_requests) == 2


def test_malformed_then_good_answer(openai_server):
    openai_server.script(malformed(after_chunks=2), text("Good answer"))
    events, response = run(make_provider(openai_server))
    assert any(isinstance(e, StreamReset) for e in events)
    assert response.content == "Good answer"
    assert response.failed_attempts[0].error_type == "ProviderBadResponse"


# --- errors that are not retried --------------------------------------------------------

def test_auth_error_never_shows_the_key(openai_server, monkeypatch):
    monkeypatch.setenv("SCRIPTED_KEY", TEST_KEY)
    openai_server.api_key = "sk-the-right-key"
    with pytest.raises(ProviderAuthError) as info:
        run(make_provider(openai_server, key_name="SCRIPTED_KEY"))
    err = info.value
    assert err.status_code == 401 and "SCRIPTED_KEY" in err.user_message
    assert TEST_KEY not in err.user_message and "SECRET" not in str(err)
    assert len(openai_server.chat_requests) == 1, "a rejected key is not retried"
    assert isinstance(err.__cause__, Exception)


def test_scripted_auth_error_body_is_not_echoed(openai_server, monkeypatch):
    monkeypatch.setenv("SCRIPTED_KEY", TEST_KEY)
    openai_server.script(auth_error())
    with pytest.raises(ProviderAuthError) as info:
        run(make_provider(openai_server, key_name="SCRIPTED_KEY"))
    assert "sk-te" not in info.value.user_message  # the server's text quotes part of the key


def test_key_is_sent_as_bearer_token(openai_server, monkeypatch):
    monkeypatch.setenv("SCRIPTED_KEY", TEST_KEY)
    openai_server.api_key = TEST_KEY
    _, response = run(make_provider(openai_server, key_name="SCRIPTED_KEY"))
    assert response.content == openai_server.default_text
    assert openai_server.last_request.authorization == f"Bearer {TEST_KEY}"


def test_no_key_needed_sends_placeholder(openai_server):
    run(make_provider(openai_server))
    assert openai_server.last_request.authorization == "Bearer not-needed"


def test_key_from_secrets_file(openai_server, tmp_path, monkeypatch):
    (tmp_path / "secrets.toml").write_text(f'SCRIPTED_FILE_KEY = "{TEST_KEY}"\n')
    monkeypatch.delenv("SCRIPTED_FILE_KEY", raising=False)
    settings.reset_settings()
    run(make_provider(openai_server, key_name="SCRIPTED_FILE_KEY"))
    assert openai_server.last_request.authorization == f"Bearer {TEST_KEY}"


def test_missing_key_names_the_variable(openai_server, monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE_KEY", raising=False)
    with pytest.raises(MissingApiKey) as info:
        run(make_provider(openai_server, key_name="NOT_SET_ANYWHERE_KEY"))
    assert "NOT_SET_ANYWHERE_KEY" in info.value.user_message
    assert ".streamlit/secrets.toml" in info.value.user_message
    assert openai_server.requests == [], "nothing is sent without a key"


def test_unknown_model(openai_server):
    openai_server.script(model_not_found())
    with pytest.raises(ModelNotFound) as info:
        run(make_provider(openai_server), model="gpt-nope")
    assert "gpt-nope" in info.value.user_message and info.value.status_code == 404
    assert len(openai_server.chat_requests) == 1


def test_model_not_found_code_on_400(openai_server):
    """Some servers answer 400 with code model_not_found."""
    openai_server.script(error(400, "no such model", code="model_not_found"))
    with pytest.raises(ModelNotFound):
        run(make_provider(openai_server), model="llama-missing")


def test_bad_request_is_a_plain_provider_error(openai_server):
    openai_server.script(error(400, "messages must not be empty"))
    with pytest.raises(ProviderError) as info:
        run(make_provider(openai_server))
    assert type(info.value) is ProviderError and not info.value.retryable
    assert "messages must not be empty" in info.value.user_message


# --- cancellation ----------------------------------------------------------------------

def test_cancel_mid_stream_keeps_partial_text(openai_server):
    openai_server.script(text("word " * 200, chunk_size=5, delay=0.01))
    cancel = threading.Event()
    events = []
    for event in make_provider(openai_server).stream_chat(
            ChatRequest(model="gpt-4o-mini", messages=MESSAGES), cancel=cancel):
        events.append(event)
        if len(deltas(events)) == 3:
            cancel.set()
    response = events[-1].response
    assert isinstance(events[-1], Completed) and response.finish_reason == "cancelled"
    assert response.content == "word word word " == "".join(deltas(events))
    assert response.usage.estimated and response.usage.output_tokens > 0


def test_cancel_before_start_sends_nothing(openai_server):
    cancel = threading.Event()
    cancel.set()
    events, response = run(make_provider(openai_server), cancel=cancel)
    assert response.finish_reason == "cancelled" and response.content == ""
    assert openai_server.chat_requests == []


# --- models and connection -------------------------------------------------------------

def test_list_models_and_check_connection(openai_server):
    openai_server.models = ["model-b", "model-a"]
    provider = make_provider(openai_server)
    assert provider.list_models() == ["model-a", "model-b"]
    message = provider.check_connection()
    assert "2 models" in message and "model-a" in message


def test_endpoint_without_model_list(openai_server):
    openai_server.models = None
    provider = make_provider(openai_server)
    assert provider.list_models() == []
    assert "does not list models" in provider.check_connection()


def test_check_connection_rejected_key(openai_server, monkeypatch):
    monkeypatch.setenv("SCRIPTED_KEY", TEST_KEY)
    openai_server.api_key = "sk-other"
    with pytest.raises(ProviderAuthError) as info:
        make_provider(openai_server, key_name="SCRIPTED_KEY").check_connection()
    assert TEST_KEY not in info.value.user_message


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_check_connection_nothing_listening():
    cfg = ProviderConfig(name="Nowhere", kind="openai_compatible",
                         base_url=f"http://127.0.0.1:{_free_port()}/v1", timeout_s=1)
    with pytest.raises(ProviderUnavailable) as info:
        OpenAICompatibleProvider(cfg).check_connection()
    assert "Cannot reach Nowhere" in info.value.user_message
    assert info.value.user_message.endswith("(Connection refused).")  # the transport's reason


def test_a_server_that_hangs_up_is_named_as_such():
    """A server that accepts and closes without a response: the message says so, which a
    refused connection and a timeout would not."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def hang_up() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # closed at the end of the test
            conn.recv(65536)
            conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    cfg = ProviderConfig(name="Closer", kind="openai_compatible", timeout_s=5,
                         base_url=f"http://127.0.0.1:{listener.getsockname()[1]}/v1")
    try:
        with pytest.raises(ProviderUnavailable) as info:
            OpenAICompatibleProvider(cfg).check_connection()
    finally:
        listener.close()
    assert "(Server disconnected without sending a response)" in info.value.user_message


def test_connection_refused_during_chat_is_retried():
    cfg = ProviderConfig(name="Nowhere", kind="openai_compatible",
                         base_url=f"http://127.0.0.1:{_free_port()}/v1", timeout_s=1,
                         max_retries=2)
    provider = OpenAICompatibleProvider(cfg, backoff_base_s=0.001)
    with pytest.raises(ProviderUnavailable) as info:
        list(provider.stream_chat(ChatRequest(model="m", messages=MESSAGES)))
    assert len(info.value.failed_attempts) == 1


# --- presets and building --------------------------------------------------------------

def test_presets_and_build_provider_do_not_load_xllamacpp():
    assert PRESETS["openai"]["api_key_name"] == "OPENAI_API_KEY"
    assert PRESETS["anthropic"]["base_url"].startswith("https://api.anthropic.com/v1")
    assert PRESETS["ollama"]["api_key_name"] is None
    assert PRESETS["local"]["kind"] == "local"
    provider = build_provider(ProviderConfig(name="x", kind="openai_compatible",
                                             base_url="http://127.0.0.1:9/v1"))
    assert isinstance(provider, OpenAICompatibleProvider)
    local = build_provider(ProviderConfig(name="b", kind="local"))
    assert isinstance(local, OpenAICompatibleProvider) and local.config.adapt_tools
    # Building starts nothing: the first call does. In a fresh interpreter, as an earlier test
    # in this process may have run the model.
    probe = ("import sys; from workbench.providers import ProviderConfig, build_provider; "
             "build_provider(ProviderConfig(name='b', kind='local')); print('xllamacpp' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_config_from_record():
    from workbench.models import ProviderRecord

    rec = ProviderRecord(group_id=1, name="My OpenAI", kind="openai_compatible",
                         preset="openai", base_url=None, api_key_name="OPENAI_API_KEY",
                         default_model=None)
    cfg = config_from_record(rec)
    assert cfg.base_url == "https://api.openai.com/v1" and cfg.default_model == "gpt-4o-mini"
    assert cfg.api_key_name == "OPENAI_API_KEY" and cfg.kind == "openai_compatible"
    local = config_from_record(ProviderRecord(group_id=1, name="Built-in", kind="local",
                                              preset="local"))
    from workbench.providers.builtin_model import model_id

    assert local.default_model == model_id() and local.base_url is None
    built = build_provider(local)
    assert isinstance(built, OpenAICompatibleProvider) and built.config.adapt_tools
    assert not build_provider(cfg).config.adapt_tools  # only the built-in model adapts


def test_estimate_tokens():
    assert estimate_tokens("") == 0
    short = estimate_tokens("Hello there, how are you?")
    assert 4 <= short <= 10
    assert estimate_tokens("x" * 4000) >= 250, "unsplittable text still counts by length"


def test_a_new_agent_starts_at_its_providers_temperature(scripted):
    """An agent on the built-in model starts cooler (presets.BUILTIN_TEMPERATURE: it answers
    short facts and formats more reliably there); one on another provider at 0.7; a given
    temperature is kept, and a later save keeps the agent's own."""
    from workbench import agents
    from workbench.providers import service as providers

    local = next(p for p in providers.list_providers(scripted.person_id, scripted.group_id) if p.kind == "local")
    on_builtin = agents.create_agent(scripted.person_id, scripted.group_id, name="Offline", provider_id=local.id,
                                     model=providers.starting_model(local))
    assert on_builtin.config.temperature == 0.2
    assert scripted.make_agent(name="Remote").config.temperature == 0.7
    assert scripted.make_agent(name="Hot", temperature=1.1).config.temperature == 1.1
    moved = agents.update_agent(scripted.person_id, on_builtin.id, provider_id=scripted.provider_id, model="gpt-4o")
    assert moved.config.temperature == 0.2
