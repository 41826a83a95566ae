"""Schemathesis against the node's own `/openapi.json` (DESIGN §8, §12).

The real app of a real node (SQLite file, keys on disk, migrations) is loaded in-process with
schemathesis's ASGI loader. Every operation is fuzzed with a valid token of a role allowed to
call it (officer for notices, auditor for the audit trail), in positive and negative generation
modes, and every response must pass every check of `st run --checks all` that judges one
response: not a server error, a documented status code, content type, headers and body schema,
a request the document allows is accepted (`positive_data_acceptance`, but for the few rules
JSON Schema cannot state: UNSTATABLE), one it does not allow is refused
(`negative_data_rejection`), and the method and header checks. 405s and `Allow` for every
undocumented method of every path are checked in tests/service/api/test_http_contract.py.

One notice is published before the run; operations with a `{notice_id}` draw either a
generated id (almost always unknown: 404, or 422 for a malformed one) or the real id, and each
operation also runs one explicit, fully valid request against the real notice, so the success
responses (201/200 with a full `Notice`) are checked too.

Missing tokens (401) and tokens of a role that may not call the operation (403) are sent
explicitly, so those documented error responses are checked as well.

The federation operations answer only roster peers: they are called signed (RFC 9421) as a
peer that the fixture adds to the node's roster; unsigned or token-carrying calls get 401.

Bounded and reproducible: `derandomize=True` (the examples depend only on the test), no example
database, at most `MAX_EXAMPLES` examples per operation and mode; about 60 s of CPU in all. This run
emits no warnings, so pytest's `filterwarnings = error` needs no exception here.

A body that is not UTF-8 JSON once drew an undocumented 400 from the revoke operation; the
pinned case `test_undecodable_body_is_documented` keeps every body-taking operation checked.
"""

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import hypothesis
import pytest
import requests
import schemathesis
import uuid_utils.compat as uuid_compat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.strategies._internal import regex as hypothesis_regex
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from federation.core import httpsig
from keys.ed25519 import KeyPair
from service.api.app import create_app
from tests.nodes import FakeClock, LiveNode
from tests.peers import Partner, befriend
from tests.service.notice_data import (
    application,
    insert_foreign_entry,
    insert_foreign_notice,
    notice,
)

MAX_EXAMPLES = 20

# What JSON Schema cannot state (docs/decisions/0024): two fields compared, a date after
# today, the size of a signed notice, an audience against the roster (a 409 alone, named
# beside the body's own faults in a 422); and a proof's parameters against each other and the
# log's size (400 `/problems/bad-request`, DESIGN §5). A 422 naming only these is not a request
# refused for its form, nor an Idempotency-Key that an earlier generated request used with
# another body (decision 0025: a 422 by draft-ietf-httpapi-idempotency-key-header); any other
# refusal of a request the document allows fails `positive_data_accepted`.
UNSTATABLE = {
    ("valid_until", "must be after decided_on"),
    ("reply_due", "is not after"),
    ("body", "the signed notice would be"),
    ("audience", "not a member of the notice's regimes"),
    # field combinations (decision 0034): a superseded revocation names its successor, a
    # final answer its position, a conditional one its conditions; reviews and extensions
    # move dates forward from the one they follow
    ("body", "is given exactly when"),
    ("body", "are given exactly with"),
    ("body", "next_review must be after reviewed_on"),
    ("next_review", "must be after reviewed_on"),
    ("reply_due", "must be after"),
    ("to", "the period ends before it starts"),
    ("to", "a report spans"),
}
STATEFUL = {"/problems/bad-request", "/problems/idempotency-key-reused"}


def _only_unstatable(response: Any) -> bool:
    if response.status_code in (400, 422) and response.json()["type"] in STATEFUL:
        return True
    if response.status_code != 422:
        return False
    errors = response.json().get("errors") or []
    return bool(errors) and all(
        any(e["field"] == field and message in e["message"] for field, message in UNSTATABLE)
        for e in errors
    )


def positive_data_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis's positive_data_acceptance, but for the rules listed in UNSTATABLE."""
    if _only_unstatable(response):
        return None
    return positive_data_acceptance(ctx, response, case)


# The checks of `st run --checks all` that judge one response (the stateful ones, which chain
# requests, are left out; missing and wrong-role tokens are checked below).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_accepted,
    missing_required_header,
    unsupported_method,
    allow_header_conformance,
]

NOTICE = "/api/v1/notices/{notice_id}"
NOTICE_OF = "/api/v1/notices/{origin}/{notice_id}"


# Every operation of the API: the role whose token it is called with ("peer": signed as a roster
# peer instead), a role that must be refused (403; 401 for peer-only operations), and marks. The health, readiness and metrics endpoints need no token; they are sent the
# officer's, which they must ignore. `test_every_operation_is_listed` keeps this list equal to
# the OpenAPI document.
OPERATIONS: list[tuple[str, str, str, str | None, tuple[pytest.MarkDecorator, ...]]] = [
    ("POST", "/api/v1/notices", "officer", "auditor", ()),
    ("GET", "/api/v1/notices", "officer", "admin", ()),
    ("GET", NOTICE, "officer", "admin", ()),
    ("GET", NOTICE_OF, "officer", "admin", ()),
    ("POST", NOTICE + "/amend", "officer", "auditor", ()),
    ("POST", NOTICE + "/revoke", "officer", "auditor", ()),
    ("POST", NOTICE + "/review", "officer", "auditor", ()),
    ("POST", "/api/v1/screenings", "officer", "auditor", ()),
    ("GET", "/api/v1/screenings/{screening_id}", "officer", "auditor", ()),
    ("POST", "/api/v1/screenings/{screening_id}/close", "officer", "auditor", ()),
    ("POST", "/api/v1/screenings/{screening_id}/determinations", "officer", "auditor", ()),
    ("POST", "/api/v1/consultations", "officer", "auditor", ()),
    ("GET", "/api/v1/consultations", "officer", "auditor", ()),
    ("POST", "/api/v1/consultations/{consultation_id}/answer", "officer", "auditor", ()),
    ("POST", "/api/v1/consultations/{consultation_id}/extend", "officer", "auditor", ()),
    ("POST", "/api/v1/consultations/{consultation_id}/follow-up", "officer", "auditor", ()),
    ("POST", "/api/v1/approvals", "officer", "auditor", ()),
    ("GET", "/api/v1/approvals", "officer", "auditor", ()),
    ("GET", "/api/v1/evidence/{notice_id}", "auditor", "admin", ()),
    ("GET", "/api/v1/evidence/{origin}/{notice_id}", "auditor", "admin", ()),
    ("GET", "/api/v1/audit", "auditor", "officer", ()),
    ("GET", "/api/v1/peers", "admin", "officer", ()),
    ("GET", "/api/v1/rules", "officer", "admin", ()),
    ("GET", "/api/v1/reports/returns", "auditor", "admin", ()),
    ("GET", "/federation/v1/logs", "peer", "admin", ()),
    ("GET", "/federation/v1/logs/{origin}/checkpoint", "peer", "admin", ()),
    ("GET", "/federation/v1/logs/{origin}/entries", "peer", "admin", ()),
    ("GET", "/federation/v1/logs/{origin}/proof/inclusion", "peer", "admin", ()),
    ("GET", "/federation/v1/logs/{origin}/proof/consistency", "peer", "admin", ()),
    ("POST", "/federation/v1/hint", "peer", "admin", ()),
    ("GET", "/healthz", "officer", None, ()),
    ("GET", "/readyz", "officer", None, ()),
    ("GET", "/metrics", "officer", None, ()),
    ("GET", "/problems", "officer", None, ()),
    ("GET", "/problems/{kind}", "officer", None, ()),
]
WRITES = [(m, p, marks) for m, p, _r, _f, marks in OPERATIONS if m == "POST"]

# Health checks that only say generation is slow or rejects many drafts: large request-body
# schemas (a notice) make hypothesis discard drafts, which is expected, not a test defect.
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
    # No shrinking: a failure is reported as found (with a curl line to replay it), which keeps a
    # failing or xfailed run as bounded as a passing one.
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
)


@pytest.fixture(scope="module", autouse=True)
def _regex_strategies_built_once() -> Iterator[None]:
    """schemathesis builds the strategy of a pattern anew for each example, and hypothesis's
    regex strategy visits every character of a class: the text rule's pattern (the ~150,000
    characters it allows, docs/decisions/0024) costs ~0.5 s a build. Build each pattern's once
    (per alphabet) in this module; what is generated is unchanged."""
    built: dict[tuple[str, int, bool, str], Any] = {}
    original = hypothesis_regex.regex_strategy

    def once(regex: Any, fullmatch: bool, *, alphabet: Any) -> Any:
        key = (regex.pattern, regex.flags, fullmatch, repr(alphabet))
        if key not in built:
            built[key] = original(regex, fullmatch, alphabet=alphabet)
        return built[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(hypothesis_regex, "regex_strategy", once)
        yield


class SignAsPeer(requests.auth.AuthBase):
    """Signs each request that schemathesis sends (a requests PreparedRequest) as a peer,
    addressed to the node's published URL (schemathesis's ASGI client sends it to localhost)."""

    def __init__(self, key: KeyPair, live: LiveNode) -> None:
        self.key, self.live = key, live

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body = r.body or b""
        target = urlsplit(r.url or "")
        published = urlsplit(self.live.node.identity.url)
        fields = httpsig.sign_request(
            r.method or "GET",
            urlunsplit((published.scheme, published.netloc, *target[2:])),
            body=body.encode() if isinstance(body, str) else body,
            key=self.key,
            now=self.live.state.clock(),
        )
        r.headers.update(fields)
        return r


@dataclass
class Api:
    live: LiveNode
    schema: Any
    ids: dict[str, str]  # real notice_id, partner_notice_id, screening_id, consultation_id
    peer: SignAsPeer

    def credentials(self, role: str) -> dict[str, Any]:
        """Keyword arguments that make a call as `role` (or signed as a roster peer)."""
        if role == "peer":
            return {"headers": {}, "auth": self.peer}
        return {"headers": self.live.auth(role)}


@pytest.fixture
async def api(make_node: Callable[..., Awaitable[LiveNode]], clock: FakeClock) -> Api:
    live = await make_node("de-bafa")
    published = await live.client.post(
        "/api/v1/notices", json=notice(), headers=live.auth("officer")
    )
    assert published.status_code == 201, published.text
    own_id = published.json()["notice_id"]
    partner = Partner.make("fr-sbdu")
    await befriend(live, partner)
    # a partner's denial that a screening matches, and a consultation the partner asked
    partner_notice = await insert_foreign_notice(live, clock)
    screened = await live.client.post(
        "/api/v1/screenings", json=application(), headers=live.auth("officer")
    )
    assert screened.status_code == 201, screened.text
    consultation_id = str(uuid_compat.uuid7())
    await insert_foreign_entry(
        live,
        clock,
        "consultation.requested",
        {
            "consultation_id": consultation_id,
            "notice_id": own_id,
            "notice_version": 1,
            "reply_due": "2026-12-28",
            "summary": "s",
            "message": "m",
        },
    )
    asked = await live.client.post(
        "/api/v1/consultations",
        json={
            "screening_id": screened.json()["screening_id"],
            "origin": "fr-sbdu",
            "notice_id": partner_notice,
            "summary": "s",
            "message": "m",
        },
        headers=live.auth("officer"),
    )
    assert asked.status_code == 201, asked.text
    app = create_app(live.state)  # the node's real app, on the same state as `live.client`
    config = schemathesis.Config()
    # Tokens are ours to send (valid ones, per operation); schemathesis must not generate or drop
    # the Authorization header. Missing and wrong-role tokens are checked explicitly below.
    config.projects.default.generation.update(with_security_parameters=False)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    ids = {
        "notice_id": own_id,
        "partner_notice_id": partner_notice,
        "screening_id": screened.json()["screening_id"],
        "consultation_id": consultation_id,
        "own_consultation_id": asked.json()["consultation_id"],
    }
    return Api(live, schema, ids, SignAsPeer(partner.signing, live))


def _valid_case(api: Api, method: str, path: str) -> Any:
    """One fully valid request for the operation, against the real notice where it takes one."""
    operation = api.schema[path][method]
    path_parameters = _real_path_parameters(api, path)
    if path.endswith("/hint"):
        return operation.Case(body={"origin": "de-bafa", "size": 1}, media_type="application/json")
    if path.startswith("/federation/"):
        query = {
            "entries": {"start": 0, "limit": 10},
            "inclusion": {"index": 0, "size": 2},
            "consistency": {"from": 1, "to": 2},
        }.get(path.rsplit("/", 1)[-1])
        return operation.Case(path_parameters=path_parameters, query=query)
    ids = api.ids
    bodies: dict[str, Any] = {
        "/api/v1/screenings": application(),
        "/api/v1/screenings/{screening_id}/close": {"outcome": "withdrawn"},
        "/api/v1/screenings/{screening_id}/determinations": {
            "origin": "fr-sbdu",
            "notice_id": ids["partner_notice_id"],
            "identical": False,
            "reasons": "A different end use.",
        },
        "/api/v1/consultations": {
            "screening_id": ids["screening_id"],
            "notice_id": ids["partner_notice_id"],
            "summary": "monitoring centre",
            "message": "Do you maintain your objection?",
        },
        "/api/v1/consultations/{consultation_id}/answer": {
            "position": "maintains_objection",
            "message": "The end user is unchanged.",
        },
        "/api/v1/consultations/{consultation_id}/extend": {
            "reply_due": "2027-06-30",
            "message": "We need more time to check the end user.",
        },
        "/api/v1/consultations/{consultation_id}/follow-up": {
            "step": "information",
            "message": "The end use is civil air traffic control.",
        },
        "/api/v1/approvals": {
            "notice_id": ids["partner_notice_id"],
            "licence_ref": "BAFA-LIC-1",
            "decided_on": "2026-11-28",
            "explanation": "Different end use.",
        },
    }
    if path.endswith("/review"):
        body: Any = {"outcome": "maintained", "note": "Reviewed: the risk is unchanged."}
    elif path.endswith("/revoke"):
        body = {"reason": "licence refusal withdrawn after review", "revoked_on": "2026-11-28"}
    elif method == "POST" and path in bodies:
        body = bodies[path]
    elif method == "POST":
        body = notice(reference="BAFA-2026-0200", destination="IR")
    elif path == "/api/v1/reports/returns":
        return operation.Case(query={"from": "2026-01-01", "to": "2026-12-31"})
    else:
        return operation.Case(path_parameters=path_parameters)
    return operation.Case(path_parameters=path_parameters, body=body, media_type="application/json")


def _real_path_parameters(api: Api, path: str) -> dict[str, str] | None:
    found = {
        name: api.ids[name]
        for name in ("notice_id", "screening_id", "consultation_id")
        if "{" + name + "}" in path
    }
    if path.endswith("/follow-up"):  # the requester's step: a consultation this node asked
        found["consultation_id"] = api.ids["own_consultation_id"]
    if "{origin}" in path:
        found["origin"] = "de-bafa"  # this node: the notice_id above is its own
    if "{kind}" in path:
        found["kind"] = "not-found"
    return found or None


def _strategy(api: Api, method: str, path: str, mode: GenerationMode) -> st.SearchStrategy[Any]:
    operation = api.schema[path][method]
    generated = operation.as_strategy(generation_mode=mode)
    real_parameters = _real_path_parameters(api, path)
    if real_parameters is None:
        return generated
    real = operation.as_strategy(generation_mode=mode, path_parameters=real_parameters)
    return st.one_of(generated, real)


def _has_inputs(operation: Any) -> bool:
    """Negative generation needs something to break: a parameter or a body."""
    definition = operation.definition.raw
    return bool(definition.get("parameters") or definition.get("requestBody"))


def test_every_operation_is_listed(api: Api) -> None:
    documented = {
        (result.ok().method.upper(), result.ok().path) for result in api.schema.get_all_operations()
    }
    assert documented == {(method, path) for method, path, *_rest in OPERATIONS}


@pytest.mark.parametrize(
    ("method", "path", "role"),
    [pytest.param(m, p, r, id=f"{m} {p}", marks=marks) for m, p, r, _f, marks in OPERATIONS],
)
def test_operation_conforms_to_openapi(api: Api, method: str, path: str, role: str) -> None:
    credentials = api.credentials(role)
    operation = api.schema[path][method]

    valid = _valid_case(api, method, path)
    response = valid.call_and_validate(checks=CHECKS, **credentials)
    assert response.status_code in (200, 201, 202), response.text

    modes = [GenerationMode.POSITIVE]
    if _has_inputs(operation):
        modes.append(GenerationMode.NEGATIVE)
    for mode in modes:

        @FUZZ_SETTINGS
        @given(case=_strategy(api, method, path, mode))
        def fuzz(case: Any) -> None:
            case.call_and_validate(checks=CHECKS, **credentials)

        fuzz()


@pytest.mark.parametrize(
    ("method", "path", "forbidden"),
    [pytest.param(m, p, f, id=f"{m} {p}") for m, p, _r, f, _marks in OPERATIONS if f],
)
def test_refusals_conform_to_openapi(api: Api, method: str, path: str, forbidden: str) -> None:
    """No token: 401; a token of a role that may not call the operation: 403 (401 where only
    a peer's signature is accepted); all documented."""
    refused = 401 if path.startswith("/federation/") else 403
    for headers, expected in (({}, 401), (api.live.auth(forbidden), refused)):
        response = _valid_case(api, method, path).call_and_validate(headers=headers, checks=CHECKS)
        assert response.status_code == expected, response.text


@pytest.mark.parametrize(
    ("method", "path"),
    [pytest.param(m, p, id=f"{m} {p}", marks=marks) for m, p, marks in WRITES],
)
def test_undecodable_body_is_documented(api: Api, method: str, path: str) -> None:
    """A case the fuzzer found, pinned: a body that is not UTF-8 must get a documented answer."""
    case = api.schema[path][method].Case(
        path_parameters=_real_path_parameters(api, path),
        body=b"\xf9",
        media_type="application/json",
    )
    response = case.call_and_validate(headers=api.live.auth("officer"), checks=CHECKS)
    assert 400 <= response.status_code < 500
