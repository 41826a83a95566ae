"""Helpers for system tests: the real `denex` console script, run as separate processes.

* `denex(*args, env=...)` runs one command to completion (stdin closed, output captured).
* `clean_env(**vars)` is os.environ without any DENEX_* variable, plus exactly what a test sets.
* `init_node(data_dir, ...)` runs `denex init` and returns the node's directory, environment
  and first admin token.
* `node_template` (session) is one SQLite node made by `denex init` plus `denex token create
  --role officer`; `fresh_node` copies it into the test's tmp dir (saves ~4 s of start-up per
  test on a 2-core machine; the copy is byte for byte what `denex init` wrote).
* `served_node(...)` starts `denex serve` on 127.0.0.1 and a free port, waits for /healthz and
  returns a `ServedNode`; at teardown it sends SIGTERM and checks a clean exit.

Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import pytest

DENEX = Path(sys.executable).with_name("denex")
HOST = "127.0.0.1"
PASSPHRASE = "system-test passphrase"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
COMMAND_TIMEOUT = 120.0

# BUG (service/cli/node.py serve): with one worker, uvicorn >= 0.29 re-raises the captured
# SIGTERM after its graceful shutdown, so `denex serve` dies by signal 15 (returncode -15)
# instead of exiting 0 as DESIGN §10 requires. test_serve.py::test_sigterm_exits_zero is the
# strict xfail that pins it; until it is fixed the teardown below tolerates exactly -SIGTERM
# (and nothing else: any other code, or a traceback, still fails the test).
KNOWN_SIGTERM_EXIT_BUG = True


def clean_env(**variables: str | None) -> dict[str, str]:
    """os.environ without any DENEX_* variable, plus `variables` (None values are left out)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DENEX_")}
    env.update({k: v for k, v in variables.items() if v is not None})
    env["PYTHONUNBUFFERED"] = "1"
    return env


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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


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
    return NodeDir(data_dir, env, database_url, {"admin": token})


@pytest.fixture(scope="session")
def node_template(tmp_path_factory: pytest.TempPathFactory) -> NodeDir:
    """One SQLite node made by `denex init` and `denex token create --role officer`; read-only:
    use `fresh_node` or `copy_template` to get a copy a test may change."""
    node = init_node(tmp_path_factory.mktemp("template") / "node")
    node.create_token("officer")
    return node


def copy_node(template: NodeDir, data_dir: Path) -> NodeDir:
    """Copy a (stopped) SQLite node, file modes included."""
    assert template.database_url is None
    shutil.copytree(template.data_dir, data_dir)
    return NodeDir(data_dir, dict(template.env), None, dict(template.tokens))


@pytest.fixture
def fresh_node(node_template: NodeDir, tmp_path: Path) -> NodeDir:
    """A copy of the template node that this test may change."""
    return copy_node(node_template, tmp_path / "node")


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
        return httpx.Client(base_url=self.base_url, timeout=60.0, **kwargs)  # type: ignore[arg-type]

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, wait up to `timeout` s (then SIGKILL and fail); return the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                self._close()
                pytest.fail(f"denex serve still alive {timeout} s after SIGTERM; killed")
        self._close()
        return int(self.process.returncode)

    def _close(self) -> None:
        for handle in self._files:
            handle.close()
        self._files.clear()


def clean_exit_codes(workers: int) -> set[int]:
    codes = {0}
    if KNOWN_SIGTERM_EXIT_BUG and workers == 1:
        codes.add(-signal.SIGTERM)
    return codes


def start_serving(
    node: NodeDir, out_dir: Path, *, workers: int = 1, env: dict[str, str] | None = None
) -> ServedNode:
    """Start `denex serve` for `node` and wait until /healthz answers (or fail)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    last_error = ""
    for attempt in range(3):  # a free port can be taken between probe and bind: retry
        port = free_port()
        stdout_path = out_dir / f"serve-{port}.out"
        stderr_path = out_dir / f"serve-{port}.err"
        out, err = stdout_path.open("wb"), stderr_path.open("wb")
        process = subprocess.Popen(
            [
                str(DENEX), "serve",
                "--data-dir", str(node.data_dir),
                "--host", HOST,
                "--port", str(port),
                "--workers", str(workers),
            ],
            env=env or node.env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )  # fmt: skip
        served = ServedNode(
            node, process, f"http://{HOST}:{port}", workers, stdout_path, stderr_path, [out, err]
        )
        if _wait_healthy(served):
            return served
        served.stop()
        last_error = served.stderr()
        if "address already in use" not in last_error.lower() or attempt == 2:
            break
    pytest.fail(f"denex serve did not become healthy within {START_TIMEOUT} s:\n{last_error}")


def _wait_healthy(served: ServedNode) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    with httpx.Client(base_url=served.base_url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if served.process.poll() is not None:
                return False
            try:
                if client.get("/healthz").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    return False


ServeFactory = Callable[..., ServedNode]


@pytest.fixture
def served_node(node_template: NodeDir, tmp_path: Path) -> Iterator[ServeFactory]:
    """Factory: `served_node(database_url=None, workers=1, node=None)`.

    Without `node`: on SQLite a copy of the template node (made by `denex init` + `denex token
    create --role officer`), on PostgreSQL (`database_url`) a fresh `denex init` into that
    database plus an officer token. Then `denex serve`. Teardown: SIGTERM, wait, clean exit,
    no traceback on stderr.
    """
    started: list[ServedNode] = []

    def _serve(
        *, database_url: str | None = None, workers: int = 1, node: NodeDir | None = None
    ) -> ServedNode:
        n = len(started)
        if node is None:
            if database_url is None:
                node = copy_node(node_template, tmp_path / f"node{n}")
            else:
                node = init_node(tmp_path / f"node{n}", database_url=database_url)
                node.create_token("officer")
        served = start_serving(node, tmp_path / f"serve{n}", workers=workers)
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
