"""Reconciliation: the repair ledger, system statuses, runs, findings; publicity dates on records.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:52:27.721128
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reconcile_finding',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('finding_key', sa.String(length=80), nullable=False),
    sa.Column('finding_class', sa.String(length=40), nullable=False),
    sa.Column('record_key', sa.String(length=32).with_variant(sa.String(length=32, collation='C'), 'postgresql'), nullable=True),
    sa.Column('fact_id', sa.BigInteger(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('document_no', sa.String(length=128), nullable=False),
    sa.Column('subject_name', sa.String(length=200), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=True),
    sa.Column('responsible', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('action', sa.Text(), nullable=True),
    sa.Column('first_seen', sa.Date(), nullable=False),
    sa.Column('last_seen', sa.Date(), nullable=False),
    sa.Column('resolved_on', sa.Date(), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconcile_finding')),
    comment='What the reconciliation found, whose move it is, and since when; one open row per finding_key (class and record or fact) until it is resolved.'
    )
    with op.batch_alter_table('reconcile_finding', schema=None) as batch_op:
        batch_op.create_index('ix_reconcile_finding_open', ['finding_key', 'resolved_on'], unique=False)

    op.create_table('reconcile_run',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('figures', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconcile_run')),
    comment='One daily reconciliation: its figures (JSON) or why it failed.'
    )
    with op.batch_alter_table('reconcile_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reconcile_run_run_date'), ['run_date'], unique=False)

    op.create_table('repair_fact',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('system', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('document_no', sa.String(length=128), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=True),
    sa.Column('id_number', sa.String(length=64), nullable=True),
    sa.Column('subject_name', sa.String(length=200), nullable=False),
    sa.Column('authority_name', sa.String(length=200), nullable=True),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('record_key', sa.String(length=32).with_variant(sa.String(length=32, collation='C'), 'postgresql'), nullable=True),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_repair_fact')),
    sa.UniqueConstraint('system', 'external_id', 'decision', 'decided_at', name=op.f('uq_repair_fact_system_external_id_decision_decided_at')),
    comment='The repair ledger: every repair fact seen, append-only; record_key is NULL for a record the platform does not hold.'
    )
    with op.batch_alter_table('repair_fact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_repair_fact_record_key'), ['record_key'], unique=False)

    op.create_table('repair_feed_cursor',
    sa.Column('system', sa.String(length=16), nullable=False),
    sa.Column('cursor', sa.String(length=200), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('system', name=op.f('pk_repair_feed_cursor')),
    comment="Where each system's repair feed stands; committed with the facts it covers."
    )
    op.create_table('repair_push',
    sa.Column('fact_id', sa.BigInteger(), nullable=False),
    sa.Column('target_system', sa.String(length=16), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('pushed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted', sa.Boolean(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('fact_id', 'target_system', name=op.f('pk_repair_push')),
    comment='Repairs pushed to the system that lagged, so none is pushed twice.'
    )
    op.create_table('system_status',
    sa.Column('system', sa.String(length=16), nullable=False),
    sa.Column('record_key', sa.String(length=32).with_variant(sa.String(length=32, collation='C'), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fact_id', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('system', 'record_key', name=op.f('pk_system_status')),
    comment="Each outside system's latest word on a record (repaired, or published again)."
    )
    with op.batch_alter_table('abnormal_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('publicity_start', sa.Date(), nullable=True, comment='公示起始日'))
        batch_op.add_column(sa.Column('publicity_min_end', sa.Date(), nullable=True, comment='最短公示期满，可申请信用修复'))
        batch_op.add_column(sa.Column('publicity_max_end', sa.Date(), nullable=True, comment='最长公示期满，到期自动停止公示'))
        batch_op.add_column(sa.Column('publicity_rule', sa.String(length=64), nullable=True, comment='rule set and class applied'))
        batch_op.add_column(sa.Column('responsible_system', sa.String(length=16), nullable=True, comment='gsxt or credit_china repairs it'))
        batch_op.create_index('ix_abnormal_record_document_no', ['document_no'], unique=False)
        batch_op.create_index('ix_abnormal_record_publicity_max_end', ['publicity_max_end'], unique=False, postgresql_where=sa.text("status = 'published'"), sqlite_where=sa.text("status = 'published'"))
        batch_op.create_index('ix_abnormal_record_unpublished', ['status'], unique=False, postgresql_where=sa.text("status <> 'published'"), sqlite_where=sa.text("status <> 'published'"))

    with op.batch_alter_table('penalty_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('publicity_start', sa.Date(), nullable=True, comment='公示起始日'))
        batch_op.add_column(sa.Column('publicity_min_end', sa.Date(), nullable=True, comment='最短公示期满，可申请信用修复'))
        batch_op.add_column(sa.Column('publicity_max_end', sa.Date(), nullable=True, comment='最长公示期满，到期自动停止公示'))
        batch_op.add_column(sa.Column('publicity_rule', sa.String(length=64), nullable=True, comment='rule set and class applied'))
        batch_op.add_column(sa.Column('responsible_system', sa.String(length=16), nullable=True, comment='gsxt or credit_china repairs it'))
        batch_op.create_index('ix_penalty_record_document_no', ['document_no'], unique=False)
        batch_op.create_index('ix_penalty_record_publicity_max_end', ['publicity_max_end'], unique=False, postgresql_where=sa.text("status = 'published'"), sqlite_where=sa.text("status = 'published'"))
        batch_op.create_index('ix_penalty_record_unpublished', ['status'], unique=False, postgresql_where=sa.text("status <> 'published'"), sqlite_where=sa.text("status <> 'published'"))

    with op.batch_alter_table('serious_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('publicity_start', sa.Date(), nullable=True, comment='公示起始日'))
        batch_op.add_column(sa.Column('publicity_min_end', sa.Date(), nullable=True, comment='最短公示期满，可申请信用修复'))
        batch_op.add_column(sa.Column('publicity_max_end', sa.Date(), nullable=True, comment='最长公示期满，到期自动停止公示'))
        batch_op.add_column(sa.Column('publicity_rule', sa.String(length=64), nullable=True, comment='rule set and class applied'))
        batch_op.add_column(sa.Column('responsible_system', sa.String(length=16), nullable=True, comment='gsxt or credit_china repairs it'))
        batch_op.create_index('ix_serious_record_document_no', ['document_no'], unique=False)
        batch_op.create_index('ix_serious_record_publicity_max_end', ['publicity_max_end'], unique=False, postgresql_where=sa.text("status = 'published'"), sqlite_where=sa.text("status = 'published'"))
        batch_op.create_index('ix_serious_record_unpublished', ['status'], unique=False, postgresql_where=sa.text("status <> 'published'"), sqlite_where=sa.text("status <> 'published'"))



def downgrade() -> None:
    with op.batch_alter_table('serious_record', schema=None) as batch_op:
        batch_op.drop_index('ix_serious_record_unpublished', postgresql_where=sa.text("status <> 'published'"), sqlite_where=sa.text("status <> 'published'"))
        batch_op.drop_index('ix_serious_record_publicity_max_end', postgresql_where=sa.text("status = 'published'"), sqlite_where=sa.text("status = 'published'"))
        batch_op.drop_index('ix_serious_record_document_no')
        batch_op.drop_column('responsible_system')
        batch_op.drop_column('publicity_rule')
        batch_op.drop_column('publicity_max_end')
        batch_op.drop_column('publicity_min_end')
        batch_op.drop_column('publicity_start')

    with op.batch_alter_table('penalty_record', schema=None) as batch_op:
        batch_op.drop_index('ix_penalty_record_unpublished', postgresql_where=sa.text("status <> 'published'"), sqlite_where=sa.text("status <> 'published'"))
        batch_op.drop_index('ix_penalty_record_publicity_max_end', postgresql_where=sa.text("status = 'published'"), sqlite_where=sa.text("status = 'published'"))
        batch_op.drop_index('ix_penalty_record_document_no')
        batch_op.drop_column('responsible_system')
        batch_op.drop_column('publicity_rule')
        batch_op.drop_column('publicity_max_end')
        batch_op.drop_column('publicity_min_end')
        batch_op.drop_column('publicity_start')

    with op.batch_alter_table('abnormal_record', schema=None) as batch_op:
        batch_op.drop_index('ix_abnormal_record_unpublished', postgresql_where=sa.text("status <> 'published'"), sqlite_where=sa.text("status <> 'published'"))
        batch_op.drop_index('ix_abnormal_record_publicity_max_end', postgresql_where=sa.text("status = 'published'"), sqlite_where=sa.text("status = 'published'"))
        batch_op.drop_index('ix_abnormal_record_document_no')
        batch_op.drop_column('responsible_system')
        batch_op.drop_column('publicity_rule')
        batch_op.drop_column('publicity_max_end')
        batch_op.drop_column('publicity_min_end')
        batch_op.drop_column('publicity_start')

    op.drop_table('system_status')
    op.drop_table('repair_push')
    op.drop_table('repair_feed_cursor')
    with op.batch_alter_table('repair_fact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_repair_fact_record_key'))

    op.drop_table('repair_fact')
    with op.batch_alter_table('reconcile_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reconcile_run_run_date'))

    op.drop_table('reconcile_run')
    with op.batch_alter_table('reconcile_finding', schema=None) as batch_op:
        batch_op.drop_index('ix_reconcile_finding_open')

    op.drop_table('reconcile_finding')
