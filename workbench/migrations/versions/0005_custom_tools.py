"""custom tools: the immutable versions of things of type "tool"

The tools themselves are rows of `things` (type "tool"), as agents are; agents name the
tools they use in their configuration (JSON), so no other table changes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 13:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tool_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tool_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], ),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tool_id'], ['things.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tool_id', 'version')
    )
    op.create_index('ix_tool_versions_tool_id', 'tool_versions', ['tool_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tool_versions_tool_id', table_name='tool_versions')
    op.drop_table('tool_versions')
