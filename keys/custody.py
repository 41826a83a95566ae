"""Private keys at rest: encrypted PKCS#8 PEM files, mode 0600, passphrase passed in.

The passphrase is resolved by the caller (settings); this module never reads the environment
and never logs or returns key material other than the KeyPair itself.
"""

import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from keys.ed25519 import KeyPair
from keys.errors import InsecureKeyError, KeyFileError, PassphraseError

ENCRYPTED_MARKER = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"


def save_key(path: Path, key: KeyPair, passphrase: bytes | None) -> None:
    """Write `key` as PKCS#8 PEM, encrypted when a passphrase is given, with mode 0600."""
    encryption = BestAvailableEncryption(passphrase) if passphrase else NoEncryption()
    pem = key.private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, encryption)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def load_key(path: Path, passphrase: bytes | None, *, allow_unencrypted: bool) -> KeyPair:
    """Read a key written by `save_key`; refuse unencrypted keys unless explicitly allowed."""
    try:
        mode = path.stat().st_mode
        pem = path.read_bytes()
    except FileNotFoundError as exc:
        raise KeyFileError(f"key file {path} does not exist") from exc
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"key file {path} is readable by others (chmod 600 it)")
    encrypted = pem.lstrip().startswith(ENCRYPTED_MARKER)
    if not encrypted and not allow_unencrypted:
        raise InsecureKeyError(
            f"key file {path} is not encrypted; set DENEX_INSECURE_DEV_KEYS=1 only for development"
        )
    if encrypted and not passphrase:
        raise PassphraseError(
            f"key file {path} is encrypted: set DENEX_KEY_PASSPHRASE or DENEX_KEY_PASSPHRASE_FILE"
        )
    try:
        private = load_pem_private_key(pem, password=passphrase if encrypted else None)
    except (ValueError, TypeError) as exc:
        if encrypted:
            raise PassphraseError(f"wrong passphrase for key file {path}") from exc
        raise KeyFileError(f"key file {path} is not a valid PKCS#8 PEM key") from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyFileError(f"key file {path} does not hold an Ed25519 key")
    return KeyPair(private)
