"""The rule profile this node runs under (decision 0034), and the header that shows its hash
on every answer, so that a peer syncing from this node sees whether both run the same rules."""

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.deps import Reader, StateDep
from service.api.idempotency import Idempotent
from service.api.problems import openapi_errors
from service.rules.profile import PROFILE_HEADER

_NAME = PROFILE_HEADER.lower().encode()
router = APIRouter(prefix="/api/v1/rules", tags=["rules"], route_class=Idempotent)


class Rules(BaseModel):
    hash: str = Field(description="sha256: over the profile's RFC 8785 bytes")
    profile: dict[str, Any] = Field(description="the rule profile document (docs/rules.md)")


@router.get("", response_model=Rules, responses=openapi_errors(401, 403, 422))
async def rules(state: StateDep, _caller: Reader) -> Rules:
    """The rule profile: per regime, whether denials lapse at their review date or stay in
    force until revoked, the consultation duty and reply window, and who is owed an approval
    notification by when. Every node of a federation should show the same hash."""
    profile = state.settings.rules
    return Rules(hash=profile.hash, profile=profile.document())


class ProfileHeader:
    """Adds `Denex-Rule-Profile: sha256:...` to every answer of a node whose state is open."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = getattr(scope["app"].state, "denex", None) if "app" in scope else None
        if scope["type"] != "http" or state is None:
            await self.app(scope, receive, send)
            return
        header = (_NAME, state.settings.rules.hash.encode())

        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await self.app(scope, receive, with_header)
