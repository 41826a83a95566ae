"""Opening a node: check its data directory, open the database, bring it to head, load its
identity and keys; and making one (`denex init`).

Used by every command and by each `denex serve` worker (service.worker). It imports nothing
of the web app, so a command that does not serve starts without loading it.
"""

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from service import audit
from service.derivation import rederive_flagged
from service.errors import ConfigError
from service.node import (
    Identity,
    Node,
    create_node,
    load_node,
    passphrase_for_new_keys,
    read_identity,
)
from service.settings import Settings
from service.storage import files, migrate
from service.storage.database import Database
from service.storage.models import NodeRow
from service.tokens import create_token

log = logging.getLogger("denex.runtime")

GC_THRESHOLD = (20_000, 50, 100)  # CPython's default is (700, 10, 10)


def tune_gc() -> None:
    """Fewer garbage-collector passes for a long-lived or bulk process: everything loaded so
    far moves to the permanent generation (`gc.freeze`) and the first generation collects
    every 20,000 allocations instead of 700. With many live objects, full passes cost a
    third of bulk import's storing time and a good part of each API request's."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def utc_now() -> datetime:
    return datetime.now(UTC)


def check_data_dir(settings: Settings) -> None:
    """There is a node here; its files are made private if they were not (storage.files)."""
    if settings.database_url is None and not (settings.data_dir / "node.db").exists():
        raise ConfigError(f"no node in {settings.data_dir}: run `denex init` first")
    files.make_private(settings.data_dir, files.sqlite_file(settings.resolved_database_url))


async def open_node(settings: Settings, *, upgrade: bool) -> tuple[Database, Node]:
    """Open the database (upgrading it to head if asked), read the identity, load the keys."""
    check_data_dir(settings)
    db = Database(settings.resolved_database_url)
    try:
        if upgrade:
            await upgrade_database(db)
        await migrate.check_current(db.engine)
        async with db.read() as session:
            identity = await read_identity(session)
        return db, load_node(settings, identity)
    except BaseException:
        await db.dispose()
        raise


NOTICE_IDENTITY = "0008"  # the revision from which a notice is (origin, notice_id)


async def upgrade_database(db: Database) -> None:
    """Bring the schema to head; when that crosses NOTICE_IDENTITY, re-derive the tables in
    the same transaction (service.derivation.rederive_flagged)."""
    async with migrate.upgraded(db.write_engine) as (conn, before):
        if before is not None and before < NOTICE_IDENTITY:
            async with AsyncSession(bind=conn) as session:
                if await rederive_flagged(session):
                    await session.flush()
                    log.warning("derived tables rebuilt: notices are (origin, notice_id) now")


async def init_node(
    settings: Settings, *, identity_fields: dict[str, object], now: datetime
) -> tuple[str, str]:
    """Create a node: data dir, schema, keys, entry 0 and the first admin token.

    Returns (node id, admin token). Validation of the fields is the caller's (the CLI's).
    """
    passphrase_for_new_keys(settings)  # refuse before anything is written
    created_dir = not settings.data_dir.exists()
    db_file = files.sqlite_file(settings.resolved_database_url)
    created_db = db_file is not None and not db_file.exists()
    settings.data_dir.mkdir(mode=files.DIR_MODE, parents=True, exist_ok=True)
    files.make_private(settings.data_dir, db_file)
    if created_db and db_file is not None:
        files.create_database_file(db_file)  # 0600 before SQLite opens it
    db = Database(settings.resolved_database_url)
    try:
        await migrate.upgrade(db.write_engine)
        async with db.write() as session:
            identity = await create_node(
                session, settings, identity_fields=identity_fields, now=now
            )
            _row, token = await create_token(
                session, name="first-admin", role="admin", expires_days=None, now=now
            )
            await audit.record(
                session,
                actor="cli:init",
                action="node.init",
                target=identity.node_id,
                detail={"federation": identity.federation},
                now=now,
            )
    except BaseException:
        await db.dispose()
        if created_db and db_file is not None:
            for suffix in ("", *files.SQLITE_SIDE_FILES):
                db_file.with_name(db_file.name + suffix).unlink(missing_ok=True)
        for folder in (settings.keys_dir, settings.data_dir if created_dir else None):
            if folder is not None and folder.exists() and not any(folder.iterdir()):
                folder.rmdir()
        raise
    await db.dispose()
    return identity.node_id, token


@asynccontextmanager
async def opened_database(settings: Settings) -> AsyncIterator[Database]:
    """The node's database, checked to be at head, disposed afterwards (for CLI commands)."""
    check_data_dir(settings)
    db = Database(settings.resolved_database_url)
    try:
        await migrate.check_current(db.engine)
        yield db
    finally:
        await db.dispose()


async def load_identity(settings: Settings) -> Identity:
    async with opened_database(settings) as db, db.read() as session:
        return await read_identity(session)


async def store_card(settings: Settings, card: str) -> None:
    """Keep the newest card (it goes into evidence bundles)."""
    async with opened_database(settings) as db, db.write() as session:
        await session.execute(update(NodeRow).values(card=card))
