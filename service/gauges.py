"""What the node's database says of its health, read each time `/metrics` is scraped: log
sizes, sync lag, peers' last success, quarantined answers, frozen logs, appends stopped and
consultations overdue. Exposing them is service.metrics's job.

Read at scrape time from the database every worker shares, these values are the same
whichever `denex serve` worker answers, and no event can be missed by a worker that did not
see it. Every query is bounded by the roster, not by the number of entries or notices: the
`logs` rows (one per origin held), the active peers and what they listed (`peer_heads`,
filtered to roster origins by its primary key), the quarantine (at most
federation.storage.quarantine.QUARANTINE_ROWS a peer), and two counts of unanswered consultations past
due over the (party, reply_due) indexes.
"""

import math
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.storage.tables import LogRow, PeerHeadRow, PeerRow, PeerSyncRow, QuarantineRow
from service.storage.models import ConsultationRow
from service.sync.own_log import stop_kind

NEVER = math.inf  # seconds since something that never happened


def _age(now: datetime, moment: datetime | None) -> float:
    if moment is None:
        return NEVER
    return max(0.0, (now - moment).total_seconds())


@dataclass
class NodeGauges:
    entries: dict[str, int] = field(default_factory=dict)  # origin -> entries held
    # origin -> entries the best active peer listed beyond this node's copy (origins that
    # some active peer listed only)
    lag: dict[str, int] = field(default_factory=dict)
    staleness: dict[str, float] = field(default_factory=dict)  # partner origin -> s since fresh
    frozen: dict[str, bool] = field(default_factory=dict)  # partner origin -> proven equivocation
    appends_stopped: str | None = None  # one of service.sync.own_log.STOP_KINDS, or None
    last_success_age: dict[str, float] = field(default_factory=dict)  # active peer -> seconds
    quarantine_stored: dict[str, int] = field(default_factory=dict)  # active peer -> rows kept
    quarantine_dropped: dict[str, int] = field(default_factory=dict)  # active peer -> counted
    quarantine_age: dict[str, float] = field(default_factory=dict)  # peer -> s since newest kept
    overdue: dict[str, int] = field(default_factory=dict)  # "in" | "out" -> consultations


async def read_gauges(session: AsyncSession, *, me: str, now: datetime) -> NodeGauges:
    gauges = NodeGauges()
    for origin, size, fresh_at, frozen_reason in await session.execute(
        select(LogRow.origin, LogRow.size, LogRow.fresh_at, LogRow.frozen_reason)
    ):
        gauges.entries[origin] = size
        if origin == me:
            gauges.appends_stopped = None if frozen_reason is None else stop_kind(frozen_reason)
        else:
            gauges.staleness[origin] = _age(now, fresh_at)
            gauges.frozen[origin] = frozen_reason is not None
    active = list(
        await session.scalars(select(PeerRow.node_id).where(PeerRow.removed_at.is_(None)))
    )
    if active:
        await _peers(session, gauges, active, me=me, now=now)
    gauges.overdue = {
        "in": await _overdue(session, ConsultationRow.denier == me, now.date()),
        "out": await _overdue(session, ConsultationRow.requester == me, now.date()),
    }
    return gauges


async def _peers(
    session: AsyncSession, gauges: NodeGauges, active: list[str], *, me: str, now: datetime
) -> None:
    best = await session.execute(
        select(PeerHeadRow.origin, func.max(PeerHeadRow.size))
        .where(PeerHeadRow.peer.in_(active), PeerHeadRow.origin.in_([*active, me]))
        .group_by(PeerHeadRow.origin)
    )
    for origin, size in best:
        gauges.lag[origin] = max(0, int(size) - gauges.entries.get(origin, 0))
    statuses = {
        peer: (last_success, dropped)
        for peer, last_success, dropped in await session.execute(
            select(
                PeerSyncRow.peer, PeerSyncRow.last_success, PeerSyncRow.quarantine_dropped
            ).where(PeerSyncRow.peer.in_(active))
        )
    }
    kept = {
        peer: (count, newest)
        for peer, count, newest in await session.execute(
            select(QuarantineRow.peer, func.count(), func.max(QuarantineRow.at))
            .where(QuarantineRow.peer.in_(active))
            .group_by(QuarantineRow.peer)
        )
    }
    for peer in active:
        last_success, dropped = statuses.get(peer, (None, 0))
        count, newest = kept.get(peer, (0, None))
        gauges.last_success_age[peer] = _age(now, last_success)
        gauges.quarantine_dropped[peer] = int(dropped or 0)
        gauges.quarantine_stored[peer] = int(count)
        gauges.quarantine_age[peer] = _age(now, newest)


async def _overdue(session: AsyncSession, party: ColumnElement[bool], today: date) -> int:
    """Consultations asked by (out) or of (in) this node, unanswered past their reply date
    (service.consultations.queries.overdue)."""
    count = await session.scalar(
        select(func.count())
        .select_from(ConsultationRow)
        .where(
            party,
            ConsultationRow.answered_seq.is_(None),
            ConsultationRow.reply_due < today,
        )
    )
    return int(count or 0)
