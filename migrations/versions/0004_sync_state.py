"""sync bookkeeping: per-peer status and heads, quarantine, equivocation evidence, freshness
and frozen origins

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('peer_sync',
    sa.Column('peer', sa.String(length=32), nullable=False),
    sa.Column('last_attempt', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_success', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('next_attempt', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('peer', name=op.f('pk_peer_sync'))
    )
    op.create_table('peer_heads',
    sa.Column('peer', sa.String(length=32), nullable=False),
    sa.Column('origin', sa.String(length=32), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('peer', 'origin', name=op.f('pk_peer_heads'))
    )
    op.create_table('quarantine',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('peer', sa.String(length=32), nullable=False),
    sa.Column('origin', sa.String(length=32), nullable=False),
    sa.Column('start', sa.BigInteger(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quarantine'))
    )
    op.create_table('equivocations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('origin', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('first', sa.Text(), nullable=False),
    sa.Column('second', sa.Text(), nullable=False),
    sa.Column('via', sa.String(length=32), nullable=True),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_equivocations'))
    )
    with op.batch_alter_table('logs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fresh_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('frozen_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('logs', schema=None) as batch_op:
        batch_op.drop_column('frozen_reason')
        batch_op.drop_column('fresh_at')
    op.drop_table('equivocations')
    op.drop_table('quarantine')
    op.drop_table('peer_heads')
    op.drop_table('peer_sync')
