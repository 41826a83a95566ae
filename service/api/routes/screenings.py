"""Screening routes: screen an application, read a screening (re-evaluated), close it."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from service import audit
from service.api.body import json_body, parse_model, request_body
from service.api.deps import Officer, StateDep
from service.api.idempotency import Idempotent
from service.api.problems import openapi_errors
from service.api.schemas import Determination, Screening, ScreeningMatch, iso
from service.api.state import AppState
from service.notices.schema import UUID_PATTERN
from service.screening import duties, screenings
from service.screening.schema import ApplicationInput, CloseInput, DeterminationInput
from service.storage.models import DeterminationRow, ScreeningMatchRow, ScreeningRow

router = APIRouter(prefix="/api/v1/screenings", tags=["screenings"], route_class=Idempotent)

ScreeningId = Annotated[str, Path(pattern=UUID_PATTERN)]


def view(
    row: ScreeningRow,
    matches: list[ScreeningMatchRow],
    found: list[DeterminationRow],
    owed: duties.Duties,
) -> Screening:
    by_match = {(d.origin, d.notice_id): d for d in found}
    return Screening(
        screening_id=row.screening_id,
        reference=row.reference,
        status=row.status,
        created_at=iso(row.created_at) or "",
        matches=[
            ScreeningMatch(
                notice_id=m.notice_id,
                origin=m.origin,
                version=m.version,
                score=m.score,
                verdict=m.verdict,
                features=m.features,
                found_at=iso(m.found_at) or "",
                change=m.change,
                changed_at=iso(m.changed_at),
                determination=_determination(by_match.get((m.origin, m.notice_id))),
            )
            for m in matches
        ],
        snapshot=row.snapshot,
        staleness=row.staleness,
        algorithm=row.algorithm,
        rule_profile=row.rule_profile,
        duties=owed.to_json(),
        outcome=row.outcome,
        licence_ref=row.licence_ref,
        decided_on=iso(row.decided_on),
        closed_at=iso(row.closed_at),
    )


def _determination(row: DeterminationRow | None) -> Determination | None:
    if row is None:
        return None
    return Determination(
        identical=row.identical,
        reasons=row.reasons,
        notice_version=row.notice_version,
        decided_by=row.decided_by,
        decided_at=iso(row.decided_at) or "",
    )


async def _view(
    session: AsyncSession, state: AppState, screening_id: str, now: datetime
) -> Screening:
    row, matches = await screenings.get(session, screening_id)
    found = await duties.determinations(session, screening_id)
    owed = await duties.duties_of(
        session, screening_id, rules=state.settings.rules, today=now.date()
    )
    return view(row, matches, found, owed)


@router.post(
    "",
    status_code=201,
    response_model=Screening,
    responses=openapi_errors(401, 403, 422),
    openapi_extra=request_body(ApplicationInput),
)
async def screen(state: StateDep, caller: Officer, request: Request) -> Screening:
    """Screen a licence application against every active notice of every origin (the
    no-undercut check). The application is stored on this node only and never sent."""
    application = parse_model(ApplicationInput, await json_body(request), "the application")
    now = state.clock()
    row, matches, engine_seconds = await screenings.screen(
        state.db,
        state.screening,
        application,
        me=state.node.identity.node_id,
        actor=caller.actor,
        now=now,
        stale_after=state.settings.stale_after,
    )
    state.metrics.screening.observe(engine_seconds)
    # nothing is determined yet: every consult match awaits the officer's determination
    owed = duties.Duties(
        undetermined=[(m.origin, m.notice_id) for m in matches if m.verdict == "consult"]
    )
    return view(row, matches, [], owed)


@router.get(
    "/{screening_id}", response_model=Screening, responses=openapi_errors(401, 403, 404, 422)
)
async def get_screening(state: StateDep, caller: Officer, screening_id: ScreeningId) -> Screening:
    """A screening with its matches as last re-evaluated: notices published, amended or
    revoked since it ran are flagged on it while it is open."""
    now = state.clock()
    await screenings.catch_up(state.db, state.screening, now=now)
    async with state.db.write() as session:
        await audit.record(
            session,
            actor=caller.actor,
            action="screening.read",
            target=screening_id,
            detail={},
            now=now,
        )
        return await _view(session, state, screening_id, now)


@router.post(
    "/{screening_id}/close",
    response_model=Screening,
    responses=openapi_errors(401, 403, 404, 409, 422),
    openapi_extra=request_body(CloseInput),
)
async def close_screening(
    state: StateDep, caller: Officer, screening_id: ScreeningId, request: Request
) -> Screening:
    """Close a screening with the licence decision. Approving is refused (409) while a duty
    stands in the way: a `consult` match without a determination, or an essentially
    identical transaction whose regimes require a consultation not asked, or not answered
    while its reply window runs. An approval despite a partner's denial starts the clock on
    the approval notification its regime requires."""
    decision = parse_model(CloseInput, await json_body(request), "the licence decision")
    now = state.clock()
    async with state.db.write() as session:
        await screenings.close(session, screening_id, decision, rules=state.settings.rules, now=now)
        await audit.record(
            session,
            actor=caller.actor,
            action="screening.close",
            target=screening_id,
            detail=decision.model_dump(mode="json"),
            now=now,
        )
        return await _view(session, state, screening_id, now)


@router.post(
    "/{screening_id}/determinations",
    response_model=Screening,
    responses=openapi_errors(401, 403, 404, 409, 422),
    openapi_extra=request_body(DeterminationInput),
)
async def determine(
    state: StateDep, caller: Officer, screening_id: ScreeningId, request: Request
) -> Screening:
    """Record the officer's determination on one current match of an open screening: is the
    application an essentially identical transaction to the notice, and why. A later
    determination of the same match replaces it; the audit trail keeps each."""
    finding = parse_model(DeterminationInput, await json_body(request), "the determination")
    now = state.clock()
    async with state.db.write() as session:
        await duties.determine(
            session,
            screening_id,
            origin=finding.origin,
            notice_id=finding.notice_id,
            identical=finding.identical,
            reasons=finding.reasons,
            actor=caller.actor,
            now=now,
        )
        await audit.record(
            session,
            actor=caller.actor,
            action="screening.determine",
            target=screening_id,
            detail=finding.model_dump(mode="json"),
            now=now,
        )
        return await _view(session, state, screening_id, now)
