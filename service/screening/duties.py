"""What a screening obliges the officer to do before approving (decision 0034).

An officer records a determination for a match: is the application an essentially identical
transaction to the partner's denial, and why. A determination of "identical", not a score,
creates the duties, each from the rule profile of the notice's regimes:

* a consultation of the denier, where a regime requires one (EU dual-use Art. 16(5), the AG,
  NSG and MTCR guidelines): approving is refused until the consultation is answered or its
  reply window has passed unanswered;
* an approval notification, to the denier or to every member of the notice's audience, by
  the regime's deadline if it sets one.

Before a screening can be closed as approved, every current `consult` match needs a
determination of the version it now shows.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import Conflict, NotFound
from service.rules.profile import RuleProfile
from service.storage.models import (
    ConsultationRow,
    DeterminationRow,
    NoticeRow,
    ScreeningMatchRow,
    ScreeningRow,
)


@dataclass(frozen=True)
class Duty:
    """The duties one "identical" determination creates."""

    origin: str
    notice_id: str
    consult_under: list[str]  # regimes whose rules require the consultation
    consultation: str  # not_required | missing | awaiting_reply | answered | window_passed
    consultation_id: str | None
    reply_due: date | None
    notify: str  # denier | members
    notify_within_days: int | None

    @property
    def blocks_approval(self) -> bool:
        return self.consultation in {"missing", "awaiting_reply"}

    def to_json(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "notice_id": self.notice_id,
            "consultation": {
                "required_by": self.consult_under,
                "status": self.consultation,
                "consultation_id": self.consultation_id,
                "reply_due": self.reply_due.isoformat() if self.reply_due else None,
            },
            "approval_notification": {
                "audience": self.notify,
                "within_days": self.notify_within_days,
            },
            "blocks_approval": self.blocks_approval,
        }


@dataclass
class Duties:
    """A screening's determinations turned into what is owed, and what stops approval."""

    duties: list[Duty] = field(default_factory=list)
    undetermined: list[tuple[str, str]] = field(default_factory=list)  # consult matches

    def obstacles(self) -> list[str]:
        """Why the screening cannot be closed as approved, in words; empty when it can."""
        out = [
            f"{origin}/{notice_id}: no determination of the version it now shows"
            for origin, notice_id in self.undetermined
        ]
        for duty in self.duties:
            where = f"{duty.origin}/{duty.notice_id}"
            regimes = ", ".join(duty.consult_under)
            if duty.consultation == "missing":
                out.append(f"{where}: essentially identical, and {regimes} require consulting it")
            elif duty.consultation == "awaiting_reply":
                assert duty.reply_due is not None
                out.append(
                    f"{where}: consultation {duty.consultation_id} awaits its reply until "
                    f"{duty.reply_due.isoformat()}"
                )
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "duties": [duty.to_json() for duty in self.duties],
            "undetermined": [
                {"origin": origin, "notice_id": notice_id}
                for origin, notice_id in self.undetermined
            ],
            "approval_blocked_by": self.obstacles(),
        }


async def determine(
    session: AsyncSession,
    screening_id: str,
    *,
    origin: str,
    notice_id: str,
    identical: bool,
    reasons: str,
    actor: str,
    now: datetime,
) -> DeterminationRow:
    """Record (or replace, while the screening is open) the officer's determination on one
    of its current matches."""
    screening = await session.get(ScreeningRow, screening_id)
    if screening is None:
        raise NotFound(f"no screening {screening_id}")
    if screening.status != "open":
        raise Conflict(f"screening {screening_id} is closed ({screening.outcome})")
    match = await session.get(ScreeningMatchRow, (screening_id, origin, notice_id))
    if match is None or match.verdict == "withdrawn":
        raise NotFound(f"screening {screening_id} has no current match {origin}/{notice_id}")
    row = await session.get(DeterminationRow, (screening_id, origin, notice_id))
    if row is None:
        row = DeterminationRow(screening_id=screening_id, origin=origin, notice_id=notice_id)
        session.add(row)
    row.notice_version, row.identical, row.reasons = match.version, identical, reasons
    row.decided_by, row.decided_at = actor, now
    await session.flush()
    return row


async def determinations(session: AsyncSession, screening_id: str) -> list[DeterminationRow]:
    rows = await session.scalars(
        select(DeterminationRow)
        .where(DeterminationRow.screening_id == screening_id)
        .order_by(DeterminationRow.origin, DeterminationRow.notice_id)
    )
    return list(rows)


async def duties_of(
    session: AsyncSession, screening_id: str, *, rules: RuleProfile, today: date
) -> Duties:
    """The screening's duties under `rules` on `today`."""
    matches = {
        (m.origin, m.notice_id): m
        for m in await session.scalars(
            select(ScreeningMatchRow).where(ScreeningMatchRow.screening_id == screening_id)
        )
    }
    found = {(d.origin, d.notice_id): d for d in await determinations(session, screening_id)}
    out = Duties()
    for key, match in sorted(matches.items()):
        determination = found.get(key)
        current = determination is not None and determination.notice_version == match.version
        if match.verdict == "consult" and not current:
            out.undetermined.append(key)
        if determination is None or not determination.identical or match.verdict == "withdrawn":
            continue
        notice = await session.get(NoticeRow, key)
        regimes = list(notice.regimes) if notice is not None else []
        out.duties.append(
            await _duty(session, screening_id, key, regimes, rules=rules, today=today)
        )
    return out


async def _duty(
    session: AsyncSession,
    screening_id: str,
    key: tuple[str, str],
    regimes: list[str],
    *,
    rules: RuleProfile,
    today: date,
) -> Duty:
    origin, notice_id = key
    required = rules.consultation_required(regimes)
    asked = list(
        await session.scalars(
            select(ConsultationRow)
            .where(
                ConsultationRow.screening_id == screening_id,
                ConsultationRow.denier == origin,
                ConsultationRow.notice_id == notice_id,
            )
            .order_by(ConsultationRow.requested_seq)
        )
    )
    asked = [c for c in asked if c.withdrawn_at is None]  # a withdrawn request was not asked
    answered = [c for c in asked if c.answered_at is not None]
    latest = answered[-1] if answered else (asked[-1] if asked else None)
    if not required:
        status = "not_required"
    elif latest is None:
        status = "missing"
    elif latest.answered_at is not None:
        status = "answered"
    elif today <= latest.reply_due:
        status = "awaiting_reply"
    else:
        status = "window_passed"
    return Duty(
        origin=origin,
        notice_id=notice_id,
        consult_under=required,
        consultation=status,
        consultation_id=latest.consultation_id if latest else None,
        reply_due=latest.reply_due if latest else None,
        notify="members" if rules.approval_to_members(regimes) else "denier",
        notify_within_days=rules.approval_deadline_days(regimes),
    )
