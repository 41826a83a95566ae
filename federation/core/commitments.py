"""What a checkpoint commits to beyond its tree (decision 0032): the chain of every key
statement below its size, so that a bundle cannot leave one out.

`keys N H` is a C2SP tlog-checkpoint extension line: `N` key statements below the size, `H`
their chain hash, `H_0` = 32 zero bytes, `H_i = SHA-256(0x02 || H_(i-1) || leaf_hash_i)` in
seq order. The domain byte 0x02 is neither RFC 9162's leaf (0x00) nor node (0x01) prefix, so
no chain value reads as a tree hash. Pure.
"""

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from federation.core.errors import FederationError
from federation.core.merkle import HASH_BYTES

KEY_CHAIN_DOMAIN = b"\x02"
_KEYS_LINE = re.compile(r"^keys (0|[1-9][0-9]{0,18}) ([A-Za-z0-9+/]{43}=)$")


class CommitmentError(FederationError):
    """A commitment line is malformed."""


@dataclass(frozen=True)
class LeafChain:
    """The count and chain hash of a list of leaf hashes in seq order: a log's key statements
    (the `keys` line), one notice's versions."""

    count: int = 0
    chain: bytes = bytes(HASH_BYTES)

    def extended(self, leaf_hash: bytes) -> "LeafChain":
        digest = hashlib.sha256(KEY_CHAIN_DOMAIN + self.chain + leaf_hash).digest()
        return LeafChain(self.count + 1, digest)

    @classmethod
    def of(cls, leaf_hashes: Iterable[bytes]) -> "LeafChain":
        chain = cls()
        for leaf_hash in leaf_hashes:
            chain = chain.extended(leaf_hash)
        return chain

    def line(self) -> str:
        return f"keys {self.count} {base64.b64encode(self.chain).decode()}"

    @classmethod
    def parse_line(cls, line: str) -> "LeafChain":
        match = _KEYS_LINE.fullmatch(line)
        if match is None:
            raise CommitmentError(f"extension line {line!r} is not `keys <count> <b64 hash>`")
        try:
            chain = base64.b64decode(match[2], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CommitmentError("the key chain hash is not valid base64") from exc
        if base64.b64encode(chain).decode() != match[2]:
            raise CommitmentError("the key chain hash is not canonical base64")
        return cls(int(match[1]), chain)

    def describe(self) -> str:
        return f"{self.count} key statements, chain {base64.b64encode(self.chain).decode()}"
