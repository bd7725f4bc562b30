"""Count, per batch, the records that were earlier versions re-sent after a correction.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 08:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ingest_batch', schema=None) as batch_op:
        batch_op.add_column(sa.Column('n_outdated', sa.Integer(), server_default='0', nullable=False, comment='earlier versions re-sent after a correction: kept raw, not applied'))


def downgrade() -> None:
    with op.batch_alter_table('ingest_batch', schema=None) as batch_op:
        batch_op.drop_column('n_outdated')
