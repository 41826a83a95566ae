"""Filing consultation requests, answers and approval notifications as entries of this
node's log: checked against what this node holds, sealed, appended and applied in the
caller's write transaction.

A notice is (origin, notice_id): a request names the notice's `origin` (the denier) beside
its id, and may leave it out while this node holds that id from one origin only; a reused id
makes the request ambiguous, and it is refused naming `origin` (decision 0017). Likewise a
consultation is (consultation_id, requester), and an answer names the `requester` when two
requesters used one id."""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import uuid_utils.compat as uuid_compat
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core.entry import Draft
from keys.canonical import canonical_bytes
from service.consultations.schema import (
    AnswerInput,
    ApprovalInput,
    ConsultationInput,
    ExtensionInput,
    FollowUpInput,
)
from service.derivation import derive
from service.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from service.node import Node
from service.notices import queries
from service.notices.publishing import append_drafts
from service.settings import Settings
from service.storage.models import (
    ApprovalRow,
    ConsultationRow,
    NoticeRow,
    ScreeningMatchRow,
    ScreeningRow,
)


def reply_window(settings: Settings, regimes: Sequence[str]) -> int:
    """Days the denier has to answer: the longest window of the notice's regimes."""
    return settings.rules.reply_days(regimes)


async def _file(
    session: AsyncSession,
    node: Node,
    kind: str,
    body: dict[str, Any],
    audience: set[str],
    now: datetime,
) -> None:
    draft = Draft(kind, canonical_bytes(body), tuple(sorted(audience)), now)
    sealed = await append_drafts(session, node, [draft], now=now)
    [problem] = (await derive(session, sealed)).exchange
    if problem is not None:  # checked above; a failure here is a bug, and rolls back
        raise Conflict(problem)


def _ambiguous(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"name the {field}", [{"field": field, "message": message}])


async def _partner_notice(
    session: AsyncSession, node: Node, origin: str | None, notice_id: str
) -> NoticeRow:
    """The notice `origin/notice_id`; without `origin`, the one notice of that id this node
    holds (422 naming `origin` if origins reused it)."""
    if origin is None:
        origins = await queries.holders(session, notice_id)
        if len(origins) > 1:
            raise _ambiguous(
                "origin",
                f"notice_id {notice_id} is used by {', '.join(origins)}: say whose notice",
            )
        origin = origins[0] if origins else None
    notice = None if origin is None else await session.get(NoticeRow, (origin, notice_id))
    if notice is None:
        raise NotFound(f"no notice {origin + '/' if origin else ''}{notice_id}")
    if notice.origin == node.identity.node_id:
        raise Conflict(f"notice {notice_id} is this node's own denial")
    return notice


async def request(
    session: AsyncSession, node: Node, settings: Settings, ask: ConsultationInput, *, now: datetime
) -> ConsultationRow:
    """`consultation.requested` to the denier of a notice that a screening matched."""
    screening = await session.get(ScreeningRow, ask.screening_id)
    if screening is None:
        raise NotFound(f"no screening {ask.screening_id}")
    notice = await _partner_notice(session, node, ask.origin, ask.notice_id)
    match = await session.get(
        ScreeningMatchRow, (ask.screening_id, notice.origin, notice.notice_id)
    )
    if match is None or match.verdict == "withdrawn":
        raise Conflict(
            f"notice {notice.origin}/{notice.notice_id} is not a current match of screening "
            f"{ask.screening_id}"
        )
    if notice.revoked_seq is not None or notice.invalid_reason is not None:
        raise Conflict(f"notice {notice.origin}/{notice.notice_id} is no longer in force")
    regime = _regime_of(settings, ask.regime, notice.regimes)
    due = (
        date.fromisoformat(ask.reply_due)
        if ask.reply_due
        else now.date() + timedelta(days=reply_window(settings, [regime]))
    )
    if due <= now.date():
        raise InvalidInput(
            "reply_due must be in the future",
            [{"field": "reply_due", "message": f"{due} is not after {now.date()}"}],
        )
    consultation_id = str(uuid_compat.uuid7())
    body = {
        "consultation_id": consultation_id,
        "notice_id": notice.notice_id,
        "notice_version": notice.version,
        "reply_due": due.isoformat(),
        "summary": ask.summary,
        "message": ask.message,
        "regime": regime,
    }
    await _file(
        session, node, "consultation.requested", body, {node.identity.node_id, notice.origin}, now
    )
    row = await session.get(ConsultationRow, (consultation_id, node.identity.node_id))
    assert row is not None
    row.screening_id = screening.screening_id
    return row


def _regime_of(settings: Settings, asked: str | None, regimes: Sequence[str]) -> str:
    """The regime a consultation is under: the one asked for, which must be one of the
    notice's; else the notice's regime requiring a consultation with the longest reply
    window; else its regime with the longest window."""
    if asked is not None:
        if asked not in regimes:
            raise InvalidInput(
                "invalid regime",
                [
                    {
                        "field": "regime",
                        "message": f"not a regime of the notice ({', '.join(regimes)})",
                    }
                ],
            )
        return asked
    rules = settings.rules
    candidates = rules.consultation_required(regimes) or list(regimes)
    return max(candidates, key=lambda r: (rules.regime(r).consultation.reply_days, r))


async def follow_up(
    session: AsyncSession, node: Node, consultation_id: str, step: FollowUpInput, *, now: datetime
) -> ConsultationRow:
    """The requester's information for the denier, or its withdrawal of the request."""
    row = await session.get(ConsultationRow, (consultation_id, node.identity.node_id))
    if row is None:
        raise NotFound(f"no consultation {consultation_id} asked by this node")
    _still_open(row)
    body = {"consultation_id": consultation_id, "step": step.step, "message": step.message}
    await _file(session, node, "consultation.requested", body, {row.denier, row.requester}, now)
    await session.refresh(row)
    return row


async def extend(
    session: AsyncSession,
    node: Node,
    consultation_id: str,
    extension: ExtensionInput,
    *,
    now: datetime,
) -> ConsultationRow:
    """The denier moves the reply window to a later date (`consultation.answered`, step
    `extension`)."""
    row = await _to_answer(session, node.identity.node_id, consultation_id, extension.requester)
    _still_open(row)
    if date.fromisoformat(extension.reply_due) <= row.reply_due:
        raise InvalidInput(
            "invalid extension",
            [{"field": "reply_due", "message": f"must be after {row.reply_due.isoformat()}"}],
        )
    body = {
        "consultation_id": consultation_id,
        "step": "extension",
        "reply_due": extension.reply_due,
        "message": extension.message,
    }
    await _file(session, node, "consultation.answered", body, {row.denier, row.requester}, now)
    await session.refresh(row)
    return row


def _still_open(row: ConsultationRow) -> None:
    if row.answered_seq is not None:
        raise Conflict(f"consultation {row.consultation_id} is already answered ({row.position})")
    if row.withdrawn_at is not None:
        raise Conflict(f"consultation {row.consultation_id} was withdrawn")


async def _to_answer(
    session: AsyncSession, me: str, consultation_id: str, requester: str | None
) -> ConsultationRow:
    """The consultation this node, its denier, is asked to answer."""
    query = select(ConsultationRow).where(ConsultationRow.consultation_id == consultation_id)
    if requester is not None:
        query = query.where(ConsultationRow.requester == requester)
    rows = list(await session.scalars(query.order_by(ConsultationRow.requester)))
    if not rows:
        raise NotFound(f"no consultation {consultation_id}")
    mine = [row for row in rows if row.denier == me]
    if not mine:
        raise PermissionDenied(f"consultation {consultation_id} is answered by {rows[0].denier}")
    if len(mine) > 1:
        requesters = ", ".join(row.requester for row in mine)
        raise _ambiguous(
            "requester", f"consultation_id {consultation_id} is used by {requesters}: say whose"
        )
    return mine[0]


async def answer(
    session: AsyncSession, node: Node, consultation_id: str, reply: AnswerInput, *, now: datetime
) -> ConsultationRow:
    """`consultation.answered` by this node, the denier, to the requester."""
    row = await _to_answer(session, node.identity.node_id, consultation_id, reply.requester)
    _still_open(row)
    body: dict[str, Any] = {"consultation_id": consultation_id, "message": reply.message}
    if reply.step == "final":  # as before threads: no `step`, a position
        body["position"] = reply.position
        if reply.conditions is not None:
            body["conditions"] = reply.conditions
    else:
        body["step"] = reply.step
    await _file(session, node, "consultation.answered", body, {row.denier, row.requester}, now)
    await session.refresh(row)
    return row


async def approve(
    session: AsyncSession, node: Node, settings: Settings, filed: ApprovalInput, *, now: datetime
) -> ApprovalRow:
    """`approval.notified`: to the denier, and to every member of the notice's audience when
    one of its regimes' rules says so (DESIGN §7)."""
    notice = await _partner_notice(session, node, filed.origin, filed.notice_id)
    me = node.identity.node_id
    if filed.consultation_id is not None:
        consultation = await session.get(ConsultationRow, (filed.consultation_id, me))
        if consultation is None:
            raise NotFound(f"no consultation {filed.consultation_id} by this node")
        if (consultation.denier, consultation.notice_id) != (notice.origin, notice.notice_id):
            raise Conflict(f"consultation {filed.consultation_id} is about another notice")
    audience = {me, notice.origin}
    if settings.rules.approval_to_members(notice.regimes):
        audience |= set(notice.audience)
    body = {
        "notice_id": notice.notice_id,
        "denier": notice.origin,  # the audience may hold others who used that id
        "consultation_id": filed.consultation_id,
        "licence_ref": filed.licence_ref,
        "decided_on": filed.decided_on,
        "explanation": filed.explanation,
    }
    await _file(session, node, "approval.notified", body, audience, now)
    row = await session.scalar(
        select(ApprovalRow)
        .where(ApprovalRow.origin == me)
        .order_by(ApprovalRow.seq.desc())
        .limit(1)
    )
    assert row is not None
    return row
