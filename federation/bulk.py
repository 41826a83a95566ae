"""Bulk inserts of many plain rows (strings, integers, bytes) with one driver executemany.

SQLAlchemy's generic executemany costs tens of microseconds a row; appends write several
rows per entry (tree nodes, index rows), so on SQLite this goes straight to the driver's
executemany. Columns that need type processing (dates, JSON) must use `insert()` instead.
"""

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from federation.tables import Base


async def insert_plain(
    session: AsyncSession, model: type[Base], rows: Sequence[dict[str, Any]]
) -> None:
    table = cast(Table, model.__table__)
    if not rows:
        return
    if session.get_bind().dialect.name != "sqlite":
        await session.execute(insert(table), list(rows))
        return
    columns = [c.name for c in table.columns]
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608 (names from the schema)
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    connection = await session.connection()
    await connection.exec_driver_sql(sql, [tuple(row[c] for c in columns) for row in rows])
