"""0003 (playground) upgrades a database that holds data at the previous head (0002, the
group time zone; the rows are those 0001 could already hold): nothing is lost, old threads
are chat threads, and the new tables and columns work."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text

from workbench import db, threads
from workbench.agents import versions
from workbench.db import session_scope
from workbench.models import Comparison, ComparisonColumn, Experiment, ExperimentResult

pytestmark = pytest.mark.empty_database  # each test builds an older schema itself

ROWS_0001 = [
    "INSERT INTO groups (id, name, plan, created_at) VALUES (1, 'Old team', 'starter', '2026-01-02 03:04:05')",
    "INSERT INTO people (id, name, email, is_admin, created_at) VALUES (1, 'Ola', 'ola@example.com', true, "
    "'2026-01-02 03:04:05')",
    "INSERT INTO connections (id, group_id, type, source_type, source_id, target_type, target_id, role, data, "
    "created_at) VALUES (1, 1, 'member_of', 'person', 1, 'group', 1, 'owner', '{}', '2026-01-02 03:04:05')",
    "INSERT INTO providers (id, group_id, name, kind, base_url, created_at) VALUES (1, 1, 'P', "
    "'openai_compatible', 'http://127.0.0.1:9/v1', '2026-01-02 03:04:05')",
    "INSERT INTO things (id, group_id, type, name, description, data, created_at, updated_at) VALUES "
    "(1, 1, 'agent', 'Old agent', '', '{}', '2026-01-02 03:04:05', '2026-01-02 03:04:05')",
    "INSERT INTO agent_versions (id, agent_id, group_id, version, config, created_by, created_at) VALUES "
    "(1, 1, 1, 1, '{\"name\": \"Old agent\", \"provider_id\": 1, \"model\": \"m\", \"system_prompt\": "
    "\"Old prompt\"}', 1, '2026-01-02 03:04:05')",
    "INSERT INTO threads (id, group_id, agent_id, person_id, title, archived, status, message_count, "
    "last_activity_at, created_at) VALUES (1, 1, 1, 1, 'Old thread', false, 'idle', 1, '2026-01-02 03:04:05', "
    "'2026-01-02 03:04:05')",
    "INSERT INTO messages (id, thread_id, group_id, seq, role, content, status, data, created_at) VALUES "
    "(1, 1, 1, 1, 'user', 'Old message', 'complete', '{}', '2026-01-02 03:04:05')",
    "INSERT INTO runs (id, group_id, thread_id, agent_id, agent_version_id, person_id, status, started_at, "
    "step_count, input_tokens, output_tokens, cost_usd, tools_used) VALUES (1, 1, 1, 1, 1, 1, 'complete', "
    "'2026-01-02 03:04:05', 1, 10, 5, 0.01, '')",
]


def _migrate(step, revision: str) -> None:
    with db.get_engine().begin() as conn:  # as db.migrate() does it
        cfg = db.alembic_config()
        cfg.attributes["connection"] = conn
        step(cfg, revision)


def test_upgrade_from_0002_keeps_data_and_adds_the_playground(data_dir):
    _migrate(command.upgrade, "0002")
    with db.get_engine().begin() as conn:
        for statement in ROWS_0001:
            conn.execute(text(statement))
    _migrate(command.upgrade, "0003")
    with db.get_engine().connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003"
        assert conn.execute(text("SELECT title, kind, agent_version_id FROM threads")).one() == \
            ("Old thread", "chat", None)
        # (a batch copy of threads would have cascaded away its messages and runs)
        assert conn.execute(text("SELECT content FROM messages")).scalar() == "Old message"
        assert conn.execute(text("SELECT input_tokens, cost_usd, overrides FROM runs")).one() == (10, 0.01, None)
        assert conn.execute(text("SELECT version, note FROM agent_versions")).one() == (1, None)
    # the old thread is still on the Chat list; the version history reads
    assert [t.title for t in threads.list_threads(1, 1)] == ["Old thread"]
    assert [v.version for v in versions.list_versions(1, 1)] == [1]
    with session_scope() as s:
        comparison = Comparison(group_id=1, title="New", conversation=[{"role": "user", "content": "Hi"}],
                                created_by=1)
        s.add(comparison)
        s.flush()
        s.add(ComparisonColumn(comparison_id=comparison.id, group_id=1, position=0, agent_id=1,
                               agent_version_id=1, overrides={"model": "x"}, run_id=1, thread_id=1))
    with session_scope() as s:
        column = s.query(ComparisonColumn).one()
        assert (column.overrides, column.run_id) == ({"model": "x"}, 1)
    _migrate(command.downgrade, "0002")  # and back
    with db.get_engine().connect() as conn:
        assert conn.execute(text("SELECT title FROM threads")).scalar() == "Old thread"
        assert conn.execute(text("SELECT content FROM messages")).scalar() == "Old message"
        assert conn.execute(text("SELECT count(*) FROM runs")).scalar() == 1


ROWS_0003 = [
    "INSERT INTO comparisons (id, group_id, title, conversation, created_by, created_at) VALUES (1, 1, 'Cmp', "
    "'[{\"role\": \"user\", \"content\": \"Hi\"}]', 1, '2026-01-02 03:04:05')",
    "UPDATE threads SET kind = 'playground' WHERE id = 1",
]


def test_upgrade_from_0003_keeps_data_and_adds_experiments(data_dir):
    from workbench import experiments

    _migrate(command.upgrade, "0003")
    with db.get_engine().begin() as conn:
        for statement in ROWS_0001 + ROWS_0003:
            conn.execute(text(statement))
    _migrate(command.upgrade, "head")  # the models below are today's: every later column exists
    with db.get_engine().connect() as conn:
        assert conn.execute(text("SELECT title, kind FROM threads")).one() == ("Old thread", "playground")
        assert conn.execute(text("SELECT content FROM messages")).scalar() == "Old message"
        assert conn.execute(text("SELECT input_tokens, cost_usd FROM runs")).one() == (10, 0.01)
        assert conn.execute(text("SELECT title FROM comparisons")).scalar() == "Cmp"
    ts = experiments.create_test_set(1, 1, "Old set", cases=[{"input": "Hi", "expected": "Hello"}])
    assert [t.name for t in experiments.list_test_sets(1, 1)] == ["Old set"]
    with session_scope() as s:
        exp = Experiment(group_id=1, test_set_id=ts.id, test_set_version_id=ts.version_id, agent_id=1,
                         agent_version_id=1, overrides={}, status="complete", total=1)
        s.add(exp)
        s.flush()
        s.add(ExperimentResult(experiment_id=exp.id, group_id=1, case_index=0, case_key=ts.cases[0]["key"],
                               repeat=0, run_id=1, run_status="complete", outcome="pass", reply="Hello"))
    assert experiments.list_experiments(1, 1)[0].pass_rate == 1.0
    _migrate(command.downgrade, "0003")  # and back
    with db.get_engine().connect() as conn:
        assert conn.execute(text("SELECT content FROM messages")).scalar() == "Old message"
        assert conn.execute(text("SELECT count(*) FROM runs")).scalar() == 1


ROWS_0004 = [
    "INSERT INTO test_sets (id, group_id, name, description, created_by, created_at, updated_at) VALUES "
    "(1, 1, 'Old set', '', 1, '2026-01-02 03:04:05', '2026-01-02 03:04:05')",
    "INSERT INTO test_set_versions (id, test_set_id, group_id, version, cases, created_by, created_at) VALUES "
    "(1, 1, 1, 1, '[{\"key\": \"k1\", \"input\": \"Hi\", \"expected\": \"Hello\", \"checks\": []}]', 1, "
    "'2026-01-02 03:04:05')",
]


def test_upgrade_from_0004_keeps_data_and_adds_custom_tools(data_dir):
    from workbench import agents
    from workbench.tools.custom import service as custom_tools

    _migrate(command.upgrade, "0004")
    with db.get_engine().begin() as conn:
        for statement in ROWS_0001 + ROWS_0003 + ROWS_0004:
            conn.execute(text(statement))
        if conn.dialect.name == "postgresql":  # rows inserted with their ids leave the sequences behind
            for table in ("groups", "people", "connections", "providers", "things", "agent_versions"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
    _migrate(command.upgrade, "0005")
    with db.get_engine().connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0005"
        assert conn.execute(text("SELECT name, type FROM things")).one() == ("Old agent", "agent")
        assert conn.execute(text("SELECT content FROM messages")).scalar() == "Old message"
        assert conn.execute(text("SELECT input_tokens, cost_usd FROM runs")).one() == (10, 0.01)
        assert conn.execute(text("SELECT name FROM test_sets")).scalar() == "Old set"
        assert conn.execute(text("SELECT count(*) FROM test_set_versions")).scalar() == 1
    tool = custom_tools.create_tool(1, 1, name="lookup", kind="mock", description="Looks up.", template="42")
    assert [v.version for v in custom_tools.list_versions(1, tool.id)] == [1]
    agent = agents.create_agent(1, 1, name="New agent", provider_id=1, model="m", tools=["lookup"])
    assert agent.config.tools == ["lookup"]
    assert [a.name for a in agents.list_agents(1, 1)] == ["New agent", "Old agent"]
    _migrate(command.downgrade, "0004")  # and back
    with db.get_engine().connect() as conn:
        assert conn.execute(text("SELECT content FROM messages")).scalar() == "Old message"
        assert conn.execute(text("SELECT count(*) FROM test_set_versions")).scalar() == 1


def test_upgrade_from_0005_keeps_data_and_adds_keys_and_labels(data_dir):
    """0006 (serving): a database at 0005 with data gains API keys and version labels."""
    from workbench import agents
    from workbench.serve import keys
    from workbench.tenancy import groups

    _migrate(command.upgrade, "0005")
    with db.get_engine().begin() as conn:
        for statement in ROWS_0001 + ROWS_0003 + ROWS_0004:
            conn.execute(text(statement))
        if conn.dialect.name == "postgresql":
            for table in ("groups", "people", "connections", "providers", "things", "agent_versions", "threads",
                          "messages", "runs"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
    _migrate(command.upgrade, "0006")
    with db.get_engine().connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0006"
        assert conn.execute(text("SELECT content FROM messages")).scalar() == "Old message"
        assert conn.execute(text("SELECT input_tokens, cost_usd FROM runs")).one() == (10, 0.01)
    label = agents.set_label(1, 1, 1, "production")
    assert (label.label, label.version) == ("production", 1)
    assert agents.resolve_agent(1, 1, "Old agent@production").version_id == 1
    made = keys.create_key(1, 1, "website")
    assert keys.authenticate(made.secret).group_id == 1
    assert [person.name for person, _ in groups.list_members(1, 1)] == ["Ola"]  # the key is not a member shown
    _migrate(command.downgrade, "0005")  # and back
    with db.get_engine().connect() as conn:
        assert conn.execute(text("SELECT content FROM messages")).scalar() == "Old message"
        assert conn.execute(text("SELECT count(*) FROM agent_versions")).scalar() == 1


ROWS_0005 = [
    "INSERT INTO experiments (id, group_id, test_set_id, test_set_version_id, agent_id, agent_version_id, overrides, "
    "label, repeats, concurrency, total, status, stop_requested, created_at) VALUES (1, 1, 1, 1, 1, 1, '{}', "
    "'Old agent v1', 1, 4, 1, 'complete', false, '2026-01-02 03:04:05')",
    "INSERT INTO experiment_results (id, experiment_id, group_id, case_index, case_key, repeat, run_id, run_status, "
    "outcome, reply, checks, input_tokens, output_tokens, cost_usd, created_at) VALUES (1, 1, 1, 0, 'k1', 0, 1, "
    "'complete', 'pass', 'Hello', '[]', 1, 1, 0.0, '2026-01-02 03:04:05')",
]


def test_upgrade_from_0006_keeps_experiments_and_adds_optimizations(data_dir):
    """0007 (optimizations): experiments made before it stay on the list, whole; the new
    tables take an optimization."""
    from workbench import experiments
    from workbench.models import Optimization, OptimizationCandidate

    _migrate(command.upgrade, "0006")
    with db.get_engine().begin() as conn:
        for statement in ROWS_0001 + ROWS_0003 + ROWS_0004 + ROWS_0005:
            conn.execute(text(statement))
        if conn.dialect.name == "postgresql":
            for table in ("groups", "people", "connections", "providers", "things", "agent_versions", "threads",
                          "messages", "runs", "test_sets", "test_set_versions", "experiments", "experiment_results"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
    _migrate(command.upgrade, "0007")
    with db.get_engine().connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0007"
        assert conn.execute(text("SELECT optimization_id, case_keys FROM experiments")).one() == (None, None)
    listed = experiments.list_experiments(1, 1)
    assert [(e.id, e.pass_rate) for e in listed] == [(1, 1.0)]
    with session_scope() as s:
        opt = Optimization(group_id=1, agent_id=1, agent_version_id=1, test_set_id=1, test_set_version_id=1,
                           components=["system_prompt"], train_keys=["k1"], val_keys=["k1"], budget=10, evaluations=0,
                           seed=0, status="finished", stop_requested=False, state=b"\x00gepa")
        s.add(opt)
        s.flush()
        s.add(OptimizationCandidate(optimization_id=opt.id, group_id=1, index=0, parents=[], texts={"system_prompt": "x"},
                                    scores={"k1": 1.0}, score=1.0, experiment_ids=[1]))
    _migrate(command.downgrade, "0006")  # and back
    with db.get_engine().connect() as conn:
        assert conn.execute(text("SELECT label FROM experiments")).scalar() == "Old agent v1"
        assert conn.execute(text("SELECT count(*) FROM experiment_results")).scalar() == 1


def test_upgrade_from_0007_moves_the_usage_time_index_to_one_with_the_totals(data_dir):
    """0008: the budget and rate sums read (group, time, tokens, cost) from one index."""
    from sqlalchemy import inspect

    from workbench.costs import budget
    from workbench.models import Group

    _migrate(command.upgrade, "0007")
    with db.get_engine().begin() as conn:
        for statement in ROWS_0001:
            conn.execute(text(statement))
        conn.execute(text("INSERT INTO usage_records (group_id, provider, model, input_tokens, output_tokens, "
                          "cached_input_tokens, reasoning_tokens, estimated, cost_usd, price_is_default, "
                          "duration_ms, created_at) VALUES (1, 'openai', 'm', 10, 5, 0, 0, false, 0.25, false, "
                          "1.0, '2026-01-02 03:04:05')"))

    def usage_indexes():
        return {ix["name"]: ix["column_names"] for ix in inspect(db.get_engine()).get_indexes("usage_records")}

    _migrate(command.upgrade, "0008")
    with db.get_engine().connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0008"
    indexes = usage_indexes()
    assert indexes["ix_usage_group_time_totals"] == ["group_id", "created_at", "input_tokens", "output_tokens",
                                                     "cost_usd"]
    assert "ix_usage_group_time" not in indexes
    with db.get_engine().connect() as conn:  # the sums still read the old record
        assert conn.execute(text("SELECT sum(cost_usd) FROM usage_records WHERE group_id = 1 AND "
                                 "created_at >= '2026-01-01' AND created_at < '2026-02-01'")).scalar() == 0.25
    _migrate(command.downgrade, "0007")  # and back
    indexes = usage_indexes()
    assert indexes["ix_usage_group_time"] == ["group_id", "created_at"]
    assert "ix_usage_group_time_totals" not in indexes


def test_upgrade_from_0008_keeps_spend_by_summing_until_a_priced_call_keeps_it(data_dir):
    """0009 (group_spend): a database of 0008 with this month's usage upgrades with no kept
    spend; the budget reads the records' sum, and the next priced call keeps it, its own cost
    added. Another month's records never count."""
    from datetime import timedelta

    from sqlalchemy import inspect

    from workbench.clock import utcnow
    from workbench.costs import budget
    from workbench.costs.pricing import seed_prices
    from workbench.costs.usage import record_model_call
    from workbench.models import Group, GroupSpend, UsageRecord
    from workbench.providers.base import Usage

    _migrate(command.upgrade, "0008")
    now = utcnow()
    this_month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_month = (this_month.replace(day=1) - timedelta(days=1)).replace(day=2)
    with db.get_engine().begin() as conn:
        for statement in ROWS_0001:
            conn.execute(text(statement))
        conn.execute(text("UPDATE groups SET monthly_budget_usd = 10.0 WHERE id = 1"))
        conn.execute(UsageRecord.__table__.insert(), [  # the table is as 0008 left it
            dict(group_id=1, provider="openai", model="m", input_tokens=10, output_tokens=5, cached_input_tokens=0,
                 reasoning_tokens=0, estimated=False, cost_usd=cost, price_is_default=False, duration_ms=1.0,
                 created_at=when)
            for cost, when in ((0.5, this_month), (0.25, this_month + timedelta(seconds=1)), (4.0, last_month))])

    _migrate(command.upgrade, "head")
    with db.get_engine().connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0009"
    with session_scope() as s:
        assert s.query(GroupSpend).count() == 0
        assert budget.month_spend(s, s.get(Group, 1), now) == 0.75
    with session_scope() as s:
        seed_prices(s)  # as the app's start does
    with session_scope() as s:
        record_model_call(s, group_id=1, provider="openai", model="gpt-4o-mini", usage=Usage(1_000_000, 0),
                          duration_ms=1.0, ttft_ms=None)
    with session_scope() as s:
        kept = s.get(GroupSpend, 1)
        assert kept.month_from == this_month
        assert kept.cost_usd == pytest.approx(0.75 + 0.15)  # gpt-4o-mini: $0.15 per million input tokens
        assert budget.month_spend(s, s.get(Group, 1), now) == pytest.approx(0.9)
    _migrate(command.downgrade, "0008")  # and back
    assert not inspect(db.get_engine()).has_table("group_spend")
