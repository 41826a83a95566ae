"""Re-verifying a whole stored log from its first entry: signatures under the key state at
each seq, contiguous seqs, leaf hashes, content (`federation.core.verifier`), the tree root
and the stored checkpoint.

Pure and incremental: feed entries in seq order to `LogAuditor.add`, then call `finish`.
"""

from dataclasses import dataclass, field

from federation.core import checkpoint as cp
from federation.core import keystate
from federation.core import note as note_mod
from federation.core.commitments import LeafChain
from federation.core.entry import KEY_TYPES, map_key, subject_of
from federation.core.errors import FederationError
from federation.core.noticemap import NoticeMap
from federation.core.verifier import EntryRejected, LogVerifier


class LogAuditError(FederationError):
    """The stored log does not verify; the message names the entry or part."""


@dataclass
class LogAuditor:
    """A whole log, entry by entry from seq 0, through the shared verifier
    (`federation.core.verifier`) with its Merkle frontier."""

    federation: str
    origin: str
    root_key: bytes
    flagged: int = 0
    signed_by: dict[str, list[int]] = field(default_factory=dict)  # key id -> seqs it signed
    # the chain of its key statements and its map of notice heads so far (decision 0032)
    keys: LeafChain = field(default_factory=LeafChain)
    notices: NoticeMap = field(default_factory=NoticeMap)
    verifier: LogVerifier = field(init=False)

    def __post_init__(self) -> None:
        self.verifier = LogVerifier(self.federation, self.origin, self.root_key, track_root=True)

    @property
    def size(self) -> int:
        return self.verifier.size

    @property
    def state(self) -> keystate.KeyState:
        return self.verifier.state

    def add(
        self, seq: int, envelope: bytes, leaf_hash: bytes, salt: bytes | None, body: bytes | None
    ) -> None:
        try:
            result = self.verifier.add(seq, envelope, leaf_hash, salt, body)
        except EntryRejected as exc:
            raise LogAuditError(str(exc)) from exc
        if result.flag is not None:
            self.flagged += 1
        subject = (
            None if result.flag else map_key(result.type, leaf_hash, subject_of(result.header))
        )
        if subject is not None:
            self.notices.append(subject, leaf_hash)
        if result.type in KEY_TYPES:
            self.keys = self.keys.extended(leaf_hash)
        else:
            self.signed_by.setdefault(result.key_id, []).append(seq)

    def invalidated(self) -> list[int]:
        """Seqs of entries signed by a key that a later statement revoked below them."""
        return sorted(
            seq
            for kid, seqs in self.signed_by.items()
            for seq in seqs
            if self.state.invalid(seq, kid)
        )

    def root(self) -> bytes:
        return self.verifier.root()

    def finish(self, checkpoint_note: str | None) -> cp.VerifiedCheckpoint | None:
        """Check the stored checkpoint names this size and root and is validly signed."""
        if checkpoint_note is None:
            return None
        try:
            verified = cp.verify_checkpoint(
                checkpoint_note,
                origin=cp.origin_line(self.federation, self.origin),
                keys=self.state.checkpoint_keys(self.size),
            )
        except note_mod.NoteError as exc:
            raise LogAuditError(f"checkpoint: {exc}") from exc
        if verified.checkpoint.size != self.size or verified.checkpoint.root != self.root():
            raise LogAuditError(
                f"checkpoint: it names size {verified.checkpoint.size}, the log has {self.size} "
                "entries with another root"
                if verified.checkpoint.root != self.root()
                else f"checkpoint: size {verified.checkpoint.size} is not the log's {self.size}"
            )
        keys, notices = verified.checkpoint.keys, verified.checkpoint.notices
        if keys is not None and keys != self.keys:
            raise LogAuditError(
                f"checkpoint: it commits to {keys.describe()}, the log has {self.keys.describe()}"
            )
        if notices is not None and notices != self.notices.root():
            raise LogAuditError("checkpoint: its map of notice heads is not the log's")
        return verified
