"""The regimes' returns (issue 15, item 9): counts of one node's denials, revocations,
consultations and approval notifications over a period, as JSON and CSV, through the API and
the installed `denex report`."""

import csv
import io
from typing import Any

import uuid_utils.compat as uuid_compat

from tests.nodes import FakeClock, LiveNode
from tests.service.notice_data import (
    application,
    insert_foreign_entry,
    insert_foreign_notice,
    notice,
)

RETURNS = "/api/v1/reports/returns"


async def _publish(live: LiveNode, **overrides: Any) -> str:
    r = await live.client.post(
        "/api/v1/notices", json=notice(**overrides), headers=live.auth("officer")
    )
    assert r.status_code == 201, r.text
    return str(r.json()["notice_id"])


async def _activity(live: LiveNode, clock: FakeClock) -> None:
    """This node (de-bafa): three denials in November 2026 and one in 2025, one revoked; a
    consultation asked of fr-sbdu and one received from it; an approval notified."""
    own = await _publish(live)  # WA, EU, HRI; BY; 5A001.j; human-rights
    await _publish(
        live,
        regimes=["WA"],
        destination="IR",
        decision="transit_prohibition",
        items=[{"control_entry": "ML21.b", "description": "software"}],
        grounds=[{"code": "regional-stability"}, {"code": "diversion"}],
    )
    revoked = await _publish(live, decided_on="2026-11-02", destination="RU")
    await _publish(live, decided_on="2025-06-01")  # outside the period
    r = await live.client.post(
        f"/api/v1/notices/{revoked}/revoke",
        json={
            "reason": "Sanctions lifted.",
            "code": "sanctions_lifted",
            "revoked_on": "2026-11-28",
        },
        headers=live.auth("officer"),
    )
    assert r.status_code == 200, r.text
    partner = await insert_foreign_notice(live, clock)
    screened = await live.client.post(
        "/api/v1/screenings", json=application(), headers=live.auth("officer")
    )
    r = await live.client.post(
        "/api/v1/consultations",
        json={
            "screening_id": screened.json()["screening_id"],
            "origin": "fr-sbdu",
            "notice_id": partner,
            "summary": "s",
            "message": "m",
        },
        headers=live.auth("officer"),
    )
    assert r.status_code == 201, r.text
    await insert_foreign_entry(
        live,
        clock,
        "consultation.requested",
        {
            "consultation_id": str(uuid_compat.uuid7()),
            "notice_id": own,
            "notice_version": 1,
            "reply_due": "2026-12-28",
            "summary": "s",
            "message": "m",
        },
    )
    r = await live.client.post(
        "/api/v1/approvals",
        json={
            "origin": "fr-sbdu",
            "notice_id": partner,
            "licence_ref": "L-1",
            "decided_on": "2026-11-28",
            "explanation": "Different end use.",
        },
        headers=live.auth("officer"),
    )
    assert r.status_code == 201, r.text


EXPECTED = {
    "denials": {"total": 3},
    "denials by decision": {"refusal": 2, "transit_prohibition": 1},
    "denials by destination": {"BY": 1, "IR": 1, "RU": 1},
    "denials by regime": {"EU": 2, "HRI": 2, "WA": 3},
    "denials by ground": {"diversion": 1, "human-rights": 2, "regional-stability": 1},
    "denials by item category": {"5": 2, "ML": 1},
    "revocations by reason": {"sanctions_lifted": 1},
    "consultations asked": {"total": 1},
    "consultations asked by regime": {"EU": 1},
    "consultations asked by outcome": {"unanswered": 1},
    "consultations received": {"total": 1},
    "consultations received by regime": {"not named": 1},
    "consultations received by outcome": {"unanswered": 1},
    "approvals notified": {"total": 1},
    "approvals notified by denier": {"fr-sbdu": 1},
    "approvals notified by destination": {"BY": 1},
}


async def test_the_returns_count_what_the_node_did_in_the_period(
    live: LiveNode, clock: FakeClock
) -> None:
    await _activity(live, clock)
    period = {"from": "2026-11-01", "to": "2026-11-30"}
    r = await live.client.get(RETURNS, params=period, headers=live.auth("auditor"))
    assert r.status_code == 200, r.text
    assert r.json() == {"origin": "de-bafa", **period, "counts": EXPECTED}
    r = await live.client.get(
        RETURNS, params={**period, "format": "csv"}, headers=live.auth("officer")
    )
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {(row["section"], row["value"]): int(row["count"]) for row in rows} == {
        (section, value): count
        for section, values in EXPECTED.items()
        for value, count in values.items()
    }
    r = await live.client.get(
        RETURNS, params={"from": "2026-12-01", "to": "2026-12-31"}, headers=live.auth("auditor")
    )
    assert r.json()["counts"] == {}
    r = await live.client.get(
        RETURNS, params={**period, "origin": "fr-sbdu"}, headers=live.auth("auditor")
    )
    assert r.json()["counts"]["denials"] == {"total": 1}


async def test_a_bad_period_is_refused_naming_it(live: LiveNode) -> None:
    for params, field in (
        ({"from": "2026-12-01", "to": "2026-11-01"}, "to"),
        ({"from": "2000-01-01", "to": "2026-11-01"}, "to"),
        ({"from": "2026-02-30", "to": "2026-11-01"}, "from"),
        ({"to": "2026-11-01"}, "from"),
        ({"from": "2026-11-01", "to": "2026-11-30", "format": "xml"}, "format"),
    ):
        r = await live.client.get(RETURNS, params=params, headers=live.auth("auditor"))
        assert r.status_code == 422, (params, r.text)
        assert field in {e["field"] for e in r.json()["errors"]}, (params, r.text)
    r = await live.client.get(
        RETURNS, params={"from": "2026-11-01", "to": "2026-11-30"}, headers=live.auth("admin")
    )
    assert r.status_code == 403
