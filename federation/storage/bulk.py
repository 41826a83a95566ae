"""Bulk inserts of many rows with one driver executemany.

SQLAlchemy's generic executemany costs tens of microseconds a row; appends write several
rows per entry (the entry, tree nodes, derived rows), so on SQLite this goes straight to the
driver's executemany, converting each value with its column type's own bind processor (the
same conversion SQLAlchemy applies: dates, JSON, booleans). Other databases use `insert()`.

The conversion is a pure function of the rows and the dialect (`driver_rows`), so bulk import
runs it in its worker processes and the storing process only executes (`DriverRows`).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import LargeBinary, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from federation.storage.tables import Base

_Processor = Callable[[Any], Any] | None
# per table object and dialect class: two dialects of one name (pysqlite, aiosqlite) may
# process values differently, and a table of the same name in other metadata is another table
_PLANS: dict[tuple[Table, type[Dialect]], tuple[str, list[str], list[_Processor]]] = {}


def _plan(table: Table, dialect: Dialect) -> tuple[str, list[str], list[_Processor]]:
    key = (table, type(dialect))
    if key not in _PLANS:
        columns = [c.name for c in table.columns]
        sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608 (schema names)
            f"VALUES ({', '.join('?' for _ in columns)})"
        )
        processors = [
            None  # sqlite3 binds bytes as BLOB itself; the processor only wrapped them
            if dialect.name == "sqlite" and isinstance(c.type, LargeBinary)
            # the dialect's own type (SQLite's DATETIME formatting under UtcDateTime): the
            # text stored is the same as SQLAlchemy's own inserts store
            else cast(_Processor, c.type.dialect_impl(dialect).bind_processor(dialect))
            for c in table.columns
        ]
        _PLANS[key] = (sql, columns, processors)
    return _PLANS[key]


@dataclass(frozen=True)
class DriverRows:
    """Rows of one table converted for the SQLite driver, in the table's column order."""

    table: str
    values: list[tuple[Any, ...]]


def driver_rows(model: type[Base], rows: Sequence[dict[str, Any]], dialect: Dialect) -> DriverRows:
    """`rows` (every column given) as the driver's parameters for `model`'s table. Pure.
    Only the columns with a bind processor are touched one by one (~3 of 14 for entries), and
    a value that is the very object of the row before (the one time of a batch's entries)
    reuses its conversion: processors are pure functions of their value."""
    table = cast(Table, model.__table__)
    _sql, columns, processors = _plan(table, dialect)
    take = itemgetter(*columns)
    convert = [(n, p) for n, p in enumerate(processors) if p is not None]
    last: list[tuple[Any, Any]] = [(None, None)] * len(columns)
    values = []
    for row in rows:
        row_values = list(take(row)) if len(columns) > 1 else [row[columns[0]]]
        for n, process in convert:
            value = row_values[n]
            if value is None:
                continue
            seen, converted = last[n]
            if value is not seen:
                converted = process(value)
                last[n] = (value, converted)
            row_values[n] = converted
        values.append(tuple(row_values))
    return DriverRows(table.name, values)


async def insert_rows(
    session: AsyncSession, model: type[Base], rows: Sequence[dict[str, Any]] | DriverRows
) -> None:
    """Insert `rows` (every column given, or already converted on SQLite) into `model`'s table
    in the caller's transaction."""
    table = cast(Table, model.__table__)
    if not rows or (isinstance(rows, DriverRows) and not rows.values):
        return
    dialect = session.get_bind().dialect
    if dialect.name != "sqlite":
        if isinstance(rows, DriverRows):
            raise TypeError("driver rows are for SQLite only")
        await session.execute(insert(table), list(rows))
        return
    if not isinstance(rows, DriverRows):
        rows = driver_rows(model, rows, dialect)
    elif rows.table != table.name:
        raise TypeError(f"rows for {rows.table} cannot go into {table.name}")
    sql, _columns, _processors = _plan(table, dialect)
    connection = await session.connection()
    await connection.exec_driver_sql(sql, rows.values)


insert_plain = insert_rows  # the earlier name, for rows of plain values
