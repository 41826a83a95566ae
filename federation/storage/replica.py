"""This node's copies of other origins' logs: where a follower starts, storing verified pages,
accepting an origin's checkpoint once the copy reaches it, and marking entries a later key
revocation invalidated. The database edge of sync; nothing here commits.
"""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core import checkpoint as cp
from federation.core import keystate, merkle, note
from federation.core.entry import KEY_TYPES, map_key
from federation.core.errors import FederationError, LogError
from federation.core.follow import Accepted, Follower
from federation.storage import noticeheads, tree
from federation.storage.bulk import insert_rows
from federation.storage.log import key_chain_below, lock_log, log_size
from federation.storage.tables import (
    CheckpointRow,
    EntryRow,
    LogRow,
)
from keys.canonical import parse_canonical
from keys.ed25519 import b64


class CheckpointMismatch(FederationError):
    """An origin-signed checkpoint disagrees with this node's copy: equivocation evidence.
    `ours` is this node's origin-signed checkpoint of that size, or failing that its newest
    one of the origin (the tree it was checked against grew from verified entries)."""

    def __init__(self, message: str, *, theirs: str, ours: str | None) -> None:
        super().__init__(message)
        self.theirs, self.ours = theirs, ours


class CopyMoved(LogError):
    """Another sync of this node stored these entries meanwhile (a benign race)."""


class Frozen(LogError):
    """The origin is frozen after proven equivocation: no new entries are accepted."""


async def stored_key_state(session: AsyncSession, origin: str) -> keystate.KeyState:
    """Replay the key statements this node holds of `origin`'s log, in seq order."""
    rows = await session.scalars(
        select(EntryRow).where(EntryRow.origin == origin, EntryRow.type.in_(KEY_TYPES))
    )  # sorted here: ORDER BY seq would make SQLite walk the whole log
    return keystate.replay(
        keystate.Statement(r.seq, r.type, parse_canonical(r.content_body or b"{}"), r.issued_at)
        for r in sorted(rows, key=lambda r: r.seq)
    )


async def follower_for(
    session: AsyncSession, *, federation: str, origin: str, root_key: bytes, me: str
) -> Follower:
    return Follower(
        federation=federation,
        origin=origin,
        root_key=root_key,
        me=me,
        size=await log_size(session, origin),
        state=await stored_key_state(session, origin),
    )


async def store_accepted(
    session: AsyncSession,
    origin: str,
    accepted: Sequence[Accepted],
    *,
    now: datetime,
    recovering: bool = False,
) -> int:
    """Store verified entries that continue the copy of `origin`; extend its tree. Returns
    the new size. Raises LogError if the copy moved meanwhile (another sync stored them), and
    Frozen if the origin is frozen (unless this node is `recovering` its own log)."""
    log = await lock_log(session, origin)
    if log.frozen_reason is not None and not recovering:
        raise Frozen(f"{origin} is frozen: {log.frozen_reason}")
    if not accepted:
        return log.size
    if accepted[0].wire.seq != log.size:
        raise CopyMoved(
            f"copy of {origin} is at {log.size}, the page starts at {accepted[0].wire.seq}"
        )
    await insert_rows(
        session,
        EntryRow,
        [
            {
                "origin": origin,
                "seq": a.wire.seq,
                "type": a.type,
                "issued_at": a.issued_at,
                "key_id": a.key_id,
                "audience": list(a.audience),
                "envelope": a.wire.envelope,
                "leaf_hash": a.wire.leaf_hash,
                "content_salt": a.wire.salt,
                "content_body": a.wire.body,
                "flagged": a.flag is not None,
                "flag_reason": a.flag,
                "invalid_reason": None,
                "stored_at": now,
                "subject": _subject(a),
            }
            for a in accepted
        ],
    )
    before, size = log.root or merkle.EMPTY_ROOT, log.size
    log.root = await tree.extend(session, origin, log.size, [a.wire.leaf_hash for a in accepted])
    log.size += len(accepted)
    noticeheads.advance(  # so that checking the origin's `notices` line finds its map kept
        origin,
        size=size,
        root=before,
        new_size=log.size,
        new_root=log.root,
        entries=((s, a.wire.leaf_hash) for a in accepted if (s := _subject(a)) is not None),
    )
    if any(a.type in KEY_TYPES for a in accepted):
        log.key_count = log.key_chain = None  # computed again when next needed (decision 0032)
    log.updated_at = now
    await session.flush()
    return log.size


def _subject(accepted: Accepted) -> bytes | None:
    """The entry's key in the map of notice heads (none for a flagged entry)."""
    if accepted.flag:
        return None
    return map_key(accepted.type, accepted.wire.leaf_hash, accepted.subject)


async def accept_checkpoint(
    session: AsyncSession,
    *,
    federation: str,
    origin: str,
    text: str,
    state: keystate.KeyState,
    now: datetime,
) -> bool:
    """Verify an origin-signed checkpoint against this node's copy and keep it when the copy
    has reached its size. Returns False when the copy is still shorter (nothing to judge
    yet). Raises CheckpointMismatch (evidence) when the root differs at that size, and
    FederationError subclasses when the note is malformed or not signed by a valid key."""
    parsed = cp.parse_text(note.parse(text).text)
    verified = cp.verify_checkpoint(
        text,
        origin=cp.origin_line(federation, origin),
        keys=state.checkpoint_keys(parsed.size),
    )
    size = verified.checkpoint.size
    log = await lock_log(session, origin)
    if size > log.size:
        return False
    root = log.root if size == log.size else await tree.root_at(session, origin, size)
    if root != verified.checkpoint.root:
        ours = await checkpoint_at(session, origin, size) or log.checkpoint
        raise CheckpointMismatch(
            f"checkpoint of {origin} at size {size} has root {b64(verified.checkpoint.root)}, "
            f"this node's copy has {b64(root) if root is not None else 'none'}",
            theirs=text,
            ours=ours,
        )
    contradiction = await _commitments_broken(session, origin, verified.checkpoint)
    if contradiction is not None:
        raise CheckpointMismatch(
            f"checkpoint of {origin} at size {size} commits to {contradiction}",
            theirs=text,
            ours=await checkpoint_at(session, origin, size) or log.checkpoint,
        )
    commits = verified.checkpoint.keys is not None
    if size == log.size and log.checkpoint != text and (commits or not _commits(log)):
        existing = await session.get(CheckpointRow, (origin, size))
        if existing is None:
            session.add(
                CheckpointRow(origin=origin, size=size, root=root, note=text, stored_at=now)
            )
        log.checkpoint = text
        await session.flush()
    return True


async def _commitments_broken(
    session: AsyncSession, origin: str, head: cp.Checkpoint
) -> str | None:
    """What the checkpoint's extension lines (decision 0032) commit to that this node's copy
    below its size does not hold, or None: its key statements, its map of notice heads."""
    if head.keys is not None:
        held = await key_chain_below(session, origin, head.size)
        if held != head.keys:
            return f"{head.keys.describe()}, this node's copy holds {held.describe()}"
    if head.notices is not None:
        made = (await noticeheads.map_at(session, origin, head.size, head.root)).root()
        if made != head.notices:
            return (
                f"a map of notice heads with root {b64(head.notices)}, this node's copy makes "
                f"{b64(made)}"
            )
    return None


def _commits(log: LogRow) -> bool:
    """Whether the log's newest checkpoint carries decision 0032's commitments (one that
    does is not replaced by one of the same size that does not)."""
    return (
        log.checkpoint is not None
        and cp.parse_text(note.parse(log.checkpoint).text).keys is not None
    )


async def mark_invalidated(session: AsyncSession, origin: str, state: keystate.KeyState) -> int:
    """Mark the entries of `origin` that a key revocation invalidated (DESIGN §2); return how
    many were newly marked."""
    marked = 0
    for life in state.revocations():
        if life.valid_below is None or life.revoked_seq is None:
            continue
        result = await session.execute(
            update(EntryRow)
            .where(
                EntryRow.origin == origin,
                EntryRow.key_id == life.key_id,
                EntryRow.seq >= life.valid_below,
                EntryRow.seq < life.revoked_seq,
                EntryRow.type.not_in(KEY_TYPES),
                EntryRow.invalid_reason.is_(None),
            )
            .values(
                invalid_reason=f"signed by key {life.key_id[:16]}..., revoked below seq "
                f"{life.valid_below}: {life.reason or 'no reason given'}"
            )
        )
        marked += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return marked


async def logs(session: AsyncSession) -> list[LogRow]:
    return list(await session.scalars(select(LogRow).order_by(LogRow.origin)))


# --- bookkeeping: peer status, heads, quarantine, evidence, freezing ------------------------


# What one peer can make this node keep of its bad answers (decision 0018): the newest items,
# at most QUARANTINE_ROWS of them and QUARANTINE_BYTES in all, each cut to
# QUARANTINE_ITEM_BYTES of what was served and QUARANTINE_REASON_CHARS of reason; at most one
# per peer and origin every QUARANTINE_INTERVAL (later ones are only counted).
async def checkpoint_at(session: AsyncSession, origin: str, size: int) -> str | None:
    row = await session.get(CheckpointRow, (origin, size))
    return None if row is None else row.note
