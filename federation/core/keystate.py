"""Which signing keys of an origin are valid at which seq: one pure replay of key statements.

Used alike by the node (which key may sign its next entry), by sync (verifying a peer's
entries) and by the offline verifier. Key statements are `key.*` entries of the origin's own
log, signed by its root key:

* `key.added {"key", "key_id", "purpose": "signing"}` at seq a: valid for entries after a;
* `key.retired {"key_id"}` at seq r: not valid for entries after r;
* `key.revoked {"key_id", "valid_below_seq": N, "reason"}` at seq M, with
  `added <= N <= M`: entries at seq >= N signed by it are invalid.
"""

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from federation.core.errors import EntryError
from keys.ed25519 import key_id as compute_key_id


@dataclass(frozen=True)
class KeyLife:
    key: bytes
    key_id: str
    added_seq: int
    retired_seq: int | None = None
    retired_at: datetime | None = None
    valid_below: int | None = None  # set by revocation
    revoked_seq: int | None = None
    reason: str | None = None

    def valid_at(self, seq: int) -> bool:
        """May an entry at `seq` be signed by this key?"""
        if seq <= self.added_seq:
            return False
        if self.retired_seq is not None and seq > self.retired_seq:
            return False
        return self.valid_below is None or seq < self.valid_below

    def signs_checkpoint(self, size: int) -> bool:
        """May this key sign a checkpoint of `size`? From the first size that contains its
        key.added, up to the size that contains its retirement, and never past the
        `valid_below_seq` of a revocation (DESIGN §2)."""
        if size <= self.added_seq:
            return False
        if self.retired_seq is not None and size > self.retired_seq + 1:
            return False
        return self.valid_below is None or size <= self.valid_below


@dataclass(frozen=True)
class Statement:
    seq: int
    type: str
    body: dict[str, Any]
    issued_at: datetime


@dataclass
class KeyState:
    """The replayed key history of one origin."""

    keys: dict[str, KeyLife] = field(default_factory=dict)
    last_seq: int = -1

    def valid_keys(self, seq: int) -> dict[str, bytes]:
        """key id -> raw key of the signing keys that may sign the entry at `seq`."""
        return {kid: life.key for kid, life in self.keys.items() if life.valid_at(seq)}

    def checkpoint_keys(self, size: int) -> list[bytes]:
        """Raw keys that may sign a checkpoint of `size`."""
        return [life.key for life in self.keys.values() if life.signs_checkpoint(size)]

    def current(self, next_seq: int) -> list[KeyLife]:
        """Keys that may sign the entry at `next_seq` (the log's size)."""
        return [life for life in self.keys.values() if life.valid_at(next_seq)]

    def revocations(self) -> list[KeyLife]:
        return [life for life in self.keys.values() if life.revoked_seq is not None]

    def invalid(self, seq: int, key_id: str) -> bool:
        """Was the entry at `seq`, signed by `key_id`, invalidated by a later revocation?"""
        life = self.keys.get(key_id)
        return life is not None and life.valid_below is not None and seq >= life.valid_below


def _text(body: dict[str, Any], name: str, where: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise EntryError(f"{where}: {name} must be a non-empty string")
    return value


def apply(state: KeyState, statement: Statement) -> KeyState:
    """Apply one key statement (already verified as root-signed) and return the new state."""
    seq, body = statement.seq, statement.body
    where = f"{statement.type} at seq {seq}"
    if seq <= state.last_seq:
        raise EntryError(f"{where}: key statements must be replayed in seq order")
    if not isinstance(body, dict):
        raise EntryError(f"{where}: the body must be a JSON object")
    keys = dict(state.keys)
    if statement.type == "key.added":
        if body.get("purpose") != "signing":
            raise EntryError(f"{where}: purpose must be 'signing'")
        try:
            raw = base64.b64decode(_text(body, "key", where), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise EntryError(f"{where}: key is not base64") from exc
        if len(raw) != 32 or compute_key_id(raw) != body.get("key_id"):
            raise EntryError(f"{where}: key_id does not match the key")
        if body["key_id"] in keys:
            raise EntryError(f"{where}: key {body['key_id'][:16]}... was already added")
        keys[body["key_id"]] = KeyLife(key=raw, key_id=body["key_id"], added_seq=seq)
    elif statement.type == "key.retired":
        kid = _text(body, "key_id", where)
        life = keys.get(kid)
        if life is None or life.retired_seq is not None or life.revoked_seq is not None:
            raise EntryError(f"{where}: key {kid[:16]}... is not an active key")
        keys[kid] = replace(life, retired_seq=seq, retired_at=statement.issued_at)
    elif statement.type == "key.revoked":
        kid = _text(body, "key_id", where)
        below = body.get("valid_below_seq")
        life = keys.get(kid)
        if life is None or life.revoked_seq is not None:
            raise EntryError(f"{where}: key {kid[:16]}... is unknown or already revoked")
        if type(below) is not int or not life.added_seq <= below <= seq:
            raise EntryError(
                f"{where}: valid_below_seq must be between the key's addition and {seq}"
            )
        keys[kid] = replace(
            life, valid_below=below, revoked_seq=seq, reason=_text(body, "reason", where)
        )
    else:
        raise EntryError(f"{where}: not a key statement")
    return KeyState(keys=keys, last_seq=seq)


def replay(statements: Iterable[Statement]) -> KeyState:
    state = KeyState()
    for statement in statements:
        state = apply(state, statement)
    return state
