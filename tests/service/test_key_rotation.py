"""Key rotation on a live node: root-signed statements, no downtime, old evidence still proves."""

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from federation.core import checkpoint as cp
from federation.core import keystate
from federation.core.entry import KEY_TYPES, parse_time
from federation.storage.tables import EntryRow, LogRow
from keys.canonical import canonical_bytes, parse_canonical
from keys.card import verify_card
from keys.custody import save_key
from keys.ed25519 import KeyPair
from service.cli.main import main
from service.errors import ConfigError
from service.evidence.verify import EvidenceError, verify_bundle
from service.keyadmin import destroy_unneeded_keys, revoke, rotate
from service.node import ROOT_KEY_FILE, load_keypair, signing_key_file, stored_card
from tests.nodes import DEV_KEYS, START, FakeClock, LiveNode
from tests.service.notice_data import notice


def _keyid(envelope: bytes) -> str:
    keyid: str = json.loads(envelope)["signatures"][0]["keyid"]
    return keyid


async def _publish(live: LiveNode, reference: str) -> str:
    r = await live.client.post(
        "/api/v1/notices", json=notice(reference=reference), headers=live.auth("officer")
    )
    assert r.status_code == 201, r.text
    notice_id: str = r.json()["notice_id"]
    return notice_id


async def test_rotation_switches_a_running_node_to_the_new_key(live: LiveNode) -> None:
    before = await _publish(live, "BEFORE-1")
    old_key = live.node.signing
    root = load_keypair(live.settings, live.settings.keys_dir / ROOT_KEY_FILE)
    async with live.db.write() as session:
        old_id, new_id = await rotate(session, live.settings, root, now=live.state.clock())
    assert old_id == old_key.key_id and new_id != old_id

    # The serving app still holds the old key in memory; its next entry must not use it.
    after = await _publish(live, "AFTER-1")
    async with live.db.read() as session:
        entries = list(await session.scalars(select(EntryRow).order_by(EntryRow.seq)))
        log = await session.get(LogRow, "de-bafa")
        card = await stored_card(session)
    types = [e.type for e in entries]
    assert types == [
        "key.added",
        "notice.published",
        "key.added",
        "key.retired",
        "notice.published",
    ]
    assert _keyid(entries[1].envelope) == old_id
    assert _keyid(entries[4].envelope) == new_id
    assert {_keyid(e.envelope) for e in entries if e.type in KEY_TYPES} == {root.key_id}

    # Replaying the statements: the old key signed up to its retirement, the new one after.
    statements = [
        keystate.Statement(
            e.seq,
            e.type,
            parse_canonical(e.content_body or b""),
            parse_time("2026-11-28T12:00:00Z"),
        )
        for e in entries
        if e.type in KEY_TYPES
    ]
    state = keystate.replay(statements)
    assert set(state.valid_keys(1)) == {old_id}
    assert set(state.valid_keys(4)) == {new_id}

    # The newest checkpoint is signed by the new key; the card names it with a higher version.
    assert log is not None and log.checkpoint is not None
    verified = cp.verify_checkpoint(
        log.checkpoint, origin="denex.test/de-bafa", keys=state.checkpoint_keys(log.size)
    )
    assert verified.key == live.node.signing.public
    body = verify_card(card.encode()).body
    assert body["card_version"] == 2
    assert [k["key_id"] for k in body["signing_keys"]] == [new_id]

    # Evidence for notices from before and after the rotation both verify offline.
    for notice_id in (before, after):
        r = await live.client.get(f"/api/v1/evidence/{notice_id}", headers=live.auth("auditor"))
        assert r.status_code == 200, r.text
        report = verify_bundle(r.content, trusted_cards=[card.encode()])
        assert any("key.retired signed by the root key" in line for line in report.lines)


async def test_the_cli_rotates_and_refuses_a_wrong_root_key(
    make_node: Callable[..., Awaitable[LiveNode]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    live = await make_node("de-bafa")
    for name, value in DEV_KEYS.items():
        monkeypatch.setenv(name, value)
    data_dir = str(live.settings.data_dir)
    stranger = tmp_path / "other-root.pem"
    save_key(stranger, KeyPair.generate(), None)
    code = await asyncio.to_thread(
        main, ["keys", "rotate", "--root-key", str(stranger), "--data-dir", data_dir]
    )
    assert code == 1
    assert "not this node's root key" in capsys.readouterr().err
    assert await asyncio.to_thread(main, ["keys", "rotate", "--data-dir", data_dir]) == 0
    assert "new signing key" in capsys.readouterr().err
    await _publish(live, "AFTER-CLI")
    async with live.db.read() as session:
        last = await session.scalar(select(EntryRow).order_by(EntryRow.seq.desc()).limit(1))
    assert last is not None and _keyid(last.envelope) == live.node.signing.key_id
    assert len(list((live.settings.keys_dir).glob("signing-*.pem"))) == 2


async def test_revoking_a_compromised_key_invalidates_what_it_signed_from_n_on(
    live: LiveNode,
) -> None:
    ids = [await _publish(live, f"R-{i}") for i in range(3)]  # seqs 1, 2, 3
    compromised = live.node.signing.key_id
    root = load_keypair(live.settings, live.settings.keys_dir / ROOT_KEY_FILE)
    async with live.db.write() as session:
        invalidated, new_id = await revoke(
            session,
            live.settings,
            root,
            revoked_key=compromised,
            valid_below=2,
            reason="key copied from a stolen laptop",
            now=live.state.clock(),
        )
    assert invalidated == 2 and new_id is not None and new_id != compromised

    officer, auditor = live.auth("officer"), live.auth("auditor")
    states = []
    for notice_id in ids:
        r = await live.client.get(f"/api/v1/notices/{notice_id}", headers=auditor)
        assert r.status_code == 200  # shown, not silently dropped
        states.append((r.json()["status"], r.json()["invalid_reason"]))
    assert states[0] == ("active", None)
    assert [s for s, _ in states[1:]] == ["invalidated", "invalidated"]
    assert "stolen laptop" in (states[1][1] or "")
    r = await live.client.get("/api/v1/notices?status=active", headers=officer)
    assert [n["notice_id"] for n in r.json()["items"]] == ids[:1]
    r = await live.client.get("/api/v1/notices?status=invalidated", headers=officer)
    assert sorted(n["notice_id"] for n in r.json()["items"]) == sorted(ids[1:])

    # The node publishes on with the new key; the entries stay in the log and the tree.
    after = await _publish(live, "R-after")
    async with live.db.read() as session:
        entries = list(await session.scalars(select(EntryRow).order_by(EntryRow.seq)))
    assert [e.type for e in entries][4:7] == ["key.added", "key.revoked", "notice.published"]
    assert _keyid(entries[6].envelope) == new_id
    assert [e.seq for e in entries if e.invalid_reason] == [2, 3]

    # Offline: evidence of the untouched notice and of the new one verifies; of an
    # invalidated one it fails, naming the entry.
    card = await _card_bytes(live)
    for notice_id in (ids[0], after):
        r = await live.client.get(f"/api/v1/evidence/{notice_id}", headers=auditor)
        verify_bundle(r.content, trusted_cards=[card])
    r = await live.client.get(f"/api/v1/evidence/{ids[1]}", headers=auditor)
    with pytest.raises(EvidenceError, match="entry 2 of de-bafa"):
        verify_bundle(r.content, trusted_cards=[card])
    # Trimmed of the revocation, the bundle would prove the stolen key's entry valid: the
    # checkpoint's `keys` line (decision 0032) says a statement is missing.
    trimmed = json.loads(r.content)
    trimmed["key_statements"] = [s for s in trimmed["key_statements"] if s["seq"] != entries[5].seq]
    with pytest.raises(EvidenceError, match="commits to 3 key statements, the bundle carries 2"):
        verify_bundle(canonical_bytes(trimmed), trusted_cards=[card])


async def _card_bytes(live: LiveNode) -> bytes:
    async with live.db.read() as session:
        return (await stored_card(session)).encode()


@pytest.mark.parametrize(
    ("which", "below", "message"),
    [
        ("unknown", 1, "is not a signing key of this node"),
        ("current", 99, "valid_below_seq must be between"),
    ],
)
async def test_bad_revocations_are_refused_and_write_nothing(
    live: LiveNode, which: str, below: int, message: str
) -> None:
    await _publish(live, "X-1")
    root = load_keypair(live.settings, live.settings.keys_dir / ROOT_KEY_FILE)
    target = "ab" * 32 if which == "unknown" else live.node.signing.key_id
    with pytest.raises(ConfigError, match=message):
        async with live.db.write() as session:
            await revoke(
                session,
                live.settings,
                root,
                revoked_key=target,
                valid_below=below,
                reason="test",
                now=live.state.clock(),
            )
    async with live.db.read() as session:
        count = len(list(await session.scalars(select(EntryRow))))
    assert count == 2
    assert len(list(live.settings.keys_dir.glob("signing-*.pem"))) == 1


async def test_a_retired_key_file_is_destroyed_once_its_grace_is_over(
    live: LiveNode, clock: FakeClock
) -> None:
    # Issue 11 item 7: peers accept a retired key for 24 h (DESIGN §2); after that nothing
    # needs its private file. The key in use and keys within their grace are kept.
    root = load_keypair(live.settings, live.settings.keys_dir / ROOT_KEY_FILE)
    async with live.db.write() as session:
        old_id, new_id = await rotate(session, live.settings, root, now=clock())
    files = {kid: live.settings.keys_dir / signing_key_file(kid) for kid in (old_id, new_id)}
    for hours, gone in ((1, []), (23.9, []), (24, [old_id]), (48, [])):
        clock.advance(hours=hours - (clock() - START).total_seconds() / 3600)
        async with live.db.read() as session:
            assert await destroy_unneeded_keys(session, live.settings, now=clock()) == gone
    assert not files[old_id].exists() and files[new_id].exists()
    await _publish(live, "STILL-SIGNS")  # with the key in use, untouched
