"""Sync: pulling, verifying and storing the logs a peer holds (DESIGN §5).

One round against one peer: `GET /logs`; for every origin in this node's roster whose copy
at the peer is longer than ours, fetch the missing entries in pages (the next page is fetched
while the current one is verified and stored), verify each page with `federation.core.follow`,
store it in its own transaction together with the derived state (`on_stored`, given by the
service), and accept the origin's checkpoint once the copy reaches its size. Logs relay
transitively: the peer may serve any origin, not only itself.

A page that fails verification stops that origin's sync from that peer for this round;
nothing of it is stored and the reason is reported. Other origins go on. Network failures
and bad answers become `PeerError`; the caller decides about retries and backoff.
"""

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core import checkpoint as cp
from federation.core import keystate, note, own_copy, witness
from federation.core.errors import FederationError
from federation.core.follow import (
    MAX_PAGE_BYTES,
    MAX_PAGE_ENTRIES,
    Accepted,
    Follower,
    PageError,
    WireEntry,
    parse_page,
)
from federation.network import verify_pool
from federation.storage import replica
from federation.storage.log import lock_log, log_size
from federation.storage.tables import EntryRow, LogRow

MAX_LOGS_BYTES = 1024 * 1024
MAX_CHECKPOINT_BYTES = 16 * 1024
MAX_CONSISTENT = 64  # checkpoints remembered per origin as consistent with this node's copy
RESTORED = "restored from a backup?"  # the start of the reason appends stopped
RETRY_CAP_INTERVALS = 30  # back-off: at most this many sync intervals ...
RETRY_CAP_SECONDS = 900.0  # ... and at most 15 minutes (never less than one interval)
MIN_RETRY = 1.0  # seconds: the shortest back-off base, whatever the interval

Sessions = Callable[[], AbstractAsyncContextManager[AsyncSession]]
OnStored = Callable[[AsyncSession, str, list[Accepted], list[Any]], Awaitable[None]]


class PeerError(FederationError):
    """A peer could not be reached or gave an answer that is not the protocol's."""


class _BadPage(PageError):
    """A page that failed, with where it started and its first bytes as served (for the
    quarantine)."""

    def __init__(self, start: int, served: bytes, cause: PageError) -> None:
        super().__init__(str(cause))
        self.start, self.served = start, served


@dataclass(frozen=True)
class AdvertisedHead:
    """A log's head as a peer advertises it in `GET /logs` (the API's `LogHead` document,
    read back: its root is checked against the checkpoint, so only the checkpoint is kept)."""

    origin: str
    size: int
    checkpoint: str | None


@dataclass
class OriginReport:
    origin: str
    before: int
    after: int
    checkpoint: bool = False  # the peer's checkpoint was verified and kept
    error: str | None = None
    substantive: int = 0  # new entries other than witness statements
    filled: int = 0  # entries whose withheld content this peer supplied
    equivocations: list[str] = field(default_factory=list)  # found in witness entries
    ignored: str | None = None  # this node's own log: a claim its keys do not back (logged)

    @property
    def fetched(self) -> int:
        return self.after - self.before


@dataclass
class PeerReport:
    peer: str
    origins: list[OriginReport] = field(default_factory=list)  # those pulled or filled
    error: str | None = None
    heads: int = 0  # logs the peer listed (unchanged ones included)

    @property
    def fetched(self) -> int:
        return sum(o.fetched for o in self.origins)


class _TooLarge(PeerError):
    """An answer that went past its byte limit while it streamed; `head` is what came first."""

    def __init__(self, message: str, head: bytes) -> None:
        super().__init__(message)
        self.head = head


async def _get_bytes(client: httpx.AsyncClient, url: str, *, limit: int) -> bytearray:
    """The body of a 200 answer, read until `limit` bytes and no further."""
    try:
        async with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise PeerError(f"GET {url}: HTTP {response.status_code}")
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data.extend(chunk)
                if len(data) > limit:
                    raise _TooLarge(
                        f"GET {url}: answer exceeds {limit} bytes",
                        bytes(data[: replica.QUARANTINE_ITEM_BYTES]),
                    )
    except httpx.HTTPError as exc:
        raise PeerError(f"GET {url}: {type(exc).__name__}: {exc}") from exc
    return data


def _parse_json(url: str, data: bytearray) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass  # the standard parser decides (it accepts what orjson does not: huge integers)
    try:
        return json.loads(data)
    except ValueError as exc:
        raise PeerError(f"GET {url}: answer is not JSON") from exc


async def _get_json(client: httpx.AsyncClient, url: str, *, limit: int) -> Any:
    return _parse_json(url, await _get_bytes(client, url, limit=limit))


async def _get_text(client: httpx.AsyncClient, url: str, *, limit: int) -> str:
    try:
        response = await client.get(url)
    except httpx.HTTPError as exc:
        raise PeerError(f"GET {url}: {type(exc).__name__}: {exc}") from exc
    if response.status_code != 200 or len(response.content) > limit:
        raise PeerError(f"GET {url}: HTTP {response.status_code}, {len(response.content)} bytes")
    try:
        return response.content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PeerError(f"GET {url}: not UTF-8") from exc


def _older(moment: datetime | None, now: datetime, seconds: float) -> bool:
    if moment is None:
        return True
    return now - moment > timedelta(seconds=seconds)


def parse_heads(doc: Any) -> list[AdvertisedHead]:
    if not isinstance(doc, list):
        raise PeerError("/logs must answer a list")
    heads = []
    for item in doc:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("origin"), str)
            or type(item.get("size")) is not int
            or item["size"] < 0
            or not isinstance(item.get("checkpoint"), str | None)
        ):
            raise PeerError("/logs entries need origin, size and checkpoint")
        checkpoint = item.get("checkpoint")
        if checkpoint is not None and len(checkpoint) > MAX_CHECKPOINT_BYTES:
            raise PeerError(f"checkpoint of {item['origin']} exceeds {MAX_CHECKPOINT_BYTES} bytes")
        heads.append(AdvertisedHead(item["origin"], item["size"], checkpoint))
    return heads


def restored_reason(peer: str, held: int, size: int) -> str:
    """Why appends stop when `peer` shows a checkpoint of `held` entries of this node's log,
    signed by its key, and this node holds `size`."""
    return (
        f"{RESTORED} {peer} holds {held} entries of this node's log (a checkpoint signed by "
        f"its key), this node {size}; run `denex recover`"
    )


async def peer_head(client: httpx.AsyncClient, url: str, origin: str) -> AdvertisedHead | None:
    """What the peer at `url` holds of `origin`, by its `GET /logs` (None if it lists none).
    Raises PeerError."""
    doc = await _get_json(client, url.rstrip("/") + "/federation/v1/logs", limit=MAX_LOGS_BYTES)
    return next((h for h in parse_heads(doc) if h.origin == origin), None)


def backoff(failures: int, *, base: float, cap: float, jitter: float) -> timedelta:
    """Delay before the next attempt after `failures` network failures in a row: capped
    exponential, times a jitter factor in [0.5, 1.5) (`jitter` in [0, 1)). The doubling
    stops once it passes the cap, so a peer down for months costs no overflow."""
    delay, doublings = base, max(0, failures - 1)
    while doublings and delay < cap:
        delay, doublings = delay * 2, doublings - 1
    return timedelta(seconds=min(cap, delay) * (0.5 + jitter))


def retry_bounds(interval: float) -> tuple[float, float]:
    """(base, cap) of `backoff` for a node that syncs every `interval` seconds: the base is
    one interval, the cap 30 intervals but at most 15 minutes (never less than the base), so
    a peer that failed once is tried again after 0.5 to 1.5 intervals (decision 0013)."""
    base = max(interval, MIN_RETRY)
    return base, max(base, min(RETRY_CAP_INTERVALS * base, RETRY_CAP_SECONDS))


@dataclass
class Syncer:
    """Pulls from peers into this node's database. `roots` maps each origin this node follows
    (its roster) to that origin's root key; `on_stored` applies derived state in the same
    transaction as each stored page, given what `prepare` made of it in the verify workers
    (`verify_pool.VerifyPool.check_and_prepare`; an empty list when nothing was)."""

    client: httpx.AsyncClient
    federation: str
    me: str
    roots: Mapping[str, bytes]
    read: Sessions
    write: Sessions
    clock: Callable[[], datetime]
    on_stored: OnStored
    page_size: int = MAX_PAGE_ENTRIES
    retry_base: float = 30.0
    retry_cap: float = 900.0
    jitter: Callable[[], float] = random.random
    own_root: bytes | None = None  # this node's root key: set to recover its own log
    # this node's signing keys from its key files: a checkpoint of its log beyond its copy
    # signed by one its stored key state does not know is its own too (federation.core.own_copy)
    own_keys: Sequence[bytes] = ()
    prepare: verify_pool.Prepare | None = None  # run in the verify workers, for on_stored
    deferred: list[Callable[[AsyncSession], Awaitable[None]]] | None = None  # see _record
    # origin -> checkpoints of it already found consistent with this node's copy (one node's:
    # a copy never changes up to a size it holds, so such a checkpoint is not checked again)
    consistent: dict[str, set[str]] = field(default_factory=dict)
    _pulling: dict[str, asyncio.Lock] = field(default_factory=dict, init=False, repr=False)
    _viewing: "asyncio.Future[_View] | None" = field(default=None, init=False, repr=False)

    async def sync_peer(self, peer: str, url: str) -> PeerReport:
        """One round against `peer`; its status is recorded whatever happens."""
        report = PeerReport(peer)
        base = url.rstrip("/") + "/federation/v1"
        now = self.clock()
        try:
            heads = parse_heads(await _get_json(self.client, f"{base}/logs", limit=MAX_LOGS_BYTES))
        except PeerError as exc:
            report.error = str(exc)
            jitter = self.jitter()

            async def failed(session: AsyncSession) -> None:
                status = await replica.peer_sync(session, peer)
                status.last_attempt = status.last_error_at = now
                status.last_error = report.error
                status.failures += 1
                status.next_attempt = now + backoff(
                    status.failures, base=self.retry_base, cap=self.retry_cap, jitter=jitter
                )

            await self._record(failed)
            return report
        report.heads = len(heads)
        view = await self._view()
        ours, lacking = view.logs, view.lacking
        fresh: list[str] = []
        signed_own = 0  # how much of this node's own log the peer provably holds
        for head in heads:
            mine = ours.get(head.origin)
            if head.origin == self.me:
                signed, own = await self._own(peer, base, head, mine)
                signed_own = max(signed_own, signed)
                if own is not None:
                    report.origins.append(own)
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
                elif mine is not None and _older(mine.fresh_at, now, self.retry_base):
                    await self._cosigned_freshness(peer, base, head.origin)
                if mine is not None and mine.frozen_reason is None and head.origin in lacking:
                    filled = await self._fill_withheld(base, head)
                    if filled:
                        report.origins.append(
                            OriginReport(head.origin, head.size, head.size, filled=filled)
                        )
                continue
            if self._known_consistent(head, mine) and not self.own_root:
                continue  # a peer behind this node's copy, showing a checkpoint already checked
            if head.origin in self.roots:
                origin = await self._origin(peer, base, head)
                report.origins.append(origin)
                if origin.error is None:
                    origin.filled = await self._fill_withheld(base, head)
        errors = [f"{o.origin}: {o.error}" for o in report.origins if o.error]

        async def done(session: AsyncSession) -> None:
            sizes = {h.origin: h.size for h in heads}
            if self.me in sizes:
                sizes[self.me] = signed_own  # of this node's own log: what its key signed
            await replica.record_heads(
                session, peer, sizes, known=view.heads.get(peer, {}), now=now
            )
            await replica.mark_fresh(session, fresh, now)
            status = await replica.peer_sync(session, peer)
            status.last_attempt, status.failures, status.next_attempt = now, 0, None
            if errors:
                status.last_error, status.last_error_at = "; ".join(errors)[:2000], now
            else:
                status.last_success = now

        await self._record(done)
        return report

    async def _view(self) -> "_View":
        """This node's logs, the origins it lacks content of and its peers' heads, read once
        for all the peers of the round (a copy another peer's pull moved on meanwhile only
        costs a pull that finds nothing new)."""
        if self._viewing is None:
            self._viewing = asyncio.ensure_future(self._read_view())
        return await asyncio.shield(self._viewing)

    async def _read_view(self) -> "_View":
        async with self.read() as session:
            return _View(
                {log.origin: log for log in await replica.logs(session)},
                await replica.origins_missing_content(session),
                await replica.peer_heads(session),
            )

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
        async with self.write() as session:
            await write(session)

    async def flush_status(self) -> None:
        """Write the statuses `deferred` collected, in one transaction (a round's peers are
        synced concurrently; one commit instead of one per peer)."""
        writes, self.deferred = self.deferred or [], ([] if self.deferred is not None else None)
        if writes:
            async with self.write() as session:
                for write in writes:
                    await write(session)

    async def _own(
        self, peer: str, base: str, head: AdvertisedHead, mine: LogRow | None
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
                return _size_of(head.checkpoint), None  # a copy behind, checked already
        async with self.read() as session:
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
                peer, base, AdvertisedHead(self.me, copy.signed, copy.checkpoint)
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
            async with self.write() as session:
                log = await lock_log(session, self.me)
                if log.frozen_reason is None:
                    log.frozen_reason = report.error
            return copy.signed, report
        try:
            async with self.write() as session:
                if await replica.accept_checkpoint(
                    session,
                    federation=self.federation,
                    origin=self.me,
                    text=copy.checkpoint,
                    state=state,
                    now=self.clock(),
                ):
                    self._consistent(self.me, copy.checkpoint)
        except replica.CheckpointMismatch as exc:
            report.error = f"equivocation: a checkpoint of this node's own log: {exc}"
            async with self.write() as session:
                replica.keep_evidence(
                    session,
                    origin=self.me,
                    first=exc.ours or "",
                    second=exc.theirs,
                    kind="checkpoints",
                    via=peer,
                    now=self.clock(),
                )
            return copy.signed, report
        except FederationError:
            return 0, quiet  # verified by `judge` already; a race with a revocation at most
        return copy.signed, quiet

    async def _origin(self, peer: str, base: str, head: AdvertisedHead) -> OriginReport:
        """Pull `head.origin` from this peer; one peer at a time per origin (peers are synced
        concurrently: the next one starts where the previous one stopped)."""
        lock = self._pulling.setdefault(head.origin, asyncio.Lock())
        async with lock:
            return await self._pull(peer, base, head)

    async def _pull(self, peer: str, base: str, head: AdvertisedHead) -> OriginReport:
        recovering = head.origin == self.me and self.own_root is not None
        root = self.own_root if recovering else self.roots[head.origin]
        assert root is not None
        async with self.read() as session:
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
        try:
            async with contextlib.aclosing(self._pages(base, head, follower)) as pages:
                async for start, served, accepted, state, prepared in pages:
                    page_start, raw = start, served
                    report.substantive += sum(1 for a in accepted if a.type != witness.WITNESSED)
                    witnesses.extend(
                        a for a in accepted if a.type == witness.WITNESSED and a.wire.body
                    )
                    async with self.write() as session:
                        report.after = await replica.store_accepted(
                            session, head.origin, accepted, now=self.clock(), recovering=recovering
                        )
                        if any(a.type == "key.revoked" for a in accepted):
                            await replica.mark_invalidated(session, head.origin, state)
                        await self.on_stored(session, head.origin, accepted, prepared)
            page_start, raw = None, (head.checkpoint or "").encode()
            if head.checkpoint is not None:
                async with self.write() as session:
                    report.checkpoint = await replica.accept_checkpoint(
                        session,
                        federation=self.federation,
                        origin=head.origin,
                        text=head.checkpoint,
                        state=follower.state,
                        now=self.clock(),
                    )
                    if report.checkpoint and peer == head.origin:
                        await replica.seen_fresh(session, head.origin, self.clock())
                if report.checkpoint:
                    self._consistent(head.origin, head.checkpoint)
            if report.checkpoint and peer != head.origin and head.size == report.after:
                await self._cosigned_freshness(peer, base, head.origin)  # of this node's newest
        except replica.CheckpointMismatch as exc:
            report.error = f"equivocation: {exc}"
            async with self.write() as session:
                await replica.freeze(
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
            if isinstance(exc, _BadPage):
                page_start, raw = exc.start, exc.served
            async with self.write() as session:
                await replica.quarantine(
                    session,
                    peer=peer,
                    origin=head.origin,
                    start=page_start,
                    reason=report.error,
                    data=raw,
                    now=self.clock(),
                )
        for entry in witnesses:
            report.equivocations.extend(await self._check_witnessed(head.origin, entry))
        return report

    async def _fill_withheld(self, base: str, head: AdvertisedHead) -> int:
        """Content this node may see but was not sent (a relay outside the audience): ask
        this peer for it, and keep what matches the verified envelope's `content_hash`."""
        async with self.read() as session:
            rows = await replica.missing_content(session, head.origin, self.me)
        wanted = {r.seq: r for r in rows if r.seq < head.size}
        found: list[tuple[int, WireEntry]] = []
        seqs = sorted(wanted)
        window = _Window(self.page_size)
        while seqs:
            start, count = seqs[0], 1
            while count < len(seqs) and seqs[count] == start + count and count < self.page_size:
                count += 1
            try:
                doc, _head = await self._fetch_page(base, head.origin, start, count, window)
                page, nxt = parse_page(doc, start=start)
            except (PeerError, PageError):
                return 0
            if nxt == start:
                break  # the peer serves nothing from here
            seqs = [seq for seq in seqs if seq >= nxt]  # a page may hold fewer than asked
            for wire in page:
                row = wanted.get(wire.seq)
                if (
                    row is not None
                    and wire.salt is not None
                    and wire.body is not None
                    and wire.envelope == row.envelope
                    and replica.content_matches(row.envelope, wire.salt, wire.body)
                ):
                    found.append((wire.seq, wire))
        if not found:
            return 0
        async with self.write() as session:
            accepted = []
            for seq, wire in found:
                row = await session.get(EntryRow, (head.origin, seq))
                if row is None or row.content_body is not None:
                    continue
                await replica.fill_content(session, row, wire.salt or b"", wire.body or b"")
                accepted.append(
                    Accepted(
                        wire=wire,
                        type=row.type,
                        issued_at=row.issued_at,
                        audience=tuple(row.audience),
                        key_id=row.key_id,
                        flag=row.flag_reason if row.flagged else None,
                        withheld=False,
                    )
                )
            if accepted:
                await self.on_stored(session, head.origin, accepted, [])
        return len(accepted)

    async def _cosigned_freshness(self, peer: str, base: str, origin: str) -> None:
        """The peer's cosignature on its newest checkpoint of `origin` says when it saw that
        checkpoint as the newest: the origin's log was fresh then (DESIGN §4), if that
        checkpoint is the origin's, signed by it, and exactly this node's copy (size, root)."""
        try:
            text = await _get_text(
                self.client, f"{base}/logs/{origin}/checkpoint", limit=MAX_CHECKPOINT_BYTES
            )
            async with self.read() as session:
                witnessing = await replica.stored_key_state(session, peer)
                witness_size = await log_size(session, peer)
                state = await replica.stored_key_state(session, origin)
                copy = await session.get(LogRow, origin)
            if copy is None or copy.root is None:
                return
            times = witness.fresh_times(
                text,
                origin=cp.origin_line(self.federation, origin),
                origin_keys=state.checkpoint_keys(copy.size),
                size=copy.size,
                root=copy.root,
                witness=cp.origin_line(self.federation, peer),
                witness_keys=list(witnessing.valid_keys(witness_size).values()),
            )
        except (PeerError, FederationError):
            return
        now = self.clock()
        seen = [datetime.fromtimestamp(t, UTC) for t in times]
        seen = [t for t in seen if t <= now + timedelta(seconds=300)]  # not from the future
        if seen:
            async with self.write() as session:
                await replica.seen_fresh(session, origin, max(seen))

    async def _check_witnessed(self, witness_origin: str, entry: Accepted) -> list[str]:
        """Check every origin-signed checkpoint in a stored witness entry against this node's
        copies (DESIGN §4); a validly signed one that disagrees freezes its origin. Returns
        the equivocations found. A malformed or badly signed one implicates the witness only,
        and is passed over here (its log verified; the statement inside is its own)."""
        try:
            claims = witness.witnessed(entry.wire.body or b"")
        except witness.WitnessError:
            return []
        found = []
        for origin_line, text in claims:
            federation, _, origin = origin_line.rpartition("/")
            if federation != self.federation or origin not in self.roots:
                continue  # this node's own log is checked by recovery, not here
            try:
                async with self.write() as session:
                    state = await replica.stored_key_state(session, origin)
                    await replica.accept_checkpoint(
                        session,
                        federation=self.federation,
                        origin=origin,
                        text=text,
                        state=state,
                        now=self.clock(),
                    )
            except replica.CheckpointMismatch as exc:
                found.append(f"{origin}: {exc}")
                async with self.write() as session:
                    await replica.freeze(
                        session,
                        origin=origin,
                        reason=str(exc),
                        first=exc.ours or "",
                        second=exc.theirs,
                        kind="checkpoints",
                        via=witness_origin,
                        now=self.clock(),
                    )
            except FederationError:
                continue
        return found

    async def _fetch_page(
        self, base: str, origin: str, start: int, want: int, window: "_Window"
    ) -> tuple[Any, bytes]:
        """A page of at most `want` entries of `origin` from `start`, and its first bytes as
        served (what a quarantine keeps). An answer over MAX_PAGE_BYTES is asked again for half
        as many entries, down to one; one entry still too big is a bad page (DESIGN §5: "a
        client that meets a page too big asks again with a smaller `limit`"). Raises
        PeerError, or _BadPage for that one entry."""
        while True:
            limit = min(want, window.limit)
            url = f"{base}/logs/{origin}/entries?start={start}&limit={limit}"
            try:
                data = await _get_bytes(self.client, url, limit=MAX_PAGE_BYTES)
            except _TooLarge as exc:
                if limit == 1:
                    cause = PageError(
                        f"entry {start} of {origin}: a page of this one entry exceeds "
                        f"{MAX_PAGE_BYTES} bytes"
                    )
                    raise _BadPage(start, exc.head, cause) from exc
                window.shrink(limit)
                continue
            window.fitted(limit, len(data), most=self.page_size)
            return _parse_json(url, data), bytes(data[: replica.QUARANTINE_ITEM_BYTES])

    async def _pages(
        self, base: str, head: AdvertisedHead, follower: Follower
    ) -> AsyncGenerator[tuple[int, bytes, list[Accepted], keystate.KeyState, list[Any]], None]:
        """(start, first bytes of the page as served, verified entries, key state after them,
        what `prepare` made of them) for `head.origin` up to the peer's size. A pipeline: while the caller
        stores one page, the next one is already fetched and being verified (its check
        follows the previous one's, so the follower's key state is always the one at its
        start), and the one after that is being fetched."""

        window = _Window(self.page_size)

        async def fetch(start: int) -> tuple[Any, bytes]:
            want = min(self.page_size, head.size - start)
            return await self._fetch_page(base, head.origin, start, want, window)

        async def check(start: int, fetching: "asyncio.Future[tuple[Any, bytes]]") -> _Checked:
            doc, served = await fetching
            following: asyncio.Future[tuple[Any, bytes]] | None = None
            try:
                wire, nxt = parse_page(doc, start=start)
                if not wire:
                    raise PageError(
                        f"the peer claims {head.size} entries of {head.origin} "
                        f"but serves none from {start}"
                    )
                if nxt < head.size:
                    following = asyncio.ensure_future(fetch(nxt))
                accepted, prepared = await verify_pool.shared().check_and_prepare(
                    follower, wire, self.prepare
                )
            except PageError as exc:
                _forget(following)
                raise _BadPage(start, served, exc) from exc
            except BaseException:
                _forget(following)
                raise
            return _Checked(start, served, accepted, follower.state, prepared, nxt, following)

        if follower.size >= head.size:
            return
        pending: asyncio.Future[_Checked] | None = asyncio.ensure_future(
            check(follower.size, asyncio.ensure_future(fetch(follower.size)))
        )
        try:
            while pending is not None:
                page = await pending
                pending = None
                if page.following is not None:
                    pending = asyncio.ensure_future(check(page.next, page.following))
                    await asyncio.sleep(0)  # it starts now: parsed and handed to the workers
                yield page.start, page.served, page.accepted, page.state, page.prepared
        finally:
            if pending is not None and pending.done() and not pending.cancelled():
                if pending.exception() is None:
                    _forget(pending.result().following)
            _forget(pending)


@dataclass
class _Window:
    """How many entries a pull asks a peer for at once (`Syncer._fetch_page`). An answer over
    MAX_PAGE_BYTES halves it. An answer that fits lets it grow to as many entries as would
    fill three quarters of MAX_PAGE_BYTES at that answer's bytes per entry asked, at most
    `most`: past a run of large entries the pull is back at full pages at once, and inside
    the run it keeps a size that fits instead of failing every other page."""

    limit: int

    def shrink(self, asked: int) -> None:
        self.limit = max(1, asked // 2)

    def fitted(self, asked: int, served: int, *, most: int) -> None:
        if self.limit < most:
            room = asked * (MAX_PAGE_BYTES * 3 // 4) // max(1, served)
            self.limit = max(self.limit, min(most, room))


@dataclass(frozen=True)
class _View:
    """What a round reads once (`Syncer._view`)."""

    logs: dict[str, LogRow]
    lacking: set[str]
    heads: dict[str, dict[str, int]]  # peer -> origin -> size, as last recorded


@dataclass(frozen=True)
class _Checked:
    """A page verified ahead of being stored (`Syncer._pages`)."""

    start: int
    served: bytes  # the page's first bytes as served (what a quarantine keeps)
    accepted: list[Accepted]
    state: keystate.KeyState  # the origin's key state after this page
    prepared: list[Any]
    next: int
    following: "asyncio.Future[Any] | None"  # the fetch of the page after it


def _size_of(checkpoint: str) -> int:
    """The size a checkpoint states (0 if it does not parse)."""
    try:
        return cp.parse_text(note.parse(checkpoint).text).size
    except FederationError:
        return 0


def _forget(future: "asyncio.Future[Any] | None") -> None:
    """Cancel work of a pipeline that stops; an exception it ends with is not reported."""
    if future is None:
        return
    future.cancel()
    future.add_done_callback(lambda done: done.cancelled() or done.exception())
