"""a notice is (origin, notice_id) and a consultation (consultation_id, requester)

notice_id is no longer unique on its own: the same id from two origins names two notices
(DESIGN §6). Consultations are keyed by their requester too, and approvals are looked up by
(denier, notice_id). The derived rows of a node that met such a reuse before this revision
are rebuilt from the entries by `denex serve` after upgrading (service.derivation). Downgrading
refuses while two origins share a notice_id or two requesters a consultation_id: the older
schema cannot hold both, and dropping one would hide it again. Decision 0017.

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
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index('ix_notices_notice_id')
        batch_op.create_index('ix_notices_notice_id', ['notice_id', 'origin'], unique=False)
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_constraint('pk_consultations', type_='primary')
        batch_op.create_primary_key('pk_consultations', ['consultation_id', 'requester'])
    with op.batch_alter_table('approvals', schema=None) as batch_op:
        batch_op.drop_index('ix_approvals_notice')
        batch_op.create_index('ix_approvals_notice', ['denier', 'notice_id'], unique=False)


def _shared(table: str, key: str, by: str) -> str | None:
    """One value of `key` that two rows of `table` with a different `by` share, if any."""
    return op.get_bind().scalar(
        sa.text(
            f'SELECT {key} FROM {table} GROUP BY {key} HAVING COUNT(DISTINCT {by}) > 1 LIMIT 1'
        )
    )


def downgrade() -> None:
    notice_id = _shared('notices', 'notice_id', 'origin')
    if notice_id is not None:
        raise RuntimeError(
            f'cannot downgrade below 0008: notice_id {notice_id} is used by two origins, '
            'and the older schema would hide one of their notices'
        )
    consultation_id = _shared('consultations', 'consultation_id', 'requester')
    if consultation_id is not None:
        raise RuntimeError(
            f'cannot downgrade below 0008: consultation_id {consultation_id} is used by two '
            'requesters, and the older schema would lose one of their consultations'
        )
    with op.batch_alter_table('approvals', schema=None) as batch_op:
        batch_op.drop_index('ix_approvals_notice')
        batch_op.create_index('ix_approvals_notice', ['notice_id'], unique=False)
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_constraint('pk_consultations', type_='primary')
        batch_op.create_primary_key('pk_consultations', ['consultation_id'])
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index('ix_notices_notice_id')
        batch_op.create_index('ix_notices_notice_id', ['notice_id'], unique=True)
