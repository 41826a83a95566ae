"""Offline proof that a log held some entries: the origin's card, a checkpoint of its log, every
key statement below it, and each further entry with its inclusion proof — checked with no
server and no database.

Pure and payload-agnostic: this module knows entries, key statements, checkpoints and
inclusion proofs, not what the entries say. What a bundle must carry for a notice, and how a
report reads, is the service's (`service.evidence`). An entry travels as

    {"seq": N, "envelope": <JCS text>, "content": {"salt": b64, "body": b64} | null,
     "inclusion": [b64 hash, ...]}   # the audit path from leaf N to the checkpoint's root
"""

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from federation.core import checkpoint as cp
from federation.core import merkle
from federation.core import note as note_mod
from federation.core.commitments import LeafChain
from federation.core.entry import KEY_TYPES, VerifiedHeader, map_key, subject_of
from federation.core.errors import FederationError
from federation.core.noticemap import MapProof, MapProofError, verify_map_proof
from federation.core.verifier import EntryRejected, LogVerifier
from keys.card import Card, verify_card
from keys.ed25519 import key_id, unb64
from keys.errors import KeysError

ENTRY_FIELDS = frozenset({"seq", "envelope", "content", "inclusion"})


class ProofFailed(FederationError):
    """Part of the proof does not verify; the message names the part."""


@dataclass(frozen=True)
class CardCheck:
    """The origin's card as verified: `trusted` when its root key matched a card the auditor
    holds, False when only the card carried alongside vouches for it."""

    card: Card
    trusted: bool


@dataclass(frozen=True)
class ProvenEntry:
    """An entry that verified under the key state at its seq and is included in the
    checkpoint."""

    seq: int
    verified: VerifiedHeader
    body: bytes | None
    leaf: bytes  # its leaf hash


@dataclass
class LogProof:
    """A checkpoint verified under the key statements below it; `entry` checks further
    entries against it, under every key statement (later revocations included)."""

    size: int
    root: bytes
    checkpoint_key: str  # key id of the signature that verified
    ignored_signatures: list[str]  # names of signature lines by unknown keys
    key_statements: list[tuple[int, str]]  # (seq, type)
    keys_committed: bool  # the checkpoint's `keys` line proved these are all (decision 0032)
    notices: bytes | None  # the root of the checkpoint's map of notice heads, if it has one
    _verifier: LogVerifier = field(repr=False)

    def entry(self, item: Any, what: str) -> ProvenEntry:
        """Verify one entry as carried (`what` names it in errors until its seq is known)."""
        parsed = _Entry.parse(item, what)
        if parsed.seq >= self.size:
            raise ProofFailed(
                f"entry {parsed.seq} of {self._verifier.origin}: beyond the checkpoint"
            )
        try:
            verified = self._verifier.check(
                parsed.seq, parsed.envelope, None, parsed.salt, parsed.body
            )
        except EntryRejected as exc:
            raise ProofFailed(str(exc)) from exc  # names the entry already
        parsed.included(self.size, self.root, f"entry {parsed.seq} of {self._verifier.origin}")
        return ProvenEntry(parsed.seq, verified, parsed.body, merkle.leaf(parsed.envelope))


def check_card(text: str, federation: str, origin: str, trusted: Sequence[bytes] = ()) -> CardCheck:
    """The card carried for `origin`; with `trusted` cards, its root key must match one."""
    card = _verified_card(text.encode("utf-8"), "card")
    if card.body["node_id"] != origin or card.body["federation"] != federation:
        raise ProofFailed("card: it is not the card of the bundle's origin and federation")
    if not trusted:
        return CardCheck(card, trusted=False)
    for data in trusted:
        other = _verified_card(data, "--trust card")
        if other.body["node_id"] == origin and other.root_key == card.root_key:
            return CardCheck(card, trusted=True)
    raise ProofFailed("card: its root key matches none of the --trust cards")


def prove_checkpoint(
    federation: str, origin: str, card: Card, checkpoint: str, size: int, statements: Any
) -> LogProof:
    """Verify every key statement (signed by the card's root key, included) and the
    checkpoint of size `size` under the key state they make. When the checkpoint commits to
    its key statements (`keys` line), the statements carried must be exactly those: one left
    out, added or out of order fails."""
    origin_line = cp.origin_line(federation, origin)
    try:
        head = cp.parse_text(note_mod.parse(checkpoint).text)
    except note_mod.NoteError as exc:
        raise ProofFailed(f"checkpoint: {exc}") from exc
    if head.origin != origin_line or head.size != size:
        raise ProofFailed("checkpoint: its origin or size is not the bundle's")
    if not isinstance(statements, list) or not statements:
        raise ProofFailed("key statements: the bundle must carry every key statement")
    verifier = LogVerifier(federation, origin, card.root_key, contiguous=False)
    seen: list[tuple[int, str]] = []
    chain = LeafChain()
    for index, item in enumerate(statements):
        entry = _Entry.parse(item, f"key statement {index}")
        where = f"key statement at seq {entry.seq}"
        if entry.seq >= head.size:
            raise ProofFailed(f"{where}: beyond the checkpoint")
        if seen and entry.seq <= seen[-1][0]:
            raise ProofFailed(f"{where}: key statements must be carried in seq order, once each")
        try:  # a key statement without content is rejected by the verifier itself
            kind = verifier.add(entry.seq, entry.envelope, None, entry.salt, entry.body).type
        except EntryRejected as exc:
            raise ProofFailed(f"{where}: {exc}") from exc
        if kind not in KEY_TYPES:  # the verifier moved on; this proof fails anyway
            raise ProofFailed(f"{where}: not a key statement with its content")
        entry.included(head.size, head.root, where)
        seen.append((entry.seq, kind))
        chain = chain.extended(merkle.leaf(entry.envelope))
    if head.keys is not None and chain != head.keys:
        raise ProofFailed(_missing_keys(head.keys, chain))
    try:
        verified = cp.verify_checkpoint(
            checkpoint, origin=origin_line, keys=verifier.state.checkpoint_keys(head.size)
        )
    except note_mod.NoteError as exc:
        raise ProofFailed(f"checkpoint: {exc}") from exc
    return LogProof(
        head.size,
        head.root,
        key_id(verified.key),
        [sig.name for sig in verified.ignored],
        seen,
        head.keys is not None,
        head.notices,
        verifier,
    )


def _missing_keys(committed: LeafChain, carried: LeafChain) -> str:
    if carried.count < committed.count:
        gap = committed.count - carried.count
        return (
            f"key statements: the checkpoint commits to {committed.count} key statements, the "
            f"bundle carries {carried.count}: {gap} left out (a retirement or revocation may "
            "be missing)"
        )
    return (
        f"key statements: the ones carried ({carried.describe()}) are not the "
        f"{committed.count} the checkpoint commits to ({committed.describe()})"
    )


@dataclass(frozen=True)
class Cosigned:
    """A witness's cosignature on the checkpoint that verified under a key its card lists;
    `trusted` when that card's root key matched a witness card the auditor holds."""

    witness: str  # node id
    key_id: str
    timestamp: int  # the witness's word, seconds since the epoch
    trusted: bool


def proven_heads(
    notices: bytes, key: bytes, carried: Sequence[ProvenEntry], map_proof: Any
) -> LeafChain:
    """Check that `carried` (in seq order) are every entry the checkpoint's map of notice
    heads (root `notices`) holds under `key`, and return that head; ProofFailed naming what
    is missing otherwise. Entries without a map key (signed before decision 0032) are not
    counted: the caller reports them."""
    try:
        held = verify_map_proof(notices, key, MapProof.from_json(map_proof))
    except MapProofError as exc:
        raise ProofFailed(f"notice map: {exc}") from exc
    if held is None:
        raise ProofFailed("notice map: the checkpoint's map holds no notice of this publication")
    chain = LeafChain.of(
        e.leaf for e in carried
        if map_key(e.verified.type, e.leaf, subject_of(e.verified.header)) == key
    )  # fmt: skip
    if chain != held and held.count > chain.count:
        raise ProofFailed(
            f"versions: the checkpoint's map of notice heads holds {held.count} versions of "
            f"this notice, the bundle carries {chain.count}: {held.count - chain.count} left "
            "out (a later amendment or the revocation may be missing)"
        )
    if chain != held:
        raise ProofFailed("versions: the ones carried are not those the checkpoint's map holds")
    return held


def check_cosignatures(
    federation: str,
    origin: str,
    checkpoint: str,
    cards: Any,
    trusted: Sequence[bytes] = (),
) -> list[Cosigned]:
    """Every witness card carried must come with a valid cosignature by that witness on the
    checkpoint (a card without one, a line that does not verify, or a key its card does not
    list fails). Lines by witnesses without a card stay ignored, as signed-note requires."""
    if not isinstance(cards, list) or not all(isinstance(c, str) for c in cards):
        raise ProofFailed("witness cards: must be a list of card texts")
    parsed = note_mod.parse(checkpoint)
    held = [_verified_card(data, "--witness card") for data in trusted]
    found: list[Cosigned] = []
    for text in cards:
        card = _witness_card(text, federation, origin, [c.witness for c in found])
        name = node_id = card.body["node_id"]
        match = next((h for h in held if h.body["node_id"] == node_id), None)
        if match is not None and match.root_key != card.root_key:
            raise ProofFailed(f"witness card of {name}: its root key is not the --witness card's")
        keys = {key_id(public): public for c in (card, match) if c for public in _keys(c)}
        lines = [sig for sig in parsed.signatures if sig.name == cp.origin_line(federation, name)]
        if not lines:
            raise ProofFailed(f"cosignatures: the checkpoint carries none by witness {name}")
        for sig in lines:
            key = next(
                (kid for kid, public in keys.items()
                 if sig.key_id == note_mod.note_key_id(sig.name, note_mod.COSIGNATURE_V1, public)),
                None,
            )  # fmt: skip
            if key is None:
                raise ProofFailed(f"cosignature by {name}: not by a signing key its card lists")
            try:
                when = cp.verify_cosignature(parsed.text, sig, public_key=keys[key])
            except note_mod.NoteError as exc:
                raise ProofFailed(f"cosignature by {name}: {exc}") from exc
            found.append(Cosigned(node_id, key, when, match is not None))
    return found


def _witness_card(text: str, federation: str, origin: str, seen: list[str]) -> Card:
    card = _verified_card(text.encode("utf-8"), "witness card")
    node_id = card.body["node_id"]
    if card.body["federation"] != federation or node_id == origin or node_id in seen:
        raise ProofFailed(
            f"witness card of {node_id}: not another member of {federation}, or carried twice"
        )
    return card


def _verified_card(data: bytes, what: str) -> Card:
    try:
        return verify_card(data)
    except KeysError as exc:
        raise ProofFailed(f"{what}: {exc}") from exc


def _keys(card: Card) -> list[bytes]:
    try:
        return [unb64(k["key"], what="signing key") for k in card.body["signing_keys"]]
    except (KeysError, KeyError, TypeError) as exc:
        raise ProofFailed(
            f"witness card of {card.body['node_id']}: malformed signing_keys"
        ) from exc


@dataclass(frozen=True)
class _Entry:
    seq: int
    envelope: bytes
    salt: bytes | None
    body: bytes | None
    proof: list[bytes]

    @classmethod
    def parse(cls, item: Any, what: str) -> "_Entry":
        if not isinstance(item, dict) or set(item) != ENTRY_FIELDS:
            raise ProofFailed(f"{what} must have exactly seq, envelope, content and inclusion")
        if type(item["seq"]) is not int or item["seq"] < 0:
            raise ProofFailed(f"{what}: seq must be a non-negative integer")
        if not isinstance(item["envelope"], str) or not isinstance(item["inclusion"], list):
            raise ProofFailed(f"{what}: envelope must be text and inclusion a list")
        content = item["content"]
        salt = body = None
        if content is not None:
            if not isinstance(content, dict) or set(content) != {"salt", "body"}:
                raise ProofFailed(f"{what}: content must have exactly salt and body")
            salt = _b64(content["salt"], f"{what} salt")
            body = _b64(content["body"], f"{what} body")
        proof = [_b64(h, f"{what} inclusion proof") for h in item["inclusion"]]
        return cls(item["seq"], item["envelope"].encode("utf-8"), salt, body, proof)

    def included(self, size: int, root: bytes, where: str) -> None:
        try:
            merkle.verify_inclusion(merkle.leaf(self.envelope), self.seq, size, self.proof, root)
        except merkle.ProofError as exc:
            raise ProofFailed(
                f"{where}: inclusion in the checkpoint of size {size}: {exc}"
            ) from exc


def _b64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise ProofFailed(f"{what} must be a base64 string")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProofFailed(f"{what} is not valid base64") from exc
    if base64.b64encode(raw).decode() != text:
        raise ProofFailed(f"{what} is not canonical base64")
    return raw
