"""The live screening index follows the database incrementally (DESIGN §7): loaded once in
batches, then only the notices touched by new entries are re-read, whoever wrote them."""

from service.screening.live import LiveIndex
from tests.nodes import FakeClock, LiveNode
from tests.service.notice_data import insert_foreign_notice, notice


async def _publish(live: LiveNode, reference: str) -> str:
    r = await live.client.post(
        "/api/v1/notices", json=notice(reference=reference), headers=live.auth("officer")
    )
    assert r.status_code == 201, r.text
    return str(r.json()["notice_id"])


async def test_loads_in_batches_then_refreshes_only_what_changed(
    live: LiveNode, clock: FakeClock
) -> None:
    first = [await _publish(live, f"L-{n}") for n in range(7)]
    index = LiveIndex(live.db, batch=3)  # seven notices: three batches
    loaded = await index.refresh()
    assert loaded.reloaded and len(index.screener) == 7
    assert loaded.changed == {("de-bafa", n) for n in first}
    assert (await index.refresh()).changed == set()  # nothing new: nothing re-read

    added = await _publish(live, "L-8")
    partner = await insert_foreign_notice(live, clock)  # as sync stores a partner's entry
    r = await live.client.post(
        f"/api/v1/notices/{first[0]}/revoke",
        json={"reason": "withdrawn", "revoked_on": "2026-11-28"},
        headers=live.auth("officer"),
    )
    assert r.status_code == 200, r.text
    refreshed = await index.refresh()
    assert not refreshed.reloaded
    assert refreshed.changed == {
        ("de-bafa", added),
        ("fr-sbdu", partner),
        ("de-bafa", first[0]),
    }
    assert len(index.screener) == 8  # seven, one revoked, two new
    assert ("de-bafa", first[0]) not in index.screener
    assert ("fr-sbdu", partner) in index.screener
    assert set(index.snapshot()) == {"de-bafa", "fr-sbdu"}
    assert index.snapshot()["de-bafa"]["size"] == 1 + 8 + 1  # key.added, 8 notices, 1 revocation
