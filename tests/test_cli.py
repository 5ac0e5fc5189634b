"""`python -m workbench` drives the same services, in-process here."""

from workbench.__main__ import main
from tests.scripted_openai import text


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
