"""The Settings page's services and the page itself: keys by name (never values), the database
URL with its password hidden, live checks of the database and the knowledge store."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from workbench import settings
from workbench.errors import AccessDenied
from workbench.providers import service as providers
from workbench.system import status, workspace
from workbench.tenancy import groups, people

PAGE = Path(__file__).resolve().parent.parent / "views" / "settings.py"


def test_providers_report_the_missing_key_by_name(wb, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    providers.add_provider(wb.person_id, wb.group_id, name="OpenAI", preset="openai")
    rows = {p.name: p for p in status.provider_statuses(wb.person_id, wb.group_id)}
    assert rows["Built-in (offline)"].key_present is None and rows["Built-in (offline)"].missing_key is None
    assert rows["OpenAI"].missing_key == "OPENAI_API_KEY"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value-123")
    settings.reset_settings()
    rows = {p.name: p for p in status.provider_statuses(wb.person_id, wb.group_id)}
    assert rows["OpenAI"].key_present is True and rows["OpenAI"].missing_key is None


def test_database_location_never_shows_the_password(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://bob:hunter2@db.example:5432/wb")
    settings.reset_settings()
    try:
        where = status.database_location()
    finally:
        settings.reset_settings()
    assert "hunter2" not in where and "db.example:5432/wb" in where and "***" in where


def test_checks_reach_the_database_and_the_store(wb):
    db = status.check_database(wb.person_id, wb.group_id)
    from workbench import db as database

    sqlite = database.get_engine().dialect.name == "sqlite"  # scripts/test_postgres.sh runs this too
    assert db.ok and ("SQLite file" if sqlite else "postgresql") in db.where and "migration" in db.detail
    kb = status.check_knowledge_store(wb.person_id, wb.group_id)
    assert kb.ok and "Chroma folder" in kb.where
    versions = status.library_versions()
    assert versions["streamlit"] != "not installed" and versions["python"]
    model = status.builtin_model(wb.person_id, wb.group_id)
    assert model.path.endswith(".gguf") and model.status


def test_strangers_are_refused(wb):
    other = workspace.create_group(wb.person_id, "Private")
    with pytest.raises(AccessDenied):
        status.check_database(None, other.id)


def test_page_shows_keys_by_name_and_test_buttons_for_owners_only(wb, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-do-not-print")
    settings.reset_settings()
    providers.add_provider(wb.person_id, wb.group_id, name="Claude", preset="anthropic")
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["person_id"] = wb.person_id
    at.session_state["group_id"] = wb.group_id
    at.run()
    assert not at.exception
    text = "\n".join(m.value for m in at.markdown) + "\n".join(s.value for s in at.success)
    assert "`ANTHROPIC_API_KEY` is set" in text and "sk-ant-do-not-print" not in text
    assert [b.label for b in at.button].count("Test") == 2
    viewer = people.get_or_create_person
    from workbench.db import session_scope

    with session_scope() as s:
        vid = viewer(s, name="Vi", email="vi@example.com").id
    groups.add_member(wb.person_id, wb.group_id, email="vi@example.com", role="viewer")
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["person_id"] = vid
    at.session_state["group_id"] = wb.group_id
    at.run()
    assert not at.exception and [b.label for b in at.button].count("Test") == 0


def test_the_builtin_models_status_says_what_is_on_disk(wb, monkeypatch, tmp_path):
    """Read from the file system only: never assembled, hashed or loaded to be shown."""
    monkeypatch.setattr(status.embedded_server, "running", lambda: None)  # whatever this process ran
    monkeypatch.setenv("WORKBENCH_MODEL_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("WORKBENCH_LOCAL_MODEL_PATH", raising=False)
    settings.reset_settings()
    missing = status.builtin_model(wb.person_id, wb.group_id)
    assert missing.size_bytes is None and missing.status.startswith("not assembled yet")
    (tmp_path / Path(missing.path).name).write_bytes(b"GGUF")
    on_disk = status.builtin_model(wb.person_id, wb.group_id)
    assert on_disk.size_bytes == 4 and on_disk.status.startswith("on disk, not loaded")
    monkeypatch.setenv("WORKBENCH_LOCAL_MODEL_PATH", str(tmp_path / "nowhere.gguf"))
    settings.reset_settings()
    assert status.builtin_model(wb.person_id, wb.group_id).status.startswith("missing: WORKBENCH_LOCAL_MODEL_PATH")
