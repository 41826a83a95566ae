"""The HTTP side of talking to peers: every federation request signed as this node.

`PeerAuth` is an `httpx.Auth` that signs each request with the node's signing key (RFC 9421,
federation.core.httpsig), adding a Content-Digest when there is a body and a random nonce (a
receiver accepts each signature once, so two identical requests of one second must differ).
Give it to the injected `httpx.AsyncClient` (or `httpx.Client`) that talks to peers, and send
requests to the peer's published URL (its card's `url`): the signature is addressed to it.
"""

import secrets
from collections.abc import Callable, Generator
from datetime import UTC, datetime

import httpx

from federation.core import httpsig
from keys.ed25519 import KeyPair


def _utc_now() -> datetime:
    return datetime.now(UTC)


class PeerAuth(httpx.Auth):
    """Sign every request as this node: Ed25519, keyid = the signing key's key id, covering
    method, authority, path, query and (with a body) Content-Digest; `created` from `clock`.

    `key` may be a callable returning the key in force, so a rotation is picked up at once."""

    requires_request_body = True

    def __init__(
        self,
        key: KeyPair | Callable[[], KeyPair],
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._key = key
        self._clock = clock

    @property
    def key(self) -> KeyPair:
        return self._key if isinstance(self._key, KeyPair) else self._key()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        for name in ("Signature", "Signature-Input", "Content-Digest"):
            request.headers.pop(name, None)  # a retried request is signed afresh
        fields = httpsig.sign_request(
            request.method,
            str(request.url),
            body=request.content,
            key=self.key,
            now=self._clock(),
            nonce=secrets.token_urlsafe(12),
        )
        request.headers.update(fields)
        yield request
