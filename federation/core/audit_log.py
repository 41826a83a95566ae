"""Re-verifying a whole stored log from its first entry: signatures under the key state at
each seq, contiguous seqs, leaf hashes, content, the tree root and the stored checkpoint.

Pure and incremental: feed entries in seq order to `LogAuditor.add`, then call `finish`.
"""

from dataclasses import dataclass, field

from federation.core import checkpoint as cp
from federation.core import keystate, merkle
from federation.core import note as note_mod
from federation.core.entry import KEY_TYPES, parse_time, verify_entry
from federation.core.errors import FederationError
from keys.canonical import parse_canonical
from keys.ed25519 import key_id
from keys.errors import KeysError


class LogAuditError(FederationError):
    """The stored log does not verify; the message names the entry or part."""


@dataclass
class LogAuditor:
    federation: str
    origin: str
    root_key: bytes
    state: keystate.KeyState = field(default_factory=keystate.KeyState)
    size: int = 0
    stack: list[tuple[int, bytes]] = field(default_factory=list)  # (height, hash) of the frontier
    flagged: int = 0
    signed_by: dict[str, list[int]] = field(default_factory=dict)  # key id -> seqs it signed

    def add(
        self, seq: int, envelope: bytes, leaf_hash: bytes, salt: bytes | None, body: bytes | None
    ) -> None:
        where = f"entry {seq} of {self.origin}"
        if seq != self.size:
            raise LogAuditError(f"{where}: expected seq {self.size} (gap or reordering)")
        if merkle.leaf(envelope) != leaf_hash:
            raise LogAuditError(f"{where}: stored leaf hash is not the hash of the envelope")
        try:
            result = verify_entry(
                envelope,
                federation=self.federation,
                origin=self.origin,
                seq=seq,
                signing_keys=self.state.valid_keys(seq),
                root_key={key_id(self.root_key): self.root_key},
                salt=salt,
                body=body,
            )
            header = result.header
            if header["type"] in KEY_TYPES:
                if body is None:
                    raise LogAuditError(f"{where}: key statement without its content")
                self.state = keystate.apply(
                    self.state,
                    keystate.Statement(
                        seq,
                        header["type"],
                        parse_canonical(body, what="key statement"),
                        parse_time(header["issued_at"]),
                    ),
                )
        except (FederationError, KeysError) as exc:
            raise LogAuditError(
                str(exc) if str(exc).startswith(where) else f"{where}: {exc}"
            ) from exc
        if result.flag is not None:
            self.flagged += 1
        if header["type"] not in KEY_TYPES:
            self.signed_by.setdefault(result.key_id, []).append(seq)
        self._push(leaf_hash)

    def invalidated(self) -> list[int]:
        """Seqs of entries signed by a key that a later statement revoked below them."""
        return sorted(
            seq
            for kid, seqs in self.signed_by.items()
            for seq in seqs
            if self.state.invalid(seq, kid)
        )

    def _push(self, leaf_hash: bytes) -> None:
        height, node = 0, leaf_hash
        while self.stack and self.stack[-1][0] == height:
            _h, left = self.stack.pop()
            node, height = merkle.node(left, node), height + 1
        self.stack.append((height, node))
        self.size += 1

    def root(self) -> bytes:
        if not self.stack:
            return merkle.EMPTY_ROOT
        acc = self.stack[-1][1]
        for _height, left in reversed(self.stack[:-1]):
            acc = merkle.node(left, acc)
        return acc

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
        return verified
