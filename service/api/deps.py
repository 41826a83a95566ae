"""FastAPI dependencies: the app state, and the caller authenticated by bearer token and role."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.api.access import note_token
from service.api.state import AppState
from service.errors import AuthenticationError, PermissionDenied
from service.tokens import Caller, authenticate

_bearer = HTTPBearer(auto_error=False, description="A token from `denex token create`")


async def get_state(request: Request) -> AppState:  # async: a plain def runs in a thread
    state: AppState = request.app.state.denex
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_caller(
    state: StateDep,
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationError("send `Authorization: Bearer <token>`")
    caller = await authenticate(state.db, credentials.credentials, now=state.clock())
    note_token(request, role=caller.role, token_id=caller.token_id)
    return caller


def require(*roles: str) -> object:
    async def _check(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
        if caller.role not in roles:
            raise PermissionDenied(
                f"role {caller.role} may not do this (needs {' or '.join(roles)})"
            )
        return caller

    return Depends(_check)


Officer = Annotated[Caller, require("officer")]
Reader = Annotated[Caller, require("officer", "auditor")]
AuditReader = Annotated[Caller, require("auditor", "admin")]
