"""`Idempotency-Key` on the POSTs of the officer and admin API (draft-ietf-httpapi-idempotency-
key-header; decision 0025): the same request sent again with the same key gets the first
answer again and is not done again; the same key with another request is a 422; a key whose
first request is still being answered is a 409; keys belong to a token and last 24 hours.

Real node, real database (SQLite and PostgreSQL), the real app; only the clock is faked.
"""

import asyncio
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from federation.storage.tables import EntryRow
from service import idempotency
from service.storage.models import AuditRow, IdempotencyRow, NoticeRow, ScreeningRow
from service.tokens import authenticate, create_token, revoke_token
from tests.nodes import FakeClock, LiveNode
from tests.service.notice_data import application, notice

NOTICES = "/api/v1/notices"
KEY = "Idempotency-Key"


def _headers(live: LiveNode, key: str | None, role: str = "officer") -> dict[str, str]:
    headers = live.auth(role)
    if key is not None:
        headers[KEY] = key
    return headers


async def _post(
    live: LiveNode, path: str, body: Any, key: str | None, role: str = "officer"
) -> httpx.Response:
    return await live.client.post(path, json=body, headers=_headers(live, key, role))


async def _count(live: LiveNode, model: Any) -> int:
    async with live.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_resent_publish_gets_the_first_answer_and_publishes_once(live: LiveNode) -> None:
    body = notice()
    first = await _post(live, NOTICES, body, '"6f1c7a52-5b9b-4f0e-9d57-1c1e3c1f0a01"')
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers

    again = await _post(live, NOTICES, body, '"6f1c7a52-5b9b-4f0e-9d57-1c1e3c1f0a01"')

    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.content == first.content
    assert await _count(live, NoticeRow) == 1
    assert await _count(live, EntryRow) == 2  # key.added and the one notice
    async with live.db.read() as session:
        trail = [(r.action, r.target) for r in await session.scalars(select(AuditRow))]
    assert [a for a, _t in trail].count("notice.publish") == 1
    assert ("request.replay", "POST /api/v1/notices") in trail  # content shown again


async def test_the_same_json_differently_written_is_the_same_request(live: LiveNode) -> None:
    body = notice()
    first = await live.client.post(
        NOTICES, content=json.dumps(body), headers=_headers(live, "k-1") | _json()
    )
    assert first.status_code == 201, first.text
    # The quotes of the sf-string form are optional; key order and white space do not count.
    again = await live.client.post(
        NOTICES,
        content=json.dumps(body, indent=2, sort_keys=True),
        headers=_headers(live, '"k-1"') | _json(),
    )
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()


def _json() -> dict[str, str]:
    return {"Content-Type": "application/json"}


async def test_the_same_key_with_another_request_is_422(live: LiveNode) -> None:
    first = await _post(live, NOTICES, notice(reference="K-1"), "key-a")
    assert first.status_code == 201, first.text

    other_body = await _post(live, NOTICES, notice(reference="K-2"), "key-a")
    other_path = await _post(live, "/api/v1/screenings", application(), "key-a")

    for response in (other_body, other_path):
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["type"] == "/problems/idempotency-key-reused"
        assert problem["errors"][0]["field"] == KEY
        assert "different request" in problem["detail"]
    assert await _count(live, NoticeRow) == 1
    assert await _count(live, ScreeningRow) == 0


async def test_a_key_in_flight_is_409_until_it_is_answered_or_abandoned(
    live: LiveNode, clock: FakeClock
) -> None:
    # Another worker has claimed the key for this very request and not answered yet.
    body = notice()
    caller = await authenticate(live.db, live.tokens["officer"], now=clock())
    payload = json.dumps(body).encode()
    claim = idempotency.Claim(
        caller.token_id,
        idempotency.key_digest("in-flight"),
        idempotency.fingerprint("POST", NOTICES, "", payload),
    )
    other_worker = idempotency.Keys(live.db, clock)
    assert await other_worker.claim(claim, actor=caller.actor, target="POST /") is None

    busy = await live.client.post(
        NOTICES, content=payload, headers=_headers(live, "in-flight") | _json()
    )
    assert busy.status_code == 409, busy.text
    assert "still being answered" in busy.json()["detail"]
    assert busy.json()["type"] == "/problems/idempotency-key-in-flight"
    assert await _count(live, NoticeRow) == 0

    # A claim that never answers was abandoned by a process that died: after 5 minutes the
    # request may run again.
    clock.advance(minutes=5, seconds=1)
    taken_over = await live.client.post(
        NOTICES, content=payload, headers=_headers(live, "in-flight") | _json()
    )
    assert taken_over.status_code == 201, taken_over.text
    assert await _count(live, NoticeRow) == 1


async def test_two_concurrent_sends_of_one_request_publish_once(live: LiveNode) -> None:
    body = notice()
    responses = await asyncio.gather(*(_post(live, NOTICES, body, "together") for _ in range(2)))
    created = [r for r in responses if r.status_code == 201]
    assert created, [r.text for r in responses]
    for response in responses:  # the other waited for nothing: a replay or "in flight"
        if response is not created[0]:
            assert response.status_code == 409 or (
                response.headers.get("idempotent-replayed") == "true"
                and response.content == created[0].content
            ), response.text
    assert await _count(live, NoticeRow) == 1


async def test_keys_belong_to_a_token(live: LiveNode, clock: FakeClock) -> None:
    async with live.db.write() as session:
        _row, other = await create_token(
            session, name="second-officer", role="officer", expires_days=None, now=clock()
        )
    mine = await _post(live, NOTICES, notice(reference="T-1"), "shared-key")
    assert mine.status_code == 201, mine.text

    theirs = await live.client.post(
        NOTICES,
        json=notice(reference="T-2"),
        headers={"Authorization": f"Bearer {other}", KEY: "shared-key"},
    )

    assert theirs.status_code == 201, theirs.text  # not a 422: their key, their request
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["notice_id"] != mine.json()["notice_id"]


async def test_a_revoked_token_gets_no_replay(live: LiveNode, clock: FakeClock) -> None:
    body = notice()
    first = await _post(live, NOTICES, body, "before-revocation")
    assert first.status_code == 201
    caller = await authenticate(live.db, live.tokens["officer"], now=clock())
    async with live.db.write() as session:
        await revoke_token(session, caller.token_id, now=clock())

    again = await _post(live, NOTICES, body, "before-revocation")

    assert again.status_code == 401, again.text
    assert "idempotent-replayed" not in again.headers


async def test_answers_are_kept_24_hours_then_the_key_is_free(
    live: LiveNode, clock: FakeClock
) -> None:
    body = notice()
    first = await _post(live, NOTICES, body, "day-key")
    assert first.status_code == 201
    clock.advance(hours=23, minutes=59)
    assert (await _post(live, NOTICES, body, "day-key")).headers["idempotent-replayed"] == "true"

    clock.advance(minutes=2)
    # The answer is gone: the request runs again, and its reference is held by now.
    again = await _post(live, NOTICES, body, "day-key")
    assert again.status_code == 409, again.text
    assert first.json()["notice_id"] in again.json()["detail"]
    fresh = await _post(live, NOTICES, notice(reference="DAY-2"), "day-key")
    assert fresh.status_code == 201, fresh.text  # no 422: the old request is forgotten
    async with live.db.read() as session:
        kept = list(await session.scalars(select(IdempotencyRow)))
    assert len(kept) == 1 and kept[0].created_at is not None  # the expired row was pruned


async def test_a_refused_request_keeps_nothing_and_may_be_sent_again(live: LiveNode) -> None:
    bad = notice(destination="XX")
    refused = await _post(live, NOTICES, bad, "fix-and-retry")
    assert refused.status_code == 422, refused.text
    assert await _count(live, IdempotencyRow) == 0

    fixed = await _post(live, NOTICES, notice(), "fix-and-retry")
    assert fixed.status_code == 201, fixed.text


@pytest.mark.parametrize(
    "value",
    [
        "",
        "a b",
        'unbalanced"',
        '"in"side"',
        "x" * 256,
        "ключ",
        "tab\there",
    ],
)
async def test_a_malformed_key_is_400(live: LiveNode, value: str) -> None:
    response = await live.client.post(
        NOTICES,
        content=json.dumps(notice()).encode(),
        headers={**live.auth("officer"), "Content-Type": "application/json", KEY: value}
        if value.isascii()
        else [  # a header value outside ASCII goes as its UTF-8 bytes
            ("Authorization", live.auth("officer")["Authorization"]),
            ("Content-Type", "application/json"),
            (KEY, value.encode("utf-8")),  # type: ignore[list-item]
        ],
    )
    assert response.status_code == 400, response.text
    assert KEY in response.json()["detail"]
    assert await _count(live, NoticeRow) == 0


async def test_two_keys_in_one_request_are_400(live: LiveNode) -> None:
    response = await live.client.post(
        NOTICES,
        json=notice(),
        headers=[
            ("Authorization", live.auth("officer")["Authorization"]),
            (KEY, "one"),
            (KEY, "two"),
        ],
    )
    assert response.status_code == 400, response.text
    assert await _count(live, NoticeRow) == 0


async def test_without_a_token_a_key_changes_nothing(live: LiveNode) -> None:
    response = await live.client.post(NOTICES, json=notice(), headers={KEY: "no-token"})
    assert response.status_code == 401, response.text
    assert await _count(live, IdempotencyRow) == 0


async def test_every_post_of_the_api_takes_the_key(live: LiveNode) -> None:
    # A resent revocation would be a 409 ("is revoked"), a resent screening a second
    # screening, a resent close a 409: with the key, each gets its first answer again.
    officer = "officer"
    published = await _post(live, NOTICES, notice(), "p")
    notice_id = published.json()["notice_id"]
    steps = [
        (f"{NOTICES}/{notice_id}/amend", notice(reference="AMENDED")),
        (f"{NOTICES}/{notice_id}/revoke", {"reason": "published in error"}),
        ("/api/v1/screenings", application()),
    ]
    for path, body in steps:
        first = await _post(live, path, body, f"key:{path}", officer)
        assert first.status_code in (200, 201), first.text
        again = await _post(live, path, body, f"key:{path}", officer)
        assert (again.status_code, again.content) == (first.status_code, first.content)
        assert again.headers["idempotent-replayed"] == "true"
    screening_id = first.json()["screening_id"]
    close = f"/api/v1/screenings/{screening_id}/close"
    body = {"outcome": "withdrawn"}
    first = await _post(live, close, body, "close")
    assert first.status_code == 200, first.text
    again = await _post(live, close, body, "close")
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert await _count(live, ScreeningRow) == 1
    assert await _count(live, EntryRow) == 4  # key.added, published, amended, revoked


async def test_the_openapi_document_states_the_header_on_every_api_post(live: LiveNode) -> None:
    document = (await live.client.get("/openapi.json")).json()
    posts = {
        path: operations["post"]
        for path, operations in document["paths"].items()
        if "post" in operations
    }
    assert {p for p in posts if p.startswith("/api/v1/")} == {
        "/api/v1/notices",
        "/api/v1/notices/{notice_id}/amend",
        "/api/v1/notices/{notice_id}/revoke",
        "/api/v1/notices/{notice_id}/review",
        "/api/v1/screenings",
        "/api/v1/screenings/{screening_id}/close",
        "/api/v1/screenings/{screening_id}/determinations",
        "/api/v1/consultations",
        "/api/v1/consultations/{consultation_id}/answer",
        "/api/v1/consultations/{consultation_id}/extend",
        "/api/v1/consultations/{consultation_id}/follow-up",
        "/api/v1/approvals",
    }
    for path, operation in posts.items():
        headers = [p for p in operation.get("parameters", []) if p["in"] == "header"]
        if not path.startswith("/api/v1/"):
            assert headers == [], path  # a federation hint is answered by its signature
            continue
        [parameter] = headers
        assert parameter["name"] == KEY and parameter["required"] is False
        assert parameter["schema"]["pattern"]
        for status in ("400", "409", "422"):
            assert status in operation["responses"], (path, status)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method != "post":
                assert all(p["name"] != KEY for p in operation.get("parameters", [])), path


async def test_concurrent_keyed_requests_each_get_their_own_answer(live: LiveNode) -> None:
    # Claims and answers of concurrent requests share write transactions; a refusal in one
    # of them is its own.
    first_body = notice()
    first = await _post(live, NOTICES, first_body, "k0")
    assert first.status_code == 201, first.text
    bodies = [notice() for _ in range(8)]
    sends = [
        *(_post(live, NOTICES, body, f"k{n + 1}") for n, body in enumerate(bodies)),
        _post(live, NOTICES, notice(), "k0"),  # the key of another request
        _post(live, NOTICES, first_body, "k0"),  # the first request again
        _post(live, NOTICES, bodies[0], "k1"),  # sent twice at once
    ]
    responses = await asyncio.gather(*sends)
    assert [r.status_code for r in responses[:8]].count(201) >= 7
    assert responses[8].status_code == 422, responses[8].text
    assert responses[9].status_code == 201 and responses[9].content == first.content
    # whichever of the two claimed the key first is answered; the other is refused while it
    # is in flight, or replays its answer
    pair = sorted(
        [responses[0], responses[10]],
        key=lambda r: (r.status_code != 201, "idempotent-replayed" in r.headers),
    )
    assert pair[0].status_code == 201, pair[0].text
    assert pair[1].status_code == 409 or pair[1].content == pair[0].content, pair[1].text
    assert all(r.status_code == 201 for r in responses[1:8]), [r.text for r in responses]
    assert await _count(live, NoticeRow) == 9


async def test_two_workers_claiming_one_key_at_once_one_gets_it(
    live: LiveNode, clock: FakeClock
) -> None:
    # On PostgreSQL the second insert of the key fails its savepoint and is claimed again
    # after the first commits: in flight.
    claim = idempotency.Claim("token", idempotency.key_digest("race"), "f" * 64)
    workers = [idempotency.Keys(live.db, clock) for _ in range(2)]
    outcomes = await asyncio.gather(
        *(w.claim(claim, actor="officer:test", target="POST /") for w in workers),
        return_exceptions=True,
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["IdempotencyKeyInFlight", "NoneType"], (
        outcomes
    )
