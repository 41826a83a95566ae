"""Bring a node database to the head revision, and refuse databases from a newer schema.

These are the first connections every command and every server start makes: a database that
cannot be reached is a ConfigError here, naming it (its password hidden).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import migrations
from service.errors import ConfigError, SchemaError

MIGRATIONS = Path(migrations.__file__).resolve().parent


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _heads() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def _known(revision: str) -> bool:
    script = ScriptDirectory.from_config(alembic_config())
    return any(rev.revision == revision for rev in script.walk_revisions())


def _current(sync_conn: Any) -> set[str]:
    return set(MigrationContext.configure(sync_conn).get_current_heads())


def _run(sync_conn: Any, action: str, target: str) -> None:
    current = _current(sync_conn)
    unknown = [rev for rev in current if not _known(rev)]
    if unknown:
        raise SchemaError(
            f"database schema revision {unknown[0]} is newer than this denex knows; "
            "upgrade denex before using this database"
        )
    config = alembic_config()
    config.attributes["connection"] = sync_conn
    if action == "upgrade":
        command.upgrade(config, target)
    else:
        command.downgrade(config, target)


def _revision(sync_conn: Any) -> str | None:
    current = _current(sync_conn)
    return min(current) if current else None


@asynccontextmanager
async def connected(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection of `engine`; when none can be made, a ConfigError that says why."""
    conn = engine.connect()
    try:
        await conn.start()
    except (OSError, DBAPIError) as exc:
        reason = exc.orig if isinstance(exc, DBAPIError) else exc
        where = engine.url.render_as_string(hide_password=True)
        raise ConfigError(f"cannot connect to the database {where}: {reason}") from exc
    try:
        yield conn
    finally:
        await conn.close()


async def upgrade(engine: AsyncEngine, target: str = "head") -> None:
    async with upgraded(engine, target):
        pass


@asynccontextmanager
async def upgraded(
    engine: AsyncEngine, target: str = "head"
) -> AsyncIterator[tuple[AsyncConnection, str | None]]:
    """Upgrade in a transaction that the caller may add to before it commits (data that a
    revision makes stale is re-derived with the upgrade, or not at all). Yields the
    connection and the revision the database was at (None: a new database)."""
    async with connected(engine) as conn, conn.begin():
        before = await conn.run_sync(_revision)
        await conn.run_sync(_run, "upgrade", target)
        yield conn, before


async def downgrade(engine: AsyncEngine, target: str) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_run, "downgrade", target)


async def check_current(engine: AsyncEngine) -> None:
    """Raise SchemaError unless the database is exactly at head."""
    async with connected(engine) as conn:
        current = await conn.run_sync(_current)
    heads = _heads()
    if current == heads:
        return
    unknown = [rev for rev in current if not _known(rev)]
    if unknown:
        raise SchemaError(
            f"database schema revision {unknown[0]} is newer than this denex knows; "
            "upgrade denex before using this database"
        )
    raise SchemaError("database schema is not at head; run `denex serve` or `denex init`")
