"""Withheld content: entries of other origins that this node may see but was sent without
their content (a relay outside the audience), found, checked against the envelope's
`content_hash` and filled in."""

import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    cast,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core.entry import content_hash, may_see
from federation.storage.tables import (
    EntryRow,
)
from keys.canonical import parse_canonical
from keys.dsse import open_envelope
from keys.errors import KeysError

MISSING_BATCH = 1000  # header-only rows read per query of `missing_content`


def _may_see_text(me: str) -> ColumnElement[bool]:
    """A coarse SQL filter for entries whose audience may include `me`: the JSON text holds
    `"me"` or `"*"` (node ids need no JSON escaping; `may_see` then decides exactly)."""
    audience = cast(EntryRow.audience, Text)
    return or_(audience.like(f'%"{me}"%'), audience.like('%"*"%'))


def _header_only_page(origin: str, me: str, after: int, batch: int) -> Select[EntryRow]:
    """The next page of `origin`'s entries without content after seq `after` that may be
    for this node: keyset on seq over the partial index ix_entries_no_content (the
    header-only rows, never the whole log)."""
    return (
        select(EntryRow)
        .where(
            EntryRow.origin == origin,
            EntryRow.content_body.is_(None),
            EntryRow.seq > after,
            _may_see_text(me),
        )
        .order_by(EntryRow.seq)
        .limit(batch)
    )


async def missing_content(
    session: AsyncSession, origin: str, me: str, *, limit: int = 1000, batch: int = MISSING_BATCH
) -> list[EntryRow]:
    """Entries of `origin` whose audience includes this node but whose content it lacks,
    the first `limit` of them in seq order (read a page at a time until enough are found or
    none remain)."""
    found: list[EntryRow] = []
    after = -1
    while len(found) < limit:
        page = list(await session.scalars(_header_only_page(origin, me, after, batch)))
        found.extend(row for row in page if may_see(_audience(row.audience), me))
        if len(page) < batch:
            break
        after = page[-1].seq
    return found[:limit]


async def overdue_content(
    session: AsyncSession,
    origin: str,
    me: str,
    *,
    stored_before: datetime,
    batch: int = MISSING_BATCH,
) -> tuple[int, int | None]:
    """How many entries of `origin` this node may see have lacked their content since
    before `stored_before` (withholding, DESIGN §4), and the first one's seq."""
    count, first, after = 0, None, -1
    columns = (EntryRow.seq, EntryRow.audience, EntryRow.stored_at)
    while True:
        query = _header_only_page(origin, me, after, batch).with_only_columns(*columns)
        page = (await session.execute(query)).all()
        for seq, audience, stored_at in page:
            if may_see(_audience(audience), me) and stored_at < stored_before:
                count += 1
                first = seq if first is None else first
        if len(page) < batch:
            return count, first
        after = page[-1][0]


def _audience(stored: Any) -> list[str]:
    """An entry's audience as stored (a list of node ids; anything else names nobody: an
    uninterpretable header is stored too, flagged, DESIGN §4)."""
    value = json.loads(stored) if isinstance(stored, str | bytes) else stored
    return [a for a in value if isinstance(a, str)] if isinstance(value, list) else []


async def origins_missing_content(session: AsyncSession) -> set[str]:
    """The origins of which this node holds entries without content (any audience): few,
    found through the partial index, so a round asks peers for content only where it can
    be missing."""
    found = await session.scalars(
        select(EntryRow.origin).where(EntryRow.content_body.is_(None)).distinct()
    )
    return set(found)


def content_matches(stored_envelope: bytes, salt: bytes, body: bytes) -> bool:
    """Does (salt, body) match the `content_hash` in an envelope this node verified?"""
    try:
        payload = parse_canonical(open_envelope(stored_envelope).payload, what="entry header")
    except KeysError:
        return False
    return isinstance(payload, dict) and payload.get("content_hash") == content_hash(salt, body)


async def fill_content(session: AsyncSession, row: EntryRow, salt: bytes, body: bytes) -> None:
    row.content_salt, row.content_body = salt, body
    await session.flush()
