"""Request bodies, bounded before and while they are read, and JSON only.

`BodyLimit` is a plain ASGI middleware in front of every route. A request whose
Content-Length exceeds the cap of its endpoint family, or that carries a body declared as
anything but JSON, is refused (413, 415) before a byte of its body is read. Any other body
is passed on as it streams and counted: the chunk that crosses the cap raises
`PayloadTooLarge` (413, mapped in service.api.problems), so a chunked body without a length
is never buffered past the cap either. Routes read bodies as usual (`request.body()`).
"""

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.problems import problem
from service.errors import PayloadTooLarge

FEDERATION_BODY = 64 * 1024  # the largest federation request body (a hint is ~50 bytes)
API_BODY = 1024 * 1024  # the largest officer or admin request body (a notice of <= 256 KiB)


def body_cap(path: str) -> int:
    """The most bytes a request body to `path` (below the app's root) may have."""
    return FEDERATION_BODY if path.startswith("/federation/") else API_BODY


def is_json(content_type: str | None) -> bool:
    """Is this Content-Type JSON (`application/json` or `application/<something>+json`)?"""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class BodyLimit:
    """Refuse what the headers say is too large or not JSON; cap what streams in."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        cap = body_cap(path)
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        declared = int(length) if length is not None and length.isdigit() else None
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        refusal = None
        if declared is not None and declared > cap:
            refusal = problem("payload-too-large", _too_large(cap))
        elif (chunked or (declared or 0) > 0) and not is_json(headers.get("content-type")):
            refusal = problem("unsupported-media-type", not_json(headers.get("content-type")))
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise PayloadTooLarge(_too_large(cap))
            return message

        await self.app(scope, counted, send)


def not_json(content_type: str | None) -> str:
    """Why a body declared as `content_type` is refused, in words."""
    if content_type is None:
        return "request bodies are JSON: send Content-Type: application/json"
    shown = (
        content_type
        if content_type.isprintable()
        else content_type.encode("unicode_escape").decode("ascii")
    )
    return f"request bodies are JSON: Content-Type {shown[:100]} is not application/json"


def _too_large(cap: int) -> str:
    return f"the request body exceeds {cap} bytes, the most this endpoint accepts"
