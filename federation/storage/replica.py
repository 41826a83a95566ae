"""This node's copies of other origins' logs: where a follower starts, storing verified pages,
accepting an origin's checkpoint once the copy reaches it, and marking entries a later key
revocation invalidated. The database edge of sync; nothing here commits.
"""

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    bindparam,
    cast,
    delete,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core import checkpoint as cp
from federation.core import keystate, note
from federation.core.entry import KEY_TYPES, content_hash, may_see
from federation.core.errors import FederationError, LogError
from federation.core.follow import Accepted, Follower
from federation.storage import tree
from federation.storage.bulk import insert_rows
from federation.storage.log import lock_log, log_size
from federation.storage.tables import (
    CheckpointRow,
    EntryRow,
    EquivocationRow,
    LogRow,
    PeerHeadRow,
    PeerSyncRow,
    QuarantineRow,
    UtcDateTime,
)
from keys.canonical import parse_canonical
from keys.dsse import open_envelope
from keys.ed25519 import b64
from keys.errors import KeysError


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
            }
            for a in accepted
        ],
    )
    log.root = await tree.extend(session, origin, log.size, [a.wire.leaf_hash for a in accepted])
    log.size += len(accepted)
    log.updated_at = now
    await session.flush()
    return log.size


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
    if size == log.size and log.checkpoint != text:
        existing = await session.get(CheckpointRow, (origin, size))
        if existing is None:
            session.add(
                CheckpointRow(origin=origin, size=size, root=root, note=text, stored_at=now)
            )
        log.checkpoint = text
        await session.flush()
    return True


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
QUARANTINE_ROWS = 20
QUARANTINE_BYTES = 4 * 1024 * 1024
QUARANTINE_ITEM_BYTES = 256 * 1024
QUARANTINE_REASON_CHARS = 2000
QUARANTINE_INTERVAL = timedelta(seconds=60)


async def peer_sync(session: AsyncSession, peer: str) -> PeerSyncRow:
    row = await session.get(PeerSyncRow, peer)
    if row is None:
        row = PeerSyncRow(peer=peer, failures=0)
        session.add(row)
    return row


async def peer_heads(session: AsyncSession) -> dict[str, dict[str, int]]:
    """peer -> origin -> the size it listed last."""
    heads: dict[str, dict[str, int]] = {}
    for peer, origin, size in await session.execute(
        select(PeerHeadRow.peer, PeerHeadRow.origin, PeerHeadRow.size)
    ):
        heads.setdefault(peer, {})[origin] = size
    return heads


async def record_heads(
    session: AsyncSession,
    peer: str,
    sizes: Mapping[str, int],
    *,
    now: datetime,
    known: Mapping[str, int],
) -> None:
    """What `peer` listed in its `GET /logs`. Only changes from `known` (what is stored, as
    `peer_heads` read it this round) are written, and `seen_at` is when a size was first
    listed: a round in which nothing moved writes nothing here."""
    gone = set(known) - set(sizes)
    if gone:
        await session.execute(
            delete(PeerHeadRow).where(PeerHeadRow.peer == peer, PeerHeadRow.origin.in_(gone))
        )
    for origin, size in sizes.items():
        if known.get(origin) != size:  # another process may have written it since: upsert
            await session.execute(
                _RECORD_HEAD,
                {"peer": peer, "origin": origin, "size": size, "seen_at": now},
            )


# The same on SQLite and PostgreSQL; `seen_at` moves only with the size.
_RECORD_HEAD = text(
    "INSERT INTO peer_heads (peer, origin, size, seen_at) "
    "VALUES (:peer, :origin, :size, :seen_at) "
    "ON CONFLICT (peer, origin) DO UPDATE SET size = excluded.size, seen_at = excluded.seen_at "
    "WHERE peer_heads.size <> excluded.size"
).bindparams(bindparam("seen_at", type_=UtcDateTime()))


async def quarantine(
    session: AsyncSession,
    *,
    peer: str,
    origin: str,
    start: int | None,
    reason: str,
    data: bytes,
    now: datetime,
) -> bool:
    """Keep what `peer` served of `origin` that failed verification, within the bounds above:
    the first item of a peer and origin in QUARANTINE_INTERVAL is kept and the peer's oldest
    items beyond its bounds are deleted, in the caller's transaction; a later one is only
    counted on the peer's status (`quarantine_dropped`). Returns whether it was kept."""
    last = await session.scalar(
        select(func.max(QuarantineRow.at)).where(
            QuarantineRow.peer == peer, QuarantineRow.origin == origin
        )
    )
    if last is not None and last > now - QUARANTINE_INTERVAL:
        counted = await session.execute(
            update(PeerSyncRow)
            .where(PeerSyncRow.peer == peer)
            .values(quarantine_dropped=PeerSyncRow.quarantine_dropped + 1)
            .execution_options(synchronize_session=False)
        )
        if not counted.rowcount:  # type: ignore[attr-defined]
            (await peer_sync(session, peer)).quarantine_dropped = 1
        await session.flush()
        return False
    session.add(
        QuarantineRow(
            peer=peer,
            origin=origin,
            start=start,
            reason=reason[:QUARANTINE_REASON_CHARS],
            data=data[:QUARANTINE_ITEM_BYTES],
            at=now,
        )
    )
    await session.flush()
    kept = await session.execute(
        select(QuarantineRow.id, func.length(QuarantineRow.data), QuarantineRow.reason)
        .where(QuarantineRow.peer == peer)
        .order_by(QuarantineRow.id.desc())
    )  # newest first: ids grow with every item kept
    total, stale = 0, []
    for count, (item, size, why) in enumerate(kept, start=1):
        total += int(size or 0) + len(why.encode("utf-8"))
        if count > QUARANTINE_ROWS or total > QUARANTINE_BYTES:
            stale.append(item)
    if stale:
        await session.execute(delete(QuarantineRow).where(QuarantineRow.id.in_(stale)))
    return True


def keep_evidence(
    session: AsyncSession,
    *,
    origin: str,
    first: str,
    second: str,
    kind: str,
    via: str | None,
    now: datetime,
) -> None:
    """Store two origin-signed statements that contradict each other (equivocation)."""
    session.add(
        EquivocationRow(
            origin=origin, kind=kind, first=first, second=second, via=via, detected_at=now
        )
    )


async def freeze(
    session: AsyncSession,
    *,
    origin: str,
    reason: str,
    first: str,
    second: str,
    kind: str,
    via: str | None,
    now: datetime,
) -> None:
    """Keep the evidence of an origin's equivocation and stop accepting its new entries."""
    keep_evidence(session, origin=origin, first=first, second=second, kind=kind, via=via, now=now)
    log = await lock_log(session, origin)
    if log.frozen_reason is None:
        log.frozen_reason = reason
    await session.flush()


async def checkpoint_at(session: AsyncSession, origin: str, size: int) -> str | None:
    row = await session.get(CheckpointRow, (origin, size))
    return None if row is None else row.note


async def seen_fresh(session: AsyncSession, origin: str, moment: datetime) -> None:
    """`origin`'s newest checkpoint was seen current at `moment` (kept if newer)."""
    await mark_fresh(session, [origin], moment)


async def mark_fresh(session: AsyncSession, origins: Sequence[str], moment: datetime) -> None:
    """`seen_fresh` for several origins, in one statement."""
    if not origins:
        return
    await session.execute(
        update(LogRow)
        .where(LogRow.origin.in_(origins), or_(LogRow.fresh_at.is_(None), LogRow.fresh_at < moment))
        .values(fresh_at=moment)
        .execution_options(synchronize_session=False)
    )


# --- content this node may see but was not sent (DESIGN §4) -------------------------------


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
