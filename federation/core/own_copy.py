"""What a peer's copy of this node's own log proves (DESIGN §5, recovery). Pure.

A peer's `GET /logs` head for this node's log is a size and, perhaps, a checkpoint. Only the
checkpoint can prove anything, and only if it is this node's (origin line
`<federation>/<node id>`) and verifies under this node's own keys: then the peer holds at
least that many entries that this node signed. One larger than the local copy means this node
runs on a restored backup (appends stop until `denex recover`); one of a size the copy holds
is compared with the tree by the caller (equivocation). A bare size, a checkpoint of another
origin, one signed by any other key or one that does not parse proves nothing: it is
reported as ignored, so that no peer can stop a node's appends by saying so.

Which keys are this node's own: those its stored key state lets sign a checkpoint of that
size, and, for a size beyond the local copy only, the signing keys in its key files that the
stored key state does not know at all (a database restored from before a key rotation,
with the key files kept: the newer key signed the newer checkpoints). A key the stored state
knows goes by the stored state's rules (retired, revoked).
"""

from collections.abc import Sequence
from dataclasses import dataclass

from federation.core import checkpoint as cp
from federation.core import keystate, note
from federation.core.errors import FederationError


@dataclass(frozen=True)
class OwnCopy:
    """A peer's copy of this node's log as far as this node's keys prove it."""

    signed: int  # entries the peer's checkpoint, signed by this node's key, covers (0: none)
    checkpoint: str | None  # that checkpoint, verified (None: none)
    ignored: str | None  # what the peer claimed that nothing signed by this node backs

    def ahead_of(self, size: int) -> bool:
        """Does the peer provably hold more of this node's log than `size`?"""
        return self.signed > size


def own_checkpoint_keys(
    state: keystate.KeyState, size: int, *, local: int, key_files: Sequence[bytes]
) -> list[bytes]:
    """Keys of this node that may sign a checkpoint of its log of `size`, its copy holding
    `local` entries described by `state`."""
    keys = state.checkpoint_keys(size)
    if size > local:
        known = {life.key for life in state.keys.values()}
        keys += [key for key in key_files if key not in known and key not in keys]
    return keys


def judge(
    claimed: int,
    checkpoint: str | None,
    *,
    origin: str,
    local: int,
    state: keystate.KeyState,
    key_files: Sequence[bytes] = (),
) -> OwnCopy:
    """Judge a peer's head of this node's log (`origin` is its origin line): `claimed`
    entries and `checkpoint`, against the local copy of `local` entries."""
    if checkpoint is None:
        if claimed <= local:
            return OwnCopy(0, None, None)
        return OwnCopy(
            0,
            None,
            f"claims {claimed} entries of this node's log without a checkpoint signed by its "
            f"key (this node holds {local})",
        )
    try:
        size = cp.parse_text(note.parse(checkpoint).text).size
        keys = own_checkpoint_keys(state, size, local=local, key_files=key_files)
        verified = cp.verify_checkpoint(checkpoint, origin=origin, keys=keys)
    except FederationError as exc:
        return OwnCopy(
            0,
            None,
            f"claims {claimed} entries of this node's log with a checkpoint that is not "
            f"signed by its key ({str(exc)[:200]}; this node holds {local})",
        )
    signed = verified.checkpoint.size
    ignored = None
    if claimed > max(signed, local):
        ignored = (
            f"claims {claimed} entries of this node's log, but its checkpoint signed by this "
            f"node's key covers {signed} (this node holds {local})"
        )
    return OwnCopy(signed, checkpoint, ignored)
