"""group spend: a group's spend this month, kept as calls are priced

Every run start of a group with a budget, and every priced call, summed the group's usage
records of the month: a cost that grew with every call (about 14 ms at 200,000 records on
SQLite, twice per run). `group_spend` keeps the month's sum per group, added to in the
transaction that records each priced call; it starts empty and is filled from the records
at each group's next priced call (until then the records are summed, as before).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 20:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('group_spend',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('month_from', sa.DateTime(), nullable=False),
    sa.Column('cost_usd', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id')
    )


def downgrade() -> None:
    op.drop_table('group_spend')
