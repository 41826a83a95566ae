"""Screening routes: screen an application, read a screening (re-evaluated), close it."""

from typing import Annotated

from fastapi import APIRouter, Path, Request

from service import audit
from service.api.body import json_body, parse_model, request_body
from service.api.deps import Officer, StateDep
from service.api.idempotency import Idempotent
from service.api.problems import openapi_errors
from service.api.schemas import Screening, ScreeningMatch, iso
from service.screening import screenings
from service.screening.schema import ApplicationInput, CloseInput
from service.storage.models import ScreeningMatchRow, ScreeningRow

router = APIRouter(prefix="/api/v1/screenings", tags=["screenings"], route_class=Idempotent)

ScreeningId = Annotated[
    str, Path(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
]


def view(row: ScreeningRow, matches: list[ScreeningMatchRow]) -> Screening:
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
            )
            for m in matches
        ],
        snapshot=row.snapshot,
        staleness=row.staleness,
        algorithm=row.algorithm,
        outcome=row.outcome,
        licence_ref=row.licence_ref,
        decided_on=iso(row.decided_on),
        closed_at=iso(row.closed_at),
    )


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
    return view(row, matches)


@router.get(
    "/{screening_id}", response_model=Screening, responses=openapi_errors(401, 403, 404, 422)
)
async def get_screening(state: StateDep, caller: Officer, screening_id: ScreeningId) -> Screening:
    """A screening with its matches as last re-evaluated: notices published, amended or
    revoked since it ran are flagged on it while it is open."""
    now = state.clock()
    await screenings.catch_up(state.db, state.screening, now=now)
    async with state.db.write() as session:
        row, matches = await screenings.get(session, screening_id)
        await audit.record(
            session,
            actor=caller.actor,
            action="screening.read",
            target=screening_id,
            detail={},
            now=now,
        )
    return view(row, matches)


@router.post(
    "/{screening_id}/close",
    response_model=Screening,
    responses=openapi_errors(401, 403, 404, 409, 422),
    openapi_extra=request_body(CloseInput),
)
async def close_screening(
    state: StateDep, caller: Officer, screening_id: ScreeningId, request: Request
) -> Screening:
    """Close a screening with the licence decision. An approval despite a partner's denial
    starts the clock on the approval notification its regime requires."""
    decision = parse_model(CloseInput, await json_body(request), "the licence decision")
    now = state.clock()
    async with state.db.write() as session:
        await screenings.close(session, screening_id, decision, now=now)
        await audit.record(
            session,
            actor=caller.actor,
            action="screening.close",
            target=screening_id,
            detail=decision.model_dump(mode="json"),
            now=now,
        )
        row, matches = await screenings.get(session, screening_id)
    return view(row, matches)
