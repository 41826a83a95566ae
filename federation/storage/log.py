"""Appending to and reading this node's copy of a log. The database edge of `federation`.

Appends are serialised per origin: on SQLite by the writer session's `BEGIN IMMEDIATE`,
on PostgreSQL by a transaction-scoped advisory lock. The seq comes from the `logs` row read
under that lock, never from `max()+1` outside it. Nothing here commits: the caller's
transaction also holds the derived state, so both land together or not at all.
"""

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core import merkle
from federation.core.checkpoint import Checkpoint, origin_line, sign_checkpoint
from federation.core.commitments import LeafChain
from federation.core.entry import KEY_TYPES, Draft, SealedEntry, seal
from federation.core.errors import AppendsStopped, LogError, StaleSeal
from federation.storage import noticeheads, tree
from federation.storage.bulk import insert_rows
from federation.storage.tables import CheckpointRow, EntryRow, LogRow
from keys.ed25519 import KeyPair


def _lock_key(origin: str) -> int:
    return int.from_bytes(
        hashlib.sha256(b"denex-log:" + origin.encode()).digest()[:8], "big", signed=True
    )


async def lock_log(session: AsyncSession, origin: str) -> LogRow:
    """Take the append lock for `origin` in the current transaction; return its log row."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(origin)})
    row = await session.get(LogRow, origin, populate_existing=True)
    if row is None:
        row = LogRow(origin=origin, size=0, updated_at=datetime.fromtimestamp(0).astimezone())
        session.add(row)
    return row


def entry_values(entry: SealedEntry, *, stored_at: datetime) -> dict[str, object]:
    """The `entries` row of a sealed entry, for a bulk insert."""
    return {
        "origin": entry.origin,
        "seq": entry.seq,
        "type": entry.type,
        "issued_at": entry.issued_at,
        "key_id": entry.key_id,
        "audience": list(entry.audience),
        "envelope": entry.envelope,
        "leaf_hash": entry.leaf_hash,
        "content_salt": entry.salt,
        "content_body": entry.body,
        "flagged": False,
        "flag_reason": None,
        "invalid_reason": None,
        "stored_at": stored_at,
        "subject": entry.subject,
    }


async def append_own(
    session: AsyncSession,
    *,
    federation: str,
    origin: str,
    drafts: Sequence[Draft],
    signer: Callable[[str], KeyPair],
    checkpoint_key: KeyPair,
    now: datetime,
    locked: LogRow | None = None,
) -> list[SealedEntry]:
    """Seal `drafts` as the next entries of this node's own log, extend its Merkle tree and
    sign the new checkpoint, all in the caller's transaction.

    `signer(entry_type)` picks the key (root key for key statements, signing key otherwise);
    `checkpoint_key` is the signing key in force once the drafts are in the log. `locked` is
    the log row when the caller already holds the lock (`lock_log` in this transaction).
    """
    if not drafts:
        return []
    log = locked if locked is not None else await lock_log(session, origin)
    sealed = [
        seal(
            federation=federation,
            origin=origin,
            seq=log.size + offset,
            draft=draft,
            key=signer(draft.type),
        )
        for offset, draft in enumerate(drafts)
    ]
    await _store(session, log, federation, sealed, checkpoint_key, now)
    return sealed


async def append_sealed(
    session: AsyncSession,
    *,
    federation: str,
    origin: str,
    sealed: Sequence[SealedEntry],
    checkpoint_key: KeyPair,
    now: datetime,
) -> None:
    """Store entries sealed ahead of time (bulk import signs in worker processes) as the next
    entries of this node's own log. Raises StaleSeal, writing nothing, if they do not start
    at the log's current size (someone else appended meanwhile): the caller seals again."""
    if not sealed:
        return
    log = await lock_log(session, origin)
    expected = list(range(log.size, log.size + len(sealed)))
    if [e.seq for e in sealed] != expected or any(e.origin != origin for e in sealed):
        raise StaleSeal(f"entries were sealed for seq {sealed[0].seq}; the log is at {log.size}")
    await _store(session, log, federation, sealed, checkpoint_key, now)


async def _store(
    session: AsyncSession,
    log: LogRow,
    federation: str,
    sealed: Sequence[SealedEntry],
    checkpoint_key: KeyPair,
    now: datetime,
) -> None:
    """Insert sealed entries, extend the tree, sign and store the checkpoint (lock held)."""
    origin = log.origin
    if log.frozen_reason is not None:
        raise AppendsStopped(f"appends to {origin} are stopped: {log.frozen_reason}")
    keys = await _key_chain(session, log)
    before = log.root or merkle.EMPTY_ROOT
    heads = await noticeheads.map_at(session, origin, log.size, before)
    noticeheads.release(origin, before)  # extended in place below, kept under the new root
    await insert_rows(session, EntryRow, [entry_values(e, stored_at=now) for e in sealed])
    root = await tree.extend(session, origin, log.size, [e.leaf_hash for e in sealed])
    log.size += len(sealed)
    for entry in sealed:  # what the checkpoint commits to (decision 0032)
        if entry.type in KEY_TYPES:
            keys = keys.extended(entry.leaf_hash)
    heads.extend((e.subject, e.leaf_hash) for e in sealed if e.subject is not None)
    log.key_count, log.key_chain = keys.count, keys.chain
    noticeheads.keep(origin, log.size, root, heads)
    head = Checkpoint(origin_line(federation, origin), log.size, root, keys, heads.root())
    note = sign_checkpoint(head, checkpoint_key)
    log.root, log.checkpoint, log.updated_at = root, note, now
    session.add(CheckpointRow(origin=origin, size=log.size, root=root, note=note, stored_at=now))
    await session.flush()


async def _key_chain(session: AsyncSession, log: LogRow) -> LeafChain:
    """The log row's chain of key statements, computed from the log when not kept yet."""
    if log.key_count is not None and log.key_chain is not None:
        return LeafChain(log.key_count, log.key_chain)
    return await key_chain_below(session, log.origin, log.size)


async def key_chain_below(session: AsyncSession, origin: str, size: int) -> LeafChain:
    """The chain of the key statements of `origin` below `size` (decision 0032)."""
    # equality on (origin, type) so that SQLite uses ix_entries_type; the few rows are
    # filtered and ordered here
    rows = await session.execute(
        select(EntryRow.seq, EntryRow.leaf_hash).where(
            EntryRow.origin == origin, EntryRow.type.in_(KEY_TYPES)
        )
    )
    return LeafChain.of(leaf for seq, leaf in sorted(rows.all()) if seq < size)


async def log_size(session: AsyncSession, origin: str) -> int:
    size = await session.scalar(select(LogRow.size).where(LogRow.origin == origin))
    return int(size or 0)


async def read_entries(
    session: AsyncSession, origin: str, *, start: int = 0, limit: int = 1000
) -> list[EntryRow]:
    """Entries of `origin` from `start`, contiguous, at most `limit`."""
    if start < 0 or limit < 1:
        raise LogError("start must be >= 0 and limit >= 1")
    rows = await session.scalars(
        select(EntryRow)
        .where(EntryRow.origin == origin, EntryRow.seq >= start)
        .order_by(EntryRow.seq)
        .limit(limit)
    )
    return list(rows)
