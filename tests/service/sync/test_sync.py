"""Sync between two nodes in one process: node A pulls node B's log through B's real app
(httpx ASGITransport), verifies every entry and stores it with its derived notices; a peer
that serves forged or broken pages gets nothing of them stored."""

import asyncio
import base64
import shutil
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from federation.core.checkpoint import Checkpoint, origin_line, sign_checkpoint
from federation.core.entry import Draft
from federation.core.follow import PageError, WireEntry, parse_page
from federation.core.witness import witness_body, witnessed
from federation.network.client import PeerAuth
from federation.storage.heads import mark_fresh
from federation.storage.log import append_own
from federation.storage.tables import EntryRow, EquivocationRow, LogRow
from service.storage.models import NoticeRow
from service.sync.own_log import CHECKING, check_own_log
from service.sync.rounds import due_peers, recover
from service.sync.witnessing import witness
from tests.forgery import HOWS, tamper_page
from tests.nodes import FakeClock, LiveNode
from tests.service.notice_data import notice
from tests.sync_peers import befriend, peer_client, reopen, sync_once, trio


async def _publish(live: LiveNode, count: int, prefix: str = "B") -> list[str]:
    ids = []
    for n in range(count):
        r = await live.client.post(
            "/api/v1/notices", json=notice(reference=f"{prefix}-{n}"), headers=live.auth("officer")
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["notice_id"])
    return ids


async def _rows(live: LiveNode, origin: str) -> list[EntryRow]:
    async with live.db.read() as session:
        return list(
            await session.scalars(
                select(EntryRow).where(EntryRow.origin == origin).order_by(EntryRow.seq)
            )
        )


async def test_a_pulls_b_verifies_everything_and_sees_b_notices(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    a, b = pair
    ids = await _publish(b, 5)
    report = await sync_once(a, b, clock)
    assert report.error is None
    [origin] = report.origins
    assert (origin.origin, origin.before, origin.after, origin.error) == ("de-bafa", 0, 6, None)
    assert origin.checkpoint
    # the copy is byte for byte B's log, with B's checkpoint
    theirs, ours = await _rows(b, "de-bafa"), await _rows(a, "de-bafa")
    assert [(r.seq, r.envelope, r.leaf_hash, r.content_body) for r in ours] == [
        (r.seq, r.envelope, r.leaf_hash, r.content_body) for r in theirs
    ]
    async with a.db.read() as session, b.db.read() as other:
        mine = await session.get(LogRow, "de-bafa")
        source = await other.get(LogRow, "de-bafa")
        assert mine is not None and source is not None
        assert (mine.size, mine.root, mine.checkpoint) == (
            source.size,
            source.root,
            source.checkpoint,
        )
        notices = set(
            await session.scalars(select(NoticeRow.notice_id).where(NoticeRow.origin == "de-bafa"))
        )
    assert notices == set(ids)
    r = await a.client.get(f"/api/v1/notices/de-bafa/{ids[0]}", headers=a.auth("officer"))
    assert r.status_code == 200 and r.json()["origin"] == "de-bafa"


async def test_sync_is_incremental_and_idempotent(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    a, b = pair
    await _publish(b, 3)
    assert (await sync_once(a, b, clock)).fetched == 4
    assert (await sync_once(a, b, clock)).fetched == 0
    await _publish(b, 2, prefix="MORE")
    again = await sync_once(a, b, clock, page_size=1)
    assert again.fetched == 2 and again.origins[0].error is None
    assert len(await _rows(a, "de-bafa")) == 6


@pytest.mark.parametrize("how", HOWS)
async def test_a_forged_page_stores_nothing_of_it(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock, how: str
) -> None:
    a, b = pair
    await _publish(b, 4)

    def corrupt(path: str, doc: Any) -> Any:
        if path.endswith("/entries"):
            tamper_page(doc, 2, how, b.node.signing)
        return doc

    report = await sync_once(a, b, clock, rewrite=corrupt)
    [origin] = report.origins
    assert origin.error is not None and origin.after == 0, origin
    if how in ("origin", "federation"):  # validly signed: refused for what it claims
        assert how in origin.error, origin.error
    assert await _rows(a, "de-bafa") == []
    async with a.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(NoticeRow)) == 0
    # the honest peer afterwards: everything arrives
    assert (await sync_once(a, b, clock)).fetched == 5


async def test_a_checkpoint_that_does_not_match_is_reported_and_not_kept(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    a, b = pair
    await _publish(b, 2)
    async with b.db.read() as session:
        other = await session.get(LogRow, "de-bafa")
        assert other is not None and other.checkpoint is not None
        wrong = other.checkpoint

    await _publish(b, 1, prefix="LATER")

    def stale_checkpoint(path: str, doc: Any) -> Any:
        if path.endswith("/logs"):
            for head in doc:
                if head["origin"] == "de-bafa":
                    head["checkpoint"] = wrong.replace("\n3\n", "\n4\n")  # size 4, signed for 3
        return doc

    report = await sync_once(a, b, clock, rewrite=stale_checkpoint)
    [origin] = report.origins
    assert origin.after == 4 and origin.error is not None and not origin.checkpoint
    async with a.db.read() as session:
        mine = await session.get(LogRow, "de-bafa")
        assert mine is not None and mine.checkpoint is None


def test_parse_page_refuses_malformed_pages() -> None:
    good = {
        "entries": [
            {"seq": 5, "leaf_hash": base64.b64encode(b"x" * 32).decode(), "envelope": "{}"}
        ],
        "next": 6,
    }
    assert parse_page(good, start=5)[1] == 6
    assert isinstance(parse_page(good, start=5)[0][0], WireEntry)
    for bad in (
        {**good, "next": 7},
        {"entries": good["entries"]},
        {"entries": [{**good["entries"][0], "seq": 6}], "next": 6},
        {"entries": [{**good["entries"][0], "leaf_hash": "AAAA"}], "next": 6},
        {"entries": [{**good["entries"][0], "extra": 1}], "next": 6},
        {"entries": [{**good["entries"][0], "content": {"salt": "x"}}], "next": 6},
        [],
    ):
        with pytest.raises(PageError):
            parse_page(bad, start=5)


def _another_history(live: LiveNode, size: int) -> tuple[str, Callable[[str, Any], Any]]:
    """A checkpoint of `live`'s log at `size` over another tree, signed with its key, and a
    rewrite of peers' `GET /logs` answers that shows it for that log."""
    ident = live.node.identity
    other = sign_checkpoint(
        Checkpoint(origin_line(ident.federation, ident.node_id), size, b"\x07" * 32),
        live.node.signing,
    )

    def rewrite(path: str, doc: Any) -> Any:
        if path.endswith("/logs"):
            for head in doc:
                if head["origin"] == ident.node_id:
                    head["checkpoint"] = other
        return doc

    return other, rewrite


async def test_a_validly_signed_checkpoint_of_another_history_freezes_the_origin(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    a, b = pair
    await _publish(b, 2)
    assert (await sync_once(a, b, clock)).fetched == 3
    # B (or a thief of its key) signs a checkpoint of the same size over another tree
    other_history, equivocate = _another_history(b, 3)
    report = await sync_once(a, b, clock, rewrite=equivocate)
    [origin] = report.origins
    assert origin.error is not None and origin.error.startswith("equivocation")
    async with a.db.read() as session:
        log = await session.get(LogRow, "de-bafa")
        [evidence] = list(await session.scalars(select(EquivocationRow)))
    assert log is not None and log.frozen_reason is not None
    assert evidence.second == other_history and evidence.first == log.checkpoint
    assert evidence.via == "de-bafa" and evidence.kind == "checkpoints"
    # B's later entries are no longer accepted, even from an honest answer
    await _publish(b, 1, prefix="AFTER")
    later = await sync_once(a, b, clock)
    assert later.origins[0].error is not None and "frozen" in later.origins[0].error
    assert len(await _rows(a, "de-bafa")) == 3


async def test_witness_entries_carry_checkpoints_and_expose_an_equivocating_origin(
    make_node: Callable[..., Awaitable[LiveNode]], clock: FakeClock
) -> None:
    """fr witnesses de's checkpoint in its own log; when fr has been shown another history of
    de (same size, other root, signed with de's key) and witnesses that, nl reads it in fr's
    log, checks it against its own copy of de, and freezes de with the evidence."""
    de, fr, nl = await trio(make_node)
    await _publish(de, 2)
    assert (await sync_once(fr, de, clock)).fetched == 3
    entry = await witness(fr.db, fr.node, now=clock())
    assert entry is not None and entry.type == "checkpoints.witnessed"
    async with fr.db.read() as session:
        fr_copy = await session.get(LogRow, "de-bafa")
        assert fr_copy is not None and fr_copy.checkpoint is not None
    assert witnessed(entry.body or b"") == [("denex.test/de-bafa", fr_copy.checkpoint)]

    assert (await sync_once(nl, de, clock)).fetched == 3
    report = await sync_once(nl, fr, clock)  # the honest witness statement: nothing found
    assert not any(o.equivocations for o in report.origins)

    ident = de.node.identity
    fork = sign_checkpoint(
        Checkpoint(origin_line(ident.federation, ident.node_id), 3, b"\x05" * 32),
        de.node.signing,
    )
    async with fr.db.write() as session:  # fr witnesses what it was shown
        signing = fr.node.signing
        await append_own(
            session,
            federation=fr.node.identity.federation,
            origin="fr-sbdu",
            drafts=[Draft("checkpoints.witnessed", witness_body([fork]), ("*",), clock())],
            signer=lambda _t: signing,
            checkpoint_key=signing,
            now=clock(),
        )
    report = await sync_once(nl, fr, clock)
    by_origin = {o.origin: o for o in report.origins}
    assert by_origin["fr-sbdu"].equivocations, by_origin
    async with nl.db.read() as session:
        frozen = await session.get(LogRow, "de-bafa")
        [evidence] = list(await session.scalars(select(EquivocationRow)))
    assert frozen is not None and frozen.frozen_reason is not None
    assert evidence.via == "fr-sbdu" and evidence.second == fork
    assert evidence.first == fr_copy.checkpoint  # de's own checkpoint, as nl verified it


async def test_a_node_restored_from_a_backup_stops_appending_until_it_recovers(
    make_node: Callable[..., Awaitable[LiveNode]], clock: FakeClock, tmp_path: Path
) -> None:
    fr = await make_node("fr-sbdu")
    de = await make_node("de-bafa")
    await befriend(fr, de)
    await befriend(de, fr)
    await _publish(de, 2)
    backup = tmp_path / "backup.db"
    database = de.settings.data_dir / "node.db"
    with sqlite3.connect(database) as source, sqlite3.connect(backup) as copy:
        source.backup(copy)  # de's backup at size 3
    later = await _publish(de, 2, prefix="AFTER-BACKUP")
    assert (await sync_once(fr, de, clock)).fetched == 5

    # de's disk is lost; the backup comes back
    await de.db.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    shutil.copy(backup, database)
    restored = await reopen(de)
    assert len(await _rows(restored, "de-bafa")) == 3

    # at start-up, before any round, de asks its peers: fr holds more of its log
    async with peer_client(restored, fr) as client:
        assert await check_own_log(restored.db, restored.node, client, clock=clock) == ["fr-sbdu"]
    r = await restored.client.post(
        "/api/v1/notices", json=notice(reference="AT-START"), headers=restored.auth("officer")
    )
    assert r.status_code == 503 and "recover" in r.json()["detail"]
    # the sync rounds find it too
    report = await sync_once(restored, fr, clock)
    own = [o for o in report.origins if o.origin == "de-bafa"]
    assert own and own[0].error is not None and "denex recover" in own[0].error
    r = await restored.client.post(
        "/api/v1/notices", json=notice(reference="TOO-SOON"), headers=restored.auth("officer")
    )
    assert r.status_code == 503 and "recover" in r.json()["detail"]
    assert len(await _rows(restored, "de-bafa")) == 3

    async with peer_client(restored, fr) as client:
        reports, resumed = await recover(restored.db, restored.node, client, clock=clock)
    assert resumed, reports
    rows = await _rows(restored, "de-bafa")
    assert [r.seq for r in rows] == list(range(5))
    async with restored.db.read() as session:
        ids = set(await session.scalars(select(NoticeRow.notice_id)))
    assert set(later) <= ids
    r = await restored.client.post(
        "/api/v1/notices", json=notice(reference="AFTER-RECOVERY"), headers=restored.auth("officer")
    )
    assert r.status_code == 201 and r.json()["versions"][0]["seq"] == 5


async def test_entries_outside_the_audience_travel_without_content(
    make_node: Callable[..., Awaitable[LiveNode]], clock: FakeClock
) -> None:
    de, fr, nl = await trio(make_node)
    r = await de.client.post(
        "/api/v1/notices",
        json=notice(reference="FOR-FR-ONLY", audience=["fr-sbdu"]),
        headers=de.auth("officer"),
    )
    assert r.status_code == 201, r.text
    secret = r.json()["notice_id"]
    assert r.json()["audience"] == ["de-bafa", "fr-sbdu"]

    assert (await sync_once(fr, de, clock)).fetched == 2
    assert (await sync_once(nl, fr, clock)).origins[0].error is None  # relayed through fr
    fr_rows, nl_rows = await _rows(fr, "de-bafa"), await _rows(nl, "de-bafa")
    assert [r.envelope for r in nl_rows] == [r.envelope for r in fr_rows]  # same signed log
    assert fr_rows[1].content_body is not None and nl_rows[1].content_body is None
    assert nl_rows[0].content_body is not None  # key statements are public
    async with nl.db.read() as session:
        log = await session.get(LogRow, "de-bafa")
        assert log is not None and log.checkpoint is not None  # the tree verifies regardless
        assert await session.get(NoticeRow, ("de-bafa", secret)) is None
    async with fr.db.read() as session:
        assert await session.get(NoticeRow, ("de-bafa", secret)) is not None

    # a peer that hands the content to a non-member anyway: the page is refused
    async with peer_client(fr, de) as client:
        leaked = (await client.get("/federation/v1/logs/de-bafa/entries?start=0")).json()

    def leak(path: str, doc: Any) -> Any:
        return leaked if path.endswith("/entries") else doc

    other = await make_node("it-uama")
    await befriend(other, de)
    await befriend(de, other)
    clock.advance(seconds=2)  # de's server re-reads its roster's keys after a second
    report = await sync_once(other, de, clock, rewrite=leak)
    assert report.origins and report.origins[0].error is not None, report
    assert "outside its audience" in report.origins[0].error
    assert await _rows(other, "de-bafa") == []


async def test_a_hint_schedules_a_pull_and_is_rate_limited(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    a, b = pair
    assert (await sync_once(a, b, clock)).fetched == 1
    async with a.db.read() as session:
        due = [p.node_id for p in await due_peers(session, clock(), interval=3600)]
    assert due == []
    async with peer_client(b, a) as client:  # b tells a it has news
        first = await client.post("/federation/v1/hint", json={"origin": "de-bafa", "size": 9})
        second = await client.post("/federation/v1/hint", json={"origin": "de-bafa", "size": 9})
        bad = await client.post("/federation/v1/hint", json={"origin": "de-bafa", "size": -1})
    assert first.status_code == 202
    assert second.status_code == 429 and second.headers["content-type"].startswith(
        "application/problem+json"
    )
    assert bad.status_code == 422
    async with a.db.read() as session:
        due = [p.node_id for p in await due_peers(session, clock(), interval=3600)]
    assert due == ["de-bafa"]


async def test_freshness_comes_from_the_origin_or_a_peers_cosignature(
    make_node: Callable[..., Awaitable[LiveNode]], clock: FakeClock
) -> None:
    de, fr, nl = await trio(make_node)
    await _publish(de, 1)
    await sync_once(fr, de, clock)
    async with fr.db.read() as session:
        direct = await session.get(LogRow, "de-bafa")
        assert direct is not None and direct.fresh_at is not None  # fetched from de itself

    # fr serves de's checkpoint with its own cosignature
    async with peer_client(nl, fr) as client:
        served = (await client.get("/federation/v1/logs/de-bafa/checkpoint")).text
    assert served.count("\n— ") == 2 and "— denex.test/fr-sbdu " in served

    clock.advance(seconds=600)
    await sync_once(nl, fr, clock)  # learns fr's keys (and de's log, through fr)
    clock.advance(seconds=60)
    await sync_once(nl, fr, clock)
    async with nl.db.read() as session:
        relayed = await session.get(LogRow, "de-bafa")
    assert relayed is not None and relayed.fresh_at is not None
    seen = (
        relayed.fresh_at.replace(tzinfo=UTC)
        if relayed.fresh_at.tzinfo is None
        else relayed.fresh_at
    )
    assert seen == clock()  # the time fr cosigned, not the time de last published


async def test_peers_api_shows_lag_errors_freshness_and_alerts(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    a, b = pair

    async def status() -> dict[str, Any]:
        r = await a.client.get("/api/v1/peers", headers=a.auth("admin"))
        assert r.status_code == 200, r.text
        [peer] = r.json()["items"]
        return dict(peer["status"])

    before = await status()
    assert before["last_success"] is None and any("stale" in x for x in before["alerts"])
    await _publish(b, 3)

    def corrupt(path: str, doc: Any) -> Any:
        if path.endswith("/entries"):
            tamper_page(doc, 1, "signature")
        return doc

    await sync_once(a, b, clock, rewrite=corrupt)
    failed = await status()
    assert failed["lag"] == {"de-bafa": 4}
    assert "entry 1 of de-bafa" in (failed["last_error"] or "")
    assert any("quarantined" in x for x in failed["alerts"])

    await sync_once(a, b, clock)
    good = await status()
    assert good["lag"] == {} and good["last_success"] is not None
    assert good["fresh_at"] is not None and not any("stale" in x for x in good["alerts"])
    clock.advance(hours=7)  # DENEX_STALE_AFTER defaults to 6 h
    assert any("stale" in x for x in (await status())["alerts"])


async def test_a_member_fetches_content_a_relay_could_not_send(
    make_node: Callable[..., Awaitable[LiveNode]], clock: FakeClock
) -> None:
    """nl is in the audience, fr is not: nl gets de's entry from fr without content, then
    asks de for it, checks it against the signed content_hash, and has the notice."""
    de, fr, nl = await trio(make_node)
    r = await de.client.post(
        "/api/v1/notices",
        json=notice(reference="NOT-FOR-FR", audience=["nl-cdiu"]),
        headers=de.auth("officer"),
    )
    assert r.status_code == 201, r.text
    secret = r.json()["notice_id"]
    await sync_once(fr, de, clock)
    await sync_once(nl, fr, clock)
    [missing] = [row for row in await _rows(nl, "de-bafa") if row.content_body is None]
    assert missing.seq == 1
    async with nl.db.read() as session:
        assert await session.get(NoticeRow, ("de-bafa", secret)) is None

    def forged_content(path: str, doc: Any) -> Any:
        if path.endswith("/entries"):
            for item in doc["entries"]:
                if item.get("content"):
                    body = bytearray(base64.b64decode(item["content"]["body"]))
                    body[-2] ^= 1
                    item["content"]["body"] = base64.b64encode(bytes(body)).decode()
        return doc

    forged = await sync_once(nl, de, clock, rewrite=forged_content)
    assert sum(o.filled for o in forged.origins) == 0  # content that does not match: not kept
    clock.advance(hours=2)  # DENEX_CONTENT_DEADLINE defaults to 1 h
    r = await nl.client.get("/api/v1/peers", headers=nl.auth("admin"))
    [de_status] = [p["status"] for p in r.json()["items"] if p["node_id"] == "de-bafa"]
    assert any(a.startswith("withheld: 1 entries of de-bafa") for a in de_status["alerts"])
    report = await sync_once(nl, de, clock)
    assert sum(o.filled for o in report.origins) == 1
    async with nl.db.read() as session:
        assert await session.get(NoticeRow, ("de-bafa", secret)) is not None
    assert all(row.content_body is not None for row in await _rows(nl, "de-bafa"))


async def test_a_member_added_by_an_amendment_gets_the_notice_from_it(
    make_node: Callable[..., Awaitable[LiveNode]], clock: FakeClock
) -> None:
    """de publishes for fr only, then amends with nl in the audience (DESIGN §6: how a notice
    reaches a member that joined later). nl never sees version 1's content, yet holds the
    notice at version 2 from the amendment, which carries the full version."""
    de, _fr, nl = await trio(make_node)
    r = await de.client.post(
        "/api/v1/notices",
        json=notice(reference="FR-FIRST", audience=["fr-sbdu"]),
        headers=de.auth("officer"),
    )
    assert r.status_code == 201, r.text
    notice_id = r.json()["notice_id"]
    r = await de.client.post(
        f"/api/v1/notices/{notice_id}/amend",
        json=notice(reference="FR-FIRST", audience=["fr-sbdu", "nl-cdiu"]),
        headers=de.auth("officer"),
    )
    assert r.status_code == 200, r.text
    assert (await sync_once(nl, de, clock)).error is None
    r = await nl.client.get(f"/api/v1/notices/de-bafa/{notice_id}", headers=nl.auth("auditor"))
    assert r.status_code == 200, r.text
    held = r.json()
    assert (held["version"], held["status"]) == (2, "active")
    assert [(v["version"], v["kind"]) for v in held["versions"]] == [(2, "amended")]
    [first, second] = [e for e in await _rows(nl, "de-bafa") if e.seq in (1, 2)]
    assert first.content_body is None and not first.flagged
    assert second.content_body is not None and not second.flagged


async def test_a_peer_behind_this_node_has_its_checkpoint_checked_once(
    make_node: Callable[..., Awaitable[LiveNode]], clock: FakeClock
) -> None:
    """A relay whose copy is behind shows an older checkpoint: it is checked against this
    node's tree once (consistent: nothing to fetch, no error); later rounds skip it until the
    relay shows another one."""
    de, fr, nl = await trio(make_node)
    await _publish(de, 2)
    assert (await sync_once(nl, de, clock)).fetched == 3
    await _publish(de, 1, prefix="LATER")
    assert (await sync_once(fr, de, clock)).fetched == 4

    first = await sync_once(fr, nl, clock)  # nl holds 3 entries of de-bafa, fr 4
    [checked] = [o for o in first.origins if o.origin == "de-bafa"]
    assert (checked.before, checked.after, checked.checkpoint, checked.error) == (4, 4, True, None)
    again = await sync_once(fr, nl, clock)
    assert again.error is None and [o for o in again.origins if o.origin == "de-bafa"] == []

    await _publish(de, 1, prefix="LAST")
    assert (await sync_once(nl, de, clock)).fetched == 2  # nl: 5 entries, a new checkpoint
    third = await sync_once(fr, nl, clock)
    [pulled] = [o for o in third.origins if o.origin == "de-bafa"]
    assert (pulled.before, pulled.after, pulled.checkpoint) == (4, 5, True)


async def test_freshness_only_moves_forward(
    make_node: Callable[..., Awaitable[LiveNode]], database_url: str | None, clock: FakeClock
) -> None:
    live = await make_node("fr-sbdu", database_url)
    moment = clock()
    async with live.db.write() as session:
        await mark_fresh(session, ["fr-sbdu"], moment)
        await mark_fresh(session, ["fr-sbdu"], moment - timedelta(hours=1))  # older: kept
    async with live.db.read() as session:
        log = await session.get(LogRow, "fr-sbdu")
        assert log is not None and log.fresh_at is not None
        assert log.fresh_at.replace(tzinfo=UTC) == moment
    async with live.db.write() as session:
        await mark_fresh(session, ["fr-sbdu", "nobody"], moment + timedelta(seconds=1))
    async with live.db.read() as session:
        log = await session.get(LogRow, "fr-sbdu")
        assert log is not None and log.fresh_at is not None
        assert log.fresh_at.replace(tzinfo=UTC) == moment + timedelta(seconds=1)


class _Held(httpx.AsyncBaseTransport):
    """A peer that answers only once `gate` is set."""

    def __init__(self, inner: httpx.AsyncBaseTransport, gate: asyncio.Event) -> None:
        self.inner, self.gate = inner, gate

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self.gate.wait()
        return await self.inner.handle_async_request(request)


async def test_appends_wait_for_the_start_up_check_of_the_peers(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    """While the start-up check asks the peers, appends answer 503 and /readyz is not ready;
    when no peer holds more of this node's log, both open."""
    a, b = pair
    gate = asyncio.Event()
    transport = _Held(httpx.ASGITransport(app=b.client._transport.app), gate)  # type: ignore[attr-defined]
    auth = PeerAuth(lambda: a.node.signing, clock=a.state.clock)
    async with httpx.AsyncClient(transport=transport, auth=auth, base_url="http://peer") as peer:
        checking = asyncio.create_task(check_own_log(a.db, a.node, peer, clock=a.state.clock))
        for _ in range(200):
            ready = await a.client.get("/readyz")
            if ready.status_code == 503:
                break
            await asyncio.sleep(0.01)
        assert ready.status_code == 503
        assert ready.json()["detail"] == f"not ready: appends stopped: {CHECKING}"
        r = await a.client.post(
            "/api/v1/notices", json=notice(reference="WAIT"), headers=a.auth("officer")
        )
        assert r.status_code == 503 and CHECKING in r.json()["detail"]
        gate.set()
        assert await checking == []
    assert (await a.client.get("/readyz")).status_code == 200
    r = await a.client.post(
        "/api/v1/notices", json=notice(reference="NOW"), headers=a.auth("officer")
    )
    assert r.status_code == 201, r.text


async def test_a_peer_holding_a_different_copy_of_this_log_stops_appends_at_start_up(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    """DESIGN §5: a longer *or different* copy. A peer's validly signed checkpoint of this
    node's log that disagrees with its tree keeps appends stopped, with the evidence; an
    honest copy of the same size lets them go on."""
    a, b = pair
    await _publish(a, 2, prefix="A")
    assert (await sync_once(b, a, clock)).fetched == 3
    async with peer_client(a, b) as client:  # b's copy agrees
        assert await check_own_log(a.db, a.node, client, clock=clock) == []
    ident = a.node.identity
    other, different = _another_history(a, 3)
    async with peer_client(a, b, rewrite=different) as client:
        assert await check_own_log(a.db, a.node, client, clock=clock) == ["de-bafa"]
    r = await a.client.post(
        "/api/v1/notices", json=notice(reference="NOT-NOW"), headers=a.auth("officer")
    )
    assert r.status_code == 503 and "different copy" in r.json()["detail"]
    async with a.db.read() as session:
        [evidence] = list(await session.scalars(select(EquivocationRow)))
    assert (evidence.origin, evidence.via, evidence.second) == (ident.node_id, "de-bafa", other)
    assert len(await _rows(a, ident.node_id)) == 3
