"""`denex demo`: a federation of three nodes on 127.0.0.1, end to end, for a newcomer to watch.

It runs the commands an operator runs (`denex init`, `token create`, `node card`, `peer add`,
`serve`, `sync`, `verify-log`) as separate processes, each node with its own data dir and
SQLite file; publishes invented surveillance-technology denials through the officers' API;
waits for the nodes to sync; verifies every copy of every log; and keeps the nodes serving
until Ctrl-C. It prints each step as it goes. It owns no logic about logs or notices: what it
shows is what the real commands and the real API answer.
"""

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Annotated, Any

import httpx
import typer

from keys.card import verify_card
from service.cli.common import CliError

HOST = "127.0.0.1"
FEDERATION = "denex.demo"
REGIMES = "WA,EU,HRI"
SYNC_INTERVAL = "2"
DEMO_ENV = {
    "DENEX_INSECURE_DEV_KEYS": "1",  # unencrypted keys: a demo, not a deployment
    "DENEX_INSECURE_DEV_HTTP": "1",  # http:// node URLs on 127.0.0.1
    "DENEX_SYNC_INTERVAL": SYNC_INTERVAL,
}
COMMAND_TIMEOUT = 120.0
START_TIMEOUT = 60.0
SYNC_TIMEOUT = 90.0
STOP_TIMEOUT = 20.0
QUIET_PERIOD = 2.5  # logs unchanged this long (more than a sync tick) count as settled

_LOG_ENTRIES = re.compile(r'^denex_log_entries\{origin="([^"]+)"\} ([0-9.e+]+)$', re.MULTILINE)


# --- the cast: three authorities and their invented denials --------------------------------


@dataclass(frozen=True)
class Authority:
    node_id: str
    country: str
    name: str
    prefix: str  # of its notice references


AUTHORITIES = (
    Authority("de-bafa", "DE", "Germany BAFA (demo)", "BAFA"),
    Authority("fr-sbdu", "FR", "France SBDU (demo)", "SBDU"),
    Authority("nl-cdiu", "NL", "Netherlands CDIU (demo)", "CDIU"),
)


@dataclass(frozen=True)
class Case:
    """One invented denial: real control entries and destinations, fictional end users."""

    control_entry: str
    item: str
    destination: str
    end_user: str
    city: str
    end_use: str
    ground: str
    decision: str = "refusal"


CASES = (
    Case("5.A.1.f", "IMSI catcher, vehicle-mounted (mobile network interception)", "BY",
         "Polesye Signal Systems LLC (fictional)", "Minsk",
         "locating the phones of protesters", "internal-repression"),
    Case("4.A.5", "Command-and-control platform for intrusion software (spyware)", "MM",
         "Golden Delta Cyber Solutions Co. (fictional)", "Naypyidaw",
         "covert access to journalists' smartphones", "human-rights"),
    Case("5.A.1.j", "IP network communications surveillance system with monitoring centre",
         "IR", "Pars Net Observatory Co. (fictional)", "Tehran",
         "nationwide monitoring of internet traffic", "internal-repression"),
    Case("4.D.4", "Intrusion software delivery toolkit (zero-click exploit chain)", "VE",
         "Orinoco Tactical Data C.A. (fictional)", "Caracas",
         "surveillance of opposition politicians", "human-rights"),
    Case("catch-all", "City-wide facial recognition system for CCTV networks", "RU",
         "Volga Smart Vision JSC (fictional)", "Kazan",
         "identifying participants in demonstrations", "human-rights",
         decision="catch_all_requirement"),
    Case("5.A.1.f", "Lawful-interception gateway for a mobile core network", "NI",
         "Lago Azul Telecom Services S.A. (fictional)", "Managua",
         "interception without judicial oversight", "internal-repression"),
)  # fmt: skip


def synthetic_notice(authority: int, number: int, today: date) -> dict[str, Any]:
    """The `number`th invented notice of the `authority`th node (each starts at its own case)."""
    case = CASES[(authority * 2 + number) % len(CASES)]
    decided = today - timedelta(days=9 * number + 3 * authority + 5)
    prefix = AUTHORITIES[authority].prefix
    catch_all = case.control_entry == "catch-all"
    return {
        "reference": f"{prefix}-DEMO-{decided.year}-{number + 1:03d}",
        "decision": case.decision,
        "decided_on": decided.isoformat(),
        "regimes": ["EU", "HRI"] if catch_all else ["WA", "EU", "HRI"],
        "destination": case.destination,
        "items": [{"control_entry": case.control_entry, "description": case.item, "quantity": "1"}],
        "parties": [
            {
                "role": "end_user",
                "name": case.end_user,
                "country": case.destination,
                "address": {"city": case.city},
            }
        ],
        "end_use": f"{case.end_use} (invented for the denex demo)",
        "grounds": [{"code": case.ground, "text": "synthetic demo data: no real decision"}],
    }


# --- running it ------------------------------------------------------------------------------


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


def _denex_executable() -> list[str]:
    """The `denex` console script next to this Python, else a module run of the same CLI."""
    script = Path(sys.executable).with_name("denex")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from service.cli.main import entry; entry()"]


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DENEX_")}
    return {**env, **DEMO_ENV, "PYTHONUNBUFFERED": "1"}


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def _wait_or_kill(process: "subprocess.Popen[Any]") -> None:
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Demo:
    def __init__(self, root: Path, ports: list[int], notices: int) -> None:
        self.root = root
        self.members = [Member(a, p) for a, p in zip(AUTHORITIES, ports, strict=True)]
        self.notices = notices
        self.env = _environment()
        self.denex = _denex_executable()
        self.in_flight: list[subprocess.Popen[str]] = []
        self.published: dict[str, int] = {}

    # -- the eight steps

    def run(self) -> None:
        show(f"denex demo: three nodes in {self.root}")
        show(
            "every command below runs there, with "
            + " ".join(f"{k}={v}" for k, v in DEMO_ENV.items())
        )
        self.init_nodes()
        self.exchange_cards()
        self.start_servers()
        self.publish()
        self.sync()
        self.verify()
        self.screen()
        self.explore()

    def init_nodes(self) -> None:
        self.step(1, "Initialise three nodes: keys, a SQLite database and entry 0 of each log")
        results = self.run_each(
            [
                Command(m, ["init", "--data-dir", m.data_dir, "--node-id", m.node_id,
                            "--country", m.authority.country, "--name", m.authority.name,
                            "--url", m.url, "--federation", FEDERATION, "--regimes", REGIMES])
                for m in self.members
            ]
        )  # fmt: skip
        for member, result in zip(self.members, results, strict=True):
            member.tokens["admin"] = _last_line(result.stdout)
        results = self.run_each(
            [
                Command(m, ["token", "create", "--role", "officer", "--name", "demo-officer",
                            "--data-dir", m.data_dir])
                for m in self.members
            ]
        )  # fmt: skip
        for member, result in zip(self.members, results, strict=True):
            member.tokens["officer"] = _last_line(result.stdout)
        show("  each node printed its first admin token; each admin made an officer token")

    def exchange_cards(self) -> None:
        self.step(2, "Exchange node cards: each admin adds the other two nodes as peers")
        self.run_each(
            [
                Command(m, ["node", "card", "--data-dir", m.data_dir], f"{m.node_id}.card.json")
                for m in self.members
            ]
        )
        for member in self.members:
            card = verify_card((self.root / f"{member.node_id}.card.json").read_bytes().strip())
            show(f"  {member.node_id} root key fingerprint: {card.fingerprint}")
        show("  (partners compare fingerprints out of band, then add the card)")
        for shift in (1, 2):
            self.run_each(
                [
                    Command(m, ["peer", "add", f"{self.after(i, shift).node_id}.card.json",
                                "--yes", "--data-dir", m.data_dir])
                    for i, m in enumerate(self.members)
                ]
            )  # fmt: skip
        show("  every node now has the other two in its roster")

    def start_servers(self) -> None:
        self.step(3, f"Start the three servers (each syncs with its peers every {SYNC_INTERVAL} s)")
        for member in self.members:
            port = str(member.port)
            args = ["serve", "--data-dir", member.data_dir, "--host", HOST, "--port", port]
            show(f"  $ denex {shlex.join(args)} > {member.node_id}/serve.log 2>&1 &")
            with (self.root / member.node_id / "serve.log").open("wb") as log:
                member.process = self.spawn(args, log)
        for member in self.members:
            self.wait_healthy(member)
            pid = member.process.pid if member.process else 0
            show(f"  {member.node_id} serving on {member.url} (pid {pid})")

    def publish(self) -> None:
        self.step(4, "Each officer publishes invented denials of surveillance technology")
        show("  POST /api/v1/notices with the officer's token (Authorization: Bearer dnx_...)")
        today = date.today()
        with httpx.Client(timeout=30.0) as client:
            for index, member in enumerate(self.members):
                for number in range(self.notices):
                    body = synthetic_notice(index, number, today)
                    response = client.post(
                        f"{member.url}/api/v1/notices", json=body, headers=self.auth(member)
                    )
                    if response.status_code != 201:
                        raise CliError(
                            f"{member.node_id} refused {body['reference']}: "
                            f"HTTP {response.status_code} {response.text[:300]}"
                        )
                    seq = response.json()["versions"][-1]["seq"]
                    item, party = body["items"][0], body["parties"][0]
                    show(
                        f"  {member.node_id} seq {seq}: {body['reference']} "
                        f"{body['decision']}, {item['control_entry']} {item['description']}, "
                        f"to {party['name']}, {body['destination']}"
                    )
                self.published[member.node_id] = self.notices

    def sync(self) -> None:
        self.step(5, "Sync: every node pulls, verifies and stores its peers' logs")
        show(
            "  the serve loops pull every few seconds and at once when a peer hints news; "
            "waiting until all nodes hold the same copy of every log"
        )
        sizes = self.wait_converged()
        for member in self.members:
            held = ", ".join(f"{o} {sizes[member.node_id][o]}" for o in self.node_ids)
            show(f"  {member.node_id} holds: {held} entries")
        show("  one round by hand at every node, as an operator runs it (sync is idempotent):")
        results = self.run_each(
            [Command(m, ["sync", "--data-dir", m.data_dir]) for m in self.members], check=False
        )
        for member, result in zip(self.members, results, strict=True):
            for line in result.stderr.splitlines():
                if line.strip() and not line.endswith(" ok"):  # the summary, and any problem
                    show(f"    at {member.node_id}: {line}")
            if result.returncode != 0:
                show(f"    ({member.node_id}: see above; step 6 checks what every node stored)")

    def verify(self) -> None:
        self.step(6, "Verify: every node re-verifies its copy of the other two logs")
        for shift in (1, 2):
            commands = [
                Command(m, ["verify-log", "--origin", self.after(i, shift).node_id,
                            "--data-dir", m.data_dir])
                for i, m in enumerate(self.members)
            ]  # fmt: skip
            results = self.run_each(commands, check=False, echo=shift == 1)
            for command, result in zip(commands, results, strict=True):
                origin, node = command.args[2], command.member.node_id
                if result.returncode != 0 or "VERIFIED" not in result.stdout:
                    raise CliError(
                        f"{node} could not verify its copy of {origin}: "
                        f"{_last_line(result.stdout + result.stderr)}"
                    )
                found = re.search(r"^log of \S+: (\d+) entries", result.stdout, re.MULTILINE)
                entries = found.group(1) if found else "?"
                show(
                    f"  {node} verified the log of {origin}: {entries} entries, every signature, "
                    "seq, leaf hash, the tree root and the signed checkpoint"
                )
        show("  notices each node shows through its API (GET /api/v1/notices?origin=...):")
        show("    " + "at \\ origin".ljust(14) + "".join(o.ljust(10) for o in self.node_ids))
        with httpx.Client(timeout=30.0) as client:
            for member in self.members:
                counts = [self.count(client, member, origin) for origin in self.node_ids]
                show("    " + member.node_id.ljust(14) + "".join(str(c).ljust(10) for c in counts))
                for origin, count in zip(self.node_ids, counts, strict=True):
                    if count != self.published[origin]:
                        raise CliError(
                            f"{member.node_id} shows {count} notices of {origin}, "
                            f"not the {self.published[origin]} published"
                        )
        show("  the same notices are visible and verified at every node")

    def screen(self) -> None:
        first, second = self.members[0], self.members[1]
        self.step(
            7,
            f"Screen: an officer at {first.node_id} checks a licence application against "
            "every partner's denials (the no-undercut rule)",
        )
        case = CASES[2 % len(CASES)]  # the first denial of the second node
        words = case.end_user.removesuffix(" (fictional)").split()
        name = " ".join([*words[:-1], "Ltd", "(fictional)"]).upper()  # legal form, case changed
        application = {
            "reference": "DEMO-APPLICATION-1",
            "destination": case.destination,
            "items": [{"control_entry": case.control_entry, "description": case.item}],
            "parties": [{"role": "end_user", "name": name}],
        }
        show(f"  application: {name!r} in {case.destination}, {case.control_entry}")
        with httpx.Client(timeout=30.0) as client:
            answer = client.post(
                f"{first.url}/api/v1/screenings", json=application, headers=self.auth(first)
            )
        if answer.status_code != 201:
            raise CliError(f"screening at {first.node_id} failed: {answer.text[:300]}")
        matches = answer.json()["matches"]
        for match in matches[:3]:
            party = (match["features"].get("parties") or [{}])[0]
            show(
                f"  {match['verdict']:8} {match['score']:.2f}  {match['origin']} notice "
                f"{match['notice_id'][:8]}...: {party.get('notice_name', '?')!r} "
                f"({party.get('via', '?')} {party.get('similarity', 0):.2f}), "
                f"item {match['features']['items'].get('relation')}, destination "
                f"{'same' if match['features']['destination']['match'] else 'different'}"
            )
        if not any(m["origin"] == second.node_id and m["verdict"] == "consult" for m in matches):
            raise CliError(f"the screening did not find {second.node_id}'s denial")
        show(
            f"  {first.node_id} must consult {second.node_id} before approving: "
            "POST /api/v1/consultations (origin and notice_id of the match)"
        )

    def explore(self) -> None:
        self.step(8, "Explore")
        for member in self.members:
            show(f"  {member.node_id}  {member.authority.name}")
            show(f"    {member.url}   API docs: {member.url}/docs")
            show(f"    officer token: {member.tokens['officer']}")
            show(f"    admin token:   {member.tokens['admin']}")
        first, second = self.members[0], self.members[1]
        show("  try:")
        show(
            f"    curl -H 'Authorization: Bearer {first.tokens['officer']}' "
            f"'{first.url}/api/v1/notices?origin={second.node_id}'"
        )
        env = " ".join(f"{k}={v}" for k, v in DEMO_ENV.items())
        show(
            f"    cd {shlex.quote(str(self.root))} && {env} denex peer list --data-dir {first.data_dir}"
        )
        show("  publish at one node and watch the notice reach the others within seconds")

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
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            _wait_or_kill(process)
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

    def spawn(self, args: list[str], log: IO[bytes]) -> "subprocess.Popen[bytes]":
        # A session of its own: Ctrl-C reaches the demo only, which then stops the nodes.
        return subprocess.Popen(
            [*self.denex, *args],
            cwd=self.root,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

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
                raise CliError(
                    f"`denex {command.args[0]}` at {command.member.node_id} took over "
                    f"{COMMAND_TIMEOUT:.0f} s"
                ) from exc
            results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
        self.in_flight = []
        for command, result in zip(commands, results, strict=True):
            if check and result.returncode != 0:
                raise CliError(
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
                raise CliError(f"{member.node_id} stopped unexpectedly ({how}); see {log}")

    def serve_log_tail(self, member: Member) -> str:
        log = self.root / member.node_id / "serve.log"
        return _last_line(log.read_text(errors="replace")) if log.exists() else "(no log)"

    def wait_healthy(self, member: Member) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if member.process is None or member.process.poll() is not None:
                    raise CliError(
                        f"{member.node_id} stopped while starting: {self.serve_log_tail(member)}"
                    )
                try:
                    if client.get(f"{member.url}/healthz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
        raise CliError(f"{member.node_id} did not answer on {member.url} within {START_TIMEOUT} s")

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
        raise CliError(
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
                raise CliError(f"{member.node_id}: GET /api/v1/notices: {response.status_code}")
            page = response.json()
            total += len(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return total


# --- the command -----------------------------------------------------------------------------


def _demo_dir(directory: Path | None) -> Path:
    if directory is None:
        parent = Path("var/demo")
        parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="demo-", dir=parent)).resolve()
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise CliError(f"--dir {directory} is not an empty directory; give a new one")
    directory.mkdir(parents=True, exist_ok=True)
    return directory.resolve()


def _ports(base_port: int | None) -> list[int]:
    """Three ports free on 127.0.0.1: base, base+1, base+2, or any three the system gives."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in AUTHORITIES]
    try:
        for index, sock in enumerate(sockets):
            port = 0 if base_port is None else base_port + index
            try:
                sock.bind((HOST, port))
            except OSError as exc:
                raise CliError(
                    f"port {port} on {HOST} is not free ({exc.strerror}); try another --base-port"
                ) from exc
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def demo(
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="An empty or new directory (default: a new one in var/demo)"),
    ] = None,
    base_port: Annotated[
        int | None,
        typer.Option("--base-port", min=1024, max=65533, help="Ports N, N+1, N+2 (default: free)"),
    ] = None,
    notices: Annotated[int, typer.Option("--notices", min=1, max=50, help="per node")] = 3,
    keep_running: Annotated[
        bool, typer.Option("--keep-running/--no-keep-running", help="serve until Ctrl-C")
    ] = True,
) -> None:
    """A local federation of three nodes with invented notices, synced and verified end to end."""
    ports = _ports(base_port)
    the_demo = Demo(_demo_dir(directory), ports, notices)
    handlers = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    # a closed terminal must not orphan the nodes; Ctrl-C stops them even where the demo was
    # started with SIGINT ignored (a background job of a script inherits that)
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, _interrupt)
    try:
        the_demo.run()
        if keep_running:
            the_demo.wait_until_interrupted()
        else:
            show()
            show("--no-keep-running: stopping the three nodes")
    except KeyboardInterrupt:
        show()
        show("interrupted: stopping the nodes")
    except httpx.HTTPError as exc:
        raise CliError(f"HTTP request to a demo node failed: {exc}") from exc
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this short
        try:
            the_demo.stop()
        finally:
            for signum, handler in handlers.items():
                if handler is not None:
                    signal.signal(signum, handler)
    show(f"the demo's data stays in {the_demo.root}")
