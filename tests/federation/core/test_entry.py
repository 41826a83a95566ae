"""federation.core.entry and federation.core.identity: sealing and verifying log entries (DESIGN §2-§4).

`seal` is the honest writer; `signed` below builds envelopes by hand so that headers no honest
writer would produce can be put in front of `verify_entry`, which must refuse them all.
"""

import base64
import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import example, given, settings
from hypothesis import strategies as st

from federation.core.entry import (
    ENTRY_TYPES,
    KEY_TYPES,
    MAX_CONTENT_BYTES,
    SALT_BYTES,
    SUBJECT_TYPES,
    Draft,
    SealedEntry,
    VerifiedHeader,
    check_audience,
    content_hash,
    format_time,
    leaf_hash,
    parse_time,
    seal,
    subject_of,
    verify_entry,
)
from federation.core.errors import EntryError, FederationError
from federation.core.identity import is_federation_id, is_node_id
from keys.canonical import canonical_bytes
from keys.dsse import CARD_TYPE, ENTRY_TYPE, sign_envelope
from keys.ed25519 import KeyPair, b64

FED = "denials.echri.example"
ORIGIN = "de-bafa"
SEQ = 42
ROOT = KeyPair(Ed25519PrivateKey.from_private_bytes(b"\x01" * 32))
SIGNING = KeyPair(Ed25519PrivateKey.from_private_bytes(b"\x02" * 32))
STRANGER = KeyPair(Ed25519PrivateKey.from_private_bytes(b"\x03" * 32))
ROOT_KEYS = {ROOT.key_id: ROOT.public}
SIGNING_KEYS = {SIGNING.key_id: SIGNING.public}
ISSUED_AT = datetime(2026, 11, 28, 15, 52, 21, tzinfo=UTC)
AUDIENCE = ("de-bafa", "fr-sbdu", "jp-meti")
SALT = bytes(range(SALT_BYTES))
BODY = canonical_bytes({"notice_id": "0193b7c4-0000-7000-8000-000000000000", "version": 1})
KEY_BODY = canonical_bytes({"key": b64(SIGNING.public), "key_id": SIGNING.key_id})
NON_KEY_TYPES = sorted(ENTRY_TYPES - KEY_TYPES)


PUBLICATION_LEAF = b"\x05" * 32  # an amendment's or revocation's subject (decision 0032)


def draft(entry_type: str = "notice.published", audience: tuple[str, ...] = AUDIENCE) -> Draft:
    body = KEY_BODY if entry_type in KEY_TYPES else BODY
    subject = PUBLICATION_LEAF if entry_type in SUBJECT_TYPES else None
    return Draft(entry_type, body, audience, ISSUED_AT, subject)


def sealed(
    entry_type: str = "notice.published",
    *,
    key: KeyPair = SIGNING,
    audience: tuple[str, ...] | None = None,
) -> SealedEntry:
    if audience is None:
        audience = ("*",) if entry_type in KEY_TYPES else AUDIENCE
    return seal(
        federation=FED,
        origin=ORIGIN,
        seq=SEQ,
        draft=draft(entry_type, audience),
        key=key,
        salt=SALT,
    )


def check(envelope: bytes, **overrides: Any) -> VerifiedHeader:
    arguments: dict[str, Any] = {
        "federation": FED,
        "origin": ORIGIN,
        "seq": SEQ,
        "signing_keys": SIGNING_KEYS,
        "root_key": ROOT_KEYS,
        **overrides,
    }
    return verify_entry(envelope, **arguments)


def header(**overrides: Any) -> dict[str, Any]:
    """The header `sealed()` signs, with fields replaced (or removed, when given as None)."""
    fields: dict[str, Any] = {
        "v": 1,
        "federation": FED,
        "origin": ORIGIN,
        "seq": SEQ,
        "type": "notice.published",
        "issued_at": "2026-11-28T15:52:21Z",
        "audience": list(AUDIENCE),
        "content_hash": content_hash(SALT, BODY),
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def signed(fields: dict[str, Any], key: KeyPair = SIGNING, payload_type: str = ENTRY_TYPE) -> bytes:
    return sign_envelope(payload_type, canonical_bytes(fields), key)


def test_entry_error_belongs_to_the_federation_tree() -> None:
    assert issubclass(EntryError, FederationError)


# seal -> verify ------------------------------------------------------------------------------


def test_seal_then_verify_round_trip() -> None:
    entry = sealed()
    verified = check(entry.envelope, salt=entry.salt, body=entry.body)
    assert verified.key_id == SIGNING.key_id
    assert verified.header == header()


def test_sealed_header_is_the_design_shape() -> None:
    payload = json.loads(sealed().envelope)["payload"]
    assert json.loads(base64.b64decode(payload)) == {
        "v": 1,
        "federation": "denials.echri.example",
        "origin": "de-bafa",
        "seq": 42,
        "type": "notice.published",
        "issued_at": "2026-11-28T15:52:21Z",
        "audience": ["de-bafa", "fr-sbdu", "jp-meti"],
        "content_hash": b64(hashlib.sha256(SALT + BODY).digest()),
    }


def test_sealed_entry_fields() -> None:
    entry = sealed()
    assert entry.origin == ORIGIN
    assert entry.seq == SEQ
    assert entry.type == "notice.published"
    assert entry.issued_at == ISSUED_AT
    assert entry.audience == AUDIENCE
    assert entry.key_id == SIGNING.key_id
    assert entry.leaf_hash == hashlib.sha256(b"\x00" + entry.envelope).digest()
    assert entry.salt == SALT
    assert entry.body == BODY
    assert json.loads(entry.envelope)["payloadType"] == ENTRY_TYPE


def test_seal_is_deterministic_for_a_given_salt() -> None:
    assert sealed().envelope == sealed().envelope


def test_seal_draws_a_fresh_salt() -> None:
    first, second = (
        seal(federation=FED, origin=ORIGIN, seq=0, draft=draft(), key=SIGNING) for _ in range(2)
    )
    assert first.salt is not None and second.salt is not None
    assert len(first.salt) == len(second.salt) == SALT_BYTES
    assert first.salt != second.salt
    assert first.envelope != second.envelope
    for entry in (first, second):
        check(entry.envelope, seq=0, salt=entry.salt, body=entry.body)


def test_verify_without_content() -> None:
    assert check(sealed().envelope).header["content_hash"] == content_hash(SALT, BODY)


def test_issued_at_is_whole_seconds_utc() -> None:
    moment = datetime(2026, 11, 28, 16, 52, 21, 999_999, tzinfo=timezone(timedelta(hours=1)))
    entry = seal(
        federation=FED,
        origin=ORIGIN,
        seq=SEQ,
        draft=replace(draft(), issued_at=moment),
        key=SIGNING,
        salt=SALT,
    )
    assert entry.issued_at == ISSUED_AT
    assert check(entry.envelope).header["issued_at"] == "2026-11-28T15:52:21Z"


# content binding -----------------------------------------------------------------------------


def test_content_hash_is_b64_sha256_of_salt_then_body() -> None:
    assert content_hash(b"s", b"b") == b64(hashlib.sha256(b"sb").digest())
    assert content_hash(b"", b"") == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


@pytest.mark.parametrize(
    ("salt", "body"),
    [
        pytest.param(SALT, BODY + b" ", id="body-appended"),
        pytest.param(SALT, canonical_bytes({"notice_id": "x", "version": 1}), id="other-body"),
        pytest.param(SALT, b"", id="empty-body"),
        pytest.param(bytes(16), BODY, id="other-salt"),
        pytest.param(SALT[:-1], BODY, id="short-salt"),
        pytest.param(SALT + BODY[:1], BODY[1:], id="boundary-moved"),
        pytest.param(b"", SALT + BODY, id="salt-in-body"),
    ],
)
def test_content_is_bound_by_its_hash(salt: bytes, body: bytes) -> None:
    with pytest.raises(EntryError, match=r"content_hash|salt must be 16 bytes"):
        check(sealed().envelope, salt=salt, body=body)


@pytest.mark.parametrize(("salt", "body"), [(SALT, None), (None, BODY)])
def test_content_needs_both_salt_and_body(salt: bytes | None, body: bytes | None) -> None:
    with pytest.raises(EntryError, match="both salt and body"):
        check(sealed().envelope, salt=salt, body=body)


def test_content_size_limit() -> None:
    big = b"x" * (MAX_CONTENT_BYTES + 1)
    with pytest.raises(EntryError, match="exceeds"):
        seal(
            federation=FED,
            origin=ORIGIN,
            seq=0,
            draft=replace(draft(), body=big),
            key=SIGNING,
        )
    envelope = signed(header(content_hash=content_hash(SALT, big)))
    with pytest.raises(EntryError, match="exceeds"):
        check(envelope, salt=SALT, body=big)
    largest = big[:-1]
    envelope = signed(header(content_hash=content_hash(SALT, largest)))
    check(envelope, salt=SALT, body=largest)


# which log, which position ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"federation": "denex.localhost"}, "federation"),
        ({"federation": FED + "/test"}, "federation"),
        ({"origin": "fr-sbdu"}, "origin"),
        ({"seq": SEQ + 1}, "seq"),
        ({"seq": SEQ - 1}, "seq"),
        ({"seq": 0}, "seq"),
    ],
)
def test_entry_is_bound_to_its_federation_origin_and_seq(
    overrides: dict[str, Any], reason: str
) -> None:
    with pytest.raises(EntryError, match=reason):
        check(sealed().envelope, **overrides)


def test_federation_must_be_a_federation_id_even_when_it_matches() -> None:
    envelope = signed(header(federation="Not A Federation"))
    with pytest.raises(EntryError, match="federation"):
        check(envelope, federation="Not A Federation")


# which key -------------------------------------------------------------------------------------


@pytest.mark.parametrize("entry_type", sorted(KEY_TYPES))
def test_key_statement_signed_by_root_key_verifies(entry_type: str) -> None:
    entry = sealed(entry_type, key=ROOT)
    verified = check(entry.envelope, salt=entry.salt, body=entry.body)
    assert verified.key_id == ROOT.key_id
    assert verified.header["audience"] == ["*"]


@pytest.mark.parametrize("entry_type", sorted(KEY_TYPES))
def test_key_statement_signed_by_signing_key_is_rejected(entry_type: str) -> None:
    with pytest.raises(EntryError, match="must be signed by the root key"):
        check(sealed(entry_type, key=SIGNING).envelope)


@pytest.mark.parametrize("entry_type", NON_KEY_TYPES)
def test_other_entries_signed_by_root_key_are_rejected(entry_type: str) -> None:
    with pytest.raises(EntryError, match="must not be signed by the root key"):
        check(sealed(entry_type, key=ROOT).envelope)


@pytest.mark.parametrize("entry_type", NON_KEY_TYPES)
def test_other_entries_signed_by_signing_key_verify(entry_type: str) -> None:
    assert check(sealed(entry_type).envelope).header["type"] == entry_type


def test_root_key_is_root_even_if_also_listed_as_signing_key() -> None:
    both = {**SIGNING_KEYS, **ROOT_KEYS}
    with pytest.raises(EntryError, match="must not be signed by the root key"):
        check(sealed(key=ROOT).envelope, signing_keys=both)


def test_unknown_type_signed_by_root_key_is_rejected() -> None:
    envelope = signed(header(type="key.future", audience=["*"]), key=ROOT)
    with pytest.raises(EntryError, match="root key"):
        check(envelope)


def test_unknown_type_is_not_blocked() -> None:
    # DESIGN §4: an entry of a type this node cannot interpret is stored and flagged.
    assert check(signed(header(type="notice.future"))).header["type"] == "notice.future"


@pytest.mark.parametrize(
    "envelope",
    [
        pytest.param(signed(header(), key=STRANGER), id="unknown-key"),
        pytest.param(signed(header(), payload_type=CARD_TYPE), id="card-payload-type"),
        pytest.param(
            sealed().envelope.replace(b'"signatures":[', b'"signatures":[], "x":['), id="garbled"
        ),
    ],
)
def test_envelope_problems_become_entry_errors(envelope: bytes) -> None:
    with pytest.raises(EntryError, match=rf"^entry {SEQ} of {ORIGIN}: "):
        check(envelope)


def test_retired_key_no_longer_in_signing_keys_is_rejected() -> None:
    with pytest.raises(EntryError, match="unknown key"):
        check(sealed().envelope, signing_keys={})


# the header ------------------------------------------------------------------------------------


BAD_HEADERS = [
    pytest.param(header(extra="x"), id="extra-field"),
    pytest.param(header(content_hash=None), id="missing-content-hash"),
    pytest.param(header(audience=None), id="missing-audience"),
    pytest.param(header(v=0), id="v-0"),
    pytest.param(header(v="1"), id="v-string"),
    pytest.param(header(seq=str(SEQ)), id="seq-string"),
    pytest.param(header(origin=ORIGIN.upper()), id="origin-case"),
    pytest.param(header(issued_at="2026-11-28T15:52:21+00:00"), id="time-offset"),
    pytest.param(header(issued_at="2026-11-28 15:52:21Z"), id="time-space"),
    pytest.param(header(issued_at="2026-11-28T15:52:21.5Z"), id="time-fraction"),
    pytest.param(header(issued_at="2026-11-28"), id="time-date-only"),
    pytest.param(header(issued_at=1764345141), id="time-number"),
    pytest.param(header(audience="de-bafa"), id="audience-string"),
    pytest.param(header(audience={"de-bafa": 1}), id="audience-object"),
    pytest.param(header(audience=[]), id="audience-empty"),
    pytest.param(header(audience=["*"]), id="audience-everyone-for-notice"),
    pytest.param(header(audience=["fr-sbdu", "de-bafa"]), id="audience-unsorted"),
    pytest.param(header(audience=["de-bafa", "de-bafa"]), id="audience-duplicate"),
    pytest.param(header(audience=["fr-sbdu"]), id="audience-without-origin"),
    pytest.param(header(audience=["de-bafa", "x"]), id="audience-bad-node-id"),
    pytest.param(header(audience=[1]), id="audience-number"),
    pytest.param(header(type="key.added"), id="key-statement-not-public"),
    pytest.param(header(type="key.added", audience=["*", "de-bafa"]), id="key-everyone-plus"),
]


@pytest.mark.parametrize("fields", BAD_HEADERS)
def test_verify_entry_rejects_bad_headers(fields: dict[str, Any]) -> None:
    key = ROOT if fields.get("type") in KEY_TYPES else SIGNING
    with pytest.raises(EntryError):
        check(signed(fields, key=key))


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param(header(extra="x"), id="extra-field"),
        pytest.param(header(origin="fr-sbdu"), id="origin"),
        pytest.param(header(audience=["fr-sbdu"]), id="audience"),
        pytest.param(header(issued_at="yesterday"), id="issued-at"),
    ],
)
def test_verify_entry_errors_name_the_entry(fields: dict[str, Any]) -> None:
    with pytest.raises(EntryError, match=rf"^entry {SEQ} of {ORIGIN}: "):
        check(signed(fields))


@pytest.mark.parametrize(
    "audience", [["de-bafa", 1], ["de-bafa", None], [["de-bafa"]], [{"de-bafa": 1}]]
)
def test_verify_entry_rejects_audience_of_mixed_types(audience: list[Any]) -> None:
    with pytest.raises(EntryError):
        check(signed(header(audience=audience)))


@pytest.mark.parametrize(
    ("fields", "seq"),
    [
        pytest.param(header(v=True), SEQ, id="v-true"),
        pytest.param(header(seq=True), 1, id="seq-true"),
        pytest.param(header(seq=False), 0, id="seq-false"),
    ],
)
def test_verify_entry_rejects_booleans_for_numbers(fields: dict[str, Any], seq: int) -> None:
    with pytest.raises(EntryError):
        check(signed(fields), seq=seq)


# audience rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("audience", "entry_type"),
    [
        (["*"], "key.added"),
        (["*"], "key.retired"),
        (["*"], "key.revoked"),
        (["*"], "checkpoints.witnessed"),
        (["de-bafa"], "notice.published"),
        (["de-bafa", "fr-sbdu"], "notice.amended"),
        (["ca-gac", "de-bafa", "us-bis"], "consultation.requested"),
        (["de-bafa", "fr-sbdu"], "checkpoints.witnessed"),
        (["de-bafa"], "notice.future"),
    ],
)
def test_audience_accepted(audience: list[str], entry_type: str) -> None:
    check_audience(audience, origin=ORIGIN, entry_type=entry_type)
    check_audience(tuple(audience), origin=ORIGIN, entry_type=entry_type)


AUDIENCE_REJECTED = [
    pytest.param(["*"], "notice.published", id="everyone-notice"),
    pytest.param(["*"], "notice.revoked", id="everyone-revocation"),
    pytest.param(["*"], "consultation.answered", id="everyone-consultation"),
    pytest.param(["*"], "approval.notified", id="everyone-approval"),
    pytest.param(["*"], "notice.future", id="everyone-unknown-type"),
    pytest.param(["de-bafa"], "key.added", id="key-added-listed"),
    pytest.param(["de-bafa", "fr-sbdu"], "key.revoked", id="key-revoked-listed"),
    pytest.param(["*", "de-bafa"], "key.retired", id="key-everyone-plus-origin"),
    pytest.param(["*", "de-bafa"], "checkpoints.witnessed", id="witness-everyone-plus-origin"),
    pytest.param(["*", "*"], "key.added", id="everyone-twice"),
    pytest.param([], "notice.published", id="empty"),
    pytest.param([], "key.added", id="empty-key"),
    pytest.param(["fr-sbdu", "de-bafa"], "notice.published", id="unsorted"),
    pytest.param(["de-bafa", "de-bafa"], "notice.published", id="duplicate"),
    pytest.param(["de-bafa", "de-bafa", "fr-sbdu"], "notice.published", id="duplicate-sorted"),
    pytest.param(["fr-sbdu", "jp-meti"], "notice.published", id="without-origin"),
    pytest.param(["fr-sbdu"], "checkpoints.witnessed", id="witness-without-origin"),
    pytest.param(["De-bafa", "de-bafa"], "notice.published", id="upper-case-node-id"),
    pytest.param(["de-bafa", "x"], "notice.published", id="short-node-id"),
    pytest.param(["de-bafa", "fr_sbdu"], "notice.published", id="underscore-node-id"),
    pytest.param(["de-bafa", "fr-sbdu "], "notice.published", id="space-node-id"),
]


@pytest.mark.parametrize(("audience", "entry_type"), AUDIENCE_REJECTED)
def test_audience_rejected(audience: list[str], entry_type: str) -> None:
    with pytest.raises(EntryError):
        check_audience(audience, origin=ORIGIN, entry_type=entry_type)


@pytest.mark.parametrize(
    ("audience", "entry_type"), [p for p in AUDIENCE_REJECTED if p.values[1] in ENTRY_TYPES]
)
def test_seal_refuses_bad_audience(audience: list[str], entry_type: str) -> None:
    with pytest.raises(EntryError):
        seal(
            federation=FED,
            origin=ORIGIN,
            seq=SEQ,
            draft=replace(draft(entry_type), audience=tuple(audience)),
            key=ROOT if entry_type in KEY_TYPES else SIGNING,
            salt=SALT,
        )


@pytest.mark.parametrize(("audience", "entry_type"), AUDIENCE_REJECTED)
def test_verify_entry_refuses_bad_audience(audience: list[str], entry_type: str) -> None:
    key = ROOT if entry_type in KEY_TYPES else SIGNING
    with pytest.raises(EntryError, match="audience"):
        check(signed(header(type=entry_type, audience=audience), key=key))


def test_seal_refuses_unknown_type() -> None:
    with pytest.raises(EntryError, match="unknown entry type"):
        seal(
            federation=FED,
            origin=ORIGIN,
            seq=SEQ,
            draft=replace(draft(), type="notice.future"),
            key=SIGNING,
        )


# times -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 11, 28, 15, 52, 21, tzinfo=UTC), "2026-11-28T15:52:21Z"),
        (datetime(2026, 11, 28, 15, 52, 21, 999_999, tzinfo=UTC), "2026-11-28T15:52:21Z"),
        (
            datetime(2026, 11, 29, 0, 52, 21, tzinfo=timezone(timedelta(hours=9))),
            "2026-11-28T15:52:21Z",
        ),
        (
            datetime(2026, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-1))),
            "2027-01-01T00:30:00Z",
        ),
        (datetime(1970, 1, 1, tzinfo=UTC), "1970-01-01T00:00:00Z"),
        (datetime(2028, 2, 29, 23, 59, 59, tzinfo=UTC), "2028-02-29T23:59:59Z"),
    ],
)
def test_format_time(moment: datetime, text: str) -> None:
    assert format_time(moment) == text
    assert parse_time(text) == moment.replace(microsecond=0)
    assert parse_time(text).utcoffset() == timedelta(0)


def test_format_time_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_time(datetime(2026, 11, 28, 15, 52, 21))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2026-11-28",
        "2026-11-28T15:52:21",
        "2026-11-28T15:52:21+00:00",
        "2026-11-28T15:52:21.000Z",
        "2026-11-28 15:52:21Z",
        "2026-11-28T15:52Z",
        " 2026-11-28T15:52:21Z",
        "2026-11-28T15:52:21Z ",
        "2026-02-30T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-11-28T24:00:00Z",
        "28/11/2026 15:52:21",
    ],
)
def test_parse_time_rejects(text: str) -> None:
    with pytest.raises(EntryError, match="RFC 3339"):
        parse_time(text)


@pytest.mark.parametrize("text", ["2026-1-5T1:2:3Z", "2026-11-28T15:52:1Z"])
def test_parse_time_rejects_unpadded_fields(text: str) -> None:
    with pytest.raises(EntryError):
        parse_time(text)


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1970, 1, 1),
        max_value=datetime(9999, 12, 30),
        timezones=st.builds(
            timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
        ),
    )
)
def test_format_then_parse_time_round_trips(moment: datetime) -> None:
    text = format_time(moment)
    assert len(text) == 20
    assert parse_time(text) == moment.astimezone(UTC).replace(microsecond=0)


# leaf hash ---------------------------------------------------------------------------------------


def test_leaf_hash_is_rfc9162_leaf() -> None:
    # RFC 6962/9162: the hash of the empty leaf.
    empty = "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert leaf_hash(b"").hex() == empty
    envelope = sealed().envelope
    assert leaf_hash(envelope) == hashlib.sha256(b"\x00" + envelope).digest()
    assert leaf_hash(envelope) != hashlib.sha256(envelope).digest()


# identities --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("de-bafa", True),
        ("fr-sbdu", True),
        ("jp-meti", True),
        ("us-bis", True),
        ("abc", True),
        ("a1b", True),
        ("a-1", True),
        ("a--b", True),
        ("a" * 32, True),
        ("a" * 33, False),
        ("d", False),
        ("de", False),
        ("De-bafa", False),
        ("DE-BAFA", False),
        ("de_bafa", False),
        ("-ab", False),
        ("ab-", False),
        ("1ab", False),
        ("de bafa", False),
        ("de.bafa", False),
        ("de-bafa\n", False),
        ("\nde-bafa", False),
        ("dé-bafa", False),
        ("*", False),
        ("", False),
    ],
)
def test_is_node_id(value: str, ok: bool) -> None:
    assert is_node_id(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("denials.echri.example", True),
        ("denex.localhost", True),
        ("localhost", True),
        ("localhost:8443", True),
        ("example.org/denials", True),
        ("example.org/a/b-c_d.e~f", True),
        ("a", True),
        ("https://denials.echri.example", False),
        ("Denials.echri.example", False),
        ("denials.echri.example/", False),
        ("denials.echri.example\n", False),
        ("-denials.example", False),
        ("denials.example-", False),
        ("denials example", False),
        ("denials.example:port", False),
        ("denials.example:123456", False),
        ("denials.example?x=1", False),
        ("denials.example#x", False),
        ("", False),
        ("a" * 201, False),
    ],
)
def test_is_federation_id(value: str, ok: bool) -> None:
    assert is_federation_id(value) is ok


# tampering ---------------------------------------------------------------------------------------

TAMPER_TARGET = sealed(audience=("de-bafa",)).envelope


def slack_positions(envelope: bytes) -> list[int]:
    """Offsets of the last data character of padded base64 strings (see test_dsse.py)."""
    positions = []
    for field in (b'"payload":"', b'"sig":"'):
        start = envelope.index(field) + len(field)
        end = envelope.index(b'"', start)
        padding = end - start - len(envelope[start:end].rstrip(b"="))
        if padding:
            positions.append(end - padding - 1)
    return positions


SLACK = slack_positions(TAMPER_TARGET)


def flip(data: bytes, position: int, mask: int) -> bytes:
    return data[:position] + bytes([data[position] ^ mask]) + data[position + 1 :]


def test_tamper_target_verifies_and_has_slack() -> None:
    check(TAMPER_TARGET)
    assert len(SLACK) == 2


@settings(max_examples=200, deadline=None)
@given(
    position=st.integers(0, len(TAMPER_TARGET) - 1).filter(lambda p: p not in SLACK),
    mask=st.integers(1, 255),
)
@example(position=0, mask=1)
@example(position=len(TAMPER_TARGET) - 1, mask=0xFF)
def test_any_changed_byte_is_rejected(position: int, mask: int) -> None:
    # SLACK positions are covered by the xfail test below; fold them back in once it passes.
    with pytest.raises(EntryError):
        check(flip(TAMPER_TARGET, position, mask))


def test_changed_base64_slack_bits_are_rejected() -> None:
    for position in SLACK:
        for mask in range(1, 256):
            with pytest.raises(EntryError):
                check(flip(TAMPER_TARGET, position, mask))


def test_unknown_type_is_flagged() -> None:
    result = check(signed(header(type="notice.future")))
    assert result.flag == "unknown entry type 'notice.future'"
    assert check(signed(header())).flag is None


def test_newer_header_version_is_stored_and_flagged_not_rejected() -> None:
    # DESIGN §4: a header this node cannot interpret still passes if its signature, origin,
    # seq and key check out; it is flagged and never blocks the log.
    result = check(signed(header(v=3, shiny_new_field=True)))
    assert result.flag == "header version 3 not supported"


def test_newer_header_version_still_needs_the_right_origin_and_seq() -> None:
    with pytest.raises(EntryError, match="origin"):
        check(signed(header(v=3, origin="fr-sbdu")))
    with pytest.raises(EntryError, match="seq"):
        check(signed(header(v=3, seq=SEQ + 1)))


def test_an_amendment_names_its_publication_in_a_version_2_header() -> None:
    amended = sealed("notice.amended")
    verified = check(amended.envelope)
    assert verified.header["v"] == 2 and verified.flag is None
    assert subject_of(verified.header) == PUBLICATION_LEAF == amended.subject
    published = sealed()
    assert check(published.envelope).header["v"] == 1
    assert published.subject == published.leaf_hash  # a publication is its own key
    assert sealed("consultation.requested").subject is None
    with pytest.raises(EntryError, match=r"notice\.amended needs a subject"):
        seal(federation=FED, origin=ORIGIN, seq=SEQ, key=SIGNING,
             draft=Draft("notice.amended", BODY, AUDIENCE, ISSUED_AT))  # fmt: skip
    with pytest.raises(EntryError, match=r"notice\.published has no subject"):
        seal(federation=FED, origin=ORIGIN, seq=SEQ, key=SIGNING,
             draft=Draft("notice.published", BODY, AUDIENCE, ISSUED_AT, PUBLICATION_LEAF))  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"v": 2}, "header of version 2 lacks subject"),
        ({"v": 2, "subject": "AAAA"}, "subject must be the base64 of a 32-byte hash"),
        ({"v": 2, "subject": 7}, "subject must be the base64 of a 32-byte hash"),
        ({"v": 1, "subject": b64(PUBLICATION_LEAF)}, "unknown fields subject"),
        ({"v": 2, "type": "approval.notified", "subject": b64(PUBLICATION_LEAF)},
         "a header of version 2 is for notice.amended, notice.reviewed, notice.revoked"),
    ],
)  # fmt: skip
def test_a_malformed_subject_is_refused(fields: dict[str, object], reason: str) -> None:
    with pytest.raises(EntryError, match=reason):
        check(signed(header(**{"type": "notice.amended", **fields})))
