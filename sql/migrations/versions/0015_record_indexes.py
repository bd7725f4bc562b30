"""Record tables keep only the indexes a query needs: no source_department index (no query looks
a department up), the ID number indexed for the case view, and the expiry index without the
records that have no publicity period yet (each new record used to add an entry).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 00:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

KINDS = ('abnormal', 'penalty', 'serious')
PUBLISHED = "status = 'published'"
PUBLISHED_WITH_END = "status = 'published' AND publicity_max_end IS NOT NULL"
WITH_ID_NUMBER = 'id_number IS NOT NULL'


def upgrade() -> None:
    for kind in KINDS:
        with op.batch_alter_table(f'{kind}_record', schema=None) as batch_op:
            batch_op.drop_index(f'ix_{kind}_record_source_department')
            batch_op.drop_index(f'ix_{kind}_record_publicity_max_end')
            batch_op.create_index(f'ix_{kind}_record_publicity_max_end', ['publicity_max_end'], unique=False, postgresql_where=sa.text(PUBLISHED_WITH_END), sqlite_where=sa.text(PUBLISHED_WITH_END))
            batch_op.create_index(f'ix_{kind}_record_id_number', ['id_number'], unique=False, postgresql_where=sa.text(WITH_ID_NUMBER), sqlite_where=sa.text(WITH_ID_NUMBER))


def downgrade() -> None:
    for kind in KINDS:
        with op.batch_alter_table(f'{kind}_record', schema=None) as batch_op:
            batch_op.drop_index(f'ix_{kind}_record_id_number')
            batch_op.drop_index(f'ix_{kind}_record_publicity_max_end')
            batch_op.create_index(f'ix_{kind}_record_publicity_max_end', ['publicity_max_end'], unique=False, postgresql_where=sa.text(PUBLISHED), sqlite_where=sa.text(PUBLISHED))
            batch_op.create_index(f'ix_{kind}_record_source_department', ['source_department'], unique=False)
