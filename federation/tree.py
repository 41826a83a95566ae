"""The stored Merkle tree of each log: hashes of complete subtrees, kept as entries arrive.

`extend` adds the leaves of newly appended entries and returns the new root; proofs and
roots at any size read only the O(log n) complete subtrees they need, in one query.
Nothing here commits: the caller's transaction also holds the entries and the checkpoint.
"""

from collections.abc import Iterable, Sequence
from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession

from federation import merkle
from federation.bulk import insert_plain
from federation.tables import TreeNodeRow


def _lookup_sql(count: int, paramstyle: str) -> str:
    """One statement for `count` subtrees: an OR of full-key equalities, the origin inside
    each term, so SQLite answers it with one index search per key (a row-value IN, or the
    origin outside the OR, lets it scan every node of the origin: O(n), not O(log n)).
    Written as driver SQL: compiling an OR of ~35 terms through SQLAlchemy on every proof
    cost several times the query itself."""
    terms = []
    for k in range(count):
        if paramstyle == "qmark":
            a, b, c = "?", "?", "?"
        else:  # numeric_dollar (asyncpg)
            a, b, c = f"${3 * k + 1}", f"${3 * k + 2}", f"${3 * k + 3}"
        terms.append(f"(origin = {a} AND level = {b} AND idx = {c})")
    # only placeholders are interpolated; every value is a bound parameter
    return "SELECT level, idx, hash FROM tree_nodes WHERE " + " OR ".join(terms)  # noqa: S608


async def subtree_hashes(
    session: AsyncSession, origin: str, keys: Iterable[merkle.Key]
) -> dict[merkle.Key, bytes]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    connection = await session.connection()
    paramstyle = connection.dialect.paramstyle
    if paramstyle not in ("qmark", "numeric_dollar"):
        raise merkle.ProofError(f"no tree lookup for parameter style {paramstyle}")
    found: dict[merkle.Key, bytes] = {}
    for start in range(0, len(wanted), 200):
        chunk = wanted[start : start + 200]
        params = tuple(value for lv, ix in chunk for value in (origin, lv, ix))
        rows = await connection.exec_driver_sql(_lookup_sql(len(chunk), paramstyle), params)
        for level, idx, hashed in cast("list[tuple[int, int, bytes]]", rows.all()):
            found[(int(level), int(idx))] = bytes(hashed)
    missing = [k for k in wanted if k not in found]
    if missing:
        raise merkle.ProofError(f"tree of {origin} lacks subtree {missing[0]}: not stored")
    return found


async def root_at(session: AsyncSession, origin: str, size: int) -> bytes:
    keys = merkle.subtree_keys(0, size)
    hashes = await subtree_hashes(session, origin, keys)
    return merkle.range_hash(0, size, hashes.__getitem__)


async def extend(
    session: AsyncSession, origin: str, size: int, leaf_hashes: Sequence[bytes]
) -> bytes:
    """Add leaves `size, size+1, ...` to the stored tree; return the root of the new size."""
    frontier = await subtree_hashes(session, origin, merkle.subtree_keys(0, size))
    made: dict[merkle.Key, bytes] = {}

    def lookup(key: merkle.Key) -> bytes:
        return made[key] if key in made else frontier[key]

    for offset, leaf_hash in enumerate(leaf_hashes):
        made.update(merkle.new_complete_subtrees(size + offset, leaf_hash, lookup))
    await insert_plain(
        session,
        TreeNodeRow,
        [{"origin": origin, "level": lv, "idx": ix, "hash": h} for (lv, ix), h in made.items()],
    )
    new_size = size + len(leaf_hashes)
    return merkle.range_hash(0, new_size, lookup)


async def inclusion_proof(session: AsyncSession, origin: str, index: int, size: int) -> list[bytes]:
    ranges = merkle.inclusion_ranges(index, size)
    hashes = await subtree_hashes(session, origin, merkle.needed_keys(ranges))
    return merkle.assemble(ranges, hashes)


async def consistency_proof(session: AsyncSession, origin: str, old: int, new: int) -> list[bytes]:
    ranges = merkle.consistency_ranges(old, new)
    hashes = await subtree_hashes(session, origin, merkle.needed_keys(ranges))
    return merkle.assemble(ranges, hashes)
