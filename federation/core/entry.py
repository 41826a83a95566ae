"""Log entries: the signed header, its salted content, sealing and verification.

Pure functions of bytes and values. The header is the DSSE payload; the content
(`salt`, `body`) travels beside it and is bound to it by `content_hash`.
"""

import base64
import binascii
import functools
import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from federation.core.errors import EntryError
from federation.core.identity import is_federation_id, is_node_id
from keys.canonical import canonical_bytes
from keys.dsse import ENTRY_TYPE, sign_envelope, verify_envelope
from keys.ed25519 import KeyPair, b64
from keys.errors import EnvelopeError

HEADER_VERSION = 1
# Version 2 adds `subject` (decision 0032) to notice.amended and notice.revoked: the leaf
# hash of the notice's notice.published entry, the key of the notice in the checkpoints'
# map of notice heads. Every other header stays version 1.
SUBJECT_VERSION = 2
SALT_BYTES = 16
MAX_CONTENT_BYTES = 256 * 1024
EVERYONE = ["*"]

KEY_TYPES = frozenset({"key.added", "key.retired", "key.revoked"})
ENTRY_TYPES = KEY_TYPES | {
    "notice.published",
    "notice.amended",
    "notice.revoked",
    "notice.reviewed",
    "consultation.requested",
    "consultation.answered",
    "approval.notified",
    "checkpoints.witnessed",
}
PUBLIC_TYPES = KEY_TYPES | {"checkpoints.witnessed"}
HEADER_FIELDS = frozenset(
    {"v", "federation", "origin", "seq", "type", "issued_at", "audience", "content_hash"}
)
SUBJECT_TYPES = frozenset({"notice.amended", "notice.revoked", "notice.reviewed"})
PUBLISHED = "notice.published"


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with `Z` and whole seconds, the only time format in signed payloads."""
    if moment.tzinfo is None:
        raise ValueError("times in signed payloads must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")


def parse_time(text: str) -> datetime:
    if not isinstance(text, str) or not _TIME.fullmatch(text):
        raise EntryError(f"issued_at {text!r} is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SSZ)")
    try:  # the fields by position (the pattern fixed them), which strptime does 20x slower
        return datetime(
            int(text[0:4]),
            int(text[5:7]),
            int(text[8:10]),
            int(text[11:13]),
            int(text[14:16]),
            int(text[17:19]),
            tzinfo=UTC,
        )
    except ValueError as exc:
        raise EntryError(f"issued_at {text!r} is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SSZ)") from exc


def content_hash(salt: bytes, body: bytes) -> str:
    return b64(hashlib.sha256(salt + body).digest())


def leaf_hash(envelope: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || envelope bytes)."""
    return hashlib.sha256(b"\x00" + envelope).digest()


@functools.lru_cache(maxsize=4096)
def _audience_problem(audience: tuple[str, ...], origin: str, entry_type: str) -> str | None:
    """What `check_audience` says of an audience of node ids, or None; remembered, since a
    log repeats a few audiences over and over."""
    try:
        check_audience(audience, origin=origin, entry_type=entry_type)
    except EntryError as exc:
        return str(exc)
    return None


def check_audience(audience: Sequence[str], *, origin: str, entry_type: str) -> None:
    if list(audience) == EVERYONE:
        if entry_type in PUBLIC_TYPES:
            return
        raise EntryError(f'audience ["*"] is not allowed for {entry_type}')
    if entry_type in KEY_TYPES:
        raise EntryError(f'{entry_type} must have audience ["*"]')
    if not all(isinstance(a, str) for a in audience):
        raise EntryError("audience must be a list of node ids")
    if not audience or list(audience) != sorted(set(audience)):
        raise EntryError("audience must be a non-empty, sorted list of distinct node ids")
    if not all(isinstance(a, str) and is_node_id(a) for a in audience):
        raise EntryError("audience holds something that is not a node id")
    if origin not in audience:
        raise EntryError("audience must include the origin")


def may_see(audience: Sequence[str], node_id: str) -> bool:
    """May `node_id` receive the content of an entry with this audience?"""
    return list(audience) == EVERYONE or node_id in audience


@dataclass(frozen=True)
class Draft:
    """What the owner of a log wants to append; the log assigns the seq."""

    type: str
    body: bytes  # canonical JSON bytes of the body
    audience: tuple[str, ...]
    issued_at: datetime
    subject: bytes | None = None  # SUBJECT_TYPES: the leaf hash of the notice's publication


@dataclass(frozen=True)
class SealedEntry:
    """A signed entry with its content, as stored and relayed."""

    origin: str
    seq: int
    type: str
    issued_at: datetime
    audience: tuple[str, ...]
    key_id: str
    envelope: bytes
    leaf_hash: bytes
    salt: bytes | None
    body: bytes | None
    subject: bytes | None = None  # its notice's key in the map of notice heads (map_key)


def map_key(entry_type: str, leaf: bytes, subject: bytes | None) -> bytes | None:
    """The key of an entry's notice in the map of notice heads (decision 0032): a
    publication's own leaf hash, an amendment's or revocation's subject; None for any other
    entry, and for an amendment or revocation signed before decision 0032 (no subject)."""
    if entry_type == PUBLISHED:
        return leaf
    return subject if entry_type in SUBJECT_TYPES else None


def subject_of(header: Mapping[str, Any]) -> bytes | None:
    """The `subject` of a verified header (checked by `verify_entry`), or None."""
    text = header.get("subject")
    return base64.b64decode(text) if isinstance(text, str) else None


def make_header(
    *, federation: str, origin: str, seq: int, draft: Draft, salt: bytes
) -> dict[str, Any]:
    """Build the header dict that becomes the DSSE payload (the one place it is built)."""
    if draft.type not in ENTRY_TYPES:
        raise EntryError(f"unknown entry type {draft.type!r}")
    check_audience(draft.audience, origin=origin, entry_type=draft.type)
    if (draft.subject is not None) != (draft.type in SUBJECT_TYPES):
        raise EntryError(f"{draft.type} needs a subject" if draft.subject is None else
                         f"{draft.type} has no subject")  # fmt: skip
    header: dict[str, Any] = {
        "v": HEADER_VERSION,
        "federation": federation,
        "origin": origin,
        "seq": seq,
        "type": draft.type,
        "issued_at": format_time(draft.issued_at),
        "audience": list(draft.audience),
        "content_hash": content_hash(salt, draft.body),
    }
    if draft.subject is not None:
        if len(draft.subject) != 32:
            raise EntryError("a subject is a 32-byte leaf hash")
        header["v"], header["subject"] = SUBJECT_VERSION, b64(draft.subject)
    return header


def seal(
    *, federation: str, origin: str, seq: int, draft: Draft, key: KeyPair, salt: bytes | None = None
) -> SealedEntry:
    """Sign a draft at `seq`. A fresh random salt is used unless one is given (tests)."""
    if len(draft.body) > MAX_CONTENT_BYTES:
        raise EntryError(f"entry body of {len(draft.body)} bytes exceeds {MAX_CONTENT_BYTES}")
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    header = make_header(federation=federation, origin=origin, seq=seq, draft=draft, salt=salt)
    envelope = sign_envelope(ENTRY_TYPE, canonical_bytes(header), key)
    leaf = leaf_hash(envelope)
    return SealedEntry(
        origin=origin,
        seq=seq,
        type=draft.type,
        issued_at=draft.issued_at.astimezone(UTC).replace(microsecond=0),  # as signed
        audience=draft.audience,
        key_id=key.key_id,
        envelope=envelope,
        leaf_hash=leaf,
        salt=salt,
        body=draft.body,
        subject=map_key(draft.type, leaf, draft.subject),
    )


def seal_many(
    *, federation: str, origin: str, start: int, drafts: Sequence[Draft], key: KeyPair
) -> list[SealedEntry]:
    """Seal `drafts` as the consecutive entries `start, start+1, ...`, all with `key`."""
    return [
        seal(federation=federation, origin=origin, seq=start + offset, draft=draft, key=key)
        for offset, draft in enumerate(drafts)
    ]


@dataclass(frozen=True)
class VerifiedHeader:
    """A verified header, with the fields a node stores and routes it by. `flag` says why
    this node cannot interpret it (newer `v`, unknown type): such an entry is still stored
    and the log goes on (DESIGN §4)."""

    header: dict[str, Any]
    key_id: str
    type: str
    issued_at: datetime
    audience: tuple[str, ...]
    flag: str | None = None


_is_federation_id = functools.lru_cache(maxsize=64)(is_federation_id)
_TYPE = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")  # fits the entries.type column
# what a header of any version must carry to be stored and routed (DESIGN §4)
ROUTING_FIELDS = ("type", "issued_at", "audience", "content_hash")


def _is_int(value: object) -> bool:
    return type(value) is int


def _field_problem(header: Mapping[str, Any]) -> str | None:
    """What is wrong with the set of fields of a header, naming the fields, or None. A header
    of this version has exactly HEADER_FIELDS; a newer one may add fields but must still
    carry those this node needs to store and route it."""
    missing = [name for name in ROUTING_FIELDS if name not in header]
    if missing:
        return f"header lacks {', '.join(missing)}"
    version = header["v"]
    if version > SUBJECT_VERSION:
        return None
    fields = HEADER_FIELDS if version == HEADER_VERSION else HEADER_FIELDS | {"subject"}
    if set(header) != fields:
        unknown, missing = sorted(set(header) - fields), sorted(fields - set(header))
        return f"header has unknown fields {', '.join(unknown)}" if unknown else (
            f"header of version {version} lacks {', '.join(missing)}")  # fmt: skip
    if version == SUBJECT_VERSION:
        if not isinstance(header["type"], str) or header["type"] not in SUBJECT_TYPES:
            return f"a header of version {version} is for {', '.join(sorted(SUBJECT_TYPES))}"
        subject = header["subject"]
        if not isinstance(subject, str) or not _is_hash(subject):
            return "subject must be the base64 of a 32-byte hash"
    return None


def _is_hash(text: str) -> bool:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(raw) == 32 and base64.b64encode(raw).decode() == text


def _entry_type(header: Mapping[str, Any], *, by_root: bool) -> str:
    """The header's type, if it is a type name and the key that signed it may sign it."""
    entry_type = header["type"]
    if type(entry_type) is not str or not _TYPE.fullmatch(entry_type):
        raise EntryError(f"type {str(entry_type)[:80]!r} is not an entry type name")
    if entry_type in KEY_TYPES and not by_root:
        raise EntryError(f"{entry_type} must be signed by the root key")
    if entry_type not in KEY_TYPES and by_root:
        raise EntryError(f"{entry_type} must not be signed by the root key")
    return entry_type


def _routing(
    header: Mapping[str, Any], origin: str, entry_type: str
) -> tuple[datetime, tuple[str, ...]]:
    """The time and audience of a header whose fields are all present; EntryError naming
    the field that is wrong."""
    issued_at = parse_time(header["issued_at"])
    audience = header["audience"]
    if type(audience) is not list:
        raise EntryError("audience must be a list")
    if all(type(a) is str for a in audience):
        problem = _audience_problem(tuple(audience), origin, entry_type)
        if problem is not None:
            raise EntryError(problem)
    else:
        check_audience(audience, origin=origin, entry_type=entry_type)
    if type(header["content_hash"]) is not str:
        raise EntryError("content_hash must be a string")
    return issued_at, tuple(audience)


def verify_entry(
    envelope: bytes,
    *,
    federation: str,
    origin: str,
    seq: int,
    signing_keys: Mapping[str, bytes],
    root_key: Mapping[str, bytes],
    salt: bytes | None = None,
    body: bytes | None = None,
) -> VerifiedHeader:
    """Verify one entry of `origin`'s log at `seq`: signature by the right key for its type,
    header fields, and the content (when present) against `content_hash`.

    `signing_keys` are the keys valid at that seq; `root_key` the origin's root key.
    A header of a newer version is verified as far as this node can (signature, federation,
    origin, seq, key, type, time, audience, content) and flagged. Raises EntryError with a
    message naming the entry and what failed.
    """
    where = f"entry {seq} of {origin}"
    try:
        verified = verify_envelope(envelope, {**signing_keys, **root_key}, payload_type=ENTRY_TYPE)
    except EnvelopeError as exc:
        raise EntryError(f"{where}: {exc}") from exc
    header = verified.body
    version = header.get("v")
    if type(version) is not int:
        raise EntryError(f"{where}: header version must be an integer")
    if version < HEADER_VERSION:
        raise EntryError(f"{where}: header version {version} does not exist")
    if header.get("federation") != federation or not _is_federation_id(federation):
        raise EntryError(f"{where}: federation {header.get('federation')!r} is not {federation!r}")
    if header.get("origin") != origin:
        raise EntryError(f"{where}: origin {header.get('origin')!r} is not {origin!r}")
    if not _is_int(header.get("seq")) or header["seq"] != seq:
        raise EntryError(f"{where}: header says seq {header.get('seq')!r}")
    problem = _field_problem(header)
    if problem is not None:
        raise EntryError(f"{where}: {problem}")
    try:
        entry_type = _entry_type(header, by_root=verified.key_id in root_key)
        issued_at, audience = _routing(header, origin, entry_type)
    except EntryError as exc:
        raise EntryError(f"{where}: {exc}") from exc
    if (salt is None) != (body is None):
        raise EntryError(f"{where}: content needs both salt and body")
    if salt is not None and body is not None:
        if len(salt) != SALT_BYTES:
            raise EntryError(f"{where}: content salt must be {SALT_BYTES} bytes")
        if len(body) > MAX_CONTENT_BYTES:
            raise EntryError(f"{where}: content exceeds {MAX_CONTENT_BYTES} bytes")
        if content_hash(salt, body) != header["content_hash"]:
            raise EntryError(f"{where}: content does not match its signed content_hash")
    if version > SUBJECT_VERSION:
        flag: str | None = f"header version {version} not supported"
    elif entry_type not in ENTRY_TYPES:
        flag = f"unknown entry type {entry_type!r}"
    else:
        flag = None
    return VerifiedHeader(header, verified.key_id, entry_type, issued_at, audience, flag)
