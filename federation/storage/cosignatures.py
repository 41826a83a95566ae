"""Witnesses' cosignatures on the checkpoints this node holds (DESIGN §9): kept when a peer
shows one on this node's copy of a log, read back into the checkpoint of an evidence bundle.
Nothing here commits."""

import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core import note
from federation.core.checkpoint import parse_text
from federation.storage.tables import CosignatureRow, LogRow


def text_hash(checkpoint_text: str) -> bytes:
    return hashlib.sha256(checkpoint_text.encode("utf-8")).digest()


async def keep(
    session: AsyncSession,
    *,
    origin: str,
    size: int,
    witness: str,
    checkpoint_text: str,
    signature: note.Signature,
    timestamp: int,
    now: datetime,
) -> bool:
    """Keep a verified cosignature unless one by that witness at that size is kept already
    (the first is the earliest proof of when the log held it). Returns whether it was new."""
    if await session.get(CosignatureRow, (origin, size, witness)) is not None:
        return False
    session.add(
        CosignatureRow(
            origin=origin,
            size=size,
            witness=witness,
            text_hash=text_hash(checkpoint_text),
            line=signature.line(),
            timestamp=timestamp,
            stored_at=now,
        )
    )
    await session.flush()
    return True


async def witnesses_of_newest(session: AsyncSession) -> set[tuple[str, str]]:
    """(origin, witness) of every cosignature kept on the newest size of a log held here."""
    rows = await session.execute(
        select(CosignatureRow.origin, CosignatureRow.witness).join(
            LogRow, (LogRow.origin == CosignatureRow.origin) & (LogRow.size == CosignatureRow.size)
        )
    )
    return {(origin, witness) for origin, witness in rows.all()}


async def cosigned(session: AsyncSession, checkpoint_note: str) -> tuple[str, list[str]]:
    """The checkpoint with every kept cosignature on exactly its text added, and the
    witnesses (node ids) that cosigned it."""
    parsed = note.parse(checkpoint_note)
    head = parse_text(parsed.text)
    origin = head.origin.rpartition("/")[2]
    rows = await session.scalars(
        select(CosignatureRow)
        .where(CosignatureRow.origin == origin, CosignatureRow.size == head.size)
        .order_by(CosignatureRow.witness)
    )
    mine = text_hash(parsed.text)
    kept = [r for r in rows if r.text_hash == mine]
    present = {s.line() for s in parsed.signatures}
    extra = "".join(r.line for r in kept if r.line not in present)  # rendered lines, kept
    return parsed.render() + extra, [r.witness for r in kept]
