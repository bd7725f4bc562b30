"""Say when each delta day's sets were published, so an unfinished day is finished before the next.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 23:55:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('delta_day', schema=None) as batch_op:
        batch_op.add_column(sa.Column('published_at', sa.DateTime(timezone=True), nullable=True, comment="when the day's sets were recorded, their files written; NULL: unfinished"))
    # Days up to the last one with sets were published (a day skipped before this revision cannot
    # be published any more: the sites' sequences went on); a later day stays unfinished.
    op.execute(
        "UPDATE delta_day SET published_at = fixed_at "
        "WHERE day <= (SELECT max(day) FROM delta_manifest)"
    )


def downgrade() -> None:
    with op.batch_alter_table('delta_day', schema=None) as batch_op:
        batch_op.drop_column('published_at')
