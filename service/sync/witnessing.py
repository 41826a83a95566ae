"""Witnessing (DESIGN §4): what a peer's cosignature says of an origin's freshness, the
checkpoints a stored witness statement carries checked against this node's copies, and this
node's own witness statements."""

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from federation.core import checkpoint as cp
from federation.core import note
from federation.core.entry import Draft, SealedEntry
from federation.core.errors import FederationError
from federation.core.follow import Accepted
from federation.core.witness import (
    MAX_CHECKPOINTS,
    WITNESSED,
    WitnessError,
    fresh_cosignatures,
    witness_body,
    witnessed,
)
from federation.network.pull import PeerError, PeerReader
from federation.storage import cosignatures, heads, quarantine, replica
from federation.storage.log import append_own, lock_log, log_size
from federation.storage.tables import LogRow
from service.node import Node
from service.storage.database import Database


async def cosigned_freshness(
    db: Database,
    federation: str,
    clock: Callable[[], datetime],
    reader: PeerReader,
    peer: str,
    origin: str,
) -> None:
    """The peer's cosignature on its newest checkpoint of `origin`, when that checkpoint is
    the origin's, signed by it, and exactly this node's copy (size, root): kept for evidence
    bundles (DESIGN §9, this node's own log included), and for a partner's log it says when
    the peer saw that checkpoint as the newest, so the log was fresh then (DESIGN §4)."""
    try:
        text = await reader.checkpoint(origin)
        async with db.read() as session:
            witnessing = await replica.stored_key_state(session, peer)
            witness_size = await log_size(session, peer)
            state = await replica.stored_key_state(session, origin)
            copy = await session.get(LogRow, origin)
        if copy is None or copy.root is None:
            return
        found = fresh_cosignatures(
            text,
            origin=cp.origin_line(federation, origin),
            origin_keys=state.checkpoint_keys(copy.size),
            size=copy.size,
            root=copy.root,
            witness=cp.origin_line(federation, peer),
            witness_keys=list(witnessing.valid_keys(witness_size).values()),
        )
    except (PeerError, FederationError):
        return
    now = clock()
    found = [(s, t) for s, t in found if t <= (now + timedelta(seconds=300)).timestamp()]
    if not found:
        return  # none, or only from the future
    signature, timestamp = min(found, key=lambda pair: pair[1])
    async with db.write() as session:
        await cosignatures.keep(
            session,
            origin=origin,
            size=copy.size,
            witness=peer,
            checkpoint_text=note.parse(text).text,
            signature=signature,
            timestamp=timestamp,
            now=now,
        )
        newest = datetime.fromtimestamp(max(t for _, t in found), UTC)
        await heads.seen_fresh(session, origin, newest)


async def check_witnessed(
    db: Database,
    federation: str,
    roots: Mapping[str, bytes],
    clock: Callable[[], datetime],
    witness_origin: str,
    entry: Accepted,
) -> list[str]:
    """Check every origin-signed checkpoint in a stored witness entry against this node's
    copies (DESIGN §4); a validly signed one that disagrees freezes its origin. Returns
    the equivocations found. A malformed or badly signed one implicates the witness only,
    and is passed over here (its log verified; the statement inside is its own)."""
    try:
        claims = witnessed(entry.wire.body or b"")
    except WitnessError:
        return []
    found = []
    for origin_line, text in claims:
        claimed, _, origin = origin_line.rpartition("/")
        if claimed != federation or origin not in roots:
            continue  # this node's own log is checked by recovery, not here
        try:
            async with db.write() as session:
                state = await replica.stored_key_state(session, origin)
                await replica.accept_checkpoint(
                    session,
                    federation=federation,
                    origin=origin,
                    text=text,
                    state=state,
                    now=clock(),
                )
        except replica.CheckpointMismatch as exc:
            found.append(f"{origin}: {exc}")
            async with db.write() as session:
                await quarantine.freeze(
                    session,
                    origin=origin,
                    reason=str(exc),
                    first=exc.ours or "",
                    second=exc.theirs,
                    kind="checkpoints",
                    via=witness_origin,
                    now=clock(),
                )
        except FederationError:
            continue
    return found


async def witness(db: Database, node: Node, *, now: datetime) -> SealedEntry | None:
    """Append one `checkpoints.witnessed` entry to this node's log with the newest verified
    checkpoint of every other origin it holds (none if there is none)."""
    me = node.identity.node_id
    async with db.write() as session:
        log = await lock_log(session, me)
        rows = await session.scalars(
            select(LogRow).where(
                LogRow.origin != me,
                LogRow.checkpoint.is_not(None),
                LogRow.frozen_reason.is_(None),
            )
        )
        checkpoints = [row.checkpoint for row in rows if row.checkpoint is not None]
        if not checkpoints:
            return None
        signing = await node.current_signer(session)
        [entry] = await append_own(
            session,
            federation=node.identity.federation,
            origin=me,
            drafts=[Draft(WITNESSED, witness_body(checkpoints[:MAX_CHECKPOINTS]), ("*",), now)],
            signer=lambda _type: signing,
            checkpoint_key=signing,
            now=now,
            locked=log,
        )
    return entry
