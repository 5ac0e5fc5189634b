"""Groups (tenants) and their members: create, rename, time zone, members and roles."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import clock, events
from ..db import session_scope
from ..errors import ConflictError, PersonNotFound, ValidationError
from ..models import ApiKey, Connection, Group, Person
from .access import MEMBER_OF, ROLES, load_group, membership_row, require_access
from .people import get_or_create_person, normalise_email

# A plan sets a new group's default budget and rate limits; each can be changed later.
PLANS: dict[str, dict[str, float | int | None]] = {
    "starter": {"monthly_budget_usd": 50.0, "rpm_limit": 60, "tpm_limit": 200_000},
    "team": {"monthly_budget_usd": 500.0, "rpm_limit": 300, "tpm_limit": 1_000_000},
    "enterprise": {"monthly_budget_usd": None, "rpm_limit": None, "tpm_limit": None},
}


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


def create_group_in_session(s: Session, person_id: int, name: str, plan: str) -> Group:
    """A new group owned by the person, in the caller's transaction (no provider yet: a
    workspace adds its built-in provider, `system.workspace.create_group`)."""
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
        row = membership_row(s, actor_id, group_id)
        return row.role if row else None


def list_members(actor_id: int, group_id: int) -> list[tuple[Person, str]]:
    """(person, role) of every member, owners first, then by name. API keys act through
    people of their own; they are listed with the keys, not here."""
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        rows = s.execute(
            select(Person, Connection.role).join(Connection, Connection.source_id == Person.id)
            .where(Connection.type == MEMBER_OF, Connection.source_type == "person",
                   Connection.target_type == "group", Connection.target_id == group_id,
                   Person.id.not_in(select(ApiKey.person_id)))
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
        if membership_row(s, person.id, group_id):
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
        row = membership_row(s, person_id, group_id)
        if row is None:
            raise PersonNotFound("That person is not a member of this group.")
        if row.role == role:
            return
        if row.role == "owner" and _owner_count(s, group_id) <= 1:
            raise ConflictError("A group needs at least one owner; make someone else owner first.")
        if s.scalar(select(ApiKey.id).where(ApiKey.person_id == person_id)) is not None:
            raise ValidationError("An API key's role is chosen when the key is made; make a new key instead.")
        events.record(s, "member_role_changed", group_id=group_id, actor_id=actor_id,
                      target_type="person", target_id=person_id, data={"from": row.role, "to": role})
        row.role = role


def remove_member(actor_id: int, group_id: int, person_id: int) -> None:
    """Owners remove anyone; anyone may leave. The last owner cannot leave."""
    with session_scope() as s:
        leaving = actor_id == person_id
        require_access(s, actor_id, group_id, "viewer" if leaving else "owner")
        row = membership_row(s, person_id, group_id)
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
