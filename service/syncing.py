"""Running sync for this node: which peers and origins it follows (the roster), the derived
state of what arrives (notices), and one round against every peer or one of them."""

import asyncio
import contextlib
import fcntl
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import IO, Any
from weakref import WeakKeyDictionary

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core import own_copy
from federation.core.entry import Draft, SealedEntry
from federation.core.errors import FederationError
from federation.core.follow import MAX_PAGE_ENTRIES, Accepted
from federation.core.witness import MAX_CHECKPOINTS, WITNESSED, witness_body
from federation.network.client import PeerAuth
from federation.network.pull import (
    RESTORED,
    AdvertisedHead,
    PeerError,
    PeerReport,
    Syncer,
    peer_head,
    restored_reason,
    retry_bounds,
)
from federation.network.verify_pool import Prepare
from federation.storage import replica
from federation.storage.log import append_own, lock_log, log_size
from federation.storage.replica import overdue_content
from federation.storage.tables import (
    LogRow,
    PeerHeadRow,
    PeerRow,
    PeerSyncRow,
    QuarantineRow,
)
from service.derivation import apply_all, rebuild_all
from service.errors import NotFound
from service.keyadmin import adopt_key_in_force
from service.node import Node, own_signing_keys
from service.notices.derived import NoticeEntry, PreparedNotices, prepare_notices
from service.roster import active_peers, list_peers
from service.settings import Settings
from service.storage.database import Database

log = logging.getLogger("denex.sync")


async def apply_derived(
    session: AsyncSession, origin: str, accepted: list[Accepted], prepared: list[Any]
) -> None:
    """Derived state of entries just stored from a peer, in the same transaction, with what
    `prepare_notices` made of them in the verify workers."""
    if any(a.type == "key.revoked" for a in accepted):
        await rebuild_all(session)  # a revocation may have invalidated earlier entries
        return
    await apply_all(
        session,
        [
            NoticeEntry(
                origin, a.wire.seq, a.type, list(a.audience), a.wire.body, issued_at=a.issued_at
            )
            for a in accepted
            if a.flag is None
        ],
        [p for p in prepared if isinstance(p, PreparedNotices)],
    )


# Checkpoints found consistent with a node's copies, kept across rounds (`Syncer.consistent`),
# per database: tests run several nodes in one process.
_consistent: WeakKeyDictionary[Database, dict[str, set[str]]] = WeakKeyDictionary()


def consistent_checkpoints(db: Database) -> dict[str, set[str]]:
    return _consistent.setdefault(db, {})


def derived_in_workers(db: Database) -> Prepare:
    """What the verify workers prepare for `apply_derived`: notice rows, already converted
    for the driver on SQLite."""
    return partial(prepare_notices, driver=db.dialect == "sqlite")


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
    syncer = Syncer(
        client=client,
        federation=node.identity.federation,
        me=node.identity.node_id,
        roots={p.node_id: p.root_key for p in everyone},
        read=db.read,
        write=db.write,
        clock=clock,
        on_stored=apply_derived,
        prepare=derived_in_workers(db),
        consistent=consistent_checkpoints(db),
        page_size=page_size,
        retry_base=retry_base,
        retry_cap=retry_cap,
        own_keys=await asyncio.to_thread(own_signing_keys, node),
        deferred=[],  # the peers' statuses are written together once the round is done
    )
    try:
        return list(await asyncio.gather(*(syncer.sync_peer(p.node_id, p.url) for p in roster)))
    finally:
        await syncer.flush_status()


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
    syncer = Syncer(
        client=client,
        federation=node.identity.federation,
        me=me,
        roots={p.node_id: p.root_key for p in roster},
        read=db.read,
        write=db.write,
        clock=clock,
        on_stored=apply_derived,
        prepare=derived_in_workers(db),
        own_root=node.identity.root_key,
        own_keys=await asyncio.to_thread(own_signing_keys, node),
    )
    reports = [await syncer.sync_peer(p.node_id, p.url) for p in roster]
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


CHECKING = "checking what the peers hold of this node's log (start-up)"
DIFFERENT_COPY = "holds a different copy of this node's log"

# Why appends to this node's log stopped, as a small fixed set (the metrics' label): the
# start-up check still running, a restored backup awaiting `denex recover`, a peer's
# differing copy signed by this node's key, or proven equivocation (federation.storage.replica.freeze)
STOP_KINDS = ("checking", "restored", "different_copy", "equivocation")


def stop_kind(reason: str) -> str:
    """Which of STOP_KINDS a `frozen_reason` of this node's own log is."""
    if reason == CHECKING:
        return "checking"
    if reason.startswith(RESTORED):
        return "restored"
    if DIFFERENT_COPY in reason:
        return "different_copy"
    return "equivocation"


async def check_own_log(
    db: Database,
    node: Node,
    client: httpx.AsyncClient,
    *,
    clock: Callable[[], datetime],
    patience: float = 5.0,
) -> list[str]:
    """Before this node appends after start-up: ask every active peer what it holds of this
    node's log (one `GET /logs` each, concurrently, at most `patience` seconds). Meanwhile
    appends wait: the own log's `frozen_reason` says CHECKING, which every appender
    respects, in any process, and `/readyz` reports. A peer showing a checkpoint of this
    log, signed by this node's key, beyond its copy means a restored backup: appends stay
    stopped until `denex recover`. A peer whose checkpoint of this log is validly signed but
    disagrees with this node's tree holds a different copy: the evidence is kept and appends
    stay stopped (DESIGN §5: "a longer or different copy"). Anything else a peer claims (a
    bare size, a checkpoint not signed by this node's key) is logged and ignored
    (`federation.core.own_copy`). A peer that does not answer in time is passed over (a node must
    work while partners are down); the sync rounds ask it again. Returns the peers found
    longer or different."""
    me = node.identity.node_id
    async with db.write() as session:
        own = await lock_log(session, me)
        if own.frozen_reason is not None:
            return []  # stopped already (a restored backup, equivocation): recovery decides
        own.frozen_reason, size = CHECKING, own.size
    reasons: dict[str, str] = {}
    signed: dict[str, int] = {}  # peer -> entries of this log its checkpoint signed by us covers
    try:
        async with db.read() as session:
            peers = await active_peers(session)
            state = await replica.stored_key_state(session, me)
        key_files = await asyncio.to_thread(own_signing_keys, node)

        async def held(peer: PeerRow) -> tuple[str, AdvertisedHead] | None:
            try:
                head = await asyncio.wait_for(peer_head(client, peer.url, me), patience)
            except (PeerError, TimeoutError):
                return None
            return None if head is None else (peer.node_id, head)

        for found in await asyncio.gather(*map(held, peers)):
            if found is None:
                continue
            peer, head = found
            copy = own_copy.judge(
                head.size,
                head.checkpoint,
                origin=node.identity.origin_line,
                local=size,
                state=state,
                key_files=key_files,
            )
            if copy.ignored is not None:
                log.warning("ignored what %s says of this node's log: %s", peer, copy.ignored)
            signed[peer] = copy.signed
            if copy.ahead_of(size):
                reasons[peer] = restored_reason(peer, copy.signed, size)
            elif copy.checkpoint is not None:
                differs = await _differing_copy(db, node, peer, copy.checkpoint, clock())
                if differs is not None:
                    reasons[peer] = differs
    finally:
        async with db.write() as session:
            own = await lock_log(session, me)
            if own.frozen_reason == CHECKING:
                own.frozen_reason = next(iter(reasons.values()), None)
            known = await replica.peer_heads(session)  # for `recover`, as the rounds do
            for peer, entries in signed.items():
                before = known.get(peer, {})
                await replica.record_heads(
                    session,
                    peer,
                    {me: entries},
                    known={me: before[me]} if me in before else {},
                    now=clock(),
                )
    for reason in reasons.values():
        log.error("ALERT %s", reason)
    return list(reasons)


async def _differing_copy(
    db: Database, node: Node, peer: str, checkpoint: str, now: datetime
) -> str | None:
    """Why appends stop if `peer`'s checkpoint of this node's log is validly signed and
    contradicts its tree (the evidence is stored); None if it agrees or is not this node's."""
    me = node.identity.node_id
    try:
        async with db.write() as session:
            await replica.accept_checkpoint(
                session,
                federation=node.identity.federation,
                origin=me,
                text=checkpoint,
                state=await replica.stored_key_state(session, me),
                now=now,
            )
    except replica.CheckpointMismatch as exc:
        async with db.write() as session:
            replica.keep_evidence(
                session,
                origin=me,
                first=exc.ours or "",
                second=exc.theirs,
                kind="checkpoints",
                via=peer,
                now=now,
            )
        return f"{peer} {DIFFERENT_COPY}: {exc}"
    except FederationError:
        return None  # not signed by this node's keys: the peer's problem, not ours
    return None


async def witness(db: Database, node: Node, *, now: datetime) -> SealedEntry | None:
    """Append one `checkpoints.witnessed` entry to this node's log with the newest verified
    checkpoint of every other origin it holds (none if there is none)."""
    me = node.identity.node_id
    async with db.write() as session:
        log = await lock_log(session, me)
        rows = await session.scalars(
            select(LogRow).where(
                LogRow.origin != me,
                LogRow.checkpoint.is_not(None),
                LogRow.frozen_reason.is_(None),
            )
        )
        checkpoints = [row.checkpoint for row in rows if row.checkpoint is not None]
        if not checkpoints:
            return None
        signing = await node.current_signer(session)
        [entry] = await append_own(
            session,
            federation=node.identity.federation,
            origin=me,
            drafts=[Draft(WITNESSED, witness_body(checkpoints[:MAX_CHECKPOINTS]), ("*",), now)],
            signer=lambda _type: signing,
            checkpoint_key=signing,
            now=now,
            locked=log,
        )
    return entry


async def hint_received(session: AsyncSession, peer: str, *, now: datetime) -> None:
    """A peer says it has news (a signed, well-formed hint): pull from it at the next tick.
    The hint shows the peer is up again, so its back-off ends: failures start from zero."""
    status = await session.get(PeerSyncRow, peer)
    if status is None:
        status = PeerSyncRow(peer=peer, failures=0)
        session.add(status)
    status.next_attempt, status.failures = now, 0


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


@dataclass
class Status:
    """What `GET /api/v1/peers` shows of syncing from one peer."""

    last_success: datetime | None = None
    last_error: str | None = None
    lag: dict[str, int] = field(default_factory=dict)
    fresh_at: datetime | None = None  # the peer's own log, last seen current
    alerts: list[str] = field(default_factory=list)


async def peer_statuses(
    session: AsyncSession,
    *,
    now: datetime,
    stale_after: float,
    me: str | None = None,
    content_deadline: float = 3600.0,
) -> dict[str, Status]:
    """Per peer: last success and error, how far this node is behind each origin it serves,
    freshness of the peer's own log, and alerts (equivocation, staleness, quarantine)."""
    logs = {row.origin: row for row in await session.scalars(select(LogRow))}
    statuses: dict[str, Status] = {}
    dropped: dict[str, int] = {}
    for row in await session.scalars(select(PeerSyncRow)):
        statuses[row.peer] = Status(
            last_success=row.last_success,
            last_error=row.last_error,
        )
        dropped[row.peer] = row.quarantine_dropped
    for head in await session.scalars(select(PeerHeadRow)):
        ours = logs[head.origin].size if head.origin in logs else 0
        if head.size > ours:
            statuses.setdefault(head.peer, Status()).lag[head.origin] = head.size - ours
    quarantined = await session.execute(
        select(QuarantineRow.peer, func.count(), func.max(QuarantineRow.at)).group_by(
            QuarantineRow.peer
        )
    )
    for peer_id, count, last in quarantined:
        more = dropped.get(peer_id, 0)
        statuses.setdefault(peer_id, Status()).alerts.append(
            f"{count} answer(s) failed verification and were quarantined, the last at "
            f"{last.isoformat()}"
            + (f"; {more} more were only counted (one is kept per origin a minute)" if more else "")
        )
    for peer in await list_peers(session):
        status = statuses.setdefault(peer.node_id, Status())
        log = logs.get(peer.node_id)
        if log is not None and log.frozen_reason is not None:
            status.alerts.append(f"equivocation: {log.frozen_reason}")
        status.fresh_at = log.fresh_at if log else None
        if me is not None and log is not None:
            overdue, first = await overdue_content(
                session, peer.node_id, me, stored_before=now - timedelta(seconds=content_deadline)
            )
            if overdue:
                status.alerts.append(
                    f"withheld: {overdue} entries of {peer.node_id} that this node may "
                    f"see still lack their content (first seq {first})"
                )
        if peer.removed_at is None and (
            status.fresh_at is None or now - status.fresh_at > timedelta(seconds=stale_after)
        ):
            since = status.fresh_at.isoformat() if status.fresh_at else "never"
            status.alerts.append(f"stale: the log of {peer.node_id} was last seen current {since}")
    return statuses
