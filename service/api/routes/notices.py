"""Notice routes: publish, amend, revoke, list, fetch."""

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core.identity import NODE_ID_PATTERN
from keys.ed25519 import b64
from service import audit
from service.api.body import json_body, parse_model, request_body
from service.api.deps import Officer, Reader, StateDep
from service.api.idempotency import Idempotent
from service.api.params import Cursor, IsoDate
from service.api.problems import openapi_errors
from service.api.schemas import Content, Notice, NoticeList, NoticeSummary, NoticeVersion
from service.api.state import AppState
from service.notices import control, publishing, queries
from service.notices.lifecycle import due_for_review, status
from service.notices.schema import UUID_PATTERN, NoticeInput, ReviewInput, RevokeInput
from service.rules.profile import RuleProfile
from service.storage.models import NoticeRow

router = APIRouter(prefix="/api/v1/notices", tags=["notices"], route_class=Idempotent)

NoticeId = Annotated[str, Path(pattern=UUID_PATTERN)]
CONTROL_ENTRY = "notices with an item under this control-list entry, e.g. 5A001.j or ML21"
Origin = Annotated[
    str, Path(pattern=NODE_ID_PATTERN, description="the notice's origin (a node id)")
]


def named(row: NoticeRow) -> str:
    """How the audit trail names a notice: `origin/notice_id`."""
    return f"{row.origin}/{row.notice_id}"


def summary(row: NoticeRow, today: date, rules: RuleProfile) -> NoticeSummary:
    state = status(
        valid_until=row.valid_until,
        revoked=row.revoked_seq is not None,
        today=today,
        invalidated=row.invalid_reason is not None,
        lasting=rules.in_force_until_revoked(row.regimes),
    )
    return NoticeSummary(
        notice_id=row.notice_id,
        origin=row.origin,
        version=row.version,
        status=state,
        review_due=due_for_review(state, valid_until=row.valid_until, today=today),
        valid_until=row.valid_until.isoformat(),
        reviewed_on=row.reviewed_on.isoformat() if row.reviewed_on else None,
        notice=row.body,
    )


def version_view(
    *,
    version: int,
    kind: str,
    seq: int,
    leaf_hash: bytes,
    envelope: bytes,
    salt: bytes | None,
    body: bytes | None,
) -> NoticeVersion:
    """One version's entry exactly as stored: envelope text, leaf hash, content."""
    return NoticeVersion(
        version=version,
        kind=kind,
        seq=seq,
        leaf_hash=b64(leaf_hash),
        envelope=envelope.decode("utf-8"),
        content=None if salt is None or body is None else Content(salt=b64(salt), body=b64(body)),
    )


async def full(state: AppState, row: NoticeRow, session: AsyncSession) -> Notice:
    versions = await queries.versions(session, row)
    head = summary(row, state.clock().date(), state.settings.rules)
    return Notice(
        **head.model_dump(),
        audience=row.audience,
        revoked_on=row.revoked_on.isoformat() if row.revoked_on else None,
        revoked_reason=row.revoked_reason,
        revoked_code=row.revoked_code,
        superseded_by=row.superseded_by,
        invalid_reason=row.invalid_reason,
        versions=[
            version_view(
                version=v.version,
                kind=v.kind,
                seq=v.seq,
                leaf_hash=e.leaf_hash,
                envelope=e.envelope,
                salt=e.content_salt,
                body=e.content_body,
            ).model_copy(
                update={
                    "superseded": v.kind in ("published", "amended") and v.version < row.version
                }
            )
            for v, e in versions
        ],
    )


@router.post(
    "",
    status_code=201,
    response_model=Notice,
    responses=openapi_errors(401, 403, 409, 422, 503),
    openapi_extra=request_body(NoticeInput),
)
async def publish_notice(state: StateDep, caller: Officer, request: Request) -> Notice:
    """Publish a new denial notice as a signed `notice.published` entry of this node's log.
    Its `reference` must not be held by another of this node's notices: if it is, the answer
    is a 409 naming that notice (amend it instead)."""
    await state.node.refresh_members(state.db.read)
    notice = publishing.validate(await json_body(request), state.node)
    row, entry = await state.publisher.submit(notice, actor=caller.actor)
    state.metrics.notices_published.labels("published").inc()
    head = summary(row, state.clock().date(), state.settings.rules)
    return Notice(
        **head.model_dump(),
        audience=row.audience,
        revoked_on=None,
        revoked_reason=None,
        versions=[
            version_view(
                version=row.version,
                kind="published",
                seq=entry.seq,
                leaf_hash=entry.leaf_hash,
                envelope=entry.envelope,
                salt=entry.salt,
                body=entry.body,
            )
        ],
    )


@router.post(
    "/{notice_id}/amend",
    response_model=Notice,
    responses=openapi_errors(401, 403, 404, 409, 422, 503),
    openapi_extra=request_body(NoticeInput),
)
async def amend_notice(
    state: StateDep, caller: Officer, notice_id: NoticeId, request: Request
) -> Notice:
    """Amend one of this node's notices: the full new version, `version` + 1. It keeps its
    `reference` or takes one that no other notice of this node holds (409 otherwise)."""
    await state.node.refresh_members(state.db.read)
    notice = publishing.validate(await json_body(request), state.node)
    now = state.clock()
    async with state.db.write() as session:
        row = await publishing.amend(session, state.node, notice_id, notice, now=now)
        await audit.record(
            session,
            actor=caller.actor,
            action="notice.amend",
            target=named(row),
            detail={"seq": row.last_seq, "version": row.version},
            now=now,
        )
        result = await full(state, row, session)
    state.metrics.notices_published.labels("amended").inc()
    return result


@router.post(
    "/{notice_id}/review",
    response_model=Notice,
    responses=openapi_errors(401, 403, 404, 409, 422, 503),
    openapi_extra=request_body(ReviewInput),
)
async def review_notice(
    state: StateDep, caller: Officer, notice_id: NoticeId, request: Request
) -> Notice:
    """Record that one of this node's notices was reviewed and is maintained as it is: a
    signed `notice.reviewed` that restarts its clock (valid_until becomes `next_review`,
    by default the review date plus its regimes' review period). A review that changes the
    denial is an amendment; one that ends it, a revocation coded `review_outcome`."""
    outcome = parse_model(ReviewInput, await json_body(request), "the review")
    now = state.clock()
    async with state.db.write() as session:
        row = await publishing.review(
            session, state.node, notice_id, outcome, rules=state.settings.rules, now=now
        )
        await audit.record(
            session,
            actor=caller.actor,
            action="notice.review",
            target=named(row),
            detail={"seq": row.last_seq, "valid_until": row.valid_until.isoformat()},
            now=now,
        )
        result = await full(state, row, session)
    state.metrics.notices_published.labels("reviewed").inc()
    return result


@router.post(
    "/{notice_id}/revoke",
    response_model=Notice,
    responses=openapi_errors(401, 403, 404, 409, 422, 503),
    openapi_extra=request_body(RevokeInput),
)
async def revoke_notice(
    state: StateDep, caller: Officer, notice_id: NoticeId, request: Request
) -> Notice:
    """Revoke one of this node's notices. Its history stays."""
    revocation = parse_model(RevokeInput, await json_body(request), "the revocation")
    now = state.clock()
    async with state.db.write() as session:
        row = await publishing.revoke(session, state.node, notice_id, revocation, now=now)
        await audit.record(
            session,
            actor=caller.actor,
            action="notice.revoke",
            target=named(row),
            detail={"seq": row.last_seq},
            now=now,
        )
        result = await full(state, row, session)
    state.metrics.notices_published.labels("revoked").inc()
    return result


@router.get("", response_model=NoticeList, responses=openapi_errors(401, 403, 422))
async def list_notices(
    state: StateDep,
    caller: Reader,
    origin: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")] = None,
    status: Literal["active", "review_overdue", "expired", "revoked", "invalidated"] | None = None,
    destination: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")] = None,
    control_entry: Annotated[
        str | None, Query(max_length=40, pattern=control.PATTERN, description=CONTROL_ENTRY)
    ] = None,
    party: Annotated[str | None, Query(min_length=1, max_length=300)] = None,
    regime: Annotated[str | None, Query(pattern=r"^[A-Z][A-Z0-9]{1,9}$")] = None,
    decided_from: IsoDate | None = None,
    decided_to: IsoDate | None = None,
    review_due: bool | None = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> NoticeList:
    """List notices of every origin by (notice_id, origin), oldest first (UUIDv7 ids), with
    filters and an opaque cursor."""
    now = state.clock()
    filters = queries.NoticeFilter(
        origin=origin,
        status=status,
        destination=destination,
        control_entry=control_entry,
        party=party,
        regime=regime,
        decided_from=decided_from,
        decided_to=decided_to,
        review_due=review_due,
    )
    async with state.db.write() as session:
        rows, next_cursor = await queries.list_notices(
            session,
            filters,
            today=now.date(),
            rules=state.settings.rules,
            cursor=cursor,
            limit=limit,
        )
        await audit.record(
            session,
            actor=caller.actor,
            action="notice.list",
            target=None,
            detail={"count": len(rows), "notices": [named(r) for r in rows]},
            now=now,
        )
    return NoticeList(
        items=[summary(r, now.date(), state.settings.rules) for r in rows], next_cursor=next_cursor
    )


async def _read(state: AppState, actor: str, origin: str | None, notice_id: str) -> Notice:
    now = state.clock()
    async with state.db.write() as session:
        if origin is None:
            row = await queries.get_own_notice(session, state.node.identity.node_id, notice_id)
        else:
            row = await queries.get_notice(session, origin, notice_id)
        await audit.record(
            session,
            actor=actor,
            action="notice.read",
            target=named(row),
            detail={},
            now=now,
        )
        return await full(state, row, session)


@router.get(
    "/{origin}/{notice_id:notice_id}",
    response_model=Notice,
    responses=openapi_errors(401, 403, 404, 422),
)
async def get_notice(
    state: StateDep, caller: Reader, origin: Origin, notice_id: NoticeId
) -> Notice:
    """One notice of any origin, `origin/notice_id` (the same id from two origins names two
    notices): current version, status, and every version's entry exactly as stored."""
    return await _read(state, caller.actor, origin, notice_id)


@router.get("/{notice_id}", response_model=Notice, responses=openapi_errors(401, 403, 404, 422))
async def get_own_notice(state: StateDep, caller: Reader, notice_id: NoticeId) -> Notice:
    """One of this node's own notices (the short form of `/{origin}/{notice_id}`); a
    partner's notice is read by its origin and id."""
    return await _read(state, caller.actor, None, notice_id)
