"""the chain of key statements on each log row (decision 0032)

Checkpoints commit to every key statement below their size with a `keys <count> <chain>`
extension line; the log row keeps the chain so that signing a checkpoint costs one hash per
new key statement. Both columns start empty and are computed from the log when first needed.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('logs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_count', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('key_chain', sa.LargeBinary(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('logs', schema=None) as batch_op:
        batch_op.drop_column('key_chain')
        batch_op.drop_column('key_count')
