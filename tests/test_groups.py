"""Groups, people, membership and identity: the rules and the events they leave."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from workbench.db import session_scope
from workbench.errors import AccessDenied, ConflictError, PersonNotFound, ValidationError
from workbench.models import Event, Person, ProviderRecord
from workbench.system import workspace
from workbench.tenancy import access, groups, identity, people


def events_of(type_: str, group_id: int | None = "any") -> list[Event]:
    with session_scope() as s:
        q = select(Event).where(Event.type == type_)
        if group_id != "any":
            q = q.where(Event.group_id == group_id if group_id is not None else Event.group_id.is_(None))
        return list(s.scalars(q.order_by(Event.id)))


@pytest.fixture()
def team(wb):
    """The local owner's group plus an editor and a viewer (people made by logging in)."""
    editor = identity.person_for_login(email="Edna@Example.com", name="Edna")
    viewer = identity.person_for_login(email="vic@example.com", name="Vic")
    groups.add_member(wb.person_id, wb.group_id, email="edna@example.com", role="editor")
    groups.add_member(wb.person_id, wb.group_id, email="VIC@example.com", role="viewer")
    return wb, editor, viewer


# --- creating and renaming ------------------------------------------------------------

def test_create_group_makes_owner_with_builtin_provider(wb):
    group = workspace.create_group(wb.person_id, "  Research   team ", "team")
    assert group.name == "Research team" and group.plan == "team"
    assert group.monthly_budget_usd == groups.PLANS["team"]["monthly_budget_usd"]
    assert groups.my_role(wb.person_id, group.id) == "owner"
    with session_scope() as s:
        providers = s.scalars(select(ProviderRecord).where(ProviderRecord.group_id == group.id)).all()
    assert [p.kind for p in providers] == ["local"]  # can chat at once, offline
    assert [e.data["name"] for e in events_of("group_created", group.id)] == ["Research team"]
    assert events_of("provider_added", group.id)[0].data["built_in"] is True


@pytest.mark.parametrize("name, plan, field", [("", "starter", "name"), ("x" * 121, "starter", "name"),
                                               ("Fine", "gold", "plan"), ("my WORKSPACE", "starter", "name")])
def test_create_group_rejects_bad_input(wb, name, plan, field):
    before = len(groups.list_my_groups(wb.person_id))
    with pytest.raises(ValidationError) as err:
        workspace.create_group(wb.person_id, name, plan)
    assert field in err.value.field_errors
    assert len(groups.list_my_groups(wb.person_id)) == before


def test_create_group_needs_a_real_person(wb):
    with pytest.raises(PersonNotFound):
        workspace.create_group(987654, "Ghosts")


def test_rename_is_owner_only_and_recorded(team):
    wb, editor, _ = team
    with pytest.raises(AccessDenied):
        groups.rename_group(editor, wb.group_id, "Hijacked")
    denied = events_of("access_denied", wb.group_id)[-1]
    assert denied.actor_id == editor and denied.data["action"] == "tenancy.groups.rename_group"
    assert denied.data == {**denied.data, "needed_role": "owner", "had_role": "editor"}
    groups.rename_group(wb.person_id, wb.group_id, "Support")
    assert groups.get_group(editor, wb.group_id).name == "Support"
    assert events_of("group_renamed", wb.group_id)[-1].data == {"from": "My workspace", "to": "Support"}
    other = workspace.create_group(wb.person_id, "Sales")
    with pytest.raises(ValidationError) as err:
        groups.rename_group(wb.person_id, other.id, "support")
    assert "name" in err.value.field_errors


# --- members --------------------------------------------------------------------------

def test_add_member_matches_email_case_insensitively(team):
    wb, editor, viewer = team
    members = {p.id: r for p, r in groups.list_members(viewer, wb.group_id)}
    assert members == {wb.person_id: "owner", editor: "editor", viewer: "viewer"}
    assert [e.data for e in events_of("member_added", wb.group_id)] == [
        {"email": "edna@example.com", "role": "editor"}, {"email": "vic@example.com", "role": "viewer"}]
    with pytest.raises(ValidationError) as err:
        groups.add_member(wb.person_id, wb.group_id, email="EDNA@example.com")
    assert "already a member" in err.value.field_errors["email"]


@pytest.mark.parametrize("email", ["", "no-at-sign", "a@b", "two words@example.com"])
def test_add_member_needs_an_email(wb, email):
    with pytest.raises(ValidationError) as err:
        groups.add_member(wb.person_id, wb.group_id, email=email)
    assert "email" in err.value.field_errors


def test_add_member_rejects_unknown_role(wb):
    with pytest.raises(ValidationError) as err:
        groups.add_member(wb.person_id, wb.group_id, email="x@example.com", role="admin")
    assert "role" in err.value.field_errors


def test_only_owners_manage_members(team):
    wb, editor, viewer = team
    for actor in (editor, viewer):
        with pytest.raises(AccessDenied):
            groups.add_member(actor, wb.group_id, email="new@example.com")
        with pytest.raises(AccessDenied):
            groups.change_role(actor, wb.group_id, viewer, "owner")
        with pytest.raises(AccessDenied):
            groups.remove_member(actor, wb.group_id, wb.person_id)
    assert groups.my_role(viewer, wb.group_id) == "viewer"
    assert people.find_person_by_email("new@example.com") is None  # nothing half-made


def test_last_owner_cannot_be_demoted_or_leave(team):
    wb, editor, _ = team
    with pytest.raises(ConflictError, match="at least one owner"):
        groups.change_role(wb.person_id, wb.group_id, wb.person_id, "editor")
    with pytest.raises(ConflictError, match="last owner"):
        groups.leave_group(wb.person_id, wb.group_id)
    assert groups.my_role(wb.person_id, wb.group_id) == "owner"
    groups.change_role(wb.person_id, wb.group_id, editor, "owner")
    assert events_of("member_role_changed", wb.group_id)[-1].data == {"from": "editor", "to": "owner"}
    groups.leave_group(wb.person_id, wb.group_id)  # now someone else owns it
    assert groups.my_role(wb.person_id, wb.group_id) is None
    left = events_of("member_left", wb.group_id)[-1]
    assert left.actor_id == wb.person_id and left.data == {"role": "owner"}
    with pytest.raises(ConflictError):
        groups.change_role(editor, wb.group_id, editor, "viewer")


def test_remove_member_and_leave(team):
    wb, editor, viewer = team
    groups.leave_group(viewer, wb.group_id)
    assert groups.list_my_groups(viewer) == []
    with pytest.raises(AccessDenied):
        groups.list_members(viewer, wb.group_id)
    groups.remove_member(wb.person_id, wb.group_id, editor)
    removed = events_of("member_removed", wb.group_id)[-1]
    assert (removed.actor_id, removed.target_id, removed.data) == (wb.person_id, editor, {"role": "editor"})
    with pytest.raises(PersonNotFound):
        groups.remove_member(wb.person_id, wb.group_id, editor)


def test_change_role_to_same_role_records_nothing(team):
    wb, editor, _ = team
    groups.change_role(wb.person_id, wb.group_id, editor, "editor")
    assert events_of("member_role_changed", wb.group_id) == []


def test_people_are_visible_only_to_those_who_share_a_group(team):
    wb, editor, _ = team
    stranger = identity.person_for_login(email="stranger@example.com", name="S")
    assert people.get_person(editor, wb.person_id).name == "Local user"
    assert people.get_person(stranger, stranger).email == "stranger@example.com"
    with pytest.raises(AccessDenied):
        people.get_person(stranger, editor)
    with pytest.raises(PersonNotFound):
        people.get_person(editor, 987654)


def test_list_my_groups_and_my_role_show_only_own_memberships(team):
    wb, editor, _ = team
    other = workspace.create_group(editor, "Editor's own")
    assert [g.name for g, _ in groups.list_my_groups(editor)] == ["Editor's own", "My workspace"]
    assert [g.name for g, _ in groups.list_my_groups(wb.person_id)] == ["My workspace"]
    assert groups.my_role(wb.person_id, other.id) is None


def test_denied_attempt_is_recorded_even_though_the_call_rolled_back(team):
    wb, _, viewer = team
    from workbench import agents

    with pytest.raises(AccessDenied):
        agents.delete_agent(viewer, wb.agent_id)
    denied = events_of("access_denied", wb.group_id)[-1]
    assert denied.data["action"] == "agents.definitions.delete_agent" and denied.data["had_role"] == "viewer"
    assert agents.get_agent(viewer, wb.agent_id).name == "Demo assistant"
    assert [e.type for e in events_of("agent_deleted")] == []


def test_require_access_rejects_unknown_roles_and_bad_ids(wb):
    with session_scope() as s:
        with pytest.raises(ValueError):
            access.require_access(s, wb.person_id, wb.group_id, "admin")
        for person, group in ((None, wb.group_id), (wb.person_id, None), ("1", wb.group_id),
                              (wb.person_id, str(wb.group_id))):
            with pytest.raises(AccessDenied):
                access.require_access(s, person, group)
        assert access.require_access(s, wb.person_id, wb.group_id, "owner").role == "owner"


# --- identity (OpenID Connect logins) -----------------------------------------------

def test_login_creates_a_person_without_groups(wb):
    pid = identity.person_for_login(email="New.Person@Example.com", name="New Person")
    assert groups.list_my_groups(pid) == []
    assert people.get_person(pid, pid).email == "new.person@example.com"
    created = events_of("person_created")
    assert [(e.actor_id, e.target_id, e.group_id) for e in created] == [(pid, pid, None)]
    assert len(events_of("person_logged_in")) == 1


def test_login_matches_an_added_member_by_email(wb):
    groups.add_member(wb.person_id, wb.group_id, email="sam@example.com", role="editor")
    pid = identity.person_for_login(email="SAM@Example.COM", name="Sam Jones")
    assert groups.my_role(pid, wb.group_id) == "editor"
    assert people.get_person(pid, pid).name == "Sam Jones"  # the placeholder name is replaced
    assert identity.person_for_login(email="sam@example.com", name="Someone Else") == pid
    assert people.get_person(pid, pid).name == "Sam Jones"  # a real name is kept
    assert events_of("person_created") == []
    assert len(events_of("person_logged_in")) == 2


def test_login_matches_a_stored_mixed_case_email(wb):
    with session_scope() as s:
        s.add(Person(name="Legacy", email="Legacy@Example.com"))
    with session_scope() as s:
        legacy = s.scalar(select(Person.id).where(Person.name == "Legacy"))
    assert identity.person_for_login(email="legacy@example.com") == legacy


@pytest.mark.parametrize("email, verified", [(None, None), ("", True), ("not-an-email", None),
                                             ("eve@example.com", False)])
def test_login_refuses_missing_or_unverified_email(wb, email, verified):
    with pytest.raises(AccessDenied):
        identity.person_for_login(email=email, name="Eve", email_verified=verified)
    assert people.find_person_by_email("eve@example.com") is None
    assert len(events_of("login_refused")) == 1


def test_the_bootstrap_person_is_claimed_by_logging_in_with_its_email(wb):
    """With WORKBENCH_LOCAL_PERSON_EMAIL set to a real address, that login owns the first
    workspace (and is the administrator) instead of leaving it orphaned."""
    from workbench.settings import get_settings

    pid = identity.person_for_login(email=get_settings().local_person_email.upper(), name="Alice Admin")
    assert pid == wb.person_id and groups.my_role(pid, wb.group_id) == "owner"
    assert people.get_person(pid, pid).name == "Alice Admin"
