"""The built-in model (Qwen2.5-Coder-1.5B-Instruct by default, on the embedded llama.cpp server) for
real: the file is hash-checked, it answers, it uses tools through the real run loop, and
it serves two chats at once. Temperature 0 throughout, for repeatable answers."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest
from sqlalchemy import select

from workbench import agents, runs, settings
from workbench import knowledge as kb
from workbench.db import session_scope
from workbench.models import ProviderRecord, RunStep
from workbench.providers import build_provider, builtin_model, embedded_server
from workbench.providers.base import ChatRequest, Completed, ProviderConfig, TextDelta
from workbench.providers.builtin_model import DEFAULT_MODEL, PINNED, ModelFileRefused, model_id
from workbench.tools import tasks

pytestmark = pytest.mark.slow

CONFIG = ProviderConfig(name="Built-in", kind="local", default_model=model_id())


@pytest.fixture(autouse=True)
def _fresh_settings():
    yield
    settings.reset_settings()  # tests below change model settings through the environment


def _ask(question: str, max_tokens: int = 40, **request) -> tuple[list, object]:
    events = list(build_provider(CONFIG).stream_chat(ChatRequest(
        model=model_id(), messages=[{"role": "user", "content": question}], temperature=0.0,
        max_tokens=max_tokens, **request)))
    assert isinstance(events[-1], Completed)
    return events, events[-1].response


SIZE = PINNED[DEFAULT_MODEL].size


def test_the_model_file_is_the_installed_parts_and_a_wrong_file_is_refused(tmp_path):
    """The pinned file in the cache every test here runs: assembled from the installed part
    packages on first use and hash-checked (the same steps on small parts, and a refusal
    while assembling: tests/test_builtin_model_choice.py). A file that is not the pinned one
    is refused before it is loaded: same size and another hash, or another size."""
    path = builtin_model.builtin_path()  # refused unless its SHA-256 is the pinned one
    assert path.name == PINNED[DEFAULT_MODEL].file_name and path.stat().st_size == SIZE
    assert not [name for name in os.listdir(path.parent) if name.endswith(".tmp")]  # none left behind
    wrong = tmp_path / "model.gguf"
    wrong.write_bytes(b"GGUF" + bytes(4092))
    model = builtin_model.PinnedModel("Small", "small (built-in)", wrong.name, "0" * 64, 4096, (), "requirements.txt")
    with pytest.raises(ModelFileRefused, match="Refusing to load .* not the pinned"):
        builtin_model.verify(wrong, model)
    wrong.write_bytes(b"GGUF not really")
    with pytest.raises(ModelFileRefused, match="size 15 bytes"):
        builtin_model.verify(wrong, model)


def test_own_model_path_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_LOCAL_MODEL_PATH", str(tmp_path / "missing.gguf"))
    settings.reset_settings()
    with pytest.raises(ModelFileRefused, match="WORKBENCH_LOCAL_MODEL_PATH"):
        builtin_model.model_file()
    assert "missing.gguf" in builtin_model.describe_configured()


def test_answers_a_factual_question():
    events, response = _ask("What is the capital of France?")
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert "Paris" in response.content and text == response.content
    assert response.usage.estimated is False and response.usage.input_tokens > 10
    assert 0 < response.usage.output_tokens <= 40 and response.ttft_ms is not None
    running = embedded_server.running()
    assert running is not None and running.url.startswith("http://127.0.0.1:")
    assert running.file.builtin and running.slots >= 2 and running.slot_context >= 4096
    assert model_id() in build_provider(CONFIG).check_connection()


def _agent(wb, tools: list[str], prompt: str = "You are a helpful assistant.") -> int:
    with session_scope() as s:
        provider_id = s.scalar(select(ProviderRecord.id).where(
            ProviderRecord.group_id == wb.group_id, ProviderRecord.kind == "local"))
    return agents.create_agent(wb.person_id, wb.group_id, name=f"Local {'+'.join(tools)}",
                               provider_id=provider_id, model=model_id(), system_prompt=prompt,
                               temperature=0.0, max_output_tokens=60, tools=tools,
                               max_tool_steps=3).id


def _run(wb, agent_id: int, message: str):
    thread, _ = runs.create_thread(wb.group_id, agent_id, wb.person_id)
    result = runs.continue_thread(thread.id, message, wb.person_id).wait(240)
    assert result.status == "complete", result.error
    with session_scope() as s:
        steps = s.scalars(select(RunStep).where(RunStep.run_id == result.run_id)
                          .order_by(RunStep.seq)).all()
        return result, [(st.kind, st.name, st.request, st.response) for st in steps]


def test_agent_creates_the_task_asked_for_with_exact_arguments(wb):
    agent_id = _agent(wb, ["create_task", "search_knowledge"])
    result, steps = _run(wb, agent_id, "Create a task titled 'Renew the office lease' with low priority.")
    assert [kind for kind, *_ in steps] == ["model_call", "tool_call", "model_call"]
    [task] = tasks.list_tasks(wb.person_id, wb.group_id)
    assert (task.name, task.data["priority"]) == ("Renew the office lease", "low")
    # The trace shows the decision as sent: the constraint, temperature 0, and what it chose.
    first_request, first_response = steps[0][2], steps[0][3]
    decision = first_request["decision"]
    assert decision["temperature"] == 0.0 and decision["response_format"]["type"] == "json_schema"
    assert json.loads(first_response["decision"])["tool"] == "create_task"
    # The second call as sent: the task's own sentence to reply with, no tools, no decision;
    # the reply says what was done, not the call or its JSON.
    second = steps[2][2]
    assert second["tools"] == [] and "decision" not in second
    assert 'Reply with this sentence: I have added the task "Renew the office lease"' in (
        second["messages"][0]["content"])
    assert "lease" in result.reply.lower() and "create_task" not in result.reply and "{" not in result.reply
    assert result.reply.startswith('I have added the task "Renew the office lease"')  # held to it
    assert second["grammar"].startswith('root ::= "I have added the task')


def test_agent_answers_a_plain_question_without_a_tool(wb):
    """Left to itself this model answered "17 times 4 is 76.": the answer is handed the sum's
    result (providers/arithmetic)."""
    agent_id = _agent(wb, ["create_task", "search_knowledge", "call_human"])
    result, steps = _run(wb, agent_id, "What is 17 times 4?")
    assert [kind for kind, *_ in steps] == ["model_call"]
    assert json.loads(steps[0][3]["decision"]) == {"tool": "answer"}
    assert "17 times 4 = 68" in steps[0][2]["messages"][0]["content"]  # as sent, in the trace
    assert "68" in result.reply and "76" not in result.reply


def test_agent_answers_in_the_form_asked_for(wb):
    """Without the grammar this model replied "No, nothing else." to this message."""
    agent_id = _agent(wb, ["create_task", "search_knowledge", "call_human"])
    result, steps = _run(wb, agent_id, "Yes or no, nothing else: is the moon bigger than the earth?")
    assert [kind for kind, *_ in steps] == ["model_call"] and "grammar" in steps[0][2]
    assert result.reply.strip() in ("Yes", "Yes.", "No", "No.")
    result, _ = _run(wb, agent_id, "Give just the number: how many legs does a spider have?")
    assert result.reply.strip().rstrip(".").isdigit()
    # Held to one word from the start it wrote "Nestled." (the first word of "Nestled in the
    # leaves of bees, they produce honey"): the word comes from the question answered in full.
    result, steps = _run(wb, agent_id, "Reply in one word: what do bees make?")
    assert result.reply.strip(" .").lower() == "honey"
    assert "honey" in steps[0][3]["full_answer"].lower() and "honey" in steps[0][3]["form_choices"]


def test_agent_hands_a_request_for_a_manager_to_a_human(wb):
    """Before the decision's example turns, this model filed this as a task every time."""
    agent_id = _agent(wb, ["create_task", "search_knowledge", "call_human"])
    _, steps = _run(wb, agent_id, "I need a manager to look at my complaint.")
    assert steps[0][0] == "model_call" and json.loads(steps[0][3]["decision"])["tool"] == "call_human"
    assert [name for kind, name, *_ in steps if kind == "tool_call"] == ["call_human"]
    assert tasks.list_tasks(wb.person_id, wb.group_id) == []


def test_agent_answers_from_the_knowledge_base(wb):
    kb.add_snippet(wb.person_id, wb.group_id, "Project names",
                   "The internal codename of the 2027 product launch is Marigold Falcon. "
                   "The launch is planned for the city of Tampere.")
    kb.add_snippet(wb.person_id, wb.group_id, "Old projects",
                   "The 2025 product launch was called Copper Heron and took place in Lyon.")
    agent_id = _agent(wb, ["search_knowledge"],
                      "You are a helpful assistant. Use search_knowledge for questions about "
                      "the company.")
    result, steps = _run(wb, agent_id, "Search the knowledge base: what is the codename of "
                                       "our 2027 product launch?")
    assert ("tool_call", "search_knowledge") in [(k, n) for k, n, *_ in steps]
    # the passages as sent: numbered, with their titles, in the system turn; the question last
    sent = steps[-1][2]["messages"]
    assert "] Project names: The internal codename" in sent[0]["content"] and sent[-1]["role"] == "user"
    assert "marigold" in result.reply.lower() and "copper" not in result.reply.lower(), result.reply
    # Not told to search: a strongly matching passage makes the run search first, traced
    # as a real call, and the decision's look at the knowledge is in the trace.
    result, steps = _run(wb, agent_id, "What is the codename of the 2027 product launch?")
    assert [(k, n) for k, n, *_ in steps][:2] == [("model_call", model_id()), ("tool_call", "search_knowledge")]
    probe = steps[0][2]["knowledge_probe"]
    assert probe["matches"][0][0] == "Project names" and probe["matches"][0][1] >= probe["search_first_from_score"]
    assert {"Marigold", "Falcon", "Tampere", "Copper", "Heron", "Lyon"} <= set(probe["names"])
    assert "marigold" in result.reply.lower(), result.reply


def test_two_runs_stream_at_the_same_time(wb):
    """Two agent runs on the built-in model, started together, both progress: each one's
    text arrives while the other is still streaming (the server batches both slots)."""
    agent_id = _agent(wb, [])
    agents.update_agent(wb.person_id, agent_id, max_output_tokens=48)
    stamps: dict[int, list[float]] = {0: [], 1: []}
    results: dict[int, object] = {}
    embedded_server.ensure_started()

    def run(i: int, question: str) -> None:
        thread, _ = runs.create_thread(wb.group_id, agent_id, wb.person_id)
        handle = runs.continue_thread(thread.id, question, wb.person_id)
        for update in handle.updates(timeout=240):
            if update.kind == "text":
                stamps[i].append(time.perf_counter())
        results[i] = handle.wait(10)

    workers = [threading.Thread(target=run, args=(i, q)) for i, q in enumerate(
        ["Describe the water cycle in detail.", "Explain how a bicycle gear works."])]
    for w in workers:
        w.start()
    for w in workers:
        w.join(300)
    assert [results[i].status for i in (0, 1)] == ["complete", "complete"]
    assert all(len(s) >= 10 for s in stamps.values()), {i: len(s) for i, s in stamps.items()}
    # Overlap: each run got text before the other one finished ...
    assert stamps[0][0] < stamps[1][-1] and stamps[1][0] < stamps[0][-1]
    # ... and they interleave: many of one run's deltas fall inside the other's window.
    inside = [t for t in stamps[1] if stamps[0][0] < t < stamps[0][-1]]
    assert len(inside) >= 5, (len(inside), len(stamps[1]))


def test_a_cancelled_reply_stops_early():
    cancel = threading.Event()
    events = []
    for event in build_provider(CONFIG).stream_chat(ChatRequest(
            model=model_id(), messages=[{"role": "user", "content": "Tell a long story."}],
            temperature=0.0, max_tokens=200), cancel=cancel):
        events.append(event)
        if isinstance(event, TextDelta):
            cancel.set()
    response = events[-1].response
    assert response.finish_reason == "cancelled" and response.usage.output_tokens <= 5


def test_token_estimates_count_like_the_model():
    from workbench.providers import tokens

    assert tokens.tokenizer_name() == "Qwen2.5 BPE (built-in model)"
    for text in ["Hello there, how are you?", "Der schnelle braune Fuchs springt über den Hund.",
                 "敏捷的棕色狐狸跳过了懒狗。", 'def f(x):\n    return {"a": [1, 2]}  # ok\n\n',
                 "  tabs\tand\r\nnumbers 3.14159 and 🎉"]:
        assert tokens.estimate_tokens(text) == len(embedded_server.tokenize(text)), text


def test_token_estimates_fall_back_when_the_model_file_is_unusable(monkeypatch):
    from workbench.providers import tokens

    def refuse():
        raise ModelFileRefused("not here")

    monkeypatch.setattr(tokens, "builtin_path", refuse)
    tokens._builtin.cache_clear()
    try:
        assert tokens.tokenizer_name() == "all-MiniLM-L6-v2 WordPiece"
        assert tokens.estimate_tokens("Hello there, how are you?") > 0
    finally:
        tokens._builtin.cache_clear()


def test_shutdown_does_not_wait_for_replies_in_flight():
    """At exit the server stops promptly even while a reply streams (it would otherwise
    finish every reply first), and the next call starts a new one."""
    first, ended = threading.Event(), []

    def chat() -> None:
        for event in build_provider(CONFIG).stream_chat(ChatRequest(
                model=model_id(), messages=[{"role": "user", "content": "Tell a long story."}],
                temperature=0.0, max_tokens=400)):
            if isinstance(event, TextDelta):
                first.set()
            elif isinstance(event, Completed):
                ended.append(event.response.finish_reason)

    worker = threading.Thread(target=chat, daemon=True)
    worker.start()
    assert first.wait(120)
    started = time.perf_counter()
    embedded_server.shutdown()
    assert time.perf_counter() - started < 5 and embedded_server.running() is None
    worker.join(30)
    assert ended == ["cancelled"]
    _, response = _ask("What is the capital of France?", max_tokens=12)  # starts again
    assert "Paris" in response.content
