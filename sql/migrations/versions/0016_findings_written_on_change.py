"""Findings are written when they change, not every day: last_seen (moved on each day an open
finding was seen again) becomes last_changed (the day its content last changed); existing rows
keep their last_seen as last_changed. On PostgreSQL the table's pages are filled again, as its
rows are no longer updated daily.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 01:20:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

COMMENT = 'the day its content (whose move, detail, action) last changed; an open finding seen again unchanged is not written, its age is counted from first_seen when read'


def upgrade() -> None:
    with op.batch_alter_table('reconcile_finding', schema=None) as batch_op:
        batch_op.alter_column('last_seen', new_column_name='last_changed', existing_type=sa.Date(), existing_nullable=False, comment=COMMENT)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE reconcile_finding RESET (fillfactor)')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE reconcile_finding SET (fillfactor = 50)')
    with op.batch_alter_table('reconcile_finding', schema=None) as batch_op:
        batch_op.alter_column('last_changed', new_column_name='last_seen', existing_type=sa.Date(), existing_nullable=False, comment=None)
