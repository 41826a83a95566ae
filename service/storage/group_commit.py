"""Group commit: concurrent callers' writes share one write transaction.

A caller queues an item and waits on its future. Whoever finds no flush running starts one;
the flush lets requests already under way reach the queue (a few turns of the loop, never a
timer), cuts a batch of up to `MAX_BATCH`, and hands it to the subclass's `_settle`, which
writes it in one transaction and settles every item's future. Under load batches form by
themselves; a lone request is a batch of one. An item that `_settle` leaves unsettled gets
the batch's failure.
"""

import asyncio
from abc import ABC, abstractmethod
from typing import Any, Generic, Protocol, TypeVar

MAX_BATCH = 64
GATHER_TURNS = 8


class Waiting(Protocol):
    @property
    def done(self) -> "asyncio.Future[Any]": ...


Item = TypeVar("Item", bound=Waiting)


class GroupCommit(ABC, Generic[Item]):
    def __init__(self) -> None:
        self._pending: list[Item] = []
        self._flushing = False
        self._task: asyncio.Task[None] | None = None

    @abstractmethod
    async def _settle(self, batch: list[Item]) -> None:
        """Write `batch` (in one transaction if it can) and settle each item's future."""

    async def _queue(self, item: Item) -> Any:
        """Queue `item` for the next batch and wait for its outcome."""
        self._pending.append(item)
        if not self._flushing:
            self._start()
        return await item.done

    def _start(self) -> None:
        self._flushing = True
        self._task = asyncio.create_task(self._flush())

    async def _gather(self) -> None:
        """Let requests already under way reach the queue before a batch is cut: yield to the
        loop for as long as each turn brings more (a few turns; nothing waits on a timer)."""
        for _ in range(GATHER_TURNS):
            before = len(self._pending)
            await asyncio.sleep(0)
            if len(self._pending) == before or len(self._pending) >= MAX_BATCH:
                return

    async def _flush(self) -> None:
        batch: list[Item] = []
        try:
            while self._pending:
                await self._gather()
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                await self._settle(batch)
        except Exception as exc:
            for item in batch:
                if not item.done.done():
                    item.done.set_exception(exc)
        finally:
            self._flushing = False
            if self._pending:  # arrived after the last look; start again
                self._start()
