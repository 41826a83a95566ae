"""Every derived table from entries, in one place: notices, consultations and approvals."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from service.consultations.derived import apply_exchange, rebuild_exchange
from service.notices.derived import NoticeEntry, Prepared, apply_entries, rebuild


async def apply_all(
    session: AsyncSession, entries: Sequence[NoticeEntry], prepared: Sequence[Prepared] = ()
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
