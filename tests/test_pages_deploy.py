"""The Deploy page (API keys, version labels, the code to call an agent) under AppTest against
a real SQLite file, and the mark an API key leaves on the Chat page's thread list."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.api_server import api  # noqa: F401 - the fixture
from workbench import agents, runs
from workbench.serve import keys

ROOT = Path(__file__).resolve().parent.parent


def open_page(name: str, person_id: int, group_id: int, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "views" / name), default_timeout=30)
    at.session_state["person_id"] = person_id
    at.session_state["group_id"] = group_id
    for key, value in state.items():
        at.session_state[key] = value
    return ok(at.run())


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


# --- Chat: threads started through the API --------------------------------------------------

def test_chat_marks_threads_an_api_key_started(wb):
    site = keys.create_key(wb.person_id, wb.group_id, "website").info
    theirs, _ = runs.create_thread(wb.group_id, wb.agent_id, site.person_id, title="Order status")
    mine, _ = runs.create_thread(wb.group_id, wb.agent_id, wb.person_id, title="My own thread")
    at = open_page("chat.py", wb.person_id, wb.group_id, sel_thread=theirs.id)
    radio = at.radio(key="chat_thread_pick")
    captions = dict(zip(radio.options, radio.proto.captions))
    assert captions  # the thread list is drawn
    marks = {title: "🔑 website" in caption for title, caption in captions.items()}
    assert marks == {"Order status": True, "My own thread": False}
    assert any("started through the API with the key **website**" in c.value for c in at.caption)
    keys.revoke_key(wb.person_id, site.id)  # its threads keep the mark
    at = open_page("chat.py", wb.person_id, wb.group_id, sel_thread=mine.id)
    assert not any("started through the API" in c.value for c in at.caption)


# --- Deploy: API keys -----------------------------------------------------------------------

def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def table_with(at: AppTest, column: str):
    """The first table with this column, as a DataFrame."""
    return next(df.value for df in at.dataframe if column in df.value.columns)


def codes(at: AppTest) -> list[str]:
    return [c.value for c in at.code]


def everything_but_code(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [s.value for s in at.success]
    parts += [w.value for w in at.warning] + [i.value for i in at.info] + [e.value for e in at.error]
    parts += [df.value.to_csv() for df in at.dataframe]
    return "\n".join(parts)


def test_an_editor_creates_a_key_sees_it_once_and_revokes_it(wb):
    at = open_page("deploy.py", wb.person_id, wb.group_id)
    assert any("No keys yet" in c.value for c in at.caption)
    button(at, "Create key").click().run()  # no name
    assert any("Give the key a name" in c.value for c in ok(at).caption)
    assert keys.list_keys(wb.person_id, wb.group_id) == []

    at.text_input(key="deploy_key_name").input("website chat")
    at.selectbox(key="deploy_key_role").set_value("viewer")
    button(at, "Create key").click().run()
    [made] = keys.list_keys(wb.person_id, wb.group_id)
    [secret] = [c for c in codes(ok(at)) if c.startswith("wb_")]
    assert secret.startswith(made.prefix + "_") and keys.authenticate(secret).key_id == made.id
    assert any("shown only this once" in w.value for w in at.warning)
    assert (made.name, made.role) == ("website chat", "viewer")
    keys_table = table_with(at, "Key")
    assert list(keys_table["Name"]) == ["website chat"] and list(keys_table["Key"]) == [f"{made.prefix}…"]
    assert list(keys_table["Last used (UTC)"]) == ["never"] and list(keys_table["Status"]) == ["active"]
    assert secret not in everything_but_code(at)  # the list shows the prefix, never the key
    assert at.text_input(key="deploy_key_name").value == ""  # ready for the next one

    at.run()  # still there until its maker dismisses it or leaves the page
    assert secret in codes(ok(at))
    at.button(key="deploy_key_dismiss").click().run()
    assert secret not in codes(ok(at)) and not any(c.startswith("wb_") for c in codes(at))
    assert "sel_deploy_new_key" not in at.session_state

    assert at.selectbox(key="deploy_revoke_pick").value == made.id
    at.button(key="deploy_revoke").click().run()
    assert any("Revoked the key website chat" in s.value for s in ok(at).success)
    assert not keys.list_keys(wb.person_id, wb.group_id)[0].active
    assert list(table_with(at, "Key")["Status"])[0].startswith("revoked")
    assert not [b for b in at.button if b.key == "deploy_revoke"]  # nothing left to revoke


def test_leaving_the_page_forgets_a_new_key(wb):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["person_id"], at.session_state["group_id"] = wb.person_id, wb.group_id
    ok(at.run())
    ok(at.switch_page("views/deploy.py").run())
    at.text_input(key="deploy_key_name").input("website")
    button(at, "Create key").click().run()
    assert any(c.startswith("wb_") for c in codes(ok(at)))
    ok(at.switch_page("views/home.py").run())
    assert "sel_deploy_new_key" not in at.session_state
    ok(at.switch_page("views/deploy.py").run())
    assert not any(c.startswith("wb_") for c in codes(at))
    assert [k.name for k in keys.list_keys(wb.person_id, wb.group_id)] == ["website"]


def test_a_viewer_sees_the_keys_and_labels_read_only(wb):
    from workbench.tenancy import groups

    keys.create_key(wb.person_id, wb.group_id, "website")
    agents.set_label(wb.person_id, wb.agent_id, 1, "production")
    viewer = groups.add_member(wb.person_id, wb.group_id, email="v@example.com", role="viewer")
    at = open_page("deploy.py", viewer.id, wb.group_id)
    assert any("You are a viewer" in i.value for i in at.info)
    assert list(table_with(at, "Key")["Name"]) == ["website"]
    assert list(table_with(at, "Label")["Label"]) == ["production"]
    assert {"Create key", "Set label", "Revoke key", "Remove label"}.isdisjoint(b.label for b in at.button)
    assert any(f"{wb.agent_id}@production" in c for c in codes(at))  # the code is for everyone


# --- Deploy: version labels and the code -----------------------------------------------------

def test_an_editor_moves_and_removes_a_label_and_copies_the_code(wb, monkeypatch):
    from workbench import settings

    monkeypatch.setenv("WORKBENCH_API_PUBLIC_URL", "https://agents.example.com/v1")
    settings.reset_settings()
    agents.update_agent(wb.person_id, wb.agent_id, system_prompt="Second version.", note="Shorter")
    at = open_page("deploy.py", wb.person_id, wb.group_id)
    prefix = f"deploy_label_{wb.agent_id}"
    assert any("No labels yet" in c.value for c in at.caption)
    assert at.selectbox(key=f"deploy_ref_{wb.agent_id}").value == str(wb.agent_id)  # the latest
    at.selectbox(key=f"{prefix}_pick").set_value("production")
    at.selectbox(key=f"{prefix}_version").set_value(1)
    at.button(key="deploy_label_set").click().run()
    assert any("production" in s.value and "version 1" in s.value for s in ok(at).success)
    assert [(lab.label, lab.version) for lab in agents.list_labels(wb.person_id, wb.agent_id)] == [("production", 1)]
    table = table_with(at, "Label")
    assert list(table["Version"]) == ["v1"] and list(table["Moved by"]) == ["Local user"]
    # the code calls the label, at the configured address
    at.selectbox(key=f"deploy_ref_{wb.agent_id}").set_value(f"{wb.agent_id}@production").run()
    python, curl, streamed = codes(at)[-3:]
    assert f'model="{wb.agent_id}@production"' in python and "https://agents.example.com/v1" in python
    assert 'os.environ["WORKBENCH_API_KEY"]' in python and 'metadata={"thread_id": thread_id}' in python
    assert "https://agents.example.com/v1/chat/completions" in curl and '"stream": true' in streamed

    at.selectbox(key=f"{prefix}_version").set_value(2)
    at.button(key="deploy_label_set").click().run()
    assert agents.list_labels(wb.person_id, wb.agent_id)[0].version == 2

    at.selectbox(key=f"{prefix}_pick").set_value("\u2026another word").run()
    at.text_input(key=f"{prefix}_word").input("Not a label!")
    at.button(key="deploy_label_set").click().run()
    assert any("A label is a word" in c.value for c in ok(at).caption)
    at.text_input(key=f"{prefix}_word").input("canary")
    at.button(key="deploy_label_set").click().run()
    assert {lab.label for lab in agents.list_labels(wb.person_id, wb.agent_id)} == {"canary", "production"}

    at.selectbox(key=f"{prefix}_remove").set_value("production")
    at.button(key="deploy_label_remove").click().run()
    assert any("Removed the label **production**" in s.value for s in ok(at).success)
    assert [lab.label for lab in agents.list_labels(wb.person_id, wb.agent_id)] == ["canary"]


def test_the_copied_code_runs_against_the_api(api, monkeypatch, capsys):
    """The snippets are real: the Python one (a new thread, then a streamed turn continuing it)
    and the curl one, against the API on uvicorn with the scripted model behind the agent."""
    import json
    import subprocess

    from tests.scripted_openai import text
    from workbench import threads
    from workbench.serve.snippets import client_code

    agents.set_label(api.person_id, api.agent_id, 1, "production")
    code = client_code(api.base_url, f"{api.agent_id}@production")
    monkeypatch.setenv("WORKBENCH_API_KEY", api.key)
    api.server.script(text("I answer questions."), text("And I stream.", chunk_size=4), text("Over curl."))
    exec(compile(code["python"], "snippet.py", "exec"), {})
    assert capsys.readouterr().out == "I answer questions.\nAnd I stream.\n"
    [thread] = threads.list_threads(api.person_id, api.group_id)
    page = threads.get_thread_messages(thread.id, actor_id=api.person_id)
    assert [m.content for m in page.messages] == ["Hello! What can you do?", "I answer questions.",
                                                 "Tell me more.", "And I stream."]
    done = subprocess.run(["bash", "-c", code["curl"]], capture_output=True, text=True, timeout=30,
                          env={"PATH": "/usr/bin:/bin", "WORKBENCH_API_KEY": api.key})
    answer = json.loads(done.stdout)
    assert answer["choices"][0]["message"]["content"] == "Over curl." and answer["thread_id"] != str(thread.id)
