"""Bring a node database to the head revision, and refuse databases from a newer schema."""

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

import migrations
from service.errors import SchemaError

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


async def upgrade(engine: AsyncEngine, target: str = "head") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_run, "upgrade", target)


async def downgrade(engine: AsyncEngine, target: str) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_run, "downgrade", target)


async def check_current(engine: AsyncEngine) -> None:
    """Raise SchemaError unless the database is exactly at head."""
    async with engine.connect() as conn:
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
