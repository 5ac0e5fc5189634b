"""The Deploy page (API keys, version labels, the code to call an agent) under AppTest against
a real SQLite file, and the mark an API key leaves on the Chat page's thread list."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

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
