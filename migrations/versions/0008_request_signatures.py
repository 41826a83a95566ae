"""request signatures a node accepted, kept through their window: each is accepted once

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('request_signatures',
    sa.Column('digest', sa.LargeBinary(length=32), nullable=False),
    sa.Column('peer', sa.String(length=32), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_request_signatures'))
    )
    op.create_index('ix_request_signatures_expires_at', 'request_signatures', ['expires_at'])


def downgrade() -> None:
    op.drop_index('ix_request_signatures_expires_at', table_name='request_signatures')
    op.drop_table('request_signatures')
