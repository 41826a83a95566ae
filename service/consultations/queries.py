"""Reading consultations (by direction, overdue) and approval notifications, filed and due."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from service.notices.queries import (
    after_pair,
    decode_cursor,
    encode_cursor,
    encode_pair_cursor,
    seq_of,
)
from service.settings import Settings
from service.storage.models import (
    ApprovalRow,
    ConsultationMessageRow,
    ConsultationRow,
    DeterminationRow,
    NoticeRow,
    ScreeningRow,
)


def overdue(row: ConsultationRow, today: date) -> bool:
    return row.answered_seq is None and row.withdrawn_at is None and today > row.reply_due


def status(row: ConsultationRow) -> str:
    """open, information_requested (the denier's last step asked a question), answered or
    withdrawn."""
    if row.withdrawn_at is not None:
        return "withdrawn"
    if row.answered_seq is not None:
        return "answered"
    return "information_requested" if row.step == "more_information" else "open"


Key = tuple[str, str]  # (consultation_id, requester)


async def threads(
    session: AsyncSession, rows: Sequence[ConsultationRow]
) -> dict[Key, list[ConsultationMessageRow]]:
    """The steps of each consultation's thread, in the order they were taken."""
    keys = {(row.consultation_id, row.requester) for row in rows}
    found: dict[Key, list[ConsultationMessageRow]] = {key: [] for key in keys}
    if not keys:
        return found
    steps = await session.scalars(
        select(ConsultationMessageRow)
        .where(ConsultationMessageRow.consultation_id.in_({c for c, _ in keys}))
        .order_by(
            ConsultationMessageRow.at, ConsultationMessageRow.origin, ConsultationMessageRow.seq
        )
    )
    for step in steps:
        key = (step.consultation_id, step.requester)
        if key in found:
            found[key].append(step)
    return found


async def list_consultations(
    session: AsyncSession,
    *,
    me: str,
    direction: str | None,
    is_overdue: bool | None,
    today: date,
    cursor: str | None,
    limit: int,
) -> tuple[list[ConsultationRow], str | None]:
    """Consultations this node asked (`out`) or was asked (`in`), oldest first (by id, then
    requester: two requesters may use one id)."""
    query = select(ConsultationRow).order_by(
        ConsultationRow.consultation_id, ConsultationRow.requester
    )
    if direction == "out":
        query = query.where(ConsultationRow.requester == me)
    elif direction == "in":
        query = query.where(ConsultationRow.denier == me)
    if is_overdue is not None:
        late = ConsultationRow.answered_seq.is_(None) & (ConsultationRow.reply_due < today)
        query = query.where(late if is_overdue else ~late)
    after = after_pair(cursor, ConsultationRow.consultation_id, ConsultationRow.requester)
    if after is not None:
        query = query.where(after)
    rows = list(await session.scalars(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if more and rows else None
    return rows, None if last is None else encode_pair_cursor(last.consultation_id, last.requester)


@dataclass(frozen=True)
class Due:
    """An approval notification owed: a licence approved despite a partner's denial."""

    screening_id: str
    licence_ref: str
    decided_on: date
    notice_id: str
    denier: str
    due_by: date


async def list_approvals(
    session: AsyncSession, *, cursor: str | None, limit: int
) -> tuple[list[ApprovalRow], str | None]:
    """Approval notifications this node filed or received, by origin and seq."""
    query = select(ApprovalRow).order_by(ApprovalRow.origin, ApprovalRow.seq)
    origin, _, seq = ((decode_cursor(cursor) if cursor else None) or "").rpartition(":")
    after = seq_of(seq)
    if after is not None:  # a cursor that names no approval starts the list
        query = query.where(tuple_(ApprovalRow.origin, ApprovalRow.seq) > tuple_(origin, after))
    rows = list(await session.scalars(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    last = f"{rows[-1].origin}:{rows[-1].seq}" if rows else ""
    return rows, encode_cursor(last) if more and rows else None


async def approvals_due(session: AsyncSession, settings: Settings, me: str) -> list[Due]:
    """For each screening closed as approved: every partner notice the officer determined an
    essentially identical transaction (decision 0034) whose regimes set a notification
    deadline in the rule profile, not yet notified by this node."""
    notified = {
        (denier, notice_id)
        for denier, notice_id in await session.execute(
            select(ApprovalRow.denier, ApprovalRow.notice_id).where(ApprovalRow.origin == me)
        )
    }
    rows = await session.execute(
        select(ScreeningRow, NoticeRow)
        .join(DeterminationRow, DeterminationRow.screening_id == ScreeningRow.screening_id)
        .join(
            NoticeRow,
            (NoticeRow.origin == DeterminationRow.origin)
            & (NoticeRow.notice_id == DeterminationRow.notice_id),
        )
        .where(
            ScreeningRow.outcome == "approved",
            DeterminationRow.identical.is_(True),
            DeterminationRow.origin != me,
        )
    )
    due: list[Due] = []
    for screening, notice in rows:
        days = settings.rules.approval_deadline_days(notice.regimes)
        notified_already = (notice.origin, notice.notice_id) in notified
        if days is None or notified_already or screening.decided_on is None:
            continue
        due.append(
            Due(
                screening_id=screening.screening_id,
                licence_ref=screening.licence_ref or "",
                decided_on=screening.decided_on,
                notice_id=notice.notice_id,
                denier=notice.origin,
                due_by=screening.decided_on + timedelta(days=days),
            )
        )
    return sorted(due, key=lambda d: (d.due_by, d.notice_id, d.denier))
