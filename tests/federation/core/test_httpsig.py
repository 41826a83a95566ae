"""federation.core.httpsig: RFC 9421 request signatures in denex's profile, and RFC 9530 digests.

RFC 9421 Appendix B.2.6 (Ed25519) is read in place from `shared/vectors/rfc9421/` beside the
checkout: the exact signature base is rebuilt, the published signature verifies under the
published key, and, Ed25519 being deterministic, signing reproduces it byte for byte. Then
table and hypothesis cases: any change of method, authority, path, query, body or `created`
breaks verification; a `created` outside ±300 s, an unknown or wrong key, a missing digest or
an unsigned request is refused.
"""

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from federation.core import httpsig
from federation.core.errors import PeerAuthError
from keys.ed25519 import KeyPair

VECTOR = Path(__file__).resolve().parents[4] / "shared" / "vectors" / "rfc9421" / "b26-ed25519.json"
B26_COMPONENTS = ("date", "@method", "@path", "@authority", "content-type", "content-length")
NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
URL = "https://fr-sbdu.denex.example/federation/v1/logs/de-bafa/entries?start=5&limit=10"
KEY = KeyPair.from_raw(bytes(range(32)))


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture(scope="module")
def b26() -> dict[str, Any]:
    assert VECTOR.exists(), f"no RFC 9421 vector at {VECTOR}: shared/ must lie beside the checkout"
    vector: dict[str, Any] = json.loads(VECTOR.read_text())
    return vector


def test_b26_private_key_matches_its_public_key(b26: dict[str, Any]) -> None:
    key = KeyPair.from_raw(_b64url(b26["private_key_jwk_d"]))
    assert key.public == _b64url(b26["public_key_jwk_x"])


def test_b26_signature_base_is_rebuilt_exactly(b26: dict[str, Any]) -> None:
    request = b26["request"]
    base = httpsig.signature_base(
        request["method"],
        request["url"],
        key_id="test-key-ed25519",
        created=datetime.fromtimestamp(1618884473, UTC),
        headers=request["headers"],
        components=B26_COMPONENTS,
        include_alg=False,
    )
    assert base == b26["signature_base"].encode("ascii")


def test_b26_published_signature_verifies(b26: dict[str, Any]) -> None:
    request = b26["request"]
    headers = {
        **request["headers"],
        "Signature-Input": b26["signature_input"],
        "Signature": b26["signature"],
    }
    verified = httpsig.verify_request(
        request["method"],
        request["url"],
        headers,
        b"",  # B.2.6 covers no Content-Digest, so the body is not part of what it signs
        keys={"test-key-ed25519": _b64url(b26["public_key_jwk_x"])},
        now=datetime.fromtimestamp(1618884473, UTC),
        required=(),
    )
    assert verified == httpsig.Verified(
        "test-key-ed25519",
        1618884473,
        "sig-b26",
        replay_key=hashlib.sha256(b26["signature_base"].encode()).digest(),
    )


def test_b26_signature_is_reproduced_byte_for_byte(b26: dict[str, Any]) -> None:
    request = b26["request"]
    fields = httpsig.sign_request(
        request["method"],
        request["url"],
        body=b"",
        key=KeyPair.from_raw(_b64url(b26["private_key_jwk_d"])),
        now=datetime.fromtimestamp(1618884473, UTC),
        headers=request["headers"],
        components=B26_COMPONENTS,
        key_id="test-key-ed25519",
        label="sig-b26",
        include_alg=False,
    )
    assert fields == {"Signature-Input": b26["signature_input"], "Signature": b26["signature"]}


# --- the denex profile ----------------------------------------------------------------------


def _signed(
    method: str = "GET", url: str = URL, body: bytes = b"", now: datetime = NOW
) -> dict[str, str]:
    return httpsig.sign_request(method, url, body=body, key=KEY, now=now)


def _verify(
    headers: dict[str, str],
    method: str = "GET",
    url: str = URL,
    body: bytes = b"",
    now: datetime = NOW,
    keys: dict[str, bytes] | None = None,
) -> httpsig.Verified:
    return httpsig.verify_request(
        method, url, headers, body, keys={KEY.key_id: KEY.public} if keys is None else keys, now=now
    )


def test_a_signed_request_verifies_and_names_its_key() -> None:
    headers = _signed()
    assert set(headers) == {"Signature-Input", "Signature"}
    params = headers["Signature-Input"]
    assert params.startswith('sig1=("@method" "@authority" "@path" "@query");created=')
    assert f'keyid="{KEY.key_id}"' in params and 'alg="ed25519"' in params
    verified = _verify(headers)
    assert (verified.key_id, verified.created, verified.label) == (
        KEY.key_id,
        int(NOW.timestamp()),
        "sig1",
    )
    base = httpsig.signature_base("GET", URL, key_id=KEY.key_id, created=NOW)
    assert verified.replay_key == hashlib.sha256(base).digest()


def test_a_nonce_makes_two_signatures_of_one_request_and_second_differ() -> None:
    one, two = (
        httpsig.sign_request("GET", URL, body=b"", key=KEY, now=NOW, nonce=nonce)
        for nonce in ("n1", "n2")
    )
    assert 'nonce="n1"' in one["Signature-Input"] and one["Signature"] != two["Signature"]
    assert _verify(one).replay_key != _verify(two).replay_key
    assert _verify(one).replay_key == _verify(dict(one)).replay_key  # the same bytes again


def test_a_body_is_covered_by_its_content_digest() -> None:
    body = b'{"origin": "de-bafa", "size": 12}'
    headers = _signed("POST", body=body)
    assert headers["Content-Digest"] == httpsig.content_digest(body)
    assert headers["Content-Digest"].startswith("sha-256=:")
    assert '"content-digest")' in headers["Signature-Input"]
    _verify(headers, "POST", body=body)
    with pytest.raises(PeerAuthError, match="Content-Digest does not match"):
        _verify(headers, "POST", body=body + b" ")


def test_content_digest_round_trip_and_refusal() -> None:
    httpsig.check_content_digest(httpsig.content_digest(b"abc"), b"abc")
    with pytest.raises(PeerAuthError, match="Content-Digest"):
        httpsig.check_content_digest(httpsig.content_digest(b"abc"), b"abd")
    with pytest.raises(PeerAuthError, match="Content-Digest"):
        httpsig.check_content_digest("sha-256=:not base64:", b"abc")


def test_a_body_without_a_signed_digest_is_refused() -> None:
    headers = _signed("POST")  # signed as if there were no body
    with pytest.raises(PeerAuthError, match=r"(?i)content-digest"):
        _verify(headers, "POST", body=b'{"size": 1}')


def test_an_unsigned_request_is_refused() -> None:
    with pytest.raises(PeerAuthError, match="not signed"):
        _verify({})
    with pytest.raises(PeerAuthError, match="not signed"):
        _verify({"Signature": _signed()["Signature"]})


@pytest.mark.parametrize(
    ("change", "value"),
    [
        ("method", "POST"),
        ("url", URL.replace("fr-sbdu", "jp-meti")),  # @authority
        ("url", URL.replace(".example/", ".example:8443/")),  # @authority (port)
        ("url", URL.replace("de-bafa", "us-bis")),  # @path
        ("url", URL.replace("start=5", "start=6")),  # @query
        ("url", URL.split("?")[0]),  # @query dropped
    ],
)
def test_a_changed_request_does_not_verify(change: str, value: str) -> None:
    headers = _signed()
    target = {"method": "GET", "url": URL, change: value}
    with pytest.raises(PeerAuthError):
        _verify(headers, target["method"], target["url"])


def test_the_scheme_is_not_covered() -> None:
    # The profile covers authority, path and query; a TLS-terminating proxy may change the
    # scheme the server sees without breaking signatures.
    _verify(_signed(), url=URL.replace("https://", "http://"))


@pytest.mark.parametrize("offset", [-301, 301, -3600, 86400])
def test_created_outside_the_window_is_refused(offset: int) -> None:
    headers = _signed(now=NOW + timedelta(seconds=offset))
    with pytest.raises(PeerAuthError, match="±300 s"):
        _verify(headers)


@pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
def test_created_inside_the_window_is_accepted(offset: int) -> None:
    _verify(_signed(now=NOW + timedelta(seconds=offset)))


def test_a_changed_created_parameter_does_not_verify() -> None:
    headers = _signed()
    created = int(NOW.timestamp())
    headers["Signature-Input"] = headers["Signature-Input"].replace(
        f"created={created}", f"created={created + 1}"
    )
    with pytest.raises(PeerAuthError):
        _verify(headers)


def test_unknown_and_wrong_keys_are_refused() -> None:
    other = KeyPair.from_raw(bytes(range(1, 33)))
    with pytest.raises(PeerAuthError, match="not a signing key of any peer"):
        _verify(_signed(), keys={other.key_id: other.public})
    # the key id of a trusted key, but the signature made with another key
    forged = httpsig.sign_request("GET", URL, body=b"", key=other, now=NOW, key_id=KEY.key_id)
    with pytest.raises(PeerAuthError):
        _verify(forged)


def test_the_algorithm_comes_from_the_key_never_from_the_request() -> None:
    headers = _signed()
    headers["Signature-Input"] = headers["Signature-Input"].replace(
        'alg="ed25519"', 'alg="hmac-sha256"'
    )
    with pytest.raises(PeerAuthError, match="algorithm"):
        _verify(headers)


def test_a_signature_that_leaves_out_a_required_component_is_refused() -> None:
    headers = httpsig.sign_request(
        "GET", URL, body=b"", key=KEY, now=NOW, components=("@method", "@authority", "@path")
    )
    with pytest.raises(PeerAuthError, match="@query"):
        _verify(headers)


def test_two_signatures_are_refused() -> None:
    one, two = _signed(), httpsig.sign_request("GET", URL, body=b"", key=KEY, now=NOW, label="x")
    headers = {
        "Signature-Input": f"{one['Signature-Input']}, {two['Signature-Input']}",
        "Signature": f"{one['Signature']}, {two['Signature']}",
    }
    with pytest.raises(PeerAuthError, match=r"[Mm]ultiple"):
        _verify(headers)


def test_a_malformed_signature_field_is_refused() -> None:
    headers = _signed()
    headers["Signature"] = "sig1=not-a-byte-sequence"
    with pytest.raises(PeerAuthError):
        _verify(headers)


_segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    host=_segment,
    path=st.lists(_segment, min_size=1, max_size=4),
    query=st.dictionaries(_segment, _segment, max_size=3),
    body=st.binary(max_size=64),
    part=st.sampled_from(["method", "host", "path", "query", "body", "created"]),
)
def test_any_change_breaks_verification(
    method: str,
    host: str,
    path: list[str],
    query: dict[str, str],
    body: bytes,
    part: str,
) -> None:
    def url(h: str, p: list[str], q: dict[str, str]) -> str:
        text = f"https://{h}.example/{'/'.join(p)}"
        return text + ("?" + "&".join(f"{k}={v}" for k, v in q.items()) if q else "")

    headers = httpsig.sign_request(method, url(host, path, query), body=body, key=KEY, now=NOW)
    _verify(headers, method, url(host, path, query), body)  # unchanged: verifies
    changed: dict[str, Any] = {"method": method, "url": url(host, path, query), "body": body}
    if part == "method":
        changed["method"] = "PATCH"
    elif part == "host":
        changed["url"] = url(host + "x", path, query)
    elif part == "path":
        changed["url"] = url(host, [*path, "x"], query)
    elif part == "query":
        changed["url"] = url(host, path, {**query, "zz": "1"})
    elif part == "body":
        changed["body"] = body + b"!"
    else:
        created = int(NOW.timestamp())
        headers = {
            **headers,
            "Signature-Input": headers["Signature-Input"].replace(
                f"created={created}", f"created={created - 7}"
            ),
        }
    with pytest.raises(PeerAuthError):
        _verify(headers, changed["method"], changed["url"], changed["body"])
