"""Log any HTTP method in pull_log; one live token per site.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 00:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('pull_log', schema=None) as batch_op:
        batch_op.alter_column('method', existing_type=sa.String(length=8), type_=sa.String(length=32), existing_nullable=False, comment='cut to 32 characters')
        batch_op.alter_column('path', existing_type=sa.String(length=512), existing_nullable=False, comment='cut to 512 characters')
        batch_op.alter_column('client', existing_type=sa.String(length=64), existing_nullable=True, comment="the peer, or X-Forwarded-For's client from a trusted proxy; cut to 64")
    # Two live tokens of one site (left by overlapping hub token runs before this revision): the
    # newest stays live.
    op.execute(
        "UPDATE site_token SET revoked_at = issued_at WHERE revoked_at IS NULL AND id < "
        "(SELECT max(newer.id) FROM site_token AS newer WHERE newer.site_id = site_token.site_id "
        "AND newer.revoked_at IS NULL)"
    )
    if op.get_bind().dialect.name != 'sqlite':  # SQLite keeps no comments
        op.create_table_comment('site_token', "Bearer tokens of the pull API, stored as SHA-256 only; issuing a new one revokes the site's previous token (one live token per site).", existing_comment="Bearer tokens of the pull API, stored as SHA-256 only; issuing a new one revokes the site's previous token.")
    op.create_index('uq_site_token_live', 'site_token', ['site_id'], unique=True, postgresql_where=sa.text('revoked_at IS NULL'), sqlite_where=sa.text('revoked_at IS NULL'))


def downgrade() -> None:
    op.drop_index('uq_site_token_live', table_name='site_token', postgresql_where=sa.text('revoked_at IS NULL'), sqlite_where=sa.text('revoked_at IS NULL'))
    if op.get_bind().dialect.name != 'sqlite':
        op.create_table_comment('site_token', "Bearer tokens of the pull API, stored as SHA-256 only; issuing a new one revokes the site's previous token.", existing_comment="Bearer tokens of the pull API, stored as SHA-256 only; issuing a new one revokes the site's previous token (one live token per site).")
    with op.batch_alter_table('pull_log', schema=None) as batch_op:
        batch_op.alter_column('client', existing_type=sa.String(length=64), existing_nullable=True, comment=None)
        batch_op.alter_column('path', existing_type=sa.String(length=512), existing_nullable=False, comment=None)
        batch_op.alter_column('method', existing_type=sa.String(length=32), type_=sa.String(length=8), existing_nullable=False, comment=None)
