"""What a peer's copy of this node's own log proves (federation.core.own_copy): only a checkpoint
of this node's log signed by its own key; a bare size, another origin's or another key's
checkpoint, or garbage is ignored with a reason, so that no peer stops appends by saying so."""

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from federation.core import checkpoint as cp
from federation.core import keystate
from federation.core.own_copy import OwnCopy, judge
from keys.ed25519 import KeyPair, b64

ORIGIN = "denex.test/de-bafa"
OWN = KeyPair(Ed25519PrivateKey.from_private_bytes(b"\x01" * 32))  # in the stored key state
NEWER = KeyPair(Ed25519PrivateKey.from_private_bytes(b"\x02" * 32))  # in a key file only
HOSTILE = KeyPair(Ed25519PrivateKey.from_private_bytes(b"\x03" * 32))
ROOT = bytes(range(32))
LOCAL = 3  # entries of its own log this node holds
WHEN = datetime(2026, 12, 4, tzinfo=UTC)


def _added(seq: int, key: KeyPair) -> keystate.Statement:
    body = {"key": b64(key.public), "key_id": key.key_id, "purpose": "signing"}
    return keystate.Statement(seq, "key.added", body, WHEN)


STATE = keystate.replay([_added(0, OWN)])


def _checkpoint(size: int, key: KeyPair, origin: str = ORIGIN) -> str:
    return cp.sign_checkpoint(cp.Checkpoint(origin, size, ROOT), key)


def _judge(claimed: int, checkpoint: str | None, **kwargs: object) -> OwnCopy:
    return judge(claimed, checkpoint, origin=ORIGIN, local=LOCAL, state=STATE, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("claimed", "checkpoint", "reason"),
    [
        (1_000_000, None, "without a checkpoint signed by its key"),
        (1_000_000, _checkpoint(1_000_000, HOSTILE), "not signed by its key"),
        (1_000_000, _checkpoint(9, HOSTILE, "denex.test/aq-rogue"), "not signed by its key"),
        (1_000_000, _checkpoint(9, OWN, "denex.test/aq-rogue"), "not signed by its key"),
        (1_000_000, _checkpoint(9, OWN, "denex.other/de-bafa"), "not signed by its key"),
        (1_000_000, "not a checkpoint\n\n— x AAAA\n", "not signed by its key"),
        (2, _checkpoint(2, HOSTILE), "not signed by its key"),
    ],
    ids=["bare-size", "other-key", "other-origin", "own-key-other-origin", "other-federation",
         "garbage", "other-key-smaller"],
)  # fmt: skip
def test_a_claim_not_signed_by_this_nodes_key_is_ignored_with_a_reason(
    claimed: int, checkpoint: str | None, reason: str
) -> None:
    copy = _judge(claimed, checkpoint)
    assert (copy.signed, copy.checkpoint) == (0, None)
    assert not copy.ahead_of(LOCAL)
    assert copy.ignored is not None and reason in copy.ignored, copy.ignored


def test_nothing_to_say_about_a_copy_that_claims_no_more_than_this_node_holds() -> None:
    assert _judge(LOCAL, None) == OwnCopy(0, None, None)
    assert _judge(0, None) == OwnCopy(0, None, None)


def test_a_longer_checkpoint_signed_by_this_nodes_key_is_a_restored_backup() -> None:
    longer = _checkpoint(5, OWN)
    copy = _judge(5, longer)
    assert copy == OwnCopy(5, longer, None) and copy.ahead_of(LOCAL)


def test_a_checkpoint_of_a_size_this_node_holds_is_handed_on_for_the_tree_to_judge() -> None:
    same = _checkpoint(LOCAL, OWN)
    copy = _judge(LOCAL, same)
    assert copy == OwnCopy(LOCAL, same, None) and not copy.ahead_of(LOCAL)


def test_a_size_beyond_what_the_signed_checkpoint_covers_counts_only_up_to_it() -> None:
    copy = _judge(1_000_000, _checkpoint(5, OWN))
    assert copy.signed == 5 and copy.ahead_of(LOCAL)
    assert copy.ignored is not None and "covers 5" in copy.ignored


def test_a_key_file_key_the_restored_database_does_not_know_signs_beyond_the_copy() -> None:
    """A database restored from before a key rotation, its key files kept: the newer key
    signed the newer checkpoints, and it is this node's own."""
    newer = _checkpoint(6, NEWER)
    assert _judge(6, newer, key_files=[OWN.public, NEWER.public]) == OwnCopy(6, newer, None)
    assert _judge(6, newer).ignored is not None  # without its key file: not provably its own
    # within the copy, the stored key state decides alone
    within = _checkpoint(2, NEWER)
    assert _judge(2, within, key_files=[NEWER.public]).ignored is not None


def test_a_key_file_key_the_stored_state_retired_is_held_to_the_stored_rules() -> None:
    retired = keystate.replay(
        [
            _added(0, OWN),
            _added(1, NEWER),
            keystate.Statement(2, "key.retired", {"key_id": OWN.key_id}, WHEN),
        ]
    )
    late = _checkpoint(6, OWN)
    copy = judge(6, late, origin=ORIGIN, local=LOCAL, state=retired, key_files=[OWN.public])
    assert copy.signed == 0 and copy.ignored is not None
