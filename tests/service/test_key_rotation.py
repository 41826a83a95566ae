"""Key rotation on a live node: root-signed statements, no downtime, old evidence still proves."""

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from federation import checkpoint as cp
from federation import keystate
from federation.entry import KEY_TYPES, parse_time
from federation.evidence import verify_bundle
from federation.tables import EntryRow, LogRow
from keys.canonical import parse_canonical
from keys.card import verify_card
from keys.custody import save_key
from keys.ed25519 import KeyPair
from service.cli.main import main
from service.keyadmin import rotate
from service.node import ROOT_KEY_FILE, load_keypair, stored_card
from tests.nodes import PASSPHRASE, LiveNode
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
    monkeypatch.setenv("DENEX_KEY_PASSPHRASE", PASSPHRASE)
    data_dir = str(live.settings.data_dir)
    stranger = tmp_path / "other-root.pem"
    save_key(stranger, KeyPair.generate(), PASSPHRASE.encode())
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
