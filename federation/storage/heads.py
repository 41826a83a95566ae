"""What this node records of its peers: the heads each listed, each peer's sync status
(successes, failures, back-off), and when each origin's log was last seen current."""

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import (
    bindparam,
    delete,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from federation.storage.tables import (
    LogRow,
    PeerHeadRow,
    PeerSyncRow,
    UtcDateTime,
)


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
