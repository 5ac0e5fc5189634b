"""People: found or created by e-mail, and a profile shown only to those who share a group."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import session_scope
from ..errors import AccessDenied, PersonNotFound
from ..models import Person
from .access import record_denied, shares_a_group


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
