"""Groups (tenants), people, membership and the one access check every service calls."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import events
from .db import session_scope
from .errors import AccessDenied, ConflictError, GroupNotFound, PersonNotFound, ValidationError
from .models import Connection, Group, Person

ROLES = {"viewer": 1, "editor": 2, "owner": 3}
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


def _membership_row(session: Session, person_id: int, group_id: int) -> Connection | None:
    return session.scalar(select(Connection).where(
        Connection.type == MEMBER_OF, Connection.source_type == "person",
        Connection.source_id == person_id, Connection.target_type == "group",
        Connection.target_id == group_id))


def require_access(session: Session, person_id: int | None, group_id: int | None,
                   role: str = "viewer") -> Membership:
    """The access check: the person must be a member of the group with at least `role`.
    A refusal is recorded as an `access_denied` event and raises AccessDenied; the
    message never says whether the object exists."""
    row = None
    if person_id is not None and group_id is not None:
        row = _membership_row(session, person_id, group_id)
    if row is not None and ROLES.get(row.role or "", 0) >= ROLES[role]:
        return Membership(group_id=group_id, person_id=person_id, role=row.role)
    _record_denied(person_id, group_id, role, row.role if row else None)
    if row is None:
        raise AccessDenied("You are not a member of this group.")
    raise AccessDenied(f"This needs the {role} role; you are a {row.role} here.")


def _record_denied(person_id, group_id, needed, had) -> None:
    # Written in its own transaction: the caller's transaction is about to roll back.
    try:
        with session_scope() as s:
            gid = group_id if group_id is not None and s.get(Group, group_id) else None
            events.record(s, "access_denied", group_id=gid, actor_id=person_id,
                          target_type="group", target_id=group_id,
                          data={"needed_role": needed, "had_role": had})
    except Exception:  # noqa: BLE001 - the denial itself must still be raised
        pass


# --- people ------------------------------------------------------------------------

def get_or_create_person(session: Session, *, name: str, email: str | None) -> Person:
    email = email.strip().lower() if email else None
    person = session.scalar(select(Person).where(Person.email == email)) if email else None
    if person is None:
        person = Person(name=name.strip() or (email or "Someone"), email=email)
        session.add(person)
        session.flush()
    return person


def get_person(person_id: int) -> Person:
    with session_scope() as s:
        person = s.get(Person, person_id)
        if person is None:
            raise PersonNotFound()
        return person


def find_person_by_email(email: str) -> Person | None:
    with session_scope() as s:
        return s.scalar(select(Person).where(Person.email == email.strip().lower()))


# --- groups ------------------------------------------------------------------------

def _validate_group_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError(field_errors={"name": "A group needs a name."})
    if len(name) > 120:
        raise ValidationError(field_errors={"name": "At most 120 characters."})
    return name


def _create_group(s: Session, person_id: int, name: str, plan: str) -> Group:
    if plan not in PLANS:
        raise ValidationError(field_errors={"plan": f"Unknown plan {plan!r}."})
    name = _validate_group_name(name)
    if s.scalar(select(Group).where(Group.name == name)):
        raise ConflictError(f"A group named {name!r} already exists.")
    group = Group(name=name, plan=plan, **PLANS[plan])
    s.add(group)
    s.flush()
    s.add(Connection(group_id=group.id, type=MEMBER_OF, source_type="person", source_id=person_id,
                     target_type="group", target_id=group.id, role="owner"))
    events.record(s, "group_created", group_id=group.id, actor_id=person_id,
                  target_type="group", target_id=group.id, data={"name": name, "plan": plan})
    return group


def create_group(actor_id: int, name: str, plan: str = "starter") -> Group:
    """Any person may create a group; they become its owner."""
    with session_scope() as s:
        if s.get(Person, actor_id) is None:
            raise PersonNotFound()
        return _create_group(s, actor_id, name, plan)


def rename_group(actor_id: int, group_id: int, name: str) -> Group:
    with session_scope() as s:
        require_access(s, actor_id, group_id, "owner")
        group = s.get(Group, group_id)
        if group is None:
            raise GroupNotFound()
        new = _validate_group_name(name)
        if s.scalar(select(Group).where(Group.name == new, Group.id != group_id)):
            raise ConflictError(f"A group named {new!r} already exists.")
        events.record(s, "group_renamed", group_id=group_id, actor_id=actor_id,
                      target_type="group", target_id=group_id, data={"from": group.name, "to": new})
        group.name = new
        return group


def get_group(actor_id: int, group_id: int) -> Group:
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        group = s.get(Group, group_id)
        if group is None:
            raise GroupNotFound()
        return group


def list_my_groups(actor_id: int) -> list[tuple[Group, str]]:
    """The groups this person belongs to, with their role in each, by name."""
    with session_scope() as s:
        rows = s.execute(
            select(Group, Connection.role).join(Connection, Connection.target_id == Group.id)
            .where(Connection.type == MEMBER_OF, Connection.source_type == "person",
                   Connection.source_id == actor_id, Connection.target_type == "group")
            .order_by(Group.name)).all()
        return [(g, r) for g, r in rows]


def my_role(actor_id: int, group_id: int) -> str | None:
    with session_scope() as s:
        row = _membership_row(s, actor_id, group_id)
        return row.role if row else None


def list_members(actor_id: int, group_id: int) -> list[tuple[Person, str]]:
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        rows = s.execute(
            select(Person, Connection.role).join(Connection, Connection.source_id == Person.id)
            .where(Connection.type == MEMBER_OF, Connection.source_type == "person",
                   Connection.target_type == "group", Connection.target_id == group_id)
            .order_by(Person.name)).all()
        return [(p, r) for p, r in rows]


def add_member(actor_id: int, group_id: int, *, email: str, name: str = "",
               role: str = "editor") -> Person:
    if role not in ROLES:
        raise ValidationError(field_errors={"role": f"Role must be one of {', '.join(ROLES)}."})
    email = (email or "").strip().lower()
    if "@" not in email:
        raise ValidationError(field_errors={"email": "Enter an e-mail address."})
    with session_scope() as s:
        require_access(s, actor_id, group_id, "owner")
        person = get_or_create_person(s, name=name or email.split("@")[0], email=email)
        if _membership_row(s, person.id, group_id):
            raise ConflictError(f"{email} is already a member.")
        s.add(Connection(group_id=group_id, type=MEMBER_OF, source_type="person",
                         source_id=person.id, target_type="group", target_id=group_id, role=role))
        events.record(s, "member_added", group_id=group_id, actor_id=actor_id,
                      target_type="person", target_id=person.id, data={"email": email, "role": role})
        return person


def _owner_count(s: Session, group_id: int) -> int:
    return len(s.scalars(select(Connection.id).where(
        Connection.type == MEMBER_OF, Connection.target_type == "group",
        Connection.target_id == group_id, Connection.role == "owner")).all())


def change_role(actor_id: int, group_id: int, person_id: int, role: str) -> None:
    if role not in ROLES:
        raise ValidationError(field_errors={"role": f"Role must be one of {', '.join(ROLES)}."})
    with session_scope() as s:
        require_access(s, actor_id, group_id, "owner")
        row = _membership_row(s, person_id, group_id)
        if row is None:
            raise PersonNotFound("That person is not a member of this group.")
        if row.role == "owner" and role != "owner" and _owner_count(s, group_id) <= 1:
            raise ConflictError("A group needs at least one owner; make someone else owner first.")
        events.record(s, "member_role_changed", group_id=group_id, actor_id=actor_id,
                      target_type="person", target_id=person_id, data={"from": row.role, "to": role})
        row.role = role


def remove_member(actor_id: int, group_id: int, person_id: int) -> None:
    """Owners remove anyone; anyone may leave. The last owner cannot leave."""
    with session_scope() as s:
        require_access(s, actor_id, group_id, "viewer" if actor_id == person_id else "owner")
        row = _membership_row(s, person_id, group_id)
        if row is None:
            raise PersonNotFound("That person is not a member of this group.")
        if row.role == "owner" and _owner_count(s, group_id) <= 1:
            raise ConflictError("The last owner cannot leave; make someone else owner first.")
        events.record(s, "member_removed", group_id=group_id, actor_id=actor_id,
                      target_type="person", target_id=person_id, data={"role": row.role})
        s.delete(row)
