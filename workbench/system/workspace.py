"""A new workspace: a group (tenancy) with the built-in offline provider (providers), so it can
chat at once. Above both, so that tenancy never depends on providers."""

from __future__ import annotations

from sqlalchemy.orm import Session

from .. import events
from ..db import session_scope
from ..errors import PersonNotFound
from ..models import Group, Person, ProviderRecord
from ..providers.service import add_builtin_provider
from ..tenancy.groups import create_group_in_session


def create_in_session(s: Session, person_id: int, name: str, plan: str) -> tuple[Group, ProviderRecord]:
    """A group the person owns and its built-in provider, in the caller's transaction (first
    start's default group too)."""
    group = create_group_in_session(s, person_id, name, plan)
    return group, add_builtin_provider(s, group.id)


def create_group(actor_id: int, name: str, plan: str = "starter") -> Group:
    """Any person may create a group; they become its owner. The group gets the
    built-in offline provider so it can chat at once."""
    with session_scope() as s:
        if not isinstance(actor_id, int) or s.get(Person, actor_id) is None:
            raise PersonNotFound()
        group, provider = create_in_session(s, actor_id, name, plan)
        events.record(s, "provider_added", group_id=group.id, actor_id=actor_id,
                      target_type="provider", target_id=provider.id,
                      data={"name": provider.name, "preset": provider.preset, "built_in": True})
        return group
