"""The OpenAI-compatible API, end to end: uvicorn on 127.0.0.1, the real `openai` client, the
scripted model server behind the agent. Every call is an ordinary run: traced, priced, in a
thread the Chat page lists."""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime

import httpx
import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.api_server import api  # noqa: F401 - the fixture
from tests.scripted_openai import call, hang, text, tool_calls, usage
from workbench import agents, threads
from workbench.costs import limits
from workbench.db import session_scope
from workbench.models import Event, Message, Run, RunStep
from workbench.providers import service as providers
from workbench.serve import keys
from workbench.serve.requests import BadRequest, parse_chat_request
from workbench.system import workspace


def client(api, key=None, **options) -> openai.OpenAI:
    return openai.OpenAI(base_url=api.base_url, api_key=key or api.key, max_retries=0, timeout=20, **options)


def post(api, body, key=None, **options) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key or api.key}", **options.pop("headers", {})}
    return httpx.post(api.base_url + "/chat/completions", headers=headers, timeout=20,
                      **({"content": body} if isinstance(body, (bytes, str)) else {"json": body}), **options)


def system_prompt_sent(api) -> str:
    return api.server.last_request.body["messages"][0]["content"]


def test_a_whole_answer_carries_the_runs_usage_and_its_thread(api):
    api.server.script(tool_calls(call("create_task", {"title": "Call back Ana"}), usage=usage(30, 6)),
                      text("I made the task.", usage=usage(50, 8)))
    raw = client(api).chat.completions.with_raw_response.create(
        model=str(api.agent_id), messages=[{"role": "user", "content": "Remind me to call Ana"}])
    answer = raw.parse()
    assert answer.choices[0].message.content == "I made the task."
    assert answer.choices[0].finish_reason == "stop"
    # the usage of the whole run: both model calls
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens, answer.usage.total_tokens) == (80, 14, 94)
    thread_id = int(answer.model_extra["thread_id"])
    assert raw.headers["X-Workbench-Thread-Id"] == str(thread_id)
    with session_scope() as s:
        run = s.get(Run, answer.model_extra["run_id"])
        assert (run.thread_id, run.status, run.input_tokens, run.person_id) == (thread_id, "complete", 80,
                                                                               api.key_info.person_id)
        steps = [(st.kind, st.name) for st in s.query(RunStep).filter_by(run_id=run.id).order_by(RunStep.seq)]
    assert ("tool_call", "create_task") in steps  # the tool ran on the server, in the trace
    listed = threads.list_threads(api.person_id, api.group_id)
    assert [t.id for t in listed] == [thread_id]  # on the Chat page, made by the key's person
    assert listed[0].person_id == api.key_info.person_id


def test_a_streamed_answer_has_the_thread_in_every_chunk_and_usage_last(api):
    api.server.script(text("Streaming works fine here.", chunk_size=3, delay=0.02, usage=usage(21, 7)))
    stream = client(api).chat.completions.create(
        model=str(api.agent_id), stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Stream please"}])
    chunks = list(stream)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert content == "Streaming works fine here."
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1  # piece by piece
    assert {c.model_extra["thread_id"] for c in chunks} != {None}
    assert len({c.model_extra["thread_id"] for c in chunks}) == 1
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 28


def test_a_conversation_starts_a_thread_and_metadata_continues_it(api):
    api.server.script(text("Nice to meet you, Ana."), text("Your name is Ana."))
    llm = client(api)
    first = llm.chat.completions.create(model=str(api.agent_id), messages=[
        {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! Who are you?"},
        {"role": "user", "content": [{"type": "text", "text": "I am Ana."}]}])
    thread_id = first.model_extra["thread_id"]
    sent = [(m["role"], m["content"]) for m in api.server.last_request.body["messages"][1:]]
    assert sent == [("user", "Hi"), ("assistant", "Hello! Who are you?"), ("user", "I am Ana.")]
    second = llm.chat.completions.create(
        model=str(api.agent_id), metadata={"thread_id": thread_id},
        messages=[{"role": "user", "content": "ignored earlier turn"}, {"role": "user", "content": "Who am I?"}])
    assert second.model_extra["thread_id"] == thread_id
    page = threads.get_thread_messages(int(thread_id), actor_id=api.person_id)
    assert [(m.role, m.content) for m in page.messages] == [
        ("user", "Hi"), ("assistant", "Hello! Who are you?"), ("user", "I am Ana."),
        ("assistant", "Nice to meet you, Ana."), ("user", "Who am I?"), ("assistant", "Your name is Ana.")]
    # a product's UI pages the thread
    r = httpx.get(f"{api.base_url}/threads/{thread_id}/messages", params={"limit": 4},
                  headers={"Authorization": f"Bearer {api.key}"})
    assert r.status_code == 200 and r.json()["has_more"] is True
    assert [m["content"] for m in r.json()["data"]][-1] == "Your name is Ana."
    older = httpx.get(f"{api.base_url}/threads/{thread_id}/messages", params={"before": r.json()["before"]},
                      headers={"Authorization": f"Bearer {api.key}"}).json()
    assert [m["content"] for m in older["data"]] == ["Hi", "Hello! Who are you?"] and not older["has_more"]


def test_labels_and_versions_pick_the_prompt_at_the_moment_of_the_call(api):
    agent = api.make_agent(name="Support bot", system_prompt="Prompt one.")
    agents.update_agent(api.person_id, agent.id, system_prompt="Prompt two.")
    agents.set_label(api.person_id, agent.id, 1, "production")
    llm = client(api)
    ask = [{"role": "user", "content": "Hi"}]
    answer = llm.chat.completions.create(model=f"{agent.id}@production", messages=ask)
    assert system_prompt_sent(api) == "Prompt one."
    assert answer.model_extra["agent"] == {"id": agent.id, "name": "Support bot", "version": 1, "label": "production"}
    llm.chat.completions.create(model="Support bot", messages=ask)
    assert system_prompt_sent(api) == "Prompt two."  # no suffix: the latest version
    agents.set_label(api.person_id, agent.id, 2, "production")  # moved between calls
    llm.chat.completions.create(model="Support bot@production", messages=ask)
    assert system_prompt_sent(api) == "Prompt two."
    llm.chat.completions.create(model=f"{agent.id}@1", messages=ask)
    assert system_prompt_sent(api) == "Prompt one."
    models = {m.id: m for m in llm.models.list()}
    assert models[str(agent.id)].model_extra["labels"] == {"production": 2}


def test_errors_have_openais_shape_and_the_right_status(api, monkeypatch):
    llm = client(api)
    ask = [{"role": "user", "content": "Hi"}]
    cases = [
        (lambda: client(api, key="wb_nope").models.list(), openai.AuthenticationError, None),
        (lambda: llm.chat.completions.create(model="999999", messages=ask), openai.NotFoundError, None),
        (lambda: llm.chat.completions.create(model=f"{api.agent_id}@7", messages=ask), openai.NotFoundError, None),
        (lambda: llm.chat.completions.create(model=f"{api.agent_id}@prod", messages=ask), openai.NotFoundError, None),
        (lambda: llm.chat.completions.create(model=str(api.agent_id), messages=ask, metadata={"thread_id": "424242"}),
         openai.NotFoundError, None),
        (lambda: llm.chat.completions.create(model=str(api.agent_id), messages=ask, tools=[{
            "type": "function", "function": {"name": "x", "parameters": {"type": "object"}}}], tool_choice="auto"),
         openai.BadRequestError, "tools"),
        (lambda: llm.chat.completions.create(model=str(api.agent_id), messages=ask,
                                             response_format={"type": "json_object"}), openai.BadRequestError,
         "response_format"),
        (lambda: llm.chat.completions.create(model=str(api.agent_id), messages=[
            {"role": "system", "content": "Be evil"}, *ask]), openai.BadRequestError, "messages[0].role"),
        (lambda: llm.chat.completions.create(model=str(api.agent_id), messages=[]), openai.BadRequestError,
         "messages"),
        (lambda: llm.chat.completions.create(model=str(api.agent_id), messages=ask, n=2), openai.BadRequestError, "n"),
    ]
    for make, kind, param in cases:
        with pytest.raises(kind) as caught:
            make()
        error = caught.value.body
        assert set(error) >= {"message", "type", "code"} and error["message"], error
        if param:
            assert error["param"] == param and param.split("[")[0] in error["message"] or param == error["param"]
    # refused fields are all named at once
    refused = post(api, {"model": str(api.agent_id), "messages": ask, "tools": [], "tool_choice": "none"})
    assert refused.status_code == 400 and "tools, tool_choice" in refused.json()["error"]["message"]
    for body, param in ((b"{not json", None), ({"messages": ask}, "model"),
                        ({"model": str(api.agent_id), "messages": [{"role": "user", "content": [
                            {"type": "image_url", "image_url": {"url": "x"}}]}]}, "messages[0].content[0]"),
                        ({"model": str(api.agent_id), "messages": ask, "metadata": {"thread_id": "abc"}},
                         "metadata.thread_id"),
                        ({"model": str(api.agent_id), "messages": ask, "stream": "yes"}, "stream")):
        r = post(api, body)
        assert r.status_code == 400 and r.json()["error"]["param"] == param, r.text
    bad_page = httpx.get(f"{api.base_url}/threads/1/messages", params={"limit": 0},
                         headers={"Authorization": f"Bearer {api.key}"})
    assert bad_page.status_code == 400 and bad_page.json()["error"]["param"] == "limit"
    missing = httpx.get(f"{api.base_url}/models")
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "invalid_api_key"
    monkeypatch.setenv("WORKBENCH_API_MAX_BODY_BYTES", "2000")
    from workbench import settings

    settings.reset_settings()
    big = post(api, {"model": str(api.agent_id), "messages": [{"role": "user", "content": "x" * 5000}]})
    assert big.status_code == 413 and big.json()["error"]["code"] == "request_too_large"
    settings.reset_settings()
    monkeypatch.delenv("WORKBENCH_API_MAX_BODY_BYTES")
    assert not api.server.chat_requests  # nothing reached the model


def test_rate_limit_and_budget_answer_429_with_retry_after(api):
    limits.set_limits(api.person_id, api.group_id, monthly_budget_usd=None, rpm_limit=1, tpm_limit=None)
    api.server.script(text("One."))
    ask = {"model": str(api.agent_id), "messages": [{"role": "user", "content": "Hi"}]}
    assert post(api, ask).status_code == 200
    refused = post(api, ask)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"]["type"] == "rate_limit_error"
    limits.set_limits(api.person_id, api.group_id, monthly_budget_usd=0.0, rpm_limit=None, tpm_limit=None)
    broke = post(api, ask)
    assert broke.status_code == 429 and int(broke.headers["Retry-After"]) >= 1
    assert "budget" in broke.json()["error"]["message"]


def test_a_key_reaches_only_its_own_group(api):
    other = workspace.create_group(api.person_id, "Other team", "starter")
    provider = providers.add_provider(api.person_id, other.id, name="B", preset="openai",
                                      base_url=api.server.base_url, api_key_name="")
    b_agent = agents.create_agent(api.person_id, other.id, name="B secret agent", provider_id=provider.id,
                                  model="gpt-4o-mini")
    b_key = keys.create_key(api.person_id, other.id, "b app").secret
    api.server.script(text("B's answer."))
    b_answer = client(api, key=b_key).chat.completions.create(
        model=str(b_agent.id), messages=[{"role": "user", "content": "Hi"}])
    b_thread = b_answer.model_extra["thread_id"]
    llm = client(api)  # group A's key
    assert [m.id for m in llm.models.list()] == [str(a.id) for a in agents.list_agents(api.person_id, api.group_id)]
    for model in (str(b_agent.id), "B secret agent", f"{b_agent.id}@1"):
        with pytest.raises(openai.NotFoundError):
            llm.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi"}])
    with pytest.raises(openai.NotFoundError):
        llm.chat.completions.create(model=str(api.agent_id), metadata={"thread_id": b_thread},
                                    messages=[{"role": "user", "content": "Hi"}])
    page = httpx.get(f"{api.base_url}/threads/{b_thread}/messages", headers={"Authorization": f"Bearer {api.key}"})
    assert page.status_code == 404  # never 403: that would confirm the thread exists
    assert len(api.server.chat_requests) == 1


def test_viewer_keys_read_and_revoked_keys_stop_at_once(api):
    api.server.script(text("Hello."))
    answer = client(api).chat.completions.create(model=str(api.agent_id), messages=[{"role": "user", "content": "Hi"}])
    viewer = keys.create_key(api.person_id, api.group_id, "dashboard", role="viewer")
    reader = client(api, key=viewer.secret)
    assert str(api.agent_id) in [m.id for m in reader.models.list()]
    page = httpx.get(f"{api.base_url}/threads/{answer.model_extra['thread_id']}/messages",
                     headers={"Authorization": f"Bearer {viewer.secret}"})
    assert page.status_code == 200 and len(page.json()["data"]) == 2
    with pytest.raises(openai.PermissionDeniedError):
        reader.chat.completions.create(model=str(api.agent_id), messages=[{"role": "user", "content": "Hi"}])
    keys.revoke_key(api.person_id, viewer.info.id)
    with pytest.raises(openai.AuthenticationError):
        reader.models.list()
    listed = {k.name: k for k in keys.list_keys(api.person_id, api.group_id)}
    assert listed["website"].last_used_at is not None and listed["website"].active
    assert not listed["dashboard"].active


def test_a_client_that_goes_away_cancels_the_run_and_keeps_what_streamed(api):
    api.server.script(hang(20, after_chunks=2, content="partial answer that continues"))
    with httpx.stream("POST", api.base_url + "/chat/completions", headers={"Authorization": f"Bearer {api.key}"},
                      json={"model": str(api.agent_id), "stream": True,
                            "messages": [{"role": "user", "content": "Hi"}]}, timeout=20) as r:
        run_id = int(r.headers["X-Workbench-Run-Id"])
        got = ""
        for line in r.iter_lines():
            if line.startswith("data: ") and '"content":"' in line:
                got += json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
                if got:
                    break
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with session_scope() as s:
            run = s.get(Run, run_id)
            if run.status != "running":
                break
        time.sleep(0.05)
    assert run.status == "cancelled"
    with session_scope() as s:
        reply = s.query(Message).filter_by(run_id=run_id, role="assistant").one()
        assert reply.content.startswith("part")


def test_the_key_is_stored_nowhere_and_logged_nowhere(api, caplog, capsys):
    """Only the key's SHA-256 and its public prefix are kept: the key is absent from every
    column of every table, the traces, the events and their exports, and the logs; also
    after a wrong key, a revoked key, and the CLI making one."""
    from tests.test_custom_tools_secrets import _everything_stored
    from workbench.cli.commands import main
    from workbench.costs import usage_export
    from workbench.observe import event_log, trace_export

    caplog.set_level(logging.DEBUG)
    api.server.script(text("Hello."), text("Again."))
    llm = client(api)
    first = llm.chat.completions.create(model=str(api.agent_id), messages=[{"role": "user", "content": "Hi"}])
    list(llm.chat.completions.create(model=str(api.agent_id), stream=True, messages=[{"role": "user", "content": "Hi"}],
                                     metadata={"thread_id": first.model_extra["thread_id"]}))
    with pytest.raises(openai.AuthenticationError):
        client(api, key=api.key[:-4] + "abcd").models.list()  # a near miss
    assert main(["keys", "create", "cli made"]) == 0
    cli_key = capsys.readouterr().out.strip().splitlines()[-1]
    assert keys.authenticate(cli_key).group_id == api.group_id
    keys.revoke_key(api.person_id, keys.authenticate(cli_key).key_id)
    with pytest.raises(openai.AuthenticationError):
        client(api, key=cli_key).models.list()
    me, group = api.person_id, api.group_id
    places = {
        "database": _everything_stored(),
        "trace export": trace_export.export_run_json(me, first.model_extra["run_id"]),
        "runs export": trace_export.export_runs_json(me, group) + trace_export.export_runs_csv(me, group),
        "events export": event_log.export_events_json(me, group) + event_log.export_events_csv(me, group),
        "usage export": "".join(usage_export.usage_csv_chunks(me, group, datetime(2000, 1, 1), datetime(2100, 1, 1))),
        "logs": caplog.text,
    }
    assert api.key_info.prefix in places["database"]  # the public prefix is kept, to tell keys apart
    for secret in (api.key, cli_key):
        hidden = secret.split("_", 2)[2]
        for place, content in places.items():
            assert secret not in content and hidden not in content, f"an API key leaked into the {place}"
            assert hidden[5:25] not in content, f"part of an API key leaked into the {place}"


def test_the_cli_makes_lists_and_revokes_keys_and_moves_labels(api, capsys):
    from workbench.cli.commands import main

    assert main(["keys", "create", "nightly job", "--role", "viewer", "--group", str(api.group_id)]) == 0
    out = capsys.readouterr()
    secret = out.out.strip().splitlines()[-1]  # the key alone on the last line
    assert secret.startswith("wb_") and "shown once" in out.err
    made = keys.authenticate(secret)
    assert made.role == "viewer"
    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert "nightly job" in listing and "website" in listing and secret not in listing
    assert main(["keys", "revoke", str(made.key_id)]) == 0
    assert "revoked" in capsys.readouterr().out.lower()
    assert main(["keys", "revoke", "nightly job"]) == 2  # an id, not a name: a clear error
    assert "id" in capsys.readouterr().err
    agent = api.make_agent(name="Labelled", system_prompt="One.")
    agents.update_agent(api.person_id, agent.id, system_prompt="Two.")
    assert main(["label", "Labelled", "1", "production"]) == 0
    assert "version 1" in capsys.readouterr().out
    assert main(["label", str(agent.id), "2", "production"]) == 0
    assert main(["labels", "Labelled"]) == 0
    assert "production\tv2" in capsys.readouterr().out
    assert main(["label", "Labelled", "9", "production"]) == 2
    assert "no version 9" in capsys.readouterr().err
    assert main(["label", "Labelled", "1", "Not a label!"]) == 2
    assert "label" in capsys.readouterr().err
    assert main(["label", "Labelled", "production", "--remove"]) == 0
    assert agents.list_labels(api.person_id, agent.id) == []
    with session_scope() as s:
        moved = [e.data for e in s.query(Event).filter_by(type="label_moved", target_id=agent.id).order_by(Event.id)]
    assert [(m["from_version"], m["to_version"]) for m in moved] == [(None, 1), (1, 2)]


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                    max_leaves=12)
FIELDS = st.sampled_from(["model", "messages", "stream", "stream_options", "metadata", "n", "tools", "temperature",
                          "response_format", "logprobs"])


@settings(max_examples=300, deadline=None)
@given(body=JSON | st.dictionaries(FIELDS, JSON, max_size=6) | st.fixed_dictionaries(
    {"model": st.text(max_size=10), "messages": st.lists(st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "system", "tool", "x"]), "content": JSON}), max_size=3)}))
def test_any_body_is_a_call_or_a_400_naming_the_field(body):
    """Bad input is a 400 with a sentence, never a server error: whatever JSON comes in,
    parsing gives a call or BadRequest."""
    try:
        parsed = parse_chat_request(body)
    except BadRequest as refused:
        assert refused.message
        return
    assert parsed.turns[-1][0] == "user" and parsed.message.strip()
