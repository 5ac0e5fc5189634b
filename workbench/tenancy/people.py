"""People: found or created by e-mail, and a profile shown only to those who share a group;
who made a call (a person in the app, or one of the group's API keys, which acts through a
person of its own) as a SQL condition for the pages that filter by it."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..db import session_scope
from ..errors import AccessDenied, PersonNotFound, ValidationError
from ..models import ApiKey, Person
from .access import record_denied, shares_a_group

APP = "app"  # the caller "Workbench app": people (and the system), not one of the group's API keys


def caller_condition(person_column, group_id: int, caller: int | str | None):
    """A SQL condition on a person id column (usage records, runs) saying who called: None
    is anyone (no condition, None is returned), APP the workbench app (people, and rows with
    no person), an int the API key with that id (what its own person did; a key of another
    group matches nothing). A filter on the person column, so the (group, person, time)
    indexes serve it; the keys' people are read in a subquery."""
    if caller is None:
        return None
    if caller == APP:
        keys = select(ApiKey.person_id).where(ApiKey.group_id == group_id)
        return or_(person_column.is_(None), person_column.not_in(keys))
    if isinstance(caller, int) and not isinstance(caller, bool):
        return person_column == (select(ApiKey.person_id).where(ApiKey.id == caller, ApiKey.group_id == group_id)
                                 .scalar_subquery())
    raise ValidationError(field_errors={"caller": f"Pick the workbench app or an API key, not {caller!r}."})


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
        if person_id != actor_id and not shares_a_group(s, actor_id, person_id):
            record_denied(actor_id, None, "viewer", None)
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
