"""The demo's nodes as processes: each `denex` command run at every node at once, the
servers started, watched and stopped (`service.harness`), and what the nodes hold read from
their API and metrics."""

import re
import shlex
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from service import harness
from service.demo.script import AUTHORITIES, DEMO_ENV, Authority

HOST = harness.HOST
COMMAND_TIMEOUT = 120.0
START_TIMEOUT = 60.0
SYNC_TIMEOUT = 90.0
STOP_TIMEOUT = 20.0
QUIET_PERIOD = 2.5  # logs unchanged this long (more than a sync tick) count as settled

_LOG_ENTRIES = re.compile(r'^denex_log_entries\{origin="([^"]+)"\} ([0-9.e+]+)$', re.MULTILINE)


class DemoFailed(Exception):
    """A step of the demo failed; the message says which and why (one line)."""


def show(line: str = "") -> None:
    print(line, flush=True)


@dataclass
class Member:
    authority: Authority
    port: int
    tokens: dict[str, str] = field(default_factory=dict)
    process: "subprocess.Popen[bytes] | None" = None

    @property
    def node_id(self) -> str:
        return self.authority.node_id

    @property
    def data_dir(self) -> str:
        return self.node_id  # relative to the demo directory, where every command runs

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


@dataclass
class Command:
    member: Member
    args: list[str]
    stdout_to: str | None = None  # `> FILE`, relative to the demo directory


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


class Nodes:
    """The three demo nodes, in `root`, and every process started for them."""

    def __init__(self, root: Path, ports: list[int], notices: int) -> None:
        self.root = root
        self.members = [Member(a, p) for a, p in zip(AUTHORITIES, ports, strict=True)]
        self.notices = notices
        self.env = harness.clean_env(**DEMO_ENV)
        self.denex = harness.denex_command()
        self.in_flight: list[subprocess.Popen[str]] = []
        self.published: dict[str, int] = {}
        self.first_notice: dict[str, str] = {}  # node id -> its first notice's id
        self.overdue = ""  # the id of the third node's EU denial past its review date

    # -- keeping it running, and stopping

    def wait_until_interrupted(self) -> None:
        show()
        show("Ctrl-C stops the three nodes.")
        while True:
            self.check_serving()
            time.sleep(0.5)

    def stop(self) -> None:
        """SIGTERM every process this demo started, then wait for each (SIGKILL if it hangs)."""
        processes: list[subprocess.Popen[Any]] = [*self.in_flight]
        processes += [m.process for m in self.members if m.process is not None]
        harness.stop_all(processes, timeout=STOP_TIMEOUT)
        self.in_flight = []
        for member in self.members:
            if member.process is not None:
                code = member.process.returncode
                show(f"  stopped {member.node_id} (pid {member.process.pid}, exit {code})")
                member.process = None

    # -- helpers

    @property
    def node_ids(self) -> list[str]:
        return [m.node_id for m in self.members]

    def after(self, index: int, shift: int) -> Member:
        return self.members[(index + shift) % len(self.members)]

    def step(self, number: int, title: str) -> None:
        show()
        show(f"{number}. {title}")

    def auth(self, member: Member) -> dict[str, str]:
        return {"Authorization": f"Bearer {member.tokens['officer']}"}

    def run_each(
        self, commands: list[Command], *, check: bool = True, echo: bool = True
    ) -> list["subprocess.CompletedProcess[str]"]:
        """Run one command per node at the same time (each node's commands stay in order)."""
        for command in commands:
            if echo:
                redirect = f" > {command.stdout_to}" if command.stdout_to else ""
                show(f"  $ denex {shlex.join(command.args)}{redirect}")
        self.in_flight = []
        for command in commands:  # each in a session of its own, like the servers
            self.in_flight.append(
                subprocess.Popen(
                    [*self.denex, *command.args],
                    cwd=self.root,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    start_new_session=True,
                )
            )
        results = []
        for command, process in zip(commands, self.in_flight, strict=True):
            try:
                out, err = process.communicate(timeout=COMMAND_TIMEOUT)
            except subprocess.TimeoutExpired as exc:
                raise DemoFailed(
                    f"`denex {command.args[0]}` at {command.member.node_id} took over "
                    f"{COMMAND_TIMEOUT:.0f} s"
                ) from exc
            results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
        self.in_flight = []
        for command, result in zip(commands, results, strict=True):
            if check and result.returncode != 0:
                raise DemoFailed(
                    f"`denex {shlex.join(command.args)}` failed: {_last_line(result.stderr)}"
                )
            if command.stdout_to:
                (self.root / command.stdout_to).write_text(result.stdout)
        return results

    def check_serving(self) -> None:
        for member in self.members:
            code = member.process.poll() if member.process is not None else None
            if code is not None:
                how = f"killed by signal {-code}" if code < 0 else f"exit {code}"
                log = self.root / member.node_id / "serve.log"
                raise DemoFailed(f"{member.node_id} stopped unexpectedly ({how}); see {log}")

    def serve_log_tail(self, member: Member) -> str:
        log = self.root / member.node_id / "serve.log"
        return _last_line(log.read_text(errors="replace")) if log.exists() else "(no log)"

    def wait_healthy(self, member: Member) -> None:
        if member.process is None:
            raise DemoFailed(f"{member.node_id} was not started")
        if harness.wait_answering(member.process, member.url, timeout=START_TIMEOUT):
            return
        if member.process.poll() is not None:
            raise DemoFailed(
                f"{member.node_id} stopped while starting: {self.serve_log_tail(member)}"
            )
        raise DemoFailed(
            f"{member.node_id} did not answer on {member.url} within {START_TIMEOUT} s"
        )

    def log_sizes(self, client: httpx.Client) -> dict[str, dict[str, int]]:
        """Entries each node holds per origin, from its public /metrics."""
        sizes = {}
        for member in self.members:
            text = client.get(f"{member.url}/metrics").text
            held = {m.group(1): int(float(m.group(2))) for m in _LOG_ENTRIES.finditer(text)}
            sizes[member.node_id] = {o: held.get(o, 0) for o in self.node_ids}
        return sizes

    def wait_converged(self) -> dict[str, dict[str, int]]:
        """Until every node holds every origin's whole log, unchanged for QUIET_PERIOD."""
        deadline = time.monotonic() + SYNC_TIMEOUT
        settled: tuple[dict[str, dict[str, int]], float] | None = None
        sizes: dict[str, dict[str, int]] = {}
        with httpx.Client(timeout=10.0) as client:
            while time.monotonic() < deadline:
                self.check_serving()
                sizes = self.log_sizes(client)
                if self.converged(sizes):
                    if settled is None or settled[0] != sizes:
                        settled = (sizes, time.monotonic())
                    elif time.monotonic() - settled[1] >= QUIET_PERIOD:
                        return sizes
                else:
                    settled = None
                time.sleep(0.5)
        raise DemoFailed(
            f"the nodes did not converge within {SYNC_TIMEOUT:.0f} s (entries held: {sizes}); "
            f"see */serve.log in {self.root}"
        )

    def converged(self, sizes: dict[str, dict[str, int]]) -> bool:
        for origin in self.node_ids:
            own = sizes[origin][origin]
            if own < 1 + self.published[origin]:
                return False
            if any(sizes[node][origin] != own for node in self.node_ids):
                return False
        return True

    def count(self, client: httpx.Client, member: Member, origin: str) -> int:
        total, cursor = 0, None
        while True:
            params: dict[str, str | int] = {"origin": origin, "limit": 200}
            if cursor:
                params["cursor"] = cursor
            response = client.get(
                f"{member.url}/api/v1/notices", params=params, headers=self.auth(member)
            )
            if response.status_code != 200:
                raise DemoFailed(f"{member.node_id}: GET /api/v1/notices: {response.status_code}")
            page = response.json()
            total += len(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return total
