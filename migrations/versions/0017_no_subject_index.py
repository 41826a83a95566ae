"""drop ix_entries_subject: nearly every entry of a log is a notice's, so the partial index
repeated the primary key (origin, seq) at the cost of one more index insert per entry;
the map of notice heads reads its range of the primary key instead

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index('ix_entries_subject', table_name='entries')


def downgrade() -> None:
    op.create_index(
        'ix_entries_subject', 'entries', ['origin', 'seq'], unique=False,
        sqlite_where=sa.text('subject IS NOT NULL'),
        postgresql_where=sa.text('subject IS NOT NULL'),
    )
