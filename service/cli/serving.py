"""Running uvicorn for `denex serve`: "serving on" is said once, only when the port is bound,
and several workers count their metrics together (docs/decisions/0023-metrics-and-logs.md).

* One worker: a uvicorn Server that says where it serves once its `startup` is done (the
  app's lifespan has run, the socket listens: uvicorn's `started`).
* Several workers: uvicorn's parent process binds the port, then starts the workers, and
  each listens on it once its app has started. The worker that leads (holds the sync loop's
  lock) says it as soon as a connection to the port succeeds
  (service.worker.announce_listening). The workers count in prometheus_client's
  multiprocess mode, in a fresh private directory removed when `denex serve` ends.
"""

import os
import shutil
import socket
import sys
import tempfile
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from service.logs import SERVING_URL, announce
from service.metrics import MULTIPROCESS_DIR

APP = "service.worker:make_app"
GRACEFUL_SHUTDOWN = 20  # seconds in-flight requests get after SIGTERM


class _AnnouncingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, url: str) -> None:
        super().__init__(config)
        self.url = url

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            announce(self.url)


def run(*, host: str, port: int, workers: int, log_config: dict[str, Any], url: str) -> None:
    """Serve the node's app until SIGTERM (or SIGINT)."""
    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "log_config": log_config,
        "access_log": False,  # denex writes its own (service.api.access)
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN,
    }
    if workers == 1:
        os.environ.pop(SERVING_URL, None)
        server = _AnnouncingServer(uvicorn.Config(APP, **options), url)
        try:
            server.run()
        except KeyboardInterrupt:
            pass
        if not server.started:
            sys.exit(STARTUP_FAILURE)
        return
    directory = tempfile.mkdtemp(prefix="denex-metrics-")
    os.environ[MULTIPROCESS_DIR] = directory
    os.environ[SERVING_URL] = url
    try:
        uvicorn.run(APP, workers=workers, **options)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
