"""Reading a peer's logs (DESIGN §5): its heads, pages of entries verified on arrival, the
content it holds of entries this node lacks, and its checkpoints. Nothing here stores or
calls back: a pull hands typed, verified pages (`VerifiedPage`) to whoever iterates it (the
service's sync, `service.sync`), which stores them. Logs relay transitively: the peer may
serve any origin, not only itself.

`PeerReader.pages` is a pipeline: while the caller stores one page, the next one is already
fetched and being verified (`federation.network.verify_pool`), and the one after that is
being fetched. A page that fails verification raises `BadPage` with where it started and its
first bytes as served (what a quarantine keeps); nothing of it is handed on. Network
failures and answers that are not the protocol's become `PeerError`.
"""

import asyncio
import json
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import orjson

from federation.core import checkpoint as cp
from federation.core import keystate, note
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
from federation.storage import content, quarantine

MAX_LOGS_BYTES = 1024 * 1024
MAX_CHECKPOINT_BYTES = 16 * 1024
MAX_KEPT_HEADER = 200  # characters of a header value a caller asked to keep
RETRY_CAP_INTERVALS = 30  # back-off: at most this many sync intervals ...
RETRY_CAP_SECONDS = 900.0  # ... and at most 15 minutes (never less than one interval)
MIN_RETRY = 1.0  # seconds: the shortest back-off base, whatever the interval


class PeerError(FederationError):
    """A peer could not be reached or gave an answer that is not the protocol's."""


class BadPage(PageError):
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


@dataclass(frozen=True)
class VerifiedPage:
    """A page of `origin`'s log from `start`, every entry verified in order against the key
    state before it; `state` is the origin's key state after the page."""

    origin: str
    start: int
    served: bytes  # the page's first bytes as served (what a quarantine keeps)
    entries: list[Accepted]
    state: keystate.KeyState

    @property
    def end(self) -> int:
        return self.start + len(self.entries)


class _TooLarge(PeerError):
    """An answer that went past its byte limit while it streamed; `head` is what came first."""

    def __init__(self, message: str, head: bytes) -> None:
        super().__init__(message)
        self.head = head


async def _get_bytes(
    client: httpx.AsyncClient,
    url: str,
    *,
    limit: int,
    on_headers: Callable[[httpx.Headers], None] | None = None,
) -> bytearray:
    """The body of a 200 answer, read until `limit` bytes and no further; its headers go to
    `on_headers` first."""
    try:
        async with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise PeerError(f"GET {url}: HTTP {response.status_code}")
            if on_headers is not None:
                on_headers(response.headers)
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data.extend(chunk)
                if len(data) > limit:
                    raise _TooLarge(
                        f"GET {url}: answer exceeds {limit} bytes",
                        bytes(data[: quarantine.QUARANTINE_ITEM_BYTES]),
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


async def peer_head(client: httpx.AsyncClient, url: str, origin: str) -> AdvertisedHead | None:
    """What the peer at `url` holds of `origin`, by its `GET /logs` (None if it lists none).
    Raises PeerError."""
    return next((h for h in await PeerReader(client, url).heads() if h.origin == origin), None)


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


def size_of(checkpoint: str) -> int:
    """The size a checkpoint states (0 if it does not parse)."""
    try:
        return cp.parse_text(note.parse(checkpoint).text).size
    except FederationError:
        return 0


class PeerReader:
    """What one peer serves under `url`'s federation API, read with `client` (which signs
    every request), at most `page_size` entries a page."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        *,
        page_size: int = MAX_PAGE_ENTRIES,
        keep_headers: Sequence[str] = (),
    ) -> None:
        self.client, self.page_size = client, page_size
        self.base = url.rstrip("/") + "/federation/v1"
        self.keep_headers = tuple(keep_headers)
        # the headers named in keep_headers of the last `GET /logs` answer, those present
        # and at most MAX_KEPT_HEADER characters; what they mean is the caller's
        self.kept: dict[str, str] = {}

    async def heads(self) -> list[AdvertisedHead]:
        """The peer's `GET /logs`. Raises PeerError."""
        url = f"{self.base}/logs"
        data = await _get_bytes(self.client, url, limit=MAX_LOGS_BYTES, on_headers=self._keep)
        return parse_heads(_parse_json(url, data))

    def _keep(self, headers: httpx.Headers) -> None:
        self.kept = {
            name: value
            for name in self.keep_headers
            if (value := headers.get(name)) is not None and len(value) <= MAX_KEPT_HEADER
        }

    async def checkpoint(self, origin: str) -> str:
        """The peer's newest checkpoint of `origin`, cosignatures included. Raises PeerError."""
        url = f"{self.base}/logs/{origin}/checkpoint"
        return await _get_text(self.client, url, limit=MAX_CHECKPOINT_BYTES)

    async def content(
        self, origin: str, envelopes: Mapping[int, bytes], size: int
    ) -> list[WireEntry]:
        """The entries of `origin` among `envelopes` (seq -> the envelope this node verified
        and stored without content) that the peer serves with content matching the
        envelope's `content_hash`, below `size`. Whatever the peer fails to serve is left
        out: an empty list when it serves nothing or something malformed."""
        found: list[WireEntry] = []
        seqs = sorted(seq for seq in envelopes if seq < size)
        window = _Window(self.page_size)
        while seqs:
            start, count = seqs[0], 1
            while count < len(seqs) and seqs[count] == start + count and count < self.page_size:
                count += 1
            try:
                doc, _head = await self._fetch_page(origin, start, count, window)
                page, nxt = parse_page(doc, start=start)
            except (PeerError, PageError):
                return []
            if nxt == start:
                break  # the peer serves nothing from here
            seqs = [seq for seq in seqs if seq >= nxt]  # a page may hold fewer than asked
            for wire in page:
                envelope = envelopes.get(wire.seq)
                if (
                    envelope is not None
                    and wire.salt is not None
                    and wire.body is not None
                    and wire.envelope == envelope
                    and content.content_matches(envelope, wire.salt, wire.body)
                ):
                    found.append(wire)
        return found

    async def _fetch_page(
        self, origin: str, start: int, want: int, window: "_Window"
    ) -> tuple[Any, bytes]:
        """A page of at most `want` entries of `origin` from `start`, and its first bytes as
        served (what a quarantine keeps). An answer over MAX_PAGE_BYTES is asked again for half
        as many entries, down to one; one entry still too big is a bad page (DESIGN §5: "a
        client that meets a page too big asks again with a smaller `limit`"). Raises
        PeerError, or BadPage for that one entry."""
        while True:
            limit = min(want, window.limit)
            url = f"{self.base}/logs/{origin}/entries?start={start}&limit={limit}"
            try:
                data = await _get_bytes(self.client, url, limit=MAX_PAGE_BYTES)
            except _TooLarge as exc:
                if limit == 1:
                    cause = PageError(
                        f"entry {start} of {origin}: a page of this one entry exceeds "
                        f"{MAX_PAGE_BYTES} bytes"
                    )
                    raise BadPage(start, exc.head, cause) from exc
                window.shrink(limit)
                continue
            window.fitted(limit, len(data), most=self.page_size)
            return _parse_json(url, data), bytes(data[: quarantine.QUARANTINE_ITEM_BYTES])

    async def pages(
        self, head: AdvertisedHead, follower: Follower
    ) -> AsyncGenerator[VerifiedPage, None]:
        """The pages of `head.origin` from the follower's size up to the peer's, verified
        by the follower (moved on past each). A pipeline: while the caller stores one page,
        the next one is already fetched and being verified (its check follows the previous
        one's, so the follower's key state is always the one at its start), and the one after
        that is being fetched. Raises PeerError, or BadPage (nothing of it yielded)."""

        window = _Window(self.page_size)

        async def fetch(start: int) -> tuple[Any, bytes]:
            want = min(self.page_size, head.size - start)
            return await self._fetch_page(head.origin, start, want, window)

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
                accepted = await verify_pool.shared().check(follower, wire)
            except PageError as exc:
                _forget(following)
                raise BadPage(start, served, exc) from exc
            except BaseException:
                _forget(following)
                raise
            page = VerifiedPage(head.origin, start, served, accepted, follower.state)
            return _Checked(page, nxt, following)

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
                yield page.page
        finally:
            if pending is not None and pending.done() and not pending.cancelled():
                if pending.exception() is None:
                    _forget(pending.result().following)
            _forget(pending)


@dataclass
class _Window:
    """How many entries a pull asks a peer for at once (`PeerReader._fetch_page`). An answer over
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
class _Checked:
    """A page verified ahead of being handed on (`PeerReader.pages`)."""

    page: VerifiedPage
    next: int
    following: "asyncio.Future[Any] | None"  # the fetch of the page after it


def _forget(future: "asyncio.Future[Any] | None") -> None:
    """Cancel work of a pipeline that stops; an exception it ends with is not reported."""
    if future is None:
        return
    future.cancel()
    future.add_done_callback(lambda done: done.cancelled() or done.exception())
