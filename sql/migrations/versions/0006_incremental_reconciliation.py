"""Incremental reconciliation: records pending comparison, the status-change watermark of a run,
open findings by record (on PostgreSQL with room to update them in place), records without a
publicity period.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 15:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reconcile_pending',
    sa.Column('record_key', sa.String(length=32).with_variant(sa.String(length=32, collation='C'), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('record_key', name=op.f('pk_reconcile_pending')),
    comment='Records whose system status or publicity period changed since the last finished comparison; the next run compares them and empties the table.'
    )
    with op.batch_alter_table('reconcile_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_change_watermark', sa.BigInteger(), nullable=True, comment='the last status_change id the run took into account; NULL if it did not finish'))

    with op.batch_alter_table('reconcile_finding', schema=None) as batch_op:
        batch_op.create_index('ix_reconcile_finding_open_record', ['record_key'], unique=False, postgresql_where=sa.text('resolved_on IS NULL'), sqlite_where=sa.text('resolved_on IS NULL'))

    if op.get_bind().dialect.name == 'postgresql':
        # Every open finding is seen again each day (last_seen): with room on its page the row is
        # updated in place (HOT), without a new entry in each index.
        op.execute('ALTER TABLE reconcile_finding SET (fillfactor = 50)')

    for kind in ('abnormal', 'penalty', 'serious'):
        with op.batch_alter_table(f'{kind}_record', schema=None) as batch_op:
            batch_op.create_index(f'ix_{kind}_record_without_period', ['record_key'], unique=False, postgresql_where=sa.text('publicity_rule IS NULL'), sqlite_where=sa.text('publicity_rule IS NULL'))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE reconcile_finding RESET (fillfactor)')
    for kind in ('abnormal', 'penalty', 'serious'):
        with op.batch_alter_table(f'{kind}_record', schema=None) as batch_op:
            batch_op.drop_index(f'ix_{kind}_record_without_period', postgresql_where=sa.text('publicity_rule IS NULL'), sqlite_where=sa.text('publicity_rule IS NULL'))

    with op.batch_alter_table('reconcile_finding', schema=None) as batch_op:
        batch_op.drop_index('ix_reconcile_finding_open_record', postgresql_where=sa.text('resolved_on IS NULL'), sqlite_where=sa.text('resolved_on IS NULL'))

    with op.batch_alter_table('reconcile_run', schema=None) as batch_op:
        batch_op.drop_column('status_change_watermark')

    op.drop_table('reconcile_pending')
