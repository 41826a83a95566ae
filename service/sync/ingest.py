"""Storing what a sync verified: the one way a verified page of entries (another origin's,
or this node's own being recovered) or content a peer filled in becomes stored entries and
derived state, in one transaction (`service.derivation`).

The notice rows of a page are prepared in worker processes (`prepare`, `workers.pool`) while
the previous page is stored; the workers load `service.notices.prepared` and what it needs,
nothing else of the service."""

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from federation.core.follow import Accepted, WireEntry
from federation.network.pull import VerifiedPage
from federation.storage import content, replica
from federation.storage.tables import EntryRow
from service.derivation import derive, rebuild_all
from service.notices.derived import NoticeEntry
from service.notices.prepared import NOTICE_TYPES, Pending, PreparedNotices, prepare_notices
from workers import pool

MIN_PARALLEL_ENTRIES = 200  # fewer notice entries than this are prepared where they are applied


async def prepare(page: VerifiedPage, *, driver: bool) -> list[PreparedNotices]:
    """The notice rows of `page`, made on the worker processes (`driver`: converted for the
    SQLite driver). Empty when the page holds few notice entries or a worker failed: the
    rows are then made where they are applied."""
    pending: list[Pending] = [
        (a.wire.seq, a.type, a.audience, a.wire.body)
        for a in page.entries
        if a.type in NOTICE_TYPES and a.wire.body is not None and a.flag is None
    ]
    workers = pool.shared()
    if workers.workers < 2 or len(pending) < MIN_PARALLEL_ENTRIES:
        return []
    step = -(-len(pending) // workers.workers)
    jobs = [(page.origin, driver, pending[lo : lo + step]) for lo in range(0, len(pending), step)]
    try:
        return await workers.run(prepare_notices, jobs)
    except pool.WorkerFailed:
        return []


async def prepared(
    pages: AsyncIterator[VerifiedPage], *, driver: bool
) -> AsyncGenerator[tuple[VerifiedPage, list[PreparedNotices]], None]:
    """Each verified page with its notice rows prepared on the worker processes (`prepare`):
    a page's rows are prepared while the page before it is stored, so a page is handed on
    one page late (the last one as soon as it is ready), and a page that fails after it
    still hands this one on first."""
    ahead: tuple[VerifiedPage, asyncio.Future[list[PreparedNotices]]] | None = None
    failure: Exception | None = None
    try:
        try:
            async for page in pages:
                preparing = asyncio.ensure_future(prepare(page, driver=driver))
                if ahead is not None:
                    before, rows = ahead[0], await ahead[1]
                    ahead = None
                    yield before, rows
                ahead = (page, preparing)
        except Exception as exc:  # raised once the page verified before it is handed on
            failure = exc
        if ahead is not None:
            before, rows = ahead[0], await ahead[1]
            ahead = None
            yield before, rows
        if failure is not None:
            raise failure
    finally:
        if ahead is not None:
            ahead[1].cancel()


async def store_page(
    session: AsyncSession,
    page: VerifiedPage,
    *,
    now: datetime,
    recovering: bool = False,
    prepared: Sequence[PreparedNotices] = (),
) -> int:
    """Store a verified page that continues this node's copy of its origin, with every
    derived table, in `session`'s transaction; the copy's new size. A key revocation marks
    the entries it invalidates. Raises what `replica.store_accepted` raises (the copy moved,
    the origin is frozen)."""
    size = await replica.store_accepted(
        session, page.origin, page.entries, now=now, recovering=recovering
    )
    revoked = any(a.type == "key.revoked" for a in page.entries)
    if revoked:
        await replica.mark_invalidated(session, page.origin, page.state)
    await _derive(session, page.origin, page.entries, prepared, revoked=revoked)
    return size


async def store_content(session: AsyncSession, origin: str, wires: Sequence[WireEntry]) -> int:
    """Keep content a peer supplied for entries of `origin` stored without it (each wire
    matched the stored envelope's `content_hash`: `PeerReader.content`), and derive from it;
    how many entries were filled."""
    filled: list[Accepted] = []
    for wire in wires:
        row = await session.get(EntryRow, (origin, wire.seq))
        if row is None or row.content_body is not None:
            continue
        await content.fill_content(session, row, wire.salt or b"", wire.body or b"")
        filled.append(
            Accepted(
                wire=wire,
                type=row.type,
                issued_at=row.issued_at,
                audience=tuple(row.audience),
                key_id=row.key_id,
                flag=row.flag_reason if row.flagged else None,
                withheld=False,
            )
        )
    if filled:
        await _derive(session, origin, filled, (), revoked=False)
    return len(filled)


async def _derive(
    session: AsyncSession,
    origin: str,
    accepted: Sequence[Accepted],
    prepared: Sequence[PreparedNotices],
    *,
    revoked: bool,
) -> None:
    if revoked:
        await rebuild_all(session)  # a revocation may have invalidated earlier entries
        return
    await derive(
        session,
        [
            NoticeEntry(
                origin, a.wire.seq, a.type, list(a.audience), a.wire.body, issued_at=a.issued_at
            )
            for a in accepted
            if a.flag is None
        ],
        prepared=prepared,
    )
