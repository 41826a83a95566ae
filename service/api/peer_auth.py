"""Peer authentication for `/federation/v1`: the caller is the roster peer whose signing key
made the request's RFC 9421 signature (DESIGN §5), for this node, once.

The dependency rebuilds what the peer must have signed: the method, the URL addressed to
THIS node — its published URL (the card's `url`: scheme, authority and any path prefix) with
the request's raw path below the app's root and raw query — and the body (bounded by
service.api.limits). The request's `Host` is never trusted for this (nor any
`X-Forwarded-*`), so a signature a partner made for another node's URL does not verify here.
The key id is looked up among the keys active peers may use now
(service.peer_keys.peer_signing_keys, through one PeerKeyCache per app), the signature is
verified with federation.core.httpsig, and its replay key is recorded (service.api.replays): a
second use is refused. Every failure is a PeerAuthenticationError, a 401 problem document.
"""

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request

from federation.core import httpsig
from federation.core.errors import PeerAuthError
from service.api.access import note_peer
from service.api.deps import StateDep
from service.api.replays import ReplayCache
from service.api.state import AppState
from service.errors import PeerAuthenticationError
from service.peer_keys import PeerKeyCache


def addressed_url(request: Request, published: str) -> str:
    """The absolute URL a peer must have signed to reach this node: `published` (its card's
    URL) joined with the request's raw path below the app's root and its raw query."""
    scope = request.scope
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    path = raw_path.decode("latin-1")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    query: bytes = scope.get("query_string", b"")
    url = published.rstrip("/") + path
    return url + (f"?{query.decode('latin-1')}" if query else "")


def _misaddressed(request: Request, published: str) -> str:
    """Why a failed signature may have been meant for another node ('' if nothing says so)."""
    host = request.headers.get("host", "")
    ours = urlsplit(published).netloc
    if host and host.lower() != ours.lower():
        return f" (this node is {ours}; the request was addressed to {host})"
    return ""


def _caches(request: Request, state: AppState) -> tuple[PeerKeyCache, ReplayCache]:
    app_state = request.app.state
    if getattr(app_state, "peer_keys", None) is None:
        app_state.peer_keys = PeerKeyCache()
    if getattr(app_state, "replays", None) is None:
        app_state.replays = ReplayCache.in_dir(state.settings.data_dir)
    return app_state.peer_keys, app_state.replays


async def get_peer(request: Request, state: StateDep) -> str:
    """The node id of the roster peer that signed this request for this node; 401 otherwise."""
    if "signature" not in request.headers or "signature-input" not in request.headers:
        raise PeerAuthenticationError(
            "federation requests need an RFC 9421 signature (Signature-Input and Signature) "
            "made with a roster peer's signing key"
        )
    body = await request.body()
    now = state.clock()
    keys_cache, replays = _caches(request, state)
    keys = await keys_cache.get(state.db.read, now)
    published = state.node.identity.url
    try:
        verified = httpsig.verify_request(
            request.method,
            addressed_url(request, published),
            request.headers.items(),
            body,
            keys={kid: peer.key for kid, peer in keys.items()},
            now=now,
        )
    except PeerAuthError as exc:
        raise PeerAuthenticationError(
            f"peer signature refused: {exc}{_misaddressed(request, published)}"
        ) from exc
    peer = keys[verified.key_id].node_id
    await replays.admit(verified, peer=peer, now=int(now.timestamp()))
    note_peer(request, peer)
    return peer


PeerCaller = Annotated[str, Depends(get_peer)]
