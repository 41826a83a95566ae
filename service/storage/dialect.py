"""How the engines encode JSON columns, and the SQLite dialect built the same way: for
converting rows to driver values away from any engine (in a worker process, for one) without
loading the database layer."""

from typing import Any

import orjson
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import Dialect


def _json_text(value: Any) -> str:
    """JSON columns are written with orjson (the stdlib encoder cost ~20 µs a notice body)."""
    return orjson.dumps(value).decode()


JSON_CODEC: dict[str, Any] = {"json_serializer": _json_text, "json_deserializer": orjson.loads}


def sqlite_dialect() -> Dialect:
    """The SQLite dialect as the engines use it, for converting rows away from any engine."""
    return SQLiteDialect_pysqlite(**JSON_CODEC)
