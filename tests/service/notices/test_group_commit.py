"""Group commit: concurrent API publishes share transactions, and one bad notice fails alone."""

import asyncio

import pytest
from sqlalchemy import func, select

from federation.storage.tables import EntryRow
from service import audit
from service.errors import InvalidInput
from service.notices.schema import NoticeInput
from service.storage.models import AuditRow
from tests.nodes import LiveNode
from tests.service.notice_data import notice


async def test_concurrent_publishes_all_land_in_order(live: LiveNode) -> None:
    bodies = [notice(reference=f"GC-{i:03d}") for i in range(24)]
    responses = await asyncio.gather(
        *(live.client.post("/api/v1/notices", json=b, headers=live.auth("officer")) for b in bodies)
    )
    assert [r.status_code for r in responses] == [201] * 24
    seqs = sorted(r.json()["versions"][0]["seq"] for r in responses)
    assert seqs == list(range(1, 25))  # entry 0 is key.added
    async with live.db.read() as session:
        rows = list(await session.scalars(select(AuditRow).order_by(AuditRow.seq)))
        stored = await session.scalar(select(func.count()).select_from(EntryRow))
    assert stored == 25
    published = [r for r in rows if r.action == "notice.publish"]
    assert sorted(r.target for r in published) == sorted(
        f"de-bafa/{r.json()['notice_id']}" for r in responses
    )
    assert audit.verify_chain(rows) is None


async def test_a_bad_notice_in_a_batch_fails_alone(live: LiveNode) -> None:
    good = [NoticeInput.model_validate(notice(reference=f"OK-{i}")) for i in range(5)]
    # Built without validation, as if a check had been missed: a regime this node lacks.
    bad = NoticeInput.model_construct(**{**good[0].__dict__, "regimes": ["NSG"]})
    submit = live.state.publisher.submit
    results = await asyncio.gather(
        *(submit(n, actor="officer:test") for n in [*good[:2], bad, *good[2:]]),
        return_exceptions=True,
    )
    assert isinstance(results[2], InvalidInput)
    ok = [r for i, r in enumerate(results) if i != 2]
    assert all(isinstance(r, tuple) for r in ok)
    async with live.db.read() as session:
        stored = await session.scalar(select(func.count()).select_from(EntryRow))
    assert stored == 1 + 5


@pytest.mark.parametrize("count", [1, 70])
async def test_batches_of_any_size_are_answered(live: LiveNode, count: int) -> None:
    inputs = [NoticeInput.model_validate(notice(reference=f"N-{i}")) for i in range(count)]
    results = await asyncio.gather(
        *(live.state.publisher.submit(n, actor="officer:test") for n in inputs)
    )
    assert sorted(entry.seq for _row, entry in results) == list(range(1, count + 1))
