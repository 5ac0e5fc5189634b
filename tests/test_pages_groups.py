"""The Groups page, the sidebar group picker and group switching, driven with AppTest.

AppTest (1.67) drops the entry script's sidebar after the first run of an st.navigation
app, so the picker is driven through a harness that does what app.py does (current(),
group_picker(), then the page) without st.navigation."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from streamlit.testing.v1 import AppTest

from tests.tenancy_world import build_world, new_person
from workbench.providers import service as provider_service
from workbench.system import workspace
from workbench.tenancy import groups, people

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "views"


def open_page(name: str, person_id: int | None, group_id: int | None = None, **options) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=30)
    if person_id is not None:
        at.session_state["person_id"] = person_id
    if group_id is not None:
        at.session_state["group_id"] = group_id
    for key, value in options.items():
        setattr(at, key, value)
    return ok(at.run())


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def text_of(node) -> str:
    """Everything a block renders (labels, values, table cells), as one string."""
    parts: list[str] = []

    def walk(n):
        for child in getattr(n, "children", {}).values():
            walk(child)
        if getattr(n, "proto", None) is not None:
            parts.append(str(n.proto))

    walk(node)
    return "\n".join(parts)


def member_rows(at: AppTest) -> dict[str, str]:
    frame = at.main.dataframe[0].value
    return dict(zip(frame["Name"], frame["Role"]))


def submit(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click()
    return ok(at.run())


@pytest.fixture()
def owner_page(wb):
    return SimpleNamespace(person=wb.person_id, group=wb.group_id,
                           at=open_page("groups.py", wb.person_id, wb.group_id))


# --- the Groups page ----------------------------------------------------------------------

def test_owner_adds_a_member_and_sees_field_errors(owner_page):
    at = owner_page.at
    assert member_rows(at) == {"Local user (you)": "owner"}
    at.text_input(key="add_member_email").input("not-an-email")
    submit(at, "Add member")
    assert any("e-mail address" in c.value for c in at.caption)  # next to the field
    at.text_input(key="add_member_email").input("Dana@Example.com")
    at.text_input(key="add_member_name").input("Dana")
    at.selectbox(key="add_member_role").select("viewer")
    submit(at, "Add member")
    assert at.success[0].value == "Dana is now viewer of My workspace."
    assert member_rows(at) == {"Local user (you)": "owner", "Dana": "viewer"}


def test_owner_changes_a_role_and_removes_a_member(owner_page):
    dana = groups.add_member(owner_page.person, owner_page.group, email="dana@example.com",
                             name="Dana", role="viewer").id
    at = ok(owner_page.at.run())
    at.selectbox(key="change_member_who").select(dana)
    at.selectbox(key="change_member_role").select("editor")
    submit(at, "Change role")
    assert member_rows(at)["Dana"] == "editor"
    at.selectbox(key="change_member_who").select(dana)
    submit(at, "Remove from group")  # not confirmed: nothing happens
    assert at.warning and "Dana" in member_rows(at)
    at.selectbox(key="change_member_who").select(dana)
    at.checkbox(key="change_member_confirm").check()
    submit(at, "Remove from group")
    assert member_rows(at) == {"Local user (you)": "owner"}
    assert groups.my_role(dana, owner_page.group) is None


def test_last_owner_cannot_demote_themselves_or_leave(owner_page):
    at = owner_page.at
    at.selectbox(key="change_member_who").select(owner_page.person)
    at.selectbox(key="change_member_role").select("viewer")
    submit(at, "Change role")
    assert "at least one owner" in at.error[0].value
    at.checkbox(key="leave_confirm").check().run()
    at.button(key="leave_group").click()
    ok(at.run())
    assert "last owner" in at.error[0].value
    assert groups.my_role(owner_page.person, owner_page.group) == "owner"


def test_rename_shows_a_taken_name_next_to_the_field(owner_page):
    workspace.create_group(owner_page.person, "Sales")
    at = owner_page.at
    at.text_input(key="rename_group_name").input("sales")
    submit(at, "Rename")
    assert any("already exists" in c.value for c in at.caption)
    at.text_input(key="rename_group_name").input("Support team")
    submit(at, "Rename")
    assert at.main.header[0].value == "Support team"


def test_creating_a_group_makes_it_current_with_the_builtin_model(owner_page):
    at = owner_page.at
    at.text_input(key="create_group_name").input("Research")
    at.selectbox(key="create_group_plan").select("team")
    submit(at, "Create group")
    new_id = at.session_state["group_id"]
    assert new_id != owner_page.group and at.main.header[0].value == "Research"
    assert at.query_params["group"] == [str(new_id)] or at.query_params["group"] == str(new_id)
    assert [p.kind for p in provider_service.list_providers(owner_page.person, new_id)] == ["local"]
    assert "Plan **team**" in at.caption[0].value or "Plan **team**" in text_of(at.main)


def test_viewer_reads_members_but_manages_nothing_and_may_leave(wb):
    viewer = new_person("Vera")
    groups.add_member(wb.person_id, wb.group_id, email=people.get_person(viewer, viewer).email,
                      role="viewer")
    at = open_page("groups.py", viewer, wb.group_id)
    assert set(member_rows(at).values()) == {"owner", "viewer"}
    labels = {b.label for b in at.button}
    assert not labels & {"Add member", "Change role", "Remove from group", "Rename"}
    assert "Only owners" in at.info[0].value
    at.checkbox(key="leave_confirm").check().run()
    at.button(key="leave_group").click()
    ok(at.run())
    assert groups.list_my_groups(viewer) == []
    assert "not a member of any group" in at.info[0].value
    assert "Create group" in {b.label for b in at.button}


def test_a_person_without_groups_creates_their_first(wb):
    loner = new_person("Lone")
    at = open_page("groups.py", loner)
    assert "not a member of any group" in at.info[0].value
    at.text_input(key="create_group_name").input("Lone's lab")
    submit(at, "Create group")
    assert [(g.name, r) for g, r in groups.list_my_groups(loner)] == [("Lone's lab", "owner")]
    assert member_rows(at) == {"Lone (you)": "owner"}


# --- one person, two groups ------------------------------------------------------------

@pytest.fixture()
def two(wb, openai_server):
    """Pat is an editor of A and a viewer of B; both groups hold agents, threads, runs,
    tasks, knowledge and usage, each marked with the group's marker."""
    world = build_world(wb, openai_server)
    pat = new_person("Pat")
    email = people.get_person(pat, pat).email
    a, b = world.groups["A"], world.groups["B"]
    groups.add_member(a.owner, a.group, email=email, role="editor")
    groups.add_member(b.owner, b.group, email=email, role="viewer")
    return SimpleNamespace(world=world, pat=pat, a=a, b=b)


SWITCH_PAGES = ["home.py", "chat.py", "agents.py", "knowledge.py", "traces.py", "events.py",
                "usage.py", "tasks.py"]


def test_switching_group_shows_only_that_groups_data(two):
    """Agents, threads, knowledge, traces, events, usage and tasks of the current group
    only (one world for every page keeps this fast)."""
    pages = [p for p in SWITCH_PAGES if (PAGES / p).exists()]
    assert {"chat.py", "agents.py"} <= set(pages)
    for page in pages:
        at = open_page(page, two.pat, two.a.group)
        shown = text_of(at.main)
        assert two.a.marker in shown and two.b.marker not in shown, page
        at.session_state["group_id"] = two.b.group
        shown = text_of(ok(at.run()).main)
        assert two.b.marker in shown and two.a.marker not in shown, page


def test_groups_page_follows_the_switch(two):
    at = open_page("groups.py", two.pat, two.a.group)
    assert set(member_rows(at)) >= {"OwnerA", "Pat (you)"} and "OwnerB" not in member_rows(at)
    at.selectbox(key="switch_to").select(two.b.group)
    at.button(key="switch_group").click()
    ok(at.run())
    assert at.session_state["group_id"] == two.b.group
    assert "OwnerB" in member_rows(at) and "OwnerA" not in member_rows(at)


def _harness(page: str) -> None:
    """What app.py does around a page: who and which group, the picker, then the page."""
    import runpy

    from ui.common import current, group_picker

    group_picker(current())
    runpy.run_path(page, run_name="__main__")


def test_sidebar_picker_lists_my_groups_switches_and_remembers(two):
    at = AppTest.from_function(_harness, args=(str(PAGES / "agents.py"),), default_timeout=30)
    at.session_state["person_id"] = two.pat
    at.query_params["group"] = str(two.b.group)  # a reload of a ?group= link
    ok(at.run())
    picker = at.sidebar.selectbox(key="group_picker")
    assert sorted(picker.options) == sorted(f"{g.name} · {r}" for g, r in groups.list_my_groups(two.pat))
    assert len(picker.options) == 2  # only Pat's groups, never the local person's
    assert at.session_state["group_id"] == two.b.group
    assert two.b.marker in text_of(at.main) and two.a.marker not in text_of(at.main)
    at.session_state["sel_agent"] = two.b.agent  # a selection of the old group...
    picker.select(two.a.group)
    ok(at.run())
    assert at.session_state["group_id"] == two.a.group
    assert "sel_agent" not in at.session_state  # ...is forgotten in the new one
    assert at.query_params["group"] in (str(two.a.group), [str(two.a.group)])
    assert two.a.marker in text_of(at.main) and two.b.marker not in text_of(at.main)
    at.session_state["group_id"] = two.b.group  # switched elsewhere (the Groups page)
    ok(at.run())
    assert at.sidebar.selectbox(key="group_picker").value == two.b.group


def test_a_group_in_the_url_that_is_not_mine_is_ignored(two):
    at = AppTest.from_function(_harness, args=(str(PAGES / "agents.py"),), default_timeout=30)
    at.session_state["person_id"] = two.b.viewer
    at.query_params["group"] = str(two.a.group)
    ok(at.run())
    assert at.session_state["group_id"] == two.b.group
    assert two.a.marker not in text_of(at.main) and two.a.marker not in text_of(at.sidebar)


# --- login (OpenID Connect) -------------------------------------------------------------

AUTH = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                 "client_id": "workbench", "client_secret": "s",
                 "server_metadata_url": "https://idp.example.com/.well-known/openid-configuration"}}


def test_with_login_configured_a_visitor_must_log_in(wb):
    at = open_page("groups.py", None, secrets=AUTH, user={"is_logged_in": False})
    assert [b.label for b in at.button] == ["Log in"]
    assert "person_id" not in at.session_state


def test_a_logged_in_person_is_matched_by_email(wb):
    groups.add_member(wb.person_id, wb.group_id, email="kim@example.com", role="editor")
    at = open_page("groups.py", None, secrets=AUTH,
                   user={"is_logged_in": True, "email": "KIM@example.com", "name": "Kim Lee"})
    kim = people.find_person_by_email("kim@example.com").id
    assert at.session_state["person_id"] == kim and at.session_state["group_id"] == wb.group_id
    assert member_rows(at)["Kim Lee (you)"] == "editor"


def test_a_new_login_has_no_groups_until_added(wb):
    at = open_page("agents.py", None, secrets=AUTH,
                   user={"is_logged_in": True, "email": "new@example.com", "name": "New"})
    assert "not a member of any group" in at.info[0].value
    assert "Demo assistant" not in text_of(at.main)


def test_one_login_button_per_configured_provider(wb):
    providers = {name: {"client_id": name, "client_secret": "s",
                        "server_metadata_url": f"https://{name}.example.com/.well-known/openid-configuration"}
                 for name in ("google", "microsoft")}
    secrets = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback",
                        "cookie_secret": "x" * 32, **providers}}
    at = open_page("groups.py", None, secrets=secrets, user={"is_logged_in": False})
    assert [b.label for b in at.button] == ["Log in with Google", "Log in with Microsoft"]


def test_logged_in_people_get_a_log_out_button(wb):
    at = AppTest.from_function(_harness, args=(str(PAGES / "groups.py"),), default_timeout=30)
    at.secrets = AUTH
    at.user = {"is_logged_in": True, "email": "ann@example.com", "name": "Ann"}
    ok(at.run())
    assert [b.label for b in at.sidebar.button] == ["Log out"]
    assert at.session_state["person_id"] == people.find_person_by_email("ann@example.com").id
