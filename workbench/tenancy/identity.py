"""Who is acting. Two modes:

- single-user (default): the local person named in settings, created by bootstrap; no login.
- OpenID Connect: when `.streamlit/secrets.toml` has an [auth] section, people log in with
  Streamlit's `st.login` and `person_for_login` matches them to a person by e-mail.

A person seen for the first time has no groups: an owner adds them (by the same e-mail),
or they create a group of their own."""

from __future__ import annotations

from sqlalchemy import func, select

from .. import events
from ..db import session_scope
from ..errors import AccessDenied
from ..models import Person
from ..settings import get_settings
from .people import normalise_email


def person_for_login(*, email: str | None, name: str = "", email_verified: bool | None = None,
                     provider: str | None = None) -> int:
    """The id of the person with this e-mail (case-insensitive), created when new.
    Records `person_created` for a new person and `person_logged_in` every time.

    An address the identity provider marks as unverified (`email_verified` False) is
    refused: matching on it would let anyone claim someone else's groups."""
    email = normalise_email(email)
    if not email or "@" not in email:
        _refused(email, "no e-mail")
        raise AccessDenied("Your identity provider did not share an e-mail address, so you "
                           "cannot be matched to a person. Ask an administrator to request the "
                           "'email' scope.")
    if email_verified is False:
        _refused(email, "e-mail not verified")
        raise AccessDenied(f"Your identity provider has not verified {email}; verify it there "
                           "and log in again.")
    name = " ".join((name or "").split())[:200]
    with session_scope() as s:
        person = s.scalar(select(Person).where(func.lower(Person.email) == email)
                          .order_by(Person.id).limit(1))
        if person is None:
            person = Person(name=name or email.split("@")[0], email=email)
            s.add(person)
            s.flush()
            events.record(s, "person_created", group_id=None, actor_id=person.id,
                          target_type="person", target_id=person.id,
                          data={"email": email, "via": "login", "provider": provider})
        elif name and person.name in (email, email.split("@")[0], get_settings().local_person_name):
            # Added by an owner before their first login (the placeholder name is the
            # e-mail's local part), or the bootstrap person: the identity provider knows
            # the real name.
            person.name = name
        events.record(s, "person_logged_in", group_id=None, actor_id=person.id,
                      target_type="person", target_id=person.id,
                      data={"email": email, "provider": provider})
        return person.id


def _refused(email: str | None, reason: str) -> None:
    with session_scope() as s:
        events.record(s, "login_refused", group_id=None, actor_id=None, actor_type="system",
                      data={"email": email, "reason": reason})
