"""The map of notice heads: roots against a from-scratch reference written here from the
construction in the module's docstring, incremental updates and snapshots, proofs of value and
of absence, every tampering of a proof refused, and the JSON and line forms strict."""

import base64
import dataclasses
import hashlib
import json
import random
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from federation.core.commitments import LeafChain
from federation.core.errors import FederationError
from federation.core.noticemap import (
    MapProof,
    MapProofError,
    NoticeMap,
    parse_root_line,
    root_line,
    verify_map_proof,
)

# Vectors for other implementations, also checked against the reference below.
EMPTY_ROOT = "2e11f3477101ed259139a1fc77afd73d3a35fc7975f46b35e408dacee2d0c744"
TWO_KEYS = [(bytes(32), LeafChain.of([bytes(32)])), (b"\xff" * 32, LeafChain(3, b"\x11" * 32))]
TWO_KEYS_ROOT = "4bfc8a31f0cc70f752aa17fbec79ff1b9705bbb50b3b2d4fe30184133f53e8d5"


def reference_root(items: dict[bytes, LeafChain]) -> bytes:
    """The map root from scratch: every one of the 4096 buckets, then every level of the tree."""
    buckets: list[list[tuple[bytes, LeafChain]]] = [[] for _ in range(4096)]
    for key, value in items.items():
        buckets[int.from_bytes(key[:2], "big") >> 4].append((key, value))
    return root_of_buckets([sorted(bucket, key=lambda entry: entry[0]) for bucket in buckets])


def root_of_buckets(buckets: list[list[tuple[bytes, LeafChain]]]) -> bytes:
    """The root over 4096 buckets whose entries are hashed in the order given."""
    level = [
        hashlib.sha256(
            b"\x03" + b"".join(k + v.count.to_bytes(8, "big") + v.chain for k, v in bucket)
        ).digest()
        for bucket in buckets
    ]
    while len(level) > 1:
        pairs = zip(level[::2], level[1::2], strict=True)
        level = [hashlib.sha256(b"\x04" + left + right).digest() for left, right in pairs]
    return level[0]


def random_items(rng: random.Random, n: int, prefix: bytes = b"") -> dict[bytes, LeafChain]:
    """`n` keys (all starting with `prefix`) with values of 1 to 5 versions."""
    return {
        prefix + rng.randbytes(32 - len(prefix)): LeafChain.of(
            rng.randbytes(32) for _ in range(rng.randrange(1, 6))
        )
        for _ in range(n)
    }


def in_bucket(rng: random.Random, bucket: int) -> bytes:
    """A random key whose first 12 bits are `bucket`."""
    return ((bucket << 4) | rng.randrange(16)).to_bytes(2, "big") + rng.randbytes(30)


def test_the_empty_map_and_a_two_key_map_have_the_published_roots() -> None:
    assert NoticeMap().root().hex() == reference_root({}).hex() == EMPTY_ROOT
    two = NoticeMap.of(TWO_KEYS)
    assert two.root().hex() == reference_root(dict(TWO_KEYS)).hex() == TWO_KEYS_ROOT


@pytest.mark.parametrize("n", [1, 2, 1_000, 20_000])
def test_root_equals_the_reference(n: int) -> None:
    items = random_items(random.Random(n), n)
    notice_map = NoticeMap.of(items.items())
    assert len(notice_map) == n
    assert notice_map.root() == reference_root(items)


def test_keys_sharing_one_bucket_and_the_edge_buckets() -> None:
    rng = random.Random(7)
    items = random_items(rng, 300, prefix=b"\xab\xc0")  # 300 keys in bucket 0xabc
    items |= {in_bucket(rng, 0xABC): LeafChain.of([rng.randbytes(32)]) for _ in range(200)}
    items |= {in_bucket(rng, edge): LeafChain(1, rng.randbytes(32)) for edge in (0, 4095)}
    assert NoticeMap.of(items.items()).root() == reference_root(items)


def test_incremental_updates_give_the_root_of_the_map_built_at_once() -> None:
    rng = random.Random(11)
    notice_map, items = NoticeMap(), dict[bytes, LeafChain]()
    for step in range(600):
        if items and rng.random() < 0.3:  # a new version of a notice already in the map
            key = rng.choice(list(items))
            value = items[key].extended(rng.randbytes(32))
        else:
            key = in_bucket(rng, rng.choice([5, 6, rng.randrange(4096)]))
            value = LeafChain.of([rng.randbytes(32)])
        notice_map.set(key, value)
        items[key] = value
        if step % 37 == 0:
            assert notice_map.root() == reference_root(items)
    notice_map.set(key, value)  # setting a value again changes nothing
    assert notice_map.root() == reference_root(items) == NoticeMap.of(items.items()).root()
    assert len(notice_map) == len(items)
    assert all(notice_map.get(key) == value for key, value in items.items())
    assert notice_map.get(in_bucket(rng, 5)) is None


def test_extending_by_leaves_chains_each_notices_versions_in_order() -> None:
    rng = random.Random(12)
    keys = [in_bucket(rng, rng.choice([7, rng.randrange(4096)])) for _ in range(300)]
    versions = [(rng.choice(keys), rng.randbytes(32)) for _ in range(1_500)]
    notice_map, snapshot = NoticeMap(), None
    for start in range(0, len(versions), 250):
        notice_map.extend(versions[start : start + 250])
        if start == 500:
            snapshot, seen = notice_map.copy(), versions[: start + 250]
    expected = {key: LeafChain.of(leaf for k, leaf in versions if k == key) for key, _ in versions}
    assert notice_map.root() == reference_root(expected)
    assert all(notice_map.get(key) == value for key, value in expected.items())
    assert len(notice_map) == len(expected)
    assert snapshot is not None  # the copy taken midway kept its own chains
    assert snapshot.root() == reference_root(
        {key: LeafChain.of(leaf for k, leaf in seen if k == key) for key, _ in seen}
    )
    one = NoticeMap()
    one.append(*versions[0])
    assert one.get(versions[0][0]) == LeafChain.of([versions[0][1]])
    for bad, match in (((bytes(31), bytes(32)), "key is 31"), ((bytes(32), bytes(5)), "leaf")):
        with pytest.raises(MapProofError, match=match):
            one.extend([bad])
    assert len(one) == 1


def test_a_copy_is_a_snapshot_and_neither_side_writes_through() -> None:
    rng = random.Random(13)
    items = random_items(rng, 2_000)
    original = NoticeMap.of(items.items())
    snapshot = original.copy()
    original_items, snapshot_items = dict(items), dict(items)
    key = next(iter(items))
    original.set(key, items[key].extended(b"\x01" * 32))  # a shared bucket, written by one side
    original_items[key] = items[key].extended(b"\x01" * 32)
    other = in_bucket(rng, int.from_bytes(key[:2], "big") >> 4)
    snapshot.set(other, LeafChain(1, b"\x02" * 32))  # the same bucket, by the other side
    snapshot_items[other] = LeafChain(1, b"\x02" * 32)
    assert original.root() == reference_root(original_items)
    assert snapshot.root() == reference_root(snapshot_items)
    assert snapshot.get(key) == items[key] and original.get(other) is None
    assert (len(original), len(snapshot)) == (2_000, 2_001)
    second = snapshot.copy()  # a copy of a copy, taken with updates not yet hashed
    second.set(key, LeafChain(9, b"\x03" * 32))
    assert snapshot.root() == reference_root(snapshot_items)


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        (bytes(31), LeafChain(1, bytes(32)), "key is 31 bytes"),
        (bytes(33), LeafChain(1, bytes(32)), "key is 33 bytes"),
        (bytes(32), LeafChain(-1, bytes(32)), "count -1"),
        (bytes(32), LeafChain(2**63, bytes(32)), "count 9223372036854775808"),
        (bytes(32), LeafChain(1, bytes(31)), "chain is 31 bytes"),
    ],
)
def test_set_refuses_what_the_map_cannot_encode(key: bytes, value: LeafChain, match: str) -> None:
    notice_map = NoticeMap()
    with pytest.raises(MapProofError, match=match):
        notice_map.set(key, value)
    assert len(notice_map) == 0 and notice_map.root().hex() == EMPTY_ROOT
    with pytest.raises(MapProofError, match="is 31 bytes"):
        notice_map.get(bytes(31))


def crowded_map() -> tuple[NoticeMap, list[bytes]]:
    """About a thousand keys, five of them in bucket 0x123 (returned, sorted) and none in
    bucket 0x456 or in any other bucket starting 0x12 or 0x45."""
    rng = random.Random(17)
    items = {k: v for k, v in random_items(rng, 1_000).items() if k[0] not in (0x12, 0x45)}
    crowded = sorted(in_bucket(rng, 0x123) for _ in range(5))
    items |= {key: LeafChain.of([key] * (i + 1)) for i, key in enumerate(crowded)}
    return NoticeMap.of(items.items()), crowded


def test_proofs_show_the_value_of_every_key_present() -> None:
    notice_map, crowded = crowded_map()
    lone = in_bucket(random.Random(3), 0x777)
    notice_map.set(lone, LeafChain.of([lone]))
    root = notice_map.root()
    for key in [*crowded, lone]:
        proof = notice_map.proof(key)
        assert verify_map_proof(root, key, proof) == notice_map.get(key)
        assert len(proof.path) == 12
    assert [k for k, _ in notice_map.proof(crowded[0]).bucket] == crowded


def test_proofs_show_the_absence_of_keys_in_a_full_bucket_and_in_an_empty_one() -> None:
    notice_map, crowded = crowded_map()
    root, rng = notice_map.root(), random.Random(19)
    neighbour, lonely = in_bucket(rng, 0x123), in_bucket(rng, 0x456)
    assert verify_map_proof(root, neighbour, notice_map.proof(neighbour)) is None
    assert notice_map.proof(lonely).bucket == ()
    assert verify_map_proof(root, lonely, notice_map.proof(lonely)) is None
    assert verify_map_proof(NoticeMap().root(), lonely, NoticeMap().proof(lonely)) is None
    # A bucket's proof is the same for each of its keys, present or not.
    assert notice_map.proof(neighbour) == notice_map.proof(crowded[2])


Tamper = Callable[[MapProof], MapProof]


def _entries(change: Callable[[list[tuple[bytes, LeafChain]]], object]) -> Tamper:
    def tamper(proof: MapProof) -> MapProof:
        entries = list(proof.bucket)
        change(entries)
        return dataclasses.replace(proof, bucket=tuple(entries))

    return tamper


def _flip(raw: bytes) -> bytes:
    return bytes([raw[0] ^ 0x01]) + raw[1:]


def _path(change: Callable[[list[bytes]], object]) -> Tamper:
    def tamper(proof: MapProof) -> MapProof:
        path = list(proof.path)
        change(path)
        return dataclasses.replace(proof, path=tuple(path))

    return tamper


def _flip_path(level: int) -> Tamper:
    return _path(lambda p: p.__setitem__(level, _flip(p[level])))


def _add(key: bytes) -> Tamper:
    """Add an entry for `key`, keeping the bucket sorted."""

    def change(entries: list[tuple[bytes, LeafChain]]) -> None:
        entries.append((key, LeafChain(1)))
        entries.sort(key=lambda item: item[0])

    return _entries(change)


TAMPERINGS: dict[str, Tamper] = {
    "drop the key's entry": _entries(lambda e: e.pop(2)),
    "drop another entry": _entries(lambda e: e.pop(0)),
    "add an entry": _add(b"\x12\x38" + bytes(30)),
    "add a copy of an entry": _entries(lambda e: e.insert(2, e[2])),
    "change a count": _entries(lambda e: e.__setitem__(2, (e[2][0], LeafChain(9, e[2][1].chain)))),
    "change a chain": _entries(
        lambda e: e.__setitem__(1, (e[1][0], LeafChain(e[1][1].count, _flip(e[1][1].chain))))
    ),
    "change a key": _entries(
        lambda e: e.__setitem__(3, (e[3][0][:-1] + bytes([e[3][0][-1] ^ 1]), e[3][1]))
    ),
    "swap two entries": _entries(lambda e: e.__setitem__(slice(1, 3), [e[2], e[1]])),
    "a key from the next bucket": _add(b"\x12\x40" + bytes(30)),
    "a key from the bucket before": _add(b"\x12\x2f" + b"\xff" * 30),
    "drop a path hash": _path(lambda p: p.pop()),
    "add a path hash": _path(lambda p: p.append(bytes(32))),
    "swap two path hashes": _path(lambda p: p.__setitem__(slice(0, 2), [p[1], p[0]])),
    **{f"change path hash {level}": _flip_path(level) for level in range(12)},
}


@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_every_tampering_of_a_proof_fails(name: str) -> None:
    notice_map, crowded = crowded_map()
    root, key = notice_map.root(), crowded[2]
    proof = notice_map.proof(key)
    assert verify_map_proof(root, key, proof) == notice_map.get(key)  # it did, untouched
    with pytest.raises(MapProofError):
        verify_map_proof(root, key, TAMPERINGS[name](proof))


def test_a_proof_for_another_bucket_or_another_root_fails() -> None:
    notice_map, crowded = crowded_map()
    root, proof = notice_map.root(), notice_map.proof(crowded[0])
    with pytest.raises(MapProofError, match="is not in bucket 1092"):
        verify_map_proof(root, in_bucket(random.Random(29), 0x444), proof)
    with pytest.raises(MapProofError, match="does not lead to the map root"):
        verify_map_proof(NoticeMap().root(), crowded[0], proof)
    empty = notice_map.proof(in_bucket(random.Random(31), 0x456))
    with pytest.raises(MapProofError, match="does not lead to the map root"):
        verify_map_proof(root, in_bucket(random.Random(37), 0x123), empty)
    # Buckets 0x450 to 0x45f are all empty: one's proof truly shows any other empty as well.
    assert verify_map_proof(root, in_bucket(random.Random(37), 0x45F), empty) is None


@pytest.mark.parametrize(
    ("entries", "match"),
    [
        (
            [(b"\x12\x35" + bytes(30), LeafChain(1)), (b"\x12\x34" + bytes(30), LeafChain(2))],
            "not strictly increasing",
        ),
        (
            [(b"\x12\x34" + bytes(30), LeafChain(1)), (b"\x12\x34" + bytes(30), LeafChain(2))],
            "not strictly increasing",
        ),
        (
            [(b"\x12\x34" + bytes(30), LeafChain(1)), (b"\x12\x44" + bytes(30), LeafChain(2))],
            "is not in bucket 291",
        ),
    ],
    ids=["unsorted", "a key twice", "a stray key"],
)
def test_a_root_committing_to_a_malformed_bucket_proves_nothing(
    entries: list[tuple[bytes, LeafChain]], match: str
) -> None:
    """An origin could hash a bucket out of order, with a key twice or in the wrong bucket; the
    proof then leads to its root, and is refused all the same."""
    buckets: list[list[tuple[bytes, LeafChain]]] = [[] for _ in range(4096)]
    buckets[0x123] = entries
    root, key = root_of_buckets(buckets), b"\x12\x34" + bytes(30)
    proof = MapProof(tuple(entries), NoticeMap().proof(key).path)
    with pytest.raises(MapProofError, match=match):
        verify_map_proof(root, key, proof)
    repaired = [(k, v) for k, v in sorted(dict(entries).items()) if k[:2] < b"\x12\x40"]
    well_formed = dataclasses.replace(proof, bucket=tuple(repaired))
    with pytest.raises(MapProofError, match="does not lead to the map root"):
        verify_map_proof(root, key, well_formed)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([b"\x00\x00", b"\x00\x0f", b"\x00\x10", b"\xff\xff"]),
            st.binary(min_size=30, max_size=30),
            st.integers(0, 2**63 - 1),
        )
    ),
    st.binary(min_size=32, max_size=32),
)
def test_a_proof_of_any_key_shows_what_the_map_holds(
    entries: list[tuple[bytes, bytes, int]], probe: bytes
) -> None:
    notice_map = NoticeMap.of(
        (p + rest, LeafChain(n, hashlib.sha256(rest).digest())) for p, rest, n in entries
    )
    root = notice_map.root()
    for key in [probe, *(p + rest for p, rest, _ in entries)]:
        proof = MapProof.from_json(json.loads(json.dumps(notice_map.proof(key).to_json())))
        assert proof == notice_map.proof(key)
        assert verify_map_proof(root, key, proof) == notice_map.get(key)


def test_the_json_form() -> None:
    notice_map = NoticeMap.of(TWO_KEYS)
    data = notice_map.proof(b"\xff" * 32).to_json()
    assert data["bucket"] == [
        [base64.b64encode(b"\xff" * 32).decode(), 3, base64.b64encode(b"\x11" * 32).decode()]
    ]
    assert len(data["path"]) == 12 and set(data) == {"bucket", "path"}
    assert MapProof.from_json(data) == notice_map.proof(b"\xff" * 32)


def _proof_json(**change: Any) -> dict[str, Any]:
    data = NoticeMap.of(TWO_KEYS).proof(bytes(32)).to_json()
    return {**data, **change}


KEY = base64.b64encode(bytes(32)).decode()
CHAIN = base64.b64encode(b"\x11" * 32).decode()
PATH = _proof_json()["path"]
NON_CANONICAL = KEY[:42] + "B="  # the last character's two spare bits set


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ([], "an object of exactly `bucket` and `path`"),
        ({"bucket": []}, "exactly `bucket` and `path`"),
        (_proof_json(extra=1), "exactly `bucket` and `path`"),
        (_proof_json(bucket={}), "`bucket` must be a list"),
        (_proof_json(bucket=[[KEY, 1, CHAIN]] * 65_537), "`bucket` must be a list, 65536 at most"),
        (_proof_json(path="x"), "`path` must be a list of 12"),
        (_proof_json(path=PATH[:11]), "`path` must be a list of 12"),
        (_proof_json(path=[*PATH, PATH[0]]), "`path` must be a list of 12"),
        (_proof_json(path=[*PATH[:11], 5]), "path hash 11 must be the base64 of 32 bytes"),
        (_proof_json(bucket=[KEY]), "bucket entry 0 must be \\[b64 key, count, b64 chain\\]"),
        (_proof_json(bucket=[[KEY, 1]]), "bucket entry 0 must be"),
        (_proof_json(bucket=[[KEY, 1, CHAIN, 0]]), "bucket entry 0 must be"),
        (_proof_json(bucket=[[KEY, "1", CHAIN]]), "bucket entry 0 must be"),
        (_proof_json(bucket=[[KEY, True, CHAIN]]), "bucket entry 0 must be"),
        (_proof_json(bucket=[[KEY, 1.0, CHAIN]]), "bucket entry 0 must be"),
        (_proof_json(bucket=[[KEY, -1, CHAIN]]), "bucket entry 0: count -1 is not in"),
        (_proof_json(bucket=[[KEY, 2**63, CHAIN]]), "bucket entry 0: count 9223372036854775808"),
        (_proof_json(bucket=[[NON_CANONICAL, 1, CHAIN]]), "entry 0: the key is not canonical"),
        (_proof_json(bucket=[[KEY, 1, KEY[:-1]]]), "entry 0: the chain must be the base64 of 32"),
        (_proof_json(bucket=[[KEY + "AAAA", 1, CHAIN]]), "entry 0: the key must be the base64"),
        (_proof_json(bucket=[[base64.b64encode(bytes(31)).decode(), 1, CHAIN]]), "the key must"),
        (_proof_json(bucket=[[" " + KEY[1:], 1, CHAIN]]), "entry 0: the key must be"),
        (_proof_json(bucket=[[KEY[:-1] + "\n", 1, CHAIN]]), "entry 0: the key must be"),
        (_proof_json(bucket=[["-_" + KEY[2:], 1, CHAIN]]), "entry 0: the key must be"),
        (_proof_json(bucket=[[KEY, 1, CHAIN], None]), "bucket entry 1 must be"),
        (_proof_json(path=[NON_CANONICAL, *PATH[1:]]), "path hash 0 is not canonical base64"),
    ],
)
def test_from_json_refuses_malformed_proofs(data: Any, match: str) -> None:
    with pytest.raises(MapProofError, match=match):
        MapProof.from_json(data)


@pytest.mark.parametrize(
    ("bucket", "path", "match"),
    [
        ((), (bytes(32),) * 11, "the path must be 12 hashes of 32 bytes"),
        ((), (bytes(32),) * 13, "the path must be 12 hashes of 32 bytes"),
        ((), (bytes(32),) * 11 + (bytes(31),), "the path must be 12 hashes of 32 bytes"),
        (((bytes(31), LeafChain(1)),), (bytes(32),) * 12, "entry 0: the key is 31 bytes"),
        (((bytes(32), LeafChain(-1)),), (bytes(32),) * 12, "entry 0: count -1"),
        (((bytes(32), LeafChain(1)),) * 65_537, (bytes(32),) * 12, "more than 65536"),
    ],
)
def test_a_map_proof_is_well_formed_however_built(
    bucket: tuple[tuple[bytes, LeafChain], ...], path: tuple[bytes, ...], match: str
) -> None:
    with pytest.raises(MapProofError, match=match):
        MapProof(bucket, path)


def test_from_json_takes_a_bucket_of_65536_entries() -> None:
    proof = MapProof.from_json(_proof_json(bucket=[[KEY, 1, CHAIN]] * 65_536))
    assert len(proof.bucket) == 65_536
    with pytest.raises(MapProofError, match="not strictly increasing"):
        verify_map_proof(bytes(32), bytes(32), proof)


def test_the_notices_line_round_trips_and_is_strict() -> None:
    root = NoticeMap.of(TWO_KEYS).root()
    line = root_line(root)
    assert line == "notices " + base64.b64encode(root).decode()
    assert parse_root_line(line) == root
    b64 = line.removeprefix("notices ")
    for bad in [
        "notices",
        "notices ",
        "keys 3 " + b64,
        "Notices " + b64,
        "notices  " + b64,
        "notices " + b64 + " ",
        "notices " + b64 + "\n",
        "notices " + b64[:-1],
        "notices " + base64.b64encode(bytes(31)).decode(),
        "notices " + base64.b64encode(bytes(33)).decode(),
        "notices " + NON_CANONICAL,
        "notices " + base64.urlsafe_b64encode(b"\xff" * 32).decode(),
    ]:
        with pytest.raises(MapProofError):
            parse_root_line(bad)
    with pytest.raises(MapProofError, match="a map root is 31 bytes"):
        root_line(bytes(31))
    assert issubclass(MapProofError, FederationError)


def test_measurement_bulk_updates_then_one_root() -> None:
    """Prints (with -s) what a bulk of updates and one root cost; asserts only the result."""
    items = random_items(random.Random(41), 20_000)
    started = time.perf_counter()
    notice_map = NoticeMap.of(items.items())
    root = notice_map.root()
    elapsed = time.perf_counter() - started
    size = len(json.dumps(notice_map.proof(next(iter(items))).to_json()))
    print(f"noticemap: 20,000 sets and one root in {elapsed * 1000:.0f} ms; proof {size} bytes")
    assert root == reference_root(items)
