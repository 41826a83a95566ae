"""DSSE v1 envelopes: the pre-authentication encoding, signing and verify-then-parse.

An envelope is `{"payloadType", "payload", "signatures": [{"keyid", "sig"}]}` serialised as
RFC 8785; denex envelopes carry exactly one signature.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from keys.canonical import canonical_bytes, parse_canonical
from keys.ed25519 import KeyPair, b64, unb64, verify
from keys.errors import CanonicalError, EnvelopeError, KeysError

ENTRY_TYPE = "application/vnd.denex.entry+json; v=1"
CARD_TYPE = "application/vnd.denex.card+json; v=1"
MAX_ENVELOPE_BYTES = 64 * 1024


def pae(payload_type: str, body: bytes) -> bytes:
    """PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body."""
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(type_bytes), type_bytes, len(body), body)


def sign_envelope(payload_type: str, payload: bytes, key: KeyPair) -> bytes:
    """Sign canonical `payload` bytes and return the envelope's canonical bytes."""
    signature = key.sign(pae(payload_type, payload))
    envelope = {
        "payloadType": payload_type,
        "payload": b64(payload),
        "signatures": [{"keyid": key.key_id, "sig": b64(signature)}],
    }
    return canonical_bytes(envelope)


@dataclass(frozen=True)
class Envelope:
    """The parts of a structurally valid envelope whose signature has not been checked yet."""

    payload_type: str
    payload: bytes
    key_id: str
    signature: bytes


@dataclass(frozen=True)
class Verified:
    """A verified envelope: the signer's key id and the parsed canonical payload."""

    payload_type: str
    payload: bytes
    key_id: str
    body: dict[str, Any]


def open_envelope(data: bytes, *, max_bytes: int = MAX_ENVELOPE_BYTES) -> Envelope:
    """Check an envelope's structure (canonical, exact fields, one signature); no crypto."""
    if len(data) > max_bytes:
        raise EnvelopeError(f"envelope of {len(data)} bytes exceeds {max_bytes}")
    try:
        obj = parse_canonical(data, what="envelope")
    except CanonicalError as exc:
        raise EnvelopeError(str(exc)) from exc
    if not isinstance(obj, dict) or set(obj) != {"payloadType", "payload", "signatures"}:
        raise EnvelopeError("envelope must have exactly payloadType, payload and signatures")
    sigs = obj["signatures"]
    if not isinstance(sigs, list) or len(sigs) != 1:
        raise EnvelopeError("envelope must carry exactly one signature")
    sig = sigs[0]
    if not isinstance(sig, dict) or set(sig) != {"keyid", "sig"}:
        raise EnvelopeError("signature must have exactly keyid and sig")
    fields = (obj["payloadType"], obj["payload"], sig["keyid"], sig["sig"])
    if not all(isinstance(f, str) for f in fields):
        raise EnvelopeError("envelope fields must be strings")
    try:
        payload = unb64(obj["payload"], what="payload")
        signature = unb64(sig["sig"], what="signature")
    except KeysError as exc:
        raise EnvelopeError(str(exc)) from exc
    return Envelope(obj["payloadType"], payload, sig["keyid"], signature)


def verify_envelope(data: bytes, trusted: Mapping[str, bytes], *, payload_type: str) -> Verified:
    """Verify `data` against the `trusted` keys (key id -> raw public key), then parse.

    Raises EnvelopeError naming what failed: structure, type, unknown key, bad signature, or
    a payload that is not a canonical JSON object.
    """
    env = open_envelope(data)
    if env.payload_type != payload_type:
        raise EnvelopeError(f"payloadType {env.payload_type!r} is not {payload_type!r}")
    public = trusted.get(env.key_id)
    if public is None:
        raise EnvelopeError(f"signed by unknown key {env.key_id[:16]}...")
    if not verify(public, env.signature, pae(env.payload_type, env.payload)):
        raise EnvelopeError(f"signature by key {env.key_id[:16]}... does not verify")
    try:
        body = parse_canonical(env.payload, what="payload")
    except CanonicalError as exc:
        raise EnvelopeError(str(exc)) from exc
    if not isinstance(body, dict):
        raise EnvelopeError("payload must be a JSON object")
    return Verified(env.payload_type, env.payload, env.key_id, body)
