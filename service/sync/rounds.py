"""Sync rounds: one round against every active peer (or one of them), recovering this
node's own log from its peers, which peers are due, and the client that talks to them."""

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from weakref import WeakKeyDictionary

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core.follow import MAX_PAGE_ENTRIES
from federation.network.client import PeerAuth
from federation.network.pull import retry_bounds
from federation.storage.log import lock_log
from federation.storage.tables import PeerHeadRow, PeerRow, PeerSyncRow
from service.errors import NotFound
from service.keyadmin import adopt_key_in_force
from service.node import Node, own_signing_keys
from service.roster import active_peers
from service.storage.database import Database
from service.sync.own_log import RESTORED
from service.sync.pulling import Puller
from service.sync.reports import PeerReport

log = logging.getLogger("denex.sync")


# Checkpoints found consistent with a node's copies, kept across rounds (`Puller.consistent`),
# per database: tests run several nodes in one process.
_consistent: WeakKeyDictionary[Database, dict[str, set[str]]] = WeakKeyDictionary()


def consistent_checkpoints(db: Database) -> dict[str, set[str]]:
    return _consistent.setdefault(db, {})


async def sync_round(
    db: Database,
    node: Node,
    client: httpx.AsyncClient,
    *,
    clock: Callable[[], datetime],
    peer: str | None = None,
    page_size: int = MAX_PAGE_ENTRIES,
    interval: float = 30.0,
) -> list[PeerReport]:
    """One sync round: pull from every active peer (or only `peer`), concurrently. A peer
    that fails is backed off in proportion to the sync `interval` (`retry_bounds`)."""
    async with db.read() as session:
        everyone = await active_peers(session)
    roster = everyone
    if peer is not None:
        roster = [p for p in everyone if p.node_id == peer]
        if not roster:
            raise NotFound(f"{peer} is not an active peer of this node")
    retry_base, retry_cap = retry_bounds(interval)
    puller = Puller(
        client=client,
        db=db,
        federation=node.identity.federation,
        me=node.identity.node_id,
        roots={p.node_id: p.root_key for p in everyone},
        clock=clock,
        consistent=consistent_checkpoints(db),
        page_size=page_size,
        retry_base=retry_base,
        retry_cap=retry_cap,
        own_keys=await asyncio.to_thread(own_signing_keys, node),
        deferred=[],  # the peers' statuses are written together once the round is done
    )
    try:
        return list(await asyncio.gather(*(puller.sync_peer(p.node_id, p.url) for p in roster)))
    finally:
        await puller.flush_status()


async def recover(
    db: Database, node: Node, client: httpx.AsyncClient, *, clock: Callable[[], datetime]
) -> tuple[list[PeerReport], bool]:
    """Fetch this node's own entries back from its peers, verified like any origin's
    (DESIGN §5, a restored backup), from every peer that shows a checkpoint of this log
    signed by this node's key beyond its copy, up to that checkpoint. Appends resume
    (returns True) once no active peer is known to hold a longer signed copy (`PeerHeadRow`
    of this log records only signed sizes); it never re-issues a seq. What a peer claims without
    this node's signature is ignored (`OriginReport.ignored`, for the caller to show)."""
    me = node.identity.node_id
    async with db.read() as session:
        roster = await active_peers(session)
    puller = Puller(
        client=client,
        db=db,
        federation=node.identity.federation,
        me=me,
        roots={p.node_id: p.root_key for p in roster},
        clock=clock,
        own_root=node.identity.root_key,
        own_keys=await asyncio.to_thread(own_signing_keys, node),
    )
    reports = [await puller.sync_peer(p.node_id, p.url) for p in roster]
    own_errors = [o.error for r in reports for o in r.origins if o.origin == me and o.error]
    async with db.write() as session:
        own = await lock_log(session, me)
        ahead = await session.scalar(
            select(func.max(PeerHeadRow.size)).where(
                PeerHeadRow.origin == me, PeerHeadRow.peer.in_([p.node_id for p in roster])
            )
        )
        resumed = not own_errors and (ahead is None or ahead <= own.size)
        if resumed and own.frozen_reason is not None and own.frozen_reason.startswith(RESTORED):
            own.frozen_reason = None
        resumed = resumed and own.frozen_reason is None
        if resumed and node.settings is not None:
            adopted = await adopt_key_in_force(session, node.settings)
            if adopted is not None:
                log.warning(
                    "the recovered log has key %s... in force: this node signs with it now",
                    adopted[:16],
                )
    return reports, resumed


def peer_client(
    node: Node, *, clock: Callable[[], datetime], timeout: float = 30.0
) -> httpx.AsyncClient:
    """This node's HTTP client to its peers: every request signed with the signing key in
    force (RFC 9421), bounded timeouts, no redirects followed."""
    return httpx.AsyncClient(
        auth=PeerAuth(lambda: node.signing, clock=clock),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
    )


async def due_peers(session: AsyncSession, now: datetime, *, interval: float) -> list[PeerRow]:
    """Active peers to pull from now: never tried, hinted or backed off until now, or last
    tried at least `interval` seconds ago."""
    statuses = {s.peer: s for s in await session.scalars(select(PeerSyncRow))}
    due = []
    for peer in await active_peers(session):
        status = statuses.get(peer.node_id)
        if status is None or status.last_attempt is None:
            due.append(peer)
        elif status.next_attempt is not None:
            if status.next_attempt <= now:
                due.append(peer)
        elif status.last_attempt <= now - timedelta(seconds=interval):
            due.append(peer)
    return due


async def hint_received(session: AsyncSession, peer: str, *, now: datetime) -> None:
    """A peer says it has news (a signed, well-formed hint): pull from it at the next tick.
    The hint shows the peer is up again, so its back-off ends: failures start from zero."""
    status = await session.get(PeerSyncRow, peer)
    if status is None:
        status = PeerSyncRow(peer=peer, failures=0)
        session.add(status)
    status.next_attempt, status.failures = now, 0
