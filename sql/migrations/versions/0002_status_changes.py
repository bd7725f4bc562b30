"""Status changes: the log of every record status move that must leave the platform.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:47:28.013754
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('status_change',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('record_key', sa.String(length=32).with_variant(sa.String(length=32, collation='C'), 'postgresql'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('previous_status', sa.String(length=16), nullable=False),
    sa.Column('new_status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('decided_by', sa.String(length=200), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=True),
    sa.Column('subject_name', sa.String(length=200), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=True),
    sa.Column('document_no', sa.String(length=128), nullable=False),
    sa.Column('authority_name', sa.String(length=200), nullable=False),
    sa.Column('decision_date', sa.Date(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_change')),
    comment='Every status change that must leave the platform, in order (id is the watermark); subject_id is the credit code or the masked ID number, as published.'
    )
    with op.batch_alter_table('status_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_change_record_key'), ['record_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_status_change_region_code'), ['region_code'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('status_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_change_region_code'))
        batch_op.drop_index(batch_op.f('ix_status_change_record_key'))

    op.drop_table('status_change')
