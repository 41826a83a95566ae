"""the quarantine is bounded: bad answers a peer sends over the rate limit are only counted

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        'peer_sync',
        sa.Column('quarantine_dropped', sa.Integer(), server_default='0', nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table('peer_sync') as batch_op:
        batch_op.drop_column('quarantine_dropped')
