"""The `Idempotency-Key` request header on every POST of the officer and admin API.

`Idempotent` is the route class of the API's routers: its POST routes take an optional
`Idempotency-Key` (an RFC 8941 sf-string such as `"8e03978e-40d5-43e8-bc93-6894a57f9324"`,
or the same characters without the quotes; 1 to 255 visible ASCII characters, no `"` or
`\\`). With a key and a valid bearer token, the request is claimed, run and its answer kept
(service.idempotency): the same request with the same key within 24 hours gets the first
answer again, status and body, with `Idempotent-Replayed: true`, and nothing is done again
but an audit record of the replay (the answer may show a notice's content).
The same key with another request is a 422, a key whose first request is still being answered
a 409, a malformed key a 400. A route class, not a middleware: it runs inside the app's
exception handling, so its refusals are the same problem documents as every other error, and
it documents the header and those answers on exactly the operations it serves.
"""

import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from fastapi.security.utils import get_authorization_scheme_param

from service import idempotency
from service.api.problems import response_description
from service.api.state import AppState
from service.errors import AuthenticationError, BadRequest
from service.tokens import Caller, authenticate

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
_CHARS = r"[!#-\[\]-~]"  # visible ASCII but `"` and `\`
KEY_PATTERN = rf'^(?:"{_CHARS}{{1,{idempotency.MAX_KEY}}}"|{_CHARS}{{1,{idempotency.MAX_KEY}}})$'
_KEY = re.compile(KEY_PATTERN)

PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Makes a retry safe: the same request sent again with the same key (by the same "
        "token, within 24 hours) gets the first answer again, with `Idempotent-Replayed: "
        "true`, and is not done again. The key is an sf-string (RFC 8941; the quotes may be "
        'left out): 1 to 255 visible ASCII characters, no `"` or `\\`; a random UUID is a '
        "good key. The same key with another request is a 422; while the first request is "
        "being answered, a 409. Only successful answers are kept: a refused request wrote "
        "nothing and may be sent again with the same key."
    ),
    "schema": {"type": "string", "pattern": KEY_PATTERN, "maxLength": idempotency.MAX_KEY + 2},
}
ANSWERS = (400, 409, 422)  # a malformed key, a key in flight, a key reused

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def key_of(values: list[str]) -> str | None:
    """The idempotency key a request carries (None without one); BadRequest if malformed."""
    if not values:
        return None
    if len(values) > 1:
        raise BadRequest(f"send at most one {HEADER} header")
    value = values[0].strip()
    if not _KEY.fullmatch(value):
        raise BadRequest(
            f"{HEADER} must be 1 to {idempotency.MAX_KEY} visible ASCII characters without "
            '`"` or `\\`, optionally in double quotes (an RFC 8941 string), such as a UUID'
        )
    return value.removeprefix('"').removesuffix('"')


async def _caller(state: AppState, request: Request) -> Caller | None:
    """The caller a valid bearer token stands for, or None (the route then answers 401)."""
    scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        return await authenticate(state.db, token, now=state.clock())
    except AuthenticationError:
        return None


async def answer_once(request: Request, handler: Handler) -> Response:
    """Run `handler` for this request unless the same request with the same key was answered
    within 24 hours (then send that answer again)."""
    key = key_of(request.headers.getlist(HEADER))
    state: AppState = request.app.state.denex
    caller = None if key is None else await _caller(state, request)
    if key is None or caller is None:
        return await handler(request)
    body = await request.body()  # bounded by service.api.limits; the route reads it again
    claim = idempotency.Claim(
        caller.token_id,
        idempotency.key_digest(key),
        idempotency.fingerprint(request.method, request.url.path, request.url.query, body),
    )
    keys = state.idempotency
    kept = await keys.claim(
        claim, actor=caller.actor, target=f"{request.method} {request.url.path}"
    )
    if kept is not None:
        headers = {REPLAYED: "true"}
        if kept.content_type is not None:
            headers["content-type"] = kept.content_type
        return Response(kept.body, status_code=kept.status, headers=headers)
    try:
        response = await handler(request)
    except Exception:
        await keys.release(claim)  # refused: nothing was written
        raise
    answer = getattr(response, "body", None)
    if 200 <= response.status_code < 300 and isinstance(answer, bytes):
        await keys.keep(
            claim,
            idempotency.Answer(response.status_code, response.headers.get("content-type"), answer),
        )
    else:
        await keys.release(claim)
    return response


class Idempotent(APIRoute):
    """The route class of the officer and admin API: POST routes take `Idempotency-Key`."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = {m.upper() for m in kwargs.get("methods") or ()}
        if "POST" in methods:
            documented = set(kwargs.get("responses") or {})
            extra = dict(kwargs.get("openapi_extra") or {})
            extra["parameters"] = [*extra.get("parameters", []), PARAMETER]
            extra["responses"] = {
                **{
                    str(code): {"description": response_description(code)}
                    for code in ANSWERS
                    if code not in documented
                },
                **extra.get("responses", {}),
            }
            kwargs["openapi_extra"] = extra
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        if "POST" not in (self.methods or ()):
            return handler

        async def idempotent(request: Request) -> Response:
            return await answer_once(request, handler)

        return idempotent
