"""Derived notice rows of a sync prepared in worker processes: a page with enough notice
entries has its publications' rows built there (`service.sync.ingest.prepare`); what ends up in the
notice tables is exactly what applying the entries one by one gives (a rebuild), whatever
the page mixes: new notices, amendments and revocations in the same page, amendments of
notices stored by an earlier page, a publication reusing its own origin's notice id (flagged),
and notice ids that another origin (aq-rogue) used too, stored before or after the page's: a
notice is (origin, notice_id), so both notices stand and neither changes the other."""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core.entry import Draft, SealedEntry
from federation.storage.log import append_own, lock_log
from federation.storage.tables import EntryRow
from service.derivation import rebuild_all
from service.notices import importing
from service.notices.body import notice_body
from service.notices.derived import NoticeEntry, NoticeReplay
from service.notices.import_workers import Workers
from service.notices.prepared import NOTICE_TYPES
from service.notices.schema import NoticeInput
from service.storage.models import NoticeRow
from tests.nodes import FakeClock, LiveNode
from tests.service.notice_data import insert_foreign_entry, insert_foreign_notice, notice
from tests.service.notices.test_import_pipeline import _records, _setup
from tests.service.notices.test_log_and_signatures import amend, derived_state, revoke
from tests.sync_peers import sync_once
from workers import pool

FIRST, SECOND = 230, 210  # each sync's page holds more than ingest.MIN_PARALLEL_ENTRIES
ROGUE = "aq-rogue"  # an origin that reuses de-bafa's notice ids (stored as sync would)


async def _no_audit(_s: AsyncSession, _sealed: list[SealedEntry], _now: datetime) -> None:
    return None


async def _import(live: LiveNode, count: int, clock: FakeClock, offset: int) -> list[str]:
    await live.node.refresh_members(live.db.read, max_age=0)  # the peer is in the audience
    workers = Workers(_setup(live), 0)
    try:
        prepared, errors = workers.prepare(_records(count, offset))
        assert errors == []
        await importing.publish_all(
            live.db, live.node, workers, prepared, batch=100, clock=clock, after_batch=_no_audit
        )
    finally:
        workers.close()
    async with live.db.read() as session:
        return list(
            await session.scalars(select(NoticeRow.notice_id).order_by(NoticeRow.first_seq))
        )


async def _republish(live: LiveNode, notice_id: str, clock: FakeClock) -> None:
    """Append a second `notice.published` of an existing notice id (a conflicting entry)."""
    async with live.db.write() as session:
        found = (
            await session.execute(
                select(EntryRow.content_body, EntryRow.audience)
                .join(NoticeRow, NoticeRow.first_seq == EntryRow.seq)
                .where(NoticeRow.notice_id == notice_id, EntryRow.origin == NoticeRow.origin)
            )
        ).one()
        body, audience = found
        assert body is not None
        me = live.node.identity
        signing = await live.node.current_signer(session)
        await append_own(
            session,
            federation=me.federation,
            origin=me.node_id,
            drafts=[Draft("notice.published", body, tuple(audience), clock())],
            signer=lambda _type: signing,
            checkpoint_key=signing,
            now=clock(),
            locked=await lock_log(session, me.node_id),
        )


async def _flagged(live: LiveNode) -> list[str | None]:
    async with live.db.read() as session:
        found = await session.scalars(
            select(EntryRow.flag_reason).where(EntryRow.flagged).order_by(EntryRow.origin)
        )
        return list(found)


def _revocation(notice_id: str) -> dict[str, str]:
    return {"notice_id": notice_id, "reason": "not ours to revoke", "revoked_on": "2026-11-28"}


async def test_rows_prepared_in_the_workers_equal_applying_the_entries(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    assert pool.shared().workers >= 2  # else the rows are made where they are applied
    a, b = pair
    first_ids = await _import(b, FIRST, clock, 0)
    await amend(b, first_ids[0], reference="AMENDED-0")  # same page as its publication
    await revoke(b, first_ids[1])
    first = await sync_once(a, b, clock)
    assert [o.error for o in first.origins] == [None]
    # aq-rogue reuses an id a already holds of de-bafa's, and revokes another it does not have
    reused_after = await insert_foreign_notice(a, clock, origin=ROGUE, notice_id=first_ids[5])
    wrong_origin = await insert_foreign_entry(
        a, clock, "notice.revoked", _revocation(first_ids[6]), ROGUE, flagged=True
    )
    assert wrong_origin == f"notice.revoked of unknown notice {ROGUE}/{first_ids[6]}"

    ids = await _import(b, SECOND, clock, FIRST)
    await amend(b, ids[2], reference="AMENDED-2")  # a notice stored by the first sync
    await _republish(b, ids[3], clock)  # reuses a notice id: flagged at A, not applied
    # aq-rogue's notices reach a before de-bafa's of the same ids; aq-rogue amends one of them
    fresh = ids[FIRST:]  # (ids lists every notice of b, oldest first)
    reused_before = [await insert_foreign_notice(a, clock, origin=ROGUE, notice_id=fresh[4])]
    amended = notice_body(
        NoticeInput.model_validate(notice(reference="SBDU-AMENDED")),
        notice_id=fresh[4],
        version=2,
        supersedes=1,
    )
    await insert_foreign_entry(a, clock, "notice.amended", amended, ROGUE)
    reused_before.append(await insert_foreign_notice(a, clock, origin=ROGUE, notice_id=fresh[5]))
    second = await sync_once(a, b, clock)
    assert [o.error for o in second.origins] == [None]

    synced = await derived_state(a)
    assert len(synced["notices"]) == FIRST + SECOND + 3
    assert len(synced["notice_versions"]) == FIRST + SECOND + 3 + 4
    assert {r["reference"] for r in synced["notices"]} >= {"AMENDED-0", "AMENDED-2"}
    flags = [wrong_origin, f"notice_id {ids[3]} is already used by de-bafa"]
    assert await _flagged(a) == flags
    async with a.db.read() as session:
        revoked = await session.scalar(
            select(func.count()).select_from(NoticeRow).where(NoticeRow.revoked_seq.is_not(None))
        )
        # each reused id names two notices, each its origin's own
        for notice_id in (reused_after, *reused_before):
            mine = await session.get(NoticeRow, ("de-bafa", notice_id))
            theirs = await session.get(NoticeRow, (ROGUE, notice_id))
            assert mine is not None and theirs is not None
            assert (mine.version, mine.revoked_seq) == (1, None)
            assert mine.reference.startswith("IMP-") and theirs.reference.startswith("SBDU-")
            assert theirs.version == (2 if notice_id == fresh[4] else 1)
    assert revoked == 1
    async with a.db.write() as session:  # one batch of the rebuild holds both origins' entries
        await rebuild_all(session)
    assert await derived_state(a) == synced
    assert await _flagged(a) == flags
    assert await _replayed(a) == await _standing(a)  # reproduction folds by the same rules


async def _replayed(live: LiveNode) -> dict[tuple[str, str], dict[str, object]]:
    """Every origin's notice entries, flagged ones included, folded by `NoticeReplay`."""
    async with live.db.read() as session:
        entries = list(
            await session.scalars(
                select(EntryRow)
                .where(EntryRow.type.in_(NOTICE_TYPES))
                .order_by(EntryRow.origin, EntryRow.seq)
            )
        )
    replays: dict[str, NoticeReplay] = {}
    for entry in entries:
        replays.setdefault(entry.origin, NoticeReplay()).add(NoticeEntry.of(entry))
    return {
        (origin, str(body["notice_id"])): body
        for origin, replay in replays.items()
        for body, _valid_until in replay.active()
    }


async def _standing(live: LiveNode) -> dict[tuple[str, str], dict[str, object]]:
    async with live.db.read() as session:
        rows = await session.scalars(
            select(NoticeRow).where(
                NoticeRow.revoked_seq.is_(None), NoticeRow.invalid_reason.is_(None)
            )
        )
        return {(row.origin, row.notice_id): row.body for row in rows}
