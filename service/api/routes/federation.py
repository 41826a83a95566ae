"""The federation protocol's read endpoints (DESIGN §5): logs, checkpoints, entries, proofs.

Every request must carry an RFC 9421 signature by an active roster peer's signing key
(service.api.peer_auth); anything else is a 401 problem document.
"""

import time
from typing import Annotated
from weakref import WeakKeyDictionary

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core import merkle
from federation.core.witness import cosigned
from federation.storage import tree
from federation.storage.pages import entry_page
from federation.storage.tables import LogRow
from keys.ed25519 import b64
from service.api.body import json_body, parse_model, request_body
from service.api.deps import StateDep
from service.api.peer_auth import PeerCaller
from service.api.problems import openapi_errors
from service.api.schemas import Content
from service.errors import BadRequest, NotFound, TooManyRequests
from service.storage.database import Database
from service.sync.rounds import hint_received

router = APIRouter(prefix="/federation/v1", tags=["federation"])

Origin = Annotated[str, Path(pattern=r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")]
MAX_PAGE = 1000
MAX_SEQ = 2**53  # seqs and sizes are JSON-safe integers


class LogHead(BaseModel):
    origin: str
    size: int
    root: str | None = Field(description="base64 root hash at `size`")
    checkpoint: str | None = Field(description="the newest signed checkpoint (C2SP note)")


class LogEntry(BaseModel):
    seq: int
    leaf_hash: str
    envelope: str = Field(description="the DSSE envelope exactly as stored (JCS JSON text)")
    content: Content | None = None


class EntryPage(BaseModel):
    entries: list[LogEntry]
    next: int


class InclusionProof(BaseModel):
    index: int
    size: int
    hashes: list[str]


class ConsistencyProof(BaseModel):
    from_: int = Field(alias="from", serialization_alias="from")
    to: int
    hashes: list[str]


# Complete subtrees never change (federation.storage.tree.SubtreeCache), so every proof this process
# serves from one database shares one cache; keyed by the database, as tests run several.
_subtree_caches: WeakKeyDictionary[Database, tree.SubtreeCache] = WeakKeyDictionary()


def _subtree_cache(db: Database) -> tree.SubtreeCache:
    cache = _subtree_caches.get(db)
    if cache is None:
        cache = _subtree_caches[db] = tree.SubtreeCache()
    return cache


async def _read_log(session: AsyncSession, origin: str) -> LogRow:
    row = await session.get(LogRow, origin)
    if row is None:
        raise NotFound(f"this node holds no log of {origin}")
    return row


async def _held_size(rows: tree.Rows, origin: str) -> int:
    size = await tree.stored_size(rows, origin)
    if size is None:
        raise NotFound(f"this node holds no log of {origin}")
    return size


async def _log(state: StateDep, origin: str) -> LogRow:
    async with state.db.read() as session:
        return await _read_log(session, origin)


@router.get("/logs", response_model=list[LogHead], responses=openapi_errors(401, 403, 429))
async def logs(state: StateDep, _caller: PeerCaller) -> list[LogHead]:
    """Every log this node holds, with its size, root and newest checkpoint."""
    async with state.db.read() as session:
        rows = list(await session.scalars(select(LogRow).order_by(LogRow.origin)))
    return [
        LogHead(
            origin=r.origin,
            size=r.size,
            root=b64(r.root) if r.root is not None else None,
            checkpoint=r.checkpoint,
        )
        for r in rows
    ]


@router.get(
    "/logs/{origin}/checkpoint",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        **openapi_errors(401, 403, 404, 422, 429),
    },
)
async def checkpoint(state: StateDep, _caller: PeerCaller, origin: Origin) -> PlainTextResponse:
    """The newest checkpoint of `origin` this node verified, as a C2SP signed note; for other
    origins with this node's cosignature (tlog-cosignature v1), timestamped now."""
    row = await _log(state, origin)
    if row.checkpoint is None:
        raise NotFound(f"no checkpoint of {origin} yet")
    text = row.checkpoint
    if origin != state.node.identity.node_id and row.frozen_reason is None:
        text = cosigned(
            text,
            witness=state.node.identity.origin_line,
            key=state.node.signing,
            timestamp=int(state.clock().timestamp()),
        )
    return PlainTextResponse(text, media_type="text/plain; charset=utf-8")


@router.get(
    "/logs/{origin}/entries",
    response_model=EntryPage,
    responses=openapi_errors(401, 403, 404, 422, 429),
)
async def entries(
    state: StateDep,
    caller: PeerCaller,
    origin: Origin,
    start: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE,
) -> Response:
    """Entries of `origin` from `start`, contiguous, at most `limit` and at most 8 MiB of
    JSON (federation.storage.pages); an empty page past the end. Content goes only to members of
    each entry's audience; others get the signed header alone, which still verifies the tree
    (DESIGN §4)."""
    async with state.db.rows() as rows:  # committed entries never change: no session
        await _held_size(rows, origin)
        page = await entry_page(rows, origin, start=start, limit=limit, reader=caller)
    return Response(page, media_type="application/json")


@router.get(
    "/logs/{origin}/proof/inclusion",
    response_model=InclusionProof,
    responses=openapi_errors(400, 401, 403, 404, 422, 429),
)
async def inclusion(
    state: StateDep,
    _caller: PeerCaller,
    origin: Origin,
    index: Annotated[int, Query(ge=0, le=MAX_SEQ)],
    size: Annotated[int, Query(ge=1, le=MAX_SEQ)],
) -> InclusionProof:
    """The RFC 9162 inclusion proof of leaf `index` in the tree of `size`."""
    async with state.db.rows() as rows:  # the log's size, then subtrees it has committed
        held = await _held_size(rows, origin)
        if size > held:
            raise BadRequest(f"size {size} is beyond the log of {origin} ({held} entries)")
        if index >= size:
            raise BadRequest(f"index {index} is outside a tree of size {size}")
        hashes = await tree.inclusion_proof(
            rows, origin, index, size, cache=_subtree_cache(state.db)
        )
    return InclusionProof(index=index, size=size, hashes=[b64(h) for h in hashes])


@router.get(
    "/logs/{origin}/proof/consistency",
    response_model=ConsistencyProof,
    response_model_by_alias=True,
    responses=openapi_errors(400, 401, 403, 404, 422, 429),
)
async def consistency(
    state: StateDep,
    _caller: PeerCaller,
    origin: Origin,
    from_: Annotated[int, Query(alias="from", ge=0, le=MAX_SEQ)],
    to: Annotated[int, Query(ge=0, le=MAX_SEQ)],
) -> ConsistencyProof:
    """The RFC 9162 consistency proof from size `from` to size `to` (`[]` when equal)."""
    async with state.db.rows() as rows:  # the log's size, then subtrees it has committed
        held = await _held_size(rows, origin)
        if from_ == 0:
            raise BadRequest("a consistency proof from the empty tree proves nothing (from = 0)")
        if from_ > to:
            raise BadRequest(f"from {from_} is larger than to {to}")
        if to > held:
            raise BadRequest(f"to {to} is beyond the log of {origin} ({held} entries)")
        try:
            hashes = await tree.consistency_proof(
                rows, origin, from_, to, cache=_subtree_cache(state.db)
            )
        except merkle.ProofError as exc:
            raise BadRequest(str(exc)) from exc
    return ConsistencyProof.model_validate(
        {"from": from_, "to": to, "hashes": [b64(h) for h in hashes]}
    )


class Hint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    origin: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
    size: int = Field(ge=0, le=MAX_SEQ)


HINT_INTERVAL = 1.0  # seconds between two hints of one peer that are acted on


class HintAccepted(BaseModel):
    peer: str = Field(description="the peer this node will pull from soon")


@router.post(
    "/hint",
    status_code=202,
    response_model=HintAccepted,
    responses=openapi_errors(401, 422, 429),
    openapi_extra=request_body(Hint),
)
async def hint(state: StateDep, caller: PeerCaller, request: Request) -> HintAccepted:
    """A peer says it has news (`{"origin", "size"}`): this node pulls from it soon."""
    parse_model(Hint, await json_body(request), "the hint")
    now = time.monotonic()
    hints: dict[str, float] | None = getattr(request.app.state, "hints", None)
    if hints is None:
        hints = request.app.state.hints = {}  # peer -> monotonic time of its last hint
    last = hints.get(caller)
    if last is not None and now - last < HINT_INTERVAL:
        raise TooManyRequests(f"at most one hint a second from {caller}")
    hints[caller] = now
    async with state.db.write() as session:
        await hint_received(session, caller, now=state.clock())
    if state.sync_loop is not None:
        state.sync_loop.wake.set()
    return HintAccepted(peer=caller)
