"""Start-up wiring: open the database, bring it to head, load identity and keys, build the app.

Used by the CLI (`denex serve` checks everything before binding a port) and by uvicorn's
factory in each worker process.
"""

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from urllib.parse import urlsplit

from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from service import audit
from service.api.app import create_app
from service.api.state import AppState
from service.derive import rederive_flagged
from service.errors import ConfigError
from service.metrics import Metrics
from service.node import (
    Identity,
    Node,
    create_node,
    load_node,
    passphrase_for_new_keys,
    read_identity,
)
from service.screening import screenings
from service.settings import Settings
from service.storage import files, migrate
from service.storage.database import Database
from service.storage.models import NodeRow
from service.syncing import SyncLoop, claim_loop
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
    the same transaction (service.derive.rederive_flagged)."""
    async with migrate.upgraded(db.write_engine) as (conn, before):
        if before is not None and before < NOTICE_IDENTITY:
            async with AsyncSession(bind=conn) as session:
                if await rederive_flagged(session):
                    await session.flush()
                    log.warning("derived tables rebuilt: notices are (origin, notice_id) now")


# `denex serve --workers N` (N > 1) tells its workers where the node serves: the worker that
# leads (runs the sync loop) says so once a connection to it succeeds (announce_listening)
SERVING_URL = "DENEX_SERVE_WORKERS_URL"
_ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104 (what to connect to)


def announce(url: str) -> None:
    """Say where the node serves: only once it accepts connections (service.cli.serving)."""
    log.info("denex node serving on %s (API docs at %s/docs)", url, url, extra={"url": url})


async def announce_listening(url: str, *, patience: float = 60.0) -> None:
    """With several workers, uvicorn's parent binds the port and each worker listens on it
    once its app has started: say where the node serves as soon as a connection succeeds
    (the port is this node's: its parent holds it)."""
    parts = urlsplit(url)
    host = _ANY_ADDRESS.get(parts.hostname or "", parts.hostname or "127.0.0.1")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while loop.time() < deadline:
        try:
            _reader, writer = await asyncio.open_connection(host, parts.port)
        except OSError:
            await asyncio.sleep(0.02)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        announce(url)
        return
    log.warning("%s did not accept a connection within %.0f s", url, patience)


def make_app() -> FastAPI:
    """uvicorn factory: settings from the environment, state opened in the lifespan."""
    settings = Settings()
    metrics = Metrics()
    logging.captureWarnings(True)  # warnings are log lines, in the configured format

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db, node = await open_node(settings, upgrade=False)
        tune_gc()
        app.state.denex = AppState(
            settings=settings, db=db, node=node, clock=utc_now, metrics=metrics
        )
        loop = SyncLoop(db=db, node=node, settings=settings, clock=utc_now)
        app.state.denex.sync_loop = loop
        tasks = [
            asyncio.create_task(
                screenings.watch(
                    db,
                    app.state.denex.screening,
                    clock=utc_now,
                    interval=settings.screening_interval,
                )
            ),
        ]
        lead = claim_loop(settings.data_dir)  # None: another worker of this node leads
        if lead is not None:
            tasks.append(asyncio.create_task(loop.run(lead)))
            if url := os.environ.get(SERVING_URL):
                tasks.append(asyncio.create_task(announce_listening(url)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await db.dispose()

    return create_app(None, lifespan=lifespan)


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
