"""The background sync of `denex serve`: rounds against the peers that are due, push
hints when this node's log grew, witness statements, and what a round logs."""

import asyncio
import contextlib
import fcntl
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

import httpx

from federation.storage.log import log_size
from service.node import Node
from service.roster import active_peers
from service.settings import Settings
from service.storage.database import Database
from service.sync.own_log import check_own_log
from service.sync.reports import PeerReport
from service.sync.rounds import due_peers, peer_client, sync_round
from service.sync.witnessing import witness

log = logging.getLogger("denex.sync")


@dataclass
class SyncLoop:
    """The background sync of `denex serve`: every tick, pull from the peers that are due,
    and tell every peer when this node's own log grew (a push hint). One per data dir: the
    process holding `sync.lock` (`claim_loop`) runs it (several workers share one node)."""

    db: Database
    node: Node
    settings: Settings
    clock: Callable[[], datetime]
    tick: float = 1.0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    hinted_size: int | None = None
    witnessed_at: datetime | None = None

    async def run(self, lock: IO[bytes]) -> None:
        """Run until cancelled, holding `lock` (from `claim_loop`), released at the end."""
        try:
            async with peer_client(self.node, clock=self.clock) as client:
                try:
                    await check_own_log(self.db, self.node, client, clock=self.clock)
                except Exception:  # the rounds still run (and check the peers' copies too)
                    log.exception("start-up check of this node's log failed")
                while True:
                    await self.round(client)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.wake.wait(), self.tick)
                    self.wake.clear()
        finally:
            lock.close()

    async def round(self, client: httpx.AsyncClient) -> list[PeerReport]:
        now = self.clock()
        async with self.db.read() as session:
            due = await due_peers(session, now, interval=self.settings.sync_interval)
        reports = []
        for peer in due:
            try:
                reports.extend(
                    await sync_round(
                        self.db,
                        self.node,
                        client,
                        clock=self.clock,
                        peer=peer.node_id,
                        interval=self.settings.sync_interval,
                    )
                )
            except Exception:  # one peer's trouble never stops the loop
                log.exception("sync from %s failed", peer.node_id)
        for report in reports:
            _log_report(report)
        await self.maybe_witness(reports, now)
        await self.push_hints(client)
        return reports

    async def maybe_witness(self, reports: list[PeerReport], now: datetime) -> None:
        """After a round that verified new entries of other origins (witness entries do not
        count, so witnessing never feeds on itself), at most every `witness_interval`."""
        if not any(o.substantive for r in reports for o in r.origins):
            return
        interval = timedelta(seconds=self.settings.witness_interval)
        if self.witnessed_at is not None and now - self.witnessed_at < interval:
            return
        if await witness(self.db, self.node, now=now) is not None:
            self.witnessed_at = now

    async def push_hints(self, client: httpx.AsyncClient) -> None:
        """Tell every peer when this node's own log grew, and once after start-up (a node
        that comes back is worth pulling from at once: its hint ends their back-off)."""
        origin = self.node.identity.node_id
        async with self.db.read() as session:
            size = await log_size(session, origin)
            peers = await active_peers(session)
        if self.hinted_size is not None and size <= self.hinted_size:
            return
        self.hinted_size = size
        body = {"origin": origin, "size": size}
        for peer in peers:
            url = peer.url.rstrip("/") + "/federation/v1/hint"
            with contextlib.suppress(httpx.HTTPError):
                await client.post(url, json=body, timeout=5.0)


def claim_loop(data_dir: Path) -> IO[bytes] | None:
    """An exclusive, non-blocking lock on `<data dir>/sync.lock`, for the one process of a
    node that runs its SyncLoop; None if another process holds it. The lock lasts as long
    as the returned file stays open."""
    handle = (data_dir / "sync.lock").open("ab")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def _log_ignored(report: PeerReport) -> None:
    for origin in report.origins:
        if origin.ignored is not None:
            log.warning("ignored what %s says of this node's log: %s", report.peer, origin.ignored)


def _log_report(report: PeerReport) -> None:
    _log_ignored(report)
    if report.error:
        log.warning("sync from %s: %s", report.peer, report.error)
    for origin in report.origins:
        if origin.error and origin.error.startswith("equivocation"):
            log.error("ALERT sync from %s: %s", report.peer, origin.error)
        elif origin.error:
            log.warning("sync of %s from %s: %s", origin.origin, report.peer, origin.error)
        elif origin.fetched:
            log.info(
                "sync of %s from %s: %d new entries (now %d)",
                origin.origin,
                report.peer,
                origin.fetched,
                origin.after,
            )
