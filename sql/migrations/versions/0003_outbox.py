"""The outbox: one row per status change and push target, written with the change.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:54:22.996448
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

_PENDING = 'acknowledged_at IS NULL AND dead_at IS NULL'


def upgrade() -> None:
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('status_change_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('target_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('claimed_by', sa.String(length=64), nullable=True, comment='the delivery run holding the row'),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True, comment='when an unfinished claim lapses'),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('receipt', sa.String(length=128), nullable=True, comment="the receiver's acknowledgement"),
    sa.Column('dead_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('status_change_id', 'target_id', name=op.f('uq_outbox_status_change_id_target_id')),
    comment='One row per status change and push target: attempts, next try, acknowledgement, dead letter. Written in the transaction of the change.'
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_pending', ['target_id', 'id'], unique=False, postgresql_where=sa.text(_PENDING), sqlite_where=sa.text(_PENDING))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending', postgresql_where=sa.text(_PENDING), sqlite_where=sa.text(_PENDING))

    op.drop_table('outbox')
