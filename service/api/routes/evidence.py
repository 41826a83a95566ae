"""Evidence bundles for auditors (DESIGN §9)."""

from fastapi import APIRouter, Response

from service import audit
from service.api.deps import Reader, StateDep
from service.api.idempotency import Idempotent
from service.api.problems import openapi_errors
from service.api.routes.notices import NoticeId, Origin
from service.api.state import AppState
from service.evidence.build import build_bundle

router = APIRouter(prefix="/api/v1/evidence", tags=["evidence"], route_class=Idempotent)

BUNDLE = {
    200: {
        "description": "The bundle: one RFC 8785 JSON object (see `denex verify`)",
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
    **openapi_errors(401, 403, 404, 409, 422),
}


async def _bundle(state: AppState, actor: str, origin: str | None, notice_id: str) -> Response:
    now = state.clock()
    async with state.db.write() as session:
        bundle = await build_bundle(session, state.node.identity, notice_id, origin)
        await audit.record(
            session,
            actor=actor,
            action="evidence.export",
            target=f"{origin or state.node.identity.node_id}/{notice_id}",
            detail={},
            now=now,
        )
    return Response(bundle, media_type="application/json")


@router.get("/{origin}/{notice_id}", response_class=Response, responses=BUNDLE)
async def evidence(
    state: StateDep, caller: Reader, origin: Origin, notice_id: NoticeId
) -> Response:
    """An offline-verifiable evidence bundle for the notice `origin/notice_id` that this node
    holds, its own or a partner's (proven to the newest checkpoint of that origin's log this
    node verified; 409 if the origin is no longer in the roster)."""
    return await _bundle(state, caller.actor, origin, notice_id)


@router.get("/{notice_id}", response_class=Response, responses=BUNDLE)
async def own_evidence(state: StateDep, caller: Reader, notice_id: NoticeId) -> Response:
    """An offline-verifiable evidence bundle for one of this node's notices (the short form
    of `/{origin}/{notice_id}`)."""
    return await _bundle(state, caller.actor, None, notice_id)
