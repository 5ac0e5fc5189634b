"""usage totals index: the budget and rate checks read the index alone

Every run start checks the group's budget (its spend this month) and rate limits (tokens
in the last minute), and every priced call checks the budget again: sums over the group's
usage records in a time range. `ix_usage_group_time` (group, time) found the rows, then each
row was read from the table; the index now also holds the tokens and the cost, so the sums
read the index alone (about half the time at a few thousand records). Same leading
columns: every query the old index served, this one serves.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 12:00:00
"""
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_usage_group_time_totals', 'usage_records',
                    ['group_id', 'created_at', 'input_tokens', 'output_tokens', 'cost_usd'], unique=False)
    op.drop_index('ix_usage_group_time', table_name='usage_records')


def downgrade() -> None:
    op.create_index('ix_usage_group_time', 'usage_records', ['group_id', 'created_at'], unique=False)
    op.drop_index('ix_usage_group_time_totals', table_name='usage_records')
