"""Record who runs a batch and until when it is known alive, so a batch whose process died is found.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 23:50:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ingest_batch', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(length=255), nullable=True, comment='the process running the batch: host:pid:process start (epoch seconds)'))
        batch_op.add_column(sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True, comment='while running: when the batch is taken to have died unless its heartbeat renews this'))


def downgrade() -> None:
    with op.batch_alter_table('ingest_batch', schema=None) as batch_op:
        batch_op.drop_column('lease_expires_at')
        batch_op.drop_column('owner')
