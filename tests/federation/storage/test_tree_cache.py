"""The subtree cache: proofs through it are the proofs without it, it holds only stored
(complete) subtrees of its levels, stays within its bound, and spares the database."""

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

import service.storage.models  # noqa: F401  (registers every table)
from federation.core import merkle
from federation.storage import tree
from service.storage.database import Database
from service.storage.migrate import upgrade

ORIGIN = "de-bafa"
OTHER = "fr-sbdu"
SIZE = 1100


def _leaves(size: int, salt: bytes = b"") -> list[bytes]:
    return [merkle.leaf(hashlib.sha256(salt + i.to_bytes(4, "big")).digest()) for i in range(size)]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A real SQLite database holding the trees of two origins with different leaves."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'tree.db'}")
    await upgrade(database.write_engine)
    async with database.write() as session:
        for origin, salt in ((ORIGIN, b""), (OTHER, b"other")):
            leaves = _leaves(SIZE, salt)
            for start in range(0, SIZE, 300):  # in batches, as appends arrive
                await tree.extend(session, origin, start, leaves[start : start + 300])
    yield database
    await database.dispose()


def _tree_queries(db: Database) -> tuple[list[str], Any]:
    seen: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if "FROM tree_nodes" in statement:
            seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    return seen, capture


async def test_cached_proofs_equal_uncached_ones_for_every_size(db: Database) -> None:
    cache = tree.SubtreeCache(min_level=2)
    async with db.read() as session:
        for size in [*range(1, 70), *range(70, SIZE + 1, 37), SIZE]:
            for index in {0, size // 3, size // 2, size - 1}:
                plain = await tree.inclusion_proof(session, ORIGIN, index, size)
                cached = await tree.inclusion_proof(session, ORIGIN, index, size, cache=cache)
                assert cached == plain, (index, size)
            for old in {1, size // 3 or 1, size - 1 or 1, size}:
                plain = await tree.consistency_proof(session, ORIGIN, old, size)
                cached = await tree.consistency_proof(session, ORIGIN, old, size, cache=cache)
                assert cached == plain, (old, size)
    assert len(cache) > 0
    # and they verify against roots computed from the leaves alone
    leaves = _leaves(SIZE)
    root = merkle.root_of(leaves)
    async with db.read() as session:
        for index in (0, 517, SIZE - 1):
            proof = await tree.inclusion_proof(session, ORIGIN, index, SIZE, cache=cache)
            merkle.verify_inclusion(leaves[index], index, SIZE, proof, root)
        proof = await tree.consistency_proof(session, ORIGIN, 700, SIZE, cache=cache)
        merkle.verify_consistency(700, SIZE, merkle.root_of(leaves[:700]), root, proof)


async def test_only_complete_subtrees_of_the_cached_levels_go_in(db: Database) -> None:
    cache = tree.SubtreeCache(min_level=3)
    async with db.read() as session:
        for size in range(1, SIZE + 1, 13):
            await tree.inclusion_proof(session, ORIGIN, size // 2, size, cache=cache)
            await tree.consistency_proof(session, ORIGIN, max(1, size // 3), size, cache=cache)
    assert cache.keys()
    for origin, level, idx in cache.keys():
        assert origin == ORIGIN
        assert level >= 3
        assert (idx + 1) << level <= SIZE  # complete: every leaf of it exists
    leaves = _leaves(SIZE)
    for _origin, level, idx in cache.keys():
        assert cache.get(ORIGIN, (level, idx)) == merkle.root_of(
            leaves[idx << level : (idx + 1) << level]
        )


async def test_the_cache_stays_within_its_bound_and_keeps_the_recent_ones(db: Database) -> None:
    cache = tree.SubtreeCache(max_entries=10, min_level=0)
    async with db.read() as session:
        for index in range(0, SIZE, 7):
            await tree.inclusion_proof(session, ORIGIN, index, SIZE, cache=cache)
            assert len(cache) <= 10
        last = await tree.inclusion_proof(session, ORIGIN, SIZE - 1, SIZE, cache=cache)
        assert last == await tree.inclusion_proof(session, ORIGIN, SIZE - 1, SIZE)
    assert len(cache) == 10
    # the subtrees of the last proof were used last, so none of them was pushed out
    wanted = merkle.needed_keys(merkle.inclusion_ranges(SIZE - 1, SIZE))
    assert len(wanted) <= 10
    assert wanted <= {(lv, ix) for _o, lv, ix in cache.keys()}


async def test_origins_do_not_share_entries(db: Database) -> None:
    cache = tree.SubtreeCache(min_level=0)
    async with db.read() as session:
        mine = await tree.inclusion_proof(session, ORIGIN, 5, SIZE, cache=cache)
        theirs = await tree.inclusion_proof(session, OTHER, 5, SIZE, cache=cache)
        assert theirs == await tree.inclusion_proof(session, OTHER, 5, SIZE)
        assert mine != theirs
    assert {origin for origin, _lv, _ix in cache.keys()} == {ORIGIN, OTHER}


async def test_a_warm_cache_spares_the_database(db: Database) -> None:
    cache = tree.SubtreeCache(min_level=0)
    seen, capture = _tree_queries(db)
    try:
        async with db.read() as session:
            first = await tree.inclusion_proof(session, ORIGIN, 600, SIZE, cache=cache)
            assert len(seen) == 1  # one statement for every subtree the proof needs
            again = await tree.inclusion_proof(session, ORIGIN, 600, SIZE, cache=cache)
            assert again == first and len(seen) == 1  # all cached: no statement at all
            await tree.consistency_proof(session, ORIGIN, SIZE, SIZE, cache=cache)
            assert len(seen) == 1  # from == to: nothing to read
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", capture)


async def test_a_subtree_missing_from_the_store_is_an_error_not_a_cache_entry(
    db: Database,
) -> None:
    cache = tree.SubtreeCache(min_level=0)
    async with db.read() as session:
        with pytest.raises(merkle.ProofError, match="lacks subtree"):
            await tree.inclusion_proof(session, ORIGIN, 3, SIZE + 5, cache=cache)
    assert all((idx + 1) << level <= SIZE for _o, level, idx in cache.keys())


def test_a_cache_needs_room_and_a_level() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        tree.SubtreeCache(max_entries=0)
    with pytest.raises(ValueError, match="min_level"):
        tree.SubtreeCache(min_level=-1)
