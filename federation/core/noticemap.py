"""The map of notice heads (decision 0032): for each notice in a log below a checkpoint's size,
the count and chain hash of its entries, committed to by the checkpoint's `notices <b64 root>`
line; proofs of a key's value or absence. Which entries make a notice is left to others. Pure.

The construction, for other implementations:

* A key is 32 bytes. Its bucket is the value of its first 12 bits,
  `int.from_bytes(key[:2], "big") >> 4`: one of 4096 buckets.
* A bucket hashes as `SHA-256(0x03 || e_1 || ... || e_n)` over its entries sorted by key, each
  `e = key (32 bytes) || count (8 bytes, big-endian) || chain (32 bytes)`; an empty bucket
  as `SHA-256(0x03)`.
* The map root is the root of the complete binary tree over the 4096 bucket hashes in bucket
  order, each interior node `SHA-256(0x04 || left || right)`.
* The proof of a key is its whole bucket, sorted by key, and the 12 sibling hashes from the
  bucket up to the root's children. As the bucket lists every key that falls in it, the same
  proof shows a key's value or its absence.

The domain bytes 0x03, 0x04 are neither RFC 9162's (0x00, 0x01) nor the chain's (0x02).
"""

import base64
import functools
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from federation.core.commitments import KEY_CHAIN_DOMAIN, LeafChain
from federation.core.errors import FederationError
from federation.core.merkle import HASH_BYTES

BUCKET_BITS = 12
BUCKETS = 1 << BUCKET_BITS
MAX_BUCKET_ENTRIES = 65_536
MAX_COUNT = 1 << 63  # exclusive: a count is 8 bytes on the wire, and stays a signed int64
_SHIFT = 16 - BUCKET_BITS
_COUNT_END = HASH_BYTES + 8
_EMPTY_CHAIN = LeafChain().chain
BUCKET_DOMAIN = b"\x03"
NODE_DOMAIN = b"\x04"
_B64_HASH = re.compile(r"[A-Za-z0-9+/]{43}=")  # 32 bytes in standard base64

Entry = tuple[bytes, LeafChain]


class MapProofError(FederationError):
    """A map proof, entry or `notices` line is malformed, or a proof does not lead to the root."""


def bucket_of(key: bytes) -> int:
    return int.from_bytes(key[:2], "big") >> _SHIFT


def bucket_hash(entries: Iterable[Entry]) -> bytes:
    """The hash of a bucket from its entries, which the caller gives sorted by key."""
    return hashlib.sha256(BUCKET_DOMAIN + b"".join(_record(k, v) for k, v in entries)).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_DOMAIN + left + right).digest()


@functools.cache
def _empty_tree() -> tuple[bytes, ...]:
    """The empty map's nodes in heap order: the root at 1, i's children at 2i and 2i + 1."""
    nodes = [b""] * BUCKETS + [bucket_hash(())] * BUCKETS
    for i in range(BUCKETS - 1, 0, -1):
        nodes[i] = _node(nodes[2 * i], nodes[2 * i + 1])
    return tuple(nodes)


def _check_key(key: bytes, what: str = "a map key") -> None:
    if len(key) != HASH_BYTES:
        raise MapProofError(f"{what} is {len(key)} bytes, not {HASH_BYTES}")


def _check_entry(key: bytes, value: LeafChain, what: str) -> None:
    _check_key(key, f"{what}: the key")
    if not 0 <= value.count < MAX_COUNT:
        raise MapProofError(f"{what}: count {value.count} is not in [0, 2**63)")
    if len(value.chain) != HASH_BYTES:
        raise MapProofError(f"{what}: the chain is {len(value.chain)} bytes, not {HASH_BYTES}")


def _record(key: bytes, value: LeafChain) -> bytes:
    """An entry as a bucket hashes it: key || count (8 bytes, big-endian) || chain."""
    return key + value.count.to_bytes(8, "big") + value.chain


def _value(record: bytes) -> LeafChain:
    return LeafChain(
        int.from_bytes(record[HASH_BYTES : HASH_BYTES + 8], "big"), record[-HASH_BYTES:]
    )


def _sorted(bucket: Mapping[bytes, bytes]) -> tuple[Entry, ...]:
    return tuple((record[:HASH_BYTES], _value(record)) for record in sorted(bucket.values()))


class NoticeMap:
    """Notice heads by key, and the tree over their buckets kept lazily: `set` marks a bucket
    dirty; `root` and `proof` rehash the dirty buckets and the nodes above them, once. A
    `copy` shares buckets with its source until either writes to one (copy on write)."""

    def __init__(self) -> None:
        # key -> its record (`_record`), so that a bucket hashes its records sorted, as they
        # are: a record starts with its key, and keys have one length
        self._buckets: list[dict[bytes, bytes]] = [{}] * BUCKETS  # shared, copied on write
        self._owned = bytearray(BUCKETS)  # 1 where this map may write the bucket in place
        self._nodes = list(_empty_tree())  # bucket b's hash at BUCKETS + b
        self._dirty: set[int] = set()
        self._size = 0

    @classmethod
    def of(cls, items: Iterable[Entry]) -> "NoticeMap":
        """The map of `items`; a key given twice keeps its last value."""
        notice_map = cls()
        for key, value in items:
            notice_map.set(key, value)
        return notice_map

    def __len__(self) -> int:
        return self._size

    def get(self, key: bytes) -> LeafChain | None:
        _check_key(key)
        record = self._buckets[bucket_of(key)].get(key)
        return None if record is None else _value(record)

    def set(self, key: bytes, value: LeafChain) -> None:
        """Insert or replace the value of `key`."""
        _check_entry(key, value, "a map entry")
        index = bucket_of(key)
        if not self._owned[index]:
            self._buckets[index] = dict(self._buckets[index])
            self._owned[index] = 1
        bucket = self._buckets[index]
        self._size += key not in bucket
        bucket[key] = _record(key, value)
        self._dirty.add(index)

    def append(self, key: bytes, leaf: bytes) -> None:
        """Extend the chain of `key` by one entry's leaf hash (the notice's next version)."""
        self.extend(((key, leaf),))

    def extend(self, items: Iterable[tuple[bytes, bytes]]) -> None:
        """`append` each (key, leaf hash) in order: the chain of `LeafChain.extended`, kept as
        records, in one loop (a log's growth passes every notice entry through here)."""
        buckets, owned, dirty, sha256 = self._buckets, self._owned, self._dirty, hashlib.sha256
        for key, leaf in items:
            _check_key(key)
            _check_key(leaf, "a leaf hash")
            index = int.from_bytes(key[:2], "big") >> _SHIFT
            if not owned[index]:
                buckets[index] = dict(buckets[index])
                owned[index] = 1
            bucket = buckets[index]
            record = bucket.get(key)
            if record is None:
                self._size += 1
                count, chain = 0, _EMPTY_CHAIN
            else:
                count, chain = (
                    int.from_bytes(record[HASH_BYTES:_COUNT_END], "big"),
                    record[-HASH_BYTES:],
                )
            if count + 1 >= MAX_COUNT:
                raise MapProofError(f"a map entry: count {count + 1} is not in [0, 2**63)")
            chain = sha256(KEY_CHAIN_DOMAIN + chain + leaf).digest()
            bucket[key] = key + (count + 1).to_bytes(8, "big") + chain
            dirty.add(index)

    def root(self) -> bytes:
        self._rehash()
        return self._nodes[1]

    def proof(self, key: bytes) -> "MapProof":
        """The bucket of `key` and the path from it to the root: proves its value or absence."""
        _check_key(key)
        self._rehash()
        index = bucket_of(key)
        path = (self._nodes[((BUCKETS + index) >> level) ^ 1] for level in range(BUCKET_BITS))
        return MapProof(_sorted(self._buckets[index]), tuple(path))

    def copy(self) -> "NoticeMap":
        """A snapshot in O(buckets): the two maps share buckets until either writes to one."""
        clone = NoticeMap()
        clone._buckets = list(self._buckets)
        clone._nodes = list(self._nodes)
        clone._dirty = set(self._dirty)
        clone._size = self._size
        self._owned = bytearray(BUCKETS)
        return clone

    def _rehash(self) -> None:
        """Rehash the dirty buckets, then each level of nodes above them (the tree's hot loop:
        a batch of a thousand notices dirties most of the 4096 buckets)."""
        if not self._dirty:
            return
        nodes, buckets, sha256 = self._nodes, self._buckets, hashlib.sha256
        for index in self._dirty:
            records = b"".join(sorted(buckets[index].values()))
            nodes[BUCKETS + index] = sha256(BUCKET_DOMAIN + records).digest()
        changed = {(BUCKETS + index) >> 1 for index in self._dirty}
        self._dirty = set()
        while changed:
            for node in changed:
                nodes[node] = sha256(NODE_DOMAIN + nodes[2 * node] + nodes[2 * node + 1]).digest()
            changed = {node >> 1 for node in changed if node > 1}


@dataclass(frozen=True)
class MapProof:
    """All entries of one bucket, sorted by key, and the 12 sibling hashes from that bucket up
    to the root's children. Well formed whenever built; `verify_map_proof` checks the rest."""

    bucket: tuple[Entry, ...]
    path: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if len(self.bucket) > MAX_BUCKET_ENTRIES:
            raise MapProofError(f"map proof: more than {MAX_BUCKET_ENTRIES} bucket entries")
        for i, (key, value) in enumerate(self.bucket):
            _check_entry(key, value, f"map proof: bucket entry {i}")
        if len(self.path) != BUCKET_BITS or any(len(h) != HASH_BYTES for h in self.path):
            raise MapProofError(f"map proof: the path must be {BUCKET_BITS} hashes of 32 bytes")

    def to_json(self) -> dict[str, Any]:
        return {
            "bucket": [[_b64(key), value.count, _b64(value.chain)] for key, value in self.bucket],
            "path": [_b64(sibling) for sibling in self.path],
        }

    @classmethod
    def from_json(cls, data: Any) -> "MapProof":
        if not isinstance(data, dict) or set(data) != {"bucket", "path"}:
            raise MapProofError("a map proof must be an object of exactly `bucket` and `path`")
        bucket, path = data["bucket"], data["path"]
        if not isinstance(bucket, list) or len(bucket) > MAX_BUCKET_ENTRIES:
            raise MapProofError(f"map proof: `bucket` must be a list, {MAX_BUCKET_ENTRIES} at most")
        if not isinstance(path, list) or len(path) != BUCKET_BITS:
            raise MapProofError(f"map proof: `path` must be a list of {BUCKET_BITS} hashes")
        entries = [_entry_from_json(i, item) for i, item in enumerate(bucket)]
        hashes = [_from_b64(sibling, f"map proof: path hash {i}") for i, sibling in enumerate(path)]
        return cls(tuple(entries), tuple(hashes))


def _entry_from_json(index: int, item: Any) -> Entry:
    what = f"map proof: bucket entry {index}"
    if not (isinstance(item, list) and len(item) == 3 and type(item[1]) is int):  # not bool
        raise MapProofError(f"{what} must be [b64 key, count, b64 chain]")
    key = _from_b64(item[0], f"{what}: the key")
    return key, LeafChain(item[1], _from_b64(item[2], f"{what}: the chain"))


def verify_map_proof(root: bytes, key: bytes, proof: MapProof) -> LeafChain | None:
    """The value `proof` shows for `key` under `root`, or None when it shows the key absent.
    Raises MapProofError when the proof is not of the key's bucket or does not lead to `root`."""
    _check_key(key)
    index = bucket_of(key)
    where = f"map proof for key {key.hex()[:16]}..."
    keys = [entry_key for entry_key, _ in proof.bucket]
    strays = [entry_key.hex()[:16] for entry_key in keys if bucket_of(entry_key) != index]
    if strays:
        raise MapProofError(f"{where}: entry {strays[0]}... is not in bucket {index}")
    if keys != sorted(set(keys)):
        raise MapProofError(f"{where}: the bucket's keys are not strictly increasing")
    node = bucket_hash(proof.bucket)
    for sibling in proof.path:
        node = _node(sibling, node) if index & 1 else _node(node, sibling)
        index >>= 1
    if node != root:
        raise MapProofError(f"{where}: the proof does not lead to the map root")
    return dict(proof.bucket).get(key)


def root_line(root: bytes) -> str:
    _check_key(root, "a map root")
    return f"notices {_b64(root)}"


def parse_root_line(line: str) -> bytes:
    if not line.startswith("notices "):
        raise MapProofError(f"extension line {line[:80]!r} is not `notices <b64 map root>`")
    return _from_b64(line.removeprefix("notices "), "the notice map root")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _from_b64(text: Any, what: str) -> bytes:
    if not isinstance(text, str) or _B64_HASH.fullmatch(text) is None:
        raise MapProofError(f"{what} must be the base64 of {HASH_BYTES} bytes")
    raw = base64.b64decode(text, validate=True)
    if _b64(raw) != text:
        raise MapProofError(f"{what} is not canonical base64")
    return raw
