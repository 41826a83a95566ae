"""The log's part of a bundle (federation.core.evidence), pure and payload-agnostic: a card, a
checkpoint proven under the key statements below it, and any entry's signature and inclusion,
whatever the entry says. Built in memory: no node, no database."""

from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from federation.core import checkpoint as cp
from federation.core import merkle
from federation.core.audit_log import LogAuditError, LogAuditor
from federation.core.commitments import LeafChain
from federation.core.entry import Draft, SealedEntry, seal
from federation.core.evidence import ProofFailed, check_card, prove_checkpoint
from federation.core.noticemap import NoticeMap
from keys.canonical import canonical_bytes
from keys.card import card_body, make_card
from keys.ed25519 import KeyPair, b64

FEDERATION, ORIGIN = "denex.test", "de-bafa"
ROOT = KeyPair(Ed25519PrivateKey.from_private_bytes(b"\x01" * 32))
SIGNING = KeyPair(Ed25519PrivateKey.from_private_bytes(b"\x02" * 32))
OTHER = KeyPair(Ed25519PrivateKey.from_private_bytes(b"\x03" * 32))
WHEN = datetime(2026, 12, 5, tzinfo=UTC)


def _card(root: KeyPair = ROOT, node_id: str = ORIGIN) -> str:
    body = card_body(
        federation=FEDERATION,
        node_id=node_id,
        country="DE",
        name="BAFA",
        url="https://bafa.example",
        root_key=root.public,
        signing_keys=[SIGNING.public],
        regimes=["WA"],
        card_version=1,
        issued_at="2026-12-05T00:00:00Z",
    )
    return make_card(body, root).decode()


def _added(key: KeyPair) -> Draft:
    body = {"key": b64(key.public), "key_id": key.key_id, "purpose": "signing"}
    return Draft("key.added", canonical_bytes(body), ("*",), WHEN)


# seq 0: the signing key added by the root; 1: a consultation (not a notice); 2: a notice
LOG = [
    seal(federation=FEDERATION, origin=ORIGIN, seq=0, draft=_added(SIGNING), key=ROOT),
    seal(
        federation=FEDERATION,
        origin=ORIGIN,
        seq=1,
        draft=Draft("consultation.requested", b'{"any":"payload"}', (ORIGIN, "fr-sbdu"), WHEN),
        key=SIGNING,
    ),
    seal(
        federation=FEDERATION,
        origin=ORIGIN,
        seq=2,
        draft=Draft("notice.published", b'{"notice_id":"N-1"}', (ORIGIN, "fr-sbdu"), WHEN),
        key=SIGNING,
    ),
]
LEAVES = [e.leaf_hash for e in LOG]
CHECKPOINT = cp.sign_checkpoint(
    cp.Checkpoint(cp.origin_line(FEDERATION, ORIGIN), len(LOG), merkle.root_of(LEAVES)), SIGNING
)


def _path(index: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]), written out for the test."""
    if len(leaves) <= 1:
        return []
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    if index < split:
        return [*_path(index, leaves[:split]), merkle.root_of(leaves[split:])]
    return [*_path(index - split, leaves[split:]), merkle.root_of(leaves[:split])]


def _item(entry: SealedEntry, *, content: bool = True) -> dict[str, Any]:
    assert entry.salt is not None and entry.body is not None
    return {
        "seq": entry.seq,
        "envelope": entry.envelope.decode(),
        "content": {"salt": b64(entry.salt), "body": b64(entry.body)} if content else None,
        "inclusion": [b64(h) for h in _path(entry.seq, LEAVES)],
    }


def _proof(statements: list[dict[str, Any]] | None = None) -> Any:
    card = check_card(_card(), FEDERATION, ORIGIN).card
    return prove_checkpoint(
        FEDERATION, ORIGIN, card, CHECKPOINT, len(LOG), statements or [_item(LOG[0])]
    )


def test_any_entry_is_proven_whatever_its_payload() -> None:
    proof = _proof()
    assert (proof.size, proof.key_statements) == (3, [(0, "key.added")])
    assert proof.checkpoint_key == SIGNING.key_id
    consultation = proof.entry(_item(LOG[1]), "entry")
    assert (consultation.seq, consultation.verified.type) == (1, "consultation.requested")
    assert consultation.body == b'{"any":"payload"}'
    assert proof.entry(_item(LOG[2], content=False), "entry").body is None


def test_the_card_is_trusted_only_when_its_root_key_matches_a_held_card() -> None:
    assert check_card(_card(), FEDERATION, ORIGIN).trusted is False
    assert check_card(_card(), FEDERATION, ORIGIN, [_card().encode()]).trusted is True
    with pytest.raises(ProofFailed, match="matches none of the --trust cards"):
        check_card(_card(), FEDERATION, ORIGIN, [_card(OTHER).encode()])
    with pytest.raises(ProofFailed, match="not the card of the bundle's origin"):
        check_card(_card(node_id="fr-sbdu"), FEDERATION, ORIGIN)


def test_an_entry_with_a_wrong_path_or_beyond_the_checkpoint_fails() -> None:
    proof = _proof()
    item = _item(LOG[2])
    item["inclusion"] = _item(LOG[1])["inclusion"]  # the path of another leaf
    with pytest.raises(ProofFailed, match="entry 2 of de-bafa: inclusion"):
        proof.entry(item, "entry")
    with pytest.raises(ProofFailed, match="beyond the checkpoint"):
        proof.entry({**_item(LOG[2]), "seq": 3}, "entry")


def test_a_checkpoint_needs_the_key_statements_that_allow_its_key() -> None:
    with pytest.raises(ProofFailed, match="must carry every key statement"):
        prove_checkpoint(FEDERATION, ORIGIN, check_card(_card(), FEDERATION, ORIGIN).card,
                         CHECKPOINT, len(LOG), [])  # fmt: skip
    with pytest.raises(ProofFailed, match="not a key statement"):
        _proof([_item(LOG[0]), _item(LOG[1])])
    with pytest.raises(ProofFailed, match=r"key statement at seq 1: .*signed by unknown key"):
        _proof([_item(LOG[1])])  # signed by the signing key, which no statement allowed yet


def test_a_key_statement_that_the_checkpoint_does_not_hold_fails() -> None:
    forged = seal(federation=FEDERATION, origin=ORIGIN, seq=0, draft=_added(OTHER), key=ROOT)
    item = _item(forged)
    item["inclusion"] = _item(LOG[0])["inclusion"]
    with pytest.raises(ProofFailed, match="key statement at seq 0: inclusion"):
        _proof([item])


# A log whose first signing key was revoked below seq 1 (decision 0032): 0 adds SIGNING, 1 is
# a notice SIGNING signed, 2 adds OTHER, 3 revokes SIGNING below seq 1. Its checkpoint, signed
# by OTHER, commits to the three key statements.
def _statement(seq: int, draft: Draft) -> SealedEntry:
    return seal(federation=FEDERATION, origin=ORIGIN, seq=seq, draft=draft, key=ROOT)


REVOKED = {"key_id": SIGNING.key_id, "valid_below_seq": 1, "reason": "stolen"}
ROTATED = [
    _statement(0, _added(SIGNING)),
    seal(
        federation=FEDERATION,
        origin=ORIGIN,
        seq=1,
        draft=Draft("notice.published", b'{"notice_id":"N-1"}', (ORIGIN,), WHEN),
        key=SIGNING,
    ),
    _statement(2, _added(OTHER)),
    _statement(3, Draft("key.revoked", canonical_bytes(REVOKED), ("*",), WHEN)),
]
ROTATED_LEAVES = [e.leaf_hash for e in ROTATED]
KEYS = LeafChain.of(ROTATED_LEAVES[i] for i in (0, 2, 3))


def _rotated_item(entry: SealedEntry) -> dict[str, Any]:
    return {**_item(entry), "inclusion": [b64(h) for h in _path(entry.seq, ROTATED_LEAVES)]}


def _rotated_proof(statements: list[SealedEntry], keys: LeafChain | None = KEYS) -> Any:
    head = cp.Checkpoint(
        cp.origin_line(FEDERATION, ORIGIN), 4, merkle.root_of(ROTATED_LEAVES), keys
    )
    card = check_card(_card(), FEDERATION, ORIGIN).card
    items = [_rotated_item(e) for e in statements]
    return prove_checkpoint(FEDERATION, ORIGIN, card, cp.sign_checkpoint(head, OTHER), 4, items)


def test_with_every_key_statement_the_revoked_keys_entry_fails() -> None:
    proof = _rotated_proof([ROTATED[0], ROTATED[2], ROTATED[3]])
    assert proof.keys_committed and [t for _, t in proof.key_statements] == [
        "key.added",
        "key.added",
        "key.revoked",
    ]
    with pytest.raises(ProofFailed, match="entry 1 of de-bafa: signed by unknown key"):
        proof.entry(_rotated_item(ROTATED[1]), "version 0")


def test_a_key_statement_left_out_fails_against_the_checkpoints_keys_line() -> None:
    # without the revocation the notice signed by the stolen key would verify
    with pytest.raises(
        ProofFailed, match="commits to 3 key statements, the bundle carries 2: 1 left out"
    ):
        _rotated_proof([ROTATED[0], ROTATED[2]])
    # without the commitment (a checkpoint from before decision 0032) it does: not proven
    proof = _rotated_proof([ROTATED[0], ROTATED[2]], keys=None)
    assert not proof.keys_committed
    assert proof.entry(_rotated_item(ROTATED[1]), "version 0").seq == 1


def test_key_statements_out_of_order_twice_or_not_the_committed_ones_fail() -> None:
    with pytest.raises(ProofFailed, match="in seq order, once each"):
        _rotated_proof([ROTATED[0], ROTATED[3], ROTATED[2]])
    with pytest.raises(ProofFailed, match="in seq order, once each"):
        _rotated_proof([ROTATED[0], ROTATED[2], ROTATED[2], ROTATED[3]])
    other = LeafChain.of([ROTATED_LEAVES[0], ROTATED_LEAVES[3], ROTATED_LEAVES[2]])
    with pytest.raises(ProofFailed, match="are not the 3 the checkpoint commits to"):
        _rotated_proof([ROTATED[0], ROTATED[2], ROTATED[3]], keys=other)


def test_the_whole_log_audit_checks_the_keys_line() -> None:
    notice = ROTATED[1].leaf_hash  # the one publication: its own key in the map
    heads = NoticeMap.of([(notice, LeafChain.of([notice]))]).root()

    def audit(keys: LeafChain, notices: bytes | None = heads) -> None:
        auditor = LogAuditor(FEDERATION, ORIGIN, ROOT.public)
        for entry in ROTATED:
            auditor.add(entry.seq, entry.envelope, entry.leaf_hash, entry.salt, entry.body)
        head = cp.Checkpoint(cp.origin_line(FEDERATION, ORIGIN), 4, auditor.root(), keys, notices)
        auditor.finish(cp.sign_checkpoint(head, OTHER))

    audit(KEYS)
    with pytest.raises(LogAuditError, match="its map of notice heads is not the log's"):
        audit(KEYS, NoticeMap().root())
    with pytest.raises(LogAuditError, match=r"commits to 2 key statements.*the log has 3"):
        audit(LeafChain.of(ROTATED_LEAVES[i] for i in (0, 2)))
