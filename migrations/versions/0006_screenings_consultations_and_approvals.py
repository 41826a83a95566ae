"""screenings, consultations and approvals

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('approvals',
    sa.Column('origin', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('notice_id', sa.String(length=36), nullable=False),
    sa.Column('denier', sa.String(length=32), nullable=False),
    sa.Column('consultation_id', sa.String(length=36), nullable=True),
    sa.Column('licence_ref', sa.String(length=100), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('origin', 'seq', name=op.f('pk_approvals'))
    )
    with op.batch_alter_table('approvals', schema=None) as batch_op:
        batch_op.create_index('ix_approvals_notice', ['notice_id'], unique=False)

    op.create_table('consultations',
    sa.Column('consultation_id', sa.String(length=36), nullable=False),
    sa.Column('requester', sa.String(length=32), nullable=False),
    sa.Column('requested_seq', sa.BigInteger(), nullable=False),
    sa.Column('denier', sa.String(length=32), nullable=False),
    sa.Column('notice_id', sa.String(length=36), nullable=False),
    sa.Column('notice_version', sa.Integer(), nullable=False),
    sa.Column('reply_due', sa.Date(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('screening_id', sa.String(length=36), nullable=True),
    sa.Column('position', sa.String(length=32), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_seq', sa.BigInteger(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('consultation_id', name=op.f('pk_consultations'))
    )
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.create_index('ix_consultations_denier', ['denier', 'reply_due'], unique=False)
        batch_op.create_index('ix_consultations_requester', ['requester', 'reply_due'], unique=False)

    op.create_table('screenings',
    sa.Column('screening_id', sa.String(length=36), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('application', sa.JSON(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('staleness', sa.JSON(), nullable=False),
    sa.Column('algorithm', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=140), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('licence_ref', sa.String(length=100), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('screening_id', name=op.f('pk_screenings'))
    )
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.create_index('ix_screenings_status', ['status'], unique=False)

    op.create_table('screening_matches',
    sa.Column('screening_id', sa.String(length=36), nullable=False),
    sa.Column('origin', sa.String(length=32), nullable=False),
    sa.Column('notice_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('features', sa.JSON(), nullable=False),
    sa.Column('found_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('change', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['screening_id'], ['screenings.screening_id'], name=op.f('fk_screening_matches_screening_id_screenings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('screening_id', 'origin', 'notice_id', name=op.f('pk_screening_matches'))
    )


def downgrade() -> None:
    op.drop_table('screening_matches')
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.drop_index('ix_screenings_status')

    op.drop_table('screenings')
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_index('ix_consultations_requester')
        batch_op.drop_index('ix_consultations_denier')

    op.drop_table('consultations')
    with op.batch_alter_table('approvals', schema=None) as batch_op:
        batch_op.drop_index('ix_approvals_notice')

    op.drop_table('approvals')
