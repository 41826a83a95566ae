"""What an origin's checkpoint commits to beyond its tree (decision 0032) is checked by every
node that syncs it: a `keys` line that is not the chain of the key statements the log holds
is the origin's own signed contradiction, kept as evidence, and the origin is frozen."""

import base64
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from federation.core import checkpoint as cp
from federation.core import note
from federation.core.commitments import LeafChain
from federation.core.noticemap import NoticeMap
from federation.storage.tables import EntryRow, LogRow
from tests.nodes import FakeClock, LiveNode
from tests.service.notice_data import notice
from tests.sync_peers import sync_once


def _showing(checkpoint: str) -> Callable[[str, Any], Any]:
    """de-bafa's `GET /logs` answer with `checkpoint` as its checkpoint of its own log."""

    def rewrite(path: str, doc: Any) -> Any:
        if path.endswith("/logs"):
            for head in doc:
                if head["origin"] == "de-bafa":
                    head["checkpoint"] = checkpoint
        return doc

    return rewrite


async def test_a_keys_line_that_leaves_out_a_key_statement_freezes_the_origin(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    fr, de = pair
    r = await de.client.post("/api/v1/notices", json=notice(), headers=de.auth("officer"))
    assert r.status_code == 201
    async with de.db.read() as session:
        log = await session.get(LogRow, "de-bafa")
    assert log is not None and log.checkpoint is not None
    honest = cp.parse_text(note.parse(log.checkpoint).text)
    assert honest.keys == LeafChain(log.key_count or 0, log.key_chain or b"")
    # de signs, with its real key, a checkpoint of its true tree that counts no key statement
    lie = cp.sign_checkpoint(
        cp.Checkpoint(honest.origin, honest.size, honest.root, LeafChain()), de.node.signing
    )

    report = await sync_once(fr, de, clock, rewrite=_showing(lie))
    [origin] = [o for o in report.origins if o.origin == "de-bafa"]
    assert origin.error is not None, origin
    chain = base64.b64encode(honest.keys.chain).decode() if honest.keys else ""
    assert "commits to 0 key statements" in origin.error, origin.error
    assert f"this node's copy holds 1 key statements, chain {chain}" in origin.error
    async with fr.db.read() as session:
        held = await session.get(LogRow, "de-bafa")
    assert held is not None and held.frozen_reason is not None
    assert held.checkpoint != lie


async def test_a_map_of_notice_heads_that_drops_an_amendment_freezes_the_origin(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    fr, de = pair
    officer = de.auth("officer")
    r = await de.client.post("/api/v1/notices", json=notice(), headers=officer)
    nid = r.json()["notice_id"]
    r = await de.client.post(
        f"/api/v1/notices/{nid}/amend", json=notice(destination="IR"), headers=officer
    )
    assert r.status_code == 200, r.text
    async with de.db.read() as session:
        log = await session.get(LogRow, "de-bafa")
        entries = list(await session.scalars(select(EntryRow).order_by(EntryRow.seq)))
    assert log is not None and log.checkpoint is not None
    honest = cp.parse_text(note.parse(log.checkpoint).text)
    published, amended = entries[1], entries[2]
    assert amended.subject == published.leaf_hash == published.subject
    # de signs a map in which its denial was never amended
    stale = NoticeMap.of([(published.leaf_hash, LeafChain.of([published.leaf_hash]))])
    assert honest.notices is not None and stale.root() != honest.notices
    lie = cp.sign_checkpoint(
        cp.Checkpoint(honest.origin, honest.size, honest.root, honest.keys, stale.root()),
        de.node.signing,
    )

    report = await sync_once(fr, de, clock, rewrite=_showing(lie))
    [origin] = [o for o in report.origins if o.origin == "de-bafa"]
    assert origin.error is not None and "commits to a map of notice heads" in origin.error
    async with fr.db.read() as session:
        held = await session.get(LogRow, "de-bafa")
    assert held is not None and held.frozen_reason is not None
