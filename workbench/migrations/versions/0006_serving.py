"""serving: group API keys and agent version labels

`api_keys` holds a SHA-256 of each key and its public prefix, never the key; each key acts
through a person of its own (a member of its group with the key's role). `agent_labels`
points a label (`production`, `staging`, ...) of an agent at one of its versions.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 10:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('prefix', sa.String(length=20), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], ),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('person_id'),
    sa.UniqueConstraint('prefix')
    )
    op.create_index('ix_api_keys_group', 'api_keys', ['group_id', 'revoked_at'], unique=False)
    op.create_table('agent_labels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=40), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['things.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by'], ['people.id'], ),
    sa.ForeignKeyConstraint(['version_id'], ['agent_versions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('agent_id', 'label', name='uq_agent_labels_agent_label')
    )
    op.create_index('ix_agent_labels_group_id', 'agent_labels', ['group_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_agent_labels_group_id', table_name='agent_labels')
    op.drop_table('agent_labels')
    op.drop_index('ix_api_keys_group', table_name='api_keys')
    op.drop_table('api_keys')
