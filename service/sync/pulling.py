"""One sync round against one peer (DESIGN §5): `GET /logs`; for every origin in this
node's roster whose copy at the peer is longer than ours, the missing entries, pulled and
verified a page at a time by `federation.network.pull`, each page stored in its own
transaction with its derived state (`service.sync.ingest`), and the origin's checkpoint
accepted once the copy reaches its size; content this node lacks is filled in, witness
statements checked and freshness recorded. This node's own log is judged by what its keys
prove (`federation.core.own_copy`). The data runs one way: federation reads and verifies,
this module stores.

A page that fails verification stops that origin's sync from that peer for this round;
nothing of it is stored, its first bytes are quarantined and the reason reported. Other
origins go on. A peer that cannot be reached is backed off.
"""

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core import checkpoint as cp
from federation.core import own_copy, witness
from federation.core.errors import FederationError
from federation.core.follow import MAX_PAGE_ENTRIES, Accepted
from federation.network.pull import (
    AdvertisedHead,
    BadPage,
    PeerError,
    PeerReader,
    backoff,
    size_of,
)
from federation.storage import content, heads, quarantine, replica
from federation.storage.log import log_size
from federation.storage.tables import LogRow
from service.rules.profile import PROFILE_HEADER
from service.storage.database import Database
from service.sync import ingest
from service.sync.own_log import compare_own_checkpoint, restored_reason, stop_appends
from service.sync.reports import OriginReport, PeerReport
from service.sync.status import record_failure, record_round
from service.sync.view import RoundView, read_view
from service.sync.witnessing import check_witnessed, cosigned_freshness

MAX_CONSISTENT = 64  # checkpoints remembered per origin as consistent with this node's copy


def _older(moment: datetime | None, now: datetime, seconds: float) -> bool:
    if moment is None:
        return True
    return now - moment > timedelta(seconds=seconds)


@dataclass
class Puller:
    """Pulls from peers into this node's database `db`. `roots` maps each origin this node
    follows (its roster) to that origin's root key."""

    client: httpx.AsyncClient
    db: Database
    federation: str
    me: str
    roots: Mapping[str, bytes]
    clock: Callable[[], datetime]
    page_size: int = MAX_PAGE_ENTRIES
    retry_base: float = 30.0
    retry_cap: float = 900.0
    jitter: Callable[[], float] = random.random
    own_root: bytes | None = None  # this node's root key: set to recover its own log
    # this node's signing keys from its key files: a checkpoint of its log beyond its copy
    # signed by one its stored key state does not know is its own too (federation.core.own_copy)
    own_keys: Sequence[bytes] = ()
    deferred: list[Callable[[AsyncSession], Awaitable[None]]] | None = None  # see _record
    # origin -> checkpoints of it already found consistent with this node's copy (one node's:
    # a copy never changes up to a size it holds, so such a checkpoint is not checked again)
    consistent: dict[str, set[str]] = field(default_factory=dict)
    _pulling: dict[str, asyncio.Lock] = field(default_factory=dict, init=False, repr=False)
    _viewing: "asyncio.Future[RoundView] | None" = field(default=None, init=False, repr=False)

    async def sync_peer(self, peer: str, url: str) -> PeerReport:
        """One round against `peer`; its status is recorded whatever happens."""
        report = PeerReport(peer)
        reader = PeerReader(
            self.client, url, page_size=self.page_size, keep_headers=(PROFILE_HEADER,)
        )
        now = self.clock()
        try:
            heads = await reader.heads()
        except PeerError as exc:
            report.error = str(exc)
            jitter = self.jitter()
            await self._record(
                partial(
                    record_failure,
                    peer=peer,
                    error=report.error,
                    now=now,
                    retry=partial(backoff, base=self.retry_base, cap=self.retry_cap, jitter=jitter),
                )
            )
            return report
        report.heads = len(heads)
        view = await self._view()
        ours, lacking = view.logs, view.lacking
        fresh: list[str] = []
        signed_own = 0  # how much of this node's own log the peer provably holds
        for head in heads:
            mine = ours.get(head.origin)
            uncosigned = (head.origin, peer) not in view.cosigned and peer != head.origin
            if head.origin == self.me:
                signed, own = await self._own(peer, reader, head, mine)
                signed_own = max(signed_own, signed)
                if own is not None:
                    report.origins.append(own)
                elif uncosigned and mine is not None and head.checkpoint == mine.checkpoint:
                    await self._freshness(peer, reader, head.origin)  # its cosignature
                continue
            unchanged = (
                mine is not None
                and head.size == mine.size
                and head.checkpoint is not None
                and head.checkpoint == mine.checkpoint
            )
            if unchanged and head.origin in self.roots:
                if peer == head.origin:
                    fresh.append(head.origin)  # the origin itself says nothing is new
                elif mine is not None and (
                    uncosigned or _older(mine.fresh_at, now, self.retry_base)
                ):
                    await self._freshness(peer, reader, head.origin)
                if mine is not None and mine.frozen_reason is None and head.origin in lacking:
                    filled = await self._fill_withheld(reader, head)
                    if filled:
                        report.origins.append(
                            OriginReport(head.origin, head.size, head.size, filled=filled)
                        )
                continue
            if self._known_consistent(head, mine) and not self.own_root:
                continue  # a peer behind this node's copy, showing a checkpoint already checked
            if head.origin in self.roots:
                origin = await self._origin(peer, reader, head)
                report.origins.append(origin)
                if origin.error is None:
                    origin.filled = await self._fill_withheld(reader, head)
        errors = [f"{o.origin}: {o.error}" for o in report.origins if o.error]

        sizes = {h.origin: h.size for h in heads}
        if self.me in sizes:
            sizes[self.me] = signed_own  # of this node's own log: what its key signed
        await self._record(
            partial(
                record_round,
                peer=peer,
                sizes=sizes,
                known=view.heads.get(peer, {}),
                fresh=fresh,
                errors=errors,
                now=now,
                rule_profile=reader.kept.get(PROFILE_HEADER),
            )
        )
        return report

    async def _view(self) -> RoundView:
        """This node's logs, the origins it lacks content of and its peers' heads, read once
        for all the peers of the round (a copy another peer's pull moved on meanwhile only
        costs a pull that finds nothing new)."""
        if self._viewing is None:
            self._viewing = asyncio.ensure_future(read_view(self.db))
        return await asyncio.shield(self._viewing)

    def _known_consistent(self, head: AdvertisedHead, mine: LogRow | None) -> bool:
        return (
            mine is not None
            and head.size <= mine.size
            and head.checkpoint is not None
            and head.checkpoint in self.consistent.get(head.origin, ())
        )

    def _consistent(self, origin: str, checkpoint: str) -> None:
        known = self.consistent.setdefault(origin, set())
        if len(known) >= MAX_CONSISTENT:
            known.clear()  # bounded: a peer may show a new checkpoint every round
        known.add(checkpoint)

    async def _record(self, write: Callable[[AsyncSession], Awaitable[None]]) -> None:
        """Write a peer's status (heads, freshness, success or failure) now, or with the
        others of the round when `deferred` collects them (`flush_status`)."""
        if self.deferred is not None:
            self.deferred.append(write)
            return
        async with self.db.write() as session:
            await write(session)

    async def flush_status(self) -> None:
        """Write the statuses `deferred` collected, in one transaction (a round's peers are
        synced concurrently; one commit instead of one per peer)."""
        writes, self.deferred = self.deferred or [], ([] if self.deferred is not None else None)
        if writes:
            async with self.db.write() as session:
                for write in writes:
                    await write(session)

    async def _own(
        self, peer: str, reader: PeerReader, head: AdvertisedHead, mine: LogRow | None
    ) -> tuple[int, OriginReport | None]:
        """What a peer holds of this node's own log as far as this node's keys prove it
        (`federation.core.own_copy`): that size, and a report when there is something to say.
        A checkpoint signed by this node's key beyond its copy means a restored backup:
        appends stop until `denex recover` (it never re-issues a seq), which pulls the
        entries back up to that checkpoint. One of a size the copy holds that its tree
        contradicts is evidence of a stolen key. Anything else is ignored (and reported)."""
        recovering = self.own_root is not None
        if not recovering and head.checkpoint is not None and mine is not None:
            if head.size == mine.size and head.checkpoint == mine.checkpoint:
                return mine.size, None  # the peer shows this node's newest checkpoint
            if self._known_consistent(head, mine):
                return size_of(head.checkpoint), None  # a copy behind, checked already
        async with self.db.read() as session:
            size = await log_size(session, self.me)
            state = await replica.stored_key_state(session, self.me)
        copy = own_copy.judge(
            head.size,
            head.checkpoint,
            origin=cp.origin_line(self.federation, self.me),
            local=size,
            state=state,
            key_files=self.own_keys,
        )
        report = OriginReport(self.me, size, size, ignored=copy.ignored)
        quiet = report if copy.ignored else None
        if copy.checkpoint is None:
            return 0, quiet
        if recovering:
            pulled = await self._origin(
                peer, reader, AdvertisedHead(self.me, copy.signed, copy.checkpoint)
            )
            pulled.ignored = copy.ignored
            if pulled.error is None and pulled.after < copy.signed:
                pulled.error = (
                    f"{peer} holds {copy.signed} entries of this node's log (a checkpoint "
                    f"signed by its key); this node has {pulled.after}"
                )
            return copy.signed, pulled
        if copy.ahead_of(size):
            report.error = restored_reason(peer, copy.signed, size)
            await stop_appends(self.db, self.me, report.error)
            return copy.signed, report
        found = await compare_own_checkpoint(
            self.db,
            federation=self.federation,
            me=self.me,
            peer=peer,
            checkpoint=copy.checkpoint,
            now=self.clock(),
            state=state,
        )
        if found.contradiction is not None:
            report.error = (
                f"equivocation: a checkpoint of this node's own log: {found.contradiction}"
            )
            return copy.signed, report
        if not found.valid:
            return 0, quiet  # verified by `judge` already; a race with a revocation at most
        if found.agrees:
            self._consistent(self.me, copy.checkpoint)
        return copy.signed, quiet

    async def _origin(self, peer: str, reader: PeerReader, head: AdvertisedHead) -> OriginReport:
        """Pull `head.origin` from this peer; one peer at a time per origin (peers are synced
        concurrently: the next one starts where the previous one stopped)."""
        lock = self._pulling.setdefault(head.origin, asyncio.Lock())
        async with lock:
            return await self._pull(peer, reader, head)

    async def _pull(self, peer: str, reader: PeerReader, head: AdvertisedHead) -> OriginReport:
        recovering = head.origin == self.me and self.own_root is not None
        root = self.own_root if recovering else self.roots[head.origin]
        assert root is not None
        async with self.db.read() as session:
            follower = await replica.follower_for(
                session,
                federation=self.federation,
                origin=head.origin,
                root_key=root,
                me=self.me,
            )
            log = await session.get(LogRow, head.origin)
        report = OriginReport(head.origin, follower.size, follower.size)
        if log is not None and log.frozen_reason is not None and not recovering:
            report.error = f"{head.origin} is frozen after equivocation: {log.frozen_reason}"
            return report
        page_start: int | None = None
        raw = b""  # what a quarantine keeps: the first bytes of a page as served
        witnesses: list[Accepted] = []
        driver = self.db.dialect == "sqlite"
        try:
            async with (
                contextlib.aclosing(reader.pages(head, follower)) as pages,
                contextlib.aclosing(ingest.prepared(pages, driver=driver)) as ready,
            ):
                async for page, prepared in ready:
                    page_start, raw = page.start, page.served
                    report.substantive += sum(
                        1 for a in page.entries if a.type != witness.WITNESSED
                    )
                    witnesses.extend(
                        a for a in page.entries if a.type == witness.WITNESSED and a.wire.body
                    )
                    async with self.db.write() as session:
                        report.after = await ingest.store_page(
                            session,
                            page,
                            now=self.clock(),
                            recovering=recovering,
                            prepared=prepared,
                        )
            page_start, raw = None, (head.checkpoint or "").encode()
            if head.checkpoint is not None:
                async with self.db.write() as session:
                    report.checkpoint = await replica.accept_checkpoint(
                        session,
                        federation=self.federation,
                        origin=head.origin,
                        text=head.checkpoint,
                        state=follower.state,
                        now=self.clock(),
                    )
                    if report.checkpoint and peer == head.origin:
                        await heads.seen_fresh(session, head.origin, self.clock())
                if report.checkpoint:
                    self._consistent(head.origin, head.checkpoint)
            if report.checkpoint and peer != head.origin and head.size == report.after:
                await self._freshness(peer, reader, head.origin)  # of this node's newest
        except replica.CheckpointMismatch as exc:
            report.error = f"equivocation: {exc}"
            async with self.db.write() as session:
                await quarantine.freeze(
                    session,
                    origin=head.origin,
                    reason=str(exc),
                    first=exc.ours or "",
                    second=exc.theirs,
                    kind="checkpoints",
                    via=peer,
                    now=self.clock(),
                )
        except PeerError as exc:
            report.error = str(exc)
        except replica.CopyMoved:
            pass  # another sync of this node (the serve loop, `denex sync`) got there first
        except (FederationError, ValueError) as exc:
            witnesses.clear()  # only what was stored is checked below
            report.error = str(exc)
            if isinstance(exc, BadPage):
                page_start, raw = exc.start, exc.served
            async with self.db.write() as session:
                await quarantine.quarantine(
                    session,
                    peer=peer,
                    origin=head.origin,
                    start=page_start,
                    reason=report.error,
                    data=raw,
                    now=self.clock(),
                )
        for entry in witnesses:
            report.equivocations.extend(
                await check_witnessed(
                    self.db, self.federation, self.roots, self.clock, head.origin, entry
                )
            )
        return report

    async def _fill_withheld(self, reader: PeerReader, head: AdvertisedHead) -> int:
        """Content this node may see but was not sent (a relay outside the audience): ask
        this peer for it, and keep what matches the verified envelope's `content_hash`."""
        async with self.db.read() as session:
            rows = await content.missing_content(session, head.origin, self.me)
        wires = await reader.content(head.origin, {r.seq: r.envelope for r in rows}, head.size)
        if not wires:
            return 0
        async with self.db.write() as session:
            return await ingest.store_content(session, head.origin, wires)

    async def _freshness(self, peer: str, reader: PeerReader, origin: str) -> None:
        await cosigned_freshness(self.db, self.federation, self.clock, reader, peer, origin)
