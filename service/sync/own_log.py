"""This node's own log as its peers hold it (DESIGN §5): the start-up check before this node
appends, and why appends stopped (a restored backup awaiting `denex recover`, a peer's
differing copy signed by this node's key, equivocation)."""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httpx

from federation.core import keystate, own_copy
from federation.core.errors import FederationError
from federation.network.pull import AdvertisedHead, PeerError, peer_head
from federation.storage import heads, quarantine, replica
from federation.storage.log import lock_log
from federation.storage.tables import PeerRow
from service.node import Node, own_signing_keys
from service.roster import active_peers
from service.storage.database import Database

log = logging.getLogger("denex.sync")

RESTORED = "restored from a backup?"  # the start of the reason appends stopped


def restored_reason(peer: str, held: int, size: int) -> str:
    """Why appends stop when `peer` shows a checkpoint of `held` entries of this node's log,
    signed by its key, and this node holds `size`."""
    return (
        f"{RESTORED} {peer} holds {held} entries of this node's log (a checkpoint signed by "
        f"its key), this node {size}; run `denex recover`"
    )


CHECKING = "checking what the peers hold of this node's log (start-up)"
DIFFERENT_COPY = "holds a different copy of this node's log"

# Why appends to this node's log stopped, as a small fixed set (the metrics' label): the
# start-up check still running, a restored backup awaiting `denex recover`, a peer's
# differing copy signed by this node's key, or proven equivocation (federation.storage.quarantine.freeze)
STOP_KINDS = ("checking", "restored", "different_copy", "equivocation")


def stop_kind(reason: str) -> str:
    """Which of STOP_KINDS a `frozen_reason` of this node's own log is."""
    if reason == CHECKING:
        return "checking"
    if reason.startswith(RESTORED):
        return "restored"
    if DIFFERENT_COPY in reason:
        return "different_copy"
    return "equivocation"


async def check_own_log(
    db: Database,
    node: Node,
    client: httpx.AsyncClient,
    *,
    clock: Callable[[], datetime],
    patience: float = 5.0,
) -> list[str]:
    """Before this node appends after start-up: ask every active peer what it holds of this
    node's log (one `GET /logs` each, concurrently, at most `patience` seconds). Meanwhile
    appends wait: the own log's `frozen_reason` says CHECKING, which every appender
    respects, in any process, and `/readyz` reports. A peer showing a checkpoint of this
    log, signed by this node's key, beyond its copy means a restored backup: appends stay
    stopped until `denex recover`. A peer whose checkpoint of this log is validly signed but
    disagrees with this node's tree holds a different copy: the evidence is kept and appends
    stay stopped (DESIGN §5: "a longer or different copy"). Anything else a peer claims (a
    bare size, a checkpoint not signed by this node's key) is logged and ignored
    (`federation.core.own_copy`). A peer that does not answer in time is passed over (a node must
    work while partners are down); the sync rounds ask it again. Returns the peers found
    longer or different."""
    me = node.identity.node_id
    async with db.write() as session:
        own = await lock_log(session, me)
        if own.frozen_reason is not None:
            return []  # stopped already (a restored backup, equivocation): recovery decides
        own.frozen_reason, size = CHECKING, own.size
    reasons: dict[str, str] = {}
    signed: dict[str, int] = {}  # peer -> entries of this log its checkpoint signed by us covers
    try:
        async with db.read() as session:
            peers = await active_peers(session)
            state = await replica.stored_key_state(session, me)
        key_files = await asyncio.to_thread(own_signing_keys, node)

        async def held(peer: PeerRow) -> tuple[str, AdvertisedHead] | None:
            try:
                head = await asyncio.wait_for(peer_head(client, peer.url, me), patience)
            except (PeerError, TimeoutError):
                return None
            return None if head is None else (peer.node_id, head)

        for found in await asyncio.gather(*map(held, peers)):
            if found is None:
                continue
            peer, head = found
            copy = own_copy.judge(
                head.size,
                head.checkpoint,
                origin=node.identity.origin_line,
                local=size,
                state=state,
                key_files=key_files,
            )
            if copy.ignored is not None:
                log.warning("ignored what %s says of this node's log: %s", peer, copy.ignored)
            signed[peer] = copy.signed
            if copy.ahead_of(size):
                reasons[peer] = restored_reason(peer, copy.signed, size)
            elif copy.checkpoint is not None:
                compared = await compare_own_checkpoint(
                    db,
                    federation=node.identity.federation,
                    me=me,
                    peer=peer,
                    checkpoint=copy.checkpoint,
                    now=clock(),
                )
                if compared.contradiction is not None:
                    reasons[peer] = f"{peer} {DIFFERENT_COPY}: {compared.contradiction}"
    finally:
        async with db.write() as session:
            own = await lock_log(session, me)
            if own.frozen_reason == CHECKING:
                own.frozen_reason = next(iter(reasons.values()), None)
            known = await heads.peer_heads(session)  # for `recover`, as the rounds do
            for peer, entries in signed.items():
                before = known.get(peer, {})
                await heads.record_heads(
                    session,
                    peer,
                    {me: entries},
                    known={me: before[me]} if me in before else {},
                    now=clock(),
                )
    for reason in reasons.values():
        log.error("ALERT %s", reason)
    return list(reasons)


@dataclass(frozen=True)
class Comparison:
    """A peer's checkpoint of this node's own log against this node's tree."""

    valid: bool = True  # signed by this node's keys
    agrees: bool = False  # ... and consistent with its tree at a size it holds
    contradiction: str | None = None  # ... and contradicting it


async def compare_own_checkpoint(
    db: Database,
    *,
    federation: str,
    me: str,
    peer: str,
    checkpoint: str,
    now: datetime,
    state: keystate.KeyState | None = None,
) -> Comparison:
    """Check `peer`'s checkpoint of this node's log against its tree (at this node's stored
    key state unless `state` is given). A validly signed one that contradicts the tree is
    evidence (kept: a stolen key, or a restored backup that diverged); one not signed by
    this node's keys is the peer's problem, not ours."""
    try:
        async with db.write() as session:
            agrees = await replica.accept_checkpoint(
                session,
                federation=federation,
                origin=me,
                text=checkpoint,
                state=state or await replica.stored_key_state(session, me),
                now=now,
            )
    except replica.CheckpointMismatch as exc:
        async with db.write() as session:
            quarantine.keep_evidence(
                session,
                origin=me,
                first=exc.ours or "",
                second=exc.theirs,
                kind="checkpoints",
                via=peer,
                now=now,
            )
        return Comparison(contradiction=str(exc))
    except FederationError:
        return Comparison(valid=False)
    return Comparison(agrees=bool(agrees))


async def stop_appends(db: Database, me: str, reason: str) -> None:
    """Stop appends to this node's log for `reason`, unless they are stopped already."""
    async with db.write() as session:
        log = await lock_log(session, me)
        if log.frozen_reason is None:
            log.frozen_reason = reason
