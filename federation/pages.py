"""Entry pages as this node serves them (DESIGN §5, `GET .../entries`): contiguous entries of
one log from `start`, at most `limit` of them and at most `MAX_PAGE_BYTES` of JSON, never
past it (at least one entry when there is one: a maximum-size entry is far below the limit).

The bytes are measured exactly on the one serialisation of the page: rows are read and
serialised in chunks whose stored bytes cannot exceed what is left of the page (so a page of
large entries never holds much more than one page in memory), and only the chunk that would
overflow is measured entry by entry to find where the page ends. Content goes only to
members of each entry's audience; others get the signed header alone, which still verifies
the tree (DESIGN §4). Checking pages that arrive is `federation.follow`'s.
"""

import binascii
from typing import Any

import orjson

from federation import tree
from federation.entry import MAX_CONTENT_BYTES, may_see
from federation.errors import LogError
from federation.follow import MAX_PAGE_BYTES
from keys.dsse import MAX_ENVELOPE_BYTES

_OPEN, _CLOSE = b'{"entries":[', b'],"next":%d}'
# the most one stored entry takes: envelope, content, and salt, leaf hash and audience
_STORED_ENTRY = MAX_ENVELOPE_BYTES + MAX_CONTENT_BYTES + 16 * 1024


_COLUMNS = "seq, leaf_hash, envelope, content_salt, content_body, audience"


def _sql(paramstyle: str) -> str:
    a, b, c = ("?", "?", "?") if paramstyle == "qmark" else ("$1", "$2", "$3")
    return (
        f"SELECT {_COLUMNS} FROM entries WHERE origin = {a} AND seq >= {b} "  # noqa: S608
        f"ORDER BY seq LIMIT {c}"
    )  # only placeholders are interpolated; every value is a bound parameter


async def entry_page(
    rows: tree.Rows,
    origin: str,
    *,
    start: int,
    limit: int,
    reader: str,
    max_bytes: int = MAX_PAGE_BYTES,
) -> bytes:
    """The JSON page `{"entries": [...], "next": N}` of `origin` from `start` for the node
    `reader`: as many entries as fit in `max_bytes` (at least one), at most `limit`; an empty
    list past the end. Committed entries never change but for content filled in later, so
    the chunks need no common snapshot."""
    if start < 0 or limit < 1:
        raise LogError("start must be >= 0 and limit >= 1")
    sql = _sql(rows.paramstyle)
    parts: list[bytes] = []  # serialised entries, a chunk or one entry each, without commas
    used = len(_OPEN)  # and what the page's end will add: len(_CLOSE % next)
    seq, left = start, limit
    while left > 0:
        count = max(1, min(left, (max_bytes - used) // _STORED_ENTRY))
        found = await rows.all(sql, (origin, seq, count))
        if not found:
            break
        items = [_entry(row, reader) for row in found]
        chunk = orjson.dumps(items)[1:-1]  # the entries, comma-separated, without [ ]
        cost = len(chunk) + (1 if parts else 0)  # and the comma before them
        if used + cost + len(_CLOSE % (seq + len(found))) > max_bytes:
            for item in items:  # the page ends in this chunk: find where
                piece = orjson.dumps(item)
                cost = len(piece) + (1 if parts else 0)
                if parts and used + cost + len(_CLOSE % (seq + 1)) > max_bytes:
                    break
                parts.append(piece)
                used += cost
                seq += 1
            break
        parts.append(chunk)
        used += cost
        seq += len(found)
        left -= len(found)
        if len(found) < count:
            break  # the end of the log
    return _page(parts, seq)


def _page(pieces: list[bytes], nxt: int) -> bytes:
    return _OPEN + b",".join(pieces) + _CLOSE % nxt


def _entry(row: tuple[Any, ...], reader: str) -> dict[str, Any]:
    seq, leaf_hash, envelope, salt, body, audience = row
    return {
        "seq": seq,
        "leaf_hash": _b64(leaf_hash),
        "envelope": bytes(envelope).decode("utf-8"),
        "content": None
        if salt is None or body is None or not may_see(_audience(audience), reader)
        else {"salt": _b64(salt), "body": _b64(body)},
    }  # built directly: pydantic models cost ~100 µs an entry


def _b64(value: bytes) -> str:
    return binascii.b2a_base64(value, newline=False).decode("ascii")


def _audience(stored: Any) -> list[str]:
    """An entry's audience as its JSON column comes back from the driver (text, or a list)."""
    return list(orjson.loads(stored) if isinstance(stored, str | bytes) else stored)
