"""Group commit for API publishing: concurrent publishes share one write transaction.

Each request validates its notice, then `submit`s it and waits. Whoever finds no flush
running starts one; the flush takes everything queued (up to `MAX_BATCH`), seals the notices
as consecutive entries, applies them and records one audit event each, all in one
transaction, then answers every waiter. Under load batches form by themselves; a lone request
is a batch of one. A notice whose reference is already taken (by this node's notices or an
earlier one of the batch) is refused on its own, under the log's lock, and the others land.
If a batch fails as a whole, its notices are retried one by one so that a single bad notice
fails only its own request.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from federation.entry import SealedEntry
from service import audit
from service.errors import DuplicateReference
from service.node import Node
from service.notices.publishing import publish_new
from service.notices.schema import NoticeInput
from service.storage.database import Database
from service.storage.models import NoticeRow

MAX_BATCH = 64
GATHER_TURNS = 8

Published = tuple[NoticeRow, SealedEntry]


@dataclass
class _Pending:
    notice: NoticeInput
    actor: str
    done: "asyncio.Future[Published]"


class PublishQueue:
    def __init__(self, db: Database, node: Node, clock: Callable[[], datetime]) -> None:
        self._db, self._node, self._clock = db, node, clock
        self._pending: list[_Pending] = []
        self._flushing = False
        self._task: asyncio.Task[None] | None = None

    def _start(self) -> None:
        self._flushing = True
        self._task = asyncio.create_task(self._flush())

    async def submit(self, notice: NoticeInput, *, actor: str) -> Published:
        done: asyncio.Future[Published] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(notice, actor, done))
        if not self._flushing:
            self._start()
        return await done

    async def _gather(self) -> None:
        """Let requests already under way reach `submit` before a batch is cut: yield to the
        loop for as long as each turn brings more (a few turns; nothing waits on a timer)."""
        for _ in range(GATHER_TURNS):
            before = len(self._pending)
            await asyncio.sleep(0)
            if len(self._pending) == before or len(self._pending) >= MAX_BATCH:
                return

    async def _flush(self) -> None:
        try:
            while self._pending:
                await self._gather()
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                try:
                    await self._commit(batch)
                except Exception:
                    if len(batch) == 1:
                        raise
                    for one in batch:  # isolate the failure to its own request
                        try:
                            await self._commit([one])
                        except Exception as exc:
                            if not one.done.done():
                                one.done.set_exception(exc)
        except Exception as exc:
            for one in batch:
                if not one.done.done():
                    one.done.set_exception(exc)
        finally:
            self._flushing = False
            if self._pending:  # arrived after the last look; start again
                self._start()

    async def _commit(self, batch: list[_Pending]) -> None:
        now = self._clock()
        async with self._db.write() as session:
            outcomes = await publish_new(session, self._node, [p.notice for p in batch], now=now)
            await audit.record_many(
                session,
                [
                    audit.Event(
                        p.actor,
                        "notice.publish",
                        f"{outcome[0].origin}/{outcome[0].notice_id}",
                        {"seq": outcome[1].seq, "reference": outcome[0].reference},
                    )
                    for p, outcome in zip(batch, outcomes, strict=True)
                    if not isinstance(outcome, DuplicateReference)
                ],
                now=now,
            )
        for p, outcome in zip(batch, outcomes, strict=True):
            if p.done.done():
                continue
            if isinstance(outcome, DuplicateReference):  # refused alone: the rest landed
                p.done.set_exception(outcome)
            else:
                p.done.set_result(outcome)
