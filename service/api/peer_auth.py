"""Peer authentication for `/federation/v1`: the caller is the roster peer whose signing key
made the request's RFC 9421 signature (DESIGN §5).

The dependency rebuilds what the peer signed (method, the URL as received: Host, raw path
and query, the raw body), looks the key id up among the keys active peers may use now
(service.roster.peer_signing_keys, through one PeerKeyCache per app) and verifies with
federation.httpsig. Every failure is a
PeerAuthenticationError, a 401 problem document.
"""

from typing import Annotated

from fastapi import Depends, Request

from federation import httpsig
from federation.errors import PeerAuthError
from service.api.deps import StateDep
from service.errors import BadRequest, PeerAuthenticationError
from service.roster import PeerKeyCache

MAX_SIGNED_BODY = 1024 * 1024


def received_url(request: Request) -> str:
    """The absolute URL as the client addressed it: scheme, Host, raw path, query string."""
    scope = request.scope
    host = request.headers.get("host")
    if not host:
        raise PeerAuthenticationError("the request has no Host field, so @authority is unknown")
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    query: bytes = scope.get("query_string", b"")
    url = f"{scope.get('scheme', 'http')}://{host}{raw_path.decode('latin-1')}"
    return url + (f"?{query.decode('latin-1')}" if query else "")


async def get_peer(request: Request, state: StateDep) -> str:
    """The node id of the roster peer that signed this request; 401 otherwise."""
    if "signature" not in request.headers or "signature-input" not in request.headers:
        raise PeerAuthenticationError(
            "federation requests need an RFC 9421 signature (Signature-Input and Signature) "
            "made with a roster peer's signing key"
        )
    length = request.headers.get("content-length", "0")
    if not length.isdigit() or int(length) > MAX_SIGNED_BODY:
        raise BadRequest(f"a federation request body has at most {MAX_SIGNED_BODY} bytes")
    body = await request.body()
    if len(body) > MAX_SIGNED_BODY:
        raise BadRequest(f"a federation request body has at most {MAX_SIGNED_BODY} bytes")
    now = state.clock()
    cache: PeerKeyCache | None = getattr(request.app.state, "peer_keys", None)
    if cache is None:
        cache = request.app.state.peer_keys = PeerKeyCache()
    keys = await cache.get(state.db.read, now)
    try:
        verified = httpsig.verify_request(
            request.method,
            received_url(request),
            request.headers.items(),
            body,
            keys={kid: peer.key for kid, peer in keys.items()},
            now=now,
        )
    except PeerAuthError as exc:
        raise PeerAuthenticationError(f"peer signature refused: {exc}") from exc
    return keys[verified.key_id].node_id


PeerCaller = Annotated[str, Depends(get_peer)]
