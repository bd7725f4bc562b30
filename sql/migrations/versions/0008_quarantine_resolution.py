"""Keep the quarantined record's document number, so a later good delivery resolves it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 17:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.add_column(sa.Column('document_no', sa.String(length=128), nullable=True, comment='as delivered, when the record had one'))
        batch_op.alter_column('resolved_at', existing_type=sa.DateTime(timezone=True), comment='when a record of the same source and document number loaded after it', existing_nullable=True)
        batch_op.create_index('ix_quarantine_open_document_no', ['source_id', 'document_no'], unique=False, postgresql_where=sa.text('resolved_at IS NULL'), sqlite_where=sa.text('resolved_at IS NULL'))


def downgrade() -> None:
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.drop_index('ix_quarantine_open_document_no', postgresql_where=sa.text('resolved_at IS NULL'), sqlite_where=sa.text('resolved_at IS NULL'))
        batch_op.alter_column('resolved_at', existing_type=sa.DateTime(timezone=True), comment=None, existing_comment='when a record of the same source and document number loaded after it', existing_nullable=True)
        batch_op.drop_column('document_no')
