"""a revocation's code and the notice that supersedes it; the last review of a notice
(issue 15, decision 0034)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_code', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('superseded_by', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('reviewed_on', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_column('reviewed_on')
        batch_op.drop_column('superseded_by')
        batch_op.drop_column('revoked_code')
