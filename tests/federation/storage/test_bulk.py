"""federation.storage.bulk: many rows in one executemany, on a real database.

On SQLite `insert_rows` converts each value with its column's bind processor (`driver_rows`,
pure, also run in import workers) and hands the driver the result; elsewhere it runs
SQLAlchemy's `insert()`. Either way what is read back is what was given, in the caller's
transaction. The `db` fixture runs each test on SQLite and, under the `postgres` mark, on
PostgreSQL.
"""

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from sqlalchemy import LargeBinary, Table, func, insert, select
from sqlalchemy.exc import StatementError

from federation.storage.bulk import DriverRows, _plan, driver_rows, insert_rows
from federation.storage.tables import EntryRow, TreeNodeRow
from service.storage.database import Database
from service.storage.dialect import sqlite_dialect
from tests.service.storage.test_database import database_url, db  # noqa: F401 (fixtures)

ENTRIES = cast(Table, EntryRow.__table__)
COLUMNS = [c.name for c in ENTRIES.columns]
BERLIN = timezone(timedelta(hours=2))
ISSUED = datetime(2026, 12, 5, 11, 30, 15, 250_000, tzinfo=BERLIN)
STORED = datetime(2026, 12, 5, 9, 31, tzinfo=UTC)
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def entry(seq: int, origin: str = "de-bafa", **values: Any) -> dict[str, Any]:
    """Every column of an entry row given, the optional ones set."""
    row = {
        "origin": origin, "seq": seq, "type": "notice.published", "issued_at": ISSUED,
        "key_id": "3f2a" * 16, "audience": ["*", "de-bafa", "Zürich"],
        "envelope": b"\x00\xff{}\x00", "leaf_hash": bytes(range(32)), "content_salt": b"\x01" * 16,
        "content_body": b"", "flagged": True, "flag_reason": "looks odd",
        "invalid_reason": "key revoked", "stored_at": STORED, "subject": b"\x07" * 32,
    }  # fmt: skip
    return row | values


EMPTY: dict[str, Any] = {
    "content_salt": None,
    "content_body": None,
    "flag_reason": None,
    "invalid_reason": None,
}
ROWS = [entry(0), entry(1, audience=[], flagged=False, **EMPTY)]


async def read_entries(db: Database) -> list[dict[str, Any]]:  # noqa: F811
    async with db.read() as session:
        rows = await session.scalars(select(EntryRow).order_by(EntryRow.origin, EntryRow.seq))
        return [{c: getattr(row, c) for c in COLUMNS} for row in rows]


async def count_entries(db: Database) -> int:  # noqa: F811
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(EntryRow)) or 0)


async def test_the_rows_inserted_are_the_rows_read_back(db: Database) -> None:  # noqa: F811
    """Times, JSON, booleans, bytes (an empty one too) and None survive both paths."""
    async with db.write() as session:
        await insert_rows(session, EntryRow, ROWS)
    got = await read_entries(db)
    assert got == ROWS
    assert got[0]["content_body"] == b"" and got[1]["content_body"] is None
    assert [type(row["flagged"]) for row in got] == [bool, bool]
    assert {row["issued_at"].tzinfo for row in got} == {UTC}  # the same moment, told in UTC


async def test_a_naive_time_is_refused_and_nothing_of_the_batch_is_written(
    db: Database,  # noqa: F811
) -> None:
    naive = entry(1, stored_at=datetime(2026, 12, 5, 9, 31))
    refused = ValueError if db.dialect == "sqlite" else StatementError
    with pytest.raises(refused, match="timezone-aware"):
        async with db.write() as session:
            await insert_rows(session, EntryRow, [entry(0), naive])
    assert await count_entries(db) == 0


async def test_no_rows_write_nothing(db: Database) -> None:  # noqa: F811
    async with db.write() as session:
        await insert_rows(session, EntryRow, [])
        await insert_rows(session, EntryRow, DriverRows("entries", []))
        assert await session.scalar(select(func.count()).select_from(EntryRow)) == 0
        await insert_rows(session, EntryRow, ROWS[:1])  # the transaction is still usable
    assert await count_entries(db) == 1


class Boom(Exception):
    pass


async def test_rows_go_into_the_callers_transaction_and_a_rollback_leaves_none(
    db: Database,  # noqa: F811
) -> None:
    with pytest.raises(Boom):
        async with db.write() as session:
            await insert_rows(session, EntryRow, ROWS)
            assert await session.scalar(select(func.count()).select_from(EntryRow)) == 2
            raise Boom
    assert await count_entries(db) == 0


@SQLITE_ONLY
async def test_driver_rows_made_apart_insert_like_the_rows_they_came_from(
    db: Database,  # noqa: F811
) -> None:
    """What bulk import does: the rows are converted in a worker, the storer executes."""
    async with db.write() as session:
        await insert_rows(session, EntryRow, driver_rows(EntryRow, ROWS, sqlite_dialect()))
    assert await read_entries(db) == ROWS


@SQLITE_ONLY
async def test_driver_rows_of_one_table_are_refused_for_another(db: Database) -> None:  # noqa: F811
    node = {"origin": "de-bafa", "level": 0, "idx": 0, "hash": b""}
    nodes = driver_rows(TreeNodeRow, [node], sqlite_dialect())
    with pytest.raises(TypeError, match="tree_nodes cannot go into entries"):
        async with db.write() as session:
            await insert_rows(session, EntryRow, nodes)
    assert await count_entries(db) == 0


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_driver_rows_are_refused_off_sqlite(db: Database) -> None:  # noqa: F811
    converted = driver_rows(EntryRow, ROWS, sqlite_dialect())
    with pytest.raises(TypeError, match="SQLite only"):
        async with db.write() as session:
            await insert_rows(session, EntryRow, converted)
    assert await count_entries(db) == 0


@SQLITE_ONLY
async def test_the_fast_path_stores_exactly_what_sqlalchemy_stores(
    db: Database,  # noqa: F811
) -> None:
    async with db.write() as session:
        await insert_rows(session, EntryRow, ROWS)
        await session.execute(insert(ENTRIES), [row | {"origin": "fr-sbdu"} for row in ROWS])
    select_stored = f"SELECT {', '.join(COLUMNS[1:])} FROM entries WHERE origin = ?"
    async with db.read() as session:
        connection = await session.connection()
        fast = (await connection.exec_driver_sql(select_stored, ("de-bafa",))).all()
        plain = (await connection.exec_driver_sql(select_stored, ("fr-sbdu",))).all()
    assert fast == plain


def test_driver_rows_is_pure_and_converts_only_what_needs_converting() -> None:
    given = copy.deepcopy(ROWS)
    first = driver_rows(EntryRow, given, sqlite_dialect())
    assert driver_rows(EntryRow, given, sqlite_dialect()) == first
    assert given == ROWS  # the input is untouched
    assert first.table == "entries" and len(first.values) == 2
    full, empty = (dict(zip(COLUMNS, values, strict=True)) for values in first.values)
    assert (full["flagged"], empty["flagged"]) == (1, 0)
    assert full["audience"] == '["*","de-bafa","Zürich"]' and empty["audience"] == "[]"
    assert full["envelope"] is given[0]["envelope"]  # bytes go to the driver as they are
    # SQLite's DATETIME text, in UTC: the same text SQLAlchemy's own inserts store
    assert full["issued_at"] == ISSUED.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    assert empty["content_salt"] is None and empty["flag_reason"] is None
    assert (full["seq"], full["key_id"]) == (0, "3f2a" * 16)


def test_driver_rows_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        driver_rows(EntryRow, [entry(0, issued_at=datetime(2026, 12, 5))], sqlite_dialect())


def test_the_plan_names_every_column_once_and_leaves_bytes_to_sqlite() -> None:
    sql, columns, processors = _plan(ENTRIES, sqlite_dialect())
    assert columns == COLUMNS
    assert (
        sql
        == f"INSERT INTO entries ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    )
    binary = [c.name for c in ENTRIES.columns if isinstance(c.type, LargeBinary)]
    assert binary and all(processors[COLUMNS.index(name)] is None for name in binary)
    assert processors[COLUMNS.index("flagged")] is not None
    assert _plan(ENTRIES, sqlite_dialect()) is _plan(ENTRIES, sqlite_dialect())  # made once
