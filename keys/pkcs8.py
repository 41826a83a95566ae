"""Encrypted PKCS#8 (RFC 5958) with a strong passphrase KDF, and reading back which KDF a file
used.

`cryptography` writes encrypted PKCS#8 only with its own choice of KDF (PBKDF2 with 2,048
iterations) and reads any PBES2 file. So the writing is done here, with its primitives:
PBES2 (RFC 8018) with PBKDF2-HMAC-SHA256 at `ITERATIONS` rounds, a 16-byte random salt, and
AES-256-CBC, the same structure `openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256
-iter 600000` writes. Reading stays `cryptography`'s (custody.load_key).
"""

import base64
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

ITERATIONS = 600_000  # OWASP's figure for PBKDF2-HMAC-SHA256 (2023)
SALT_BYTES = 16
PEM_LABEL = "ENCRYPTED PRIVATE KEY"

# DER of the object identifiers (RFC 8018, NIST)
_PBES2 = bytes.fromhex("06092a864886f70d01050d")
_PBKDF2 = bytes.fromhex("06092a864886f70d01050c")
_HMAC_SHA256 = bytes.fromhex("06082a864886f70d0209")
_AES256_CBC = bytes.fromhex("060960864801650304012a")
_NULL = b"\x05\x00"
_SEQUENCE, _INTEGER, _OCTETS, _OID = 0x30, 0x02, 0x04, 0x06


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _integer(value: int) -> bytes:
    return _der(_INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def encrypt(private_key_info: bytes, passphrase: bytes, *, iterations: int = ITERATIONS) -> bytes:
    """PEM of the EncryptedPrivateKeyInfo of a DER PrivateKeyInfo under `passphrase`."""
    salt, iv = os.urandom(SALT_BYTES), os.urandom(16)
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=iterations)
    key = kdf.derive(passphrase)
    padder = padding.PKCS7(128).padder()
    plain = padder.update(private_key_info) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    sealed = encryptor.update(plain) + encryptor.finalize()
    pbkdf2 = _der(
        _SEQUENCE,
        _PBKDF2
        + _der(
            _SEQUENCE,
            _der(_OCTETS, salt) + _integer(iterations) + _der(_SEQUENCE, _HMAC_SHA256 + _NULL),
        ),
    )
    scheme = _der(_SEQUENCE, _AES256_CBC + _der(_OCTETS, iv))
    algorithm = _der(_SEQUENCE, _PBES2 + _der(_SEQUENCE, pbkdf2 + scheme))
    der = _der(_SEQUENCE, algorithm + _der(_OCTETS, sealed))
    text = base64.b64encode(der).decode("ascii")
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return "\n".join(
        [f"-----BEGIN {PEM_LABEL}-----", *lines, f"-----END {PEM_LABEL}-----", ""]
    ).encode()


@dataclass(frozen=True)
class Kdf:
    """How an encrypted PKCS#8 file turns its passphrase into a key."""

    name: str  # "pbkdf2-hmac-sha256", "pbkdf2-hmac-sha1", "scrypt", or what else it names
    iterations: int | None  # PBKDF2 rounds, None for other KDFs

    @property
    def strong(self) -> bool:
        """At least what `encrypt` writes (or scrypt, which nothing here writes)."""
        if self.name == "scrypt":
            return True
        return self.name == "pbkdf2-hmac-sha256" and (self.iterations or 0) >= ITERATIONS


class _Reader:
    """A forward-only DER reader over the few structures `kdf_of` walks."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def next(self, tag: int) -> bytes:
        if self.at + 2 > len(self.data) or self.data[self.at] != tag:
            raise ValueError("unexpected DER")
        size, self.at = self.data[self.at + 1], self.at + 2
        if size & 0x80:
            count = size & 0x7F
            if count == 0 or count > 4:
                raise ValueError("unexpected DER length")
            size = int.from_bytes(self.data[self.at : self.at + count], "big")
            self.at += count
        content = self.data[self.at : self.at + size]
        if len(content) != size:
            raise ValueError("truncated DER")
        self.at += size
        return content

    def more(self) -> bool:
        return self.at < len(self.data)


_PRF = {
    bytes.fromhex("06082a864886f70d0209"): "pbkdf2-hmac-sha256",
    bytes.fromhex("06082a864886f70d0207"): "pbkdf2-hmac-sha1",
    bytes.fromhex("06082a864886f70d020b"): "pbkdf2-hmac-sha512",
}
_SCRYPT = bytes.fromhex("06092b06010401da47040b")


def kdf_of(pem: bytes) -> Kdf:
    """The KDF of an encrypted PKCS#8 PEM file; ValueError if it is not PBES2 PKCS#8."""
    body = b"".join(line for line in pem.strip().splitlines() if not line.startswith(b"-----"))
    der = base64.b64decode(body, validate=True)
    info = _Reader(_Reader(der).next(_SEQUENCE))
    algorithm = _Reader(info.next(_SEQUENCE))
    if _der(_OID, algorithm.next(_OID)) != _PBES2:
        return Kdf("pbes1", None)
    params = _Reader(algorithm.next(_SEQUENCE))
    kdf = _Reader(params.next(_SEQUENCE))
    oid = _der(_OID, kdf.next(_OID))
    if oid == _SCRYPT:
        return Kdf("scrypt", None)
    if oid != _PBKDF2:
        return Kdf("unknown", None)
    fields = _Reader(kdf.next(_SEQUENCE))
    fields.next(_OCTETS)  # salt
    iterations = int.from_bytes(fields.next(_INTEGER), "big")
    if fields.more() and fields.data[fields.at] == _INTEGER:
        fields.next(_INTEGER)  # keyLength
    prf = "pbkdf2-hmac-sha1"  # the default of RFC 8018
    if fields.more():
        prf = _PRF.get(_der(_OID, _Reader(fields.next(_SEQUENCE)).next(_OID)), "pbkdf2-other")
    return Kdf(prf, iterations)
