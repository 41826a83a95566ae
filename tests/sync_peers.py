"""Two in-process nodes as each other's peers, for sync tests: `befriend` puts a node in
another's roster (from its signed card); `peer_client` is node A's HTTP client to node B's
real app, optionally rewriting B's JSON answers to play a dishonest peer."""

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from federation.client import PeerAuth
from federation.tables import PeerRow
from service.api.app import create_app
from service.api.state import AppState
from service.metrics import Metrics
from service.node import stored_card
from service.runtime import open_node
from tests.nodes import LiveNode

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
                url="http://peer",
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
    async with httpx.AsyncClient(transport=transport, auth=auth, base_url="http://peer") as client:
        yield client


async def reopen(live: LiveNode) -> LiveNode:
    """The same node opened afresh from its data dir (after its database was replaced)."""
    db, node = await open_node(live.settings, upgrade=False)
    state = AppState(
        settings=live.settings, db=db, node=node, clock=live.state.clock, metrics=Metrics()
    )
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(state)), base_url="http://node"
    )
    await live.client.aclose()
    live.db, live.node, live.state, live.client = db, node, state, client
    return live
