"""Entry pages are bounded by bytes on both sides (DESIGN §5: "the server fills a page up to
the byte limit, never past it; a client that meets a page too big asks again with a smaller
`limit`"): the server's pages, a log of maximum-size entries pulled in-process, a peer that
caps pages by count only (its answers padded as entries of about 1 MiB would make them), one
entry too big for any page, and pages shorter than asked while content is filled in."""

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from federation.core.follow import MAX_PAGE_BYTES
from federation.network.client import PeerAuth
from federation.storage.pages import entry_page
from federation.storage.quarantine import QUARANTINE_ITEM_BYTES
from federation.storage.tables import EntryRow, QuarantineRow
from federation.storage.tree import Rows
from service.storage.models import NoticeRow
from service.sync.reports import PeerReport
from service.sync.rounds import sync_round
from tests.nodes import FakeClock, LiveNode
from tests.service.notice_data import large_notice, notice
from tests.sync_peers import sync_once, trio

MIB = 1024 * 1024


async def _publish(live: LiveNode, bodies: list[dict[str, object]]) -> None:
    for body in bodies:
        r = await live.client.post("/api/v1/notices", json=body, headers=live.auth("officer"))
        assert r.status_code == 201, r.text


async def _count(live: LiveNode, origin: str) -> int:
    async with live.db.read() as session:
        found = await session.scalar(
            select(func.count()).select_from(EntryRow).where(EntryRow.origin == origin)
        )
    return int(found or 0)


# --- the server ---------------------------------------------------------------------------


async def test_a_page_holds_as_many_entries_as_fit_and_never_more_bytes(live: LiveNode) -> None:
    """For every byte limit between the sizes of consecutive pages, the page is the longest
    one that fits, byte for byte the compact JSON of its document; below the first entry's
    size it still holds that one entry. Content the reader may not see is left out, so more
    of its entries fit."""
    await _publish(live, [notice(reference=f"P-{n}") for n in range(6)])
    for reader in ("de-bafa", "xx-outside"):  # the origin's own audience; a stranger
        async with live.db.rows() as rows:
            exact = [
                await entry_page(rows, "de-bafa", start=2, limit=k, reader=reader)
                for k in range(1, 6)
            ]  # the pages of 1..5 entries from seq 2, with no byte limit in the way
            for k, page in enumerate(exact, start=1):
                doc = json.loads(page)
                assert [e["seq"] for e in doc["entries"]] == list(range(2, 2 + k))
                assert doc["next"] == 2 + k and page == orjson.dumps(doc)
                longer = exact[k] if k < len(exact) else None
                limits = [len(page), len(page) + 1]
                if longer is not None:
                    limits.append(len(longer) - 1)
                for max_bytes in limits:
                    got = await entry_page(
                        rows, "de-bafa", start=2, limit=1000, reader=reader, max_bytes=max_bytes
                    )
                    assert got == page, (reader, k, max_bytes)
                    assert len(got) <= max_bytes
            tiny = await entry_page(
                rows, "de-bafa", start=2, limit=1000, reader=reader, max_bytes=10
            )
            assert tiny == exact[0]  # at least one entry, whatever the limit
            past = await entry_page(rows, "de-bafa", start=7, limit=1000, reader=reader)
            assert json.loads(past) == {"entries": [], "next": 7}
    async with live.db.rows() as rows:
        mine = await entry_page(rows, "de-bafa", start=1, limit=5, reader="de-bafa")
        theirs = await entry_page(rows, "de-bafa", start=1, limit=5, reader="xx-outside")
    assert all(e["content"] for e in json.loads(mine)["entries"])
    assert not any(e["content"] for e in json.loads(theirs)["entries"])


@dataclass
class _Peer(httpx.AsyncBaseTransport):
    """A peer's real app, with its entry pages recorded (the `limit` asked, the bytes served)
    and optionally padded: `pad` maps a seq to the whitespace put after that entry, as a
    peer that caps pages by count only would serve entries that large."""

    inner: httpx.AsyncBaseTransport
    pad: dict[int, int] = field(default_factory=dict)
    pages: list[tuple[int, int, int]] = field(default_factory=list)  # start, limit, bytes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if not request.url.path.endswith("/entries") or response.status_code != 200:
            return response
        body = await response.aread()
        if self.pad:
            doc = json.loads(body)
            pieces = [
                json.dumps(e).encode() + b" " * self.pad.get(e["seq"], 0) for e in doc["entries"]
            ]
            body = b'{"entries":[%b],"next":%d}' % (b",".join(pieces), doc["next"])
        query = parse_qs(request.url.query.decode())
        self.pages.append((int(query["start"][0]), int(query["limit"][0]), len(body)))
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})


async def _pull(a: LiveNode, b: LiveNode, clock: FakeClock, peer: _Peer) -> PeerReport:
    auth = PeerAuth(lambda: a.node.signing, clock=clock)
    async with httpx.AsyncClient(transport=peer, auth=auth, base_url="http://peer") as client:
        [report] = await sync_round(a.db, a.node, client, clock=clock, peer=b.node.identity.node_id)
    return report


def _peer(b: LiveNode, pad: dict[int, int] | None = None) -> _Peer:
    app = b.client._transport.app  # type: ignore[attr-defined]
    return _Peer(httpx.ASGITransport(app=app), pad or {})


async def test_a_log_of_maximum_size_entries_syncs_in_pages_under_the_limit(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    """26 notices of ~251 KiB content: ~8.9 MB as one page of 1000. The server ends each page
    before 8 MiB; the client takes the shorter pages as they come."""
    a, b = pair
    await _publish(b, [large_notice(f"BIG-{n}") for n in range(26)])
    peer = _peer(b)
    report = await _pull(a, b, clock, peer)
    assert report.error is None and report.origins[0].error is None, report
    assert report.fetched == 27 and report.origins[0].checkpoint
    assert all(served <= MAX_PAGE_BYTES for _start, _limit, served in peer.pages), peer.pages
    assert len(peer.pages) >= 2 and peer.pages[0][2] > MAX_PAGE_BYTES - 400 * 1024
    async with a.db.read() as session:
        held = await session.scalar(
            select(func.count()).select_from(NoticeRow).where(NoticeRow.origin == "de-bafa")
        )
    assert held == 26
    async with b.db.rows() as rows:  # the server reads no statement of more than a page
        reading = _Reading(rows)
        page = await entry_page(
            reading, "de-bafa", start=0, limit=1000, reader="fr-sbdu", max_bytes=2 * MIB
        )
    assert len(page) <= 2 * MIB and 0 < max(reading.loaded) <= 2 * MIB, reading.loaded


@dataclass
class _Reading:
    """A `Rows` that notes how many bytes each statement brought into memory."""

    inner: Rows
    loaded: list[int] = field(default_factory=list)
    paramstyle: str = field(init=False)
    cheap_statements: bool = field(init=False)

    def __post_init__(self) -> None:
        self.paramstyle, self.cheap_statements = self.inner.paramstyle, self.inner.cheap_statements

    async def all(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        found = await self.inner.all(sql, params)
        self.loaded.append(sum(len(v) for row in found for v in row if isinstance(v, bytes)))
        return found


# --- the client ---------------------------------------------------------------------------


async def test_a_page_too_big_is_asked_again_smaller_then_the_limit_grows_back(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    """The peer caps pages by count only, and entries 1..16 weigh ~1 MiB each as it serves
    them: the client halves `limit` until a page fits, keeps a size that fits through the
    large entries, and asks for full pages again once they are past."""
    a, b = pair
    await _publish(b, [notice(reference=f"N-{n}") for n in range(40)])
    peer = _peer(b, pad={seq: MIB for seq in range(1, 17)})
    report = await _pull(a, b, clock, peer)
    assert report.origins[0].error is None, report
    assert report.fetched == 41 and await _count(a, "de-bafa") == 41
    refused = [(start, limit) for start, limit, served in peer.pages if served > MAX_PAGE_BYTES]
    assert refused[:3] == [(0, 41), (0, 20), (0, 10)], peer.pages  # halved from all 41
    fitted = [(start, limit) for start, limit, served in peer.pages if served <= MAX_PAGE_BYTES]
    assert fitted[0][0] == 0 and fitted[0][1] < 16, peer.pages
    small = max(limit for start, limit in fitted if start <= 16)
    after = [limit for start, limit in fitted if start > 16]
    assert after and max(after) > small, peer.pages  # it grew back past the large entries
    assert fitted[-1][0] + fitted[-1][1] == 41


async def test_one_entry_too_big_for_any_page_is_a_bad_page_and_quarantined(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    a, b = pair
    await _publish(b, [notice(reference=f"N-{n}") for n in range(5)])
    peer = _peer(b, pad={3: 9 * MIB})
    report = await _pull(a, b, clock, peer)
    [origin] = report.origins
    assert origin.error is not None and "entry 3 of de-bafa" in origin.error, origin
    assert "exceeds" in origin.error and origin.after == 3  # what came before it is kept
    assert (3, 1) in [(start, limit) for start, limit, _served in peer.pages]
    async with a.db.read() as session:
        [kept] = list(await session.scalars(select(QuarantineRow)))
    assert (kept.peer, kept.origin, kept.start) == ("de-bafa", "de-bafa", 3)
    assert 0 < len(kept.data) <= QUARANTINE_ITEM_BYTES
    assert (await sync_once(a, b, clock)).fetched == 3  # the honest path brings the rest


async def test_content_is_filled_in_from_pages_shorter_than_asked(
    make_node: Callable[..., Awaitable[LiveNode]], clock: FakeClock
) -> None:
    """nl may see three notices that reached it through fr without content; de answers its
    request for them one entry a page (fewer than asked is normal): nl asks on from `next`
    and gets all three."""
    de, fr, nl = await trio(make_node)
    await _publish(de, [notice(reference=f"NL-{n}", audience=["nl-cdiu"]) for n in range(3)])
    await sync_once(fr, de, clock)
    await sync_once(nl, fr, clock)
    async with nl.db.read() as session:
        lacking = await session.scalar(
            select(func.count()).select_from(EntryRow).where(EntryRow.content_body.is_(None))
        )
    assert lacking == 3

    def one_a_page(path: str, doc: Any) -> Any:
        if path.endswith("/entries") and doc["entries"]:
            doc = {"entries": doc["entries"][:1], "next": doc["entries"][0]["seq"] + 1}
        return doc

    report = await sync_once(nl, de, clock, rewrite=one_a_page)
    assert sum(o.filled for o in report.origins) == 3, report


@pytest.mark.parametrize("count", [1, 3])
async def test_a_peer_serving_shorter_pages_than_asked_is_followed_from_next(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock, count: int
) -> None:
    a, b = pair
    await _publish(b, [notice(reference=f"S-{n}") for n in range(7)])

    def shorter(path: str, doc: Any) -> Any:
        if path.endswith("/entries") and doc["entries"]:
            kept = doc["entries"][:count]
            doc = {"entries": kept, "next": kept[0]["seq"] + len(kept)}
        return doc

    report = await sync_once(a, b, clock, rewrite=shorter)
    assert report.origins[0].error is None and report.fetched == 8, report
