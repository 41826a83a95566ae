"""Derived consultation and approval state: applying their entries, and rebuilding it.

Like the notice tables, these are an index over the log, applied by publishing, by sync and
by a rebuild. A notice is (origin, notice_id) here too: a consultation's notice is the
denier's (the other member of its two-node audience), an approval's is its `denier`'s. A
consultation is (consultation_id, requester): the requester makes the id, so another origin
that reuses it starts a consultation of its own and can neither replace nor answer this one.
An entry that makes no sense here (an answer by someone other than the denier, a
consultation id its requester already used, a body that is not what its type says) is
flagged and ignored.
"""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from federation.storage.tables import EntryRow
from service.notices.derived import NoticeEntry
from service.storage.models import (
    ApprovalRow,
    ConsultationMessageRow,
    ConsultationRow,
    NoticeRow,
)

EXCHANGE_TYPES = ("consultation.requested", "consultation.answered", "approval.notified")
POSITIONS = (
    "maintains_objection",
    "no_objection",
    "conditional_no_objection",
    "revoking_notice",
)
DENIER_STEPS = ("final", "interim", "more_information", "extension")
REQUESTER_STEPS = ("information", "withdrawn")


class _Skip(Exception):
    """This entry is flagged with the given reason and otherwise ignored."""


def _issued(entry: NoticeEntry) -> datetime:
    if entry.issued_at is None:  # every stored or sealed entry has one
        raise _Skip("entry has no issued_at")
    return entry.issued_at


def _text(body: dict[str, Any], name: str, limit: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or len(value) > limit:
        raise _Skip(f"{name} must be text of at most {limit} characters")
    return value


def _day(body: dict[str, Any], name: str) -> date:
    try:
        return date.fromisoformat(_text(body, name, 10))
    except ValueError as exc:
        raise _Skip(f"{name} is not a date") from exc


def _other(entry: NoticeEntry, what: str) -> str:
    """The one audience member besides the entry's origin (a consultation's two-node
    audience: the requester and the denier)."""
    others = [node for node in entry.audience if node != entry.origin]
    if len(others) != 1 or entry.origin not in entry.audience:
        raise _Skip(f"{what}'s audience is the requester and the denier only")
    return others[0]


def _regime(body: dict[str, Any]) -> str | None:
    regime = body.get("regime")
    if regime is None:
        return None
    if not isinstance(regime, str) or not 2 <= len(regime) <= 10:
        raise _Skip("regime must be a regime code")
    return regime


def _step(
    entry: NoticeEntry, row: ConsultationRow, step: str, body: dict[str, Any]
) -> ConsultationMessageRow:
    """One step of a thread, as kept; the consultation takes it as its latest."""
    if row.answered_seq is not None:
        raise _Skip(f"consultation {row.consultation_id} is already answered")
    if row.withdrawn_at is not None:
        raise _Skip(f"consultation {row.consultation_id} was withdrawn")
    if not (row.step == "more_information" and step in ("interim", "extension")):
        row.step = step  # a question stays open until the requester's information
    return ConsultationMessageRow(
        origin=entry.origin,
        seq=entry.seq,
        consultation_id=row.consultation_id,
        requester=row.requester,
        step=step,
        message=_text(body, "message", 20000),
        reply_due=None,
        at=_issued(entry),
    )


async def _follow_up(
    session: AsyncSession, entry: NoticeEntry, body: dict[str, Any], step: Any
) -> None:
    """The requester's step in its own consultation: information, or withdrawal."""
    consultation_id = _text(body, "consultation_id", 36)
    row = await session.get(ConsultationRow, (consultation_id, entry.origin))
    if row is None:
        raise _Skip(f"follow-up of unknown consultation {consultation_id} of {entry.origin}")
    if step not in REQUESTER_STEPS:
        raise _Skip(f"a requester's step must be one of {', '.join(REQUESTER_STEPS)}")
    if _other(entry, "a follow-up") != row.denier:
        raise _Skip(f"a follow-up of consultation {consultation_id} goes to {row.denier}")
    message = _step(entry, row, step, body)
    if step == "withdrawn":
        row.withdrawn_at = message.at
    session.add(message)


async def _requested(session: AsyncSession, entry: NoticeEntry, body: dict[str, Any]) -> None:
    if "step" in body:
        await _follow_up(session, entry, body, body["step"])
        return
    consultation_id = _text(body, "consultation_id", 36)
    if await session.get(ConsultationRow, (consultation_id, entry.origin)) is not None:
        raise _Skip(f"consultation_id {consultation_id} is already used by {entry.origin}")
    denier = _other(entry, "a consultation")
    notice_id = _text(body, "notice_id", 36)  # the denier's notice: (denier, notice_id)
    version = body.get("notice_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _Skip("notice_version must be a positive integer")
    session.add(
        ConsultationRow(
            consultation_id=consultation_id,
            requester=entry.origin,
            requested_seq=entry.seq,
            denier=denier,
            notice_id=notice_id,
            notice_version=version,
            reply_due=_day(body, "reply_due"),
            summary=_text(body, "summary", 2000),
            message=_text(body, "message", 20000),
            requested_at=_issued(entry),
            regime=_regime(body),
        )
    )


async def _answered(session: AsyncSession, entry: NoticeEntry, body: dict[str, Any]) -> None:
    consultation_id = _text(body, "consultation_id", 36)
    requester = _other(entry, "an answer")
    row = await session.get(ConsultationRow, (consultation_id, requester))
    if row is None:
        raise _Skip(f"answer to unknown consultation {consultation_id} of {requester}")
    if row.denier != entry.origin:
        raise _Skip(f"only {row.denier} may answer consultation {consultation_id}")
    step = body.get("step", "final")
    if step not in DENIER_STEPS:
        raise _Skip(f"a denier's step must be one of {', '.join(DENIER_STEPS)}")
    message = _step(entry, row, str(step), body)
    if step == "extension":
        due = _day(body, "reply_due")
        if due <= row.reply_due:
            raise _Skip(f"an extension must move reply_due past {row.reply_due.isoformat()}")
        row.reply_due = message.reply_due = due
    elif step == "final":
        position = body.get("position")
        if position not in POSITIONS:
            raise _Skip(f"position must be one of {', '.join(POSITIONS)}")
        conditional = position == "conditional_no_objection"
        row.conditions = _text(body, "conditions", 2000) if conditional else None
        row.position = str(position)
        row.answer = message.message
        row.answered_seq = entry.seq
        row.answered_at = message.at
    session.add(message)


async def _denier(
    session: AsyncSession, entry: NoticeEntry, body: dict[str, Any], notice_id: str
) -> str:
    """Whose notice an approval is about: its `denier`; for an approval written before
    approvals named it, the denier of its consultation, else the one member of its audience
    holding a notice of that id (flagged if several do: which one is not said), else the
    first member of its audience, as before."""
    others = sorted(node for node in entry.audience if node != entry.origin)
    if "denier" in body:
        denier = _text(body, "denier", 32)
        if denier not in others:
            raise _Skip(f"the denier {denier} of an approval must be in its audience")
        return denier
    consultation_id = body.get("consultation_id")
    if isinstance(consultation_id, str):
        asked = await session.get(ConsultationRow, (consultation_id, entry.origin))
        if asked is not None and asked.notice_id == notice_id:
            return asked.denier
    holders = list(
        await session.scalars(
            select(NoticeRow.origin).where(
                NoticeRow.notice_id == notice_id, NoticeRow.origin.in_(others)
            )
        )
    )
    if len(holders) == 1:
        return str(holders[0])
    if len(holders) > 1:
        raise _Skip(
            f"approval of notice {notice_id} names no denier, and {', '.join(sorted(holders))} "
            "each hold a notice of that id"
        )
    if not others:
        raise _Skip(f"approval of unknown notice {notice_id} names no denier")
    return others[0]


async def _approval(session: AsyncSession, entry: NoticeEntry, body: dict[str, Any]) -> None:
    notice_id = _text(body, "notice_id", 36)
    consultation_id = body.get("consultation_id")
    if consultation_id is not None and not isinstance(consultation_id, str):
        raise _Skip("consultation_id must be text or null")
    denier = await _denier(session, entry, body, notice_id)
    session.add(
        ApprovalRow(
            origin=entry.origin,
            seq=entry.seq,
            notice_id=notice_id,
            denier=denier,
            consultation_id=consultation_id,
            licence_ref=_text(body, "licence_ref", 100),
            decided_on=_day(body, "decided_on"),
            explanation=_text(body, "explanation", 20000),
            notified_at=_issued(entry),
        )
    )


_APPLY = {
    "consultation.requested": _requested,
    "consultation.answered": _answered,
    "approval.notified": _approval,
}


async def apply_exchange(session: AsyncSession, entries: Sequence[NoticeEntry]) -> list[str | None]:
    """Apply the consultation and approval entries among `entries` (others are passed over),
    in order; for each of them, None or the reason it was flagged."""
    problems: list[str | None] = []
    for entry in entries:
        if entry.type not in EXCHANGE_TYPES or entry.body is None or entry.invalid_reason:
            continue
        problem = None
        try:
            body = orjson.loads(entry.body)
            if not isinstance(body, dict):
                raise _Skip(f"body of {entry.type} is not an object")
            await _APPLY[entry.type](session, entry, body)
            await session.flush()
        except _Skip as skip:
            problem = str(skip)
        except ValueError:
            problem = f"body of {entry.type} is not JSON"
        if problem is not None:
            await session.execute(
                update(EntryRow)
                .where(EntryRow.origin == entry.origin, EntryRow.seq == entry.seq)
                .values(flagged=True, flag_reason=problem)
            )
        problems.append(problem)
    return problems


async def screening_links(session: AsyncSession) -> dict[tuple[str, str], str]:
    """The local link from each consultation to the screening it came from (not in any
    entry: a rebuild keeps it)."""
    return {
        (consultation_id, requester): str(screening_id)
        for consultation_id, requester, screening_id in await session.execute(
            select(
                ConsultationRow.consultation_id,
                ConsultationRow.requester,
                ConsultationRow.screening_id,
            ).where(ConsultationRow.screening_id.is_not(None))
        )
    }


async def clear_exchange(session: AsyncSession) -> None:
    """Drop consultations and approvals and the flags of their entries (a rebuild starts
    here: `service.derivation.rebuild_all`)."""
    await session.execute(delete(ConsultationRow))
    await session.execute(delete(ConsultationMessageRow))
    await session.execute(delete(ApprovalRow))
    await session.execute(
        update(EntryRow)
        .where(EntryRow.type.in_(EXCHANGE_TYPES))
        .values(flagged=False, flag_reason=None)
    )
    await session.flush()


async def relink(session: AsyncSession, links: dict[tuple[str, str], str]) -> None:
    for key, screening_id in links.items():
        row = await session.get(ConsultationRow, key)
        if row is not None:
            row.screening_id = screening_id
