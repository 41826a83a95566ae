"""keys.roster: how a verified card enters the roster (DESIGN §2), as a table of cases."""

import pytest

from keys.ed25519 import KeyPair, fingerprint
from keys.roster import Change, Held, RosterError, admit

ROOT = KeyPair.from_raw(bytes(32)).public
OTHER = KeyPair.from_raw(bytes([1] * 32)).public


def _held(version: int = 2, *, removed: bool = False, root: bytes = ROOT) -> Held:
    return Held(node_id="fr-sbdu", root_key=root, card_version=version, removed=removed)


@pytest.mark.parametrize(
    ("held", "version", "expected"),
    [
        pytest.param(None, 1, Change.ADDED, id="new-node"),
        pytest.param(_held(2), 3, Change.REPLACED, id="higher-version-replaces"),
        pytest.param(_held(2, removed=True), 2, Change.READDED, id="removed-same-version"),
        pytest.param(_held(2, removed=True), 5, Change.READDED, id="removed-higher-version"),
    ],
)
def test_admitted(held: Held | None, version: int, expected: Change) -> None:
    assert admit(held, node_id="fr-sbdu", root_key=ROOT, card_version=version) is expected


@pytest.mark.parametrize(
    ("held", "root", "version", "message"),
    [
        pytest.param(_held(2), OTHER, 3, "another root key", id="other-root-key"),
        pytest.param(
            _held(2, removed=True), OTHER, 3, "another root key", id="other-root-key-removed"
        ),
        pytest.param(_held(2), ROOT, 2, "already in the roster", id="same-version"),
        pytest.param(_held(2), ROOT, 1, "older", id="older-version"),
        pytest.param(_held(2, removed=True), ROOT, 1, "older", id="older-version-removed"),
    ],
)
def test_refused(held: Held, root: bytes, version: int, message: str) -> None:
    with pytest.raises(RosterError, match=message):
        admit(held, node_id="fr-sbdu", root_key=root, card_version=version)


def test_a_root_key_conflict_names_both_fingerprints() -> None:
    with pytest.raises(RosterError) as raised:
        admit(_held(), node_id="fr-sbdu", root_key=OTHER, card_version=9)
    assert fingerprint(ROOT) in str(raised.value) and fingerprint(OTHER) in str(raised.value)
