"""Screenings as a node keeps them: run, store with their snapshot, re-evaluate, close.

The application is screened against the live index (refreshed first) and stored locally
with the per-origin snapshot it ran against, each partner log's staleness and the algorithm
version. While a screening is open, every refresh of the index that changes a notice
re-scores that notice for it: a match that appears, changes or disappears is flagged
(`change`: new, changed, withdrawn) with the time it was seen.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import uuid_utils.compat as uuid_compat
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.storage.bulk import insert_rows
from federation.storage.tables import LogRow
from service import audit
from service.errors import Conflict, NotFound
from service.rules.profile import RuleProfile
from service.screening import duties
from service.screening.live import Key, LiveIndex
from service.screening.model import ALGORITHM, Application, Match, application_record
from service.screening.schema import ApplicationInput, CloseInput
from service.storage.database import Database
from service.storage.models import ScreeningMatchRow, ScreeningRow

log = logging.getLogger("denex.screening")

FULL_RESCREEN = 500  # more changed notices than this: screen each open application again


async def staleness(
    session: AsyncSession, *, me: str, now: datetime, stale_after: float
) -> dict[str, Any]:
    """Per partner origin: when its log was last seen current, and whether that is too long
    ago (DESIGN §4 freshness), so an officer sees which partners' denials may be missing."""
    out: dict[str, Any] = {}
    for log in await session.scalars(select(LogRow).where(LogRow.origin != me)):
        heard = log.fresh_at
        out[log.origin] = {
            "heard_at": heard.isoformat() if heard else None,
            "stale": heard is None or now - heard > timedelta(seconds=stale_after),
            "frozen": log.frozen_reason,
        }
    return dict(sorted(out.items()))


def _match_values(screening_id: str, match: Match, now: datetime) -> dict[str, Any]:
    return {
        "screening_id": screening_id,
        "origin": match.origin,
        "notice_id": match.notice_id,
        "version": match.version,
        "score": round(match.score, 4),
        "verdict": match.verdict,
        "features": match.features,
        "found_at": now,
        "changed_at": None,
        "change": None,
    }


def _match_row(screening_id: str, match: Match, now: datetime) -> ScreeningMatchRow:
    return ScreeningMatchRow(**_match_values(screening_id, match, now))


async def screen(
    db: Database,
    index: LiveIndex,
    application: ApplicationInput,
    *,
    me: str,
    actor: str,
    now: datetime,
    stale_after: float,
) -> tuple[ScreeningRow, list[ScreeningMatchRow], float]:
    """Screen an application and store the result; returns the stored screening, its
    matches (best first) and the seconds the screening engine took to match it."""
    await catch_up(db, index, now=now)
    raw = application.model_dump(mode="json")
    started = time.perf_counter()
    matches = index.screener.screen(application_record(raw), now.date())
    engine_seconds = time.perf_counter() - started
    screening_id = str(uuid_compat.uuid7())
    async with db.write() as session:
        row = ScreeningRow(
            screening_id=screening_id,
            reference=application.reference,
            application=raw,
            snapshot=index.snapshot(),
            staleness=await staleness(session, me=me, now=now, stale_after=stale_after),
            algorithm=ALGORITHM,
            rule_profile=index.rules.hash,  # the profile its records were built under
            created_at=now,
            created_by=actor,
            status="open",
        )
        session.add(row)
        await session.flush()
        values = [_match_values(screening_id, m, now) for m in matches]
        await insert_rows(session, ScreeningMatchRow, values)
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
    # the answer is built from what was just written (sorted: consult scores above review)
    return row, [ScreeningMatchRow(**v) for v in values], engine_seconds


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
    session: AsyncSession,
    screening_id: str,
    decision: CloseInput,
    *,
    rules: RuleProfile,
    now: datetime,
) -> ScreeningRow:
    """Close with the licence decision; approving is refused while a duty stands in its way
    (service.screening.duties): a consult match not determined, a consultation the rules
    require not asked or not yet answered within its window."""
    row = await session.get(ScreeningRow, screening_id)
    if row is None:
        raise NotFound(f"no screening {screening_id}")
    if row.status != "open":
        raise Conflict(f"screening {screening_id} is already closed ({row.outcome})")
    if decision.outcome == "approved":
        obstacles = (
            await duties.duties_of(session, screening_id, rules=rules, today=now.date())
        ).obstacles()
        if obstacles:
            raise Conflict(
                f"screening {screening_id} cannot be closed as approved: " + "; ".join(obstacles)
            )
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


async def reevaluate(
    db: Database,
    index: LiveIndex,
    changed: set[Key],
    *,
    now: datetime,
    full_rescreen: int = FULL_RESCREEN,
) -> int:
    """Re-score the changed notices for every open screening; flag what differs. Scoring runs
    outside any transaction and yields between screenings, so that many open screenings
    neither hold the write lock nor stall the node; only a screening with a change is
    written."""
    today = now.date()
    async with db.read() as session:
        screenings = (
            await session.execute(
                select(ScreeningRow.screening_id, ScreeningRow.application).where(
                    ScreeningRow.status == "open"
                )
            )
        ).all()
    flagged = 0
    for screening_id, application in screenings:
        fresh = _rescore(index, application_record(application), changed, today, full_rescreen)
        await asyncio.sleep(0)
        async with db.read() as session:
            stored = await _stored(session, screening_id)
        keys = changed if len(changed) <= full_rescreen else set(fresh) | set(stored)
        if not any(_differs(stored.get(key), fresh.get(key)) for key in keys):
            continue
        async with db.write() as session:
            row = await session.get(ScreeningRow, screening_id)
            if row is None or row.status != "open":  # closed meanwhile
                continue
            stored = await _stored(session, screening_id)
            for key in keys:
                flagged += _flag(session, screening_id, stored.get(key), fresh.get(key), now)
    return flagged


async def _stored(session: AsyncSession, screening_id: str) -> dict[Key, ScreeningMatchRow]:
    matches = await session.scalars(
        select(ScreeningMatchRow).where(ScreeningMatchRow.screening_id == screening_id)
    )
    return {(m.origin, m.notice_id): m for m in matches}


def _differs(old: ScreeningMatchRow | None, new: Match | None) -> bool:
    if old is None:
        return new is not None
    if new is None:
        return old.verdict != "withdrawn"
    return (old.version, old.verdict, old.score) != (new.version, new.verdict, round(new.score, 4))


def _rescore(
    index: LiveIndex, app: Application, changed: set[Key], today: Any, full_rescreen: int
) -> dict[Key, Match]:
    if len(changed) > full_rescreen:
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
    """Record a match that appeared, changed or went away; 1 if something was flagged."""
    if not _differs(old, new):
        return 0
    if old is None:
        assert new is not None
        row = _match_row(screening_id, new, now)
        row.change, row.changed_at = "new", now
        session.add(row)
    elif new is None:
        old.verdict, old.change, old.changed_at = "withdrawn", "withdrawn", now
    else:
        old.version, old.verdict, old.score, old.features = (
            new.version,
            new.verdict,
            round(new.score, 4),
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
