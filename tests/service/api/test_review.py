"""`notice.reviewed` (issue 15, decision 0034): a review that maintains a denial restarts its
clock, for the origin and for every partner that syncs it, in screening and in evidence."""

import json
from typing import Any

from sqlalchemy import select

from federation.storage.tables import EntryRow
from service.evidence.verify import verify_bundle
from tests.nodes import FakeClock, LiveNode
from tests.service.notice_data import application, notice
from tests.sync_peers import sync_once


async def _publish(live: LiveNode, **overrides: Any) -> str:
    r = await live.client.post(
        "/api/v1/notices", json=notice(**overrides), headers=live.auth("officer")
    )
    assert r.status_code == 201, r.text
    return str(r.json()["notice_id"])


async def test_a_maintained_review_restarts_the_clock_everywhere(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    fr, de = pair
    notice_id = await _publish(
        de, regimes=["WA"], decided_on="2023-11-20", valid_until="2026-12-01"
    )
    r = await de.client.post(
        f"/api/v1/notices/{notice_id}/review",
        json={"outcome": "maintained", "reviewed_on": "2026-11-28", "note": "Unchanged risk."},
        headers=de.auth("officer"),
    )
    assert r.status_code == 200, r.text
    doc = r.json()
    assert (doc["valid_until"], doc["reviewed_on"], doc["version"]) == (
        "2029-11-28",  # three years, Wassenaar's review period in the built-in profile
        "2026-11-28",
        1,
    )
    assert doc["notice"]["valid_until"] == "2026-12-01"  # the signed version is unchanged
    assert [v["kind"] for v in doc["versions"]] == ["published", "reviewed"]
    async with de.db.read() as session:
        entry = await session.get(EntryRow, ("de-bafa", doc["versions"][1]["seq"]))
        assert entry is not None and entry.type == "notice.reviewed"
        assert json.loads(entry.content_body or b"{}")["next_review"] == "2029-11-28"

    assert (await sync_once(fr, de, clock)).error is None
    clock.advance(days=30)  # past the first review date: still active, still matched
    r = await fr.client.get(f"/api/v1/notices/de-bafa/{notice_id}", headers=fr.auth("officer"))
    assert (r.json()["status"], r.json()["valid_until"]) == ("active", "2029-11-28")
    r = await fr.client.post("/api/v1/screenings", json=application(), headers=fr.auth("officer"))
    assert notice_id in {m["notice_id"] for m in r.json()["matches"]}

    # the review is a version of the notice: an auditor's bundle carries it, and is complete
    r = await fr.client.get(f"/api/v1/evidence/de-bafa/{notice_id}", headers=fr.auth("auditor"))
    assert r.status_code == 200, r.text
    report = verify_bundle(r.content)
    assert [v.type for v in report.versions] == ["notice.published", "notice.reviewed"]
    assert report.versions_complete


async def test_a_review_is_refused_when_it_cannot_be_one(live: LiveNode) -> None:
    notice_id = await _publish(live)
    url = f"/api/v1/notices/{notice_id}/review"
    cases = [
        ({"outcome": "amended"}, "outcome"),
        ({"outcome": "maintained", "reviewed_on": "2026-13-01"}, "reviewed_on"),
        (
            {"outcome": "maintained", "reviewed_on": "2026-11-28", "next_review": "2026-11-01"},
            "body",
        ),
        ({"outcome": "maintained", "extra": 1}, "extra"),
    ]
    for body, field in cases:
        r = await live.client.post(url, json=body, headers=live.auth("officer"))
        assert r.status_code == 422, (body, r.text)
        assert field in {e["field"] for e in r.json()["errors"]}, (body, r.text)
    r = await live.client.post(url, json={"outcome": "maintained"}, headers=live.auth("auditor"))
    assert r.status_code == 403
    unknown = "0193b7c4-0000-7000-8000-000000000000"
    r = await live.client.post(
        f"/api/v1/notices/{unknown}/review",
        json={"outcome": "maintained"},
        headers=live.auth("officer"),
    )
    assert r.status_code == 404
    r = await live.client.post(
        f"/api/v1/notices/{notice_id}/revoke",
        json={"reason": "Review outcome: revoked.", "code": "review_outcome"},
        headers=live.auth("officer"),
    )
    assert r.status_code == 200
    r = await live.client.post(url, json={"outcome": "maintained"}, headers=live.auth("officer"))
    assert r.status_code == 409
    async with live.db.read() as session:  # nothing was written by the refused reviews
        kinds = list(
            await session.scalars(select(EntryRow.type).where(EntryRow.type == "notice.reviewed"))
        )
    assert kinds == []
