"""Screenings as a node keeps them: run, store with their snapshot, re-evaluate, close.

The application is screened against the live index (refreshed first) and stored locally
with the per-origin snapshot it ran against, each partner log's staleness and the algorithm
version. While a screening is open, every refresh of the index that changes a notice
re-scores that notice for it: a match that appears, changes or disappears is flagged
(`change`: new, changed, withdrawn) with the time it was seen.
"""

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import uuid_utils.compat as uuid_compat
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.tables import LogRow
from service import audit
from service.errors import Conflict, NotFound
from service.screening.live import Key, LiveIndex
from service.screening.model import ALGORITHM, Application, Match, application_record
from service.screening.schema import ApplicationInput, CloseInput
from service.storage.database import Database
from service.storage.models import ScreeningMatchRow, ScreeningRow

log = logging.getLogger("denex.screening")

FULL_RESCREEN = 500  # more changed notices than this: screen each open application again


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def staleness(
    session: AsyncSession, *, me: str, now: datetime, stale_after: float
) -> dict[str, Any]:
    """Per partner origin: when its log was last seen current, and whether that is too long
    ago (DESIGN §4 freshness), so an officer sees which partners' denials may be missing."""
    out: dict[str, Any] = {}
    for log in await session.scalars(select(LogRow).where(LogRow.origin != me)):
        heard = _aware(log.fresh_at) if log.fresh_at else None
        out[log.origin] = {
            "heard_at": heard.isoformat() if heard else None,
            "stale": heard is None or now - heard > timedelta(seconds=stale_after),
            "frozen": log.frozen_reason,
        }
    return dict(sorted(out.items()))


def _match_row(screening_id: str, match: Match, now: datetime) -> ScreeningMatchRow:
    return ScreeningMatchRow(
        screening_id=screening_id,
        origin=match.origin,
        notice_id=match.notice_id,
        version=match.version,
        score=round(match.score, 4),
        verdict=match.verdict,
        features=match.features,
        found_at=now,
        changed_at=None,
        change=None,
    )


async def screen(
    db: Database,
    index: LiveIndex,
    application: ApplicationInput,
    *,
    me: str,
    actor: str,
    now: datetime,
    stale_after: float,
) -> ScreeningRow:
    """Screen an application and store the result; returns the stored screening."""
    await catch_up(db, index, now=now)
    raw = application.model_dump(mode="json")
    matches = index.screener.screen(application_record(raw), now.date())
    screening_id = str(uuid_compat.uuid7())
    async with db.write() as session:
        row = ScreeningRow(
            screening_id=screening_id,
            reference=application.reference,
            application=raw,
            snapshot=index.snapshot(),
            staleness=await staleness(session, me=me, now=now, stale_after=stale_after),
            algorithm=ALGORITHM,
            created_at=now,
            created_by=actor,
            status="open",
        )
        session.add(row)
        await session.flush()
        session.add_all(_match_row(screening_id, m, now) for m in matches)
        await audit.record(
            session,
            actor=actor,
            action="screening.run",
            target=screening_id,
            detail={
                "reference": row.reference,
                "matches": [[m.origin, m.notice_id, m.verdict] for m in matches],
            },
            now=now,
        )
    return row


async def get(
    session: AsyncSession, screening_id: str
) -> tuple[ScreeningRow, list[ScreeningMatchRow]]:
    row = await session.get(ScreeningRow, screening_id)
    if row is None:
        raise NotFound(f"no screening {screening_id}")
    matches = list(
        await session.scalars(
            select(ScreeningMatchRow).where(ScreeningMatchRow.screening_id == screening_id)
        )
    )
    order = {"consult": 0, "review": 1, "withdrawn": 2}
    matches.sort(key=lambda m: (order.get(m.verdict, 3), -m.score, m.origin, m.notice_id))
    return row, matches


async def close(
    session: AsyncSession, screening_id: str, decision: CloseInput, *, now: datetime
) -> ScreeningRow:
    row = await session.get(ScreeningRow, screening_id)
    if row is None:
        raise NotFound(f"no screening {screening_id}")
    if row.status != "open":
        raise Conflict(f"screening {screening_id} is already closed ({row.outcome})")
    row.status = "closed"
    row.closed_at = now
    row.outcome = decision.outcome
    row.licence_ref = decision.licence_ref
    row.decided_on = (
        datetime.fromisoformat(decision.decided_on).date() if decision.decided_on else None
    )
    return row


async def catch_up(db: Database, index: LiveIndex, *, now: datetime) -> int:
    """Refresh the index, then re-evaluate open screenings against the notices that changed;
    return how many matches were flagged."""
    refresh = await index.refresh()
    if not refresh.changed:
        return 0
    return await reevaluate(db, index, refresh.changed, now=now)


async def reevaluate(db: Database, index: LiveIndex, changed: set[Key], *, now: datetime) -> int:
    flagged = 0
    today = now.date()
    async with db.write() as session:
        for screening in await session.scalars(
            select(ScreeningRow).where(ScreeningRow.status == "open")
        ):
            app = application_record(screening.application)
            stored = {
                (m.origin, m.notice_id): m
                for m in await session.scalars(
                    select(ScreeningMatchRow).where(
                        ScreeningMatchRow.screening_id == screening.screening_id
                    )
                )
            }
            fresh = _rescore(index, app, changed, today)
            for key in changed if len(changed) <= FULL_RESCREEN else set(fresh) | set(stored):
                flagged += _flag(
                    session, screening.screening_id, stored.get(key), fresh.get(key), now
                )
    return flagged


def _rescore(index: LiveIndex, app: Application, changed: set[Key], today: Any) -> dict[Key, Match]:
    if len(changed) > FULL_RESCREEN:
        return {(m.origin, m.notice_id): m for m in index.screener.screen(app, today)}
    found: dict[Key, Match] = {}
    for origin, notice_id in changed:
        if (origin, notice_id) in index.screener:
            match = index.screener.score_one(app, origin, notice_id, today)
            if match is not None:
                found[(origin, notice_id)] = match
    return found


def _flag(
    session: AsyncSession,
    screening_id: str,
    old: ScreeningMatchRow | None,
    new: Match | None,
    now: datetime,
) -> int:
    if old is None and new is None:
        return 0
    if old is None:
        assert new is not None
        row = _match_row(screening_id, new, now)
        row.change, row.changed_at = "new", now
        session.add(row)
        return 1
    if new is None:
        if old.verdict == "withdrawn":
            return 0
        old.verdict, old.change, old.changed_at = "withdrawn", "withdrawn", now
        return 1
    score = round(new.score, 4)
    if (old.version, old.verdict, old.score) == (new.version, new.verdict, score):
        return 0
    old.version, old.verdict, old.score, old.features = (
        new.version,
        new.verdict,
        score,
        new.features,
    )
    old.change, old.changed_at = "changed", now
    return 1


async def watch(
    db: Database, index: LiveIndex, *, clock: Callable[[], datetime], interval: float
) -> None:
    """`denex serve`'s background task: load the index at start, then keep it and every
    open screening current as notices arrive (published here, imported, or synced)."""
    while True:
        try:
            flagged = await catch_up(db, index, now=clock())
            if flagged:
                log.info("open screenings re-evaluated: %d match(es) flagged", flagged)
        except asyncio.CancelledError:
            raise
        except Exception:  # keep watching; the next screening request retries too
            log.exception("re-evaluating open screenings failed")
        await asyncio.sleep(interval)
