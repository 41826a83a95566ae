"""The CPU-bound half of bulk import, run in worker processes on every core: validating raw
notices against this node and sealing (signing) their entries. Pure: no database, and only
light imports, so that workers start quickly."""

import asyncio
import gc
import multiprocessing
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson
from pydantic import ValidationError

from federation.core.entry import Draft, SealedEntry, seal_many
from keys.ed25519 import KeyPair
from service.errors import InvalidInput
from service.notices.drafting import published_draft
from service.notices.rows import FreshRows, fresh_rows
from service.notices.schema import NoticeContext, NoticeInput, field_errors
from workers.lifeline import die_with_parent

if TYPE_CHECKING:
    from service.notices.prepared import DriverFresh

PREPARE_CHUNK = 500
# On Linux workers are forked: a spawned worker re-imports the whole `denex` command (its
# __main__), about a second of CPU each. The pool forks them all at its first task, before it
# starts any thread, and they touch none of the parent's connections (they only compute).
START_METHOD = "fork" if sys.platform == "linux" else "spawn"
_PLACEHOLDER_TIME = datetime(2000, 1, 1, tzinfo=UTC)  # replaced by the time of signing

Record = tuple[int, str | dict[str, Any]]  # (line, a JSON line's text or a merged CSV row)


class ValidatedLine(NamedTuple):
    """A validated notice of the file, ready to be sealed: its entry's parts, and the
    reference and line that skipping and error messages name."""

    kind: str  # the entry's type
    body: bytes  # canonical
    audience: tuple[str, ...]
    reference: str
    line: int


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def _validate(
    raw: Any, line: int, errors: list[LineError], context: NoticeContext | None
) -> NoticeInput | None:
    if not isinstance(raw, dict):
        errors.append(LineError(line, "a notice must be a JSON object"))
        return None
    try:
        return NoticeInput.model_validate(raw, context={"node": context})
    except ValidationError as exc:
        errors.extend(LineError(line, f"{e['field']}: {e['message']}") for e in field_errors(exc))
        return None


def prepare(
    context: NoticeContext, batch: Sequence[Record]
) -> tuple[list[ValidatedLine], list[LineError]]:
    """Validate raw notices against this node and turn each into its entry's parts."""
    prepared: list[ValidatedLine] = []
    errors: list[LineError] = []
    for line, raw in batch:
        if isinstance(raw, str):
            try:
                raw = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                errors.append(LineError(line, f"not valid JSON: {exc.msg}"))
                continue
        notice = _validate(raw, line, errors, context)
        if notice is None:
            continue
        try:
            draft = published_draft(context, notice, _PLACEHOLDER_TIME)
        except InvalidInput as exc:
            errors.extend(LineError(line, f"{f['field']}: {f['message']}") for f in exc.errors)
            continue
        prepared.append(
            ValidatedLine(draft.type, draft.body, draft.audience, notice.reference, line)
        )
    return prepared, errors


# --- worker processes: validating and signing on every core ------------------------------


@dataclass(frozen=True)
class Setup:
    """What a worker needs: the node's validation context, federation and signing key."""

    context: NoticeContext
    federation: str
    signing_key: bytes = field(repr=False)  # raw private key, never logged
    dialect: str = "sqlite"  # of the database the rows go to


@dataclass
class SealedBatch:
    """Entries sealed as consecutive seqs, with the derived rows of the notices they publish
    (one part per worker that sealed some of them; converted for the driver on SQLite)."""

    entries: list[SealedEntry]
    rows: list["FreshRows | DriverFresh"]


def seal_prepared(
    setup: Setup, start: int, batch: Sequence[ValidatedLine], now: datetime
) -> SealedBatch:
    drafts = [Draft(p.kind, p.body, p.audience, now) for p in batch]
    entries = seal_many(
        federation=setup.federation,
        origin=setup.context.origin,
        start=start,
        drafts=drafts,
        key=KeyPair.from_raw(setup.signing_key),
    )
    rows = fresh_rows(
        [
            (e.origin, e.seq, e.audience, e.body or b"")
            for e in entries
            if e.type == "notice.published"
        ]
    )
    if setup.dialect != "sqlite":
        return SealedBatch(entries, [rows])
    from service.notices.prepared import for_driver
    from service.storage.dialect import sqlite_dialect

    return SealedBatch(entries, [for_driver(rows, sqlite_dialect())])


_SETUP: Setup | None = None


def _init_worker(setup: Setup, parent: int) -> None:
    global _SETUP
    die_with_parent(parent)  # the importing process died (even by SIGKILL): so do we
    _SETUP = setup
    gc.set_threshold(20_000, 50, 100)  # validation allocates much and keeps little


def _worker_setup() -> Setup:
    if _SETUP is None:
        raise RuntimeError("import worker used before it was set up")
    return _SETUP


def _prepare_in_worker(batch: list[Record]) -> tuple[list[ValidatedLine], list[LineError]]:
    return prepare(_worker_setup().context, batch)


def _seal_in_worker(start: int, batch: list[ValidatedLine], now: datetime) -> SealedBatch:
    return seal_prepared(_worker_setup(), start, batch, now)


async def _merged(parts: "asyncio.Future[list[SealedBatch]]") -> SealedBatch:
    whole = SealedBatch([], [])
    for part in await parts:
        whole.entries.extend(part.entries)
        whole.rows.extend(part.rows)
    return whole


class Workers:
    """A pool of `processes` worker processes (none: everything runs in this process)."""

    def __init__(self, setup: Setup, processes: int) -> None:
        self.setup = setup
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None
        if processes > 0:
            self._pool = ProcessPoolExecutor(
                processes,
                mp_context=multiprocessing.get_context(START_METHOD),
                initializer=_init_worker,
                initargs=(setup, os.getpid()),
            )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def prepare(self, all_records: Sequence[Record]) -> tuple[list[ValidatedLine], list[LineError]]:
        """Validate every record (in order); the prepared notices and every error."""
        if self._pool is None:
            return prepare(self.setup.context, all_records)
        chunks = [
            list(all_records[i : i + PREPARE_CHUNK])
            for i in range(0, len(all_records), PREPARE_CHUNK)
        ]
        prepared: list[ValidatedLine] = []
        errors: list[LineError] = []
        for chunk_prepared, chunk_errors in self._pool.map(_prepare_in_worker, chunks):
            prepared.extend(chunk_prepared)
            errors.extend(chunk_errors)
        return prepared, errors

    def seal(
        self, start: int, batch: Sequence[ValidatedLine], now: datetime
    ) -> "asyncio.Future[SealedBatch]":
        """Seal a batch as entries `start, ...`, split across every worker. The work is handed
        to the workers before this returns (storing runs on the loop's thread without
        yielding, so a coroutine started later would only begin once the store is done)."""
        loop = asyncio.get_running_loop()
        if self._pool is None:
            done: asyncio.Future[SealedBatch] = loop.create_future()
            done.set_result(seal_prepared(self.setup, start, batch, now))
            return done
        share = -(-len(batch) // self.processes)
        parts = [
            loop.run_in_executor(
                self._pool, _seal_in_worker, start + i, list(batch[i : i + share]), now
            )
            for i in range(0, len(batch), share)
        ]
        return asyncio.ensure_future(_merged(asyncio.gather(*parts)))
