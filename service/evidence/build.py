"""Building an evidence bundle (DESIGN §9) from this node's store.

A bundle covers one notice of this node's own log: every version with its inclusion proof
to the newest checkpoint, every key statement below it, and the node's card. Witness
cosignatures arrive with federation; until then the bundle says there are none.
"""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core.entry import KEY_TYPES
from federation.storage import tree
from federation.storage.tables import EntryRow, LogRow
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
    if row.origin != identity.node_id:
        raise Conflict(
            f"notice {row.origin}/{notice_id} is {row.origin}'s: ask that node for its evidence "
            "(bundles for synced partners' notices arrive with federation)"
        )
    log = await session.get(LogRow, row.origin)
    if log is None or log.checkpoint is None:
        raise NotFound(f"no checkpoint of {row.origin} yet")
    size = log.size
    versions = [entry for _version, entry in await queries.versions(session, row)]
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

    bundle = {
        "format": FORMAT,
        "federation": identity.federation,
        "origin": row.origin,
        "notice_id": notice_id,
        "card": await stored_card(session),
        "checkpoint": log.checkpoint,
        "size": size,
        "versions": await items(versions),
        "key_statements": await items(statements),
        "witnessed": [],
        "witness_cards": [],
        "horizon": horizon(row.origin, size),
    }
    return canonical_bytes(bundle)
