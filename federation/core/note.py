"""C2SP signed notes (signed-note v1.0.0): text, a blank line, signature lines.

Pure functions over text. Ed25519 signatures (type 0x01) and timestamped Ed25519
cosignatures (type 0x04, tlog-cosignature) are the only kinds denex makes; lines from
unknown keys are kept and ignored, as the spec requires.
"""

import base64
import binascii
import hashlib
from dataclasses import dataclass

from federation.core.errors import FederationError
from keys.ed25519 import KeyPair

DASH = "\u2014 "
MAX_NOTE_BYTES = 16 * 1024
MAX_SIGNATURES = 64
ED25519 = 0x01
COSIGNATURE_V1 = 0x04


class NoteError(FederationError):
    """A note is malformed, or no trusted signature on it verifies."""


def valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(ch.isspace() for ch in name)


def note_key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    """SHA-256(key name || 0x0A || signature type || public key)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([sig_type]) + public_key).digest()[
        :4
    ]


def vkey(name: str, public_key: bytes, sig_type: int = ED25519) -> str:
    """The verifier key text `<name>+<hex key id>+<base64(type || key)>`."""
    kid = note_key_id(name, sig_type, public_key).hex()
    return f"{name}+{kid}+{base64.b64encode(bytes([sig_type]) + public_key).decode()}"


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes  # 4 bytes
    signature: bytes  # what follows the key id

    def line(self) -> str:
        blob = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{DASH}{self.name} {blob}\n"


@dataclass(frozen=True)
class Note:
    text: str  # ends with a newline; what signatures cover
    signatures: tuple[Signature, ...]

    def render(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if any(ord(ch) < 0x20 and ch != "\n" for ch in text):
        raise NoteError("note contains a control character")


def parse(data: str | bytes) -> Note:
    """Split a signed note into its text and syntactically valid signature lines."""
    if isinstance(data, bytes):
        if len(data) > MAX_NOTE_BYTES:
            raise NoteError(f"note of {len(data)} bytes exceeds {MAX_NOTE_BYTES}")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteError("note is not valid UTF-8") from exc
    if len(data.encode("utf-8")) > MAX_NOTE_BYTES:
        raise NoteError(f"note exceeds {MAX_NOTE_BYTES} bytes")
    _check_text(data)
    split = data.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line before its signatures")
    text, sig_block = data[: split + 1], data[split + 2 :]
    lines = sig_block.split("\n")[:-1]
    if not lines:
        raise NoteError("note has no signature lines")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"note has more than {MAX_SIGNATURES} signature lines")
    signatures = []
    for line in lines:
        if not line.startswith(DASH):
            raise NoteError("signature line does not start with an em dash and a space")
        name, sep, blob = line[len(DASH) :].partition(" ")
        if not sep or not valid_name(name) or " " in blob:
            raise NoteError("malformed signature line")
        try:
            raw = base64.b64decode(blob, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise NoteError("signature is not valid base64") from exc
        if len(raw) < 5 or base64.b64encode(raw).decode() != blob:
            raise NoteError("malformed signature")
        signatures.append(Signature(name, raw[:4], raw[4:]))
    return Note(text, tuple(signatures))


def sign(text: str, name: str, key: KeyPair) -> Signature:
    """An Ed25519 (type 0x01) note signature over `text`."""
    _check_text(text)
    if not valid_name(name):
        raise NoteError(f"invalid key name {name!r}")
    return Signature(name, note_key_id(name, ED25519, key.public), key.sign(text.encode("utf-8")))


def find(note: Note, name: str, key_id: bytes) -> list[Signature]:
    """Signature lines matching (name, key id); all others are ignored."""
    return [s for s in note.signatures if s.name == name and s.key_id == key_id]
