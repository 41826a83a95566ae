"""Liveness, readiness and Prometheus metrics: open to anyone, reveal no data."""

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import select

from federation.tables import LogRow
from service.api.deps import StateDep
from service.api.problems import problem
from service.api.schemas import Health
from service.errors import SchemaError
from service.storage.migrate import check_current

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    responses={503: {"description": "Database unreachable or schema not at head"}},
)
async def readyz(state: StateDep) -> Response:
    """The database answers and its schema is at head."""
    try:
        await check_current(state.db.engine)
    except (SchemaError, OSError) as exc:
        return problem(503, "Service Unavailable", str(exc))
    return Response(Health(status="ok").model_dump_json(), media_type="application/json")


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(state: StateDep) -> Response:
    """Prometheus text exposition."""
    async with state.db.read() as session:
        for origin, size in await session.execute(select(LogRow.origin, LogRow.size)):
            state.metrics.entries.labels(origin).set(size)
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
