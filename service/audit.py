"""The local audit trail: who did what, when — hash-chained so a removed or altered record shows.

Each record's hash is SHA-256 over the previous hash and the record's canonical JSON. Records
are appended inside the caller's write transaction, so an action and its record land together.
"""

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core.entry import format_time
from federation.storage.bulk import insert_rows
from keys.canonical import canonical_bytes
from service.storage.models import AuditRow

GENESIS = "0" * 64
_LOCK_KEY = 0x64656E6578617564  # "denexaud"
# Records are written on every API write, so they skip the ORM unit of work: the chain's head
# is read as two columns and new records go in as plain rows (the rows returned are transient).
_HEAD = select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)
_COLUMNS = tuple(c.key for c in AuditRow.__table__.columns)


def record_hash(prev_hash: str, record: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_bytes(record)).hexdigest()


def _record(row: AuditRow) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "at": row.at,
        "actor": row.actor,
        "action": row.action,
        "target": row.target,
        "detail": row.detail,
    }


@dataclass(frozen=True)
class Event:
    """One thing to record: who did what to which target."""

    actor: str
    action: str
    target: str | None
    detail: dict[str, Any]


async def record_many(
    session: AsyncSession, events: Sequence[Event], *, now: datetime
) -> list[AuditRow]:
    """Append records to the chain, in order, in the current write transaction."""
    if not events:
        return []
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    last = (await session.execute(_HEAD)).first()
    seq, prev = (0, GENESIS) if last is None else (last.seq + 1, last.hash)
    rows = []
    for offset, event in enumerate(events):
        row = AuditRow(
            seq=seq + offset,
            at=format_time(now),
            actor=event.actor,
            action=event.action,
            target=event.target,
            detail=event.detail,
            prev_hash=prev,
            hash="",
        )
        row.hash = prev = record_hash(prev, _record(row))
        rows.append(row)
    await session.flush()  # pending ORM changes first, in order
    await insert_rows(session, AuditRow, [{c: getattr(r, c) for c in _COLUMNS} for r in rows])
    return rows


async def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    target: str | None,
    detail: dict[str, Any],
    now: datetime,
) -> AuditRow:
    """Append one record to the chain in the current write transaction."""
    [row] = await record_many(session, [Event(actor, action, target, detail)], now=now)
    return row


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def verify_chain(rows: Iterable[AuditRow], *, start_hash: str = GENESIS) -> ChainBreak | None:
    """The first place where the chain breaks (gap, wrong link, altered record), or None."""
    prev = start_hash
    expected_seq: int | None = None
    for row in rows:
        if expected_seq is not None and row.seq != expected_seq:
            return ChainBreak(row.seq, f"record {expected_seq} is missing")
        if row.prev_hash != prev:
            return ChainBreak(row.seq, "does not link to the previous record")
        if record_hash(prev, _record(row)) != row.hash:
            return ChainBreak(row.seq, "record was altered")
        prev, expected_seq = row.hash, row.seq + 1
    return None


async def page(session: AsyncSession, *, after: int | None, limit: int) -> list[AuditRow]:
    query = select(AuditRow).order_by(AuditRow.seq).limit(limit)
    if after is not None:
        query = query.where(AuditRow.seq > after)
    return list(await session.scalars(query))
