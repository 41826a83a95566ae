"""Helpers for system tests: the real `denex` console script, run as separate processes.

* `denex(*args, env=...)` runs one command to completion (stdin closed, output captured).
* `clean_env(**vars)` is os.environ without any DENEX_* variable, plus exactly what a test sets.
* Starting, waiting for and stopping `denex serve` is `service.harness`, shared with
  `denex demo` and `bench/`.
* `init_node(data_dir, ...)` runs `denex init` and returns the node's directory, environment
  and first admin token.
* `node_template` / `pg_node_template` (session) are one node each, on SQLite and on
  PostgreSQL, made by `denex init` plus `denex token create --role officer`;
  `make_node_copy(backend)` and `fresh_node` copy them for a test (the data dir with its key
  files, and the database: a file copy, or CREATE DATABASE ... TEMPLATE). This saves two CLI
  start-ups (~4 s) per node on a 2-core machine; each copy is exactly what `denex init` wrote.
* `served_node(...)` starts `denex serve` on 127.0.0.1 and a free port, waits for /healthz and
  returns a `ServedNode`; at teardown it sends SIGTERM and checks a clean exit. Its
  `client()` addresses the node by its published URL (the card's `url`, what peers sign their
  requests for) and connects to 127.0.0.1, as DNS would.

Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import pytest

from service import harness
from service.harness import HOST, Addressed, clean_env, free_port
from tests.postgres import PostgresServer

DENEX = Path(sys.executable).with_name("denex")
PASSPHRASE = "system-test passphrase"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
COMMAND_TIMEOUT = 120.0


def node_env(
    *,
    passphrase: str | None = PASSPHRASE,
    database_url: str | None = None,
    insecure_keys: bool = False,
    **extra: str | None,
) -> dict[str, str]:
    return clean_env(
        DENEX_KEY_PASSPHRASE=passphrase,
        DENEX_DATABASE_URL=database_url,
        DENEX_INSECURE_DEV_KEYS="1" if insecure_keys else None,
        **extra,
    )


def denex(
    *args: str | Path, env: dict[str, str], timeout: float = COMMAND_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run `denex ARGS...` to completion; output captured as text."""
    return subprocess.run(
        [str(DENEX), *(str(a) for a in args)],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """Assert that a command succeeded, showing its output if not."""
    assert result.returncode == 0, (
        f"{result.args} exited {result.returncode}\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return result


def assert_one_line_error(result: subprocess.CompletedProcess[str], *, prefix: str = "") -> str:
    """A failed command: non-zero exit, exactly one stderr line, no traceback. Returns it."""
    assert result.returncode != 0, f"expected failure, got 0\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{result.stderr}"
    assert lines[0].startswith(prefix), lines[0]
    return lines[0]


def plain_url(database_url: str) -> str:
    """asyncpg/libpq DSN from a SQLAlchemy `postgresql+asyncpg://` URL."""
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


# --- initialised nodes -----------------------------------------------------------------------


@dataclass
class NodeDir:
    """An initialised node: its data dir, the environment to run it with, its tokens."""

    data_dir: Path
    env: dict[str, str]
    database_url: str | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    url: str | None = None  # its published URL (the card's), as `denex init --url` set it

    def run(
        self, *args: str | Path, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return denex(*args, "--data-dir", self.data_dir, env=env or self.env)

    def create_token(self, role: str, name: str | None = None) -> str:
        result = ok(self.run("token", "create", "--role", role, "--name", name or f"sys-{role}"))
        token = result.stdout.strip()
        self.tokens.setdefault(role, token)
        return token


def init_node(
    data_dir: Path,
    *,
    node_id: str = "de-bafa",
    country: str = "DE",
    env: dict[str, str] | None = None,
    database_url: str | None = None,
    url: str | None = None,
) -> NodeDir:
    """`denex init` a node into `data_dir` (passphrase-encrypted keys unless `env` says so)."""
    env = env or node_env(database_url=database_url)
    result = ok(
        denex(
            "init",
            "--data-dir", data_dir,
            "--node-id", node_id,
            "--country", country,
            "--name", f"System test authority {node_id}",
            "--url", url or f"https://{node_id}.denex.example",
            "--federation", "denex.system.test",
            env=env,
        )
    )  # fmt: skip
    token = result.stdout.strip()
    assert len(result.stdout.splitlines()) == 1 and token.startswith("dnx_"), result.stdout
    published = url or f"https://{node_id}.denex.example"
    return NodeDir(data_dir, env, database_url, {"admin": token}, published)


@pytest.fixture(scope="session")
def node_template(tmp_path_factory: pytest.TempPathFactory) -> NodeDir:
    """One SQLite node made by `denex init` and `denex token create --role officer`. Read-only:
    use `fresh_node` or `copy_node` for a copy that a test may change."""
    node = init_node(tmp_path_factory.mktemp("template") / "node")
    node.create_token("officer")
    return node


@pytest.fixture(scope="session")
def pg_node_template(
    postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> NodeDir:
    """The same on PostgreSQL: `denex init` into a template database (copied per test with
    CREATE DATABASE ... TEMPLATE) and a data dir holding the keys."""
    url = postgres_server.create_database(f"sys_template_{uuid.uuid4().hex[:8]}")
    node = init_node(tmp_path_factory.mktemp("pg-template") / "node", database_url=url)
    node.create_token("officer")
    return node


def copy_node(
    template: NodeDir, data_dir: Path, postgres_server: PostgresServer | None = None
) -> NodeDir:
    """Copy a stopped node: its data dir (file modes kept) and, on PostgreSQL, its database."""
    shutil.copytree(template.data_dir, data_dir)
    if template.database_url is None:
        return NodeDir(data_dir, dict(template.env), None, dict(template.tokens), template.url)
    assert postgres_server is not None
    source = template.database_url.rsplit("/", 1)[1]
    name = f"sys_{uuid.uuid4().hex[:12]}"
    for attempt in range(50):  # the template's last client may still be disconnecting
        try:
            postgres_server.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
            break
        except Exception as exc:
            if "being accessed by other users" not in str(exc) or attempt == 49:
                raise
            time.sleep(0.1)
    url = postgres_server.url(name)
    env = {**template.env, "DENEX_DATABASE_URL": url}
    return NodeDir(data_dir, env, url, dict(template.tokens), template.url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Run the test on SQLite and on PostgreSQL."""
    return str(request.param)


@pytest.fixture
def make_node_copy(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], NodeDir]:
    """Factory: `make_node_copy("sqlite" | "postgres")`, a fresh copy of that template node."""
    made = 0

    def _copy(backend: str) -> NodeDir:
        nonlocal made
        made += 1
        if backend == "sqlite":
            return copy_node(request.getfixturevalue("node_template"), tmp_path / f"node{made}")
        return copy_node(
            request.getfixturevalue("pg_node_template"),
            tmp_path / f"node{made}",
            request.getfixturevalue("postgres_server"),
        )

    return _copy


@pytest.fixture
def fresh_node(make_node_copy: Callable[[str], NodeDir]) -> NodeDir:
    """A copy of the SQLite template node that this test may change."""
    return make_node_copy("sqlite")


# --- served nodes ------------------------------------------------------------------------------


@dataclass
class ServedNode:
    node: NodeDir
    process: subprocess.Popen[bytes]
    base_url: str
    workers: int
    stdout_path: Path
    stderr_path: Path
    _files: list[IO[bytes]] = field(default_factory=list, repr=False)

    @property
    def tokens(self) -> dict[str, str]:
        return self.node.tokens

    def auth(self, role: str = "officer") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def client(self, **kwargs: object) -> httpx.Client:
        """A client of this node: requests name its published URL (so that signatures made
        for it verify) and go to where it is served."""
        if self.node.url is None:
            return httpx.Client(base_url=self.base_url, timeout=60.0, **kwargs)  # type: ignore[arg-type]
        return httpx.Client(
            base_url=self.node.url,
            transport=Addressed(self.base_url),
            timeout=60.0,
            **kwargs,  # type: ignore[arg-type]
        )

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, wait up to `timeout` s (then SIGKILL and fail); return the exit code."""
        code, killed = harness.stop(self.process, timeout=timeout)
        self._close()
        if killed:
            pytest.fail(f"denex serve still alive {timeout} s after SIGTERM; killed")
        return code

    def _close(self) -> None:
        for handle in self._files:
            handle.close()
        self._files.clear()


def clean_exit_codes(workers: int) -> set[int]:
    """DESIGN §10: `denex serve` exits 0 on SIGTERM, with one worker or several."""
    return {0}


def start_serving(
    node: NodeDir,
    out_dir: Path,
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
    ready: bool = False,
) -> ServedNode:
    """Start `denex serve` for `node` and wait until /healthz answers (or fail); with
    `ready`, until /readyz does too (the start-up check of its own log is done, so appends
    are taken)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    last_error = ""
    for attempt in range(3):  # a free port can be taken between probe and bind: retry
        port = free_port()
        stdout_path = out_dir / f"serve-{port}.out"
        stderr_path = out_dir / f"serve-{port}.err"
        out, err = stdout_path.open("wb"), stderr_path.open("wb")
        process = harness.start_serve(
            port=port,
            env=env or node.env,
            stdout=out,
            stderr=err,
            data_dir=node.data_dir,
            workers=workers,
        )
        served = ServedNode(
            node, process, f"http://{HOST}:{port}", workers, stdout_path, stderr_path, [out, err]
        )
        paths = ("/healthz", "/readyz") if ready else ("/healthz",)
        if harness.wait_answering(process, served.base_url, timeout=START_TIMEOUT, paths=paths):
            return served
        served.stop()
        last_error = served.stderr()
        if "address already in use" not in last_error.lower() or attempt == 2:
            break
    pytest.fail(f"denex serve did not become healthy within {START_TIMEOUT} s:\n{last_error}")


ServeFactory = Callable[..., ServedNode]


@pytest.fixture
def served_node(make_node_copy: Callable[[str], NodeDir], tmp_path: Path) -> Iterator[ServeFactory]:
    """Factory: `served_node(backend="sqlite" | "postgres", workers=1, node=None)`.

    Without `node`: a fresh copy of the template node of that backend (made by `denex init`
    and `denex token create --role officer`). Then `denex serve` on 127.0.0.1. Teardown:
    SIGTERM, wait (SIGKILL and fail after 20 s), clean exit, no traceback on stderr.
    """
    started: list[ServedNode] = []

    def _serve(
        *, backend: str = "sqlite", workers: int = 1, node: NodeDir | None = None
    ) -> ServedNode:
        node = node or make_node_copy(backend)
        served = start_serving(node, tmp_path / f"serve{len(started)}", workers=workers)
        started.append(served)
        return served

    yield _serve

    problems = []
    for served in started:
        code = served.stop()
        stderr = served.stderr()
        if code not in clean_exit_codes(served.workers):
            problems.append(f"{served.base_url}: exit {code} after SIGTERM\n{stderr}")
        elif "Traceback" in stderr:
            problems.append(f"{served.base_url}: traceback on stderr\n{stderr}")
    assert not problems, "\n".join(problems)
