"""Reading notices: one notice with every version as stored, and filtered, cursor-paged lists."""

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from federation.storage.tables import EntryRow
from keys.canonical import canonical_bytes
from service.errors import InvalidInput, NotFound
from service.notices import control, text
from service.notices.lifecycle import REVIEW_WINDOW
from service.notices.rows import SEP, term_pattern
from service.rules.profile import RuleProfile
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


# A cursor as the schema states it: base64url without padding (docs/decisions/0004). Any
# such string is accepted: one that decodes to no position of the list starts it afresh.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]*$"
MAX_CURSOR = 500


def _encode(value: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(canonical_bytes(value)).decode("ascii").rstrip("=")


def _decode(cursor: str) -> dict[str, object] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def encode_cursor(after: str) -> str:
    """A cursor after one key (a list ordered by a single unique text column)."""
    return _encode({"v": 1, "after": after})


def decode_cursor(cursor: str) -> str | None:
    """The key a cursor points after; None (the list's start) if it names none."""
    value = _decode(cursor)
    after = None if value is None else value.get("after")
    if value is None or value.get("v") != 1 or not isinstance(after, str):
        return None
    return after


def decode_seq_cursor(cursor: str) -> int | None:
    """The record seq a cursor points after (a list ordered by an integer column)."""
    after = decode_cursor(cursor)
    return seq_of(after) if after is not None else None


def seq_of(text: str) -> int | None:
    """`text` as a seq: ASCII digits that a 63-bit column holds, else None."""
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        return None
    return int(text)


def encode_pair_cursor(first: str, second: str) -> str:
    """A cursor after one key of two text columns (a list ordered by both)."""
    return _encode({"v": 2, "after": [first, second]})


def decode_pair_cursor(cursor: str) -> tuple[str, str | None] | None:
    """The key a cursor points after; a one-column cursor (`v` 1, from before the list was
    ordered by two columns) points after every row with that first column; None (the
    list's start) if it names no key."""
    value = _decode(cursor)
    if value is None:
        return None
    after = value.get("after")
    if value.get("v") == 1 and isinstance(after, str):
        return after, None
    if (
        value.get("v") != 2
        or not isinstance(after, list)
        or len(after) != 2
        or not all(isinstance(part, str) for part in after)
    ):
        return None
    return after[0], after[1]


def after_pair(
    cursor: str | None, first: InstrumentedAttribute[str], second: InstrumentedAttribute[str]
) -> ColumnElement[bool] | None:
    """The condition for the rows after a pair cursor, in (first, second) order; None at
    the list's start."""
    after = decode_pair_cursor(cursor) if cursor else None
    if after is None:
        return None
    one, two = after
    return first > one if two is None else tuple_(first, second) > tuple_(one, two)


def _lasting(rules: RuleProfile) -> ColumnElement[bool]:
    """Notices with a regime whose denials stay in force until revoked (the rule profile).
    When unlisted regimes lapse (the profile's default): one listed as lasting is among the
    notice's terms. When they last: taking out every regime listed as lapsing leaves a term."""
    listed = rules.listed()
    if rules.default.denials == "lapse":
        codes = [code for code, r in listed.items() if r.denials == "in_force_until_revoked"]
        return or_(
            false(),
            *(NoticeRow.regime_terms.contains(term_pattern(c), autoescape=True) for c in codes),
        )
    rest: ColumnElement[str] | InstrumentedAttribute[str] = NoticeRow.regime_terms
    for code in sorted(c for c, r in listed.items() if r.denials == "lapse"):
        rest = func.replace(rest, term_pattern(code), SEP)
    return and_(rest != SEP, rest != "")


def _status_clause(status: str, today: date, rules: RuleProfile) -> ColumnElement[bool]:
    valid = NoticeRow.invalid_reason.is_(None)
    if status == "invalidated":
        return NoticeRow.invalid_reason.is_not(None)
    if status == "revoked":
        return and_(valid, NoticeRow.revoked_seq.is_not(None))
    unrevoked = and_(valid, NoticeRow.revoked_seq.is_(None))
    if status == "expired":
        return and_(unrevoked, NoticeRow.valid_until < today, ~_lasting(rules))
    if status == "review_overdue":
        return and_(unrevoked, NoticeRow.valid_until < today, _lasting(rules))
    return and_(unrevoked, NoticeRow.valid_until >= today)


def _filtered(f: NoticeFilter, today: date, rules: RuleProfile) -> Select[NoticeRow]:
    query = select(NoticeRow)
    if f.origin:
        query = query.where(NoticeRow.origin == f.origin)
    if f.status:
        query = query.where(_status_clause(f.status, today, rules))
    if f.destination:
        query = query.where(NoticeRow.destination == f.destination)
    if f.control_entry:
        try:
            entry = control.parse(f.control_entry)
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
        in_force = or_(
            _status_clause("active", today, rules), _status_clause("review_overdue", today, rules)
        )
        due = and_(in_force, NoticeRow.valid_until <= today + REVIEW_WINDOW)
        query = query.where(due if f.review_due else ~due)
    return query


async def list_notices(
    session: AsyncSession,
    f: NoticeFilter,
    *,
    today: date,
    rules: RuleProfile,
    cursor: str | None,
    limit: int,
) -> tuple[list[NoticeRow], str | None]:
    """Notices by (notice_id, origin): a total order, since two origins may use one id."""
    query = (
        _filtered(f, today, rules).order_by(NoticeRow.notice_id, NoticeRow.origin).limit(limit + 1)
    )
    after = after_pair(cursor, NoticeRow.notice_id, NoticeRow.origin)
    if after is not None:
        query = query.where(after)
    rows = list(await session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if more and rows else None
    return rows, None if last is None else encode_pair_cursor(last.notice_id, last.origin)


async def get_notice(session: AsyncSession, origin: str, notice_id: str) -> NoticeRow:
    """The notice `origin/notice_id`."""
    row = await session.get(NoticeRow, (origin, notice_id))
    if row is None:
        raise NotFound(f"no notice {origin}/{notice_id}")
    return row


async def holders(session: AsyncSession, notice_id: str) -> list[str]:
    """The origins of the notices this node holds under `notice_id` (at most a few: each
    origin makes its own ids, so more than one means an origin reused another's)."""
    found = await session.scalars(
        select(NoticeRow.origin).where(NoticeRow.notice_id == notice_id).order_by(NoticeRow.origin)
    )
    return list(found)


REFERENCE_CHUNK = 500  # references per IN (...) probe of the (origin, reference) index


@dataclass(frozen=True)
class Holder:
    """The notice of an origin that holds a reference: its id, and whether it is revoked."""

    notice_id: str
    revoked: bool


# Plain SQL: it runs in every group commit of the API, and a Core select cost ~0.35 ms to
# build and compile against ~0.1 ms for this.
_HOLDERS = sql(
    "SELECT reference, notice_id, revoked_seq FROM notices "
    "WHERE origin = :origin AND reference IN :references AND invalid_reason IS NULL "
    "ORDER BY first_seq DESC"
).bindparams(bindparam("references", expanding=True))


async def reference_holders(
    session: AsyncSession, origin: str, references: Iterable[str]
) -> dict[str, Holder]:
    """Which of `references` the notices of `origin` hold (current versions; a notice whose
    publication was invalidated holds none), each with the first such notice published.
    Index probes of (origin, reference), a chunk at a time."""
    wanted = sorted(set(references))
    held: dict[str, Holder] = {}
    for start in range(0, len(wanted), REFERENCE_CHUNK):
        rows = await session.execute(
            _HOLDERS, {"origin": origin, "references": wanted[start : start + REFERENCE_CHUNK]}
        )
        for reference, notice_id, revoked_seq in rows:  # the first published wins
            held[reference] = Holder(notice_id, revoked_seq is not None)
    return held


async def get_own_notice(session: AsyncSession, me: str, notice_id: str) -> NoticeRow:
    """One of this node's own notices (the short form of the API's paths): a partner's
    notice of that id is not found here, and the answer says where it is."""
    row = await session.get(NoticeRow, (me, notice_id))
    if row is not None:
        return row
    others = await holders(session, notice_id)
    if others:
        where = ", ".join(f"{origin}/{notice_id}" for origin in others)
        raise NotFound(f"no notice {notice_id} of this node ({me}); this node holds {where}")
    raise NotFound(f"no notice {notice_id}")


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
