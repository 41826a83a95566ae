"""A real PostgreSQL server for the test suite, started and stopped by the suite itself.

Loaded as a pytest plugin (`pytest_plugins = ["tests.postgres"]` in tests/conftest.py, or
`-p tests.postgres`). Provides:

* `postgres_server` (session): a throw-away cluster under /tmp, initialised with `initdb` and
  run with `pg_ctl` as the `postgres` OS user (the suite runs as root, PostgreSQL refuses to).
  It listens on 127.0.0.1 only, on a free TCP port, with trust authentication, so other
  processes (e.g. `denex serve` started by system tests) can use `server.url(name)` as their
  `DENEX_DATABASE_URL`.
* `postgres_url` (function): a fresh, uniquely named database on that server; its URL.

The only skip: no PostgreSQL binaries on this machine at all. Everything else that goes wrong
(initdb, start-up, readiness) is an error, with the server log in the message.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import os
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

PG_USER = "postgres"  # both the OS user that runs the server and the database superuser
HOST = "127.0.0.1"
BINARIES = ("initdb", "pg_ctl", "postgres")
START_ATTEMPTS = 4
READY_TIMEOUT = 60.0


def _version_key(bindir: Path) -> tuple[int, ...]:
    """Sort key for /usr/lib/postgresql/<version>/bin: numeric version, newest last."""
    return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name)) or (0,)


def find_bindir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres: from PATH, else the newest
    /usr/lib/postgresql/*/bin. Symlinks on PATH are resolved so that all three come from
    the same installation."""
    candidates: list[Path] = []
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
        candidates.append(Path(on_path).parent)
    candidates.extend(
        sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    )
    for bindir in candidates:
        if all(os.access(bindir / name, os.X_OK) for name in BINARIES):
            return bindir
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _as_postgres(argv: Sequence[str]) -> list[str]:
    """Wrap a command so that it runs as the `postgres` OS user when we are root."""
    argv = [str(a) for a in argv]
    if os.geteuid() != 0:
        return argv  # already unprivileged: PostgreSQL runs as whoever we are
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", PG_USER, "--", *argv]
    su = shutil.which("su")
    if su:
        return [su, PG_USER, "-s", "/bin/sh", "-c", shlex.join(argv)]
    raise RuntimeError("running as root, but neither runuser nor su exists to drop to postgres")


def _run(
    argv: Sequence[str], *, cwd: Path, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    env.pop("PGDATA", None)
    return subprocess.run(
        _as_postgres(argv),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresServer:
    """One running throw-away PostgreSQL cluster."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.host = HOST
        self.user = PG_USER
        self.port = 0
        self.base = Path(tempfile.mkdtemp(prefix="denex-pg-", dir="/tmp"))
        self.datadir = self.base / "data"
        self.socket_dir = self.base
        self.log_path = self.base / "server.log"
        self.started = False
        self.startup_seconds = 0.0
        if os.geteuid() == 0:
            os.chown(self.base, *_pg_ids())

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        began = time.monotonic()
        self._initdb()
        failures: list[str] = []
        for _ in range(START_ATTEMPTS):
            self.port = _free_port()
            result = _run(
                [
                    self.bindir / "pg_ctl",
                    "start",
                    "-w",
                    "-t",
                    str(int(READY_TIMEOUT)),
                    "-D",
                    self.datadir,
                    "-l",
                    self.log_path,
                    "-o",
                    self._server_options(),
                ],
                cwd=self.base,
                timeout=READY_TIMEOUT + 30,
            )
            if result.returncode == 0:
                self.started = True
                break
            failures.append(f"port {self.port}: {result.stdout}{result.stderr}")
            self._stop_quietly()  # in case it half-started
        else:
            raise RuntimeError(
                "could not start PostgreSQL:\n" + "\n".join(failures) + "\n" + self.server_log()
            )
        self._wait_ready(began + READY_TIMEOUT)
        self.startup_seconds = time.monotonic() - began

    def _initdb(self) -> None:
        result = _run(
            [
                self.bindir / "initdb",
                "-D",
                self.datadir,
                "-A",
                "trust",
                "-U",
                PG_USER,
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            cwd=self.base,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"initdb failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )

    def _server_options(self) -> str:
        options = {
            "listen_addresses": HOST,
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "300",
            "log_min_messages": "warning",
        }
        return " ".join(f"-c {key}={shlex.quote(value)}" for key, value in options.items())

    def _wait_ready(self, deadline: float) -> None:
        last: BaseException | None = None
        while time.monotonic() < deadline:
            try:
                self.execute("SELECT 1")
                return
            except Exception as exc:  # not accepting connections yet
                last = exc
                time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL did not become ready: {last!r}\n{self.server_log()}")

    def stop(self) -> None:
        if self.started:
            self._stop_quietly()
            self.started = False
        shutil.rmtree(self.base, ignore_errors=True)

    def _stop_quietly(self) -> None:
        if (self.datadir / "postmaster.pid").exists():
            _run(
                [self.bindir / "pg_ctl", "stop", "-w", "-m", "fast", "-D", self.datadir],
                cwd=self.base,
            )

    def server_log(self) -> str:
        try:
            return "--- server log ---\n" + self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"

    # --- use --------------------------------------------------------------------------------

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL (asyncpg driver) of database `dbname` on this server."""
        return f"postgresql+asyncpg://{self.user}@{self.host}:{self.port}/{dbname}"

    def dsn(self, dbname: str = "postgres") -> str:
        """libpq / asyncpg DSN of database `dbname` on this server."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def execute(self, sql: str, dbname: str = "postgres") -> None:
        """Run one statement (outside a transaction), synchronously, from any context."""

        async def run() -> None:
            import asyncpg

            conn = await asyncpg.connect(self.dsn(dbname), timeout=10)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        # A worker thread has no running event loop, so this works even when called
        # while the caller's loop is running.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, run()).result(timeout=60)

    def create_database(self, name: str) -> str:
        """Create database `name`; return its URL."""
        self.execute(f"CREATE DATABASE {_quote_ident(name)}")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.execute(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)")


def _pg_ids() -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam(PG_USER)
    return entry.pw_uid, entry.pw_gid


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = find_bindir()
    if bindir is None:
        pytest.skip(
            "!!! NO POSTGRESQL BINARIES (initdb, pg_ctl, postgres) ON PATH OR IN "
            "/usr/lib/postgresql/*/bin: POSTGRESQL TESTS DID NOT RUN !!!"
        )
    server = PostgresServer(bindir)
    atexit.register(server.stop)  # in case the session dies before teardown
    try:
        server.start()
        yield server
    finally:
        server.stop()
        with contextlib.suppress(Exception):
            atexit.unregister(server.stop)


def _database_name(request: pytest.FixtureRequest) -> str:
    stem = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower()).strip("_")[:40]
    return f"t_{stem}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> str:
    """URL of a fresh database, created for this test alone."""
    return postgres_server.create_database(_database_name(request))
