"""The federation protocol's read endpoints (DESIGN §5): logs, checkpoints, entries, proofs.

Until peers authenticate with HTTP message signatures (the federation issue), these answer
only this node's admin and auditor tokens, so nothing leaks.
"""

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from federation import merkle, tree
from federation.log import read_entries
from federation.tables import LogRow
from keys.ed25519 import b64
from service.api.deps import AuditReader, StateDep
from service.api.problems import openapi_errors
from service.api.schemas import Content
from service.errors import BadRequest, NotFound

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


async def _log(state: StateDep, origin: str) -> LogRow:
    async with state.db.read() as session:
        row = await session.get(LogRow, origin)
    if row is None:
        raise NotFound(f"this node holds no log of {origin}")
    return row


@router.get("/logs", response_model=list[LogHead], responses=openapi_errors(401, 403))
async def logs(state: StateDep, _caller: AuditReader) -> list[LogHead]:
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
        **openapi_errors(401, 403, 404, 422),
    },
)
async def checkpoint(state: StateDep, _caller: AuditReader, origin: Origin) -> PlainTextResponse:
    """The newest checkpoint of `origin` as a C2SP signed note."""
    row = await _log(state, origin)
    if row.checkpoint is None:
        raise NotFound(f"no checkpoint of {origin} yet")
    return PlainTextResponse(row.checkpoint, media_type="text/plain; charset=utf-8")


@router.get(
    "/logs/{origin}/entries", response_model=EntryPage, responses=openapi_errors(401, 403, 404, 422)
)
async def entries(
    state: StateDep,
    _caller: AuditReader,
    origin: Origin,
    start: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE,
) -> EntryPage:
    """Entries of `origin` from `start`, contiguous; an empty page past the end."""
    await _log(state, origin)
    async with state.db.read() as session:
        rows = await read_entries(session, origin, start=start, limit=limit)
    page = [
        LogEntry(
            seq=r.seq,
            leaf_hash=b64(r.leaf_hash),
            envelope=r.envelope.decode("utf-8"),
            content=None
            if r.content_salt is None or r.content_body is None
            else Content(salt=b64(r.content_salt), body=b64(r.content_body)),
        )
        for r in rows
    ]
    return EntryPage(entries=page, next=start + len(page))


@router.get(
    "/logs/{origin}/proof/inclusion",
    response_model=InclusionProof,
    responses=openapi_errors(400, 401, 403, 404, 422),
)
async def inclusion(
    state: StateDep,
    _caller: AuditReader,
    origin: Origin,
    index: Annotated[int, Query(ge=0, le=MAX_SEQ)],
    size: Annotated[int, Query(ge=1, le=MAX_SEQ)],
) -> InclusionProof:
    """The RFC 9162 inclusion proof of leaf `index` in the tree of `size`."""
    log = await _log(state, origin)
    if size > log.size:
        raise BadRequest(f"size {size} is beyond the log of {origin} ({log.size} entries)")
    if index >= size:
        raise BadRequest(f"index {index} is outside a tree of size {size}")
    async with state.db.read() as session:
        hashes = await tree.inclusion_proof(session, origin, index, size)
    return InclusionProof(index=index, size=size, hashes=[b64(h) for h in hashes])


@router.get(
    "/logs/{origin}/proof/consistency",
    response_model=ConsistencyProof,
    response_model_by_alias=True,
    responses=openapi_errors(400, 401, 403, 404, 422),
)
async def consistency(
    state: StateDep,
    _caller: AuditReader,
    origin: Origin,
    from_: Annotated[int, Query(alias="from", ge=0, le=MAX_SEQ)],
    to: Annotated[int, Query(ge=0, le=MAX_SEQ)],
) -> ConsistencyProof:
    """The RFC 9162 consistency proof from size `from` to size `to` (`[]` when equal)."""
    log = await _log(state, origin)
    if from_ == 0:
        raise BadRequest("a consistency proof from the empty tree proves nothing (from = 0)")
    if from_ > to:
        raise BadRequest(f"from {from_} is larger than to {to}")
    if to > log.size:
        raise BadRequest(f"to {to} is beyond the log of {origin} ({log.size} entries)")
    async with state.db.read() as session:
        try:
            hashes = await tree.consistency_proof(session, origin, from_, to)
        except merkle.ProofError as exc:
            raise BadRequest(str(exc)) from exc
    return ConsistencyProof.model_validate(
        {"from": from_, "to": to, "hashes": [b64(h) for h in hashes]}
    )
