"""Bulk inserts of many rows with one driver executemany.

SQLAlchemy's generic executemany costs tens of microseconds a row; appends write several
rows per entry (the entry, tree nodes, derived rows), so on SQLite this goes straight to the
driver's executemany, converting each value with its column type's own bind processor (the
same conversion SQLAlchemy applies: dates, JSON, booleans). Other databases use `insert()`.
"""

from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from federation.tables import Base

_Processor = Callable[[Any], Any] | None
_PLANS: dict[tuple[str, str], tuple[str, list[str], list[_Processor]]] = {}


def _plan(table: Table, dialect: Any) -> tuple[str, list[str], list[_Processor]]:
    key = (table.name, dialect.name)
    if key not in _PLANS:
        columns = [c.name for c in table.columns]
        sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608 (schema names)
            f"VALUES ({', '.join('?' for _ in columns)})"
        )
        processors = [cast(_Processor, c.type.bind_processor(dialect)) for c in table.columns]
        _PLANS[key] = (sql, columns, processors)
    return _PLANS[key]


async def insert_rows(
    session: AsyncSession, model: type[Base], rows: Sequence[dict[str, Any]]
) -> None:
    """Insert `rows` (every column given) into `model`'s table in the caller's transaction."""
    table = cast(Table, model.__table__)
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name != "sqlite":
        await session.execute(insert(table), list(rows))
        return
    sql, columns, processors = _plan(table, dialect)
    pairs = list(zip(columns, processors, strict=True))
    values = [
        tuple(row[c] if p is None or row[c] is None else p(row[c]) for c, p in pairs)
        for row in rows
    ]
    connection = await session.connection()
    await connection.exec_driver_sql(sql, values)


insert_plain = insert_rows  # the earlier name, for rows of plain values
