"""What `GET /api/v1/peers` shows of syncing from each peer: last success and error, lag
per origin, freshness and alerts."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.storage import heads
from federation.storage.content import overdue_content
from federation.storage.tables import LogRow, PeerHeadRow, PeerSyncRow, QuarantineRow
from service.roster import list_peers


@dataclass
class Status:
    """What `GET /api/v1/peers` shows of syncing from one peer."""

    last_success: datetime | None = None
    last_error: str | None = None
    lag: dict[str, int] = field(default_factory=dict)
    fresh_at: datetime | None = None  # the peer's own log, last seen current
    alerts: list[str] = field(default_factory=list)
    rule_profile: str | None = None  # the hash the peer's last answer named


async def peer_statuses(
    session: AsyncSession,
    *,
    now: datetime,
    stale_after: float,
    me: str | None = None,
    content_deadline: float = 3600.0,
    rule_profile: str | None = None,
) -> dict[str, Status]:
    """Per peer: last success and error, how far this node is behind each origin it serves,
    freshness of the peer's own log, the rule profile it runs, and alerts (equivocation,
    staleness, quarantine, another rule profile than this node's `rule_profile`)."""
    logs = {row.origin: row for row in await session.scalars(select(LogRow))}
    statuses: dict[str, Status] = {}
    dropped: dict[str, int] = {}
    for row in await session.scalars(select(PeerSyncRow)):
        statuses[row.peer] = Status(
            last_success=row.last_success,
            last_error=row.last_error,
            rule_profile=row.rule_profile,
        )
        dropped[row.peer] = row.quarantine_dropped
        if rule_profile is not None and row.last_success is not None:
            if row.rule_profile != rule_profile:
                runs = row.rule_profile or "no rule profile it names"
                statuses[row.peer].alerts.append(
                    f"rule profile: the peer runs {runs}, this node {rule_profile}"
                )
    for head in await session.scalars(select(PeerHeadRow)):
        ours = logs[head.origin].size if head.origin in logs else 0
        if head.size > ours:
            statuses.setdefault(head.peer, Status()).lag[head.origin] = head.size - ours
    quarantined = await session.execute(
        select(QuarantineRow.peer, func.count(), func.max(QuarantineRow.at)).group_by(
            QuarantineRow.peer
        )
    )
    for peer_id, count, last in quarantined:
        more = dropped.get(peer_id, 0)
        statuses.setdefault(peer_id, Status()).alerts.append(
            f"{count} answer(s) failed verification and were quarantined, the last at "
            f"{last.isoformat()}"
            + (f"; {more} more were only counted (one is kept per origin a minute)" if more else "")
        )
    for peer in await list_peers(session):
        status = statuses.setdefault(peer.node_id, Status())
        log = logs.get(peer.node_id)
        if log is not None and log.frozen_reason is not None:
            status.alerts.append(f"equivocation: {log.frozen_reason}")
        status.fresh_at = log.fresh_at if log else None
        if me is not None and log is not None:
            overdue, first = await overdue_content(
                session, peer.node_id, me, stored_before=now - timedelta(seconds=content_deadline)
            )
            if overdue:
                status.alerts.append(
                    f"withheld: {overdue} entries of {peer.node_id} that this node may "
                    f"see still lack their content (first seq {first})"
                )
        if peer.removed_at is None and (
            status.fresh_at is None or now - status.fresh_at > timedelta(seconds=stale_after)
        ):
            since = status.fresh_at.isoformat() if status.fresh_at else "never"
            status.alerts.append(f"stale: the log of {peer.node_id} was last seen current {since}")
    return statuses


async def record_failure(
    session: AsyncSession,
    *,
    peer: str,
    error: str | None,
    now: datetime,
    retry: Callable[[int], timedelta],
) -> None:
    """A round against `peer` failed to reach it: one more failure in a row, the next
    attempt after `retry(failures)`."""
    status = await heads.peer_sync(session, peer)
    status.last_attempt = status.last_error_at = now
    status.last_error = error
    status.failures += 1
    status.next_attempt = now + retry(status.failures)


async def record_round(
    session: AsyncSession,
    *,
    peer: str,
    sizes: dict[str, int],
    known: Mapping[str, int],
    fresh: list[str],
    errors: list[str],
    now: datetime,
    rule_profile: str | None = None,
) -> None:
    """A round against `peer` reached it: the heads it listed (`sizes`; `known` as last
    recorded), the origins it showed current (`fresh`), success or the origins' errors, and
    the rule profile its answer named."""
    await heads.record_heads(session, peer, sizes, known=dict(known), now=now)
    await heads.mark_fresh(session, fresh, now)
    status = await heads.peer_sync(session, peer)
    status.rule_profile = rule_profile
    status.last_attempt, status.failures, status.next_attempt = now, 0, None
    if errors:
        status.last_error, status.last_error_at = "; ".join(errors)[:2000], now
    else:
        status.last_success = now
