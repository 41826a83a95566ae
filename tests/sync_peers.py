"""Two in-process nodes as each other's peers, for sync tests (the `pair` fixture: fr-sbdu and
de-bafa, each in the other's roster; `sync_once`: one pull): `befriend` puts a node in
another's roster (from its signed card); `peer_client` is node A's HTTP client to node B's
real app, optionally rewriting B's JSON answers to play a dishonest peer."""

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from federation.network.client import PeerAuth
from federation.storage.tables import PeerRow
from service.api.app import create_app
from service.api.state import AppState
from service.metrics import Metrics
from service.node import stored_card
from service.runtime import open_node
from service.sync.reports import PeerReport
from service.sync.rounds import sync_round
from tests.nodes import FakeClock, LiveNode
from tests.postgres import PostgresServer

Rewrite = Callable[[str, Any], Any] | None


async def befriend(node: LiveNode, peer: LiveNode) -> None:
    """Add `peer` to `node`'s roster as an admin would, from the peer's own card."""
    async with peer.db.read() as session:
        card = await stored_card(session)
    ident = peer.node.identity
    async with node.db.write() as session:
        session.add(
            PeerRow(
                node_id=ident.node_id,
                federation=ident.federation,
                country=ident.country,
                name=ident.name,
                url=ident.url,
                root_key=ident.root_key,
                regimes=list(ident.regimes),
                card_version=ident.card_version,
                card=card.encode("utf-8"),
                added_at=node.state.clock(),
                removed_at=None,
            )
        )


class _Rewriting(httpx.AsyncBaseTransport):
    """Passes requests to the peer's app and lets a test rewrite its JSON answers."""

    def __init__(self, inner: httpx.AsyncBaseTransport, rewrite: Rewrite) -> None:
        self.inner, self.rewrite = inner, rewrite

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.rewrite is None or response.status_code != 200:
            return response
        body = await response.aread()
        if not response.headers.get("content-type", "").startswith("application/json"):
            return httpx.Response(response.status_code, headers=response.headers, content=body)
        doc = self.rewrite(request.url.path, json.loads(body))
        return httpx.Response(200, json=doc)


@asynccontextmanager
async def peer_client(
    node: LiveNode, peer: LiveNode, *, rewrite: Rewrite = None
) -> AsyncIterator[httpx.AsyncClient]:
    transport = _Rewriting(httpx.ASGITransport(app=peer.client._transport.app), rewrite)  # type: ignore[attr-defined]
    auth = PeerAuth(lambda: node.node.signing, clock=node.state.clock)
    base = peer.node.identity.url
    async with httpx.AsyncClient(transport=transport, auth=auth, base_url=base) as client:
        yield client


async def reopen(live: LiveNode) -> LiveNode:
    """The same node opened afresh from its data dir (after its database was replaced)."""
    db, node = await open_node(live.settings, upgrade=False)
    state = AppState(
        settings=live.settings, db=db, node=node, clock=live.state.clock, metrics=Metrics()
    )
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(state)), base_url=node.identity.url
    )
    await live.client.aclose()
    live.db, live.node, live.state, live.client = db, node, state, client
    return live


async def sync_once(
    a: LiveNode, b: LiveNode, clock: FakeClock, *, page_size: int = 1000, rewrite: Rewrite = None
) -> PeerReport:
    """One sync round of `a` pulling from `b` only."""
    async with peer_client(a, b, rewrite=rewrite) as client:
        [report] = await sync_round(
            a.db, a.node, client, clock=clock, peer=b.node.identity.node_id, page_size=page_size
        )
    return report


@pytest.fixture
async def pair(
    make_node: Callable[..., Awaitable[LiveNode]],
    database_url: str | None,
    request: pytest.FixtureRequest,
) -> tuple[LiveNode, LiveNode]:
    a = await make_node("fr-sbdu", database_url)
    other = None
    if database_url is not None:  # PostgreSQL: each node has a database of its own
        server: PostgresServer = request.getfixturevalue("postgres_server")
        other = server.create_database(f"t_sync_b_{uuid.uuid4().hex[:12]}")
    b = await make_node("de-bafa", other)
    await befriend(a, b)
    await befriend(b, a)
    return a, b


async def trio(make_node: Callable[..., Awaitable[LiveNode]]) -> list[LiveNode]:
    """de-bafa, fr-sbdu and nl-cdiu, each in the other two's roster."""
    nodes = [await make_node(node_id) for node_id in ("de-bafa", "fr-sbdu", "nl-cdiu")]
    for node in nodes:
        for other in nodes:
            if other is not node:
                await befriend(node, other)
    return nodes
