"""The roster in this node's database: adding, replacing, removing and listing peers (which
of their keys are accepted on federation requests now: `service.peer_keys`).

Card checks against this node (federation, own id, URL scheme) and storage live here; the
rule for replacing a stored card is keys.roster's; signature checking is keys.card's. Every
change is written to the audit trail in the caller's transaction.
"""

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core.identity import is_federation_id, is_node_id
from federation.storage.tables import PeerRow
from keys.card import Card, verify_card
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

MAX_CARD_BYTES = 64 * 1024
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
