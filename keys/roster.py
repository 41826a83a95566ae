"""Roster rules: whether a verified node card may enter the roster, or replace a stored one.

Pure decisions over values (DESIGN §2): a node id is bound to one root key for good; a card
with the same root key and a higher `card_version` replaces the stored one (new URL, new
regimes); a removed peer may be added again. Storing the decision is the service's job.
"""

from dataclasses import dataclass
from enum import Enum

from keys.ed25519 import fingerprint
from keys.errors import KeysError


class RosterError(KeysError):
    """A card may not enter the roster as asked (another root key, an older card, ...)."""


class Change(Enum):
    ADDED = "added"  # a node id this roster has never held
    REPLACED = "replaced"  # same root key, higher card version
    READDED = "readded"  # a removed peer comes back (same root key, same or higher version)


@dataclass(frozen=True)
class Held:
    """What the roster holds for a node id."""

    node_id: str
    root_key: bytes
    card_version: int
    removed: bool


def admit(held: Held | None, *, node_id: str, root_key: bytes, card_version: int) -> Change:
    """Decide how a verified card of `node_id` enters the roster, or raise RosterError."""
    if held is None:
        return Change.ADDED
    if held.root_key != root_key:
        raise RosterError(
            f"{node_id} is in the roster with root key {fingerprint(held.root_key)}; "
            f"a card signed by another root key ({fingerprint(root_key)}) is refused"
        )
    if card_version < held.card_version:
        raise RosterError(
            f"card version {card_version} of {node_id} is older than the stored "
            f"version {held.card_version}"
        )
    if held.removed:
        return Change.READDED
    if card_version == held.card_version:
        raise RosterError(
            f"{node_id} is already in the roster with card version {card_version}; "
            "a replacement needs a higher card_version"
        )
    return Change.REPLACED
