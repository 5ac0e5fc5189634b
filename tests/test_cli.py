"""`python -m workbench` drives the same services, in-process here."""

import pytest

from tests.scripted_openai import text
from workbench.cli.commands import main


def test_cli_chat_streams_and_show_prints(scripted, capsys):
    scripted.server.script(text("Streamed to the terminal"))
    assert main(["agents"]) == 0
    assert "Tester" in capsys.readouterr().out
    assert main(["chat", "--agent", str(scripted.agent_id), "Hello from a script"]) == 0
    captured = capsys.readouterr()
    assert "Streamed to the terminal" in captured.out
    thread_id = int(captured.err.split("[thread ")[1].split("]")[0])
    assert main(["show", str(thread_id)]) == 0
    out = capsys.readouterr().out
    assert "Hello from a script" in out and "Streamed to the terminal" in out
    assert main(["threads"]) == 0
    assert "Hello from a script" in capsys.readouterr().out


def test_cli_errors_are_plain(scripted, capsys):
    assert main(["show", "424242"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["--group", "999", "agents"]) == 2
    assert "not a member" in capsys.readouterr().err


def test_cli_compare_prints_each_variant_and_saves(scripted, capsys):
    from workbench.playground import get_comparison

    scripted.server.script_for("gpt-4o-mini", text("Reply of the first"))
    other = scripted.make_agent(name="Other", model="gpt-4o")
    scripted.server.script_for("gpt-4o", text("Reply of the second"))
    code = main(["compare", "--agent", f"{scripted.agent_id}@1", "--agent", str(other.id), "Compare this"])
    captured = capsys.readouterr()
    assert code == 0, captured
    assert "Reply of the first" in captured.out and "Reply of the second" in captured.out
    assert captured.out.count("ttft ") == 2 and "tokens 12 in" in captured.out and "cost $" in captured.out
    comparison_id = int(captured.err.split("[comparison ")[1].split("]")[0])
    view = get_comparison(scripted.person_id, comparison_id)
    assert [c.result.status for c in view.columns] == ["complete", "complete"]


def test_cli_compare_refuses_bad_input(scripted, capsys):
    a = str(scripted.agent_id)
    assert main(["compare", "--agent", a, "--agent", a, "--agent", a, "--agent", a, "--agent", a, "Hi"]) == 2
    assert "at most 4 variants" in capsys.readouterr().err
    assert main(["compare", "--agent", a, "--agent", a, "  "]) == 2
    assert "Write a message first" in capsys.readouterr().err
    assert main(["compare", "--agent", a, "--agent", "999999@1", "Hi"]) == 2
    assert "does not exist in this group" in capsys.readouterr().err
    assert scripted.server.chat_requests == []


def test_cli_replay_prints_the_new_thread_and_turns(scripted, capsys):
    scripted.server.script(text("First answer"))
    assert main(["chat", "--agent", str(scripted.agent_id), "Question one"]) == 0
    thread_id = int(capsys.readouterr().err.split("[thread ")[1].split("]")[0])
    scripted.server.script(text("Replayed answer"))
    assert main(["replay", str(thread_id), "--agent", f"{scripted.agent_id}@1", "--model", "gpt-4o"]) == 0
    out = capsys.readouterr().out
    assert f"of thread {thread_id}]" in out and "turn 1: Question one" in out
    assert "'Replayed answer'" in out and "'First answer'" in out
    assert scripted.server.last_request.body["model"] == "gpt-4o"


def test_cli_compare_refuses_another_groups_agent(scripted, capsys, openai_server):
    from workbench import agents
    from workbench.providers import service as providers
    from workbench.system import workspace

    other = workspace.create_group(scripted.person_id, "Another team").id
    provider = providers.add_provider(scripted.person_id, other, name="Theirs", kind="openai_compatible",
                                      base_url=openai_server.base_url)
    theirs = agents.create_agent(scripted.person_id, other, name="Theirs", provider_id=provider.id,
                                 model="gpt-4o-mini")
    code = main(["--group", str(scripted.group_id), "compare", "--agent", str(scripted.agent_id),
                 "--agent", f"{theirs.id}@1", "Hi"])
    assert code == 2
    assert f"Agent {theirs.id} does not exist in this group" in capsys.readouterr().err
    assert scripted.server.chat_requests == []


def test_python_dash_m_workbench_is_the_cli(scripted, capsys, monkeypatch):
    """`python -m workbench ...` runs the same commands (workbench/__main__.py)."""
    import runpy
    import sys

    monkeypatch.setattr(sys, "argv", ["workbench", "agents"])
    with pytest.raises(SystemExit) as done:
        runpy.run_module("workbench", run_name="__main__")
    assert done.value.code == 0
    assert "Tester" in capsys.readouterr().out
