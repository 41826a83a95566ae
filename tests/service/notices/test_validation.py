"""Bad notice input gets a 422 problem document naming every offending field, and nothing is
written: no entry, no notice row, no audit record (DESIGN §6, §8).

The cases are a table: each is a valid publish body with one thing wrong, and the field that
the problem document must name for it.
"""

import copy
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, select

from federation.storage.tables import EntryRow
from service.storage.models import AuditRow, NoticeRow
from tests.nodes import LiveNode
from tests.service.notice_data import large_notice, notice

PROBLEM = "application/problem+json"
NOTICES = "/api/v1/notices"

Body = dict[str, Any]


# --- building bad bodies ---------------------------------------------------------------------


def with_item(**changes: Any) -> Body:
    body = notice()
    body["items"][0].update(changes)
    return body


def with_value(**changes: Any) -> Body:
    body = notice()
    body["items"][0]["value"].update(changes)
    return body


def with_party(**changes: Any) -> Body:
    body = notice()
    body["parties"][0].update(changes)
    return body


def with_ground(**changes: Any) -> Body:
    body = notice()
    body["grounds"][0].update(changes)
    return body


def without(field: str) -> Body:
    body = notice()
    del body[field]
    return body


def with_alias(index: int, alias: str) -> Body:
    body = notice()
    body["parties"][0]["aliases"][index] = alias
    return body


def with_identifier(**changes: Any) -> Body:
    body = notice()
    body["parties"][0]["identifiers"][0].update(changes)
    return body


# (case id, bad body, the field the problem document must name)
CASES: list[tuple[str, Callable[[], Body], str]] = [
    ("unknown country", lambda: notice(destination="ZZ"), "destination"),
    ("lower-case country", lambda: notice(destination="by"), "destination"),
    ("three-letter country", lambda: notice(destination="BLR"), "destination"),
    ("lower-case party country", lambda: with_party(country="de"), "parties.0.country"),
    ("date not ISO", lambda: notice(decided_on="20/11/2026"), "decided_on"),
    ("date with time", lambda: notice(decided_on="2026-11-20T00:00:00Z"), "decided_on"),
    ("30 February", lambda: notice(decided_on="2026-02-30"), "decided_on"),
    ("29 February 2027", lambda: notice(valid_until="2027-02-29"), "valid_until"),
    ("decided_on missing", lambda: without("decided_on"), "decided_on"),
    ("decided_on null", lambda: notice(decided_on=None), "decided_on"),
    ("date as a number", lambda: notice(decided_on=20261120), "decided_on"),
    ("unknown decision", lambda: notice(decision="denied"), "decision"),
    ("unknown role", lambda: with_party(role="end-user"), "parties.0.role"),
    ("unknown ground code", lambda: with_ground(code="human_rights"), "grounds.0.code"),
    ("no items", lambda: notice(items=[]), "items"),
    ("no parties", lambda: notice(parties=[]), "parties"),
    ("no grounds", lambda: notice(grounds=[]), "grounds"),
    ("no regimes", lambda: notice(regimes=[]), "regimes"),
    ("bad control entry", lambda: with_item(control_entry="5Z001"), "items.0.control_entry"),
    ("control entry junk", lambda: with_item(control_entry="5A001.j!"), "items.0.control_entry"),
    ("float amount", lambda: with_value(amount=12.5), "items.0.value.amount"),
    ("integer amount", lambda: with_value(amount=12), "items.0.value.amount"),
    ("negative amount", lambda: with_value(amount="-5.00"), "items.0.value.amount"),
    ("exponent amount", lambda: with_value(amount="1e6"), "items.0.value.amount"),
    ("grouped amount", lambda: with_value(amount="1,200.00"), "items.0.value.amount"),
    ("bad quantity", lambda: with_item(quantity="1.5.2"), "items.0.quantity"),
    ("unknown currency", lambda: with_value(currency="EURO"), "items.0.value.currency"),
    ("lower-case currency", lambda: with_value(currency="eur"), "items.0.value.currency"),
    ("extra field", lambda: notice(colour="red"), "colour"),
    ("extra party field", lambda: with_party(nickname="Sev"), "parties.0.nickname"),
    ("notice_id is not input", lambda: notice(notice_id="0193b7c4-0000-7000-8000-0"), "notice_id"),
    ("regime not of this node", lambda: notice(regimes=["WA", "NSG"]), "regimes"),
    ("regime known, not ours", lambda: notice(regimes=["AG"]), "regimes"),
    ("lower-case regime", lambda: notice(regimes=["wa"]), "regimes.0"),
    ("audience not a node id", lambda: notice(audience=["FR"]), "audience.0"),
    ("reference too long", lambda: notice(reference="R" * 101), "reference"),
    ("name too long", lambda: with_party(name="N" * 301), "parties.0.name"),
    ("description too long", lambda: with_item(description="d" * 4001), "items.0.description"),
    (
        "identifier too long",
        lambda: with_identifier(value="9" * 101),
        "parties.0.identifiers.0.value",
    ),
    (
        "bad identifier scheme",
        lambda: with_identifier(scheme="1LEI"),
        "parties.0.identifiers.0.scheme",
    ),
    ("control char in name", lambda: with_party(name="Severny\x1bSignal"), "parties.0.name"),
    ("NUL in alias", lambda: with_alias(1, "Severnyi\x00Signal"), "parties.0.aliases.1"),
    ("bell in reference", lambda: notice(reference="BAFA\x07-1"), "reference"),
    ("blank reference", lambda: notice(reference="   "), "reference"),
    ("empty end use", lambda: notice(end_use=""), "end_use"),
]


# --- helpers ---------------------------------------------------------------------------------


async def counts(live: LiveNode) -> tuple[int, int, int]:
    async with live.db.read() as session:
        entries = await session.scalar(select(func.count()).select_from(EntryRow))
        notices = await session.scalar(select(func.count()).select_from(NoticeRow))
        audits = await session.scalar(select(func.count()).select_from(AuditRow))
    return int(entries or 0), int(notices or 0), int(audits or 0)


def problem_fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    doc = response.json()
    assert doc["status"] == 422
    assert doc["errors"], doc
    for error in doc["errors"]:
        assert set(error) == {"field", "message"}
        assert error["message"]
    return [e["field"] for e in doc["errors"]]


# --- the table -------------------------------------------------------------------------------


def test_the_table_is_large_and_every_case_starts_from_a_valid_body() -> None:
    from service.notices.schema import NoticeInput

    assert len(CASES) >= 20
    NoticeInput.model_validate(notice())  # the base body itself is valid
    assert len({case for case, _, _ in CASES}) == len(CASES)


async def test_each_bad_body_is_422_naming_its_field_and_writes_nothing(live: LiveNode) -> None:
    officer = live.auth("officer")
    before = await counts(live)
    failures: list[str] = []

    for case, make_body, field in CASES:
        body = make_body()
        pristine = copy.deepcopy(body)
        response = await live.client.post(NOTICES, json=body, headers=officer)
        try:
            fields = problem_fields(response)
        except AssertionError as exc:
            failures.append(f"{case}: {exc}")
            continue
        if set(fields) != {field}:
            failures.append(f"{case}: expected errors naming {field!r}, got {fields}")
        assert body == pristine

    assert not failures, "\n".join(failures)
    # an audience outside the roster's members of the regimes conflicts with the roster
    outside = notice(audience=["de-bafa", "fr-sbdu"])
    response = await live.client.post(NOTICES, json=outside, headers=officer)
    assert response.status_code == 409 and response.json()["type"] == "/problems/conflict"
    assert await counts(live) == before
    # and the same node still accepts the valid body
    ok = await live.client.post(NOTICES, json=notice(), headers=officer)
    assert ok.status_code == 201, ok.text


async def test_several_bad_fields_get_one_error_each(live: LiveNode) -> None:
    body = notice(destination="ZZ", decision="denied", colour="red")
    body["items"][0]["control_entry"] = "5Z001"
    body["parties"][0]["country"] = "by"
    body["grounds"][0]["code"] = "nope"
    before = await counts(live)

    response = await live.client.post(NOTICES, json=body, headers=live.auth("officer"))

    fields = problem_fields(response)
    assert sorted(fields) == sorted(
        [
            "destination",
            "decision",
            "colour",
            "items.0.control_entry",
            "parties.0.country",
            "grounds.0.code",
        ]
    )
    assert await counts(live) == before


CROSS_FIELD: list[tuple[str, Body, str]] = [
    ("valid_until before decided_on", notice(valid_until="2026-11-19"), "valid_until"),
    ("valid_until equal to decided_on", notice(valid_until="2026-11-20"), "valid_until"),
    ("regimes repeated", notice(regimes=["WA", "EU", "WA"]), "regimes"),
]


async def test_cross_field_rules_reject_and_write_nothing(live: LiveNode) -> None:
    before = await counts(live)
    for case, body, _field in CROSS_FIELD:
        response = await live.client.post(NOTICES, json=body, headers=live.auth("officer"))
        assert response.status_code == 422, case
        assert response.headers["content-type"].startswith(PROBLEM), case
        assert response.json()["errors"], case
    assert await counts(live) == before


async def test_cross_field_errors_name_the_field(live: LiveNode) -> None:
    wrong = []
    for case, body, field in CROSS_FIELD:
        response = await live.client.post(NOTICES, json=body, headers=live.auth("officer"))
        fields = problem_fields(response)
        if field not in fields:
            wrong.append(f"{case}: expected {field!r}, got {fields}")
    assert not wrong, "\n".join(wrong)


async def test_schema_and_node_level_errors_are_reported_together(live: LiveNode) -> None:
    body = notice(destination="ZZ", regimes=["WA", "NSG"], audience=["de-bafa", "fr-sbdu"])

    response = await live.client.post(NOTICES, json=body, headers=live.auth("officer"))

    assert sorted(problem_fields(response)) == ["audience", "destination", "regimes"]


async def test_regime_outside_this_node_is_named_with_the_regime(live: LiveNode) -> None:
    body = notice(regimes=["NSG"])
    response = await live.client.post(NOTICES, json=body, headers=live.auth("officer"))
    fields = problem_fields(response)
    assert fields == ["regimes"]
    assert "NSG" in response.json()["errors"][0]["message"]


# --- amend and revoke validate too ---------------------------------------------------------


async def test_bad_amendment_or_revocation_changes_nothing(live: LiveNode) -> None:
    officer = live.auth("officer")
    created = await live.client.post(NOTICES, json=notice(), headers=officer)
    assert created.status_code == 201, created.text
    notice_id = created.json()["notice_id"]
    before = await counts(live)

    amendments = [
        (with_item(control_entry="5Z001"), "items.0.control_entry"),
        (notice(regimes=["NSG"]), "regimes"),
        (notice(version=2), "version"),
    ]
    for body, field in amendments:
        response = await live.client.post(
            f"{NOTICES}/{notice_id}/amend", json=body, headers=officer
        )
        assert problem_fields(response) == [field], body
    outside = notice(audience=["de-bafa", "jp-meti"])  # the roster decides: a conflict
    response = await live.client.post(f"{NOTICES}/{notice_id}/amend", json=outside, headers=officer)
    assert response.status_code == 409 and response.json()["type"] == "/problems/conflict"

    revocations = [
        ({}, "reason"),
        ({"reason": ""}, "reason"),
        ({"reason": "x\x1by"}, "reason"),
        ({"reason": "ok", "revoked_on": "2026-13-01"}, "revoked_on"),
        ({"reason": "ok", "extra": True}, "extra"),
    ]
    for body, field in revocations:
        response = await live.client.post(
            f"{NOTICES}/{notice_id}/revoke", json=body, headers=officer
        )
        assert problem_fields(response) == [field], body

    assert await counts(live) == before
    current = (await live.client.get(f"{NOTICES}/{notice_id}", headers=officer)).json()
    assert current["version"] == 1
    assert current["status"] == "active"


async def test_bodies_that_are_not_notice_objects(live: LiveNode) -> None:
    officer = live.auth("officer")
    before = await counts(live)
    for content in (b"{not json", b"[1, 2]", b'"a notice"', b"null", b""):
        response = await live.client.post(
            NOTICES, content=content, headers={**officer, "Content-Type": "application/json"}
        )
        assert response.status_code == 422, (content, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)
        assert response.json()["errors"]
    assert await counts(live) == before


async def test_a_notice_too_large_for_one_entry_is_422_not_a_server_error(live: LiveNode) -> None:
    """Each field within its bounds, all of them together over what an entry carries."""
    huge = large_notice("BAFA-HUGE", size=300 * 1024)
    officer = live.auth("officer")
    before = await counts(live)
    response = await live.client.post(NOTICES, json=huge, headers=officer)
    assert problem_fields(response) == ["body"]
    assert "more than the 262144" in response.json()["errors"][0]["message"]
    assert await counts(live) == before
    published = await live.client.post(NOTICES, json=notice(), headers=officer)
    assert published.status_code == 201, published.text
    before = await counts(live)
    notice_id = published.json()["notice_id"]
    amended = await live.client.post(f"{NOTICES}/{notice_id}/amend", json=huge, headers=officer)
    assert problem_fields(amended) == ["body"]
    assert await counts(live) == before
