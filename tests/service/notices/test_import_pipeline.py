"""Bulk import's pipeline: validation against this node in workers, signing ahead in worker
processes, and resealing when the log moved on meanwhile."""

import json
from collections.abc import Awaitable, Callable
from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core.entry import SealedEntry, verify_entry
from federation.storage.tables import EntryRow
from keys.ed25519 import key_id
from service.derivation import rebuild_all
from service.notices import importing, publishing
from service.notices.import_workers import Setup, Workers
from service.storage.models import NoticeRow, NoticeVersionRow
from tests.nodes import FakeClock, LiveNode
from tests.service.notice_data import notice
from tests.service.notices.test_log_and_signatures import derived_state


def _setup(live: LiveNode) -> Setup:
    return Setup(
        context=publishing.notice_context(live.node),
        federation=live.node.identity.federation,
        signing_key=live.node.signing.raw_private(),
        dialect=live.db.dialect,  # SQLite: workers convert the derived rows for the driver
    )


def _records(count: int, offset: int = 0) -> list[importing.Record]:
    text = "\n".join(json.dumps(notice(reference=f"IMP-{n + offset}")) for n in range(count))
    records, errors = importing.records(text, fmt="jsonl")
    assert errors == []
    return records


async def _count(live: LiveNode, column: object) -> int:
    async with live.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(column)) or 0)  # type: ignore[arg-type]


async def _verify_log(live: LiveNode) -> list[EntryRow]:
    """Every entry of the node's own log verifies under its key, at its seq, with content."""
    ident = live.node.identity
    async with live.db.read() as session:
        rows = list(
            await session.scalars(
                select(EntryRow).where(EntryRow.origin == ident.node_id).order_by(EntryRow.seq)
            )
        )
    assert [r.seq for r in rows] == list(range(len(rows)))
    signing = {live.node.signing.key_id: live.node.signing.public}
    root = {key_id(ident.root_key): ident.root_key}
    for row in rows[1:]:  # entry 0 is the root-signed key.added
        verify_entry(
            row.envelope,
            federation=ident.federation,
            origin=ident.node_id,
            seq=row.seq,
            signing_keys=signing,
            root_key=root,
            salt=row.content_salt,
            body=row.content_body,
        )
    return rows


async def _no_audit(_s: AsyncSession, _sealed: list[SealedEntry], _now: datetime) -> None:
    return None


@pytest.mark.parametrize("processes", [0, 2])
async def test_import_signs_in_workers_and_every_entry_verifies(
    make_node: Callable[..., Awaitable[LiveNode]],
    database_url: str | None,
    clock: FakeClock,
    processes: int,
) -> None:
    live = await make_node("de-bafa", database_url)
    workers = Workers(_setup(live), processes)
    try:
        prepared, errors = workers.prepare(_records(45))
        assert errors == []
        done = await importing.publish_all(
            live.db, live.node, workers, prepared, batch=10, clock=clock, after_batch=_no_audit
        )
    finally:
        workers.close()
    assert done == importing.Outcome(imported=45, skipped=0)
    rows = await _verify_log(live)
    assert len(rows) == 1 + 45
    assert await _count(live, NoticeRow) == 45
    assert await _count(live, NoticeVersionRow) == 45
    imported = await derived_state(live)
    assert {r["reference"] for r in imported["notices"]} == {f"IMP-{n}" for n in range(45)}
    assert all(r["control_terms"] and r["party_terms"] for r in imported["notices"])
    # the rows the workers built are exactly those that applying the entries builds
    async with live.db.write() as session:
        await rebuild_all(session)
    assert await derived_state(live) == imported


async def test_a_concurrent_append_makes_the_next_batch_be_sealed_again(
    make_node: Callable[..., Awaitable[LiveNode]], clock: FakeClock
) -> None:
    live = await make_node("de-bafa")
    workers = Workers(_setup(live), 0)
    context = publishing.notice_context(live.node)
    batches: list[int] = []

    async def after_batch(session: AsyncSession, sealed: list[SealedEntry], now: datetime) -> None:
        batches.append(sealed[0].seq)
        if len(batches) == 1:  # another writer appends inside this batch's transaction
            other = publishing.validate(notice(reference="OTHER"), live.node)
            await publishing.publish_many(session, live.node, [other], now=now)

    prepared, errors = workers.prepare(_records(30))
    assert errors == [] and context.origin == live.node.identity.node_id
    done = await importing.publish_all(
        live.db, live.node, workers, prepared, batch=10, clock=clock, after_batch=after_batch
    )
    assert done == importing.Outcome(imported=30, skipped=0)
    # batch 1 was predicted to start at 11, but the interloper took seq 11
    assert batches == [1, 12, 22]
    rows = await _verify_log(live)
    assert len(rows) == 1 + 30 + 1
    assert await _count(live, NoticeRow) == 31


async def test_validation_names_lines_and_checks_this_nodes_regimes(
    make_node: Callable[..., Awaitable[LiveNode]],
) -> None:
    live = await make_node("de-bafa")
    lines = [
        json.dumps(notice(reference="GOOD-1")),
        "{not json",
        json.dumps(notice(reference="BAD-REGIME", regimes=["NSG"])),
        json.dumps(notice(reference="BAD-COUNTRY", destination="XX")),
    ]
    records, errors = importing.records("\n".join(lines), fmt="jsonl")
    workers = Workers(_setup(live), 0)
    prepared, errors = workers.prepare(records)
    assert len(prepared) == 1
    assert [e.line for e in errors] == [2, 3, 4]
    assert "not valid JSON" in errors[0].message
    assert "regimes" in errors[1].message and "NSG" in errors[1].message
    assert "destination" in errors[2].message
    assert await _count(live, EntryRow) == 1  # nothing written: only the key.added entry


async def test_a_reference_published_while_importing_is_skipped(
    make_node: Callable[..., Awaitable[LiveNode]], database_url: str | None, clock: FakeClock
) -> None:
    # The import left out what the node held when it started; two of its references are
    # published by someone else meanwhile: one before its first batch is sealed (that batch
    # is sealed at the right seq, and the check under the lock finds it), one while a batch
    # is written. Each batch is sealed again under the lock, without the reference taken.
    live = await make_node("de-bafa", database_url)
    workers = Workers(_setup(live), 0)

    async def interloper(session: AsyncSession, reference: str) -> None:
        notice_input = publishing.validate(notice(reference=reference), live.node)
        await publishing.publish_many(session, live.node, [notice_input], now=clock())

    async def after_batch(session: AsyncSession, sealed: list[SealedEntry], now: datetime) -> None:
        if sealed[0].seq == 2:
            await interloper(session, "IMP-15")

    prepared, errors = workers.prepare(_records(30))
    assert errors == []
    prepared, held = await importing.not_held(live.db, live.node, prepared)
    assert held == 0
    async with live.db.write() as session:
        await interloper(session, "IMP-3")
    done = await importing.publish_all(
        live.db, live.node, workers, prepared, batch=10, clock=clock, after_batch=after_batch
    )
    assert done == importing.Outcome(imported=28, skipped=2)
    rows = await _verify_log(live)
    assert len(rows) == 1 + 30
    imported = await derived_state(live)
    references = sorted(r["reference"] for r in imported["notices"])
    assert references == sorted(f"IMP-{n}" for n in range(30))  # each exactly once


async def test_held_references_are_left_out_and_repeated_ones_are_errors(
    make_node: Callable[..., Awaitable[LiveNode]],
) -> None:
    live = await make_node("de-bafa")
    response = await live.client.post(
        "/api/v1/notices", json=notice(reference="IMP-1"), headers=live.auth("officer")
    )
    assert response.status_code == 201, response.text
    lines = [json.dumps(notice(reference=r)) for r in ("IMP-0", "IMP-1", "IMP-2", "IMP-0")]
    records, _ = importing.records("\n".join(lines), fmt="jsonl")
    prepared, errors = Workers(_setup(live), 0).prepare(records)
    assert errors == []

    assert [str(e) for e in importing.repeated(prepared)] == [
        "line 4: reference: 'IMP-0' is already on line 1"
    ]
    fresh, held = await importing.not_held(live.db, live.node, prepared)
    assert [p.reference for p in fresh] == ["IMP-0", "IMP-2", "IMP-0"] and held == 1
