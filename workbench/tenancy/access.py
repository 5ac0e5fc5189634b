"""The one access check every service calls: roles, membership and `require_access`."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from .. import events
from ..db import session_scope
from ..errors import AccessDenied, GroupNotFound
from ..models import Connection, Group

ROLES = {"viewer": 1, "editor": 2, "owner": 3}
ROLE_HELP = {
    "owner": "administers the group: members, roles, name, budget",
    "editor": "designs agents, uploads knowledge, chats and runs",
    "viewer": "reads threads, traces and usage; cannot change or run anything",
}
MEMBER_OF = "member_of"

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


def membership_row(session: Session, person_id: int, group_id: int) -> Connection | None:
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
    record_denied(person_id, group_id, role, held)
    if held is None:
        raise AccessDenied("You are not a member of this group.")
    raise AccessDenied(f"This needs the {role} role; you are a {held} here.")


def _entry_point() -> str | None:
    """The outermost workbench function on the stack: the service the caller called
    (e.g. "agents.definitions.update_agent"), so a denial says what was attempted."""
    frame, found = sys._getframe(2), None
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module == "workbench" or module.startswith("workbench."):
            found = f"{module.removeprefix('workbench.')}.{frame.f_code.co_name}"
        elif found:
            break
        frame = frame.f_back
    return found


def record_denied(person_id, group_id, needed, had) -> None:
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


def shares_a_group(s: Session, a: int, b: int) -> bool:
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
