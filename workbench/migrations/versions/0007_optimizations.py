"""optimizations: reflective prompt evolution over a test set, and its candidates

An optimization's evaluations are experiments over a subset of the test set's cases
(`experiments.case_keys`), tied to it by `experiments.optimization_id`.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 11:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('optimizations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('agent_version_id', sa.Integer(), nullable=False),
    sa.Column('test_set_id', sa.Integer(), nullable=False),
    sa.Column('test_set_version_id', sa.Integer(), nullable=False),
    sa.Column('components', sa.JSON(), nullable=False),
    sa.Column('train_keys', sa.JSON(), nullable=False),
    sa.Column('val_keys', sa.JSON(), nullable=False),
    sa.Column('budget', sa.Integer(), nullable=False),
    sa.Column('evaluations', sa.Integer(), nullable=False),
    sa.Column('reflection_provider_id', sa.Integer(), nullable=True),
    sa.Column('reflection_model', sa.String(length=200), nullable=True),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('stop_requested', sa.Boolean(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('start_score', sa.Float(), nullable=True),
    sa.Column('best_score', sa.Float(), nullable=True),
    sa.Column('best_candidate', sa.Integer(), nullable=True),
    sa.Column('saved_version_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.LargeBinary(), nullable=True),
    sa.Column('worker', sa.String(length=160), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['things.id'], ),
    sa.ForeignKeyConstraint(['agent_version_id'], ['agent_versions.id'], ),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], ),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reflection_provider_id'], ['providers.id'], ),
    sa.ForeignKeyConstraint(['saved_version_id'], ['agent_versions.id'], ),
    sa.ForeignKeyConstraint(['test_set_id'], ['test_sets.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['test_set_version_id'], ['test_set_versions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_optimizations_group_time', 'optimizations', ['group_id', 'created_at'], unique=False)
    op.create_table('optimization_candidates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('optimization_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('parents', sa.JSON(), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('experiment_ids', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['optimization_id'], ['optimizations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('optimization_id', 'index', name='uq_optimization_candidates_index')
    )
    op.create_index('ix_optimization_candidates_group_id', 'optimization_candidates', ['group_id'], unique=False)
    # Plain ALTER TABLE ADD COLUMN, never a batch copy of the table: on SQLite a batch copy
    # drops the old table, and with foreign keys on, ON DELETE CASCADE would empty every
    # experiment's results (tests/test_migrations.py guards this).
    op.add_column('experiments', sa.Column('optimization_id', sa.Integer(), nullable=True))
    op.add_column('experiments', sa.Column('case_keys', sa.JSON(), nullable=True))
    if op.get_bind().dialect.name != 'sqlite':  # SQLite cannot add a constraint without a copy
        op.create_foreign_key('fk_experiments_optimization_id', 'experiments', 'optimizations',
                              ['optimization_id'], ['id'], ondelete='CASCADE')


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint('fk_experiments_optimization_id', 'experiments', type_='foreignkey')
    op.drop_column('experiments', 'case_keys')
    op.drop_column('experiments', 'optimization_id')
    op.drop_index('ix_optimization_candidates_group_id', table_name='optimization_candidates')
    op.drop_table('optimization_candidates')
    op.drop_index('ix_optimizations_group_time', table_name='optimizations')
    op.drop_table('optimizations')
