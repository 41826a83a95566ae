"""The audit trail, paged by opaque cursor."""

from typing import Annotated

from fastapi import APIRouter, Query

from service import audit
from service.api.deps import AuditReader, StateDep
from service.api.idempotency import Idempotent
from service.api.params import Cursor
from service.api.problems import openapi_errors
from service.api.schemas import AuditEvent, AuditPage
from service.notices.queries import decode_seq_cursor, encode_cursor

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], route_class=Idempotent)


@router.get("", response_model=AuditPage, responses=openapi_errors(401, 403, 422))
async def audit_trail(
    state: StateDep,
    caller: AuditReader,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    """Audit records in order, each with its hash link to the one before."""
    after = decode_seq_cursor(cursor) if cursor else None  # None: from the first record
    async with state.db.read() as session:
        rows = await audit.page(session, after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(
        items=[
            AuditEvent(
                seq=r.seq,
                at=r.at,
                actor=r.actor,
                action=r.action,
                target=r.target,
                detail=r.detail,
                prev_hash=r.prev_hash,
                hash=r.hash,
            )
            for r in rows
        ],
        next_cursor=encode_cursor(str(rows[-1].seq)) if more and rows else None,
    )
