"""keys.canonical: RFC 8785 (JCS) serialisation and the strict canonical parser.

The RFC 8785 vectors are read in place from `shared/vectors/jcs/` beside the clone (never
copied into the project). If that folder is missing the vector tests fail; they never skip.
"""

import json
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from keys.canonical import MAX_DEPTH, canonical_bytes, parse_canonical
from keys.errors import CanonicalError, KeysError

JCS_VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "jcs"
# The cases of cyberphone/json-canonicalization testdata/ (named here so that a missing or
# renamed folder makes every case fail instead of collecting zero cases).
VECTOR_NAMES = ["arrays", "french", "structures", "unicode", "values", "weird"]

MAX_SAFE_INTEGER = 2**53 - 1


def nest(depth: int) -> bytes:
    """`depth` nested arrays: [[...]]."""
    return b"[" * depth + b"]" * depth


# RFC 8785 vectors ------------------------------------------------------------------------------


def test_vector_folder_is_present_and_complete() -> None:
    assert JCS_VECTORS.is_dir(), f"RFC 8785 vectors not found at {JCS_VECTORS}"
    inputs = sorted(p.stem for p in (JCS_VECTORS / "input").glob("*.json"))
    assert inputs == VECTOR_NAMES


@pytest.mark.parametrize("name", VECTOR_NAMES)
def test_vector_canonical_bytes(name: str) -> None:
    source = (JCS_VECTORS / "input" / f"{name}.json").read_bytes()
    expected = (JCS_VECTORS / "output" / f"{name}.json").read_bytes()
    expected_hex = bytes.fromhex((JCS_VECTORS / "outhex" / f"{name}.txt").read_text())
    assert expected == expected_hex, "the vector's output and outhex files disagree"

    assert canonical_bytes(json.loads(source)) == expected


@pytest.mark.parametrize("name", VECTOR_NAMES)
def test_vector_output_is_accepted_and_input_rejected(name: str) -> None:
    source = (JCS_VECTORS / "input" / f"{name}.json").read_bytes()
    expected = (JCS_VECTORS / "output" / f"{name}.json").read_bytes()

    assert parse_canonical(expected) == json.loads(source)
    with pytest.raises(CanonicalError):
        parse_canonical(source)  # every input has whitespace or escapes JCS removes


# canonical_bytes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({}, b"{}"),
        ([], b"[]"),
        (None, b"null"),
        (True, b"true"),
        ({"b": 1, "a": [True, None]}, b'{"a":[true,null],"b":1}'),
        ({"é": "€", "e": "\x1f"}, '{"e":"\\u001f","é":"€"}'.encode()),
        (MAX_SAFE_INTEGER, b"9007199254740991"),
        (-MAX_SAFE_INTEGER, b"-9007199254740991"),
        ("</script>", b'"</script>"'),
        ('"\\', b'"\\"\\\\"'),
    ],
)
def test_canonical_bytes_table(value: Any, expected: bytes) -> None:
    assert canonical_bytes(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        MAX_SAFE_INTEGER + 1,
        -(MAX_SAFE_INTEGER + 1),
        {1: "non-string key"},
        {"a set"},
        b"bytes",
        object(),
    ],
    ids=["nan", "inf", "2**53", "-2**53", "int-key", "set", "bytes", "object"],
)
def test_canonical_bytes_refuses_what_jcs_cannot_express(value: Any) -> None:
    with pytest.raises(CanonicalError):
        canonical_bytes(value)


def test_canonical_error_belongs_to_the_keys_tree() -> None:
    assert issubclass(CanonicalError, KeysError)


# parse_canonical -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "value"),
    [
        (b"{}", {}),
        (b"[]", []),
        (b"null", None),
        (b"false", False),
        (b"0", 0),
        (b"-1", -1),
        (b"9007199254740991", MAX_SAFE_INTEGER),
        (b'""', ""),
        (b'"\\u001f"', "\x1f"),
        ('"é€😂"'.encode(), "é€😂"),
        (b'"\\\\\\""', '\\"'),
        (b'{"a":[1,{"b":null}],"b":"x"}', {"a": [1, {"b": None}], "b": "x"}),
        (b'{"":1,"A":2,"a":3}', {"": 1, "A": 2, "a": 3}),
    ],
)
def test_parse_canonical_accepts_canonical_bytes(data: bytes, value: Any) -> None:
    assert parse_canonical(data) == value


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b'{"a": 1}', id="space-after-colon"),
        pytest.param(b'{"a":1, "b":2}', id="space-after-comma"),
        pytest.param(b' {"a":1}', id="leading-space"),
        pytest.param(b'{"a":1}\n', id="trailing-newline"),
        pytest.param(b'{\n  "a":1\n}', id="pretty-printed"),
        pytest.param(b'{"b":1,"a":2}', id="key-order"),
        pytest.param(b'{"a":2,"A":1}', id="key-order-case"),
        pytest.param(b'{"a":1,"a":1}', id="duplicate-key"),
        pytest.param(b'"\\u00e9"', id="escaped-latin1"),
        pytest.param(b'"\\u20ac"', id="escaped-euro"),
        pytest.param(b'"\\u0041"', id="escaped-ascii"),
        pytest.param(b'"\\ud83d\\ude02"', id="escaped-surrogate-pair"),
        pytest.param(b'"\\/"', id="escaped-slash"),
        pytest.param(b'"\\u001F"', id="upper-case-hex-escape"),
        pytest.param(b'"\\u000a"', id="u-escape-instead-of-n"),
        pytest.param(b'"\\ud800"', id="lone-surrogate"),
        pytest.param(b"NaN", id="NaN"),
        pytest.param(b"[Infinity]", id="Infinity"),
        pytest.param(b'{"a":-Infinity}', id="minus-Infinity"),
        pytest.param(b"1.0", id="float-trailing-zero"),
        pytest.param(b"1E2", id="exponent"),
        pytest.param(b"-0", id="minus-zero"),
        pytest.param(b"1e400", id="overflowing-float"),
        pytest.param(b"9007199254740992", id="unsafe-integer"),
        pytest.param(b"\xef\xbb\xbf{}", id="utf8-bom"),
        pytest.param(b'"\xff"', id="invalid-utf8"),
        pytest.param(b'"\xc3"', id="truncated-utf8"),
        pytest.param(b'"\x01"', id="raw-control-character"),
        pytest.param(b"[1,]", id="trailing-comma"),
        pytest.param(b"", id="empty"),
        pytest.param(b"{} {}", id="two-documents"),
        pytest.param(nest(MAX_DEPTH + 1), id="depth-33"),
        pytest.param(b'{"a":' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1), id="depth-33-obj"),
    ],
)
def test_parse_canonical_rejects_non_canonical_bytes(data: bytes) -> None:
    with pytest.raises(CanonicalError):
        parse_canonical(data)


def test_parse_canonical_depth_limit_is_inclusive() -> None:
    assert parse_canonical(nest(MAX_DEPTH)) is not None
    with pytest.raises(CanonicalError, match="deeper"):
        parse_canonical(nest(MAX_DEPTH + 1))


def test_parse_canonical_error_names_what() -> None:
    with pytest.raises(CanonicalError, match=r"^payload "):
        parse_canonical(b'{"a": 1}', what="payload")


def test_parse_canonical_rejects_very_deep_nesting_with_canonical_error() -> None:
    with pytest.raises(CanonicalError):
        parse_canonical(nest(5000))


def test_parse_canonical_rejects_huge_integer_literal_with_canonical_error() -> None:
    with pytest.raises(CanonicalError):
        parse_canonical(b"1" * 5000)


# Properties -------------------------------------------------------------------------------------

json_without_floats = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


@settings(max_examples=200, deadline=None)
@given(json_without_floats)
def test_canonical_bytes_round_trips_through_parse_canonical(value: Any) -> None:
    assume(depth(value) <= MAX_DEPTH)
    data = canonical_bytes(value)
    parsed = parse_canonical(data)
    assert parsed == value
    assert canonical_bytes(parsed) == data


@settings(max_examples=200, deadline=None)
@given(json_without_floats)
def test_canonical_bytes_is_independent_of_key_insertion_order(value: Any) -> None:
    def reversed_dicts(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: reversed_dicts(v[k]) for k in reversed(list(v))}
        if isinstance(v, list):
            return [reversed_dicts(x) for x in v]
        return v

    assert canonical_bytes(reversed_dicts(value)) == canonical_bytes(value)


_json_keys = st.text(max_size=8)
_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(_json_keys, children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_json_values)
def test_fast_path_is_byte_identical_to_rfc8785(value: object) -> None:
    # canonical_bytes takes a json.dumps fast path for float-free values with ASCII keys;
    # whichever path it takes, the bytes must be exactly those of the rfc8785 package.
    assert canonical_bytes(value) == rfc8785.dumps(value)


@pytest.mark.parametrize(
    "value",
    [
        {"\U0001d11e": 1, "\ue000": 2},  # UTF-16 order differs from code point order
        {"é": "x", "e": "y"},
        ["\u2028\u2029", "\x00\x1f\x7f", '"\\/'],
    ],
)
def test_non_ascii_keys_and_escapes_match_rfc8785(value: object) -> None:
    assert canonical_bytes(value) == rfc8785.dumps(value)
