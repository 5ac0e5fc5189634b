"""The app shell: first start on an empty data dir, navigation, group picker."""

import os
from pathlib import Path

from sqlalchemy import inspect
from streamlit.testing.v1 import AppTest

from workbench import agents, db
from workbench.db import session_scope
from workbench.system import workspace
from workbench.tenancy import groups, people

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def test_first_start_creates_workspace_and_opens_chat(data_dir):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    assert inspect(db.get_engine()).has_table("alembic_version")  # migrated
    if not os.environ.get("DATABASE_URL"):  # the default: a SQLite file in the data dir
        assert (data_dir / "workbench.db").exists()
    person_id = at.session_state["person_id"]
    mine = groups.list_my_groups(person_id)
    assert [role for _, role in mine] == ["owner"]
    demo = agents.list_agents(person_id, mine[0][0].id)
    assert [a.name for a in demo] == ["Demo assistant"]
    assert at.sidebar.selectbox(key="group_picker").value == mine[0][0].id


def test_group_picker_lists_only_my_groups(wb):
    other_owner = workspace.create_group(wb.person_id, "Second team")
    with session_scope() as s:
        stranger = people.get_or_create_person(s, name="Zed", email="zed@example.com").id
    workspace.create_group(stranger, "Not mine")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    picker = at.sidebar.selectbox(key="group_picker")
    assert len(picker.options) == 2 and not any("Not mine" in o for o in picker.options)
    picker.set_value(other_owner.id).run()
    assert at.session_state["group_id"] == other_owner.id
