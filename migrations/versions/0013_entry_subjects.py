"""each entry's key in the map of notice heads (decision 0032)

A publication's key is its own leaf hash; an amendment or revocation signed since decision
0032 names it in its header's `subject`. Those signed before carry none and stay outside the
map, as every node reads them the same way from the headers alone.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject', sa.LargeBinary(length=32), nullable=True))
    op.execute("UPDATE entries SET subject = leaf_hash WHERE type = 'notice.published' AND NOT flagged")
    op.create_index(
        'ix_entries_subject', 'entries', ['origin', 'seq'], unique=False,
        sqlite_where=sa.text('subject IS NOT NULL'),
        postgresql_where=sa.text('subject IS NOT NULL'),
    )


def downgrade() -> None:
    op.drop_index('ix_entries_subject', table_name='entries')
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_column('subject')
