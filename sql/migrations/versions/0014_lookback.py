"""Count the rows a source's look-back read again unchanged, and find them by payload.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 00:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ingest_batch', schema=None) as batch_op:
        batch_op.add_column(sa.Column('n_reread', sa.Integer(), server_default='0', nullable=False, comment="rows the look-back read again exactly as landed before: skipped"))
    op.create_index('ix_raw_record_source_id_payload_sha256', 'raw_record', ['source_id', 'payload_sha256'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_raw_record_source_id_payload_sha256', table_name='raw_record')
    with op.batch_alter_table('ingest_batch', schema=None) as batch_op:
        batch_op.drop_column('n_reread')
