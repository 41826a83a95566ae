"""Fuzzing what a peer sends (DESIGN §4, §5): every header and page, however mangled, ends in a
clean refusal from the packages' own exception trees, or in a valid accepted entry.

A roster member signs whatever it likes with its real key, so the headers here are signed
with the right keys: a valid header is mutated (fields dropped, added, retyped, nested, huge
numbers, any text, other versions), serialised (canonically when it can be) and signed, then
put in front of `verify_entry` and `Follower.check`. Pages are mutated as JSON documents and
as bytes before `parse_page`. The property: `FederationError`/`KeysError` or acceptance, never
a KeyError, TypeError, AttributeError or anything else. Examples are bounded (a few seconds).
"""

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from federation.core.entry import (
    ENTRY_TYPES,
    HEADER_FIELDS,
    Draft,
    content_hash,
    leaf_hash,
    seal,
    verify_entry,
)
from federation.core.errors import EntryError, FederationError
from federation.core.follow import Accepted, Follower, PageError, WireEntry, parse_page
from keys.canonical import canonical_bytes, parse_canonical
from keys.dsse import ENTRY_TYPE, open_envelope, sign_envelope, verify_envelope
from keys.ed25519 import KeyPair, b64
from keys.errors import CanonicalError, EnvelopeError, KeysError

FED, ORIGIN, ME = "denex.test", "de-bafa", "fr-sbdu"
ROOT = KeyPair(Ed25519PrivateKey.from_private_bytes(b"\x11" * 32))
SIGNING = KeyPair(Ed25519PrivateKey.from_private_bytes(b"\x12" * 32))
STRANGER = KeyPair(Ed25519PrivateKey.from_private_bytes(b"\x13" * 32))
NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
SALT = bytes(range(16))
BODY = canonical_bytes({"notice_id": "0193b7c4-0000-7000-8000-000000000000", "version": 1})
KEY_BODY = canonical_bytes(
    {"key": b64(STRANGER.public), "key_id": STRANGER.key_id, "purpose": "signing"}
)
FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ENTRY_ZERO = seal(
    federation=FED,
    origin=ORIGIN,
    seq=0,
    draft=Draft(
        "key.added",
        canonical_bytes(
            {"key": b64(SIGNING.public), "key_id": SIGNING.key_id, "purpose": "signing"}
        ),
        ("*",),
        NOW,
    ),
    key=ROOT,
)


def follower() -> Follower:
    """This node's copy of de-bafa's log after entry 0 (which added SIGNING)."""
    made = Follower(FED, ORIGIN, ROOT.public, ME)
    made.check([WireEntry(0, ENTRY_ZERO.leaf_hash, ENTRY_ZERO.envelope, ENTRY_ZERO.salt,
                          ENTRY_ZERO.body)])  # fmt: skip
    return made


def valid_header() -> dict[str, Any]:
    return {
        "v": 1,
        "federation": FED,
        "origin": ORIGIN,
        "seq": 1,
        "type": "notice.published",
        "issued_at": "2026-11-28T12:00:00Z",
        "audience": [ORIGIN, ME],
        "content_hash": content_hash(SALT, BODY),
    }


# --- strategies --------------------------------------------------------------------------------

LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.integers()  # beyond JCS's safe range: such a header is signed as plain JSON
    | st.text(max_size=12)
    | st.text(alphabet=st.characters(codec="utf-8"), max_size=6)
    | st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=2)
    | st.sampled_from(
        [
            "*",
            ORIGIN,
            ME,
            "key.added",
            "key.retired",
            "key.revoked",
            "notice.future",
            "2026-11-28T12:00:00Z",
            "2026-02-30T12:00:00Z",
            content_hash(SALT, BODY),
            "x" * 200,
        ]
    )
)
JSON = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELD_VALUES = JSON | st.sampled_from(
    [["*"], [ORIGIN], [ME], [ME, ORIGIN], [ORIGIN, ORIGIN], [ORIGIN, 1], [[ORIGIN]], []]
)
MUTATION = st.one_of(
    st.tuples(st.just("drop"), st.sampled_from(sorted(HEADER_FIELDS))),
    st.tuples(st.just("set"), st.sampled_from(sorted(HEADER_FIELDS)), FIELD_VALUES),
    st.tuples(st.just("add"), st.text(max_size=10), JSON),
    st.tuples(st.just("v"), st.integers(min_value=-3, max_value=2**53 - 1)),
    st.tuples(st.just("v"), st.sampled_from([2, 3, 10**6])),
)


def mutated(header: dict[str, Any], mutations: list[tuple[Any, ...]]) -> dict[str, Any]:
    header = dict(header)
    for mutation in mutations:
        if mutation[0] == "drop":
            header.pop(mutation[1], None)
        elif mutation[0] in ("set", "add"):
            header[mutation[1]] = mutation[2]
        else:
            header["v"] = mutation[1]
    return header


def payload_of(header: dict[str, Any]) -> bytes:
    """The header's canonical bytes, or (when it has none: huge integers, lone surrogates)
    plain JSON bytes, which the verifier must refuse as not canonical."""
    try:
        return canonical_bytes(header)
    except CanonicalError:
        return json.dumps(header, sort_keys=True).encode("utf-8", "surrogatepass")


CONTENTS = st.sampled_from(["none", "matching", "other", "key-body", "list-body", "short-salt"])


def content(choice: str) -> tuple[bytes | None, bytes | None]:
    return {
        "none": (None, None),
        "matching": (SALT, BODY),
        "other": (SALT, b'{"a":1}'),
        "key-body": (SALT, KEY_BODY),
        "list-body": (SALT, b"[1,2]"),
        "short-salt": (SALT[:3], BODY),
    }[choice]


def assert_sound(accepted: list[Accepted], header: dict[str, Any]) -> None:
    """What an accepted entry carries is what a node may store and route by."""
    [entry] = accepted
    assert isinstance(entry.type, str) and isinstance(entry.issued_at, datetime)
    assert isinstance(entry.audience, tuple) and all(isinstance(a, str) for a in entry.audience)
    assert entry.audience == tuple(header["audience"])
    if entry.flag is None:
        assert header["v"] == 1 and set(header) == HEADER_FIELDS
        assert entry.type in ENTRY_TYPES
    else:
        assert header["v"] > 1 or entry.type not in ENTRY_TYPES


# --- headers, signed with the right key ----------------------------------------------------------


@FUZZ
@given(
    mutations=st.lists(MUTATION, max_size=4),
    signer=st.sampled_from(["signing", "root", "stranger"]),
    body=CONTENTS,
)
def test_any_signed_header_is_refused_cleanly_or_accepted(
    mutations: list[tuple[Any, ...]], signer: str, body: str
) -> None:
    header = mutated(valid_header(), mutations)
    key = {"signing": SIGNING, "root": ROOT, "stranger": STRANGER}[signer]
    envelope = sign_envelope(ENTRY_TYPE, payload_of(header), key)
    salt, data = content(body)
    try:
        verify_entry(
            envelope,
            federation=FED,
            origin=ORIGIN,
            seq=1,
            signing_keys={SIGNING.key_id: SIGNING.public},
            root_key={ROOT.key_id: ROOT.public},
            salt=salt,
            body=data,
        )
    except EntryError as exc:
        assert str(exc).startswith(f"entry 1 of {ORIGIN}: ")
    copy = follower()
    try:
        accepted = copy.check([WireEntry(1, leaf_hash(envelope), envelope, salt, data)])
    except PageError as exc:
        assert str(exc).startswith(f"entry 1 of {ORIGIN}: "), exc
        assert copy.size == 1, "a refused page moves nothing"
    else:
        assert_sound(accepted, header)
        assert copy.size == 2


@pytest.mark.parametrize("version", [1, 2, 7])
@pytest.mark.parametrize("missing", ["audience", "issued_at", "type", "content_hash"])
def test_a_header_without_a_routing_field_is_a_page_error_naming_it(
    version: int, missing: str
) -> None:
    header = valid_header() | {"v": version}
    del header[missing]
    envelope = sign_envelope(ENTRY_TYPE, canonical_bytes(header), SIGNING)
    with pytest.raises(PageError, match=rf"^entry 1 of {ORIGIN}: header lacks {missing}$"):
        follower().check([WireEntry(1, leaf_hash(envelope), envelope, None, None)])


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("audience", "de-bafa", "audience must be a list"),
        ("audience", [ME], "audience must include the origin"),
        ("issued_at", 1764345141, "issued_at"),
        ("type", ["notice.published"], "not an entry type name"),
        ("type", "t" * 65, "not an entry type name"),
        ("content_hash", 5, "content_hash must be a string"),
    ],
)
def test_a_newer_header_with_a_bad_routing_field_is_a_page_error(
    field: str, value: Any, reason: str
) -> None:
    header = valid_header() | {"v": 3, field: value}
    envelope = sign_envelope(ENTRY_TYPE, canonical_bytes(header), SIGNING)
    with pytest.raises(PageError, match=rf"^entry 1 of {ORIGIN}: .*{reason}"):
        follower().check([WireEntry(1, leaf_hash(envelope), envelope, None, None)])


def test_a_newer_header_that_can_be_routed_is_stored_and_flagged() -> None:
    header = valid_header() | {"v": 3, "shiny": {"new": [1, 2]}}
    envelope = sign_envelope(ENTRY_TYPE, canonical_bytes(header), SIGNING)
    [entry] = follower().check([WireEntry(1, leaf_hash(envelope), envelope, SALT, BODY)])
    assert entry.flag == "header version 3 not supported"
    assert (entry.type, entry.audience, entry.withheld) == ("notice.published", (ORIGIN, ME), False)
    with pytest.raises(PageError, match="content does not match"):
        follower().check([WireEntry(1, leaf_hash(envelope), envelope, SALT, b"{}")])


def test_a_key_statement_whose_body_is_not_an_object_is_refused() -> None:
    header = valid_header() | {"type": "key.added", "audience": ["*"]}
    header["content_hash"] = content_hash(SALT, b"[1,2]")
    envelope = sign_envelope(ENTRY_TYPE, canonical_bytes(header), ROOT)
    with pytest.raises(PageError, match="body must be a JSON object"):
        follower().check([WireEntry(1, leaf_hash(envelope), envelope, SALT, b"[1,2]")])


# --- pages, as documents and as bytes --------------------------------------------------------------


def sealed_page() -> dict[str, Any]:
    entries = [
        seal(
            federation=FED,
            origin=ORIGIN,
            seq=seq,
            draft=Draft("notice.published", BODY, (ORIGIN, ME), NOW),
            key=SIGNING,
            salt=SALT,
        )
        for seq in (1, 2, 3)
    ]
    return {
        "entries": [
            {
                "seq": e.seq,
                "leaf_hash": b64(e.leaf_hash),
                "envelope": e.envelope.decode(),
                "content": {"salt": b64(SALT), "body": b64(BODY)},
            }
            for e in entries
        ],
        "next": 4,
    }


PAGE = sealed_page()


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            found += paths(value, (*prefix, index))
    return found


def replaced(doc: Any, path: tuple[Any, ...], action: str, value: Any) -> Any:
    if not path:
        return value if action == "set" else doc
    head, rest = path[0], path[1:]
    copy: Any = dict(doc) if isinstance(doc, dict) else list(doc)
    if not rest and action == "drop":
        del copy[head]
    else:
        copy[head] = replaced(doc[head], rest, action, value)
    return copy


def take(doc: Any) -> None:
    """`parse_page`, then `Follower.check`: each either passes or refuses cleanly."""
    try:
        entries, _next = parse_page(doc, start=1)
    except PageError:
        return
    try:
        follower().check(entries)
    except PageError:
        pass


@FUZZ
@given(data=st.data())
def test_any_mutated_page_document_is_refused_cleanly_or_accepted(data: st.DataObject) -> None:
    doc: Any = PAGE
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths(doc)))
        action = data.draw(st.sampled_from(["set", "drop"]))
        doc = replaced(doc, path, action, data.draw(JSON))
    take(doc)


@FUZZ
@given(data=st.data())
def test_any_mutated_page_bytes_are_refused_cleanly_or_accepted(data: st.DataObject) -> None:
    raw = bytearray(json.dumps(PAGE).encode())
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(raw) - 1))
        raw[position] = data.draw(st.integers(0, 255))
    try:
        doc = json.loads(bytes(raw))
    except ValueError:
        return  # not JSON: the client's refusal, before any parser here
    take(doc)


def test_an_envelope_with_a_lone_surrogate_is_a_page_error() -> None:
    doc = json.loads(json.dumps(PAGE).replace('"payloadType', '"\\ud800payloadType', 1))
    with pytest.raises(PageError, match="entry 1"):
        parse_page(doc, start=1)


# --- envelopes and canonical JSON ----------------------------------------------------------------


@FUZZ
@given(
    data=st.binary(max_size=300)
    | st.builds(
        lambda b: PAGE["entries"][0]["envelope"].encode()[: len(b)] + b, st.binary(max_size=40)
    )
)
def test_any_bytes_are_a_clean_envelope_or_canonical_refusal(data: bytes) -> None:
    for parse in (
        lambda: open_envelope(data),
        lambda: verify_envelope(data, {SIGNING.key_id: SIGNING.public}, payload_type=ENTRY_TYPE),
        lambda: parse_canonical(data),
    ):
        try:
            parse()
        except (EnvelopeError, CanonicalError):
            pass


def test_the_fuzzed_refusals_belong_to_the_packages_trees() -> None:
    assert issubclass(PageError, FederationError) and issubclass(EntryError, FederationError)
    assert issubclass(EnvelopeError, KeysError) and issubclass(CanonicalError, KeysError)
