"""The node's database: an async engine for reads and a writer path that serialises writes.

SQLite (the embedded default) runs in WAL mode; write transactions open with
`BEGIN IMMEDIATE` so that appends are serialised before they read the log size. PostgreSQL
uses ordinary transactions; per-origin advisory locks serialise appends (see federation.storage.log).

SQLite statements run on the event loop's own thread (`InlineSQLite`), not on a driver
thread: they take microseconds, and a hand-off per call cost more than the work. Only a
statement that meets another process's lock waits, and it waits on a worker thread
(docs/decisions/0010-inline-sqlite.md).
"""

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence, Sized
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from federation.storage.tree import Rows, SessionRows
from service.storage.dialect import JSON_CODEC

BUSY_TIMEOUT_MS = 60_000  # how long a statement waits for another process's lock
BULK_ROWS = 200  # an executemany of this many rows runs beside the loop (InlineSQLite.beside)
T = TypeVar("T")


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY


class _InlineCursor:
    """The cursor half of `InlineSQLite` (the aiosqlite cursor interface SQLAlchemy uses)."""

    def __init__(self, connection: "InlineSQLite") -> None:
        self._connection = connection
        self._cursor = connection._conn.cursor()

    async def __aenter__(self) -> "_InlineCursor":
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> "_InlineCursor":
        await self._connection.run(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Any) -> "_InlineCursor":
        if isinstance(parameters, Sized) and len(parameters) >= BULK_ROWS:
            self._connection.bulk_rows += len(parameters)
            await self._connection.beside(self._cursor.executemany, sql, parameters)
        else:
            await self._connection.run(self._cursor.executemany, sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _RunNow:
    """Stands in for aiosqlite's queue to its thread (SQLAlchemy's isolation-level setter)."""

    def put_nowait(self, item: tuple["asyncio.Future[Any]", Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


class InlineSQLite:
    """A sqlite3 connection with aiosqlite's interface whose calls run on the calling (event
    loop) thread. A call that finds the database locked by another connection is retried on
    a worker thread with SQLite's busy timeout, so lock waits never stall the loop."""

    def __init__(self, raw: sqlite3.Connection, busy_timeout_ms: int) -> None:
        self.raw: sqlite3.Connection | None = raw
        self._busy_timeout_ms = busy_timeout_ms
        self._tx = _RunNow()
        self.bulk_rows = 0  # rows of bulk statements in the current transaction

    @property
    def _connection(self) -> sqlite3.Connection | None:  # what SQLAlchemy checks before commit
        return self.raw

    @property
    def _conn(self) -> sqlite3.Connection:
        if self.raw is None:
            raise ValueError("no active connection")
        return self.raw

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        try:
            return function(*args)
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
        return await self.beside(function, *args)

    async def beside(self, function: Callable[..., T], *args: Any) -> T:
        """Run a call on a worker thread, with SQLite's busy timeout: for lock waits, and for
        bulk statements (sqlite3 releases the GIL while SQLite works, so the loop goes on:
        a sync's next page keeps downloading while this one is written)."""
        waiting = asyncio.ensure_future(asyncio.to_thread(self._patiently, function, *args))
        try:
            return await asyncio.shield(waiting)
        except asyncio.CancelledError:
            # The connection is busy until the statement ends (as on aiosqlite's thread);
            # let it end before anything else, such as a rollback, uses the connection.
            await asyncio.wait([waiting])
            raise

    def _patiently(self, function: Callable[..., T], *args: Any) -> T:
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        try:
            return function(*args)
        finally:
            conn.execute("PRAGMA busy_timeout=0")

    def cursor(self) -> _InlineCursor:
        return _InlineCursor(self)

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> _InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        bulk, self.bulk_rows = self.bulk_rows, 0
        if bulk >= BULK_ROWS:  # a large commit may checkpoint the WAL: off the loop
            await self.beside(self._conn.commit)
        else:
            await self.run(self._conn.commit)

    async def rollback(self) -> None:
        self.bulk_rows = 0
        await self.run(self._conn.rollback)

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self.raw is not None:
            self.raw.close()
            self.raw = None


def _inline_connector(url: str) -> Callable[[], Any]:
    """An `async_creator` opening the file `url` names, as SQLAlchemy's sqlite dialect would."""
    [database], kwargs = SQLiteDialect_pysqlite().create_connect_args(make_url(url))
    options: dict[str, Any] = {**kwargs, "timeout": 0, "isolation_level": None}
    options["check_same_thread"] = False  # a lock wait runs on a worker thread

    async def connect() -> InlineSQLite:
        return InlineSQLite(sqlite3.connect(database, **options), BUSY_TIMEOUT_MS)

    return connect


class _PointRows:
    """`federation.storage.tree.Rows` on the point-read connection (autocommit: each statement reads
    the latest commit); if the database is busy, through a read session instead."""

    paramstyle = "qmark"
    cheap_statements = True  # ~20 µs a statement on the loop's thread

    def __init__(self, db: "Database") -> None:
        self.db = db

    async def all(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        try:
            cursor = self.db._point_connection().execute(sql, params)
            return [tuple(row) for row in cursor.fetchall()]
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
        async with self.db.read() as session:
            return await SessionRows(session).all(sql, params)


def _point_connection(url: str) -> sqlite3.Connection:
    """An autocommit connection to the file `url` names, used only to read (`point_read`)."""
    [database], kwargs = SQLiteDialect_pysqlite().create_connect_args(make_url(url))
    connection: sqlite3.Connection = sqlite3.connect(
        database, **{**kwargs, "timeout": 0, "isolation_level": None}
    )
    connection.execute("PRAGMA busy_timeout=0")
    return connection


def _sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
    engine = create_async_engine(url, async_creator=_inline_connector(url), **JSON_CODEC)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=0")  # waits happen off the loop (InlineSQLite.run)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """Engines and session factories for one node database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = make_url(url).get_backend_name()
        if self.dialect == "sqlite":
            self.engine = _sqlite_engine(url, immediate=False)
            self.write_engine = _sqlite_engine(url, immediate=True)
        else:
            self.engine = create_async_engine(url, pool_pre_ping=True, **JSON_CODEC)
            self.write_engine = self.engine
        # SQLite has one writer at a time: writers of this process queue here instead of
        # sleeping in SQLite's busy handler (other processes still meet busy_timeout).
        self._write_turn = asyncio.Lock() if self.dialect == "sqlite" else None
        self._reader = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writer = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._point: sqlite3.Connection | None = None  # SQLite: see point_read

    def _point_connection(self) -> sqlite3.Connection:
        if self._point is None:
            self._point = _point_connection(self.url)
        return self._point

    @asynccontextmanager
    async def rows(self) -> AsyncIterator[Rows]:
        """Driver SQL for hot reads of data that never changes once committed (the Merkle
        subtrees a proof needs): on SQLite the point-read connection, with no session around
        it; elsewhere a read session."""
        if self.dialect == "sqlite":
            yield _PointRows(self)
            return
        async with self.read() as session:
            yield SessionRows(session)

    async def point_read(self, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """The first row of a small read that runs on every request (a token lookup), as
        plain driver values (on SQLite, datetimes come back as text). A read session costs
        ~0.4 ms of SQLAlchemy work around a ~10 µs query, so on SQLite a dedicated
        read-only connection runs the statement directly on the loop; if the database is
        locked (a recovery), or elsewhere, an ordinary read session runs it."""
        if self.dialect == "sqlite":
            try:
                row = self._point_connection().execute(sql, params).fetchone()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
            else:
                return tuple(row) if row is not None else None
        async with self.read() as session:
            found = (await session.execute(text(sql), params)).first()
        return tuple(found) if found is not None else None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads; rolled back at the end."""
        async with self._reader() as session:
            try:
                yield session
            finally:
                session.expunge_all()  # rows read stay usable after the block
                await session.rollback()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: committed if the block succeeds, rolled back otherwise."""
        async with contextlib.AsyncExitStack() as stack:
            if self._write_turn is not None:
                await stack.enter_async_context(self._write_turn)
            session = await stack.enter_async_context(self._writer())
            await stack.enter_async_context(session.begin())
            yield session

    async def dispose(self) -> None:
        if self._point is not None:
            self._point.close()
            self._point = None
        await self.engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()
