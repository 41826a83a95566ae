"""Listing notices (filters, cursor paging), the hash-chained audit trail, and the operational
endpoints (health, readiness, metrics, the OpenAPI document) — DESIGN §8.
"""

import base64
import itertools
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import delete, select, update

from service import audit
from service.storage.models import AuditRow
from tests.nodes import START, FakeClock, LiveNode
from tests.service.notice_data import insert_foreign_notice, notice

PROBLEM = "application/problem+json"
NOTICES = "/api/v1/notices"
AUDIT = "/api/v1/audit"
OFFICER = "officer:test-officer"


# --- helpers ---------------------------------------------------------------------------------


async def publish(live: LiveNode, **overrides: Any) -> str:
    response = await live.client.post(
        NOTICES, json=notice(**overrides), headers=live.auth("officer")
    )
    assert response.status_code == 201, response.text
    notice_id: str = response.json()["notice_id"]
    return notice_id


def party(name: str, *aliases: str, country: str = "BY") -> dict[str, Any]:
    return {"role": "end_user", "name": name, "aliases": list(aliases), "country": country}


def item(control_entry: str) -> dict[str, Any]:
    return {"control_entry": control_entry, "description": "synthetic item"}


async def list_all(live: LiveNode, role: str = "officer", **params: Any) -> list[str]:
    """Every notice id the list returns for `params`, following cursors."""
    found: list[str] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": 200} | ({"cursor": cursor} if cursor else {})
        response = await live.client.get(NOTICES, params=query, headers=live.auth(role))
        assert response.status_code == 200, (params, response.text)
        page = response.json()
        found.extend(i["notice_id"] for i in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def problem_fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    return [e["field"] for e in response.json()["errors"]]


async def audit_rows(live: LiveNode) -> list[AuditRow]:
    async with live.db.read() as session:
        return list(await session.scalars(select(AuditRow).order_by(AuditRow.seq)))


# --- filters ---------------------------------------------------------------------------------


async def test_each_filter_narrows_the_list(live: LiveNode, clock: FakeClock) -> None:
    soon = (START.date() + timedelta(days=60)).isoformat()
    ids = {
        "a": await publish(live),  # BY, 5A001.j, Severny Signal / ООО «Северный сигнал», 2026-11-20
        "b": await publish(
            live,
            reference="B",
            destination="RU",
            decided_on="2025-06-01",
            regimes=["WA"],
            items=[item("5A002.a.1")],
            parties=[party("Acme Optics GmbH", "ACME-OPTIKA", country="RU")],
        ),
        "c": await publish(
            live,
            reference="C",
            destination="IR",
            decided_on="2024-06-15",
            regimes=["EU"],
            items=[item("ML21.b"), item("5A001.c")],
            parties=[party("Tehran 100% Trading Co")],
        ),
        "d": await publish(
            live,
            reference="D",
            regimes=["WA", "HRI"],  # denials that lapse at valid_until
            valid_until=soon,
            items=[item("5A001")],
            parties=[party("Due Soon Ltd")],
        ),
        "e": await publish(
            live,
            reference="E",
            regimes=["WA", "HRI"],
            decided_on="2020-03-01",
            valid_until="2023-03-01",
            parties=[party("Long Gone AG")],
        ),
        "f": await publish(live, reference="F", parties=[party("Withdrawn Holdings")]),
        "g": await publish(  # an EU denial stays in force past its review date
            live,
            reference="G",
            regimes=["EU"],
            destination="KP",
            decided_on="2020-03-01",
            valid_until="2023-03-01",
            parties=[party("Still Listed Ltd")],
        ),
        "x": await insert_foreign_notice(
            live, clock, reference="SBDU-1", destination="CN", decided_on="2026-10-01"
        ),
    }
    response = await live.client.post(
        f"{NOTICES}/{ids['f']}/revoke", json={"reason": "appeal"}, headers=live.auth("officer")
    )
    assert response.status_code == 200, response.text
    everything = set(ids)

    table: list[tuple[dict[str, Any], set[str]]] = [
        ({}, everything),
        ({"origin": "fr-sbdu"}, {"x"}),
        ({"origin": "de-bafa"}, everything - {"x"}),
        ({"origin": "jp-meti"}, set()),
        ({"status": "active"}, {"a", "b", "c", "d", "x"}),
        ({"status": "revoked"}, {"f"}),
        ({"status": "expired"}, {"e"}),
        ({"status": "review_overdue"}, {"g"}),
        ({"destination": "RU"}, {"b"}),
        ({"destination": "BY"}, {"a", "d", "e", "f"}),
        ({"control_entry": "5A001"}, {"a", "c", "d", "e", "f", "g", "x"}),
        ({"control_entry": "5.A.1.j"}, {"a", "e", "f", "g", "x"}),
        ({"control_entry": "5A001.c"}, {"c"}),
        ({"control_entry": "5A002"}, {"b"}),
        ({"control_entry": "5A00"}, set()),
        ({"control_entry": "ml21"}, {"c"}),
        ({"party": "severny"}, {"a", "x"}),
        ({"party": "SIGNAL llc"}, {"a", "x"}),
        ({"party": "СЕВЕРНЫЙ"}, {"a", "x"}),  # only in the Cyrillic alias
        ({"party": "северный СИГНАЛ"}, {"a", "x"}),
        ({"party": "ＳＥＶＥＲＮＹ"}, {"a", "x"}),  # full-width forms fold by NFKC
        ({"party": "acme-optika"}, {"b"}),
        ({"party": "100%"}, {"c"}),
        ({"party": "%"}, {"c"}),  # a literal percent sign, not a wildcard
        ({"party": "_"}, set()),
        ({"regime": "EU"}, everything - {"b", "d", "e"}),
        ({"regime": "WA"}, everything - {"c", "g"}),
        ({"regime": "NSG"}, set()),
        ({"decided_from": "2025-01-01"}, everything - {"c", "e", "g"}),
        ({"decided_to": "2025-06-01"}, {"b", "c", "e", "g"}),
        ({"decided_from": "2025-06-01", "decided_to": "2025-06-01"}, {"b"}),
        ({"decided_from": "2026-10-01", "decided_to": "2026-11-19"}, {"x"}),
        ({"review_due": "true"}, {"d", "g"}),  # g's review is overdue: still due
        ({"review_due": "false"}, everything - {"d", "g"}),
        ({"destination": "BY", "status": "active"}, {"a", "d"}),
        ({"party": "severny", "origin": "de-bafa"}, {"a"}),
    ]
    names = {v: k for k, v in ids.items()}
    wrong = []
    for params, expected in table:
        got = [names[i] for i in await list_all(live, **params)]
        if sorted(got) != sorted(expected) or len(got) != len(set(got)):
            wrong.append(f"{params}: expected {sorted(expected)}, got {sorted(got)}")
    assert not wrong, "\n".join(wrong)

    # the summaries carry status and review_due as computed for today
    response = await live.client.get(NOTICES, headers=live.auth("auditor"))
    by_id = {i["notice_id"]: i for i in response.json()["items"]}
    assert by_id[ids["d"]]["review_due"] is True
    assert by_id[ids["e"]]["status"] == "expired"
    assert (by_id[ids["g"]]["status"], by_id[ids["g"]]["review_due"]) == ("review_overdue", True)
    assert by_id[ids["f"]]["status"] == "revoked"
    assert by_id[ids["x"]]["origin"] == "fr-sbdu"
    assert by_id[ids["a"]]["notice"]["items"][0]["control_entry"] == "5A001.j"

    # time passes: d is still active on its last day, expired the day after; a is not yet due
    clock.advance(days=60)
    assert await list_all(live, status="expired") == [ids["e"]]
    assert sorted(await list_all(live, review_due="true")) == sorted([ids["d"], ids["g"]])
    clock.advance(days=1)
    assert sorted(await list_all(live, status="expired")) == sorted([ids["d"], ids["e"]])
    assert await list_all(live, review_due="true") == [ids["g"]]


async def test_bad_filter_values_are_422_naming_the_parameter(live: LiveNode) -> None:
    cases = [
        ({"control_entry": "5Z001"}, "control_entry"),
        ({"status": "dormant"}, "status"),
        ({"destination": "by"}, "destination"),
        ({"origin": "FR-SBDU"}, "origin"),
        ({"regime": "w"}, "regime"),
        ({"decided_from": "2026-02-30"}, "decided_from"),
        ({"decided_to": "yesterday"}, "decided_to"),
        ({"review_due": "maybe"}, "review_due"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "garbage!!"}, "cursor"),  # not base64url: a cursor that names no
        ({"cursor": "e30="}, "cursor"),  # position but has the form starts the list (0004)
    ]
    for params, field in cases:
        response = await live.client.get(NOTICES, params=params, headers=live.auth("officer"))
        assert problem_fields(response) == [field], params


async def test_cursor_paging_over_25_notices(live: LiveNode) -> None:
    published = [await publish(live, reference=f"BAFA-2026-{n:04d}") for n in range(25)]

    pages: list[list[str]] = []
    cursors: list[str | None] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 10} | ({"cursor": cursor} if cursor else {})
        response = await live.client.get(NOTICES, params=params, headers=live.auth("auditor"))
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append([i["notice_id"] for i in page["items"]])
        cursor = page["next_cursor"]
        cursors.append(cursor)
        if cursor is None or len(pages) > 5:
            break

    assert [len(p) for p in pages] == [10, 10, 5]
    assert cursors[-1] is None
    assert all(isinstance(c, str) and c for c in cursors[:-1])
    flat = [i for p in pages for i in p]
    assert len(flat) == len(set(flat)) == 25
    assert set(flat) == set(published)
    for c in cursors[:-1]:
        assert c is not None
        assert not c.isdigit(), "cursors are opaque, not offsets"

    # a cursor stays valid: re-reading page 2 gives the same items
    again = await live.client.get(
        NOTICES, params={"limit": 10, "cursor": cursors[0]}, headers=live.auth("officer")
    )
    assert [i["notice_id"] for i in again.json()["items"]] == pages[1]

    # exactly one full page: no next cursor pointing at an empty page
    response = await live.client.get(NOTICES, params={"limit": 25}, headers=live.auth("officer"))
    assert len(response.json()["items"]) == 25
    assert response.json()["next_cursor"] is None


# --- audit trail ---------------------------------------------------------------------------


async def test_every_notice_action_is_audited_with_the_caller(live: LiveNode) -> None:
    officer = live.auth("officer")
    start = len(await audit_rows(live))

    notice_id = await publish(live)
    response = await live.client.post(
        f"{NOTICES}/{notice_id}/amend", json=notice(reference="R-2"), headers=officer
    )
    assert response.status_code == 200
    assert (await live.client.get(f"{NOTICES}/{notice_id}", headers=officer)).status_code == 200
    assert (await live.client.get(NOTICES, headers=officer)).status_code == 200
    response = await live.client.post(
        f"{NOTICES}/{notice_id}/revoke", json={"reason": "appeal"}, headers=officer
    )
    assert response.status_code == 200
    assert (
        await live.client.get(f"{NOTICES}/{notice_id}", headers=live.auth("auditor"))
    ).is_success

    rows = (await audit_rows(live))[start:]
    named = f"de-bafa/{notice_id}"  # a notice is (origin, notice_id) in the trail too
    assert [(r.actor, r.action, r.target) for r in rows] == [
        (OFFICER, "notice.publish", named),
        (OFFICER, "notice.amend", named),
        (OFFICER, "notice.read", named),
        (OFFICER, "notice.list", None),
        (OFFICER, "notice.revoke", named),
        ("auditor:test-auditor", "notice.read", named),
    ]
    assert all(r.at == "2026-11-28T12:00:00Z" for r in rows)
    assert rows[0].detail["seq"] == 1
    assert rows[1].detail["version"] == 2
    assert named in rows[3].detail["notices"]

    # refused requests leave no record of an action that did not happen
    before = len(await audit_rows(live))
    await live.client.post(NOTICES, json=notice(), headers=live.auth("auditor"))
    await live.client.post(NOTICES, json=notice(destination="ZZ"), headers=officer)
    await live.client.get(f"{NOTICES}/{uuid.UUID(int=7)}", headers=officer)
    assert len(await audit_rows(live)) == before


async def test_audit_trail_is_paged_for_auditors_and_admins_only(live: LiveNode) -> None:
    for n in range(3):
        await publish(live, reference=f"R-{n}")
    total = len(await audit_rows(live))
    assert total >= 4  # node.init and three publications

    assert (await live.client.get(AUDIT, headers=live.auth("officer"))).status_code == 403
    response = await live.client.get(AUDIT)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith(PROBLEM)

    for role in ("auditor", "admin"):
        seen: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(total + 1):
            params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            response = await live.client.get(AUDIT, params=params, headers=live.auth(role))
            assert response.status_code == 200, response.text
            page = response.json()
            assert len(page["items"]) <= 2
            seen.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert [e["seq"] for e in seen] == list(range(total)), role
        assert seen[0]["action"] == "node.init"
        assert seen[0]["prev_hash"] == audit.GENESIS
        for earlier, later in itertools.pairwise(seen):
            assert later["prev_hash"] == earlier["hash"]
        assert [e["actor"] for e in seen[1:4]] == [OFFICER] * 3

    for cursor in ("garbage!!", base64.urlsafe_b64encode(b'{"after":"x","v":1}').decode()):
        response = await live.client.get(
            AUDIT, params={"cursor": cursor}, headers=live.auth("auditor")
        )
        assert problem_fields(response) == ["cursor"]
    for limit in ("0", "501"):
        response = await live.client.get(AUDIT, params={"limit": limit}, headers=live.auth("admin"))
        assert problem_fields(response) == ["limit"]


async def test_audit_chain_verifies_and_shows_tampering(live: LiveNode) -> None:
    notice_id = await publish(live)
    await live.client.get(f"{NOTICES}/{notice_id}", headers=live.auth("officer"))
    await live.client.get(NOTICES, headers=live.auth("auditor"))
    await publish(live, reference="R-2")
    rows = await audit_rows(live)
    assert len(rows) == 5
    assert audit.verify_chain(rows) is None

    async def tamper(*statements: Any) -> audit.ChainBreak | None:
        async with live.db.write() as session:
            for statement in statements:
                await session.execute(statement)
        result = audit.verify_chain(await audit_rows(live))
        async with live.db.write() as session:  # put the original rows back
            await session.execute(delete(AuditRow))
            for row in rows:
                session.add(
                    AuditRow(**{c.key: getattr(row, c.key) for c in AuditRow.__table__.columns})
                )
        assert audit.verify_chain(await audit_rows(live)) is None
        return result

    altered = await tamper(update(AuditRow).where(AuditRow.seq == 2).values(detail={"x": 1}))
    assert altered is not None and altered.seq == 2

    actor = await tamper(
        update(AuditRow).where(AuditRow.seq == 1).values(actor="admin:first-admin")
    )
    assert actor is not None and actor.seq == 1

    removed = await tamper(delete(AuditRow).where(AuditRow.seq == 2))
    assert removed is not None and removed.seq == 3

    first_removed = await tamper(delete(AuditRow).where(AuditRow.seq == 0))
    assert first_removed is not None and first_removed.seq == 1

    # rewriting a record together with its own hash still breaks the link to the next one
    forged = {
        "seq": 2,
        "at": rows[2].at,
        "actor": rows[2].actor,
        "action": rows[2].action,
        "target": None,
        "detail": {},
    }
    rehashed = audit.record_hash(rows[2].prev_hash, forged)
    relinked = await tamper(
        update(AuditRow).where(AuditRow.seq == 2).values(target=None, detail={}, hash=rehashed)
    )
    assert relinked is not None and relinked.seq == 3


# --- operations ----------------------------------------------------------------------------


async def test_health_readiness_and_metrics(live: LiveNode) -> None:
    await publish(live)
    await publish(live)

    healthz = await live.client.get("/healthz")
    assert healthz.status_code == 200
    assert healthz.json() == {"status": "ok"}
    readyz = await live.client.get("/readyz")
    assert readyz.status_code == 200
    assert readyz.json() == {"status": "ok"}
    metrics = await live.client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "denex_log_entries" in metrics.text
    assert 'denex_log_entries{origin="de-bafa"} 3.0' in metrics.text
    assert 'denex_notices_written_total{kind="published"} 2.0' in metrics.text
    assert "Severny" not in metrics.text  # no data


async def test_openapi_errors_are_problem_documents(live: LiveNode) -> None:
    response = await live.client.get("/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    text = response.text
    assert "HTTPValidationError" not in text

    operations = [
        (method, path, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert len(operations) >= 8
    wrong = []
    for method, path, op in operations:
        for code, response_doc in op["responses"].items():
            if code.startswith("4") or code.startswith("5"):
                content = response_doc.get("content", {})
                if list(content) != [PROBLEM]:
                    wrong.append(f"{method.upper()} {path} {code}: {sorted(content)}")
                    continue
                ref = content[PROBLEM]["schema"].get("$ref", "")
                if ref != "#/components/schemas/Problem":
                    wrong.append(f"{method.upper()} {path} {code}: schema {ref}")
        if path.startswith("/api/"):
            for code in ("401", "403", "422"):
                if code not in op["responses"]:
                    wrong.append(f"{method.upper()} {path} does not declare {code}")
    assert not wrong, "\n".join(wrong)
    problem = schema["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "errors"} <= set(problem["properties"])
    assert "/api/v1/notices/{notice_id}/amend" in schema["paths"]
    amend = schema["paths"]["/api/v1/notices/{notice_id}/amend"]["post"]["responses"]
    assert {"404", "409"} <= set(amend)
