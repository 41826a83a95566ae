"""The notice API as an officer, an auditor and an admin use it: publish, read, amend, revoke,
authentication, permissions, and status over time (DESIGN §6, §8).

Every test runs against a real node (real keys, real database: SQLite and PostgreSQL) through
the real app; the clock is the only thing faked.
"""

import base64
import hashlib
import json
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import uuid_utils.compat as uuid_compat
from sqlalchemy import func, select

from federation.storage.tables import EntryRow
from service.storage.models import AuditRow, NoticeRow
from service.tokens import create_token, revoke_token
from tests.nodes import START, FakeClock, LiveNode
from tests.service.notice_data import insert_foreign_notice, notice

PROBLEM = "application/problem+json"
NOTICES = "/api/v1/notices"
FOREIGN = "fr-sbdu"


# --- helpers -------------------------------------------------------------------------------


async def publish(live: LiveNode, **overrides: Any) -> dict[str, Any]:
    response = await live.client.post(
        NOTICES, json=notice(**overrides), headers=live.auth("officer")
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    doc: dict[str, Any] = response.json()
    assert doc["status"] == status
    assert doc["title"]
    return doc


async def counts(live: LiveNode) -> tuple[int, int, int]:
    async with live.db.read() as session:
        entries = await session.scalar(select(func.count()).select_from(EntryRow))
        notices = await session.scalar(select(func.count()).select_from(NoticeRow))
        audits = await session.scalar(select(func.count()).select_from(AuditRow))
    return int(entries or 0), int(notices or 0), int(audits or 0)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- publish ---------------------------------------------------------------------------------


async def test_publish_returns_the_stored_notice(live: LiveNode) -> None:
    response = await live.client.post(NOTICES, json=notice(), headers=live.auth("officer"))

    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    doc = response.json()
    notice_id = doc["notice_id"]
    parsed = uuid.UUID(notice_id)
    assert str(parsed) == notice_id
    assert parsed.version == 7
    assert notice_id[14] == "7"
    assert doc["origin"] == "de-bafa"
    assert doc["version"] == 1
    assert doc["status"] == "active"
    assert doc["review_due"] is False
    assert doc["audience"] == ["de-bafa"]
    assert doc["revoked_on"] is None
    assert doc["revoked_reason"] is None

    body = doc["notice"]
    assert body["notice_id"] == notice_id
    assert body["version"] == 1
    assert body["supersedes"] is None
    assert body["items"][0]["control_entry"] == "5A001.j"
    assert body["valid_until"] == "2029-11-20"
    assert body["regimes"] == ["EU", "HRI", "WA"]
    assert body["parties"][0]["aliases"] == notice()["parties"][0]["aliases"]

    [v1] = doc["versions"]
    assert v1["version"] == 1
    assert v1["kind"] == "published"
    assert v1["seq"] == 1  # entry 0 is the node's key.added

    second = await publish(live)
    assert second["notice_id"] != notice_id
    assert uuid.UUID(second["notice_id"]).version == 7
    assert second["versions"][0]["seq"] == 2


CONTROL_SPELLINGS = [
    ("5.A.1.j", "5A001.j"),
    ("5a001j", "5A001.j"),
    ("5A001.j", "5A001.j"),
    ("ml21.b", "ML21.b"),
    ("Catch-All", "catch-all"),
]


async def test_control_entries_are_stored_normalised(live: LiveNode) -> None:
    items = [{**notice()["items"][0], "control_entry": given} for given, _ in CONTROL_SPELLINGS]

    doc = await publish(live, items=items)

    assert [i["control_entry"] for i in doc["notice"]["items"]] == [
        stored for _, stored in CONTROL_SPELLINGS
    ]


async def test_valid_until_defaults_to_three_years_unless_given(live: LiveNode) -> None:
    cases = [
        ({"decided_on": "2026-11-20"}, "2029-11-20"),
        ({"decided_on": "2024-02-29"}, "2027-02-28"),  # no 29 February in 2027
        ({"decided_on": "2026-01-01"}, "2029-01-01"),
        ({"decided_on": "2026-11-20", "valid_until": "2027-06-30"}, "2027-06-30"),
    ]
    for overrides, valid_until in cases:
        doc = await publish(live, **overrides)
        assert doc["notice"]["valid_until"] == valid_until, overrides


# --- read ----------------------------------------------------------------------------------


async def test_get_returns_every_version_exactly_as_stored(live: LiveNode) -> None:
    published = await publish(live)
    notice_id = published["notice_id"]
    amended = notice(reference="BAFA-2026-0117-A")
    response = await live.client.post(
        f"{NOTICES}/{notice_id}/amend", json=amended, headers=live.auth("officer")
    )
    assert response.status_code == 200, response.text

    response = await live.client.get(f"{NOTICES}/{notice_id}", headers=live.auth("auditor"))

    assert response.status_code == 200, response.text
    doc = response.json()
    assert [v["version"] for v in doc["versions"]] == [1, 2]
    async with live.db.read() as session:
        rows = {
            row.seq: row
            for row in await session.scalars(select(EntryRow).where(EntryRow.origin == "de-bafa"))
        }
    for version in doc["versions"]:
        row = rows[version["seq"]]
        envelope = version["envelope"].encode("utf-8")
        assert envelope == row.envelope
        assert version["leaf_hash"] == b64(hashlib.sha256(b"\x00" + envelope).digest())
        assert version["content"] == {"salt": b64(row.content_salt), "body": b64(row.content_body)}
        header = json.loads(base64.b64decode(json.loads(envelope)["payload"]))
        assert header["seq"] == version["seq"]
        body = json.loads(base64.b64decode(version["content"]["body"]))
        assert body["notice_id"] == notice_id
        assert body["version"] == version["version"]
    assert doc["notice"] == json.loads(base64.b64decode(doc["versions"][-1]["content"]["body"]))
    assert doc["notice"]["reference"] == "BAFA-2026-0117-A"


async def test_officer_and_auditor_may_read_admin_may_not(live: LiveNode) -> None:
    notice_id = (await publish(live))["notice_id"]

    for role, status in (("officer", 200), ("auditor", 200), ("admin", 403)):
        response = await live.client.get(f"{NOTICES}/{notice_id}", headers=live.auth(role))
        assert response.status_code == status, (role, response.text)


async def test_unknown_notice_id_is_404(live: LiveNode) -> None:
    unknown = str(uuid_compat.uuid7())
    officer = live.auth("officer")

    assert_problem(await live.client.get(f"{NOTICES}/{unknown}", headers=officer), 404)
    assert_problem(
        await live.client.post(f"{NOTICES}/{unknown}/amend", json=notice(), headers=officer), 404
    )
    assert_problem(
        await live.client.post(
            f"{NOTICES}/{unknown}/revoke", json={"reason": "issued in error"}, headers=officer
        ),
        404,
    )


MALFORMED_IDS = [
    "not-a-uuid",
    "0193B7C4-0000-7000-8000-000000000000",  # upper case
    "0193b7c4000070008000000000000000",  # no hyphens
    "0193b7c4-0000-7000-8000-00000000000",  # one digit short
    "0193b7c4-0000-7000-8000-00000000000g",
]


async def test_malformed_notice_id_is_422(live: LiveNode) -> None:
    officer = live.auth("officer")
    for bad_id in MALFORMED_IDS:
        for method, path, body in (
            ("GET", f"{NOTICES}/{bad_id}", None),
            ("POST", f"{NOTICES}/{bad_id}/amend", notice()),
            ("POST", f"{NOTICES}/{bad_id}/revoke", {"reason": "typo"}),
        ):
            response = await live.client.request(method, path, json=body, headers=officer)
            doc = assert_problem(response, 422)
            assert [e["field"] for e in doc["errors"]] == ["notice_id"], (path, doc)


# --- amend and revoke ----------------------------------------------------------------------


async def test_amend_makes_version_two_superseding_one(live: LiveNode) -> None:
    published = await publish(live, reference="BAFA-2026-0117")
    notice_id = published["notice_id"]

    response = await live.client.post(
        f"{NOTICES}/{notice_id}/amend",
        json=notice(reference="BAFA-2026-0117-A", valid_until="2030-12-31"),
        headers=live.auth("officer"),
    )

    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["notice_id"] == notice_id
    assert doc["version"] == 2
    assert doc["status"] == "active"
    assert doc["notice"]["version"] == 2
    assert doc["notice"]["supersedes"] == 1
    assert doc["notice"]["notice_id"] == notice_id
    assert doc["notice"]["valid_until"] == "2030-12-31"
    assert [(v["version"], v["kind"], v["superseded"]) for v in doc["versions"]] == [
        (1, "published", True),
        (2, "amended", False),
    ]
    first, second = doc["versions"]
    assert second["seq"] == first["seq"] + 1
    old = json.loads(base64.b64decode(first["content"]["body"]))
    assert old["reference"] == "BAFA-2026-0117"
    assert old["supersedes"] is None

    response = await live.client.post(
        f"{NOTICES}/{notice_id}/amend", json=notice(reference="R-3"), headers=live.auth("officer")
    )
    assert response.status_code == 200, response.text
    third = response.json()
    assert third["version"] == 3
    assert third["notice"]["supersedes"] == 2
    assert [v["version"] for v in third["versions"]] == [1, 2, 3]


async def test_revoke_keeps_history_and_blocks_further_changes(live: LiveNode) -> None:
    notice_id = (await publish(live))["notice_id"]
    officer = live.auth("officer")

    response = await live.client.post(
        f"{NOTICES}/{notice_id}/revoke",
        json={"reason": "licence granted on appeal"},
        headers=officer,
    )

    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["status"] == "revoked"
    assert doc["review_due"] is False
    assert doc["revoked_reason"] == "licence granted on appeal"
    assert doc["revoked_on"] == START.date().isoformat()
    assert doc["version"] == 1
    assert [v["kind"] for v in doc["versions"]] == ["published", "revoked"]
    revocation = json.loads(base64.b64decode(doc["versions"][1]["content"]["body"]))
    assert revocation == {
        "notice_id": notice_id,
        "reason": "licence granted on appeal",
        "revoked_on": START.date().isoformat(),
    }

    fetched = await live.client.get(f"{NOTICES}/{notice_id}", headers=officer)
    assert fetched.status_code == 200
    assert fetched.json()["status"] == "revoked"
    assert len(fetched.json()["versions"]) == 2

    before = await counts(live)
    assert_problem(
        await live.client.post(f"{NOTICES}/{notice_id}/amend", json=notice(), headers=officer),
        409,
    )
    assert_problem(
        await live.client.post(
            f"{NOTICES}/{notice_id}/revoke", json={"reason": "again"}, headers=officer
        ),
        409,
    )
    assert await counts(live) == before


async def test_revoke_with_explicit_date(live: LiveNode) -> None:
    notice_id = (await publish(live))["notice_id"]

    response = await live.client.post(
        f"{NOTICES}/{notice_id}/revoke",
        json={"reason": "superseded by national measure", "revoked_on": "2026-11-25"},
        headers=live.auth("officer"),
    )

    assert response.status_code == 200, response.text
    assert response.json()["revoked_on"] == "2026-11-25"


# --- authentication --------------------------------------------------------------------------


async def _revoked_token(live: LiveNode, clock: FakeClock) -> dict[str, str]:
    async with live.db.write() as session:
        row, token = await create_token(
            session, name="leaver", role="officer", expires_days=None, now=clock()
        )
    async with live.db.write() as session:
        await revoke_token(session, row.id, now=clock())
    return {"Authorization": f"Bearer {token}"}


BAD_AUTH: list[dict[str, str]] = [
    {},
    {"Authorization": "Bearer dnx_not-a-real-token"},
    {"Authorization": "Bearer "},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "dnx_token-without-scheme"},
]


async def test_missing_or_bad_token_is_401(live: LiveNode) -> None:
    notice_id = (await publish(live))["notice_id"]
    before = await counts(live)
    for headers in BAD_AUTH:
        for method, path, body in (
            ("GET", NOTICES, None),
            ("POST", NOTICES, notice()),
            ("GET", f"{NOTICES}/{notice_id}", None),
            ("POST", f"{NOTICES}/{notice_id}/revoke", {"reason": "x"}),
            ("GET", "/api/v1/audit", None),
        ):
            response = await live.client.request(method, path, json=body, headers=headers)
            assert_problem(response, 401)
            assert response.headers["www-authenticate"].startswith("Bearer"), (headers, path)
    assert await counts(live) == before


async def test_revoked_token_is_401(live: LiveNode, clock: FakeClock) -> None:
    headers = await _revoked_token(live, clock)
    before = await counts(live)

    for method, body in (("GET", None), ("POST", notice())):
        response = await live.client.request(method, NOTICES, json=body, headers=headers)
        doc = assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "revoked" in doc["detail"]
    assert await counts(live) == before


async def test_expired_token_is_401(live: LiveNode, clock: FakeClock) -> None:
    async with live.db.write() as session:
        _row, token = await create_token(
            session, name="temporary", role="officer", expires_days=1, now=clock()
        )
    headers = {"Authorization": f"Bearer {token}"}
    assert (await live.client.get(NOTICES, headers=headers)).status_code == 200

    clock.advance(days=2)

    response = await live.client.get(NOTICES, headers=headers)
    doc = assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "expired" in doc["detail"]
    # the fixture's tokens do not expire
    assert (await live.client.get(NOTICES, headers=live.auth("officer"))).status_code == 200


# --- permissions -----------------------------------------------------------------------------


async def test_only_officers_publish_amend_and_revoke(live: LiveNode) -> None:
    notice_id = (await publish(live))["notice_id"]
    before = await counts(live)

    for role in ("auditor", "admin"):
        headers = live.auth(role)
        for path, body in (
            (NOTICES, notice()),
            (f"{NOTICES}/{notice_id}/amend", notice()),
            (f"{NOTICES}/{notice_id}/revoke", {"reason": "no"}),
        ):
            response = await live.client.post(path, json=body, headers=headers)
            assert_problem(response, 403)
            assert role in response.json()["detail"]

    assert await counts(live) == before


async def test_officer_may_not_change_another_origins_notice(
    live: LiveNode, clock: FakeClock
) -> None:
    notice_id = await insert_foreign_notice(live, clock)
    officer = live.auth("officer")
    fetched = await live.client.get(f"{NOTICES}/{FOREIGN}/{notice_id}", headers=officer)
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["origin"] == FOREIGN
    before = await counts(live)

    amend = await live.client.post(f"{NOTICES}/{notice_id}/amend", json=notice(), headers=officer)
    revoke = await live.client.post(
        f"{NOTICES}/{notice_id}/revoke", json={"reason": "not ours"}, headers=officer
    )

    assert FOREIGN in assert_problem(amend, 403)["detail"]
    assert FOREIGN in assert_problem(revoke, 403)["detail"]
    assert await counts(live) == before
    after = (await live.client.get(f"{NOTICES}/{FOREIGN}/{notice_id}", headers=officer)).json()
    assert after["version"] == 1
    assert after["status"] == "active"


# --- status over time -------------------------------------------------------------------------


async def test_review_due_then_expired(live: LiveNode, clock: FakeClock) -> None:
    """Under regimes whose denials lapse (Wassenaar, the human-rights initiative); an EU
    denial stays in force past its review date (tests/service/screening/test_lifecycle.py)."""
    valid_until = START.date() + timedelta(days=60)
    doc = await publish(live, regimes=["WA", "HRI"], valid_until=valid_until.isoformat())
    notice_id = doc["notice_id"]
    assert doc["status"] == "active"
    assert doc["review_due"] is True

    clock.advance(days=60)  # the last day of validity
    on_last_day = await live.client.get(f"{NOTICES}/{notice_id}", headers=live.auth("officer"))
    assert on_last_day.json()["status"] == "active"
    assert on_last_day.json()["review_due"] is True

    clock.advance(days=1)
    after = (await live.client.get(f"{NOTICES}/{notice_id}", headers=live.auth("officer"))).json()
    assert after["status"] == "expired"
    assert after["review_due"] is False


async def test_review_due_from_ninety_days_before_expiry(live: LiveNode) -> None:
    for days_left, due in ((89, True), (90, True), (91, False), (400, False)):
        valid_until = START.date() + timedelta(days=days_left)

        doc = await publish(live, valid_until=valid_until.isoformat())

        assert doc["status"] == "active"
        assert doc["review_due"] is due, days_left


async def test_renewal_by_amendment_clears_review_due(live: LiveNode) -> None:
    soon = (START.date() + timedelta(days=30)).isoformat()
    notice_id = (await publish(live, valid_until=soon))["notice_id"]

    response = await live.client.post(
        f"{NOTICES}/{notice_id}/amend",
        json=notice(valid_until=date(2030, 1, 1).isoformat()),
        headers=live.auth("officer"),
    )

    assert response.status_code == 200, response.text
    assert response.json()["review_due"] is False
    assert response.json()["status"] == "active"


async def test_a_revocation_is_coded_and_a_superseded_one_names_its_successor(
    live: LiveNode,
) -> None:
    old = (await publish(live))["notice_id"]
    new = (await publish(live, end_use="the same, restated"))["notice_id"]
    revoke = f"{NOTICES}/{old}/revoke"
    bad = [
        ({"reason": "r", "code": "mistake"}, "code"),
        ({"reason": "r", "code": "superseded"}, "body"),  # without superseded_by
        ({"reason": "r", "code": "error", "superseded_by": new}, "body"),
        ({"reason": "r", "code": "superseded", "superseded_by": "not-a-uuid"}, "superseded_by"),
        ({"reason": "r", "code": "superseded", "superseded_by": old}, "superseded_by"),
    ]
    for body, field in bad:
        r = await live.client.post(revoke, json=body, headers=live.auth("officer"))
        assert r.status_code == 422, (body, r.text)
        assert field in {e["field"] for e in r.json()["errors"]}, (body, r.text)
    unknown = "0193b7c4-0000-7000-8000-000000000000"
    r = await live.client.post(
        revoke,
        json={"reason": "r", "code": "superseded", "superseded_by": unknown},
        headers=live.auth("officer"),
    )
    assert r.status_code == 404, r.text
    r = await live.client.post(
        revoke,
        json={"reason": "Replaced after review.", "code": "superseded", "superseded_by": new},
        headers=live.auth("officer"),
    )
    assert r.status_code == 200, r.text
    doc = r.json()
    assert (doc["status"], doc["revoked_code"], doc["superseded_by"]) == (
        "revoked",
        "superseded",
        new,
    )
    revoked = [v for v in doc["versions"] if v["kind"] == "revoked"]
    assert len(revoked) == 1
    uncoded = (await publish(live))["notice_id"]
    r = await live.client.post(
        f"{NOTICES}/{uncoded}/revoke", json={"reason": "appeal"}, headers=live.auth("officer")
    )
    assert (r.json()["revoked_code"], r.json()["superseded_by"]) == (None, None)


async def test_the_decision_types_of_the_regimes(live: LiveNode) -> None:
    for decision in ("substantial_limitation", "transit_prohibition", "brokering_prohibition"):
        assert (await publish(live, decision=decision))["notice"]["decision"] == decision
    r = await live.client.post(
        NOTICES, json=notice(decision="embargo"), headers=live.auth("officer")
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "decision"


async def test_a_partners_coded_revocation_is_kept_and_a_malformed_code_is_not(
    live: LiveNode, clock: FakeClock
) -> None:
    from tests.service.notice_data import insert_foreign_entry

    coded = await insert_foreign_notice(live, clock)
    odd = await insert_foreign_notice(live, clock, reference="SBDU-2026-0043")
    for notice_id, code in ((coded, "sanctions_lifted"), (odd, "x" * 41)):
        body = {"notice_id": notice_id, "reason": "r", "revoked_on": "2026-11-28", "code": code}
        await insert_foreign_entry(live, clock, "notice.revoked", body, "fr-sbdu")
    r = await live.client.get(f"{NOTICES}/fr-sbdu/{coded}", headers=live.auth("officer"))
    assert (r.json()["status"], r.json()["revoked_code"]) == ("revoked", "sanctions_lifted")
    r = await live.client.get(f"{NOTICES}/fr-sbdu/{odd}", headers=live.auth("officer"))
    assert (r.json()["status"], r.json()["revoked_code"]) == ("revoked", None)
