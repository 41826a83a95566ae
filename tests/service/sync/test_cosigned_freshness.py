"""A peer's cosignature makes this node's copy of an origin's log fresh (DESIGN §4) only
when the note it cosigned is the origin's checkpoint of exactly that copy: origin line,
origin signature, size and root. Three nodes in one process; the real-process attack is in
tests/security."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
from sqlalchemy import select

from federation.core.checkpoint import Checkpoint, sign_checkpoint
from federation.core.witness import cosigned
from federation.network.client import PeerAuth
from federation.storage.tables import LogRow
from service.sync.reports import PeerReport
from service.sync.rounds import sync_round
from tests.nodes import FakeClock, LiveNode
from tests.service.notice_data import notice
from tests.sync_peers import sync_once, trio


async def _publish(live: LiveNode, count: int, prefix: str) -> None:
    for n in range(count):
        r = await live.client.post(
            "/api/v1/notices", json=notice(reference=f"{prefix}-{n}"), headers=live.auth("officer")
        )
        assert r.status_code == 201, r.text


class _Checkpoints(httpx.AsyncBaseTransport):
    """Passes requests to a peer's app; its checkpoint of `origin` is `text` instead."""

    def __init__(self, inner: httpx.AsyncBaseTransport, origin: str, text: str | None) -> None:
        self.inner, self.origin, self.text = inner, origin, text

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.text is not None and request.url.path.endswith(f"/{self.origin}/checkpoint"):
            return httpx.Response(200, text=self.text)
        return await self.inner.handle_async_request(request)


@asynccontextmanager
async def _serving(
    node: LiveNode, peer: LiveNode, text: str | None
) -> AsyncIterator[httpx.AsyncClient]:
    inner = httpx.ASGITransport(app=peer.client._transport.app)  # type: ignore[attr-defined]
    transport = _Checkpoints(inner, "de-bafa", text)
    auth = PeerAuth(lambda: node.node.signing, clock=node.state.clock)
    async with httpx.AsyncClient(transport=transport, auth=auth, base_url="http://peer") as client:
        yield client


async def _sync(node: LiveNode, peer: LiveNode, clock: FakeClock, text: str | None) -> PeerReport:
    async with _serving(node, peer, text) as client:
        [report] = await sync_round(
            node.db, node.node, client, clock=clock, peer=peer.node.identity.node_id
        )
    return report


async def _fresh_at(live: LiveNode, origin: str) -> object:
    async with live.db.read() as session:
        return await session.scalar(select(LogRow.fresh_at).where(LogRow.origin == origin))


async def test_a_cosignature_makes_a_copy_fresh_only_on_the_origins_checkpoint_of_it(
    make_node: Callable[..., Awaitable[LiveNode]], clock: FakeClock
) -> None:
    """nl holds de's log through fr only. fr cosigns (validly, with its own key, timestamp
    now) notes that are not de's checkpoint of nl's copy: another origin's, one not signed
    by de, one of a smaller or larger size, one of the same size over another tree. None of
    them moves nl's freshness of de; de's own checkpoint of that copy does."""
    de, fr, nl = await trio(make_node)
    await _publish(de, 1, prefix="FIRST")
    assert (await sync_once(fr, de, clock)).fetched == 2
    async with de.db.read() as session:
        older = await session.scalar(select(LogRow.checkpoint).where(LogRow.origin == "de-bafa"))
    await _publish(de, 1, prefix="SECOND")
    assert (await sync_once(fr, de, clock)).fetched == 1  # fr: 3 entries of de
    de_line, fr_line = de.node.identity.origin_line, fr.node.identity.origin_line

    def by_fr(text: str) -> str:
        return cosigned(
            text, witness=fr_line, key=fr.node.signing, timestamp=int(clock().timestamp())
        )

    async with fr.db.read() as session:
        fr_own = await session.scalar(select(LogRow.checkpoint).where(LogRow.origin == "fr-sbdu"))
        current = await session.scalar(select(LogRow.checkpoint).where(LogRow.origin == "de-bafa"))
    assert older is not None and fr_own is not None and current is not None
    await _publish(de, 1, prefix="THIRD")
    async with de.db.read() as session:
        larger = await session.scalar(select(LogRow.checkpoint).where(LogRow.origin == "de-bafa"))
    assert larger is not None
    forged = sign_checkpoint(Checkpoint(de_line, 3, b"\x03" * 32), fr.node.signing)
    other_tree = sign_checkpoint(Checkpoint(de_line, 3, b"\x04" * 32), de.node.signing)
    bogus = {
        "another origin's": by_fr(fr_own),
        "not signed by de": by_fr(forged),
        "a smaller one": by_fr(older),
        "a larger one": by_fr(larger),
        "another tree": by_fr(other_tree),
        "another federation's": by_fr(
            sign_checkpoint(Checkpoint("denex.other/de-bafa", 3, b"\x05" * 32), de.node.signing)
        ),
    }
    first = await _sync(nl, fr, clock, bogus["another origin's"])  # nl: de's log through fr
    assert [o.after for o in first.origins if o.origin == "de-bafa"] == [3]
    assert await _fresh_at(nl, "de-bafa") is None
    for name, text in bogus.items():
        clock.advance(seconds=60)
        await _sync(nl, fr, clock, text)
        assert await _fresh_at(nl, "de-bafa") is None, name
    clock.advance(seconds=60)
    await _sync(nl, fr, clock, None)  # fr's honest answer: de's checkpoint, cosigned now
    fresh = await _fresh_at(nl, "de-bafa")
    assert fresh is not None and fresh.replace(tzinfo=clock().tzinfo) == clock()  # type: ignore[attr-defined]
