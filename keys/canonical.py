"""Canonical JSON (RFC 8785, JCS): the only way denex turns a value into bytes that get signed.

Signers and verifiers both call `canonical_bytes`; verifiers use `parse_canonical` so that a
payload that is not already canonical is rejected rather than silently normalised.
"""

import json
from typing import Any

import orjson
import rfc8785

from keys.errors import CanonicalError

MAX_DEPTH = 32


_SAFE_INT = 2**53 - 1


def _plain(value: Any) -> bool:
    """True when `value` holds only strings, safe integers, booleans, null, lists and objects
    with ASCII keys: then RFC 8785 and sorted, compact `json.dumps` give the same bytes."""
    stack = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is str or item is None or kind is bool:
            continue
        if kind is int:
            if -_SAFE_INT <= item <= _SAFE_INT:
                continue
            return False
        if kind is list:
            extend(item)
        elif kind is dict:
            for key in item:
                if type(key) is not str or not key.isascii():
                    return False
            extend(item.values())
        else:
            return False
    return True


def canonical_bytes(value: Any) -> bytes:
    """Serialise `value` with RFC 8785. Floats are allowed by JCS but never used in payloads.

    Values without floats and with ASCII keys take a fast path through `orjson` (or the
    standard `json` encoder), whose output for them is byte-identical to RFC 8785 (JCS sorts
    keys by UTF-16 code units, which for ASCII is plain order, and escapes exactly the
    characters these encoders escape, in the same short or six-character form); property tests
    check the equivalence against `rfc8785`.
    """
    if _plain(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass  # lone surrogates, very deep nesting: the standard encoder reports them
        text = json.dumps(
            value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
        )
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise CanonicalError("cannot canonicalise a lone surrogate") from exc
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise CanonicalError(f"cannot canonicalise value: {exc}") from exc


def _reject_constant(name: str) -> Any:
    raise CanonicalError(f"JSON constant {name} is not allowed")


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _plain_numbers(value: Any) -> bool:
    """`_plain` for a value parsed from ASCII JSON whose serialisation is compared with those
    bytes afterwards: keys are strings, and ASCII if the bytes match, so only floats and
    unsafe integers are left to rule out."""
    stack = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is dict:
            extend(item.values())
        elif kind is list:
            extend(item)
        elif kind is int:
            if not -_SAFE_INT <= item <= _SAFE_INT:
                return False
        elif kind is float:
            return False
    return True


def _shallow(data: bytes) -> bool:
    """True when `data` cannot nest deeper than MAX_DEPTH: it has no more opening brackets
    than that (counting those inside strings too, which only errs on the safe side)."""
    return data.count(b"{") + data.count(b"[") <= MAX_DEPTH


def parse_canonical(data: bytes, *, what: str = "document") -> Any:
    """Parse JSON bytes and insist they are exactly their own RFC 8785 serialisation.

    Fast path: `orjson` parses; what it accepts and re-serialises to exactly `data` is
    canonical, and the standard parser gives the same value for such bytes. Anything else
    (orjson refuses it, or the bytes differ) goes through the standard parser, so errors
    read the same whichever parser met them first.
    """
    if type(data) is bytes:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
        else:
            plain = _plain_numbers(value) if data.isascii() else _plain(value)
            if (
                plain
                and (_shallow(data) or _depth(value) <= MAX_DEPTH)
                and orjson.dumps(value, option=orjson.OPT_SORT_KEYS) == data
            ):
                return value
    try:
        text = data.decode("utf-8")
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise CanonicalError(f"{what} nests deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:  # includes JSONDecodeError, UnicodeDecodeError, huge integers
        raise CanonicalError(f"{what} is not valid UTF-8 JSON: {exc}") from exc
    if _depth(value) > MAX_DEPTH:
        raise CanonicalError(f"{what} nests deeper than {MAX_DEPTH} levels")
    if canonical_bytes(value) != data:
        raise CanonicalError(f"{what} is not in RFC 8785 canonical form")
    return value
