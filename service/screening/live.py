"""The screening index of a running node, kept up to date with the database incrementally.

The in-memory `Screener` holds every notice that is neither revoked nor invalidated (expiry
is checked at screening time, against `today`). It is loaded once, then refreshed by
following each origin's log size: the notices touched by entries beyond the size last seen
(`notice_versions` records which entry changed which notice) are re-read and added, replaced
or removed. Appends to one origin's log commit in seq order under its lock, so the per-origin
size is an exact watermark. A key revocation in the new entries may invalidate earlier
notices of that origin, so that origin is reloaded whole. Other processes (an import, `denex
sync`) write the same tables; the next refresh sees their work.
"""

import asyncio
import gc
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from federation.storage.tables import EntryRow, LogRow
from keys.ed25519 import b64
from service.rules.profile import RuleProfile, builtin
from service.screening.engine import Screener
from service.screening.model import notice_record
from service.storage.database import Database
from service.storage.models import NoticeRow, NoticeVersionRow

log = logging.getLogger("denex.screening")

LOAD_BATCH = 2000  # notices read per query
SLICE = 200  # notices indexed between two yields to the event loop
Key = tuple[str, str]


@dataclass
class Refresh:
    """What one refresh changed: the notices re-read (added, replaced or removed)."""

    changed: set[Key] = field(default_factory=set)
    reloaded: bool = False  # the whole index was (re)built


_COLUMNS = (
    NoticeRow.origin,
    NoticeRow.notice_id,
    NoticeRow.body,
    NoticeRow.revoked_seq,
    NoticeRow.invalid_reason,
    NoticeRow.valid_until,  # the body's, or a later review's next_review
)


class LiveIndex:
    """A Screener plus the per-origin log sizes (and roots) it reflects."""

    def __init__(
        self, db: Database, *, rules: RuleProfile | None = None, batch: int = LOAD_BATCH
    ) -> None:
        self.db = db
        self.rules = rules or builtin()  # whether a notice lapses at its review date
        self.batch = batch
        self.screener = Screener()
        self.sizes: dict[str, int] = {}
        self.roots: dict[str, str | None] = {}
        self.loaded = False
        self._lock = asyncio.Lock()

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """`{origin: {"size", "root"}}` of the logs this index reflects (DESIGN §7)."""
        return {
            origin: {"size": size, "root": self.roots.get(origin)}
            for origin, size in sorted(self.sizes.items())
        }

    async def refresh(self) -> Refresh:
        async with self._lock, self.db.read() as session:
            heads = (await session.execute(select(LogRow.origin, LogRow.size, LogRow.root))).all()
            if not self.loaded:
                started = time.perf_counter()
                result = Refresh(await self._load(session, None), reloaded=True)
                self.loaded = True
                gc.freeze()  # the loaded index is long-lived: keep it out of every GC pass
                log.info(
                    "screening index loaded: %d notices in %.1f s",
                    len(self.screener),
                    time.perf_counter() - started,
                )
            else:
                result = Refresh()
                for origin, size, _root in heads:
                    seen = self.sizes.get(origin, 0)
                    if size > seen:
                        await self._catch_up(session, origin, seen, result)
            for origin, size, root in heads:
                self.sizes[origin] = size
                self.roots[origin] = b64(root) if root is not None else None
            return result

    async def _catch_up(self, session: AsyncSession, origin: str, seen: int, out: Refresh) -> None:
        revoked = await session.scalar(
            select(EntryRow.seq)
            .where(EntryRow.origin == origin, EntryRow.seq >= seen, EntryRow.type == "key.revoked")
            .limit(1)
        )
        if revoked is not None:
            out.changed |= await self._load(session, origin)
            return
        ids = set(
            await session.scalars(
                select(NoticeVersionRow.notice_id).where(
                    NoticeVersionRow.origin == origin, NoticeVersionRow.seq >= seen
                )
            )
        )
        ordered = sorted(ids)
        for start in range(0, len(ordered), self.batch):
            chunk = ordered[start : start + self.batch]
            rows = await session.execute(
                select(*_COLUMNS).where(NoticeRow.origin == origin, NoticeRow.notice_id.in_(chunk))
            )
            self._put(rows)
        out.changed |= {(origin, notice_id) for notice_id in ids}

    def _put(self, rows: Iterable[Any]) -> None:
        """Add or remove notices given as rows of (origin, notice_id, body, revoked_seq,
        invalid_reason, valid_until)."""
        for origin, notice_id, body, revoked_seq, invalid_reason, valid_until in rows:
            if revoked_seq is None and invalid_reason is None:
                self.screener.add(notice_record(origin, body, self.rules, valid_until))
            else:
                self.screener.remove(origin, notice_id)

    async def _load(self, session: AsyncSession, origin: str | None) -> set[Key]:
        """(Re)load every notice (of one origin, or all): plain rows, not ORM objects, one
        keyset page at a time, yielding to the event loop between pages so that loading a
        million notices never stalls the node (SQLite runs on the event loop's thread)."""
        keys: set[Key] = set()
        after: tuple[str, str] = ("", "")
        while True:
            query = select(*_COLUMNS).where(
                tuple_(NoticeRow.origin, NoticeRow.notice_id) > tuple_(*after)
            )
            if origin is not None:
                query = query.where(NoticeRow.origin == origin)
            rows = (
                await session.execute(
                    query.order_by(NoticeRow.origin, NoticeRow.notice_id).limit(self.batch)
                )
            ).all()
            if not rows:
                return keys
            for start in range(0, len(rows), SLICE):  # about 50 ms of work between yields
                self._put(rows[start : start + SLICE])
                await asyncio.sleep(0)
            keys.update((row[0], row[1]) for row in rows)
            after = (rows[-1][0], rows[-1][1])
