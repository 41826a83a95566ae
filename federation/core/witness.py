"""Witnessing (DESIGN §4): the body of a `checkpoints.witnessed` entry, which carries the
origin-signed checkpoints a node verified, and reading one back. Pure.

A node appends such an entry to its own log after a sync round that verified new entries of
other origins, so witness statements travel inside logs and every node sees what every other
node was shown; every checkpoint in them is then checked against the reader's own copies.
"""

from collections.abc import Sequence

from federation.core import checkpoint as cp
from federation.core import note
from federation.core.errors import FederationError
from keys.canonical import canonical_bytes, parse_canonical
from keys.ed25519 import KeyPair
from keys.errors import KeysError

WITNESSED = "checkpoints.witnessed"
MAX_CHECKPOINTS = 256
MAX_CHECKPOINT_BYTES = 16 * 1024


class WitnessError(FederationError):
    """A `checkpoints.witnessed` body is malformed."""


def witness_body(checkpoints: Sequence[str]) -> bytes:
    """The canonical body: `{"checkpoints": [<full origin-signed checkpoint text>, ...]}`."""
    if len(checkpoints) > MAX_CHECKPOINTS:
        raise WitnessError(f"at most {MAX_CHECKPOINTS} checkpoints per witness entry")
    return canonical_bytes({"checkpoints": sorted(checkpoints)})


def witnessed(body: bytes) -> list[tuple[str, str]]:
    """(origin line, checkpoint text) of every checkpoint in a witness body."""
    try:
        doc = parse_canonical(body, what="witness body")
    except KeysError as exc:
        raise WitnessError(str(exc)) from exc
    items = doc.get("checkpoints") if isinstance(doc, dict) else None
    if not isinstance(items, list) or len(items) > MAX_CHECKPOINTS:
        raise WitnessError(f'a witness body is {{"checkpoints": [...]}} of <= {MAX_CHECKPOINTS}')
    found = []
    for text in items:
        if not isinstance(text, str) or len(text) > MAX_CHECKPOINT_BYTES:
            raise WitnessError("each witnessed checkpoint is a signed note of <= 16 KiB")
        try:
            found.append((cp.parse_text(note.parse(text).text).origin, text))
        except FederationError as exc:
            raise WitnessError(f"a witnessed checkpoint is malformed: {exc}") from exc
    return found


def cosigned(checkpoint_note: str, *, witness: str, key: KeyPair, timestamp: int) -> str:
    """The note with this node's cosignature (C2SP tlog-cosignature v1) added: `witness` is
    this node's origin line, `key` its signing key."""
    parsed = note.parse(checkpoint_note)
    line = cp.cosign(parsed.text, witness=witness, key=key, timestamp=timestamp)
    return note.Note(parsed.text, (*parsed.signatures, line)).render()


def cosignatures_by(
    checkpoint_note: str, *, witness: str, keys: Sequence[bytes]
) -> list[tuple[note.Signature, int]]:
    """The valid cosignatures by `witness` (under any of `keys`) on the note, each with its
    timestamp."""
    parsed = note.parse(checkpoint_note)
    found = []
    for sig in parsed.signatures:
        if sig.name != witness:
            continue
        for public in keys:
            try:
                found.append((sig, cp.verify_cosignature(parsed.text, sig, public_key=public)))
            except FederationError:
                continue
    return found


def fresh_cosignatures(
    checkpoint_note: str,
    *,
    origin: str,
    origin_keys: Sequence[bytes],
    size: int,
    root: bytes,
    witness: str,
    witness_keys: Sequence[bytes],
) -> list[tuple[note.Signature, int]]:
    """What `witness` cosigned of this node's copy of a log (DESIGN §4, freshness): the note
    must be a checkpoint of `origin` (the origin line), signed by one of `origin_keys` (the
    origin's keys valid at that size), stating `size` and `root`, this node's copy; then the
    witness's valid cosignatures on it (under any of `witness_keys`) with their timestamps.
    A checkpoint of another origin, not signed by it, or of another size or root (a larger
    one is news this node lacks) says nothing about this copy: none."""
    try:
        verified = cp.verify_checkpoint(checkpoint_note, origin=origin, keys=list(origin_keys))
    except FederationError:
        return []
    if verified.checkpoint.size != size or verified.checkpoint.root != root:
        return []
    return cosignatures_by(checkpoint_note, witness=witness, keys=witness_keys)
