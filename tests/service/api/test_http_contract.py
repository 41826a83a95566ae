"""What an HTTP client may rely on (docs/decisions/0024): a problem `type` per kind of error,
the page each type names, `Allow` on every 405, messages without class names, cursors of the
documented form, and the docs pages with every asset served by the node itself.

In-process, on the real app of a real node (tests/nodes.py); tests/system/test_http_contract.py
checks the same pages through a real `denex serve`.
"""

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.api.problem_types import BLANK, KINDS
from tests.nodes import LiveNode
from tests.service.notice_data import application, notice

PROBLEM = "application/problem+json"
NOTICES = "/api/v1/notices"
DOCS = Path(__file__).parents[3] / "docs" / "problems.md"
UUID = "01936f4a-0000-7000-8000-000000000000"


@pytest.fixture
async def node(make_node: Callable[..., Awaitable[LiveNode]]) -> LiveNode:
    return await make_node("de-bafa")


def kind_of(response: httpx.Response, status: int) -> str:
    """The problem `type` of an error response, checked to be a problem document."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    doc: dict[str, Any] = response.json()
    assert doc["status"] == status
    [found] = [k for k in KINDS if k.type == doc["type"]]
    assert doc["title"] == found.title and found.status == status
    return found.slug


# --- each kind of error has its type ---------------------------------------------------------


async def test_each_kind_of_error_answers_its_type(node: LiveNode) -> None:
    client, officer = node.client, node.auth("officer")
    published = await client.post(NOTICES, json=notice(), headers=officer)
    notice_id = published.json()["notice_id"]
    again = notice(reference=published.json()["notice"]["reference"])
    await client.post(f"{NOTICES}/{notice_id}/revoke", json={"reason": "r"}, headers=officer)
    cases: list[tuple[Awaitable[httpx.Response], int, str]] = [
        (client.get(NOTICES), 401, "unauthenticated"),
        (client.get(NOTICES, headers={"Authorization": "Bearer dnx_nope"}), 401, "unauthenticated"),
        (client.get("/api/v1/audit", headers=officer), 403, "forbidden"),
        (client.get(f"{NOTICES}/{UUID}", headers=officer), 404, "not-found"),
        (client.get("/api/v1/no-such-thing", headers=officer), 404, "not-found"),
        (client.delete(NOTICES, headers=officer), 405, "method-not-allowed"),
        (
            client.post(f"{NOTICES}/{notice_id}/amend", json=notice(), headers=officer),
            409,
            "conflict",
        ),
        (client.post(NOTICES, json=again, headers=officer), 409, "reference-taken"),
        (
            client.post(NOTICES, json=again, headers={**officer, "Idempotency-Key": "k"}),
            409,
            "reference-taken",  # a refused request keeps no answer: its key is free again
        ),
        (
            client.post(
                "/api/v1/screenings",
                json=application(),
                headers={**officer, "Idempotency-Key": "k"},
            ),
            201,
            "",
        ),
        (
            client.post(NOTICES, json=notice(), headers={**officer, "Idempotency-Key": "k"}),
            422,
            "idempotency-key-reused",
        ),
        (
            client.post(NOTICES, json=notice(), headers={**officer, "Idempotency-Key": "a b"}),
            400,
            "bad-request",
        ),
        (
            client.post(
                "/api/v1/screenings",
                content=b"{}",
                headers={**officer, "Content-Type": "text/plain"},
            ),
            415,
            "unsupported-media-type",
        ),
        (
            client.post(
                "/api/v1/screenings",
                content=b"[" * (1024 * 1024 + 1),
                headers={**officer, "Content-Type": "application/json"},
            ),
            413,
            "payload-too-large",
        ),
        (client.post("/api/v1/screenings", json={}, headers=officer), 422, "invalid-input"),
        (client.get(NOTICES, params={"limit": "0"}, headers=officer), 422, "invalid-input"),
        (client.get("/federation/v1/logs"), 401, "peer-signature-refused"),
    ]
    for request, status, expected in cases:
        response = await request
        if status < 400:
            assert response.status_code == status, response.text
            continue
        assert kind_of(response, status) == expected, response.text
    challenge = (await client.get(NOTICES)).headers["www-authenticate"]
    assert challenge == "Bearer"
    peer = await client.get("/federation/v1/logs")
    assert peer.headers["www-authenticate"].startswith("Signature")
    assert "accept-signature" in peer.headers


async def test_an_audience_outside_the_roster_is_a_conflict_not_invalid_input(
    node: LiveNode,
) -> None:
    officer = node.auth("officer")
    outside = notice(audience=["de-bafa", "zz-nobody"])
    r = await node.client.post(NOTICES, json=outside, headers=officer)
    assert kind_of(r, 409) == "conflict"
    assert "zz-nobody" in r.json()["detail"]
    # with a fault of the body's own as well, it is invalid input, naming every field
    both = notice(audience=["de-bafa", "zz-nobody"], decided_on="2026-13-01")
    r = await node.client.post(NOTICES, json=both, headers=officer)
    assert kind_of(r, 422) == "invalid-input"
    assert {e["field"] for e in r.json()["errors"]} == {"audience", "decided_on"}


async def test_every_type_has_its_page_and_docs_list_them_all(node: LiveNode) -> None:
    table = DOCS.read_text(encoding="utf-8")
    rows = {line for line in table.splitlines() if line.startswith("| `/problems/")}
    assert rows == {f"| `{k.type}` | {k.status} | {k.title} | {k.about} |" for k in KINDS}
    for k in KINDS:
        page = await node.client.get(k.type)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert f"<h1>{k.title}" in page.text.replace("&#x27;", "'")
    index = await node.client.get("/problems")
    assert all(k.type in index.text for k in KINDS)
    assert kind_of(await node.client.get("/problems/no-such-kind"), 404) == "not-found"

    schema = (await node.client.get("/openapi.json")).json()
    documented = schema["components"]["schemas"]["Problem"]["properties"]["type"]["enum"]
    assert documented == [*(k.type for k in KINDS), BLANK]
    assert schema["paths"]["/problems/{kind}"]["get"]["parameters"][0]["schema"]["enum"] == [
        k.slug for k in KINDS
    ]


# --- 405 and Allow ---------------------------------------------------------------------------

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "TRACE", "OPTIONS")


async def test_every_405_carries_the_methods_the_document_gives_for_the_path(
    node: LiveNode,
) -> None:
    schema = (await node.client.get("/openapi.json")).json()
    values = {
        "notice_id": UUID,
        "screening_id": UUID,
        "consultation_id": UUID,
        "origin": "de-bafa",
        "kind": "not-found",
    }
    checked = 0
    for template, item in schema["paths"].items():
        path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)
        documented = {m.upper() for m in item}
        allow = ", ".join(sorted(documented))
        for method in METHODS:
            if method in documented:
                continue
            r = await node.client.request(method, path, headers=node.auth("officer"))
            if method == "HEAD":  # a HEAD answer has no body
                assert r.status_code == 405, path
            else:
                assert kind_of(r, 405) == "method-not-allowed", (method, path)
            assert r.headers["allow"] == allow, (method, path)
            checked += 1
    assert checked > 100
    # a route outside the document: the router's own list
    r = await node.client.post("/docs")
    assert kind_of(r, 405) == "method-not-allowed" and r.headers["allow"] == "GET"


async def test_get_on_an_amend_path_is_405_not_a_read_of_origin_amend(node: LiveNode) -> None:
    """`/notices/{id}/amend` also has the shape of `/notices/{origin}/{notice_id}`: only a
    node id is routed as an origin, so a GET there is a method the path does not answer."""
    for action in ("amend", "revoke"):
        r = await node.client.get(f"{NOTICES}/{UUID}/{action}", headers=node.auth("officer"))
        assert kind_of(r, 405) == "method-not-allowed"
        assert r.headers["allow"] == "POST"


# --- messages an officer understands ---------------------------------------------------------

BODIES = {
    "/api/v1/notices": "the notice is invalid",
    f"{NOTICES}/{UUID}/revoke": "the revocation is invalid",
    "/api/v1/screenings": "the application is invalid",
    f"/api/v1/screenings/{UUID}/close": "the licence decision is invalid",
    "/api/v1/consultations": "the consultation request is invalid",
    f"/api/v1/consultations/{UUID}/answer": "the answer is invalid",
    "/api/v1/approvals": "the approval notification is invalid",
}
PYTHON = re.compile(r"[A-Z][a-z]+(Input|Error|Exception)\b|\bNone\b|__\w+__")


async def test_messages_name_no_python_classes(node: LiveNode) -> None:
    officer = node.auth("officer")
    for path, detail in BODIES.items():
        r = await node.client.post(path, json={"x": 1}, headers=officer)
        assert kind_of(r, 422) == "invalid-input"
        assert r.json()["detail"] == detail
        assert not PYTHON.search(r.text), r.text
    bad_entry = application(items=[{"control_entry": "5Z001", "description": "a thing"}])
    r = await node.client.post("/api/v1/screenings", json=bad_entry, headers=officer)
    [error] = r.json()["errors"]
    assert error == {
        "field": "items.0.control_entry",
        "message": '"5Z001" is not a control-list entry (expected e.g. 5A001.j, 5.A.1.j, '
        "ML21.b or catch-all)",
    }
    for headers in ({"Content-Type": "text/plain"}, {}):
        r = await node.client.post(
            "/api/v1/screenings", content=b"{}", headers={**officer, **headers}
        )
        assert not PYTHON.search(r.json()["detail"]) and "'" not in r.json()["detail"], r.text
    r = await node.client.get(f"{NOTICES}/not-a-uuid", headers=officer)
    assert r.json()["errors"] == [
        {
            "field": "notice_id",
            "message": "must be a UUID in lower-case hex, e.g. 0193e3a2-7c1d-7b3e-9f00-5a1c2b3d4e5f",
        }
    ]


# --- cursors of the documented form ----------------------------------------------------------


async def test_a_cursor_of_the_documented_form_is_never_refused(node: LiveNode) -> None:
    """Any base64url string is a cursor: one that names no position starts the list."""
    officer, auditor = node.auth("officer"), node.auth("auditor")
    await node.client.post(NOTICES, json=notice(), headers=officer)
    first = (await node.client.get(NOTICES, headers=officer)).json()
    for cursor in ("0" * 500, "AAAA", "eyJ2IjoyfQ", "_-_-", ""):
        for path, headers in (
            (NOTICES, officer),
            ("/api/v1/consultations", officer),
            ("/api/v1/approvals", officer),
            ("/api/v1/audit", auditor),
        ):
            r = await node.client.get(path, params={"cursor": cursor}, headers=headers)
            assert r.status_code == 200, (path, cursor, r.text)
        page = await node.client.get(NOTICES, params={"cursor": cursor}, headers=officer)
        assert page.json() == first
    for cursor in ("a=", "a b", "a" * 501, "a/b"):
        r = await node.client.get(NOTICES, params={"cursor": cursor}, headers=officer)
        assert kind_of(r, 422) == "invalid-input"
        assert [e["field"] for e in r.json()["errors"]] == ["cursor"]


async def test_dates_in_filters_are_iso_dates_only(node: LiveNode) -> None:
    officer = node.auth("officer")
    for value in ("0", "1700000000", "2026-1-1", "2026-02-30", ""):
        r = await node.client.get(NOTICES, params={"decided_to": value}, headers=officer)
        assert kind_of(r, 422) == "invalid-input", value
    r = await node.client.get(NOTICES, params={"decided_to": "2026-02-28"}, headers=officer)
    assert r.status_code == 200


# --- the docs pages, offline -----------------------------------------------------------------

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_every_asset_from_the_node(node: LiveNode, page: str) -> None:
    r = await node.client.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assets = ASSET.findall(r.text)
    assert len(assets) >= 2, r.text
    for url in assets:
        assert url.startswith("/docs/assets/"), url  # no CDN, no fonts from elsewhere
        fetched = await node.client.get(url)
        assert fetched.status_code == 200, url
        expected = TYPES[Path(url).suffix]
        assert fetched.headers["content-type"].startswith(expected), url
        assert len(fetched.content) > 1000, url
    assert "http://" not in r.text.replace("http://www.w3.org", "")
    assert "https://" not in r.text
    assert kind_of(await node.client.get("/docs/assets/../../etc/passwd"), 404) == "not-found"
    assert kind_of(await node.client.get("/docs/assets/secret.txt"), 404) == "not-found"


async def test_a_refused_query_pattern_is_said_in_words(node: LiveNode) -> None:
    officer = node.auth("officer")
    for params, message in (
        ({"control_entry": "5Z001"}, "is not a control-list entry (expected e.g. 5A001.j"),
        ({"cursor": "a b"}, "must be the next_cursor of a page of this list, unchanged"),
        ({"origin": "FR"}, "must be a node id"),
    ):
        r = await node.client.get(NOTICES, params=params, headers=officer)
        [error] = r.json()["errors"]
        assert error["message"].startswith(message), error
        assert "^" not in error["message"], error  # no regular expression shown
