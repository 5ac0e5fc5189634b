"""groups.time_zone: the zone a group's calendar periods are computed in (NULL: UTC)

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: a batch table copy of `groups` would cascade-delete on SQLite.
    op.add_column('groups', sa.Column('time_zone', sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column('groups', 'time_zone')
