"""Checkpoints (C2SP tlog-checkpoint v1.0.0) and cosignatures (tlog-cosignature, cosignature/v1).

A checkpoint is a signed note whose text is `<origin>\\n<size>\\n<base64 root>\\n`, then
denex's extension lines (decision 0032) when the log commits to what bundles must carry:
`keys <count> <b64 chain>` (its key statements), then `notices <b64 root>` (the map of notice
heads); any other extension line is refused. Denex origins are
`<federation>/<node id>`, and the log signs under that name with its signing key.
Pure functions: the caller supplies the keys valid for the checkpoint and the current time.
"""

import base64
import binascii
import re
import struct
from dataclasses import dataclass

from federation.core import note
from federation.core.commitments import CommitmentError, LeafChain
from federation.core.merkle import HASH_BYTES
from federation.core.noticemap import MapProofError, parse_root_line, root_line
from keys.ed25519 import KeyPair, verify

_SIZE = re.compile(r"^(0|[1-9][0-9]{0,18})$")


class CheckpointError(note.NoteError):
    """A checkpoint is malformed or its signature does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    keys: LeafChain | None = None  # None: a checkpoint from before decision 0032
    notices: bytes | None = None  # the root of the map of notice heads (with `keys` only)

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        if self.keys is not None:
            lines.append(self.keys.line())
        if self.notices is not None:
            lines.append(root_line(self.notices))
        return "\n".join(lines) + "\n"


def origin_line(federation: str, node_id: str) -> str:
    return f"{federation}/{node_id}"


def parse_text(text: str) -> Checkpoint:
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise CheckpointError("checkpoint text needs origin, size and root lines")
    if any(line == "" for line in lines[:-1]):
        raise CheckpointError("checkpoint lines must not be empty")
    if len(lines) > 6:
        raise CheckpointError("a checkpoint has at most two extension lines, `keys` and `notices`")
    origin, size_text, root_text = lines[:3]
    if not note.valid_name(origin):
        raise CheckpointError(f"invalid origin line {origin!r}")
    if not _SIZE.fullmatch(size_text):
        raise CheckpointError(f"tree size {size_text!r} is not a decimal without leading zeroes")
    try:
        root = base64.b64decode(root_text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CheckpointError("root hash is not valid base64") from exc
    if len(root) != HASH_BYTES or base64.b64encode(root).decode() != root_text:
        raise CheckpointError("root hash is not 32 bytes of canonical base64")
    size, keys, notices = int(size_text), None, None
    try:
        if len(lines) >= 5:
            keys = LeafChain.parse_line(lines[3])
        if len(lines) == 6:
            notices = parse_root_line(lines[4])
    except (CommitmentError, MapProofError) as exc:
        raise CheckpointError(str(exc)) from exc
    if keys is not None and keys.count > size:
        raise CheckpointError(f"the keys line counts {keys.count} statements in {size} entries")
    return Checkpoint(origin, size, root, keys, notices)


def sign_checkpoint(checkpoint: Checkpoint, key: KeyPair) -> str:
    """The signed note of a checkpoint, signed under its origin line."""
    text = checkpoint.text()
    return note.Note(text, (note.sign(text, checkpoint.origin, key),)).render()


@dataclass(frozen=True)
class VerifiedCheckpoint:
    checkpoint: Checkpoint
    signed_note: note.Note
    key: bytes  # the origin key that verified it
    ignored: tuple[note.Signature, ...]  # lines from keys this verifier does not know


def verify_checkpoint(data: str | bytes, *, origin: str, keys: list[bytes]) -> VerifiedCheckpoint:
    """Verify a checkpoint of `origin` signed by one of `keys` (raw Ed25519 public keys).

    A matching line that fails to verify rejects the note; lines of unknown keys are ignored.
    """
    parsed = note.parse(data)
    checkpoint = parse_text(parsed.text)
    if checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint origin {checkpoint.origin!r} is not {origin!r}")
    message = parsed.text.encode("utf-8")
    verified_key: bytes | None = None
    known: set[int] = set()
    for public in keys:
        kid = note.note_key_id(origin, note.ED25519, public)
        for index, sig in enumerate(parsed.signatures):
            if sig.name == origin and sig.key_id == kid:
                known.add(index)
                if not verify(public, sig.signature, message):
                    raise CheckpointError(f"signature by {origin} key {kid.hex()} does not verify")
                verified_key = public
    if verified_key is None:
        raise CheckpointError(f"no signature by a known key of {origin}")
    ignored = tuple(s for i, s in enumerate(parsed.signatures) if i not in known)
    return VerifiedCheckpoint(checkpoint, parsed, verified_key, ignored)


def cosignature_message(checkpoint_text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{checkpoint_text}".encode()


def cosign(checkpoint_text: str, *, witness: str, key: KeyPair, timestamp: int) -> note.Signature:
    """A tlog-cosignature v1 (Ed25519, type 0x04) line by `witness` over a checkpoint text."""
    if not 0 <= timestamp < 2**63:
        raise CheckpointError("cosignature timestamp out of range")
    parse_text(checkpoint_text)
    signature = key.sign(cosignature_message(checkpoint_text, timestamp))
    kid = note.note_key_id(witness, note.COSIGNATURE_V1, key.public)
    return note.Signature(witness, kid, struct.pack(">Q", timestamp) + signature)


def verify_cosignature(checkpoint_text: str, sig: note.Signature, *, public_key: bytes) -> int:
    """Verify a cosignature line; return its timestamp."""
    if sig.key_id != note.note_key_id(sig.name, note.COSIGNATURE_V1, public_key):
        raise CheckpointError(f"cosignature by {sig.name} is not from the given key")
    if len(sig.signature) != 8 + 64:
        raise CheckpointError(f"cosignature by {sig.name} has the wrong length")
    (timestamp,) = struct.unpack(">Q", sig.signature[:8])
    if timestamp >= 2**63:
        raise CheckpointError("cosignature timestamp out of range")
    if not verify(public_key, sig.signature[8:], cosignature_message(checkpoint_text, timestamp)):
        raise CheckpointError(f"cosignature by {sig.name} does not verify")
    return int(timestamp)
