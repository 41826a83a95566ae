"""Entry pages as this node serves them (DESIGN §5, `GET .../entries`): contiguous entries of
one log from `start`, at most `limit` of them and at most `MAX_PAGE_BYTES` of JSON, never
past it (at least one entry when there is one: a maximum-size entry is far below the limit).

The bytes are measured exactly on the one serialisation of the page: rows are read and
serialised in chunks that fit in what is left of the page (so a page of large entries never
holds much more than one page in memory), and only the chunk where the page ends is
measured again, entry by entry from its end, to cut it. Where statements are cheap (SQLite's
point-read connection) a chunk holds as many rows as would fit if each were of the largest
size an entry may have; elsewhere (a round trip each) the rows' sizes are read first, so a
page is usually two statements. Content goes only to members of each entry's audience;
others get the signed header alone, which still verifies the tree (DESIGN §4). Checking
pages that arrive is `federation.core.follow`'s.
"""

import binascii
from typing import Any

import orjson

from federation.core.entry import MAX_CONTENT_BYTES, may_see
from federation.core.errors import LogError
from federation.core.follow import MAX_PAGE_BYTES
from federation.storage import tree
from keys.dsse import MAX_ENVELOPE_BYTES

_OPEN, _CLOSE = b'{"entries":[', b'],"next":%d}'
# the most one stored entry takes: envelope, content, and salt, leaf hash and audience
_STORED_ENTRY = MAX_ENVELOPE_BYTES + MAX_CONTENT_BYTES + 16 * 1024
_ENTRY_JSON = 160  # about what an entry's JSON adds to its envelope and content (for plans)
_COLUMNS = "seq, leaf_hash, envelope, content_salt, content_body, audience"
# an entry's size as served with its content, but for the JSON around it: a plan's measure
_SIZE = "length(envelope) + 4 * ((coalesce(length(content_body), 0) + 2) / 3)"


def _sql(paramstyle: str, columns: str = _COLUMNS) -> str:
    a, b, c = ("?", "?", "?") if paramstyle == "qmark" else ("$1", "$2", "$3")
    return (
        f"SELECT {columns} FROM entries WHERE origin = {a} AND seq >= {b} "  # noqa: S608
        f"ORDER BY seq LIMIT {c}"
    )  # only placeholders and the fixed column lists above are interpolated


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
    sizes = None
    if not rows.cheap_statements:
        sizes = [
            int(n) for (n,) in await rows.all(_sql(rows.paramstyle, _SIZE), (origin, start, limit))
        ]
    parts: list[bytes] = []  # serialised entries, a chunk each, without their commas
    used = len(_OPEN)  # and what the page's end will add: len(_CLOSE % next)
    seq = start
    while seq < start + limit:
        count = _plan(sizes, seq - start, start + limit - seq, max_bytes - used)
        found = await rows.all(_sql(rows.paramstyle), (origin, seq, count)) if count else []
        if not found:
            break
        items = [_entry(row, reader) for row in found]
        chunk = orjson.dumps(items)[1:-1]  # the entries, comma-separated, without [ ]
        comma = 1 if parts else 0
        end, keep = len(chunk), len(items)
        while keep and used + comma + end + len(_CLOSE % (seq + keep)) > max_bytes:
            end -= len(orjson.dumps(items[keep - 1])) + (1 if keep > 1 else 0)
            keep -= 1  # the page ends in this chunk: its last entries go
        if not keep and not parts:
            keep, end = 1, len(orjson.dumps(items[0]))  # at least one entry, whatever its size
        if keep:
            parts.append(chunk[:end] if keep < len(items) else chunk)
            used += comma + end
            seq += keep
        if keep < count:
            break  # the page is full, or the log ends here
    return _page(parts, seq)


def _plan(sizes: list[int] | None, at: int, left: int, room: int) -> int:
    """How many rows to read next: as many as fit in `room` bytes by their sizes (from `at`,
    at most `left`), or if their sizes are not known, as if each were of the largest size an
    entry may have. At least one while any is left."""
    if sizes is None:
        return max(1, min(left, room // _STORED_ENTRY))
    count, total = 0, 0
    for size in sizes[at : at + left]:
        total += size + _ENTRY_JSON
        if count and total > room:
            break
        count += 1
    return count


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
