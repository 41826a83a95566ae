"""Reading notices: one notice with every version as stored, and filtered, cursor-paged lists."""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.tables import EntryRow
from keys.canonical import canonical_bytes
from service.errors import InvalidInput, NotFound
from service.notices import control, text
from service.notices.lifecycle import REVIEW_WINDOW
from service.notices.rows import SEP, term_pattern
from service.storage.models import NoticeRow, NoticeVersionRow


@dataclass(frozen=True)
class NoticeFilter:
    origin: str | None = None
    status: str | None = None
    destination: str | None = None
    control_entry: str | None = None
    party: str | None = None
    regime: str | None = None
    decided_from: date | None = None
    decided_to: date | None = None
    review_due: bool | None = None


def encode_cursor(notice_id: str) -> str:
    raw = canonical_bytes({"v": 1, "after": notice_id})
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
        after = value["after"]
        if value.get("v") != 1 or not isinstance(after, str):
            raise ValueError
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput(
            "invalid cursor", [{"field": "cursor", "message": "not a cursor from this API"}]
        ) from exc
    return after


def _status_clause(status: str, today: date) -> ColumnElement[bool]:
    valid = NoticeRow.invalid_reason.is_(None)
    if status == "invalidated":
        return NoticeRow.invalid_reason.is_not(None)
    if status == "revoked":
        return and_(valid, NoticeRow.revoked_seq.is_not(None))
    if status == "expired":
        return and_(valid, NoticeRow.revoked_seq.is_(None), NoticeRow.valid_until < today)
    return and_(valid, NoticeRow.revoked_seq.is_(None), NoticeRow.valid_until >= today)


def _filtered(f: NoticeFilter, today: date) -> Select[NoticeRow]:
    query = select(NoticeRow)
    if f.origin:
        query = query.where(NoticeRow.origin == f.origin)
    if f.status:
        query = query.where(_status_clause(f.status, today))
    if f.destination:
        query = query.where(NoticeRow.destination == f.destination)
    if f.control_entry:
        try:
            entry = control.normalise(f.control_entry)
        except control.ControlEntryError as exc:
            raise InvalidInput(
                "invalid control_entry", [{"field": "control_entry", "message": str(exc)}]
            ) from exc
        query = query.where(  # the entry itself, or any entry under it
            or_(
                NoticeRow.control_terms.contains(term_pattern(entry), autoescape=True),
                NoticeRow.control_terms.contains(SEP + entry + ".", autoescape=True),
            )
        )
    if f.party:
        needle = text.fold(f.party)  # part of one name: it cannot span a separator
        query = query.where(
            NoticeRow.party_terms.contains(needle, autoescape=True)
            if SEP not in needle
            else false()
        )
    if f.regime:
        query = query.where(
            NoticeRow.regime_terms.contains(term_pattern(f.regime), autoescape=True)
        )
    if f.decided_from:
        query = query.where(NoticeRow.decided_on >= f.decided_from)
    if f.decided_to:
        query = query.where(NoticeRow.decided_on <= f.decided_to)
    if f.review_due is not None:
        due = and_(_status_clause("active", today), NoticeRow.valid_until <= today + REVIEW_WINDOW)
        query = query.where(due if f.review_due else ~due)
    return query


async def list_notices(
    session: AsyncSession, f: NoticeFilter, *, today: date, cursor: str | None, limit: int
) -> tuple[list[NoticeRow], str | None]:
    query = _filtered(f, today).order_by(NoticeRow.notice_id).limit(limit + 1)
    if cursor:
        query = query.where(NoticeRow.notice_id > decode_cursor(cursor))
    rows = list(await session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].notice_id) if more and rows else None


async def get_notice(session: AsyncSession, notice_id: str) -> NoticeRow:
    row = await session.scalar(select(NoticeRow).where(NoticeRow.notice_id == notice_id))
    if row is None:
        raise NotFound(f"no notice {notice_id}")
    return row


async def versions(
    session: AsyncSession, row: NoticeRow
) -> list[tuple[NoticeVersionRow, EntryRow]]:
    result = await session.execute(
        select(NoticeVersionRow, EntryRow)
        .join(
            EntryRow,
            and_(EntryRow.origin == NoticeVersionRow.origin, EntryRow.seq == NoticeVersionRow.seq),
        )
        .where(NoticeVersionRow.origin == row.origin, NoticeVersionRow.notice_id == row.notice_id)
        .order_by(NoticeVersionRow.seq)
    )
    return [(v, e) for v, e in result]
