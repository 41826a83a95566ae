"""`denex verify-log`: a whole stored log re-verified, and tampering in the store caught."""

import asyncio
import base64
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import delete, select, update

from federation.core import merkle
from federation.storage.tables import EntryRow
from service.cli.main import main
from service.keyadmin import rotate
from service.node import ROOT_KEY_FILE, load_keypair
from tests.nodes import LiveNode
from tests.service.notice_data import notice


async def _node_with_history(make_node: Callable[..., Awaitable[LiveNode]]) -> LiveNode:
    live = await make_node("de-bafa")
    for i in range(3):
        r = await live.client.post(
            "/api/v1/notices", json=notice(reference=f"VL-{i}"), headers=live.auth("officer")
        )
        assert r.status_code == 201
    root = load_keypair(live.settings, live.settings.keys_dir / ROOT_KEY_FILE)
    async with live.db.write() as session:
        await rotate(session, live.settings, root, now=live.state.clock())
    r = await live.client.post("/api/v1/notices", json=notice(), headers=live.auth("officer"))
    assert r.status_code == 201
    return live


async def _verify_log(live: LiveNode) -> int:
    code: int = await asyncio.to_thread(
        main, ["verify-log", "--data-dir", str(live.settings.data_dir)]
    )
    return code


async def test_a_sound_log_verifies(
    make_node: Callable[..., Awaitable[LiveNode]], capsys: pytest.CaptureFixture[str]
) -> None:
    live = await _node_with_history(make_node)
    assert await _verify_log(live) == 0
    out = capsys.readouterr().out
    assert "log of de-bafa: 7 entries" in out and "checkpoint at size 7 verified" in out
    async with live.db.read() as session:
        leaves = [
            e.leaf_hash for e in await session.scalars(select(EntryRow).order_by(EntryRow.seq))
        ]
    assert f"tree root {base64.b64encode(merkle.root_of(leaves)).decode()}" in out


@pytest.mark.parametrize("damage", ["changed-envelope", "changed-content", "deleted-entry"])
async def test_tampering_in_the_store_is_caught(
    make_node: Callable[..., Awaitable[LiveNode]],
    capsys: pytest.CaptureFixture[str],
    damage: str,
) -> None:
    live = await _node_with_history(make_node)
    async with live.db.write() as session:
        entry = await session.get(EntryRow, ("de-bafa", 2))
        assert entry is not None
        if damage == "changed-envelope":
            envelope = bytearray(entry.envelope)
            envelope[40] ^= 0x01
            await session.execute(
                update(EntryRow).where(EntryRow.seq == 2).values(envelope=bytes(envelope))
            )
        elif damage == "changed-content":
            await session.execute(
                update(EntryRow).where(EntryRow.seq == 2).values(content_body=b'{"forged":1}')
            )
        else:
            await session.execute(delete(EntryRow).where(EntryRow.seq == 2))
    assert await _verify_log(live) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAILED: entry ")
    assert "of de-bafa" in out


async def test_an_origin_outside_the_roster_is_refused(
    make_node: Callable[..., Awaitable[LiveNode]], capsys: pytest.CaptureFixture[str]
) -> None:
    live = await make_node("de-bafa")
    code = await asyncio.to_thread(
        main, ["verify-log", "--origin", "fr-sbdu", "--data-dir", str(live.settings.data_dir)]
    )
    assert code == 1
    assert "denex: error: fr-sbdu is neither this node nor a peer in its roster" in (
        capsys.readouterr().err
    )
