"""The roster as admins and auditors see it: every peer, its card's facts and its sync status."""

from fastapi import APIRouter

from federation.core.entry import format_time
from keys.ed25519 import fingerprint
from service import roster
from service.api.deps import AuditReader, StateDep
from service.api.idempotency import Idempotent
from service.api.problems import openapi_errors
from service.api.schemas import Peer, PeerList, PeerStatus
from service.sync.status import Status, peer_statuses

router = APIRouter(prefix="/api/v1/peers", tags=["peers"], route_class=Idempotent)


@router.get("", response_model=PeerList, responses=openapi_errors(401, 403, 422))
async def peers(state: StateDep, _caller: AuditReader) -> PeerList:
    """Every peer in the roster, removed ones included (with `removed_at`)."""
    async with state.db.read() as session:
        rows = await roster.list_peers(session)
        statuses = await peer_statuses(
            session,
            now=state.clock(),
            stale_after=state.settings.stale_after,
            me=state.node.identity.node_id,
            content_deadline=state.settings.content_deadline,
            rule_profile=state.settings.rules.hash,
        )
    return PeerList(
        items=[
            Peer(
                node_id=r.node_id,
                name=r.name,
                country=r.country,
                url=r.url,
                regimes=list(r.regimes),
                fingerprint=fingerprint(r.root_key),
                card_version=r.card_version,
                added_at=format_time(r.added_at),
                removed_at=format_time(r.removed_at) if r.removed_at is not None else None,
                status=_status(statuses.get(r.node_id, Status())),
            )
            for r in rows
        ]
    )


def _status(status: Status) -> PeerStatus:
    return PeerStatus(
        last_success=format_time(status.last_success) if status.last_success else None,
        last_error=status.last_error,
        lag=status.lag,
        fresh_at=format_time(status.fresh_at) if status.fresh_at else None,
        rule_profile=status.rule_profile,
        alerts=status.alerts,
    )
