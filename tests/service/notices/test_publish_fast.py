"""The fast publish path: SQLite statements run on the event loop's thread, yet a statement that
meets another connection's lock waits on a worker thread, never stalling the loop."""

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy import func, select

from federation.storage.tables import LogRow
from service.storage.database import Database
from service.storage.migrate import upgrade
from tests.nodes import START, LiveNode
from tests.service.notice_data import notice


async def _database(tmp_path: Path) -> tuple[Database, Path]:
    path = tmp_path / "denex.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await upgrade(db.write_engine)
    return db, path


async def test_a_write_waits_for_another_process_lock_without_blocking_the_loop(
    tmp_path: Path,
) -> None:
    db, path = await _database(tmp_path)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # as another process holding the write lock

        async def write() -> None:
            async with db.write() as session:
                session.add(LogRow(origin="de-bafa", size=0, updated_at=START))

        writer = asyncio.create_task(write())
        # If the waiting write held the loop's thread, these sleeps could end only after it
        # gave up or got the lock: the writer would be done by then.
        await asyncio.sleep(0.2)
        assert not writer.done()
        other.execute("ROLLBACK")
        await asyncio.wait_for(writer, timeout=10)
        async with db.read() as session:
            assert await session.scalar(select(func.count()).select_from(LogRow)) == 1
    finally:
        other.close()
        await db.dispose()


async def test_reads_see_other_connections_commits(tmp_path: Path) -> None:
    db, path = await _database(tmp_path)
    try:
        async with db.read() as session:
            assert await session.scalar(select(func.count()).select_from(LogRow)) == 0
        other = sqlite3.connect(path, isolation_level=None)
        other.execute(
            "INSERT INTO logs (origin, size, updated_at) VALUES ('fr-sbdu', 0, '2026-11-28')"
        )
        other.close()
        async with db.read() as session:
            assert await session.scalar(select(func.count()).select_from(LogRow)) == 1
    finally:
        await db.dispose()


async def test_publish_is_counted_in_the_metrics(live: LiveNode) -> None:
    response = await live.client.post(
        "/api/v1/notices", json=notice(), headers=live.auth("officer")
    )
    assert response.status_code == 201
    refused = await live.client.post("/api/v1/notices", json=notice())
    assert refused.status_code == 401
    text = (await live.client.get("/metrics")).text
    assert 'route="/api/v1/notices",status="201"' in text
    assert 'route="/api/v1/notices",status="401"' in text
