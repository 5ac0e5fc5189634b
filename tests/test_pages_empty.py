"""Every page on a fresh, empty group: no exception, and the pages that list the group's own
things say what they are for and the one action that starts them (an info box), never an
empty table."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from workbench.system import workspace
from workbench.tenancy import groups, people

PAGES = Path(__file__).resolve().parent.parent / "views"
EMPTY_STATES = {  # page -> a phrase of its empty state
    "home.py": "This group is empty",
    "chat.py": "no agents yet",
    "agents.py": "No agents yet",
    "playground.py": "no agents yet",
    "knowledge.py": "No documents yet",
    "tasks.py": "No open tasks",
    "traces.py": "No runs yet",
    "usage.py": "No model calls",
    "experiments.py": "No test sets yet",
    "tools.py": "No tools yet",
    "deploy.py": "No agents in this group yet",
}
ALWAYS_FILLED = {"events.py", "prices.py", "groups.py", "settings.py"}  # events, prices, members, setup


@pytest.fixture()
def empty_group(wb):
    return wb.person_id, workspace.create_group(wb.person_id, "Empty team").id


def test_every_page_is_listed():
    assert {p.name for p in PAGES.glob("*.py")} == set(EMPTY_STATES) | ALWAYS_FILLED


@pytest.mark.parametrize("page", sorted(set(EMPTY_STATES) | ALWAYS_FILLED))
def test_page_on_an_empty_group(empty_group, page):
    person_id, group_id = empty_group
    at = AppTest.from_file(str(PAGES / page), default_timeout=60)
    at.session_state["person_id"] = person_id
    at.session_state["group_id"] = group_id
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    if page in EMPTY_STATES:
        infos = " ".join(i.value for i in at.info)
        assert EMPTY_STATES[page].lower() in infos.lower(), infos
        for df in at.dataframe:  # the Usage page's group comparison is the one table allowed
            assert page == "usage.py" or len(df.value) > 0


def test_home_offers_the_demo_to_owners_only(empty_group):
    person_id, group_id = empty_group
    at = AppTest.from_file(str(PAGES / "home.py"), default_timeout=60)
    at.session_state["person_id"] = person_id
    at.session_state["group_id"] = group_id
    at.run()
    assert "Build the demo workspace" in [b.label for b in at.button]
    from workbench.db import session_scope

    with session_scope() as s:
        viewer = people.get_or_create_person(s, name="Vi", email="vi@example.com").id
    groups.add_member(person_id, group_id, email="vi@example.com", role="viewer")
    at = AppTest.from_file(str(PAGES / "home.py"), default_timeout=60)
    at.session_state["person_id"] = viewer
    at.session_state["group_id"] = group_id
    at.run()
    assert not at.exception and "Build the demo workspace" not in [b.label for b in at.button]
