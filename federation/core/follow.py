"""Following another origin's log: checking a page of entries fetched from a peer before any
of it is stored (DESIGN §5, sync step 2).

Pure: a `Follower` knows how far this node's copy of the origin's log goes and the origin's
key state there; `check` verifies a page against them and either accepts all of it (moving
the follower on) or raises `PageError` naming the first entry that failed and why. Fetching
and storing are left to `federation.network.pull`.
"""

import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from federation.core import keystate
from federation.core.entry import (
    EVERYONE,
    MAX_CONTENT_BYTES,
    SALT_BYTES,
    subject_of,
)
from federation.core.errors import FederationError
from federation.core.verifier import EntryRejected, LogVerifier
from keys.dsse import MAX_ENVELOPE_BYTES

MAX_PAGE_ENTRIES = 1000
MAX_PAGE_BYTES = 8 * 1024 * 1024  # of the page's JSON, as served (federation.storage.pages)


class PageError(FederationError):
    """A page from a peer is malformed or fails verification; nothing of it is stored."""


@dataclass(frozen=True)
class WireEntry:
    """One entry as a peer serves it: exact envelope bytes, and content when shared."""

    seq: int
    leaf_hash: bytes
    envelope: bytes
    salt: bytes | None
    body: bytes | None


@dataclass(frozen=True)
class Accepted:
    """A verified entry, ready to be stored as received."""

    wire: WireEntry
    type: str
    issued_at: datetime
    audience: tuple[str, ...]
    key_id: str
    flag: str | None  # why this node cannot interpret it (newer v, unknown type), if so
    withheld: bool  # this node may see the content, but the peer did not send it
    subject: bytes | None = None  # the header's `subject` (decision 0032), if it has one


def _b64(value: Any, what: str, *, size: int | None = None, limit: int | None = None) -> bytes:
    if not isinstance(value, str):
        raise PageError(f"{what} must be a base64 string")
    if limit is not None and len(value) > limit * 4 // 3 + 4:
        raise PageError(f"{what} exceeds {limit} bytes")
    try:  # strict_mode: the alphabet, padding and nothing after it, checked in C
        data = binascii.a2b_base64(value, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise PageError(f"{what} is not valid base64") from exc
    if binascii.b2a_base64(data, newline=False) != value.encode("ascii"):
        raise PageError(f"{what} is not canonical base64")
    if size is not None and len(data) != size:
        raise PageError(f"{what} must be {size} bytes, not {len(data)}")
    return data


def parse_page(doc: Any, *, start: int) -> tuple[list[WireEntry], int]:
    """The entries and `next` of a `GET .../entries?start=` answer, checked for shape only:
    contiguous seqs from `start`, sizes within limits, strict base64."""
    if not isinstance(doc, dict) or set(doc) != {"entries", "next"}:
        raise PageError('a page must be an object with exactly "entries" and "next"')
    items, nxt = doc["entries"], doc["next"]
    if not isinstance(items, list) or len(items) > MAX_PAGE_ENTRIES:
        raise PageError(f"entries must be a list of at most {MAX_PAGE_ENTRIES}")
    entries: list[WireEntry] = []
    for offset, item in enumerate(items):
        seq = start + offset
        where = f"entry {seq}"
        if not isinstance(item, dict) or not {"seq", "leaf_hash", "envelope"} <= set(item):
            raise PageError(f"{where}: needs seq, leaf_hash and envelope")
        unknown = sorted(set(item) - {"seq", "leaf_hash", "envelope", "content"})
        if unknown:
            raise PageError(f"{where}: unknown fields {', '.join(unknown)}")
        if type(item["seq"]) is not int or item["seq"] != seq:
            raise PageError(f"{where}: the page has seq {item['seq']!r} here (gap or reordering)")
        envelope = item["envelope"]
        if not isinstance(envelope, str) or len(envelope) > MAX_ENVELOPE_BYTES:
            raise PageError(f"{where}: envelope must be a string of at most 64 KiB")
        try:
            envelope_bytes = envelope.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate, from a "\ud800" escape
            raise PageError(f"{where}: envelope is not valid Unicode text") from exc
        salt = body = None
        content = item.get("content")
        if content is not None:
            if not isinstance(content, dict) or set(content) != {"salt", "body"}:
                raise PageError(f"{where}: content must be an object with salt and body")
            salt = _b64(content["salt"], f"{where}: content salt", size=SALT_BYTES)
            body = _b64(content["body"], f"{where}: content body", limit=MAX_CONTENT_BYTES)
        entries.append(
            WireEntry(
                seq=seq,
                leaf_hash=_b64(item["leaf_hash"], f"{where}: leaf_hash", size=32),
                envelope=envelope_bytes,
                salt=salt,
                body=body,
            )
        )
    if type(nxt) is not int or nxt != start + len(entries):
        raise PageError(f"next must be {start + len(entries)}, not {nxt!r}")
    return entries, nxt


@dataclass
class Follower:
    """This node's copy of one origin's log, as far as it goes, and what verifies the next
    entries: the origin's root key and its key state replayed up to `size`."""

    federation: str
    origin: str
    root_key: bytes
    me: str  # this node's id, for the audience rules
    size: int = 0
    state: keystate.KeyState = field(default_factory=keystate.KeyState)

    def check(self, page: Sequence[WireEntry]) -> list[Accepted]:
        """Verify a page that continues this copy (`federation.core.verifier`), and that no
        content came to this node outside an entry's audience; all of it, or PageError and
        nothing."""
        verifier = LogVerifier(
            self.federation, self.origin, self.root_key, size=self.size, state=self.state
        )
        accepted: list[Accepted] = []
        for wire in page:
            if wire.seq != verifier.size:
                raise PageError(
                    f"entry {verifier.size} of {self.origin}: the page has seq {wire.seq} "
                    "here (gap or reordering)"
                )
            try:
                verified = verifier.add(
                    wire.seq, wire.envelope, wire.leaf_hash, wire.salt, wire.body
                )
            except EntryRejected as exc:
                raise PageError(str(exc)) from exc
            audience = verified.audience
            member = list(audience) == EVERYONE or self.me in audience
            if wire.body is not None and not member:
                raise PageError(
                    f"entry {wire.seq} of {self.origin}: content sent to {self.me}, "
                    "outside its audience"
                )
            accepted.append(
                Accepted(
                    wire=wire,
                    type=verified.type,
                    issued_at=verified.issued_at,
                    audience=audience,
                    key_id=verified.key_id,
                    flag=verified.flag,
                    withheld=member and wire.body is None,
                    subject=subject_of(verified.header),
                )
            )
        self.state, self.size = verifier.state, verifier.size
        return accepted

    def copy(self) -> "Follower":
        return replace(self)
