"""The one way entries become derived state: notices and their versions, consultations and
approvals (`derive`). Publishing, bulk import, sync, recovery, content fill-in, filing a
consultation and a full rebuild (`rebuild_all`) all go through it; the screening index
follows the notice tables it writes (`service.screening.live`).

An entry that conflicts with what its origin already published is flagged on the entry and
otherwise ignored (`service.notices.derived`, `service.consultations.derived`).
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core.entry import SealedEntry
from federation.storage.tables import EntryRow
from service.consultations.derived import (
    EXCHANGE_TYPES,
    apply_exchange,
    clear_exchange,
    relink,
    screening_links,
)
from service.notices.derived import (
    NoticeEntry,
    apply_entries,
    clear_notices,
    insert_fresh,
    stored_entries,
)
from service.notices.prepared import NOTICE_TYPES, DriverFresh, PreparedNotices
from service.notices.rows import FreshRows
from service.storage.models import NoticeRow

Applied = tuple[NoticeEntry, NoticeRow | None, str | None]


@dataclass(frozen=True)
class Derived:
    """What `derive` made of a batch: for each notice entry, the notice it changed (when
    asked for rows) or why it was flagged; for each consultation or approval entry, None or
    why it was flagged."""

    notices: list[Applied]
    exchange: list[str | None]


async def derive(
    session: AsyncSession,
    entries: Sequence[NoticeEntry | SealedEntry | EntryRow],
    *,
    rows: bool = False,
    prepared: Sequence[PreparedNotices] = (),
    fresh: Sequence[FreshRows | DriverFresh] | None = None,
) -> Derived:
    """Apply stored entries, in order, to every derived table in `session`'s transaction.
    `rows`: build the notices changed as rows (publishing answers with them). `prepared`:
    notice rows a sync made in its worker processes for these entries. `fresh`: the rows of
    brand-new notices built beside the sealing (bulk import), inserted as they are; only for
    entries that publish new notices of this node, and then nothing else is applied."""
    batch = [e if isinstance(e, NoticeEntry) else NoticeEntry.of(e) for e in entries]
    if fresh is not None:
        await insert_fresh(session, fresh)
        return Derived([], [])
    notices = await apply_entries(session, batch, rows=rows, prepared=prepared)
    return Derived(notices, await apply_exchange(session, batch))


async def rebuild_all(session: AsyncSession) -> int:
    """Rebuild every derived table from the stored entries, through `derive`; return how many
    notices exist. Notices first, then consultation requests, then answers and approvals (an
    answer in the denier's log may sort before the request it answers)."""
    links = await screening_links(session)
    await clear_notices(session)
    await clear_exchange(session)
    count = 0
    for types in (NOTICE_TYPES, EXCHANGE_TYPES[:1], EXCHANGE_TYPES[1:]):
        async for stored in stored_entries(session, types):
            done = await derive(session, stored, rows=types == NOTICE_TYPES)
            count += sum(
                1 for e, row, _ in done.notices if row is not None and e.type == "notice.published"
            )
    await relink(session, links)
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
