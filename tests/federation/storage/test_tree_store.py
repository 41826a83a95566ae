"""The stored tree: roots and proofs from the database match the maths, with indexed lookups."""

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import event

import service.storage.models  # noqa: F401  (registers every table)
from federation.core import merkle
from federation.storage import tree
from service.storage.database import Database
from service.storage.migrate import upgrade

ORIGIN = "de-bafa"


async def _tree_db(tmp_path: Path, size: int) -> tuple[Database, list[bytes]]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'tree.db'}")
    await upgrade(db.write_engine)
    leaves = [merkle.leaf(hashlib.sha256(i.to_bytes(4, "big")).digest()) for i in range(size)]
    async with db.write() as session:
        for start in range(0, size, 500):  # in batches, as appends arrive
            await tree.extend(session, ORIGIN, start, leaves[start : start + 500])
    return db, leaves


async def test_roots_and_proofs_from_the_store_match_the_maths(tmp_path: Path) -> None:
    db, leaves = await _tree_db(tmp_path, 1234)
    try:
        async with db.read() as session:
            for size in (1, 2, 3, 500, 501, 1024, 1234):
                root = merkle.root_of(leaves[:size])
                assert await tree.root_at(session, ORIGIN, size) == root
                for index in (0, size // 3, size - 1):
                    proof = await tree.inclusion_proof(session, ORIGIN, index, size)
                    merkle.verify_inclusion(leaves[index], index, size, proof, root)
                for old in (1, size // 2 or 1, size):
                    proof = await tree.consistency_proof(session, ORIGIN, old, size)
                    merkle.verify_consistency(old, size, merkle.root_of(leaves[:old]), root, proof)
    finally:
        await db.dispose()


async def test_subtree_lookups_search_the_full_key_not_the_whole_tree(tmp_path: Path) -> None:
    # Proof generation must stay O(log n) at millions of entries: every subtree lookup has
    # to be an index search on (origin, level, idx), never a scan of the origin's nodes.
    db, _leaves = await _tree_db(tmp_path, 2000)
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if "FROM tree_nodes" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with db.read() as session:
            await tree.inclusion_proof(session, ORIGIN, 777, 1999)
        event.remove(db.engine.sync_engine, "before_cursor_execute", capture)
        assert seen
        async with db.engine.connect() as conn:
            for statement, parameters in seen:
                result = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                plan = result.all()
                details = " ".join(str(row[-1]) for row in plan)
                assert "origin=? AND level=? AND idx=?" in details, details
    finally:
        if event.contains(db.engine.sync_engine, "before_cursor_execute", capture):
            event.remove(db.engine.sync_engine, "before_cursor_execute", capture)
        await db.dispose()
