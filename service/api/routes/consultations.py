"""Consultation and approval-notification routes (DESIGN §7)."""

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from service import audit
from service.api.body import json_body, parse_model, request_body
from service.api.deps import Officer, StateDep
from service.api.idempotency import Idempotent
from service.api.params import Cursor
from service.api.problems import openapi_errors
from service.api.schemas import (
    Approval,
    ApprovalDue,
    ApprovalList,
    Consultation,
    ConsultationList,
    ConsultationStep,
    iso,
)
from service.consultations import filing, queries
from service.consultations.schema import (
    AnswerInput,
    ApprovalInput,
    ConsultationInput,
    ExtensionInput,
    FollowUpInput,
)
from service.notices.schema import UUID_PATTERN
from service.storage.models import ApprovalRow, ConsultationMessageRow, ConsultationRow

router = APIRouter(tags=["consultations"], route_class=Idempotent)

Uuid = Annotated[str, Path(pattern=UUID_PATTERN)]
Limit = Annotated[int, Query(ge=1, le=200)]


def consultation_view(
    row: ConsultationRow,
    me: str,
    today: date,
    thread: Sequence[ConsultationMessageRow] = (),
) -> Consultation:
    return Consultation(
        consultation_id=row.consultation_id,
        direction="out" if row.requester == me else "in",
        requester=row.requester,
        denier=row.denier,
        notice_id=row.notice_id,
        notice_version=row.notice_version,
        reply_due=row.reply_due.isoformat(),
        overdue=queries.overdue(row, today),
        summary=row.summary,
        message=row.message,
        requested_at=iso(row.requested_at) or "",
        requested_seq=row.requested_seq,
        position=row.position,
        answer=row.answer,
        answered_at=iso(row.answered_at),
        screening_id=row.screening_id,
        regime=row.regime,
        status=queries.status(row),
        conditions=row.conditions,
        thread=[
            ConsultationStep(
                by=step.origin,
                seq=step.seq,
                step=step.step,
                message=step.message,
                reply_due=step.reply_due.isoformat() if step.reply_due else None,
                at=iso(step.at) or "",
            )
            for step in thread
        ],
    )


async def _view(session: AsyncSession, row: ConsultationRow, me: str, today: date) -> Consultation:
    found = await queries.threads(session, [row])
    return consultation_view(row, me, today, found[(row.consultation_id, row.requester)])


def approval_view(row: ApprovalRow) -> Approval:
    return Approval(
        origin=row.origin,
        seq=row.seq,
        notice_id=row.notice_id,
        denier=row.denier,
        consultation_id=row.consultation_id,
        licence_ref=row.licence_ref,
        decided_on=row.decided_on.isoformat(),
        explanation=row.explanation,
        notified_at=iso(row.notified_at) or "",
    )


@router.post(
    "/api/v1/consultations",
    status_code=201,
    response_model=Consultation,
    responses=openapi_errors(401, 403, 404, 409, 422, 503),
    openapi_extra=request_body(ConsultationInput),
)
async def request_consultation(state: StateDep, caller: Officer, request: Request) -> Consultation:
    """Consult the denying node about a notice a screening matched: a signed
    `consultation.requested` entry whose audience is this node and the denier only."""
    ask = parse_model(ConsultationInput, await json_body(request), "the consultation request")
    now = state.clock()
    me = state.node.identity.node_id
    async with state.db.write() as session:
        row = await filing.request(session, state.node, state.settings, ask, now=now)
        await audit.record(
            session,
            actor=caller.actor,
            action="consultation.request",
            target=row.consultation_id,
            detail={"notice": f"{row.denier}/{row.notice_id}", "seq": row.requested_seq},
            now=now,
        )
        return await _view(session, row, me, now.date())


@router.post(
    "/api/v1/consultations/{consultation_id}/answer",
    response_model=Consultation,
    responses=openapi_errors(401, 403, 404, 409, 422, 503),
    openapi_extra=request_body(AnswerInput),
)
async def answer_consultation(
    state: StateDep, caller: Officer, consultation_id: Uuid, request: Request
) -> Consultation:
    """Answer a consultation this node received, as the denier: `consultation.answered`."""
    reply = parse_model(AnswerInput, await json_body(request), "the answer")
    now = state.clock()
    me = state.node.identity.node_id
    async with state.db.write() as session:
        row = await filing.answer(session, state.node, consultation_id, reply, now=now)
        await audit.record(
            session,
            actor=caller.actor,
            action="consultation.answer",
            target=consultation_id,
            detail={
                "requester": row.requester,
                "step": reply.step,
                "position": reply.position,
            },
            now=now,
        )
        return await _view(session, row, me, now.date())


@router.post(
    "/api/v1/consultations/{consultation_id}/extend",
    response_model=Consultation,
    responses=openapi_errors(401, 403, 404, 409, 422, 503),
    openapi_extra=request_body(ExtensionInput),
)
async def extend_consultation(
    state: StateDep, caller: Officer, consultation_id: Uuid, request: Request
) -> Consultation:
    """As the denier, move a consultation's reply window to a later `reply_due`."""
    extension = parse_model(ExtensionInput, await json_body(request), "the extension")
    now = state.clock()
    me = state.node.identity.node_id
    async with state.db.write() as session:
        row = await filing.extend(session, state.node, consultation_id, extension, now=now)
        await audit.record(
            session,
            actor=caller.actor,
            action="consultation.extend",
            target=consultation_id,
            detail={"requester": row.requester, "reply_due": extension.reply_due},
            now=now,
        )
        return await _view(session, row, me, now.date())


@router.post(
    "/api/v1/consultations/{consultation_id}/follow-up",
    response_model=Consultation,
    responses=openapi_errors(401, 403, 404, 409, 422, 503),
    openapi_extra=request_body(FollowUpInput),
)
async def follow_up_consultation(
    state: StateDep, caller: Officer, consultation_id: Uuid, request: Request
) -> Consultation:
    """The requester's step in its consultation's thread: `information` for the denier's
    questions, or `withdrawn` (the request no longer counts as asked)."""
    step = parse_model(FollowUpInput, await json_body(request), "the follow-up")
    now = state.clock()
    me = state.node.identity.node_id
    async with state.db.write() as session:
        row = await filing.follow_up(session, state.node, consultation_id, step, now=now)
        await audit.record(
            session,
            actor=caller.actor,
            action="consultation.follow_up",
            target=consultation_id,
            detail={"step": step.step},
            now=now,
        )
        return await _view(session, row, me, now.date())


@router.get(
    "/api/v1/consultations",
    response_model=ConsultationList,
    responses=openapi_errors(401, 403, 422),
)
async def list_consultations(
    state: StateDep,
    caller: Officer,
    direction: Literal["in", "out"] | None = None,
    overdue: bool | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ConsultationList:
    """Consultations this node asked (`out`) or must answer (`in`); `overdue` ones are
    unanswered past their reply date."""
    now = state.clock()
    me = state.node.identity.node_id
    async with state.db.write() as session:
        rows, next_cursor = await queries.list_consultations(
            session,
            me=me,
            direction=direction,
            is_overdue=overdue,
            today=now.date(),
            cursor=cursor,
            limit=limit,
        )
        await audit.record(
            session,
            actor=caller.actor,
            action="consultation.list",
            target=None,
            detail={"count": len(rows)},
            now=now,
        )
        found = await queries.threads(session, rows)
    return ConsultationList(
        items=[
            consultation_view(r, me, now.date(), found[(r.consultation_id, r.requester)])
            for r in rows
        ],
        next_cursor=next_cursor,
    )


@router.post(
    "/api/v1/approvals",
    status_code=201,
    response_model=Approval,
    responses=openapi_errors(401, 403, 404, 409, 422, 503),
    openapi_extra=request_body(ApprovalInput),
)
async def notify_approval(state: StateDep, caller: Officer, request: Request) -> Approval:
    """File the approval notification owed when this node approves a transaction a partner
    denied: `approval.notified` to the denier (and to the regime's members where its rules
    say so)."""
    filed = parse_model(ApprovalInput, await json_body(request), "the approval notification")
    now = state.clock()
    async with state.db.write() as session:
        row = await filing.approve(session, state.node, state.settings, filed, now=now)
        await audit.record(
            session,
            actor=caller.actor,
            action="approval.notify",
            target=f"{row.denier}/{row.notice_id}",
            detail={"licence_ref": row.licence_ref, "seq": row.seq},
            now=now,
        )
        return approval_view(row)


@router.get(
    "/api/v1/approvals", response_model=ApprovalList, responses=openapi_errors(401, 403, 422)
)
async def list_approvals(
    state: StateDep, caller: Officer, cursor: Cursor = None, limit: Limit = 50
) -> ApprovalList:
    """Approval notifications filed or received, and those this node still owes (with the
    date each is due by its regime's deadline)."""
    now = state.clock()
    me = state.node.identity.node_id
    async with state.db.read() as session:
        rows, next_cursor = await queries.list_approvals(session, cursor=cursor, limit=limit)
        due = [] if cursor else await queries.approvals_due(session, state.settings, me)
    return ApprovalList(
        items=[approval_view(r) for r in rows],
        next_cursor=next_cursor,
        due=[
            ApprovalDue(
                screening_id=d.screening_id,
                licence_ref=d.licence_ref,
                decided_on=d.decided_on.isoformat(),
                notice_id=d.notice_id,
                denier=d.denier,
                due_by=d.due_by.isoformat(),
                overdue=now.date() > d.due_by,
            )
            for d in due
        ],
    )
