"""Node cards: a node's identity and keys, signed by its root key as a DSSE envelope.

`make_card` builds and signs the card body; `verify_card` checks that the envelope is signed
by the root key named inside it (self-certifying; the fingerprint is checked out of band).
"""

import json
from dataclasses import dataclass
from typing import Any

from keys.canonical import canonical_bytes
from keys.dsse import CARD_TYPE, open_envelope, sign_envelope, verify_envelope
from keys.ed25519 import KeyPair, b64, fingerprint, key_id, unb64
from keys.errors import EnvelopeError, KeysError

CARD_FIELDS = frozenset(
    {
        "federation",
        "node_id",
        "country",
        "name",
        "url",
        "root_key",
        "signing_keys",
        "regimes",
        "card_version",
        "issued_at",
    }
)


def card_body(
    *,
    federation: str,
    node_id: str,
    country: str,
    name: str,
    url: str,
    root_key: bytes,
    signing_keys: list[bytes],
    regimes: list[str],
    card_version: int,
    issued_at: str,
) -> dict[str, Any]:
    return {
        "federation": federation,
        "node_id": node_id,
        "country": country,
        "name": name,
        "url": url,
        "root_key": b64(root_key),
        "signing_keys": [{"key_id": key_id(k), "key": b64(k)} for k in signing_keys],
        "regimes": sorted(regimes),
        "card_version": card_version,
        "issued_at": issued_at,
    }


def make_card(body: dict[str, Any], root: KeyPair) -> bytes:
    if body.get("root_key") != b64(root.public):
        raise KeysError("a card must be signed by the root key it names")
    return sign_envelope(CARD_TYPE, canonical_bytes(body), root)


@dataclass(frozen=True)
class Card:
    body: dict[str, Any]
    root_key: bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.root_key)


def verify_card(data: bytes) -> Card:
    """Verify a card envelope against the root key it names; raise EnvelopeError if not."""
    env = open_envelope(data)
    try:
        body = json.loads(env.payload)
        root = unb64(str(body["root_key"]), what="root_key")
    except (ValueError, KeyError, TypeError, KeysError) as exc:
        raise EnvelopeError(f"card payload is malformed: {exc}") from exc
    verified = verify_envelope(data, {key_id(root): root}, payload_type=CARD_TYPE)
    if set(verified.body) != CARD_FIELDS:
        raise EnvelopeError(f"card must have exactly the fields {sorted(CARD_FIELDS)}")
    return Card(body=verified.body, root_key=root)
