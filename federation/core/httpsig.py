"""RFC 9421 HTTP message signatures of federation requests, and RFC 9530 Content-Digest.

Owns the denex profile of the standard (DESIGN §5): Ed25519 only, chosen by the verifier and
never by the request; `keyid` = the signing key's key id; covered components `"@method"
"@authority" "@path" "@query"`, plus `"content-digest"` (sha-256) when there is a body;
`created` within ±300 s of the verifier's clock; an optional `nonce`. Signature bases,
structured fields and digests come from the `http-message-signatures` package
(docs/decisions/0011-peer-auth.md); this module fixes its policy and gives it an explicit
`now`. Which keys to trust, which URL a request was addressed to and which signatures were
already used are the caller's: it passes the first two in and keeps the third by
`Verified.replay_key`. No I/O.
"""

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from http_message_signatures import (
    ContentDigest,
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    algorithms,
)

from federation.core.errors import PeerAuthError
from keys.ed25519 import KeyPair

COMPONENTS = ("@method", "@authority", "@path", "@query")
DIGEST = "content-digest"
WINDOW_SECONDS = 300
LABEL = "sig1"


class _Fields:
    """Header field lines in wire order, as the package reads them; writes go to `added`."""

    def __init__(self, lines: Iterable[tuple[str, str]]) -> None:
        self.lines = list(lines)
        self.added: dict[str, str] = {}

    def items(self) -> list[tuple[str, str]]:
        return [*self.lines, *self.added.items()]

    def __iter__(self) -> Any:
        return iter(dict.fromkeys(name for name, _ in self.items()))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(n.lower() == name.lower() for n, _ in self.items())

    def __setitem__(self, name: str, value: str) -> None:
        self.added[name] = value

    def __delitem__(self, name: str) -> None:
        self.lines = [(n, v) for n, v in self.lines if n.lower() != name.lower()]
        self.added.pop(name, None)


@dataclass
class _Message:
    method: str
    url: str
    headers: _Fields


def _lines(headers: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> list[tuple[str, str]]:
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        return list(headers.items())
    return list(headers)


def content_digest(body: bytes) -> str:
    """The RFC 9530 `Content-Digest` field value of `body` (sha-256)."""
    return ContentDigest.create(body)


def check_content_digest(value: str, body: bytes) -> None:
    """Raise PeerAuthError unless the `Content-Digest` value matches `body`."""
    try:
        ContentDigest.verify(value, body)
    except HTTPMessageSignaturesException as exc:
        raise PeerAuthError(f"Content-Digest: {exc}") from exc


def signature_base(
    method: str,
    url: str,
    *,
    key_id: str,
    created: datetime,
    headers: Mapping[str, str] | None = None,
    components: Sequence[str] = COMPONENTS,
    include_alg: bool = True,
) -> bytes:
    """The RFC 9421 signature base of a request (what the signature is made over)."""
    message = _Message(method, url, _Fields(_lines(headers)))
    try:
        prepared = HTTPMessageSigner(signature_algorithm=algorithms.ED25519).prepare(
            message,
            key_id=key_id,
            created=created,
            include_alg=include_alg,
            covered_component_ids=components,
        )
    except HTTPMessageSignaturesException as exc:
        raise PeerAuthError(f"cannot sign this request: {exc}") from exc
    return prepared.signature_base


class _OneKey(HTTPSignatureKeyResolver):
    def __init__(self, key_id: str, key: KeyPair) -> None:
        self.key_id, self.key = key_id, key

    def resolve_private_key(self, key_id: str) -> Any:
        return self.key.private

    def resolve_public_key(self, key_id: str) -> Any:  # pragma: no cover (signing only)
        return None


def sign_request(
    method: str,
    url: str,
    *,
    body: bytes,
    key: KeyPair,
    now: datetime,
    headers: Mapping[str, str] | None = None,
    components: Sequence[str] = COMPONENTS,
    key_id: str | None = None,
    label: str = LABEL,
    include_alg: bool = True,
    nonce: str | None = None,
) -> dict[str, str]:
    """Sign a request; return the fields to add to it: `Signature-Input`, `Signature`, and
    `Content-Digest` (covered too) when `body` is not empty. `url` is the absolute, encoded
    URL the request is sent to (the receiver's published URL: it checks `@authority`
    against its own); `headers` are needed only if `components` cover fields. A `nonce`
    makes two otherwise identical requests of one second differ (each signature is
    accepted once)."""
    message = _Message(method, url, _Fields(_lines(headers)))
    kid = key.key_id if key_id is None else key_id
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519, key_resolver=_OneKey(kid, key)
    )
    try:
        signer.sign(
            message,
            key_id=kid,
            created=now,
            label=label,
            include_alg=include_alg,
            covered_component_ids=components,
            body=body or None,
            nonce=nonce,
        )
    except HTTPMessageSignaturesException as exc:
        raise PeerAuthError(f"cannot sign this request: {exc}") from exc
    return dict(message.headers.added)


@dataclass(frozen=True)
class Verified:
    """A verified request signature: who signed it (key id), when (`created`), and what
    identifies it for replay detection: the SHA-256 of its signature base, which names the
    key (`keyid`); one key and one base make one valid Ed25519 signature, so a replayed
    signature has the same replay key."""

    key_id: str
    created: int
    label: str
    replay_key: bytes


class _TrustedKeys(HTTPSignatureKeyResolver):
    def __init__(self, keys: Mapping[str, bytes]) -> None:
        self.keys = keys

    def resolve_public_key(self, key_id: str) -> Any:
        raw = self.keys.get(key_id)
        if raw is None:
            raise InvalidSignature(f"keyid {key_id[:16]}... is not a signing key of any peer")
        return Ed25519PublicKey.from_public_bytes(raw)

    def resolve_private_key(self, key_id: str) -> Any:  # pragma: no cover (verifying only)
        raise InvalidSignature("no private keys here")


class _Verifier(HTTPMessageVerifier):
    """The package's verifier with an explicit clock and a symmetric window on `created`."""

    def __init__(self, keys: Mapping[str, bytes], *, now: datetime, window: int) -> None:
        super().__init__(signature_algorithm=algorithms.ED25519, key_resolver=_TrustedKeys(keys))
        self.now, self.window = int(now.timestamp()), window

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        created = sig_input.params.get("created")
        if type(created) is not int:
            raise InvalidSignature("the signature has no integer `created` parameter")
        if abs(created - self.now) > self.window:
            raise InvalidSignature(
                f"created {created} is {created - self.now:+d} s from this server's clock "
                f"(allowed: ±{self.window} s)"
            )
        expires = sig_input.params.get("expires")
        if expires is not None and (type(expires) is not int or expires < self.now):
            raise InvalidSignature("the signature has expired")


def verify_request(
    method: str,
    url: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes,
    *,
    keys: Mapping[str, bytes],
    now: datetime,
    window: int = WINDOW_SECONDS,
    required: Sequence[str] = COMPONENTS,
) -> Verified:
    """Verify the one RFC 9421 signature of a request against `keys` (key id -> raw Ed25519
    public key) with Ed25519, whatever the request says. The signature must cover `required`,
    and `content-digest` matching `body` when there is a body. Raise PeerAuthError saying
    what failed."""
    message = _Message(method, url, _Fields(_lines(headers)))
    if "signature-input" not in message.headers or "signature" not in message.headers:
        raise PeerAuthError("the request is not signed (no Signature-Input and Signature fields)")
    need = [*required, DIGEST] if body else list(required)
    verifier = _Verifier(keys, now=now, window=window)
    try:
        [result] = verifier.verify(message, max_age=None, require_components=need, body=body)
    except HTTPMessageSignaturesException as exc:  # InvalidSignature is one
        raise PeerAuthError(str(exc) or "the signature does not verify") from exc
    except ValueError as exc:  # more than one signature selected
        raise PeerAuthError("the request must carry exactly one signature") from exc
    created = result.parameters["created"]
    base = "\n".join(f"{name}: {value}" for name, value in result.covered_components.items())
    return Verified(
        key_id=str(result.parameters["keyid"]),
        created=int(created),
        label=result.label,
        replay_key=hashlib.sha256(base.encode()).digest(),
    )
