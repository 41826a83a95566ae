"""Evidence bundles for auditors (DESIGN §9)."""

from fastapi import APIRouter, Response

from service import audit
from service.api.deps import Reader, StateDep
from service.api.problems import openapi_errors
from service.api.routes.notices import NoticeId
from service.evidence import build_bundle

router = APIRouter(prefix="/api/v1/evidence", tags=["evidence"])


@router.get(
    "/{notice_id}",
    response_class=Response,
    responses={
        200: {
            "description": "The bundle: one RFC 8785 JSON object (see `denex verify`)",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        **openapi_errors(401, 403, 404, 409, 422),
    },
)
async def evidence(state: StateDep, caller: Reader, notice_id: NoticeId) -> Response:
    """An offline-verifiable evidence bundle for one of this node's notices."""
    now = state.clock()
    async with state.db.write() as session:
        bundle = await build_bundle(session, state.node.identity, notice_id)
        await audit.record(
            session,
            actor=caller.actor,
            action="evidence.export",
            target=notice_id,
            detail={},
            now=now,
        )
    return Response(bundle, media_type="application/json")
