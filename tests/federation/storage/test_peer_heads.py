"""What each peer listed in its `GET /logs` (heads.record_heads): written only when it
changed, and safe when another process (`denex sync` beside `denex serve`) wrote the same
row after this round read it."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from federation.storage import heads
from federation.storage.tables import PeerHeadRow
from tests.nodes import LiveNode

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


async def _heads(live: LiveNode) -> dict[str, tuple[int, datetime]]:
    async with live.db.read() as session:
        rows = await session.scalars(select(PeerHeadRow).where(PeerHeadRow.peer == "fr-sbdu"))
        return {r.origin: (r.size, r.seen_at.replace(tzinfo=UTC)) for r in rows}


async def test_a_head_written_by_another_process_since_the_round_read_is_updated(
    live: LiveNode,
) -> None:
    async with live.db.write() as session:  # the other process, after this round read {}
        await heads.record_heads(session, "fr-sbdu", {"fr-sbdu": 5}, now=T0, known={})
    later = T0 + timedelta(seconds=30)
    async with live.db.write() as session:  # this round still believes nothing is stored
        await heads.record_heads(
            session, "fr-sbdu", {"fr-sbdu": 7, "nl-cdiu": 2}, now=later, known={}
        )
    assert await _heads(live) == {"fr-sbdu": (7, later), "nl-cdiu": (2, later)}

    # the same size again keeps the time it was first listed; a gone origin is removed
    async with live.db.write() as session:
        await heads.record_heads(
            session, "fr-sbdu", {"fr-sbdu": 7}, now=later + timedelta(minutes=1), known={}
        )
        await heads.record_heads(
            session,
            "fr-sbdu",
            {"fr-sbdu": 7},
            now=later + timedelta(minutes=1),
            known={"fr-sbdu": 7, "nl-cdiu": 2},
        )
    assert await _heads(live) == {"fr-sbdu": (7, later)}
