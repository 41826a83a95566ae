"""a partial index of the entries held without content (withheld content, DESIGN §4)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        'ix_entries_no_content', 'entries', ['origin', 'seq'], unique=False,
        sqlite_where=sa.text('content_body IS NULL'),
        postgresql_where=sa.text('content_body IS NULL'),
    )


def downgrade() -> None:
    op.drop_index('ix_entries_no_content', table_name='entries')
