"""the cosignatures table: witnesses' cosignatures on the checkpoints this node holds

Evidence bundles carry the cosignatures this node holds of their checkpoint (DESIGN §9,
decision 0033): the first one per witness and checkpoint size, with the checkpoint text's
hash so that only the exact text it covers carries it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('cosignatures',
    sa.Column('origin', sa.String(length=32), nullable=False),
    sa.Column('size', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('witness', sa.String(length=32), nullable=False),
    sa.Column('text_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('line', sa.Text(), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=False),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('origin', 'size', 'witness', name=op.f('pk_cosignatures'))
    )


def downgrade() -> None:
    op.drop_table('cosignatures')
