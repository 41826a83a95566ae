"""The access log: one line per HTTP request, at INFO on the `denex.access` logger.

Fields: `method`; `path`, the route template (`/api/v1/notices/{origin}/{notice_id}`), or
for a request no route matched the raw path as sent, cut to PATH_CHARS; `status`;
`duration_ms`; `caller`, which credential the request carried: the token's role (`officer`,
`auditor`, `admin`) with `token_id` (the id `denex token list` shows and `token revoke`
takes), `peer` with `peer` (the roster node whose signature verified), or `anonymous`
(none, or one that was refused). Never logged: the token, any header, the query string
(search terms name parties), the body, a token's name (it may name a person), the client's
address (the reverse proxy in front of a production node logs that). The routes' auth
dependencies say who called (`note_token`, `note_peer`); the `Measure` middleware writes the
line (service.api.app), unless the operator turned it off (DENEX_ACCESS_LOG=0).
"""

import logging

from starlette.requests import Request
from starlette.types import Scope

log = logging.getLogger("denex.access")

PATH_CHARS = 200
_CALLER = "denex_caller"  # where in the request's state the auth dependencies note the caller


def note_token(request: Request, *, role: str, token_id: str) -> None:
    setattr(request.state, _CALLER, {"caller": role, "token_id": token_id})


def note_peer(request: Request, peer: str) -> None:
    setattr(request.state, _CALLER, {"caller": "peer", "peer": peer})


def route_template(scope: Scope) -> str | None:
    """The matched route's path as documented (`{notice_id}`, without a convertor's name)."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else None


def _path(scope: Scope) -> str:
    template = route_template(scope)
    if template is not None:
        return template
    raw: bytes = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "replace")
    text = raw.split(b"?", 1)[0].decode("ascii", "backslashreplace")
    visible = "".join(c if "!" <= c <= "~" else f"\\x{ord(c):02x}" for c in text)
    return visible[:PATH_CHARS]


def record(scope: Scope, *, status: int, seconds: float) -> None:
    """Write the access-log line of one finished request."""
    if not log.isEnabledFor(logging.INFO):
        return
    state = scope.get("state")
    caller = dict((state or {}).get(_CALLER) or {"caller": "anonymous"})
    fields = {
        "method": scope.get("method", ""),
        "path": _path(scope),
        "status": status,
        "duration_ms": round(seconds * 1000, 1),
        **caller,
    }
    who = caller.get("token_id") or caller.get("peer")
    log.info(
        "%s %s %d %.1f ms %s",
        fields["method"],
        fields["path"],
        status,
        fields["duration_ms"],
        f"{caller['caller']}:{who}" if who else caller["caller"],
        extra=fields,
    )
