"""Running denex nodes as processes on this machine: the `denex` command, a clean
environment, a free port on 127.0.0.1, `denex serve` started and waited for until it answers,
stopped with SIGTERM (SIGKILL after a timeout), and an HTTP transport that addresses a node by
its published URL. One harness for `denex demo`, `bench/` and `tests/system/`: they differ in
what they run, not in how they start, wait for and stop a node.

Everything listens on 127.0.0.1 only.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import httpx

HOST = "127.0.0.1"
POLL = 0.1  # seconds between probes of a starting node


def denex_command() -> list[str]:
    """The `denex` console script beside this Python (else on PATH), or a run of the same
    CLI by this Python."""
    beside = Path(sys.executable).with_name("denex")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("denex")
    if found:
        return [found]
    return [sys.executable, "-c", "from service.cli.main import entry; entry()"]


def clean_env(**variables: str | None) -> dict[str, str]:
    """This process's environment without any DENEX_* variable, plus `variables` (None values
    are left out), with unbuffered Python output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DENEX_")}
    env.update({k: v for k, v in variables.items() if v is not None})
    env["PYTHONUNBUFFERED"] = "1"
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (another process may take it before
    it is bound: callers retry on "address already in use")."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start_serve(
    *,
    port: int,
    env: dict[str, str],
    stdout: IO[Any] | int | None,
    stderr: IO[Any] | int | None,
    data_dir: Path | str | None = None,
    workers: int | None = None,
    cwd: Path | None = None,
    new_session: bool = False,
) -> "subprocess.Popen[bytes]":
    """`denex serve` on 127.0.0.1:`port` (not waited for: `wait_answering`); in a session of
    its own with `new_session` (a Ctrl-C at the terminal then reaches the caller only, which
    stops it)."""
    args = [*denex_command(), "serve", "--host", HOST, "--port", str(port)]
    if data_dir is not None:
        args += ["--data-dir", str(data_dir)]
    if workers is not None:
        args += ["--workers", str(workers)]
    return subprocess.Popen(
        args,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        start_new_session=new_session,
    )


def wait_answering(
    process: "subprocess.Popen[Any]",
    url: str,
    *,
    timeout: float,
    paths: Sequence[str] = ("/healthz",),
) -> bool:
    """Wait until every one of `paths` at `url` answers 200 (True), or the process exits or
    `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    waiting = list(paths)
    with httpx.Client(base_url=url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            try:
                while waiting and client.get(waiting[0]).status_code == 200:
                    waiting.pop(0)
            except httpx.TransportError:
                pass
            if not waiting:
                return True
            time.sleep(POLL)
    return False


def stop_all(
    processes: Sequence["subprocess.Popen[Any]"], *, timeout: float
) -> list[tuple[int, bool]]:
    """SIGTERM every one still running (once: a second SIGTERM makes uvicorn skip its
    graceful shutdown), then wait for each up to `timeout` seconds, then SIGKILL. For each,
    its exit code and whether it had to be killed."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    ended = []
    for process in processes:
        killed = False
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            killed = True
        ended.append((int(process.returncode), killed))
    return ended


def stop(process: "subprocess.Popen[Any]", *, timeout: float) -> tuple[int, bool]:
    """`stop_all` of one process."""
    [ended] = stop_all([process], timeout=timeout)
    return ended


class Addressed(httpx.HTTPTransport):
    """Sends every request to `address` whatever host its URL names, as DNS would; the
    request (and its Host field) keep the URL they were made and signed for."""

    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = httpx.URL(address)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(
            scheme=self.address.scheme, host=self.address.host, port=self.address.port
        )
        return super().handle_request(request)
