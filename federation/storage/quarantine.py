"""What sync keeps when a peer's answer fails: the quarantine (bounded per peer: the first
bytes of a bad answer and why), and the evidence of equivocation that freezes an origin."""

from datetime import datetime, timedelta

from sqlalchemy import (
    delete,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from federation.storage.heads import peer_sync
from federation.storage.log import lock_log
from federation.storage.tables import (
    EquivocationRow,
    PeerSyncRow,
    QuarantineRow,
)

QUARANTINE_ROWS = 20
QUARANTINE_BYTES = 4 * 1024 * 1024
QUARANTINE_ITEM_BYTES = 256 * 1024
QUARANTINE_REASON_CHARS = 2000
QUARANTINE_INTERVAL = timedelta(seconds=60)


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
