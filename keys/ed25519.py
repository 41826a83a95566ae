"""Ed25519 key pairs and the identifiers derived from them (key id, fingerprint).

Wraps `cryptography` (keys, signing) and libsodium through PyNaCl (verification) so the rest
of denex handles raw 32-byte public keys and one `verify` function, never library objects.
"""

import base64
import hashlib
from dataclasses import dataclass
from functools import cached_property

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError

from keys.errors import KeysError


def key_id(public_key: bytes) -> str:
    """The key id: lower-case hex SHA-256 of the 32-byte raw public key."""
    if len(public_key) != 32:
        raise KeysError(f"an Ed25519 public key has 32 bytes, not {len(public_key)}")
    return hashlib.sha256(public_key).hexdigest()


def fingerprint(public_key: bytes) -> str:
    """The fingerprint shown to humans: the key id in groups of four hex digits."""
    kid = key_id(public_key)
    return " ".join(kid[i : i + 4] for i in range(0, len(kid), 4))


def b64(data: bytes) -> str:
    """Standard base64 with padding, the encoding of every key, hash and signature."""
    return base64.b64encode(data).decode("ascii")


def unb64(text: str, *, what: str = "value") -> bytes:
    """Strict, canonical standard base64 decoding (one text per value); raises KeysError."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as exc:
        raise KeysError(f"{what} is not valid standard base64") from exc
    if base64.b64encode(data).decode("ascii") != text:  # unused bits must be zero
        raise KeysError(f"{what} is not canonical standard base64")
    return data


@dataclass(frozen=True)
class KeyPair:
    """An Ed25519 private key with its raw public key and key id."""

    private: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> "KeyPair":
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_raw(cls, raw: bytes) -> "KeyPair":
        """The key pair of a raw 32-byte private key (see `raw_private`)."""
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    def raw_private(self) -> bytes:
        """The raw 32-byte private key, only for handing to a worker process of this node
        (bulk import signs on every core). Never log, store or send it anywhere else."""
        return self.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())

    @cached_property
    def public(self) -> bytes:
        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @cached_property
    def key_id(self) -> str:
        return key_id(self.public)

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)

    def __repr__(self) -> str:  # never print private material
        return f"KeyPair(key_id={self.key_id[:16]}...)"


def verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """True if `signature` is a valid Ed25519 signature of `message` under `public_key`.

    libsodium (`crypto_sign_open`), about twice as fast here as OpenSSL through
    `cryptography` (bench/sync.py measures both), and at least as strict: besides S < L it
    rejects non-canonical and small-order public keys and R values, which OpenSSL accepts.
    """
    if len(public_key) != 32 or len(signature) != 64:
        return False
    try:
        crypto_sign_open(bytes(signature) + bytes(message), bytes(public_key))
    except BadSignatureError:
        return False
    return True
