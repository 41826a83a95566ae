"""What a peer says of this node's own log counts only if this node's key signed it
(DESIGN §5, recovery): a size claim stops no appends, at start-up, in the rounds or in
`denex recover`; a longer checkpoint signed by its key (a restored backup) does, until the
entries are back. Two nodes in one process; the real-process attacks are in
tests/security."""

import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from federation.core.checkpoint import Checkpoint, sign_checkpoint
from federation.storage.tables import LogRow, PeerHeadRow
from keys.ed25519 import KeyPair
from service import keyadmin
from service.node import ROOT_KEY_FILE, load_keypair
from service.sync.own_log import check_own_log
from service.sync.rounds import recover
from tests.nodes import FakeClock, LiveNode
from tests.service.notice_data import notice
from tests.sync_peers import befriend, peer_client, reopen, sync_once

HOSTILE = KeyPair.generate()


async def _publish(live: LiveNode, count: int, prefix: str = "N") -> None:
    for n in range(count):
        r = await live.client.post(
            "/api/v1/notices", json=notice(reference=f"{prefix}-{n}"), headers=live.auth("officer")
        )
        assert r.status_code == 201, r.text


def _claim(origin: str, size: int, checkpoint: str | None) -> Callable[[str, Any], Any]:
    """A peer's `GET /logs` answer rewritten to claim `size` entries of `origin`."""

    def rewrite(path: str, doc: Any) -> Any:
        if path.endswith("/logs"):
            for head in doc:
                if head["origin"] == origin:
                    head["size"], head["checkpoint"] = size, checkpoint
        return doc

    return rewrite


def _claims(live: LiveNode) -> dict[str, str | None]:
    """A million entries of `live`'s log: bare, under a checkpoint signed by another key,
    and with garbage for a checkpoint."""
    line = live.node.identity.origin_line
    return {
        "bare": None,
        "other key": sign_checkpoint(Checkpoint(line, 1_000_000, b"\x01" * 32), HOSTILE),
        "garbage": "denex.test/de-bafa\n1000000\nnot a root\n\n— nobody AAAA\n",
    }


async def _restore(live: LiveNode, backup: Path) -> LiveNode:
    """`live` stopped, its database replaced by `backup` (key files kept), opened again."""
    database = live.settings.data_dir / "node.db"
    await live.db.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    backup.replace(database)
    return await reopen(live)


async def _appends(live: LiveNode, reference: str) -> int:
    r = await live.client.post(
        "/api/v1/notices", json=notice(reference=reference), headers=live.auth("officer")
    )
    return r.status_code


async def test_a_size_claim_without_this_nodes_signature_stops_no_appends(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    """fr claims a million entries of de's log: at start-up, in the rounds and in recovery
    the claim is ignored; de appends, /readyz is ready, recovery resumes at once."""
    fr, de = pair
    await _publish(de, 2)
    assert (await sync_once(fr, de, clock)).fetched == 3
    for name, checkpoint in _claims(de).items():
        lie = _claim("de-bafa", 1_000_000, checkpoint)
        async with peer_client(de, fr, rewrite=lie) as client:
            assert await check_own_log(de.db, de.node, client, clock=clock) == [], name
        assert await _appends(de, f"AFTER-START-{name}") == 201
        report = await sync_once(de, fr, clock, rewrite=lie)
        [own] = [o for o in report.origins if o.origin == "de-bafa"]
        assert own.error is None and own.ignored is not None, (name, own)
        assert "1000000" in own.ignored
        assert await _appends(de, f"AFTER-ROUND-{name}") == 201
        assert (await de.client.get("/readyz")).status_code == 200
        async with peer_client(de, fr, rewrite=lie) as client:
            reports, resumed = await recover(de.db, de.node, client, clock=clock)
        assert resumed, (name, reports)
        assert await _appends(de, f"AFTER-RECOVER-{name}") == 201
        async with de.db.read() as session:
            held = await session.get(PeerHeadRow, ("fr-sbdu", "de-bafa"))
        assert held is not None and held.size == 0, name  # no checkpoint signed by de: 0


async def test_a_longer_checkpoint_signed_by_this_nodes_key_stops_appends_until_recovered(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    """A checkpoint of de's log beyond its copy, signed with de's key, is proof: appends
    stop, /readyz says why, and recovery cannot resume them while no peer serves the
    entries up to it (it never re-issues a seq)."""
    fr, de = pair
    await _publish(de, 1)
    assert (await sync_once(fr, de, clock)).fetched == 2
    ahead = sign_checkpoint(
        Checkpoint(de.node.identity.origin_line, 7, b"\x02" * 32), de.node.signing
    )
    signed = _claim("de-bafa", 1_000_000, ahead)
    report = await sync_once(de, fr, clock, rewrite=signed)
    [own] = [o for o in report.origins if o.origin == "de-bafa"]
    assert own.error is not None and "holds 7 entries" in own.error
    ready = await de.client.get("/readyz")
    assert ready.status_code == 503
    detail = ready.json()["detail"]
    assert detail.startswith("not ready: appends stopped: restored from a backup? fr-sbdu")
    assert await _appends(de, "STOPPED") == 503
    async with peer_client(de, fr, rewrite=signed) as client:
        _reports, resumed = await recover(de.db, de.node, client, clock=clock)
    assert not resumed
    assert await _appends(de, "STILL-STOPPED") == 503


async def test_a_checkpoint_by_a_key_only_the_key_files_know_is_this_nodes_own(
    make_node: Callable[..., Awaitable[LiveNode]], clock: FakeClock, tmp_path: Path
) -> None:
    """de's database comes back from before a key rotation; its key files (with the new
    key) are kept. fr shows a checkpoint signed by the new key: de's own, so appends stop
    until recovery has fetched the entries, the rotation among them, back."""
    fr = await make_node("fr-sbdu")
    de = await make_node("de-bafa")
    await befriend(fr, de)
    await befriend(de, fr)
    await _publish(de, 1)
    database = de.settings.data_dir / "node.db"
    backup = tmp_path / "backup.db"
    with sqlite3.connect(database) as source, sqlite3.connect(backup) as copy:
        source.backup(copy)  # size 2, the first signing key
    root = load_keypair(de.settings, de.settings.keys_dir / ROOT_KEY_FILE)
    async with de.db.write() as session:
        await keyadmin.rotate(session, de.settings, root, now=clock())
    de = await reopen(de)
    await _publish(de, 1, prefix="ROTATED")  # signed, and its checkpoint, by the new key
    assert (await sync_once(fr, de, clock)).fetched == 5
    restored = await _restore(de, backup)
    async with peer_client(restored, fr) as client:
        assert await check_own_log(restored.db, restored.node, client, clock=clock) == ["fr-sbdu"]
    assert await _appends(restored, "NOT-YET") == 503
    async with peer_client(restored, fr) as client:
        _reports, resumed = await recover(restored.db, restored.node, client, clock=clock)
    assert resumed
    async with restored.db.read() as session:
        log = await session.get(LogRow, "de-bafa")
    assert log is not None and log.size == 5 and log.frozen_reason is None
    # the restored identity named the retired key: recovery switched it to the key in force,
    # so what de signs next verifies at its partners
    assert await _appends(restored, "AFTER-RECOVERY") == 201
    report = await sync_once(fr, restored, clock)
    assert report.fetched == 1 and not report.error, report
    assert not [o.error for o in report.origins if o.error], report


class _Down(httpx.AsyncBaseTransport):
    """Every peer refuses connections."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)


async def test_recovery_waits_for_the_peer_that_showed_a_longer_signed_copy(
    make_node: Callable[..., Awaitable[LiveNode]], clock: FakeClock, tmp_path: Path
) -> None:
    """de comes back from a backup; at start-up fr shows de's checkpoint of a longer log.
    While fr is unreachable, `denex recover` cannot resume appends (a peer known to hold
    more than de has); once fr answers, it fetches the entries back and resumes."""
    fr = await make_node("fr-sbdu")
    de = await make_node("de-bafa")
    await befriend(fr, de)
    await befriend(de, fr)
    await _publish(de, 1)
    assert (await sync_once(fr, de, clock)).fetched == 2
    database = de.settings.data_dir / "node.db"
    backup = tmp_path / "backup.db"
    with sqlite3.connect(database) as source, sqlite3.connect(backup) as copy:
        source.backup(copy)  # de at size 2, fr's head of it recorded as 2
    await _publish(de, 2, prefix="AFTER-BACKUP")
    assert (await sync_once(fr, de, clock)).fetched == 2
    restored = await _restore(de, backup)
    async with peer_client(restored, fr) as client:
        assert await check_own_log(restored.db, restored.node, client, clock=clock) == ["fr-sbdu"]
    async with httpx.AsyncClient(transport=_Down(), base_url="http://peer") as client:
        _reports, resumed = await recover(restored.db, restored.node, client, clock=clock)
    assert not resumed
    assert await _appends(restored, "NOT-WHILE-FR-IS-DOWN") == 503
    async with peer_client(restored, fr) as client:
        _reports, resumed = await recover(restored.db, restored.node, client, clock=clock)
    assert resumed
    assert await _appends(restored, "NOW") == 201
