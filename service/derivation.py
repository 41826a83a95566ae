"""Every derived table from entries, in one place: notices, consultations and approvals."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.storage.tables import EntryRow
from service.consultations.derived import EXCHANGE_TYPES, apply_exchange, rebuild_exchange
from service.notices.derived import NoticeEntry, apply_entries, rebuild
from service.notices.prepared import NOTICE_TYPES, PreparedNotices


async def apply_all(
    session: AsyncSession, entries: Sequence[NoticeEntry], prepared: Sequence[PreparedNotices] = ()
) -> None:
    """Apply stored entries of every type to the derived tables (bulk: no rows returned),
    with the notice rows a sync's verify workers prepared."""
    await apply_entries(session, entries, rows=False, prepared=prepared)
    await apply_exchange(session, entries)


async def rebuild_all(session: AsyncSession) -> int:
    """Rebuild every derived table from the entries; return how many notices exist."""
    count = await rebuild(session)
    await rebuild_exchange(session)
    return count


async def rederive_flagged(session: AsyncSession) -> bool:
    """Rebuild every derived table if any notice, consultation or approval entry is flagged;
    whether it did. Run once when the schema moves to `(origin, notice_id)` (revision 0008):
    before it, a notice_id or consultation_id reused by another origin flagged the entry seen
    second and hid it, and derived state keyed by the pair shows both (decision 0017)."""
    flagged = await session.scalar(
        select(EntryRow.seq)
        .where(EntryRow.flagged.is_(True), EntryRow.type.in_(NOTICE_TYPES + EXCHANGE_TYPES))
        .limit(1)
    )
    if flagged is None:
        return False
    await rebuild_all(session)
    return True
