"""Liveness, readiness and Prometheus metrics: open to anyone, reveal no data."""

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from service.api.deps import StateDep
from service.api.problems import problem
from service.api.schemas import Health
from service.errors import SchemaError
from service.gauges import read_gauges
from service.storage.migrate import check_current

APPENDS_STOPPED = "not ready: appends stopped"

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    responses={
        503: {
            "description": "Database unreachable, schema not at head, or appends to this "
            "node's log stopped (`not ready: appends stopped: <reason>`: the start-up check "
            "of what peers hold of it still running, a restored backup awaiting `denex "
            "recover`, or a different copy of it signed by its key)"
        }
    },
)
async def readyz(state: StateDep) -> Response:
    """The database answers, its schema is at head, and this node may append to its log
    (the start-up check of the peers' copies of it is done, and nothing stopped appends)."""
    try:
        await check_current(state.db.engine)
    except (SchemaError, OSError) as exc:
        return problem("unavailable", str(exc))
    own = await state.db.point_read(
        "SELECT frozen_reason FROM logs WHERE origin = :origin",
        {"origin": state.node.identity.node_id},
    )
    if own is not None and own[0] is not None:
        return problem("unavailable", f"{APPENDS_STOPPED}: {own[0]}")
    return Response(Health(status="ok").model_dump_json(), media_type="application/json")


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(state: StateDep) -> Response:
    """Prometheus text exposition: counts of every worker, and what the database says of
    sync, peers, quarantine, frozen logs, appends and consultations (service.metrics)."""
    async with state.db.read() as session:
        gauges = await read_gauges(session, me=state.node.identity.node_id, now=state.clock())
    text = state.metrics.exposition(gauges, index_notices=len(state.screening.screener))
    return Response(text, media_type=CONTENT_TYPE_LATEST)
