"""Which signing keys of active peers are accepted on federation requests now: the keys
each peer's card and verified log name, a retired key for its grace period (DESIGN §2), and
the per-process cache the federation API checks signatures against."""

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core import keystate
from federation.core.entry import KEY_TYPES
from federation.core.errors import EntryError
from federation.storage.tables import EntryRow, PeerRow
from keys.canonical import parse_canonical
from keys.dsse import open_envelope
from keys.ed25519 import key_id, unb64
from keys.errors import KeysError

log = logging.getLogger("denex.roster")
Sessions = Callable[[], AbstractAsyncContextManager[AsyncSession]]


GRACE = timedelta(hours=24)  # a retired key still signs HTTP requests this long (DESIGN §2)
CACHE_TTL = timedelta(seconds=1)  # how long a serving process trusts its copy of the keys


@dataclass(frozen=True)
class PeerKey:
    node_id: str
    key: bytes


def card_hint(card: bytes) -> list[bytes]:
    """The signing keys a stored (already verified) card names."""
    body = parse_canonical(open_envelope(card).payload, what="card")
    if not isinstance(body, dict):
        return []
    out = []
    for item in body.get("signing_keys", []):
        try:
            out.append(unb64(str(item["key"]), what="signing key"))
        except (KeyError, TypeError, KeysError):
            continue
    return out


def http_keys(
    state: keystate.KeyState, hint: Iterable[bytes], *, now: datetime, grace: timedelta = GRACE
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Keys a peer may sign HTTP requests with now: (from its log, from its card's hint).

    The log decides for every key it mentions: current keys, and keys retired less than
    `grace` ago; never revoked ones. A card key the log does not mention yet (the peer added
    it after the copy we hold) is accepted on the card's word, since the root key signed it."""
    from_log: dict[str, bytes] = {}
    for life in state.keys.values():
        if life.revoked_seq is not None:
            continue
        if life.retired_seq is not None and (
            life.retired_at is None or now - life.retired_at >= grace
        ):
            continue
        from_log[life.key_id] = life.key
    from_card = {key_id(k): k for k in hint if key_id(k) not in state.keys}
    return from_log, from_card


def merge_keys(
    per_peer: Mapping[str, tuple[dict[str, bytes], dict[str, bytes]]],
) -> dict[str, PeerKey]:
    """key id -> peer, for all peers. A key id that the logs give one peer beats card hints
    naming it for others; a key id claimed alike by two peers is accepted for neither."""
    result: dict[str, PeerKey] = {}
    blocked: set[str] = set()
    for rank in (0, 1):  # logs first, then card hints
        claims: dict[str, dict[str, bytes]] = {}
        for node_id, pair in per_peer.items():
            for kid, raw in pair[rank].items():
                claims.setdefault(kid, {})[node_id] = raw
        for kid, owners in claims.items():
            if kid in result or kid in blocked:
                continue
            if len(owners) > 1:
                blocked.add(kid)
                continue
            [(node_id, raw)] = owners.items()
            result[kid] = PeerKey(node_id, raw)
    return result


def grace_ends(
    state: keystate.KeyState, *, now: datetime, grace: timedelta = GRACE
) -> datetime | None:
    """The first moment after `now` at which a retired key's grace runs out, if any."""
    ends = [
        life.retired_at + grace
        for life in state.keys.values()
        if life.retired_at is not None and life.revoked_seq is None
    ]
    later = [end for end in ends if end > now]
    return min(later) if later else None


@dataclass(frozen=True)
class SigningKeys:
    keys: dict[str, PeerKey]
    changes_at: datetime | None  # when the answer changes with time alone (a grace ends)


async def _compute(session: AsyncSession, now: datetime) -> SigningKeys:
    peers = list(
        await session.execute(
            select(PeerRow.node_id, PeerRow.card).where(PeerRow.removed_at.is_(None))
        )
    )
    if not peers:
        return SigningKeys({}, None)
    rows = await session.execute(
        select(EntryRow.origin, EntryRow.seq, EntryRow.type, EntryRow.content_body,
               EntryRow.issued_at)
        .where(EntryRow.origin.in_([p.node_id for p in peers]), EntryRow.type.in_(KEY_TYPES))
    )  # fmt: skip
    statements: dict[str, list[keystate.Statement]] = {}
    for r in rows:
        body = json.loads(r.content_body or b"{}")
        statements.setdefault(r.origin, []).append(
            keystate.Statement(r.seq, r.type, body, r.issued_at)
        )
    per_peer = {}
    changes: list[datetime] = []
    for node_id, card in peers:
        try:
            state = keystate.replay(sorted(statements.get(node_id, []), key=lambda s: s.seq))
        except EntryError as exc:  # a stored log was verified; fail closed anyway
            log.error("key statements of %s do not replay: %s", node_id, exc)
            continue
        per_peer[node_id] = http_keys(state, card_hint(card), now=now)
        end = grace_ends(state, now=now)
        if end is not None:
            changes.append(end)
    return SigningKeys(merge_keys(per_peer), min(changes) if changes else None)


async def peer_signing_keys(session: AsyncSession, now: datetime) -> dict[str, PeerKey]:
    """key id -> (node id, raw key) of every signing key an active peer may use on HTTP now:
    from the key statements of its log where this node holds it, else its card's hint."""
    return (await _compute(session, now)).keys


# What the answer of `peer_signing_keys` depends on, in one cheap query: the roster rows
# (count, removals, card versions, times) and the key statements of the logs of peers (count
# and seq sum, through ix_entries_type). Logs only grow, so new statements change it.
_KEY_STATEMENTS = (
    EntryRow.origin.in_(select(PeerRow.node_id)),
    EntryRow.type.in_(sorted(KEY_TYPES)),
)
_STAMP = select(
    select(func.count()).select_from(PeerRow).scalar_subquery(),
    select(func.count(PeerRow.removed_at)).scalar_subquery(),
    select(func.sum(PeerRow.card_version)).scalar_subquery(),
    select(func.max(PeerRow.added_at)).scalar_subquery(),
    select(func.max(PeerRow.removed_at)).scalar_subquery(),
    select(func.count()).select_from(EntryRow).where(*_KEY_STATEMENTS).scalar_subquery(),
    select(func.sum(EntryRow.seq)).where(*_KEY_STATEMENTS).scalar_subquery(),
)


class PeerKeyCache:
    """`peer_signing_keys` for one serving process, so that a federation request costs no
    query in the common case. The answer is kept for `ttl` (by the node's clock); then one
    aggregate query (`_STAMP`) tells whether the roster or the peers' key statements changed,
    and only then is it recomputed. It is recomputed at once when a retired key's grace ends
    or the clock goes back. So a roster change made by any process (`denex peer remove`) is
    in force within `ttl`."""

    def __init__(self, ttl: timedelta = CACHE_TTL) -> None:
        self.ttl = ttl
        self._stamp: tuple[Any, ...] | None = None
        self._answer = SigningKeys({}, None)
        self._checked_at: datetime | None = None

    def _fresh(self, now: datetime) -> bool:
        checked, changes = self._checked_at, self._answer.changes_at
        return (
            checked is not None
            and checked <= now < checked + self.ttl
            and (changes is None or now < changes)
        )

    async def get(self, sessions: Sessions, now: datetime) -> dict[str, PeerKey]:
        if self._fresh(now):
            return self._answer.keys
        async with sessions() as session:
            stamp = tuple((await session.execute(_STAMP)).one())
            changes = self._answer.changes_at
            if (
                stamp != self._stamp
                or self._checked_at is None
                or now < self._checked_at
                or (changes is not None and now >= changes)
            ):
                self._answer = await _compute(session, now)
                self._stamp = stamp
        self._checked_at = now
        return self._answer.keys
