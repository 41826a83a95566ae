"""Request bodies are bounded before and while they are read, and JSON only (issue 11 item 5):
413 when the headers or the stream exceed the endpoint's cap, 415 for a body that is not
JSON; nothing is written either way. (tests/security/test_bodies.py shows the memory of a
real `denex serve` stays flat under a 300 MB body.)"""

from collections.abc import AsyncIterator

import httpx
import pytest

from service.api.limits import API_BODY, FEDERATION_BODY
from tests.nodes import LiveNode
from tests.peers import peer_auth
from tests.service.notice_data import notice


async def _chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * min(size, total - sent)
        sent += size


async def _count_notices(live: LiveNode) -> int:
    r = await live.client.get("/api/v1/notices", headers=live.auth("officer"))
    return len(r.json()["items"])


def _problem(r: httpx.Response, status: int, *words: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    for word in words:
        assert word in r.json()["detail"], r.json()


@pytest.mark.parametrize(
    ("path", "cap", "role"),
    [("/api/v1/notices", API_BODY, "officer"), ("/federation/v1/hint", FEDERATION_BODY, "peer")],
)
async def test_a_declared_length_over_the_cap_is_413(
    live: LiveNode, path: str, cap: int, role: str
) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": str(cap + 1)}
    auth = await peer_auth(live) if role == "peer" else None
    if role != "peer":
        headers.update(live.auth(role))
    r = await live.client.post(path, content=b"{" + b" " * cap + b"}", headers=headers, auth=auth)
    _problem(r, 413, str(cap))
    assert await _count_notices(live) == 0


@pytest.mark.parametrize(
    ("path", "cap"), [("/api/v1/notices", API_BODY), ("/federation/v1/hint", FEDERATION_BODY)]
)
async def test_a_chunked_body_is_cut_off_at_the_cap(live: LiveNode, path: str, cap: int) -> None:
    """No length announced: the body is counted as it streams and refused once past the cap
    (the fake signature headers of an attacker change nothing)."""
    headers = {
        "Content-Type": "application/json",
        "Signature-Input": 'sig1=("@method");created=1;keyid="x"',
        "Signature": "sig1=:AAAA:",
        **live.auth("officer"),
    }
    r = await live.client.post(path, content=_chunks(cap * 4), headers=headers)
    _problem(r, 413, str(cap))
    assert await _count_notices(live) == 0


async def test_a_body_within_the_cap_is_read(live: LiveNode) -> None:
    big = notice(end_use="x" * 4000)
    r = await live.client.post("/api/v1/notices", json=big, headers=live.auth("officer"))
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
async def test_a_body_that_is_not_json_is_415(live: LiveNode, content_type: str | None) -> None:
    headers = live.auth("officer")
    if content_type is not None:
        headers["Content-Type"] = content_type
    r = await live.client.post("/api/v1/notices", content=b'{"a": 1}', headers=headers)
    _problem(r, 415, "application/json")
    assert await _count_notices(live) == 0


async def test_json_media_types_are_json(live: LiveNode) -> None:
    for content_type in (
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "application/x+json",
    ):
        r = await live.client.post(
            "/api/v1/screenings",
            content=b"[]",
            headers={**live.auth("officer"), "Content-Type": content_type},
        )
        assert r.status_code == 422, (content_type, r.text)  # read, then found invalid


async def test_an_empty_body_declared_as_text_is_415(live: LiveNode) -> None:
    headers = {**live.auth("officer"), "Content-Type": "text/plain"}
    _problem(await live.client.post("/api/v1/screenings", headers=headers), 415)


async def test_every_operation_with_a_body_documents_413_and_415(live: LiveNode) -> None:
    schema = (await live.client.get("/openapi.json")).json()
    with_body = [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if "requestBody" in op
    ]
    assert len(with_body) >= 8
    for path, method, op in with_body:
        assert {"413", "415"} <= set(op["responses"]), (method, path)
