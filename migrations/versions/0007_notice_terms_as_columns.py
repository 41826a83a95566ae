"""search terms become three columns of notices; the notice_terms table goes

Each term sits between two \\x1f characters (service.notices.rows); decision 0016.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEP = '\x1f'
KINDS = {'control': 'control_terms', 'party': 'party_terms', 'regime': 'regime_terms'}
_notices = sa.table(
    'notices',
    sa.column('origin', sa.String),
    sa.column('notice_id', sa.String),
    *(sa.column(name, sa.Text) for name in KINDS.values()),
)
_terms = sa.table(
    'notice_terms',
    sa.column('origin', sa.String),
    sa.column('notice_id', sa.String),
    sa.column('kind', sa.String),
    sa.column('term', sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table('notices', schema=None) as batch_op:
        for name in KINDS.values():
            batch_op.add_column(sa.Column(name, sa.Text(), server_default='', nullable=False))
    bind = op.get_bind()
    found: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for origin, notice_id, kind, term in bind.execute(sa.select(_terms)):
        if kind in KINDS:
            found[(origin, notice_id)][KINDS[kind]].add(term.replace(SEP, ' '))
    rows = [
        {
            'o': origin,
            'n': notice_id,
            **{
                name: SEP + SEP.join(sorted(terms[name])) + SEP if terms[name] else ''
                for name in KINDS.values()
            },
        }
        for (origin, notice_id), terms in found.items()
    ]
    if rows:
        bind.execute(
            _notices.update()
            .where(_notices.c.origin == sa.bindparam('o'), _notices.c.notice_id == sa.bindparam('n'))
            .values({name: sa.bindparam(name) for name in KINDS.values()}),
            rows,
        )
    op.drop_table('notice_terms')


def downgrade() -> None:
    bind = op.get_bind()
    rows = [
        {'origin': row.origin, 'notice_id': row.notice_id, 'kind': kind, 'term': term}
        for row in bind.execute(sa.select(_notices))
        for kind, name in KINDS.items()
        for term in getattr(row, name).split(SEP)
        if term
    ]
    # the columns go first: SQLite drops them by copying the table, and dropping the old
    # copy would cascade to notice_terms rows already written
    with op.batch_alter_table('notices', schema=None) as batch_op:
        for name in KINDS.values():
            batch_op.drop_column(name)
    op.create_table('notice_terms',
    sa.Column('origin', sa.String(length=32), nullable=False),
    sa.Column('notice_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('term', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['origin', 'notice_id'], ['notices.origin', 'notices.notice_id'], name=op.f('fk_notice_terms_origin_notices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('origin', 'notice_id', 'kind', 'term', name=op.f('pk_notice_terms'))
    )
    with op.batch_alter_table('notice_terms', schema=None) as batch_op:
        batch_op.create_index('ix_notice_terms_term', ['kind', 'term'], unique=False)
    if rows:
        bind.execute(_terms.insert(), rows)
