"""Groups (tenants), people, membership and the one access check every service calls."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from . import clock, events
from .db import session_scope
from .errors import AccessDenied, ConflictError, GroupNotFound, PersonNotFound, ValidationError
from .models import Connection, Group, Person

ROLES = {"viewer": 1, "editor": 2, "owner": 3}
ROLE_HELP = {
    "owner": "administers the group: members, roles, name, budget",
    "editor": "designs agents, uploads knowledge, chats and runs",
    "viewer": "reads threads, traces and usage; cannot change or run anything",
}
MEMBER_OF = "member_of"

# A plan sets a new group's default budget and rate limits; each can be changed later.
PLANS: dict[str, dict[str, float | int | None]] = {
    "starter": {"monthly_budget_usd": 50.0, "rpm_limit": 60, "tpm_limit": 200_000},
    "team": {"monthly_budget_usd": 500.0, "rpm_limit": 300, "tpm_limit": 1_000_000},
    "enterprise": {"monthly_budget_usd": None, "rpm_limit": None, "tpm_limit": None},
}


@dataclass(frozen=True)
class Membership:
    group_id: int
    person_id: int
    role: str

    def can(self, role: str) -> bool:
        return ROLES[self.role] >= ROLES[role]


# Built once with parameters: every service call runs the access check.
_IS_MEMBER = (Connection.type == MEMBER_OF, Connection.source_type == "person",
              Connection.source_id == bindparam("person_id"), Connection.target_type == "group",
              Connection.target_id == bindparam("group_id"))
_MEMBERSHIP = select(Connection).where(*_IS_MEMBER)
_ROLE_OF = select(Connection.role).where(*_IS_MEMBER)


def _membership_row(session: Session, person_id: int, group_id: int) -> Connection | None:
    return session.scalar(_MEMBERSHIP, {"person_id": person_id, "group_id": group_id})


def require_access(session: Session, person_id: int | None, group_id: int | None,
                   role: str = "viewer") -> Membership:
    """The access check: the person must be a member of the group with at least `role`.
    A refusal is recorded as an `access_denied` event and raises AccessDenied; the
    message never says whether the object exists."""
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}")  # a programming error, not a refusal
    held = None  # the member's role, None for a non-member
    if isinstance(person_id, int) and isinstance(group_id, int):
        held = session.scalar(_ROLE_OF, {"person_id": person_id, "group_id": group_id})
    if held is not None and ROLES.get(held, 0) >= ROLES[role]:
        return Membership(group_id=group_id, person_id=person_id, role=held)
    _record_denied(person_id, group_id, role, held)
    if held is None:
        raise AccessDenied("You are not a member of this group.")
    raise AccessDenied(f"This needs the {role} role; you are a {held} here.")


def _entry_point() -> str | None:
    """The outermost workbench function on the stack: the service the caller called
    (e.g. "agents.update_agent"), so a denial says what was attempted."""
    frame, found = sys._getframe(2), None
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module == "workbench" or module.startswith("workbench."):
            found = f"{module.removeprefix('workbench.')}.{frame.f_code.co_name}"
        elif found:
            break
        frame = frame.f_back
    return found


def _record_denied(person_id, group_id, needed, had) -> None:
    # Written in its own transaction: the caller's transaction is about to roll back.
    try:
        action = _entry_point()
        with session_scope() as s:
            gid = group_id if isinstance(group_id, int) and s.get(Group, group_id) else None
            events.record(s, "access_denied", group_id=gid,
                          actor_id=person_id if isinstance(person_id, int) else None,
                          target_type="group", target_id=group_id if isinstance(group_id, int) else None,
                          data={"needed_role": needed, "had_role": had, "action": action})
    except Exception:  # noqa: BLE001 - the denial itself must still be raised
        pass


def _shares_a_group(s: Session, a: int, b: int) -> bool:
    mine = select(Connection.target_id).where(
        Connection.type == MEMBER_OF, Connection.source_type == "person", Connection.source_id == a)
    return s.scalar(select(Connection.id).where(
        Connection.type == MEMBER_OF, Connection.source_type == "person", Connection.source_id == b,
        Connection.target_id.in_(mine)).limit(1)) is not None


def load_group(s: Session, person_id: int | None, group_id: int, role: str = "viewer") -> Group:
    """The group, after the access check with `role`."""
    require_access(s, person_id, group_id, role)
    group = s.get(Group, group_id)
    if group is None:
        raise GroupNotFound()
    return group

# --- people ------------------------------------------------------------------------

def normalise_email(email: str | None) -> str | None:
    email = (email or "").strip().lower()
    return email or None


def get_or_create_person(session: Session, *, name: str, email: str | None) -> Person:
    """The person with this e-mail (matched case-insensitively), created when new."""
    email = normalise_email(email)
    person = (session.scalar(select(Person).where(func.lower(Person.email) == email)
                             .order_by(Person.id).limit(1)) if email else None)
    if person is None:
        full = (name or "").strip() or (email or "Someone")
        person = Person(name=full[:Person.name.type.length], email=email)  # an e-mail may be longer
        session.add(person)
        session.flush()
    return person


def get_person(actor_id: int, person_id: int | None = None) -> Person:
    """A person's profile: yourself (the default), or someone who shares a group with
    you; anyone else is refused."""
    if person_id is None:
        person_id = actor_id
    with session_scope() as s:
        person = s.get(Person, person_id) if isinstance(person_id, int) else None
        if person is None or s.get(Person, actor_id) is None:
            raise PersonNotFound()
        if person_id != actor_id and not _shares_a_group(s, actor_id, person_id):
            _record_denied(actor_id, None, "viewer", None)
            raise AccessDenied("You do not share a group with that person.")
        return person


def find_person_by_email(email: str) -> Person | None:
    """The person with this e-mail, case-insensitive (for the CLI's --email and for
    identity). People are not group data; their groups are only shown to themselves."""
    email = normalise_email(email)
    if not email:
        return None
    with session_scope() as s:
        return s.scalar(select(Person).where(func.lower(Person.email) == email)
                        .order_by(Person.id).limit(1))


# --- groups ------------------------------------------------------------------------

def _validate_group_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError(field_errors={"name": "A group needs a name."})
    if len(name) > 120:
        raise ValidationError(field_errors={"name": "At most 120 characters."})
    return name


def _name_taken(s: Session, name: str, except_id: int | None = None) -> bool:
    q = select(Group.id).where(func.lower(Group.name) == name.lower())
    if except_id is not None:
        q = q.where(Group.id != except_id)
    return s.scalar(q.limit(1)) is not None


def _create_group(s: Session, person_id: int, name: str, plan: str) -> Group:
    if plan not in PLANS:
        raise ValidationError(field_errors={"plan": f"Choose one of: {', '.join(PLANS)}."})
    name = _validate_group_name(name)
    if _name_taken(s, name):
        raise ValidationError(field_errors={"name": f"A group named {name!r} already exists."})
    group = Group(name=name, plan=plan, **PLANS[plan])
    s.add(group)
    s.flush()
    s.add(Connection(group_id=group.id, type=MEMBER_OF, source_type="person", source_id=person_id,
                     target_type="group", target_id=group.id, role="owner"))
    events.record(s, "group_created", group_id=group.id, actor_id=person_id,
                  target_type="group", target_id=group.id, data={"name": name, "plan": plan})
    return group


def create_group(actor_id: int, name: str, plan: str = "starter") -> Group:
    """Any person may create a group; they become its owner. The group gets the
    built-in offline provider so it can chat at once."""
    from .bootstrap import add_builtin_provider  # bootstrap imports this module

    with session_scope() as s:
        if not isinstance(actor_id, int) or s.get(Person, actor_id) is None:
            raise PersonNotFound()
        group = _create_group(s, actor_id, name, plan)
        provider = add_builtin_provider(s, group.id)
        events.record(s, "provider_added", group_id=group.id, actor_id=actor_id,
                      target_type="provider", target_id=provider.id,
                      data={"name": provider.name, "preset": provider.preset, "built_in": True})
        return group


def rename_group(actor_id: int, group_id: int, name: str) -> Group:
    with session_scope() as s:
        group = load_group(s, actor_id, group_id, "owner")
        new = _validate_group_name(name)
        if _name_taken(s, new, except_id=group_id):
            raise ValidationError(field_errors={"name": f"A group named {new!r} already exists."})
        if new != group.name:
            events.record(s, "group_renamed", group_id=group_id, actor_id=actor_id,
                          target_type="group", target_id=group_id, data={"from": group.name, "to": new})
            group.name = new
        return group


def set_time_zone(actor_id: int, group_id: int, name: str | None) -> Group:
    """Owners set the IANA time zone the group's months and days are counted in (budgets,
    Usage periods); None or "" goes back to UTC."""
    name = (name or "").strip() or None
    if name is not None and (len(name) > 64 or not clock.is_valid_zone(name)):
        raise ValidationError(field_errors={"time_zone": f"{name[:64]!r} is not a time zone name "
                                            "(like Europe/Paris or America/New_York)."})
    if name == clock.UTC_NAME:
        name = None
    with session_scope() as s:
        group = load_group(s, actor_id, group_id, "owner")
        if name != group.time_zone:
            events.record(s, "group_time_zone_changed", group_id=group_id, actor_id=actor_id,
                          target_type="group", target_id=group_id,
                          data={"from": group.time_zone or clock.UTC_NAME, "to": name or clock.UTC_NAME})
            group.time_zone = name
        return group


def get_group(actor_id: int, group_id: int) -> Group:
    with session_scope() as s:
        group = load_group(s, actor_id, group_id)
        return group


def list_my_groups(actor_id: int) -> list[tuple[Group, str]]:
    """The groups this person belongs to, with their role in each, by name. Only ever
    the actor's own memberships: there is no way to list someone else's."""
    with session_scope() as s:
        rows = s.execute(
            select(Group, Connection.role).join(Connection, Connection.target_id == Group.id)
            .where(Connection.type == MEMBER_OF, Connection.source_type == "person",
                   Connection.source_id == actor_id, Connection.target_type == "group")
            .order_by(Group.name)).all()
        return [(g, r) for g, r in rows]


def my_role(actor_id: int, group_id: int) -> str | None:
    """The actor's own role in the group, None when not a member."""
    with session_scope() as s:
        row = _membership_row(s, actor_id, group_id)
        return row.role if row else None


def list_members(actor_id: int, group_id: int) -> list[tuple[Person, str]]:
    """(person, role) of every member, owners first, then by name."""
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        rows = s.execute(
            select(Person, Connection.role).join(Connection, Connection.source_id == Person.id)
            .where(Connection.type == MEMBER_OF, Connection.source_type == "person",
                   Connection.target_type == "group", Connection.target_id == group_id)
            .order_by(Person.name, Person.id)).all()
        return sorted(((p, r) for p, r in rows), key=lambda pr: -ROLES.get(pr[1] or "", 0))


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValidationError(field_errors={"role": f"Role must be one of {', '.join(ROLES)}."})


def add_member(actor_id: int, group_id: int, *, email: str, name: str = "",
               role: str = "editor") -> Person:
    """Add someone by e-mail (owners only). A person not seen before is created; they
    are matched to this record when they first log in with that address."""
    _check_role(role)
    email = normalise_email(email) or ""
    local, _, domain = email.partition("@")
    if not local or "." not in domain or " " in email or len(email) > 320:
        raise ValidationError(field_errors={"email": "Enter an e-mail address like name@example.com."})
    if len((name or "").strip()) > Person.name.type.length:
        raise ValidationError(field_errors={"name": f"At most {Person.name.type.length} characters."})
    with session_scope() as s:
        require_access(s, actor_id, group_id, "owner")
        person = get_or_create_person(s, name=(name or "").strip() or local, email=email)
        if _membership_row(s, person.id, group_id):
            raise ValidationError(field_errors={"email": f"{email} is already a member."})
        s.add(Connection(group_id=group_id, type=MEMBER_OF, source_type="person",
                         source_id=person.id, target_type="group", target_id=group_id, role=role))
        events.record(s, "member_added", group_id=group_id, actor_id=actor_id,
                      target_type="person", target_id=person.id, data={"email": email, "role": role})
        return person


def _owner_count(s: Session, group_id: int) -> int:
    return s.scalar(select(func.count()).select_from(Connection).where(
        Connection.type == MEMBER_OF, Connection.target_type == "group",
        Connection.target_id == group_id, Connection.role == "owner")) or 0


def change_role(actor_id: int, group_id: int, person_id: int, role: str) -> None:
    """Owners set any member's role. The last owner cannot be demoted."""
    _check_role(role)
    with session_scope() as s:
        require_access(s, actor_id, group_id, "owner")
        row = _membership_row(s, person_id, group_id)
        if row is None:
            raise PersonNotFound("That person is not a member of this group.")
        if row.role == role:
            return
        if row.role == "owner" and _owner_count(s, group_id) <= 1:
            raise ConflictError("A group needs at least one owner; make someone else owner first.")
        events.record(s, "member_role_changed", group_id=group_id, actor_id=actor_id,
                      target_type="person", target_id=person_id, data={"from": row.role, "to": role})
        row.role = role


def remove_member(actor_id: int, group_id: int, person_id: int) -> None:
    """Owners remove anyone; anyone may leave. The last owner cannot leave."""
    with session_scope() as s:
        leaving = actor_id == person_id
        require_access(s, actor_id, group_id, "viewer" if leaving else "owner")
        row = _membership_row(s, person_id, group_id)
        if row is None:
            raise PersonNotFound("That person is not a member of this group.")
        if row.role == "owner" and _owner_count(s, group_id) <= 1:
            raise ConflictError("The last owner cannot leave; make someone else owner first.")
        events.record(s, "member_left" if leaving else "member_removed", group_id=group_id,
                      actor_id=actor_id, target_type="person", target_id=person_id,
                      data={"role": row.role})
        s.delete(row)


def leave_group(actor_id: int, group_id: int) -> None:
    """The actor leaves the group (any role; not the last owner)."""
    remove_member(actor_id, group_id, actor_id)
