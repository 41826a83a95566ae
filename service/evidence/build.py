"""Building an evidence bundle (DESIGN §9) from this node's store.

A bundle covers one notice this node holds, its own or a partner's: every version below the
newest checkpoint of the origin's log that this node verified, each with its inclusion proof
to that checkpoint, every key statement below it, and the origin's card (this node's own, or
the partner's card as its roster holds it), with the witnesses' cosignatures of that
checkpoint this node holds and those witnesses' cards as its roster holds them.
"""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core import checkpoint as cp
from federation.core import note
from federation.core.entry import KEY_TYPES, PUBLISHED
from federation.storage import cosignatures, noticeheads, tree
from federation.storage.tables import EntryRow, LogRow, PeerRow
from keys.canonical import canonical_bytes
from keys.ed25519 import b64
from service.errors import Conflict, NotFound
from service.evidence.bundle import FORMAT, horizon
from service.node import Identity, stored_card
from service.notices import queries


def _item(entry: EntryRow, proof: list[bytes]) -> dict[str, object]:
    content = None
    if entry.content_salt is not None and entry.content_body is not None:
        content = {"salt": b64(entry.content_salt), "body": b64(entry.content_body)}
    return {
        "seq": entry.seq,
        "envelope": entry.envelope.decode("utf-8"),
        "content": content,
        "inclusion": [b64(h) for h in proof],
    }


async def build_bundle(
    session: AsyncSession, identity: Identity, notice_id: str, origin: str | None = None
) -> bytes:
    """The bundle of the notice `origin/notice_id` (`origin` None: this node's own)."""
    if origin is None:
        row = await queries.get_own_notice(session, identity.node_id, notice_id)
    else:
        row = await queries.get_notice(session, origin, notice_id)
    card = await _card(session, identity, row.origin)
    log = await session.get(LogRow, row.origin)
    if log is None or log.checkpoint is None:
        raise NotFound(f"no verified checkpoint of {row.origin}'s log yet")
    # the checkpoint's own size: a partner's entries may be stored ahead of it
    head = cp.parse_text(note.parse(log.checkpoint).text)
    size = head.size
    versions = [e for _version, e in await queries.versions(session, row) if e.seq < size]
    if not versions:
        raise NotFound(
            f"no checkpoint of {row.origin}'s log covers notice {row.origin}/{notice_id} yet"
        )
    # Equality on (origin, type) only, so SQLite uses ix_entries_type; the few key
    # statements are filtered and ordered here (a seq range or ORDER BY seq made it walk
    # every entry of the log instead).
    statements = sorted(
        (
            e
            for e in await session.scalars(
                select(EntryRow).where(EntryRow.origin == row.origin, EntryRow.type.in_(KEY_TYPES))
            )
            if e.seq < size
        ),
        key=lambda e: e.seq,
    )

    async def items(entries: list[EntryRow]) -> list[dict[str, object]]:
        return [
            _item(e, await tree.inclusion_proof(session, row.origin, e.seq, size)) for e in entries
        ]

    checkpoint, witnesses = await cosignatures.cosigned(session, log.checkpoint)
    notice_map = None
    publication = next((e for e in versions if e.type == PUBLISHED), None)
    if head.notices is not None and publication is not None:
        heads = await noticeheads.map_at(session, row.origin, size, head.root)
        notice_map = heads.proof(publication.leaf_hash).to_json()
    bundle = {
        "format": FORMAT,
        "federation": identity.federation,
        "origin": row.origin,
        "notice_id": notice_id,
        "card": card,
        "checkpoint": checkpoint,
        "size": size,
        "versions": await items(versions),
        "key_statements": await items(statements),
        "witnessed": [],
        "notice_map": notice_map,
        "witness_cards": [await _card(session, identity, w) for w in witnesses],
        "horizon": horizon(row.origin, size),
    }
    return canonical_bytes(bundle)


async def _card(session: AsyncSession, identity: Identity, origin: str) -> str:
    """The origin's card: this node's own, or the one its roster holds for the partner."""
    if origin == identity.node_id:
        return await stored_card(session)
    peer = await session.get(PeerRow, origin)
    if peer is None:
        raise Conflict(f"{origin} is not in this node's roster: its card is not known here")
    return peer.card.decode("utf-8")
