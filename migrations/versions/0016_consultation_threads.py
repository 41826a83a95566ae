"""consultation threads: the regime, the steps of either side, withdrawal (decision 0035)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('regime', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('conditions', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('step', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('consultation_messages',
    sa.Column('origin', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('consultation_id', sa.String(length=36), nullable=False),
    sa.Column('requester', sa.String(length=32), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('reply_due', sa.Date(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('origin', 'seq', name=op.f('pk_consultation_messages'))
    )
    op.create_index('ix_consultation_messages_consultation', 'consultation_messages', ['consultation_id', 'requester', 'seq'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_consultation_messages_consultation', table_name='consultation_messages')
    op.drop_table('consultation_messages')
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_column('withdrawn_at')
        batch_op.drop_column('step')
        batch_op.drop_column('conditions')
        batch_op.drop_column('regime')
