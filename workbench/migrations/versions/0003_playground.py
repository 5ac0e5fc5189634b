"""playground: comparisons and their columns, agent version notes, thread kind and pinned
configuration (playground threads, replays on another version), run overrides

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:26:08.519673
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('comparisons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('conversation', sa.JSON(), nullable=False),
    sa.Column('source_step_id', sa.Integer(), nullable=True),
    sa.Column('best_column', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], ),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('comparisons', schema=None) as batch_op:
        batch_op.create_index('ix_comparisons_group_time', ['group_id', 'created_at'], unique=False)

    op.create_table('comparison_columns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('comparison_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('agent_version_id', sa.Integer(), nullable=False),
    sa.Column('overrides', sa.JSON(), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['things.id'], ),
    sa.ForeignKeyConstraint(['agent_version_id'], ['agent_versions.id'], ),
    sa.ForeignKeyConstraint(['comparison_id'], ['comparisons.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('comparison_id', 'position')
    )
    with op.batch_alter_table('comparison_columns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_comparison_columns_comparison_id'), ['comparison_id'], unique=False)

    # Plain ALTER TABLE ADD COLUMN, never a batch copy of the table: on SQLite a batch copy
    # drops the old table, and with foreign keys on, ON DELETE CASCADE would empty the
    # messages and runs of every thread (tests/test_migrations.py guards this).
    op.add_column('agent_versions', sa.Column('note', sa.String(length=500), nullable=True))
    op.add_column('runs', sa.Column('overrides', sa.JSON(), nullable=True))
    op.add_column('threads', sa.Column('kind', sa.String(length=20), server_default='chat', nullable=False))
    op.add_column('threads', sa.Column('agent_version_id', sa.Integer(), nullable=True))
    op.add_column('threads', sa.Column('overrides', sa.JSON(), nullable=True))
    op.create_index('ix_threads_group_kind_list', 'threads', ['group_id', 'kind', 'archived', 'last_activity_at'],
                    unique=False)
    if op.get_bind().dialect.name != 'sqlite':  # SQLite cannot add a constraint without a copy
        op.create_foreign_key('fk_threads_agent_version_id', 'threads', 'agent_versions',
                              ['agent_version_id'], ['id'])


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint('fk_threads_agent_version_id', 'threads', type_='foreignkey')
    op.drop_index('ix_threads_group_kind_list', table_name='threads')
    for table, column in (('threads', 'overrides'), ('threads', 'agent_version_id'), ('threads', 'kind'),
                          ('runs', 'overrides'), ('agent_versions', 'note')):
        op.drop_column(table, column)  # ALTER TABLE DROP COLUMN (SQLite 3.35+), no table copy

    with op.batch_alter_table('comparison_columns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_comparison_columns_comparison_id'))

    op.drop_table('comparison_columns')
    with op.batch_alter_table('comparisons', schema=None) as batch_op:
        batch_op.drop_index('ix_comparisons_group_time')

    op.drop_table('comparisons')
