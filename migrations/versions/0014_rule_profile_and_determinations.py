"""the rule profile a screening ran under, and officers' determinations (decision 0034)

A peer's sync status keeps the rule profile hash its answers show, so that a peer on other
rules is flagged. A screening keeps the hash of the rule profile it ran under, so that reproducing it under
another profile is refused rather than silently different. A determination is the officer's
finding on one match: an essentially identical transaction or not, with reasons.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rule_profile', sa.String(length=71), nullable=True))
    with op.batch_alter_table('peer_sync', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rule_profile', sa.String(length=200), nullable=True))
    op.create_table('determinations',
    sa.Column('screening_id', sa.String(length=36), nullable=False),
    sa.Column('origin', sa.String(length=32), nullable=False),
    sa.Column('notice_id', sa.String(length=36), nullable=False),
    sa.Column('notice_version', sa.Integer(), nullable=False),
    sa.Column('identical', sa.Boolean(), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('decided_by', sa.String(length=140), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['screening_id'], ['screenings.screening_id'], name=op.f('fk_determinations_screening_id_screenings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('screening_id', 'origin', 'notice_id', name=op.f('pk_determinations'))
    )


def downgrade() -> None:
    op.drop_table('determinations')
    with op.batch_alter_table('peer_sync', schema=None) as batch_op:
        batch_op.drop_column('rule_profile')
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.drop_column('rule_profile')
