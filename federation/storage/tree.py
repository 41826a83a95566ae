"""The stored Merkle tree of each log: hashes of complete subtrees, kept as entries arrive.

`extend` adds the leaves of newly appended entries and returns the new root; proofs and
roots at any size read only the O(log n) complete subtrees they need, in one query, and a
`SubtreeCache` lets readers skip the large subtrees that many proofs share.
Nothing here commits: the caller's transaction also holds the entries and the checkpoint.
"""

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from federation.core import merkle
from federation.storage.bulk import insert_plain
from federation.storage.tables import TreeNodeRow

CACHE_ENTRIES = 32_768  # about 8 MB: every subtree of >= 64 leaves of a 1,000,000-entry log
CACHE_MIN_LEVEL = 6  # subtrees of 64 leaves and more; smaller ones differ from proof to proof


class SubtreeCache:
    """Hashes of complete subtrees read from the database, kept in memory, least recently
    used out first, at most `max_entries`.

    Safe because a stored subtree is complete and the log is append-only: the hash at
    (origin, level, idx) never changes once committed, whichever process wrote it, so no
    invalidation is needed. Two rules keep it so: (1) only hashes read through a session
    that has written nothing go in (pass the cache with read sessions only: a write session
    sees its own new nodes before they commit, and they may roll back); (2) only subtrees of
    2**min_level leaves or more, which many proofs share; the small ones near the leaves
    differ for nearly every proof and would only push the shared ones out.
    """

    def __init__(self, max_entries: int = CACHE_ENTRIES, min_level: int = CACHE_MIN_LEVEL) -> None:
        if max_entries < 1 or min_level < 0:
            raise ValueError("a subtree cache needs max_entries >= 1 and min_level >= 0")
        self.max_entries = max_entries
        self.min_level = min_level
        self._hashes: OrderedDict[tuple[str, int, int], bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._hashes)

    def keys(self) -> list[tuple[str, int, int]]:
        """(origin, level, idx) of every cached subtree, least recently used first."""
        return list(self._hashes)

    def get(self, origin: str, key: merkle.Key) -> bytes | None:
        full = (origin, key[0], key[1])
        found = self._hashes.get(full)
        if found is not None:
            self._hashes.move_to_end(full)
        return found

    def put(self, origin: str, key: merkle.Key, hashed: bytes) -> None:
        if key[0] < self.min_level:
            return
        self._hashes[(origin, key[0], key[1])] = hashed
        self._hashes.move_to_end((origin, key[0], key[1]))
        while len(self._hashes) > self.max_entries:
            self._hashes.popitem(last=False)


@lru_cache(maxsize=512)
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


class Rows(Protocol):
    """Somewhere to run driver SQL that only reads: a read session (`SessionRows`), or a
    plain driver connection of the node's database (the proof routes on SQLite). Complete
    subtrees never change once committed, so reads need no common snapshot."""

    paramstyle: str
    cheap_statements: bool  # a statement costs microseconds (in-process), not a round trip

    async def all(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]: ...


class SessionRows:
    """`Rows` through a session's connection (its transaction, its snapshot)."""

    cheap_statements = False

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.paramstyle = str(session.get_bind().dialect.paramstyle)

    async def all(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        connection = await self.session.connection()
        return [tuple(row) for row in (await connection.exec_driver_sql(sql, params)).all()]


def _rows(source: "AsyncSession | Rows") -> Rows:
    return SessionRows(source) if isinstance(source, AsyncSession) else source


async def stored_size(source: "AsyncSession | Rows", origin: str) -> int | None:
    """The size of the log of `origin` this node holds, or None if it holds none."""
    rows = _rows(source)
    mark = "?" if rows.paramstyle == "qmark" else "$1"
    found = await rows.all(f"SELECT size FROM logs WHERE origin = {mark}", (origin,))  # noqa: S608
    return int(found[0][0]) if found else None


async def subtree_hashes(
    source: "AsyncSession | Rows",
    origin: str,
    keys: Iterable[merkle.Key],
    cache: SubtreeCache | None = None,
) -> dict[merkle.Key, bytes]:
    """The stored hashes of these complete subtrees: from `cache` when it holds them, the
    rest in one statement (per 200). Pass a cache only with a session that has written
    nothing (see SubtreeCache)."""
    found: dict[merkle.Key, bytes] = {}
    wanted: list[merkle.Key] = []
    for key in set(keys):
        cached = None if cache is None else cache.get(origin, key)
        if cached is None:
            wanted.append(key)
        else:
            found[key] = cached
    if not wanted:
        return found
    wanted.sort()
    rows = _rows(source)
    if rows.paramstyle not in ("qmark", "numeric_dollar"):
        raise merkle.ProofError(f"no tree lookup for parameter style {rows.paramstyle}")
    for start in range(0, len(wanted), 200):
        chunk = wanted[start : start + 200]
        params = tuple(value for lv, ix in chunk for value in (origin, lv, ix))
        for level, idx, hashed in await rows.all(_lookup_sql(len(chunk), rows.paramstyle), params):
            key, value = (int(level), int(idx)), bytes(hashed)
            found[key] = value
            if cache is not None:
                cache.put(origin, key, value)
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


async def _proof(
    session: "AsyncSession | Rows",
    origin: str,
    ranges: Sequence[merkle.Range],
    cache: SubtreeCache | None,
) -> list[bytes]:
    parts = [merkle.subtree_keys(start, end) for start, end in ranges]
    hashes = await subtree_hashes(session, origin, (k for part in parts for k in part), cache)
    return [merkle.fold(part, hashes.__getitem__) for part in parts]


async def inclusion_proof(
    session: "AsyncSession | Rows",
    origin: str,
    index: int,
    size: int,
    cache: SubtreeCache | None = None,
) -> list[bytes]:
    return await _proof(session, origin, merkle.inclusion_ranges(index, size), cache)


async def consistency_proof(
    session: "AsyncSession | Rows",
    origin: str,
    old: int,
    new: int,
    cache: SubtreeCache | None = None,
) -> list[bytes]:
    return await _proof(session, origin, merkle.consistency_ranges(old, new), cache)
