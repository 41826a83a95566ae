"""The roster in this node's database: adding, replacing, removing and listing peers, and
which signing keys of active peers are accepted on federation requests now.

Card checks against this node (federation, own id, URL scheme) and storage live here; the
rule for replacing a stored card is keys.roster's; signature checking is keys.card's. Every
change is written to the audit trail in the caller's transaction.
"""

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core import keystate
from federation.core.entry import KEY_TYPES
from federation.core.errors import EntryError
from federation.core.identity import is_federation_id, is_node_id
from federation.storage.tables import EntryRow, PeerRow
from keys.canonical import parse_canonical
from keys.card import Card, verify_card
from keys.dsse import open_envelope
from keys.ed25519 import fingerprint, key_id, unb64
from keys.errors import KeysError
from keys.roster import Change, Held, RosterError, admit
from service import audit
from service.errors import Conflict, InvalidInput, NotFound
from service.node import Identity
from service.notices.text import text_problem
from service.notices.vocabulary import COUNTRIES, KNOWN_REGIMES

log = logging.getLogger("denex.roster")
Sessions = Callable[[], AbstractAsyncContextManager[AsyncSession]]

GRACE = timedelta(hours=24)  # a retired key still signs HTTP requests this long (DESIGN §2)
MAX_CARD_BYTES = 64 * 1024
CACHE_TTL = timedelta(seconds=1)  # how long a serving process trusts its copy of the keys
_ACTIONS = {Change.ADDED: "peer.add", Change.REPLACED: "peer.replace", Change.READDED: "peer.readd"}


@dataclass(frozen=True)
class CardInfo:
    """A verified card, checked against this node: what `peer add` shows before it asks."""

    card: bytes
    node_id: str
    federation: str
    country: str
    name: str
    url: str
    root_key: bytes
    signing_keys: tuple[bytes, ...]
    regimes: tuple[str, ...]  # as the card claims them
    card_version: int

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.root_key)


def _text(body: dict[str, Any], name: str, *, limit: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidInput(f"card field {name} must be a string of 1 to {limit} characters")
    if (problem := text_problem(value)) is not None:
        raise InvalidInput(f"card field {name} {problem}")
    return value


def _signing_keys(body: dict[str, Any]) -> tuple[bytes, ...]:
    items = body.get("signing_keys")
    if not isinstance(items, list) or not items:
        raise InvalidInput("card field signing_keys must be a non-empty list")
    keys = []
    for item in items:
        try:
            raw = unb64(str(item["key"]), what="signing key")
            if key_id(raw) != item["key_id"]:
                raise InvalidInput("card signing key's key_id does not match the key")
        except (KeyError, TypeError, KeysError) as exc:
            raise InvalidInput(f"card field signing_keys is malformed: {exc}") from exc
        keys.append(raw)
    return tuple(keys)


def inspect_card(data: bytes, identity: Identity, *, insecure_http: bool) -> CardInfo:
    """Verify a card (root signature, exact fields) and check it can be a peer of this node."""
    if len(data) > MAX_CARD_BYTES:
        raise InvalidInput(f"a card has at most {MAX_CARD_BYTES} bytes, this one {len(data)}")
    try:
        card: Card = verify_card(data.strip())
    except KeysError as exc:
        raise InvalidInput(f"not a valid node card: {exc}") from exc
    body = card.body
    federation = _text(body, "federation", limit=200)
    node_id = _text(body, "node_id", limit=32)
    if not is_federation_id(federation) or federation != identity.federation:
        raise InvalidInput(
            f"the card is for federation {federation!r}; this node is of {identity.federation!r}"
        )
    if not is_node_id(node_id):
        raise InvalidInput(f"card node_id {node_id!r} is not a node id")
    if node_id == identity.node_id or card.root_key == identity.root_key:
        raise InvalidInput(f"that is this node's own card ({identity.node_id})")
    country = _text(body, "country", limit=2)
    if country not in COUNTRIES:
        raise InvalidInput(f"card country {country!r} is not an ISO 3166-1 alpha-2 code")
    url = _text(body, "url", limit=500)
    if not url.startswith("https://") and not (insecure_http and url.startswith("http://")):
        raise InvalidInput(
            f"card url {url!r} must be https:// (http:// only with DENEX_INSECURE_DEV_HTTP=1)"
        )
    regimes = body.get("regimes")
    if not isinstance(regimes, list) or not all(isinstance(r, str) and r for r in regimes):
        raise InvalidInput("card field regimes must be a list of regime names")
    version = body.get("card_version")
    if type(version) is not int or version < 1:
        raise InvalidInput("card field card_version must be a positive integer")
    return CardInfo(
        card=data.strip(),
        node_id=node_id,
        federation=federation,
        country=country,
        name=_text(body, "name", limit=200),
        url=url.rstrip("/"),
        root_key=card.root_key,
        signing_keys=_signing_keys(body),
        regimes=tuple(regimes),
        card_version=version,
    )


def confirm_regimes(info: CardInfo, override: Sequence[str] | None) -> list[str]:
    """The regimes the admin confirms: the card's claim, or `--regimes` instead."""
    if override is None:
        return sorted(set(info.regimes))
    chosen = sorted({r.strip() for r in override if r.strip()})
    unknown = [r for r in chosen if r not in KNOWN_REGIMES]
    if unknown or not chosen:
        raise InvalidInput(
            f"regimes must be a non-empty list of {','.join(KNOWN_REGIMES)}"
            + (f" (not {','.join(unknown)})" if unknown else "")
        )
    return chosen


def admission(row: PeerRow | None, info: CardInfo) -> Change:
    """How the card would enter the roster, given the stored row of its node id; Conflict
    if it may not."""
    held = (
        None
        if row is None
        else Held(row.node_id, row.root_key, row.card_version, row.removed_at is not None)
    )
    try:
        return admit(
            held, node_id=info.node_id, root_key=info.root_key, card_version=info.card_version
        )
    except RosterError as exc:
        raise Conflict(str(exc)) from exc


async def add_peer(
    session: AsyncSession,
    card: bytes,
    *,
    identity: Identity,
    regimes_override: Sequence[str] | None = None,
    insecure_http: bool = False,
    actor: str = "cli",
    now: datetime,
) -> PeerRow:
    """Add a peer from its card, replace its card by a newer one, or re-add a removed peer.

    Refuses (nothing written): a card that does not verify, of another federation, of this
    node itself, of another root key than the one stored for that node id, or not newer."""
    info = inspect_card(card, identity, insecure_http=insecure_http)
    regimes = confirm_regimes(info, regimes_override)
    row = await session.get(PeerRow, info.node_id)
    change = admission(row, info)
    if row is None:
        row = PeerRow(node_id=info.node_id, root_key=info.root_key, added_at=now)
        session.add(row)
    elif change is Change.READDED:
        row.added_at = now
    row.federation = info.federation
    row.country = info.country
    row.name = info.name
    row.url = info.url
    row.regimes = regimes
    row.card_version = info.card_version
    row.card = info.card
    row.removed_at = None
    await audit.record(
        session,
        actor=actor,
        action=_ACTIONS[change],
        target=info.node_id,
        detail={
            "fingerprint": info.fingerprint,
            "card_version": info.card_version,
            "url": info.url,
            "regimes": regimes,
            "claimed_regimes": sorted(set(info.regimes)),
        },
        now=now,
    )
    return row


async def remove_peer(
    session: AsyncSession, node_id: str, *, actor: str = "cli", now: datetime
) -> PeerRow:
    """Stop trusting a peer: no more syncing from it or serving to it. Its verified log stays."""
    row = await session.get(PeerRow, node_id)
    if row is None:
        raise NotFound(f"{node_id} is not in the roster")
    if row.removed_at is not None:
        raise Conflict(f"{node_id} was already removed")
    row.removed_at = now
    await audit.record(
        session, actor=actor, action="peer.remove", target=node_id, detail={}, now=now
    )
    return row


async def list_peers(session: AsyncSession, *, include_removed: bool = True) -> list[PeerRow]:
    query = select(PeerRow).order_by(PeerRow.node_id)
    if not include_removed:
        query = query.where(PeerRow.removed_at.is_(None))
    return list(await session.scalars(query))


async def active_peers(session: AsyncSession) -> list[PeerRow]:
    return await list_peers(session, include_removed=False)


# --- which keys may sign a peer's HTTP requests --------------------------------------------


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
