"""Private keys at rest: encrypted PKCS#8 PEM files, mode 0600, passphrase passed in.

Encrypted files use PBES2 with PBKDF2-HMAC-SHA256 at 600,000 iterations (keys.pkcs8); files
written with a weaker KDF still load, and `kdf_of_file` tells the caller to re-encrypt them
(`replace_key`). A key that must no longer exist is overwritten and unlinked (`destroy`).
The passphrase is resolved by the caller (settings); this module never reads the environment
and never logs or returns key material other than the KeyPair itself.
"""

import contextlib
import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from keys import pkcs8
from keys.ed25519 import KeyPair
from keys.errors import InsecureKeyError, KeyFileError, PassphraseError

ENCRYPTED_MARKER = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"


def key_pem(key: KeyPair, passphrase: bytes | None) -> bytes:
    """`key` as PKCS#8 PEM: encrypted with the strong KDF when a passphrase is given, and
    then read back once (as `load_key` will) before anything is written."""
    if not passphrase:
        return key.private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    info = key.private.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    pem = pkcs8.encrypt(info, passphrase)
    back = load_pem_private_key(pem, password=passphrase)
    if not isinstance(back, Ed25519PrivateKey) or KeyPair(back).public != key.public:
        raise KeyFileError("an encrypted key did not read back as the same key")
    return pem


def _write_new(path: Path, pem: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())


def save_key(path: Path, key: KeyPair, passphrase: bytes | None) -> None:
    """Write `key` as a new PKCS#8 PEM file, encrypted when a passphrase is given, mode 0600,
    in a directory of mode 0700 (made if missing)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write_new(path, key_pem(key, passphrase))


def replace_key(path: Path, key: KeyPair, passphrase: bytes) -> None:
    """Re-encrypt an existing key file in place with the strong KDF: a new file beside it,
    then an atomic rename, so a crash leaves the old file or the new one, never neither."""
    fresh = path.with_name(f".{path.name}.{os.getpid()}.new")
    fresh.unlink(missing_ok=True)
    try:
        _write_new(fresh, key_pem(key, passphrase))
        os.replace(fresh, path)
    except OSError as exc:
        fresh.unlink(missing_ok=True)
        raise KeyFileError(f"cannot rewrite key file {path}: {exc.strerror}") from exc


def kdf_of_file(path: Path) -> pkcs8.Kdf | None:
    """The KDF of an encrypted key file, None if it is not encrypted (or unreadable)."""
    try:
        pem = path.read_bytes()
    except OSError:
        return None
    if not pem.lstrip().startswith(ENCRYPTED_MARKER):
        return None
    try:
        return pkcs8.kdf_of(pem)
    except ValueError:
        return pkcs8.Kdf("unknown", None)


def destroy(path: Path) -> bool:
    """Overwrite a key file with random bytes, flush it to the disk, and unlink it. Returns
    False if there was no such file. On journaling file systems and SSDs the old blocks may
    survive the overwrite: backups and copies matter more than this."""
    try:
        fd = os.open(path, os.O_WRONLY)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise KeyFileError(f"cannot destroy key file {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "wb") as handle, contextlib.suppress(OSError):
        size = os.fstat(handle.fileno()).st_size
        handle.write(os.urandom(max(size, 1)))
        handle.flush()
        os.fsync(handle.fileno())
    try:
        path.unlink()
    except OSError as exc:
        raise KeyFileError(f"cannot remove key file {path}: {exc.strerror}") from exc
    return True


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
