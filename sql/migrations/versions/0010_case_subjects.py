"""Let the case view find a subject's quarantined records and rejected files.

Quarantine rows keep the record's credit code (else ID number) in its one written form; a new
table keeps the codes and ID numbers each rejected file names. Rows quarantined and files
rejected before this revision carry none.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 00:05:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_id', sa.String(length=64), nullable=True, comment="the record's credit code, else its ID number, in the one written form"))
        batch_op.create_index(batch_op.f('ix_quarantine_subject_id'), ['subject_id'], unique=False)
    op.create_table(
        'rejected_file_subject',
        sa.Column('source_id', sa.String(length=100), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('subject_id', sa.String(length=18), nullable=False),
        sa.ForeignKeyConstraint(['source_id', 'sha256'], ['source_file.source_id', 'source_file.sha256'], name=op.f('fk_rejected_file_subject_source_id_source_file')),
        sa.PrimaryKeyConstraint('source_id', 'sha256', 'subject_id', name=op.f('pk_rejected_file_subject')),
        comment='The credit codes and ID numbers a rejected file names: its subjects\' cases show it.',
    )
    op.create_index('ix_rejected_file_subject_subject_id', 'rejected_file_subject', ['subject_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_rejected_file_subject_subject_id', table_name='rejected_file_subject')
    op.drop_table('rejected_file_subject')
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quarantine_subject_id'))
        batch_op.drop_column('subject_id')
