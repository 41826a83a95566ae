"""Every misuse of the installed `denex` script ends in a few known lines, never a traceback
(DESIGN §10, decision 0021).

Usage errors: the usage line, "Try '... --help' for help." and "Error: ...", exit 2. A group
without its command: its help on stderr, exit 2. A bad setting, an unreachable database or
any unexpected failure: one line `denex: error: ...`, exit 1; `--debug` adds the traceback.
Each case is one process start; they run side by side in one module-scoped fixture.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.system.conftest import DENEX, NodeDir, copy_node, denex

pytestmark = pytest.mark.system

SECRET = "pg-secret-word"  # the password of the unreachable database: never printed
UNREACHABLE = f"postgresql+asyncpg://denex:{SECRET}@127.0.0.1:1/denex"  # port 1: refused


@dataclass(frozen=True)
class Case:
    """`denex ARGS` with these extra variables; what it must print and exit with."""

    args: tuple[str, ...]
    code: int
    stderr_lines: int | None  # None: more than three (a help text)
    first: str  # the first stderr line starts with this (or stdout's, when stderr is empty)
    mentions: tuple[str, ...] = ()  # the last stderr line (a help text, stdout) contains each
    env: dict[str, str] = field(default_factory=dict)
    on_data_dir: bool = False  # add --data-dir of the module's node
    on_broken: bool = False  # ... of its copy with a row SQLAlchemy cannot read
    traceback: bool = False  # --debug: the traceback comes before the line
    stdout: str | None = None  # exactly this on stdout


def usage(args: tuple[str, ...], command: str, error: str) -> Case:
    return Case(args, 2, 3, f"Usage: denex {command}", (error,))


def failure(*args: str, mentions: tuple[str, ...], **fields: object) -> Case:
    return Case(args, 1, 1, "denex: error: ", mentions, **fields)  # type: ignore[arg-type]


CASES = {
    # usage errors
    "version": Case(("--version",), 0, 0, "denex ", stdout=f"denex {version('denex')}\n"),
    "init-without-options": usage(("init",), "init [OPTIONS]", "Missing option '--node-id'"),
    "port-not-a-number": usage(("serve", "--port", "abc"), "serve [OPTIONS]", "'--port'"),
    "unknown-command": usage(("bogus",), "[OPTIONS] COMMAND", "No such command 'bogus'"),
    "unknown-option": usage(
        ("token", "list", "--bogus"), "token list [OPTIONS]", "No such option: --bogus"
    ),
    "unknown-global-option": usage(("--bogus", "init"), "[OPTIONS] COMMAND", "--bogus"),
    "debug-without-command": usage(("--debug",), "[OPTIONS] COMMAND", "Missing command"),
    # help
    "group-without-command": Case(("token",), 2, None, "Usage: denex token", ("revoke",)),
    "no-command-at-all": Case((), 2, None, "Usage: denex [OPTIONS] COMMAND", ("verify-log",)),
    "help": Case(("token", "--help"), 0, 0, "Usage: denex token", ("revoke",)),
    # failures: one line
    "rule-profile-unreadable": failure(
        "token", "list",
        mentions=("DENEX_RULE_PROFILE", "cannot read the rule profile"),
        env={"DENEX_RULE_PROFILE": "/nonexistent/rules.json"}, on_data_dir=True,
    ),
    "retired-per-regime-variable": failure(
        "token", "list",
        mentions=("DENEX_REPLY_DAYS", "no longer read"),
        env={"DENEX_REPLY_DAYS": '{"NSG": 14}'}, on_data_dir=True,
    ),
    "database-url-unknown-scheme": failure(
        "token", "list",
        mentions=("DENEX_DATABASE_URL", "postgresql+asyncpg://", "not foo://"),
        env={"DENEX_DATABASE_URL": "foo://"}, on_data_dir=True,
    ),
    "sync-interval-not-a-number": failure(
        "token", "list",
        mentions=("DENEX_SYNC_INTERVAL", "valid number"),
        env={"DENEX_SYNC_INTERVAL": "abc"}, on_data_dir=True,
    ),
    "postgres-unreachable": failure(
        "token", "list",
        mentions=("cannot connect to the database", "127.0.0.1:1", "Connect call failed"),
        env={"DENEX_DATABASE_URL": UNREACHABLE}, on_data_dir=True,
    ),
    "unexpected-failure": failure(
        "token", "list",
        mentions=("unexpected ValueError", "garbage", "denex --debug"), on_broken=True,
    ),
    "unexpected-failure-with-debug": Case(
        ("--debug", "token", "list"), 1, None, "Traceback (most recent call last):",
        ("denex: error: unexpected ValueError", "garbage"), on_broken=True, traceback=True,
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def outcomes(
    node_template: NodeDir, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every case run once, four at a time (cheap process starts, ~1 s each)."""
    node = copy_node(node_template, tmp_path_factory.mktemp("errors") / "node")
    broken = copy_node(node_template, tmp_path_factory.mktemp("broken") / "node")
    with contextlib.closing(sqlite3.connect(broken.data_dir / "node.db")) as conn:
        conn.execute("UPDATE tokens SET created_at = 'garbage'")  # hand-edited, say
        conn.commit()

    def run(case: Case) -> subprocess.CompletedProcess[str]:
        args: list[str | Path] = list(case.args)
        if case.on_data_dir or case.on_broken:
            args += ["--data-dir", (broken if case.on_broken else node).data_dir]
        return denex(*args, env={**node.env, **case.env})

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(run, case) for name, case in CASES.items()}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("name", CASES)
def test_each_misuse_ends_in_known_lines_and_exit_code(
    outcomes: dict[str, subprocess.CompletedProcess[str]], name: str
) -> None:
    case, result = CASES[name], outcomes[name]
    shown = f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode == case.code, shown
    assert ("Traceback" in result.stderr) == case.traceback, shown
    lines = result.stderr.splitlines()
    if case.stderr_lines is None:
        assert len(lines) > 3, shown
    else:
        assert len(lines) == case.stderr_lines, shown
    if lines:
        assert lines[0].startswith(case.first), shown
        told = lines[-1] if case.stderr_lines is not None else result.stderr
        assert all(mention in told for mention in case.mentions), shown
        assert result.stdout == "", "a failure prints nothing on stdout\n" + shown
    else:
        assert result.stdout.startswith(case.first), shown
        assert all(mention in result.stdout for mention in case.mentions), shown
    if case.stdout is not None:
        assert result.stdout == case.stdout, shown
    assert SECRET not in result.stdout + result.stderr


def test_ctrl_c_exits_130_quietly(node_template: NodeDir) -> None:
    """SIGINT while a command waits (here for a card on stdin): exit 130, nothing printed."""
    # A suite started in the background of a script has SIGINT ignored, and a program keeps
    # an ignored SIGINT ignored: the command must start with SIGINT at its default however
    # the suite was started. A handler here (not SIG_IGN) is reset to the default by exec.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(
            [str(DENEX), "peer", "add", "-", "--yes", "--data-dir", str(node_template.data_dir)],
            env=node_template.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    with process:
        try:
            wait_until(lambda: reading_stdin(process.pid), timeout=30.0)
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)  # stdin stays open: the signal, not an end of file, stops it
            assert process.stdout is not None and process.stderr is not None
            out, err = process.stdout.read(), process.stderr.read()
        finally:
            if process.poll() is None:
                process.kill()
    assert (process.returncode, out, err) == (130, b"", b"")


def reading_stdin(pid: int) -> bool:
    """The process is blocked reading fd 0 (x86-64 and arm64 syscall numbers of read), or,
    where /proc does not show system calls, waits in a pipe read."""
    proc = Path(f"/proc/{pid}")
    with contextlib.suppress(OSError, ValueError):
        number, fd, *_rest = (proc / "syscall").read_text().split()
        return (number, fd) in {("0", "0x0"), ("63", "0x0")}
    with contextlib.suppress(OSError):
        return (proc / "wchan").read_text().endswith("pipe_read")
    return False


def wait_until(condition: Callable[[], bool], *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the process never started to read its stdin"
        time.sleep(0.05)
