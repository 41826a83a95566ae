"""Returns for the regimes: one node's counts over a period, as JSON or CSV (issue 15)."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from federation.core.identity import NODE_ID_PATTERN
from service import audit, reports
from service.api.deps import Reader, StateDep
from service.api.idempotency import Idempotent
from service.api.params import IsoDate
from service.api.problems import openapi_errors
from service.errors import InvalidInput

router = APIRouter(prefix="/api/v1/reports", tags=["reports"], route_class=Idempotent)


class Returns(BaseModel):
    origin: str
    from_: str = Field(alias="from")
    to: str
    counts: dict[str, dict[str, int]] = Field(
        description="section -> value -> count: denials by decision, destination, regime, "
        "ground and item category; revocations by reason; consultations asked and received, "
        "by regime and outcome; approval notifications filed and received"
    )


CSV = {"content": {"text/csv": {"schema": {"type": "string"}}}}


@router.get(
    "/returns",
    response_model=Returns,
    responses={**openapi_errors(401, 403, 422), 200: CSV},
)
async def returns(
    state: StateDep,
    caller: Reader,
    from_: Annotated[IsoDate, Query(alias="from", description="first day, inclusive")],
    to: Annotated[IsoDate, Query(description="last day, inclusive")],
    origin: Annotated[str | None, Query(pattern=NODE_ID_PATTERN)] = None,
    format: Literal["json", "csv"] = "json",
) -> Any:
    """Counts of a node's denials (this node's unless `origin` names another), revocations,
    consultations and approval notifications between `from` and `to`, as the regimes' annual
    and semi-annual returns need. A notice under several regimes counts in each."""
    who = origin or state.node.identity.node_id
    async with state.db.write() as session:
        try:
            report = await reports.returns(session, origin=who, start=from_, end=to)
        except ValueError as exc:
            raise InvalidInput(str(exc), [{"field": "to", "message": str(exc)}]) from exc
        await audit.record(
            session,
            actor=caller.actor,
            action="report.returns",
            target=who,
            detail={"from": from_.isoformat(), "to": to.isoformat(), "format": format},
            now=state.clock(),
        )
    if format == "csv":
        return Response(report.to_csv(), media_type="text/csv; charset=utf-8")
    return report.to_json()
