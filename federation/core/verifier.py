"""The one incremental verifier of an origin's log: entries fed in rising seq order, each
checked under the key state at its seq (its signature by a key valid there, or the root key
for key statements; its leaf hash and content), key statements replayed as they come, and,
when asked, the Merkle frontier of every leaf so far (the root of a contiguous log).

Shared by sync (`federation.core.follow`: a page against this node's copy), the whole-log
audit (`federation.core.audit_log`) and bundle verification (`federation.core.evidence`,
where the entries a bundle carries are not contiguous). Each caller turns `EntryRejected`
into its own error; the message always names the entry (`entry N of ORIGIN: ...`).
"""

from dataclasses import dataclass, field

from federation.core import keystate, merkle
from federation.core.entry import KEY_TYPES, VerifiedHeader, verify_entry
from federation.core.errors import FederationError
from keys.canonical import parse_canonical
from keys.ed25519 import key_id
from keys.errors import KeysError


class EntryRejected(FederationError):
    """An entry does not verify where it stands; the message names it."""


@dataclass
class LogVerifier:
    """What verifies the next entries of `origin`'s log: its root key, its key state replayed
    up to `size`, and the Merkle frontier of the entries so far (`track_root`, which needs
    every entry from seq 0). With `contiguous` false, entries may skip seqs (a bundle carries
    some of a log's entries), but still rise."""

    federation: str
    origin: str
    root_key: bytes
    size: int = 0
    state: keystate.KeyState = field(default_factory=keystate.KeyState)
    contiguous: bool = True
    track_root: bool = False
    _frontier: list[tuple[int, bytes]] = field(default_factory=list, repr=False)
    _root: dict[str, bytes] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._root = {key_id(self.root_key): self.root_key}

    def add(
        self,
        seq: int,
        envelope: bytes,
        leaf_hash: bytes | None,
        salt: bytes | None,
        body: bytes | None,
    ) -> VerifiedHeader:
        """Verify the entry at `seq` and move past it: a key statement changes the key state
        from the next seq on. Raises EntryRejected (nothing moves)."""
        if seq != self.size if self.contiguous else seq < self.size:
            expected = f"seq {self.size}" if self.contiguous else f"a seq from {self.size}"
            raise EntryRejected(f"{self._at(seq)}: expected {expected} (gap or reordering)")
        verified = self.check(seq, envelope, leaf_hash, salt, body)
        if verified.type in KEY_TYPES:
            if body is None:
                raise EntryRejected(f"{self._at(seq)}: key statement without its content")
            try:
                statement = parse_canonical(body, what="key statement")
                self.state = keystate.apply(
                    self.state,
                    keystate.Statement(seq, verified.type, statement, verified.issued_at),
                )
            except (FederationError, KeysError) as exc:
                raise EntryRejected(_named(self._at(seq), exc)) from exc
        if self.track_root:
            self._push(leaf_hash if leaf_hash is not None else merkle.leaf(envelope))
        self.size = seq + 1
        return verified

    def check(
        self,
        seq: int,
        envelope: bytes,
        leaf_hash: bytes | None,
        salt: bytes | None,
        body: bytes | None,
    ) -> VerifiedHeader:
        """Verify the entry at `seq` under the key state as it stands, without moving (a
        bundle's notice versions are checked so, under every key statement it carries).
        `leaf_hash`, when given, must be the envelope's. Raises EntryRejected."""
        if leaf_hash is not None and merkle.leaf(envelope) != leaf_hash:
            raise EntryRejected(f"{self._at(seq)}: leaf_hash is not the hash of the envelope")
        try:
            return verify_entry(
                envelope,
                federation=self.federation,
                origin=self.origin,
                seq=seq,
                signing_keys=self.state.valid_keys(seq),
                root_key=self._root,
                salt=salt,
                body=body,
            )
        except (FederationError, KeysError) as exc:
            raise EntryRejected(_named(self._at(seq), exc)) from exc

    def _at(self, seq: int) -> str:
        """How an error names the entry at `seq` (built only when there is one)."""
        return f"entry {seq} of {self.origin}"

    def _push(self, leaf_hash: bytes) -> None:
        height, node = 0, leaf_hash
        while self._frontier and self._frontier[-1][0] == height:
            _h, left = self._frontier.pop()
            node, height = merkle.node(left, node), height + 1
        self._frontier.append((height, node))

    def root(self) -> bytes:
        """The Merkle root of the entries so far (`track_root`)."""
        if not self._frontier:
            return merkle.EMPTY_ROOT
        acc = self._frontier[-1][1]
        for _height, left in reversed(self._frontier[:-1]):
            acc = merkle.node(left, acc)
        return acc


def _named(where: str, exc: Exception) -> str:
    message = str(exc)
    return message if message.startswith(where) else f"{where}: {message}"
