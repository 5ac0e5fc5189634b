"""Delete the Demo group and everything in it, its Chroma collection included, and nothing
else. Only an owner of the group may; people stay (they may belong to other groups)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, select

from ..db import session_scope
from ..errors import WorkbenchError
from ..knowledge import store
from ..models import Base, Group, Run
from ..tenancy import access
from .build import find_demo_group


@dataclass
class RemoveReport:
    group_id: int | None  # None: there was no Demo group
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows deleted

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _group_tables():
    """Every table with a group_id column, children before parents (foreign keys)."""
    return [t for t in reversed(Base.metadata.sorted_tables) if "group_id" in t.c and t.name != "groups"]


def remove_demo(person_id: int) -> RemoveReport:
    group_id = find_demo_group(person_id)
    if group_id is None:
        return RemoveReport(None)
    report = RemoveReport(group_id)
    with session_scope() as s:
        access.load_group(s, person_id, group_id, "owner")
        if s.scalar(select(Run.id).where(Run.group_id == group_id, Run.status == "running").limit(1)):
            raise WorkbenchError("A run is still going in the Demo group: wait for it or stop it, "
                                 "then remove the demo.")
        for table in _group_tables():
            result = s.execute(delete(table).where(table.c.group_id == group_id))
            if result.rowcount:
                report.rows[table.name] = result.rowcount
        s.execute(delete(Group).where(Group.id == group_id))
        report.rows["groups"] = 1
    store.drop_group(group_id)  # after the rows: a failure here leaves no rows pointing at vectors
    return report
