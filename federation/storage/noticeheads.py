"""The map of notice heads of a log at a size (decision 0032), built from the entries'
`subject` column: what a checkpoint's `notices` line commits to, and where a bundle's map
proof comes from. The same for this node's own log and a partner's, since the keys come
from headers alone.

Maps are kept in memory by (origin, tree root): the root names the entries below its size,
so a map kept under it is right whatever transaction made it, even one rolled back. A map at
a larger size is the nearest kept smaller one extended by the entries between. Appending to
the log extends the kept map in place (`release`, then `keep`), so a caller of `map_at` uses
the map before its next `await`.
"""

from collections import OrderedDict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core.noticemap import NoticeMap
from federation.storage import tree
from federation.storage.tables import EntryRow

_KEPT = 16  # maps kept, over all origins (a few per log: the newest, a bundle's)
_maps: "OrderedDict[tuple[str, bytes], tuple[int, NoticeMap]]" = OrderedDict()


def extended(base: NoticeMap, entries: Iterable[tuple[bytes, bytes]]) -> NoticeMap:
    """A copy of `base` (which stays as it is) with each (subject, leaf hash) appended."""
    copy = base.copy()
    copy.extend(entries)
    return copy


def release(origin: str, root: bytes) -> None:
    """No longer keep the map under `root`: its caller extends it in place (appending to the
    log) and keeps it again under the new root. A transaction rolled back then costs one
    rebuild from the entries."""
    _maps.pop((origin, root), None)


def advance(
    origin: str,
    *,
    size: int,
    root: bytes,
    new_size: int,
    new_root: bytes,
    entries: Iterable[tuple[bytes, bytes]],
) -> None:
    """A copy of `origin`'s log grew from (size, root) to (new_size, new_root) by `entries`
    (subject, leaf hash): extend the map kept under `root` in place, or start one for a log
    that was empty. A map not kept is left to `map_at`, built once when it is needed: never
    here, page after page."""
    kept = _maps.get((origin, root))
    if kept is not None and kept[0] == size:
        notice_map = kept[1]
        release(origin, root)
    elif size == 0:
        notice_map = NoticeMap()
    else:
        return
    notice_map.extend(entries)
    keep(origin, new_size, new_root, notice_map)


def keep(origin: str, size: int, root: bytes, notice_map: NoticeMap) -> None:
    _maps[(origin, root)] = (size, notice_map)
    _maps.move_to_end((origin, root))
    while len(_maps) > _KEPT:
        _maps.popitem(last=False)


async def map_at(session: AsyncSession, origin: str, size: int, root: bytes) -> NoticeMap:
    """The map of notice heads of `origin`'s log at `size`, whose tree root is `root`."""
    kept = _maps.get((origin, root))
    if kept is not None and kept[0] == size:
        _maps.move_to_end((origin, root))
        return kept[1]
    base, start = NoticeMap(), 0
    for (name, kept_root), (kept_size, kept_map) in reversed(_maps.items()):
        if name == origin and kept_size < size and kept_size > start:
            if kept_root == await tree.root_at(session, origin, kept_size):
                base, start = kept_map, kept_size
                break
    rows = await session.execute(
        select(EntryRow.subject, EntryRow.leaf_hash)
        .where(
            EntryRow.origin == origin,
            EntryRow.subject.is_not(None),
            EntryRow.seq >= start,
            EntryRow.seq < size,
        )
        .order_by(EntryRow.seq)
    )
    notice_map = extended(base, ((subject, leaf) for subject, leaf in rows.all() if subject))
    keep(origin, size, root, notice_map)
    return notice_map
