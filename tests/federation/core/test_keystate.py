"""federation.core.keystate: one pure replay of an origin's key statements (DESIGN §2).

Statements replay in seq order; a key is valid for entries after its `key.added`, up to its
`key.retired`, and below the `valid_below_seq` of its `key.revoked`. A statement that does not
fit the state replayed so far is refused with `EntryError`, and the state stays as it was.
"""

import copy
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from federation.core.errors import EntryError
from federation.core.keystate import KeyLife, KeyState, Statement, apply, replay
from keys.ed25519 import KeyPair, b64

A = KeyPair(Ed25519PrivateKey.from_private_bytes(b"\x0a" * 32))
B = KeyPair(Ed25519PrivateKey.from_private_bytes(b"\x0b" * 32))
T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def added(seq: int, pair: KeyPair, /, **body: Any) -> Statement:
    full = {"key": b64(pair.public), "key_id": pair.key_id, "purpose": "signing", **body}
    return Statement(seq, "key.added", full, T0 + timedelta(hours=seq))


def retired(seq: int, key: KeyPair) -> Statement:
    return Statement(seq, "key.retired", {"key_id": key.key_id}, T0 + timedelta(hours=seq))


def revoked(seq: int, key: KeyPair, below: object, reason: object = "lost") -> Statement:
    body = {"key_id": key.key_id, "valid_below_seq": below, "reason": reason}
    return Statement(seq, "key.revoked", body, T0 + timedelta(hours=seq))


HISTORY = [added(0, A), added(3, B), retired(7, A), revoked(9, B, below=5, reason="stolen")]


def test_an_added_key_signs_the_entries_after_its_statement() -> None:
    state = replay([added(2, A)])
    assert state.last_seq == 2
    assert state.keys == {A.key_id: KeyLife(key=A.public, key_id=A.key_id, added_seq=2)}
    assert [seq for seq in range(6) if state.valid_keys(seq)] == [3, 4, 5]
    assert state.checkpoint_keys(2) == [] and state.checkpoint_keys(3) == [A.public]


def test_a_retired_key_signs_up_to_its_retirement_and_records_when() -> None:
    state = replay([added(0, A), added(1, B), retired(4, A)])
    life = state.keys[A.key_id]
    assert (life.retired_seq, life.retired_at) == (4, T0 + timedelta(hours=4))
    assert (life.revoked_seq, life.valid_below) == (None, None)
    assert set(state.valid_keys(4)) == {A.key_id, B.key_id}
    assert set(state.valid_keys(5)) == {B.key_id}
    # the checkpoint of size 5 contains the retirement: still A's to sign, 6 no longer
    assert A.public in state.checkpoint_keys(5) and A.public not in state.checkpoint_keys(6)
    assert state.revocations() == []


def test_a_revoked_key_invalidates_its_entries_from_valid_below_seq() -> None:
    state = replay([added(0, A), added(1, B), revoked(6, A, below=3, reason="stolen")])
    life = state.keys[A.key_id]
    assert (life.revoked_seq, life.valid_below, life.reason) == (6, 3, "stolen")
    assert life.retired_seq is None
    assert [seq for seq in range(8) if A.key_id in state.valid_keys(seq)] == [1, 2]
    assert [seq for seq in range(8) if state.invalid(seq, A.key_id)] == [3, 4, 5, 6, 7]
    assert not state.invalid(5, B.key_id) and not state.invalid(5, "unknown")
    assert state.revocations() == [life]
    assert A.public in state.checkpoint_keys(3) and A.public not in state.checkpoint_keys(4)


@pytest.mark.parametrize("below", [0, 4], ids=["at-its-addition", "at-the-revocation"])
def test_valid_below_seq_may_be_either_end_of_the_allowed_range(below: int) -> None:
    state = replay([added(0, A), revoked(4, A, below=below)])
    assert state.keys[A.key_id].valid_below == below


def test_a_retired_key_may_still_be_revoked_later() -> None:
    """Retirement does not protect a key that leaks afterwards: its old entries can still be
    invalidated."""
    state = replay([added(0, A), added(1, B), retired(5, A), revoked(8, A, below=2)])
    life = state.keys[A.key_id]
    assert (life.retired_seq, life.revoked_seq, life.valid_below) == (5, 8, 2)
    assert state.invalid(2, A.key_id) and not state.invalid(1, A.key_id)


REFUSED = [
    pytest.param([added(0, A)], added(0, B), "seq order", id="same-seq"),
    pytest.param([added(5, A)], added(2, B), "seq order", id="earlier-seq"),
    pytest.param([added(0, A)], Statement(1, "key.rotated", {}, T0), "not a key", id="type"),
    pytest.param([], Statement(0, "key.added", cast(Any, ["x"]), T0), "JSON object", id="list"),
    pytest.param([], added(0, A, purpose="encryption"), "purpose", id="purpose"),
    pytest.param([], added(0, A, key="not base64!"), "base64", id="key-not-base64"),
    pytest.param([], added(0, A, key=""), "non-empty", id="key-empty"),
    pytest.param([], added(0, A, key_id=B.key_id), "does not match", id="key-id-of-another"),
    pytest.param([], added(0, A, key=b64(A.public[:31])), "does not match", id="short-key"),
    pytest.param([added(0, A)], added(1, A), "already added", id="added-twice"),
    pytest.param([added(0, A)], retired(1, B), "not an active", id="retire-unknown"),
    pytest.param([added(0, A), retired(1, A)], retired(2, A), "not an active", id="retire-twice"),
    pytest.param([added(0, A), revoked(1, A, 1)], retired(2, A), "not an active", id="retire-rev"),
    pytest.param(
        [added(0, A)], Statement(1, "key.retired", {"key_id": 7}, T0), "key_id", id="retire-int"
    ),
    pytest.param([added(0, A)], revoked(1, B, 1), "unknown", id="revoke-unknown"),
    pytest.param([added(0, A), revoked(1, A, 1)], revoked(2, A, 1), "already", id="revoke-twice"),
    pytest.param([added(2, A)], revoked(4, A, 1), "valid_below_seq", id="below-before-added"),
    pytest.param([added(0, A)], revoked(4, A, 5), "valid_below_seq", id="below-after-revoke"),
    pytest.param([added(0, A)], revoked(4, A, True), "valid_below_seq", id="below-bool"),
    pytest.param([added(0, A)], revoked(4, A, "2"), "valid_below_seq", id="below-text"),
    pytest.param([added(0, A)], revoked(4, A, 2.0), "valid_below_seq", id="below-float"),
    pytest.param([added(0, A)], revoked(4, A, 2, reason=""), "reason", id="reason-empty"),
    pytest.param([added(0, A)], revoked(4, A, 2, reason=None), "reason", id="reason-missing"),
]


@pytest.mark.parametrize(("before", "statement", "reason"), REFUSED)
def test_a_statement_that_does_not_fit_the_state_is_refused_and_changes_nothing(
    before: list[Statement], statement: Statement, reason: str
) -> None:
    state = replay(before)
    snapshot = copy.deepcopy(state)
    with pytest.raises(EntryError, match=reason) as refused:
        apply(state, statement)
    assert f"at seq {statement.seq}" in str(refused.value)  # says which statement
    assert state == snapshot
    with pytest.raises(EntryError, match=reason):
        replay([*before, statement])


def test_replay_takes_statements_in_the_order_given_and_refuses_to_reorder_them() -> None:
    """Gaps are fine (other entries lie between key statements); going back is not."""
    state = replay(HISTORY)
    assert state.last_seq == 9 and list(state.keys) == [A.key_id, B.key_id]
    with pytest.raises(EntryError, match="seq order"):
        replay([HISTORY[1], HISTORY[0]])  # each valid alone, B's before A's


def test_replay_is_a_fold_of_apply_that_leaves_every_earlier_state_as_it_was() -> None:
    states = [KeyState()]
    for statement in HISTORY:
        states.append(apply(states[-1], statement))
    for n, state in enumerate(states):
        assert state == replay(HISTORY[:n])
    assert states[2].keys[A.key_id].retired_seq is None  # A's retirement came later
    assert states[3].keys[B.key_id].revoked_seq is None


def test_replaying_the_same_statements_gives_equal_states_and_mutates_none_of_them() -> None:
    statements = copy.deepcopy(HISTORY)
    first, second = replay(statements), replay(iter(statements))
    assert first == second and first is not second
    assert first.keys is not second.keys
    assert statements == HISTORY  # bodies untouched


def test_nothing_replayed_is_an_empty_state_that_allows_no_key() -> None:
    state = replay([])
    assert state == KeyState() and state.last_seq == -1
    assert state.valid_keys(0) == {} and state.checkpoint_keys(1) == []
