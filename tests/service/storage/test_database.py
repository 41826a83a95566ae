"""`Database` against a real SQLite file and a real PostgreSQL server: transactions and
concurrent appends to one log."""

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, text

from federation.core.entry import Draft
from federation.storage.log import append_own, log_size
from federation.storage.tables import EntryRow, LogRow
from keys.ed25519 import KeyPair
from service.storage.database import BULK_ROWS, Database
from service.storage.migrate import upgrade

FEDERATION = "denex.example"
ORIGIN = "de-bafa"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

TASKS = 8
APPENDS_PER_TASK = 10


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'denex.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    try:
        await upgrade(database.write_engine)
        yield database
    finally:
        await database.dispose()


async def count_logs(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(LogRow)) or 0)


def log_row(origin: str = ORIGIN) -> LogRow:
    return LogRow(origin=origin, size=0, updated_at=NOW)


async def test_write_commits_on_success(db: Database) -> None:
    async with db.write() as session:
        session.add(log_row())

    assert await count_logs(db) == 1
    async with db.read() as session:
        row = await session.get(LogRow, ORIGIN)
        assert row is not None
        assert row.size == 0
        assert row.updated_at.astimezone(UTC) == NOW


async def test_rows_read_are_usable_after_the_read_block(db: Database) -> None:
    async with db.write() as session:
        session.add(log_row())
    async with db.read() as session:
        row = await session.get(LogRow, ORIGIN)
    assert row is not None
    assert row.size == 0


class Boom(Exception):
    pass


async def test_write_rolls_back_on_exception(db: Database) -> None:
    async with db.write() as session:
        session.add(log_row("fr-sbdu"))

    with pytest.raises(Boom):
        async with db.write() as session:
            session.add(log_row())
            await session.flush()  # the row reached the database inside the transaction
            raise Boom

    assert await count_logs(db) == 1
    async with db.read() as session:
        assert await session.get(LogRow, ORIGIN) is None


async def test_read_does_not_persist_changes(db: Database) -> None:
    async with db.read() as session:
        session.add(log_row())
        await session.flush()
    assert await count_logs(db) == 0


async def test_concurrent_appends_get_contiguous_seqs(db: Database) -> None:
    key = KeyPair.generate()
    draft = Draft(type="notice.published", body=b"{}", audience=(ORIGIN,), issued_at=NOW)
    assigned: list[int] = []

    async def worker() -> None:
        for _ in range(APPENDS_PER_TASK):
            async with db.write() as session:
                sealed = await append_own(
                    session,
                    federation=FEDERATION,
                    origin=ORIGIN,
                    drafts=[draft],
                    signer=lambda _type: key,
                    checkpoint_key=key,
                    now=NOW,
                )
            assigned.extend(entry.seq for entry in sealed)

    async with asyncio.timeout(120):
        await asyncio.gather(*(worker() for _ in range(TASKS)))

    total = TASKS * APPENDS_PER_TASK
    assert sorted(assigned) == list(range(total))
    async with db.read() as session:
        seqs = list(
            await session.scalars(
                select(EntryRow.seq).where(EntryRow.origin == ORIGIN).order_by(EntryRow.seq)
            )
        )
        size = await log_size(session, ORIGIN)
        leaves = set(await session.scalars(select(EntryRow.leaf_hash)))
    assert seqs == list(range(total))
    assert size == total
    assert len(leaves) == total


async def test_appends_of_several_drafts_in_one_transaction(db: Database) -> None:
    key = KeyPair.generate()
    drafts = [
        Draft(type="notice.published", body=b"{}", audience=(ORIGIN,), issued_at=NOW)
        for _ in range(3)
    ]
    for expected_start in (0, 3):
        async with db.write() as session:
            sealed = await append_own(
                session,
                federation=FEDERATION,
                origin=ORIGIN,
                drafts=drafts,
                signer=lambda _type: key,
                checkpoint_key=key,
                now=NOW,
            )
        assert [e.seq for e in sealed] == [expected_start, expected_start + 1, expected_start + 2]

    # A failed append leaves neither entries nor a grown log behind.
    with pytest.raises(Boom):
        async with db.write() as session:
            await append_own(
                session,
                federation=FEDERATION,
                origin=ORIGIN,
                drafts=drafts,
                signer=lambda _type: key,
                checkpoint_key=key,
                now=NOW,
            )
            raise Boom
    async with db.read() as session:
        assert await log_size(session, ORIGIN) == 6
        count = await session.scalar(select(func.count()).select_from(EntryRow))
    assert count == 6


async def test_sqlite_bulk_statements_run_beside_the_loop_and_small_ones_on_it(
    tmp_path: Any,
) -> None:
    """An executemany of BULK_ROWS rows or more runs on a worker thread (the loop goes on:
    a sync's next page downloads meanwhile); smaller statements run on the loop's thread."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'denex.db'}")
    await upgrade(db.write_engine)
    threads: list[int] = []

    def mark(value: bytes) -> bytes:
        threads.append(threading.get_ident())
        return value

    sql = "INSERT INTO tree_nodes (origin, level, idx, hash) VALUES (?, ?, ?, mark(?))"
    try:
        for count in (BULK_ROWS - 1, BULK_ROWS):
            async with db.write() as session:
                connection = await session.connection()
                raw = await connection.get_raw_connection()
                await raw.driver_connection.create_function("mark", 1, mark)
                first = 0 if count < BULK_ROWS else BULK_ROWS
                rows = [(ORIGIN, 0, first + n, bytes(32)) for n in range(count)]
                await connection.exec_driver_sql(sql, rows)
            used, threads[:] = set(threads), []
            loop_thread = threading.get_ident()
            assert used == ({loop_thread} if count < BULK_ROWS else used - {loop_thread})
            assert used
        async with db.read() as session:
            stored = await session.execute(text("SELECT count(*) FROM tree_nodes"))
            assert stored.scalar_one() == 2 * BULK_ROWS - 1
    finally:
        await db.dispose()
