"""Back-off after a failed contact scales with the sync interval, and a valid hint from the
peer ends it (DESIGN §5): a peer that was down for a round is tried again within about one
interval, and one that says it is back is pulled from at the next tick."""

from datetime import datetime, timedelta

import httpx
import pytest

from federation.network.pull import retry_bounds
from federation.storage.tables import PeerSyncRow
from service.sync.rounds import due_peers, sync_round
from tests.nodes import FakeClock, LiveNode
from tests.sync_peers import peer_client

INTERVAL = 2.0


@pytest.mark.parametrize(
    ("interval", "base", "cap"),
    [(2.0, 2.0, 60.0), (30.0, 30.0, 900.0), (60.0, 60.0, 900.0), (3600.0, 3600.0, 3600.0),
     (0.1, 1.0, 30.0)],
)  # fmt: skip
def test_the_back_off_base_is_one_interval_and_its_cap_thirty_or_fifteen_minutes(
    interval: float, base: float, cap: float
) -> None:
    assert retry_bounds(interval) == (base, cap)


class _Down(httpx.AsyncBaseTransport):
    """A peer whose host refuses every connection."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)


async def _fail_once(a: LiveNode, clock: FakeClock) -> PeerSyncRow:
    async with httpx.AsyncClient(transport=_Down(), base_url="http://peer") as client:
        [report] = await sync_round(
            a.db, a.node, client, clock=clock, peer="de-bafa", interval=INTERVAL
        )
    assert report.error is not None and "ConnectError" in report.error
    return await _status(a)


async def _status(a: LiveNode) -> PeerSyncRow:
    async with a.db.read() as session:
        status = await session.get(PeerSyncRow, "de-bafa")
    assert status is not None
    return status


def _wait(status: PeerSyncRow, now: datetime) -> float:
    assert status.next_attempt is not None
    moment = status.next_attempt.replace(tzinfo=now.tzinfo)
    return (moment - now).total_seconds()


async def _due(a: LiveNode, now: datetime) -> list[str]:
    async with a.db.read() as session:
        return [p.node_id for p in await due_peers(session, now, interval=INTERVAL)]


async def test_a_peer_down_for_one_round_is_tried_again_within_one_and_a_half_intervals(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    a, _b = pair
    status = await _fail_once(a, clock)
    assert status.failures == 1
    assert INTERVAL * 0.5 <= _wait(status, clock()) < INTERVAL * 1.5
    assert await _due(a, clock() + timedelta(seconds=INTERVAL * 1.5)) == ["de-bafa"]
    status = await _fail_once(a, clock)  # still down: twice as long, still interval-sized
    assert status.failures == 2
    assert INTERVAL <= _wait(status, clock()) < INTERVAL * 3


async def test_a_hint_from_the_peer_ends_its_back_off(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    a, b = pair
    for _ in range(4):
        status = await _fail_once(a, clock)
    assert status.failures == 4 and _wait(status, clock()) >= INTERVAL * 4
    assert await _due(a, clock()) == []
    async with peer_client(b, a) as client:  # b is back and says it has news
        r = await client.post("/federation/v1/hint", json={"origin": "de-bafa", "size": 1})
    assert r.status_code == 202, r.text
    status = await _status(a)
    assert (status.failures, _wait(status, clock())) == (0, 0.0)
    assert await _due(a, clock()) == ["de-bafa"]
    status = await _fail_once(a, clock)  # down again at once: the back-off starts afresh
    assert status.failures == 1 and _wait(status, clock()) < INTERVAL * 1.5


async def test_a_hint_that_is_not_valid_leaves_the_back_off_alone(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    a, b = pair
    for _ in range(3):
        await _fail_once(a, clock)
    async with peer_client(b, a) as client:
        bad = await client.post("/federation/v1/hint", json={"origin": "de-bafa", "size": -1})
    unsigned = await a.client.post("/federation/v1/hint", json={"origin": "de-bafa", "size": 1})
    assert (bad.status_code, unsigned.status_code) == (422, 401)
    status = await _status(a)
    assert status.failures == 3 and _wait(status, clock()) > 0
