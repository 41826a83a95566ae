"""RFC 6962/9162 Merkle maths: published vectors, CT roots, and proof round trips."""

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from federation.core import merkle

VECTORS = Path(__file__).resolve().parents[4] / "shared" / "vectors" / "merkle"


def _cases(kind: str) -> list[Any]:
    files = sorted((VECTORS / kind).rglob("*.json"))
    assert files, f"no {kind} vectors under {VECTORS}: shared/ must lie beside the checkout"
    return [pytest.param(json.loads(f.read_text()), id=str(f.relative_to(VECTORS))) for f in files]


def _b(text: str | None) -> bytes:
    return base64.b64decode(text or "")


def test_all_196_vectors_are_read() -> None:
    assert len(_cases("inclusion")) + len(_cases("consistency")) == 196


@pytest.mark.parametrize("case", _cases("inclusion"))
def test_inclusion_vectors(case: dict[str, Any]) -> None:
    def run() -> None:
        merkle.verify_inclusion(
            _b(case["leafHash"]),
            case["leafIdx"],
            case["treeSize"],
            [_b(p) for p in case["proof"] or []],
            _b(case["root"]),
        )

    if case["wantErr"]:
        with pytest.raises(merkle.ProofError):
            run()
    else:
        run()


@pytest.mark.parametrize("case", _cases("consistency"))
def test_consistency_vectors(case: dict[str, Any]) -> None:
    def run() -> None:
        merkle.verify_consistency(
            case["size1"],
            case["size2"],
            _b(case["root1"]),
            _b(case["root2"]),
            [_b(p) for p in case["proof"] or []],
        )

    if case["wantErr"]:
        with pytest.raises(merkle.ProofError):
            run()
    else:
        run()


# Certificate Transparency's reference tree: the 8 leaves of RFC 6962's test data and the
# roots of its prefixes (from the CT and transparency-dev/merkle test suites).
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


@pytest.mark.parametrize("size", range(9))
def test_ct_roots_for_sizes_0_to_8(size: int) -> None:
    leaves = [merkle.leaf(data) for data in CT_LEAVES[:size]]
    assert merkle.root_of(leaves).hex() == CT_ROOTS[size]
    store = _store(leaves)
    assert merkle.range_hash(0, size, store.__getitem__).hex() == CT_ROOTS[size]


def _store(leaves: list[bytes]) -> dict[merkle.Key, bytes]:
    store: dict[merkle.Key, bytes] = {}
    for index, leaf_hash in enumerate(leaves):
        store.update(merkle.new_complete_subtrees(index, leaf_hash, store.__getitem__))
    return store


def _leaves(size: int) -> list[bytes]:
    return [merkle.leaf(hashlib.sha256(i.to_bytes(4, "big")).digest()) for i in range(size)]


@settings(max_examples=120, deadline=None)
@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_inclusion_round_trip(size_index: tuple[int, int]) -> None:
    size, index = size_index
    leaves = _leaves(size)
    store = _store(leaves)
    proof = merkle.assemble(merkle.inclusion_ranges(index, size), store)
    merkle.verify_inclusion(leaves[index], index, size, proof, merkle.root_of(leaves))


@settings(max_examples=120, deadline=None)
@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))))
def test_consistency_round_trip(sizes: tuple[int, int]) -> None:
    old, new = sizes
    leaves = _leaves(new)
    store = _store(leaves)
    proof = merkle.assemble(merkle.consistency_ranges(old, new), store)
    merkle.verify_consistency(old, new, merkle.root_of(leaves[:old]), merkle.root_of(leaves), proof)


def test_every_size_up_to_300_round_trips() -> None:
    leaves = _leaves(300)
    store = _store(leaves)
    for size in range(1, 301):
        root = merkle.range_hash(0, size, store.__getitem__)
        assert root == merkle.root_of(leaves[:size])
        for index in {0, size // 2, size - 1}:
            proof = merkle.assemble(merkle.inclusion_ranges(index, size), store)
            merkle.verify_inclusion(leaves[index], index, size, proof, root)
        for old in {1, size // 2 or 1, size}:
            proof = merkle.assemble(merkle.consistency_ranges(old, size), store)
            merkle.verify_consistency(old, size, merkle.root_of(leaves[:old]), root, proof)


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 64), st.data())
def test_any_changed_proof_byte_is_rejected(size: int, data: st.DataObject) -> None:
    leaves = _leaves(size)
    store = _store(leaves)
    index = data.draw(st.integers(0, size - 1))
    proof = merkle.assemble(merkle.inclusion_ranges(index, size), store)
    if not proof:
        return
    which = data.draw(st.integers(0, len(proof) - 1))
    position = data.draw(st.integers(0, 31))
    mask = data.draw(st.integers(1, 255))
    bad = bytearray(proof[which])
    bad[position] ^= mask
    proof[which] = bytes(bad)
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(leaves[index], index, size, proof, merkle.root_of(leaves))


@pytest.mark.parametrize(("index", "size"), [(0, 0), (5, 5), (-1, 3), (7, 3)])
def test_inclusion_out_of_range(index: int, size: int) -> None:
    with pytest.raises(merkle.ProofError):
        merkle.inclusion_ranges(index, size)


@pytest.mark.parametrize(("old", "new"), [(0, 5), (6, 5), (0, 0)])
def test_consistency_out_of_range(old: int, new: int) -> None:
    with pytest.raises(merkle.ProofError):
        merkle.consistency_ranges(old, new)


def test_equal_sizes_give_an_empty_proof() -> None:
    assert merkle.consistency_ranges(7, 7) == []
