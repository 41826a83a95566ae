"""RFC 9162 §2.1 Merkle tree maths: hashing, proofs as ranges of complete subtrees, verification.

Pure functions. Proof generation is split in two so storage stays O(log n): `*_ranges` say
which subtree hashes a proof needs, `subtree_keys` names the stored complete subtrees that
make up each range, and `assemble` folds looked-up hashes into the proof. A complete subtree
is `(level, index)`: the 2**level leaves starting at index * 2**level.
"""

import hashlib
from collections.abc import Callable, Mapping, Sequence

from federation.core.errors import FederationError

EMPTY_ROOT = hashlib.sha256(b"").digest()
HASH_BYTES = 32

Range = tuple[int, int]  # [start, end)
Key = tuple[int, int]  # (level, index)


class ProofError(FederationError):
    """A proof does not verify, or was asked for outside the tree."""


def leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes, by the RFC's recursive definition (for tests and small trees)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node(root_of(leaves[:k]), root_of(leaves[k:]))


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The subtrees whose hashes form PATH(index, D[0:size]), leaf side first."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    out: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo = lo + k
    out.reverse()
    return out


def consistency_ranges(old: int, new: int) -> list[Range]:
    """The subtrees whose hashes form PROOF(old, D[0:new]) (RFC 9162 §2.1.4.1)."""
    if old < 1 or old > new:
        raise ProofError(f"no consistency proof from size {old} to size {new}")
    out: list[Range] = []
    lo, hi, m, whole = 0, new, old, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        out.append((lo, hi))
    out.reverse()
    return out


def subtree_keys(start: int, end: int) -> list[Key]:
    """Split [start, end) into complete aligned subtrees, largest (leftmost) first.

    Valid for the ranges proofs and roots use: `start` aligned to a power of two at least
    as large as the range.
    """
    keys: list[Key] = []
    while start < end:
        level = (end - start).bit_length() - 1
        while start % (1 << level):
            level -= 1
        keys.append((level, start >> level))
        start += 1 << level
    return keys


def range_hash(start: int, end: int, lookup: Callable[[Key], bytes]) -> bytes:
    """MTH of leaves [start, end) from the hashes of its complete subtrees."""
    return fold(subtree_keys(start, end), lookup)


def fold(keys: Sequence[Key], lookup: Callable[[Key], bytes]) -> bytes:
    """MTH of the range that `keys` (as `subtree_keys` gives them) split into subtrees."""
    if not keys:
        return EMPTY_ROOT
    acc = lookup(keys[-1])
    for key in reversed(keys[:-1]):
        acc = node(lookup(key), acc)
    return acc


def needed_keys(ranges: Sequence[Range]) -> set[Key]:
    return {key for start, end in ranges for key in subtree_keys(start, end)}


def assemble(ranges: Sequence[Range], hashes: Mapping[Key, bytes]) -> list[bytes]:
    """The proof: each range's hash from the looked-up complete subtrees."""
    return [range_hash(start, end, hashes.__getitem__) for start, end in ranges]


def new_complete_subtrees(
    size: int, leaf_hash: bytes, lookup: Callable[[Key], bytes]
) -> dict[Key, bytes]:
    """The complete subtrees that appending leaf number `size` completes, with their hashes."""
    made: dict[Key, bytes] = {(0, size): leaf_hash}
    level, index, current = 0, size, leaf_hash
    while index % 2 == 1:
        left = made.get((level, index - 1)) or lookup((level, index - 1))
        current = node(left, current)
        level, index = level + 1, index // 2
        made[(level, index)] = current
    return made


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_BYTES:
        raise ProofError(f"{what} is {len(value)} bytes, not {HASH_BYTES}")


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2; raises ProofError naming what failed."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    _check_hash(leaf_hash, "leaf hash")
    _check_hash(root, "root")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        _check_hash(p, "proof hash")
        if sn == 0:
            raise ProofError("inclusion proof is too long")
        if fn % 2 == 1 or fn == sn:
            r = node(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is too short")
    if r != root:
        raise ProofError("inclusion proof does not lead to the root")


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2; raises ProofError naming what failed."""
    if old > new:
        raise ProofError(f"old size {old} is larger than new size {new}")
    if old == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing")
    if old == new:
        if proof:
            raise ProofError("proof between equal sizes must be empty")
        if old_root != new_root:
            raise ProofError("roots differ for the same size")
        return
    if not proof:
        raise ProofError("consistency proof is empty")
    _check_hash(old_root, "old root")
    _check_hash(new_root, "new root")
    for p in proof:
        _check_hash(p, "proof hash")
    path = list(proof)
    if old & (old - 1) == 0:  # old is a power of two: its root is the first node
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn % 2 == 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn % 2 == 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != old_root:
        raise ProofError("consistency proof does not lead to the old root")
    if sr != new_root:
        raise ProofError("consistency proof does not lead to the new root")
