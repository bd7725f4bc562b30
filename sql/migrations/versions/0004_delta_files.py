"""Delta files: day ranges, per-site manifests and their files, site tokens (hashed), pull log.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:54:50.459418
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('delta_day',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('watermark_from', sa.BigInteger(), nullable=False, comment='exclusive'),
    sa.Column('watermark_to', sa.BigInteger(), nullable=False, comment='inclusive'),
    sa.Column('n_changes', sa.Integer(), nullable=False),
    sa.Column('fixed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_delta_day')),
    comment='The status_change id range (watermark_from, watermark_to] of each published day, fixed at its first publication so that re-publishing the day reads the same changes.'
    )
    op.create_table('pull_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=True, comment='NULL: no valid token'),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('path', sa.String(length=512), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=True, comment='the file asked for, when a file was asked for'),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=True),
    sa.Column('client', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pull_log')),
    comment='Every request to the pull API: who asked (by token), for what, and the answer.'
    )
    with op.batch_alter_table('pull_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pull_log_requested_at'), ['requested_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_pull_log_site_id'), ['site_id'], unique=False)

    op.create_table('site_token',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_site_token')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_site_token_token_sha256')),
    comment="Bearer tokens of the pull API, stored as SHA-256 only; issuing a new one revokes the site's previous token."
    )
    with op.batch_alter_table('site_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_token_site_id'), ['site_id'], unique=False)

    op.create_table('delta_manifest',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('watermark_from', sa.BigInteger(), nullable=False, comment='exclusive'),
    sa.Column('watermark_to', sa.BigInteger(), nullable=False, comment='inclusive'),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('schema_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False, comment='first publication'),
    sa.Column('expired_at', sa.DateTime(timezone=True), nullable=True, comment='files deleted by the retention rule'),
    sa.ForeignKeyConstraint(['day'], ['delta_day.day'], name=op.f('fk_delta_manifest_day_delta_day')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delta_manifest')),
    sa.UniqueConstraint('site_id', 'day', name=op.f('uq_delta_manifest_site_id_day')),
    sa.UniqueConstraint('site_id', 'sequence', name=op.f('uq_delta_manifest_site_id_sequence')),
    comment='One delta file set per site and day: a gap-free sequence per site, kept after its files expire.'
    )
    op.create_table('delta_file',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('manifest_id', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['manifest_id'], ['delta_manifest.id'], name=op.f('fk_delta_file_manifest_id_delta_manifest')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delta_file')),
    sa.UniqueConstraint('manifest_id', 'format', name=op.f('uq_delta_file_manifest_id_format')),
    comment='The files of a manifest (parquet, csv, manifest JSON); the pull API serves them by id, never by a name taken from the request.'
    )


def downgrade() -> None:
    op.drop_table('delta_file')
    op.drop_table('delta_manifest')
    with op.batch_alter_table('site_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_token_site_id'))

    op.drop_table('site_token')
    with op.batch_alter_table('pull_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pull_log_site_id'))
        batch_op.drop_index(batch_op.f('ix_pull_log_requested_at'))

    op.drop_table('pull_log')
    op.drop_table('delta_day')
