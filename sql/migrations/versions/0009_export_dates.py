"""Keep each record version's export date, so an older export dropped late is not applied.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 17:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

RECORD_TABLES = ('penalty_record', 'abnormal_record', 'serious_record')


def upgrade() -> None:
    for table in RECORD_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('exported_on', sa.Date(), nullable=True, comment="the agency's export date of this version, where its delivery says it"))


def downgrade() -> None:
    for table in RECORD_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('exported_on')
