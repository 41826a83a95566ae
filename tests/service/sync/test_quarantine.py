"""The quarantine is bounded (decision 0018): per peer the newest items, at most
QUARANTINE_ROWS and QUARANTINE_BYTES, each item cut to its bound; one item per peer and
origin a minute, the bad answers over that only counted on the peer's status and shown in
its alert."""

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from federation.storage import quarantine
from federation.storage.quarantine import (
    QUARANTINE_BYTES,
    QUARANTINE_INTERVAL,
    QUARANTINE_ITEM_BYTES,
    QUARANTINE_REASON_CHARS,
    QUARANTINE_ROWS,
)
from federation.storage.tables import PeerSyncRow, QuarantineRow
from tests.forgery import tamper_page
from tests.nodes import FakeClock, LiveNode
from tests.service.notice_data import notice
from tests.sync_peers import sync_once


async def _kept(live: LiveNode, peer: str) -> list[QuarantineRow]:
    async with live.db.read() as session:
        return list(
            await session.scalars(
                select(QuarantineRow).where(QuarantineRow.peer == peer).order_by(QuarantineRow.id)
            )
        )


async def _quarantine(
    live: LiveNode, clock: FakeClock, *, peer: str, origin: str, data: bytes, reason: str = "bad"
) -> bool:
    async with live.db.write() as session:
        return await quarantine.quarantine(
            session, peer=peer, origin=origin, start=0, reason=reason, data=data, now=clock()
        )


async def test_a_peer_keeps_its_newest_items_within_rows_and_bytes(
    live: LiveNode, clock: FakeClock
) -> None:
    """Small items: the newest QUARANTINE_ROWS stay. Large items: the newest that fit in
    QUARANTINE_BYTES, each cut to QUARANTINE_ITEM_BYTES and its reason to
    QUARANTINE_REASON_CHARS. Another peer's quarantine is its own."""
    assert await _quarantine(live, clock, peer="nl-cdiu", origin="nl-cdiu", data=b"other")
    for n in range(QUARANTINE_ROWS + 5):
        clock.advance(seconds=61)
        assert await _quarantine(live, clock, peer="fr-sbdu", origin="fr-sbdu", data=b"%d" % n)
    kept = await _kept(live, "fr-sbdu")
    assert [k.data for k in kept] == [b"%d" % n for n in range(5, QUARANTINE_ROWS + 5)]

    for n in range(QUARANTINE_ROWS):
        clock.advance(seconds=61)
        big = bytes([n]) * (QUARANTINE_ITEM_BYTES * 2)
        assert await _quarantine(
            live, clock, peer="fr-sbdu", origin="fr-sbdu", data=big, reason="x" * 10_000
        )
        kept = await _kept(live, "fr-sbdu")
        assert len(kept) <= QUARANTINE_ROWS
        assert sum(len(k.data) + len(k.reason) for k in kept) <= QUARANTINE_BYTES
    fits = QUARANTINE_BYTES // (QUARANTINE_ITEM_BYTES + QUARANTINE_REASON_CHARS)
    assert [k.data[0] for k in kept] == list(range(QUARANTINE_ROWS - fits, QUARANTINE_ROWS))
    assert {len(k.data) for k in kept} == {QUARANTINE_ITEM_BYTES}
    assert {len(k.reason) for k in kept} == {QUARANTINE_REASON_CHARS}
    assert [k.data for k in await _kept(live, "nl-cdiu")] == [b"other"]


async def test_one_item_per_peer_and_origin_a_minute_the_rest_is_counted(
    live: LiveNode, clock: FakeClock
) -> None:
    assert await _quarantine(live, clock, peer="fr-sbdu", origin="fr-sbdu", data=b"first")
    for _ in range(3):
        clock.advance(seconds=10)
        assert not await _quarantine(live, clock, peer="fr-sbdu", origin="fr-sbdu", data=b"again")
    assert await _quarantine(live, clock, peer="fr-sbdu", origin="nl-cdiu", data=b"relayed")
    clock.advance(seconds=QUARANTINE_INTERVAL.total_seconds() - 30 + 1)
    assert await _quarantine(live, clock, peer="fr-sbdu", origin="fr-sbdu", data=b"later")
    assert [k.data for k in await _kept(live, "fr-sbdu")] == [b"first", b"relayed", b"later"]
    async with live.db.read() as session:
        status = await session.get(PeerSyncRow, "fr-sbdu")
    assert status is not None and status.quarantine_dropped == 3


async def test_a_peer_serving_bad_pages_again_and_again_fills_one_item_a_minute(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    """Bad pages every second (as after a push hint each second): one item kept a minute,
    the others counted and shown in the peer's alert; the newest is kept once a minute
    has passed."""
    a, b = pair
    for n in range(3):
        r = await b.client.post(
            "/api/v1/notices", json=notice(reference=f"Q-{n}"), headers=b.auth("officer")
        )
        assert r.status_code == 201, r.text

    def corrupt(path: str, doc: Any) -> Any:
        if path.endswith("/entries"):
            tamper_page(doc, 1, "signature")
        return doc

    for _ in range(10):
        report = await sync_once(a, b, clock, rewrite=corrupt)
        assert report.origins[0].error is not None
        clock.advance(seconds=1)
    [kept] = await _kept(a, "de-bafa")
    r = await a.client.get("/api/v1/peers", headers=a.auth("admin"))
    [peer] = r.json()["items"]
    [alert] = [x for x in peer["status"]["alerts"] if "quarantined" in x]
    assert alert.startswith("1 answer(s) failed verification and were quarantined")
    assert "; 9 more were only counted" in alert, alert

    clock.advance(seconds=60)
    await sync_once(a, b, clock, rewrite=corrupt)
    first, newest = await _kept(a, "de-bafa")
    assert first.id == kept.id and newest.at > first.at
    async with a.db.read() as session:
        count = await session.scalar(select(func.count()).select_from(QuarantineRow))
    assert count == 2
    assert QUARANTINE_INTERVAL == timedelta(seconds=60)
