"""Returns for the regimes (issue 15, item 9): counts of one node's denials, revocations,
consultations and approval notifications over a period, by the dimensions the annual and
semi-annual returns ask for. Read from the derived tables; nothing is written.

A notice under several regimes, grounds or items counts once in each of them, so the counts
of one dimension may sum to more than the total. The period is inclusive at both ends; a
denial counts by its `decided_on`, a revocation by its `revoked_on`, a consultation by the
day it was requested, an approval notification by the licence decision it reports.
"""

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.notices.control import CATCH_ALL
from service.storage.models import ApprovalRow, ConsultationRow, NoticeRow

MAX_DAYS = 3660  # a report spans ten years at most


def category(entry: str) -> str:
    """The category of a normalised control entry: `5` for `5A001.j`, `ML` for `ML21.b`,
    `catch-all` for a catch-all item."""
    if entry == CATCH_ALL:
        return CATCH_ALL
    return "ML" if entry.startswith("ML") else entry[:1]


@dataclass
class Report:
    origin: str
    start: date
    end: date
    counts: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, section: str, value: str) -> None:
        self.counts.setdefault(section, Counter())[value] += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "counts": {
                section: dict(sorted(counter.items()))
                for section, counter in sorted(self.counts.items())
            },
        }

    def to_csv(self) -> str:
        """One row per (section, value): `section,value,count`, sections in name order."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["origin", "from", "to", "section", "value", "count"])
        for section, counter in sorted(self.counts.items()):
            for value, count in sorted(counter.items()):
                writer.writerow(
                    [
                        self.origin,
                        self.start.isoformat(),
                        self.end.isoformat(),
                        section,
                        value,
                        count,
                    ]
                )
        return out.getvalue()


async def returns(session: AsyncSession, *, origin: str, start: date, end: date) -> Report:
    """The counts of `origin`'s denials and revocations, and of the consultations and
    approval notifications it filed or received, between `start` and `end`."""
    if end < start:
        raise ValueError("the period ends before it starts")
    if (end - start).days > MAX_DAYS:
        raise ValueError(f"a report spans {MAX_DAYS} days at most")
    report = Report(origin, start, end)
    denials = await session.scalars(
        select(NoticeRow).where(
            NoticeRow.origin == origin,
            NoticeRow.decided_on >= start,
            NoticeRow.decided_on <= end,
            NoticeRow.invalid_reason.is_(None),
        )
    )
    for notice in denials:
        body: dict[str, Any] = dict(notice.body)
        report.add("denials", "total")
        report.add("denials by decision", notice.decision)
        report.add("denials by destination", notice.destination)
        for regime in sorted(set(notice.regimes)):
            report.add("denials by regime", regime)
        grounds: list[dict[str, Any]] = body.get("grounds") or []
        for ground in sorted({str(g.get("code")) for g in grounds}):
            report.add("denials by ground", ground)
        items: list[dict[str, Any]] = body.get("items") or []
        entries = {str(i.get("control_entry")) for i in items}
        for item_category in sorted({category(e) for e in entries}):
            report.add("denials by item category", item_category)
    revoked = await session.scalars(
        select(NoticeRow.revoked_code).where(
            NoticeRow.origin == origin,
            NoticeRow.revoked_on >= start,
            NoticeRow.revoked_on <= end,
        )
    )
    for code in revoked:
        report.add("revocations by reason", code or "not coded")
    await _consultations(session, report)
    await _approvals(session, report)
    return report


async def _consultations(session: AsyncSession, report: Report) -> None:
    rows = await session.scalars(
        select(ConsultationRow).where(
            (ConsultationRow.requester == report.origin)
            | (ConsultationRow.denier == report.origin),
            ConsultationRow.requested_at >= _midnight(report.start),
            ConsultationRow.requested_at < _midnight(report.end + timedelta(days=1)),
        )
    )
    for row in rows:
        side = "asked" if row.requester == report.origin else "received"
        report.add(f"consultations {side}", "total")
        report.add(f"consultations {side} by regime", row.regime or "not named")
        outcome = row.position or ("withdrawn" if row.withdrawn_at else "unanswered")
        report.add(f"consultations {side} by outcome", outcome)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


async def _approvals(session: AsyncSession, report: Report) -> None:
    rows = await session.execute(
        select(ApprovalRow, NoticeRow.destination)
        .outerjoin(
            NoticeRow,
            (NoticeRow.origin == ApprovalRow.denier)
            & (NoticeRow.notice_id == ApprovalRow.notice_id),
        )
        .where(ApprovalRow.decided_on >= report.start, ApprovalRow.decided_on <= report.end)
    )
    for approval, destination in rows:
        if approval.origin == report.origin:
            report.add("approvals notified", "total")
            report.add("approvals notified by denier", approval.denier)
            report.add("approvals notified by destination", destination or "unknown")
        elif approval.denier == report.origin:
            report.add("approvals received", "total")
            report.add("approvals received by approver", approval.origin)
