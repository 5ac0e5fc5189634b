"""Regenerate migrations/versions/0001_initial.py from workbench/models.py.

Only while nothing has shipped: once a release exists, add new migrations instead
(`alembic revision --autogenerate` with workbench/migrations as script location)."""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

target = ROOT / "workbench" / "migrations" / "versions" / "0001_initial.py"
target.unlink(missing_ok=True)
with tempfile.TemporaryDirectory() as tmp:
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/empty.db"
    from alembic import command

    from workbench.db import alembic_config

    command.revision(alembic_config(), message="initial schema", autogenerate=True, rev_id="0001")
generated = next(target.parent.glob("0001_*.py"))
generated.rename(target)
print("wrote", target)
