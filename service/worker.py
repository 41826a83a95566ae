"""What each `denex serve` worker process runs: the app (uvicorn's factory, `make_app`) with
its background tasks (the sync loop in the worker that leads, the screening watcher), and the
"serving on" line, said once the port accepts connections.
"""

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from fastapi import FastAPI

from service.api.app import create_app
from service.api.state import AppState
from service.logs import SERVING_URL, announce
from service.metrics import Metrics
from service.runtime import open_node, tune_gc, utc_now
from service.screening import screenings
from service.settings import Settings
from service.sync.loop import SyncLoop, claim_loop

log = logging.getLogger("denex.serve")

_ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104 (what to connect to)


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
