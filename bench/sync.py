"""Sync benchmark: a fresh node pulls 100,000 entries of three origins from a peer, and a
round against ten peers that have nothing new.

    python bench/sync.py [--entries 100000] [--origins 3] [--peers 10] [--noop-rounds 15]
                         [--quick] [--markdown FILE] [--profile] [--keep] [--reuse DIR]

Real processes on 127.0.0.1, SQLite, one federation:

1. Set-up (not in the headline figure): `denex init` of the origins O1..O3, the relay B, the
   fresh node A and `--peers` - 4 extra nodes P1..; cards exchanged with `denex peer add`
   (origins and B know A, so A is in every notice's audience and receives the content; A
   knows all `--peers` others). Each origin bulk-imports its share of `--entries` synthetic
   notices (`denex notice import`); the origins serve, and B pulls all of them with
   `denex sync` (timed as a second figure: three origins serving, B pulling).
2. Measured: with B serving (`denex serve`), `denex sync --peer B` on A, a fresh copy of A's
   data directory -> wall time from process start to exit (start-up, HTTP with RFC 9421
   signatures, verifying every entry, storing entries, tree and derived notice tables);
   entries/s = new entries / wall seconds; A's peak RSS from `wait4` of that process.
3. In the same run, this machine's raw Ed25519 verification rate (~450-byte messages, the
   size of an entry's PAE), with `cryptography` (OpenSSL) and PyNaCl (libsodium), on one core
   and on all cores (a process pool), and `keys.ed25519.verify` itself.
4. No-op round: all `--peers` peers serve; A runs one warm-up `sync_round` (catching up the
   extra peers' own logs), then `--noop-rounds` rounds in this process, each against every
   active peer, each finding nothing to fetch -> median and max milliseconds per round.

Every figure is printed beside its target in one table; `--markdown FILE` appends that table
with the date and the machine to FILE. `--profile` also runs py-spy over a second measured
sync (`denex sync --peer B` from another fresh copy of A) and prints the hotspots.
`--reuse DIR` keeps the set-up in DIR and reuses it when present (for repeated runs).
All data is synthetic.
"""

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.publish import (  # noqa: E402 (after the path set-up)
    Row,
    machine,
    say,
    text_table,
    wait_for_line,
    write_notices,
)
from service import harness  # noqa: E402
from service.harness import denex_command, free_port  # noqa: E402

RATE_TARGET = 15_000.0  # entries/s, A pulling from B end to end
RSS_TARGET_MB = 400.0
SETTLE_SECONDS = 5.0
NOOP_TARGET_MS = 100.0
MESSAGE_BYTES = 450  # an entry's PAE: "DSSEv1", the payload type and a ~400-byte header
FEDERATION = "denex.bench.sync"
ORIGINS = ("de-origin", "fr-origin", "nl-origin", "it-origin", "es-origin")
RELAY, FRESH = "be-relay", "at-fresh"
EXTRA = ("se", "pl", "cz", "pt", "fi", "dk", "ie", "gr", "hu", "ro", "bg", "sk", "si", "lt")
READY = "setup-complete.json"


# ---------------------------------------------------------------------------------------------
# Nodes as processes
# ---------------------------------------------------------------------------------------------


def node_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DENEX_")}
    env.update(
        DENEX_DATA_DIR=str(data_dir),
        DENEX_INSECURE_DEV_KEYS="1",
        DENEX_INSECURE_DEV_HTTP="1",
        DENEX_SYNC_INTERVAL="3600",
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    )
    return env


@dataclass
class Node:
    node_id: str
    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run(self, *args: str) -> str:
        """Run one `denex` command on this node; its stdout, or exit with its stderr."""
        done = subprocess.run(
            [*denex_command(), *args],
            env=node_env(self.data_dir),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            sys.exit(f"{self.node_id}: denex {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout.strip() + done.stderr.strip()

    def init(self) -> None:
        self.run(
            "init",
            "--node-id", self.node_id,
            "--country", self.node_id[:2].upper(),
            "--name", f"Synthetic sync benchmark authority {self.node_id}",
            "--url", self.url,
            "--federation", FEDERATION,
            "--regimes", "WA,EU,HRI",
        )  # fmt: skip


class Servers:
    """`denex serve` processes, stopped (SIGTERM, then a wait) when the block ends."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, nodes: list[Node]) -> None:
        """Start them, and wait until each is ready and has loaded its screening index (CPU
        on its loop for seconds at 100,000 notices: a steady-state peer is measured)."""
        marks = {}
        for node in nodes:
            path = self.logs / f"{node.node_id}.serve.log"
            marks[node.node_id] = path.stat().st_size if path.exists() else 0
            log = path.open("ab")
            self.running[node.node_id] = harness.start_serve(
                port=node.port, env=node_env(node.data_dir), stdout=log, stderr=subprocess.STDOUT
            )
            log.close()
        for node in nodes:
            self._wait_ready(node)
        for node in nodes:
            wait_for_line(
                self.logs / f"{node.node_id}.serve.log",
                "screening index loaded",
                timeout=600,
                after=marks[node.node_id],
            )

    def _wait_ready(self, node: Node) -> None:
        process = self.running[node.node_id]
        if not harness.wait_answering(process, node.url, timeout=60, paths=("/readyz",)):
            log = (self.logs / f"{node.node_id}.serve.log").read_text()
            sys.exit(f"denex serve of {node.node_id} not ready after 60 s:\n{log}")

    def stop(self) -> None:
        harness.stop_all(list(self.running.values()), timeout=30)
        self.running.clear()

    def __enter__(self) -> "Servers":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Federation:
    origins: list[Node]
    relay: Node
    fresh: Node  # A's data directory right after set-up: copied before every measured sync
    extra: list[Node]
    shares: list[int]

    @property
    def peers_of_fresh(self) -> list[Node]:
        return [*self.origins, self.relay, *self.extra]

    def to_json(self) -> dict[str, Any]:
        def one(n: Node) -> list[Any]:
            return [n.node_id, str(n.data_dir), n.port]

        return {
            "origins": [one(n) for n in self.origins],
            "relay": one(self.relay),
            "fresh": one(self.fresh),
            "extra": [one(n) for n in self.extra],
            "shares": self.shares,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "Federation":
        def node(item: list[Any]) -> Node:
            return Node(item[0], Path(item[1]), int(item[2]))

        return cls(
            [node(n) for n in doc["origins"]],
            node(doc["relay"]),
            node(doc["fresh"]),
            [node(n) for n in doc["extra"]],
            list(doc["shares"]),
        )


def _parallel(calls: list[Callable[[], object]], workers: int = 2) -> None:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(call) for call in calls]:
            future.result()


def set_up(work: Path, entries: int, origins: int, peers: int) -> tuple[Federation, float]:
    """Nodes, cards, imports and B's pull. Returns the federation and B's pull in seconds."""
    shares = [entries // origins + (1 if n < entries % origins else 0) for n in range(origins)]
    fed = Federation(
        origins=[Node(ORIGINS[n], work / ORIGINS[n], free_port()) for n in range(origins)],
        relay=Node(RELAY, work / RELAY, free_port()),
        fresh=Node(FRESH, work / FRESH, free_port()),
        extra=[
            Node(f"{EXTRA[n]}-extra", work / f"{EXTRA[n]}-extra", free_port())
            for n in range(max(0, peers - origins - 1))
        ],
        shares=shares,
    )
    everyone = [*fed.peers_of_fresh, fed.fresh]
    say(f"set-up: denex init of {len(everyone)} nodes")
    _parallel([node.init for node in everyone])
    cards = {}
    for node in everyone:
        path = work / f"{node.node_id}.card.json"
        path.write_text(node.run("node", "card"))
        cards[node.node_id] = path

    def add(node: Node, others: list[Node]) -> Callable[[], object]:
        def call() -> None:
            for other in others:
                node.run("peer", "add", str(cards[other.node_id]), "--yes")

        return call

    say("set-up: exchanging cards (denex peer add)")
    _parallel(
        [
            *(add(o, [fed.relay, fed.fresh]) for o in fed.origins),
            add(fed.relay, [*fed.origins, fed.fresh]),
            add(fed.fresh, fed.peers_of_fresh),
            *(add(p, [fed.fresh]) for p in fed.extra),
        ]
    )
    for number, (origin, share) in enumerate(zip(fed.origins, shares, strict=True)):
        file = work / f"{origin.node_id}.jsonl"
        write_notices(file, share, seed=20261128 + number)
        say(f"set-up: {origin.node_id} imports {share:,} notices")
        origin.run("notice", "import", str(file))
        file.unlink()
    with Servers(work) as servers:
        servers.start(fed.origins)
        say(f"set-up: {RELAY} pulls {sum(shares):,} entries from {origins} origins (timed)")
        started = time.perf_counter()
        for origin in fed.origins:  # (A does not serve yet: `denex sync` of all would fail)
            fed.relay.run("sync", "--peer", origin.node_id)
        relay_seconds = time.perf_counter() - started
    (work / READY).write_text(json.dumps({**fed.to_json(), "relay_seconds": relay_seconds}))
    return fed, relay_seconds


# ---------------------------------------------------------------------------------------------
# Measured: A pulls from B
# ---------------------------------------------------------------------------------------------


@dataclass
class SyncResult:
    entries: int
    seconds: float  # process start to exit
    inner_seconds: float  # after the CLI's imports: opening the node and the sync itself
    peak_rss_mb: float
    output: str

    @property
    def rate(self) -> float:
        return self.entries / self.seconds

    @property
    def inner_rate(self) -> float:
        return self.entries / self.inner_seconds


def fresh_copy(fed: Federation, work: Path, name: str) -> Node:
    target = work / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(fed.fresh.data_dir, target)
    return Node(fed.fresh.node_id, target, fed.fresh.port)


_CHILD = """
import sys, time
from service.cli.main import main
started = time.perf_counter()
status = main(["sync", "--peer", sys.argv[1]])
print(f"bench: sync after imports {time.perf_counter() - started:.3f} s", flush=True)
sys.exit(status)
"""


def timed_sync(node: Node, peer: str, profile: Path | None = None) -> SyncResult:
    """`denex sync --peer` as a child process (the CLI's `main`, run by `python -c` so that
    the time after its imports is known too): wall seconds from process start to exit, and
    the process's own peak RSS (wait4)."""
    command = [sys.executable, "-c", _CHILD, peer]
    if profile is not None:
        command = [
            str(Path(sys.executable).with_name("py-spy")), "record", "--format", "raw",
            "--rate", "100", "--nonblocking", "--output", str(profile), "--", *command,
        ]  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        env=node_env(node.data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    output = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(f"denex sync --peer {peer} failed ({process.returncode}):\n{output}")
    fetched, inner = 0, seconds
    for line in output.splitlines():
        if line.startswith("synced: "):
            fetched = int(line.split()[1])
        elif line.startswith("bench: sync after imports "):
            inner = float(line.split()[-2])
    return SyncResult(fetched, seconds, inner, usage.ru_maxrss / 1024, output)  # KiB on Linux


# ---------------------------------------------------------------------------------------------
# Raw Ed25519 verification
# ---------------------------------------------------------------------------------------------

_IMPLEMENTATIONS = ("cryptography", "pynacl", "denex")


def _signed(count: int = 64) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    messages = [os.urandom(MESSAGE_BYTES) for _ in range(count)]
    return public, [(key.sign(m), m) for m in messages]


def _verify_count(args: tuple[str, int]) -> float:
    """Verify `count` signatures with one implementation; the seconds it took. The public key
    is decoded for every signature, as sync does (each entry names its key)."""
    implementation, count = args
    public, signed = _signed()
    if implementation == "cryptography":
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        def one(signature: bytes, message: bytes) -> None:
            Ed25519PublicKey.from_public_bytes(public).verify(signature, message)

    elif implementation == "pynacl":
        from nacl.bindings import crypto_sign_open

        def one(signature: bytes, message: bytes) -> None:
            crypto_sign_open(signature + message, public)

    else:
        from keys.ed25519 import verify

        def one(signature: bytes, message: bytes) -> None:
            if not verify(public, signature, message):
                raise AssertionError("keys.ed25519.verify rejected a good signature")

    started = time.perf_counter()
    for n in range(count):
        one(*signed[n & 63])
    return time.perf_counter() - started


def _noop(_n: int) -> int:
    return os.getpid()


@dataclass
class VerifyResult:
    one_core: dict[str, float]  # signatures/s, median of rounds
    all_cores: dict[str, float]
    cores: int

    def best(self, table: dict[str, float]) -> tuple[str, float]:
        name = max(("cryptography", "pynacl"), key=lambda n: table[n])
        return name, table[name]


def bench_verify(rounds: int = 5) -> VerifyResult:
    cores = os.cpu_count() or 1
    one_core: dict[str, float] = {}
    all_cores: dict[str, float] = {}
    counts = {}
    for name in _IMPLEMENTATIONS:
        probe = 1_000
        counts[name] = max(1_000, int(probe / _verify_count((name, probe)) * 0.4))
    samples: dict[str, list[float]] = {name: [] for name in _IMPLEMENTATIONS}
    for _ in range(rounds):  # interleaved, so each meets the same machine conditions
        for name in _IMPLEMENTATIONS:
            samples[name].append(counts[name] / _verify_count((name, counts[name])))
    one_core = {name: statistics.median(values) for name, values in samples.items()}
    samples = {name: [] for name in _IMPLEMENTATIONS}
    with ProcessPoolExecutor(max_workers=cores) as pool:
        list(pool.map(_noop, range(cores * 4)))  # start every worker before timing
        for _ in range(max(3, rounds // 2)):
            for name in _IMPLEMENTATIONS:
                started = time.perf_counter()
                list(pool.map(_verify_count, [(name, counts[name])] * cores))
                samples[name].append(counts[name] * cores / (time.perf_counter() - started))
    all_cores = {name: statistics.median(values) for name, values in samples.items()}
    return VerifyResult(one_core, all_cores, cores)


# ---------------------------------------------------------------------------------------------
# No-op round
# ---------------------------------------------------------------------------------------------


@dataclass
class NoopResult:
    milliseconds: list[float]
    peers: int
    origins_checked: int
    problems: list[str]

    @property
    def median(self) -> float:
        return statistics.median(self.milliseconds)


async def _noop_rounds(node: Node, rounds: int) -> NoopResult:
    from service.runtime import open_node, utc_now
    from service.settings import Settings
    from service.sync.rounds import peer_client, sync_round

    settings = Settings(
        data_dir=node.data_dir,
        database_url=None,
        key_passphrase=None,
        key_passphrase_file=None,
        insecure_dev_keys=True,
        insecure_dev_http=True,
    )
    db, me = await open_node(settings, upgrade=False)
    problems: list[str] = []
    times: list[float] = []
    peers = origins = 0
    try:
        async with peer_client(me, clock=utc_now) as client:
            warm = await sync_round(db, me, client, clock=utc_now)  # the extra peers' own logs
            problems += [f"warm-up {r.peer}: {r.error}" for r in warm if r.error]
            for _ in range(rounds):
                started = time.perf_counter()
                reports = await sync_round(db, me, client, clock=utc_now)
                times.append((time.perf_counter() - started) * 1000)
                peers = len(reports)
                origins = sum(r.heads for r in reports)
                for report in reports:
                    if report.error is not None:
                        problems.append(f"{report.peer}: {report.error!r}")
                    problems += [
                        f"{report.peer}/{o.origin}: {o.error or f'fetched {o.fetched}'}"
                        for o in report.origins
                        if o.error or o.fetched
                    ]
    finally:
        await db.dispose()
    return NoopResult(times, peers, origins, problems)


def bench_noop(fed: Federation, node: Node, servers: Servers, rounds: int) -> NoopResult:
    servers.start([*fed.origins, *fed.extra])  # B serves already
    # each server loads its screening index and runs its first sync round as it starts: a
    # round timed during that measures the peers' start-up, not a no-op round
    time.sleep(SETTLE_SECONDS)
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in node_env(node.data_dir).items() if k.startswith("DENEX")})
    try:
        return asyncio.run(_noop_rounds(node, rounds))
    finally:
        os.environ.clear()
        os.environ.update(saved)


# ---------------------------------------------------------------------------------------------
# Profile (py-spy over a second measured sync)
# ---------------------------------------------------------------------------------------------


def summarise_profile(raw: Path, top: int = 30) -> str:
    """Self time and inclusive time per function from py-spy's collapsed stacks."""
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
    lines = [f"py-spy: {total} samples over all processes of `denex sync --peer {RELAY}`"]
    lines.append(f"\n--- top {top} by own time ---")
    for frame, count in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"{100 * count / total:5.1f}%  {frame}")
    lines.append(f"\n--- denex functions by inclusive time (top {top}) ---")
    ours = [
        (f, c)
        for f, c in inclusive.items()
        if any(p in f for p in ("federation/", "keys/", "service/"))
    ]
    for frame, count in sorted(ours, key=lambda kv: -kv[1])[:top]:
        lines.append(f"{100 * count / total:5.1f}%  {frame}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def rows_for(
    sync: SyncResult,
    relay_seconds: float | None,
    total: int,
    verify: VerifyResult,
    noop: NoopResult,
    origins: int,
) -> list[Row]:
    best_name, best_all = verify.best(verify.all_cores)
    rows = [
        Row(
            f"A: `denex sync --peer {RELAY}` end to end, {sync.entries:,} entries of {origins} origins",
            f"{sync.rate:,.0f} entries/s ({sync.seconds:.1f} s)",
            f">= {RATE_TARGET:,.0f} entries/s",
            verdict(sync.rate >= RATE_TARGET),
        ),
        Row(
            'A: the same sync, after the CLI\'s imports (`main(["sync", ...])` in that process)',
            f"{sync.inner_rate:,.0f} entries/s ({sync.inner_seconds:.1f} s)",
            "(reference)",
            "",
        ),
        Row(
            "A: peak RSS of that process (wait4; its 2 verify workers not included)",
            f"{sync.peak_rss_mb:,.0f} MB",
            f"< {RSS_TARGET_MB:,.0f} MB",
            verdict(sync.peak_rss_mb < RSS_TARGET_MB),
        ),
    ]
    for name, label in (
        ("cryptography", "cryptography (OpenSSL)"),
        ("pynacl", "PyNaCl (libsodium)"),
        ("denex", "keys.ed25519.verify"),
    ):
        rows.append(
            Row(
                f"raw Ed25519 verify, {MESSAGE_BYTES}-byte messages, {label}: 1 core; all {verify.cores}",
                f"{verify.one_core[name]:,.0f}; {verify.all_cores[name]:,.0f} /s",
                "(reference)",
                "",
            )
        )
    rows += [
        Row(
            f"sync rate / best raw verify rate on all cores ({best_name})",
            f"{sync.rate / best_all:.3f}",
            "(1.0 = verification-bound; target ~0.5)",
            "",
        ),
        Row(
            f"no-op `sync_round` against {noop.peers} peers ({noop.origins_checked} logs), "
            f"in-process, {len(noop.milliseconds)} rounds: median",
            f"{noop.median:.1f} ms",
            f"< {NOOP_TARGET_MS:.0f} ms",
            verdict(noop.median < NOOP_TARGET_MS),
        ),
        Row(
            "no-op round: max",
            f"{max(noop.milliseconds):.1f} ms",
            "",
            "",
        ),
        Row(
            "no-op rounds: entries fetched or errors",
            str(len(noop.problems)),
            "0",
            verdict(not noop.problems),
        ),
    ]
    if relay_seconds is not None:
        rows.append(
            Row(
                f"set-up: B `denex sync` from {origins} serving origins, {total:,} entries",
                f"{total / relay_seconds:,.0f} entries/s ({relay_seconds:.1f} s)",
                "(reference)",
                "",
            )
        )
    return rows


def markdown(rows: list[Row], args: argparse.Namespace, started: dt.datetime, host: str) -> str:
    lines = [
        f"## Sync (bench/sync.py), {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {host} (at the start of the run).  ",
        f"Run: `python bench/sync.py --entries {args.entries} --origins {args.origins} "
        f"--peers {args.peers} --noop-rounds {args.noop_rounds}`; SQLite, real `denex` "
        "processes on 127.0.0.1, one `denex serve` worker per peer; synthetic notices.",
        "",
        "| measure | figure | target | |",
        "|---|---:|---|---|",
    ]
    lines += [f"| {r.measure} | {r.figure} | {r.target} | {r.verdict} |" for r in rows]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000, help="entries in all")
    parser.add_argument("--origins", type=int, default=3, help=f"origins (1-{len(ORIGINS)})")
    parser.add_argument("--peers", type=int, default=10, help="A's peers in the no-op round")
    parser.add_argument("--noop-rounds", type=int, default=15, help="measured no-op rounds")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3,000 entries")
    parser.add_argument("--markdown", type=Path, help="append a results section to this file")
    parser.add_argument("--profile", action="store_true", help="py-spy over a second sync")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--reuse", type=Path, help="set-up directory to reuse or create")
    parser.add_argument("--setup-only", action="store_true", help="stop after the set-up")
    args = parser.parse_args(argv)
    if args.quick:
        args.entries, args.noop_rounds = 3_000, 5
    if not 1 <= args.origins <= len(ORIGINS) or args.entries < args.origins:
        parser.error(f"--origins must be 1-{len(ORIGINS)} and --entries at least that")
    if not args.origins + 1 <= args.peers <= args.origins + 1 + len(EXTRA):
        parser.error(f"--peers must count the origins and B, and at most {len(EXTRA)} more")
    if args.noop_rounds < 1:
        parser.error("--noop-rounds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started, host = dt.datetime.now(dt.UTC), machine()
    work = args.reuse or Path(tempfile.mkdtemp(prefix="denex-bench-sync-"))
    work.mkdir(parents=True, exist_ok=True)
    work = work.resolve()
    try:
        relay_seconds: float | None
        if (work / READY).exists():
            doc = json.loads((work / READY).read_text())
            fed = Federation.from_json(doc)
            relay_seconds = None  # measured when the set-up was made
            say(f"reusing the set-up in {work} ({sum(fed.shares):,} entries)")
        else:
            fed, relay_seconds = set_up(work, args.entries, args.origins, args.peers)
        total = sum(fed.shares)
        if args.setup_only:
            return 0
        with Servers(work) as servers:
            servers.start([fed.relay])
            node = fresh_copy(fed, work, "A-measured")
            say(f"measured: {FRESH} pulls {total:,} entries from {RELAY} (denex sync --peer)")
            sync = timed_sync(node, RELAY)
            say(sync.output.strip().splitlines()[-1])
            say("measuring raw Ed25519 verification (cryptography, PyNaCl; 1 core, all cores)")
            verify = bench_verify()
            profile_text = None
            if args.profile:
                say("profiling a second sync with py-spy")
                raw = work / "sync.pyspy.txt"
                timed_sync(fresh_copy(fed, work, "A-profiled"), RELAY, profile=raw)
                profile_text = summarise_profile(raw)
            say(f"no-op rounds: {FRESH} against {len(fed.peers_of_fresh)} serving peers")
            noop = bench_noop(fed, node, servers, args.noop_rounds)
        rows = rows_for(sync, relay_seconds, total, verify, noop, len(fed.origins))
        print(f"\ndenex sync benchmark ({host})\n")
        print(text_table(rows))
        if noop.problems:
            print("\nno-op round problems:\n  " + "\n  ".join(noop.problems[:20]))
        if args.markdown:
            with args.markdown.open("a", encoding="utf-8") as out:
                out.write("\n" + markdown(rows, args, started, host))
            say(f"appended the results to {args.markdown}")
        if profile_text:
            print("\n" + profile_text)
    finally:
        if args.keep or args.reuse:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
