"""Group commit for API publishing: concurrent publishes share one write transaction.

Each request validates its notice, then `submit`s it and waits (service.storage.group_commit
forms the batches). A batch's notices are sealed as consecutive entries, applied and given
one audit event each, all in one transaction, then every waiter is answered. A notice whose
reference is already taken (by this node's notices or an earlier one of the batch) is refused
on its own, under the log's lock, and the others land. If a batch fails as a whole, its
notices are retried one by one so that a single bad notice fails only its own request.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from federation.core.entry import SealedEntry
from service import audit
from service.errors import DuplicateReference
from service.node import Node
from service.notices.publishing import publish_new
from service.notices.schema import NoticeInput
from service.storage.database import Database
from service.storage.group_commit import GroupCommit
from service.storage.models import NoticeRow

Published = tuple[NoticeRow, SealedEntry]


@dataclass
class _Pending:
    notice: NoticeInput
    actor: str
    done: "asyncio.Future[Published]"


class PublishQueue(GroupCommit[_Pending]):
    def __init__(self, db: Database, node: Node, clock: Callable[[], datetime]) -> None:
        super().__init__()
        self._db, self._node, self._clock = db, node, clock

    async def submit(self, notice: NoticeInput, *, actor: str) -> Published:
        done: asyncio.Future[Published] = asyncio.get_running_loop().create_future()
        published: Published = await self._queue(_Pending(notice, actor, done))
        return published

    async def _settle(self, batch: list[_Pending]) -> None:
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
