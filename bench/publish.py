"""Publishing benchmark: bulk import, raw Ed25519 signing, and concurrent publishing over HTTP.

    python bench/publish.py [--notices 100000] [--clients 8] [--requests 2000]
                            [--quick] [--idempotency-keys] [--markdown FILE] [--profile] [--keep]

1. Generates N synthetic notices (invented parties and references, surveillance-technology
   control entries 5A001.j / 4A005 / catch-all) into a JSON-lines file, runs `denex init` in a
   temporary directory and times `denex notice import FILE` end to end (process start to exit:
   reading, validating, signing, storing) -> notices/s.
2. Measures this machine's raw Ed25519 signing rate in the same run (cryptography, ~300-byte
   messages; one core, and all cores with a process pool), and the ratio import / raw rate.
3. Starts `denex serve` on 127.0.0.1 (a free port) on the same node, creates an officer token,
   and has `--clients` concurrent httpx clients POST `--requests` notices in all -> latency
   p50/p95/p99 and throughput; the server gets SIGTERM at the end. With `--idempotency-keys`
   every POST carries its own `Idempotency-Key` (decision 0025).

Every figure is printed beside its target in one table; `--markdown FILE` appends that table
with the date and the machine (nproc, CPU, Python) to FILE. `--profile` also runs cProfile over
an in-process `denex notice import` of 10,000 notices (the CLI's own code path: parse, then
`publishing.publish_many` in batches on a temporary SQLite file) and prints the hotspots.

All data is synthetic: real denial notices are confidential.
"""

import argparse
import asyncio
import contextlib
import cProfile
import datetime as dt
import io
import json
import os
import platform
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service import harness
from service.harness import denex_command, free_port

ROOT = Path(__file__).resolve().parents[1]

IMPORT_TARGET = 5_000.0  # notices/s, `denex notice import` end to end
P95_TARGET_MS = 25.0  # POST /api/v1/notices under concurrent clients
MESSAGE_BYTES = 300
PROFILE_NOTICES = 10_000
NODE_ID = "xx-bench"

# ---------------------------------------------------------------------------------------------
# Synthetic notices
# ---------------------------------------------------------------------------------------------

_SYLLABLES = (
    "vel", "tra", "nor", "kast", "ori", "lum", "sev", "zan", "dar", "mir", "ost", "vek",
    "pol", "tav", "ren", "sig", "quor", "bel", "hal", "ix", "yar", "dun", "cel", "om",
)  # fmt: skip
_KINDS = ("Signal", "Systems", "Telecom", "Analytics", "Networks", "Security", "Vision", "Data")
_FORMS = ("LLC", "JSC", "Ltd", "FZE", "GmbH", "S.A.", "Holding", "Trading Co.")
_CYRILLIC = str.maketrans(
    "abvgdezijklmnoprstufhcyABVGDEZIJKLMNOPRSTUFHCY",
    "абвгдезийклмнопрстуфхцыАБВГДЕЗИЙКЛМНОПРСТУФХЦЫ",
)
_DESTINATIONS = ("BY", "RU", "IR", "MM", "VE", "SY", "KP", "AE", "TR", "KZ", "UZ", "EG", "NI")
_ITEMS = (
    ("5A001.j", "IP network communications surveillance system (synthetic)", "5A001"),
    ("4A005", "intrusion software delivery and command platform (synthetic)", "4A005"),
    ("catch-all", "lawful-interception monitoring centre, unlisted (synthetic)", "catch-all"),
)
_GROUNDS = (
    ("human-rights", "EU CP 2008/944 criterion 2(a)", "clear risk of use for internal repression"),
    ("internal-repression", "Regulation (EU) 2021/821 art. 5", "surveillance of journalists"),
    ("diversion", "WA best practices (synthetic ref)", "risk of re-export to a listed end user"),
)
_ROLES = ("end_user", "consignee", "intermediate_consignee", "purchaser", "broker")


def _company(rng: random.Random) -> str:
    stem = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
    return f"{stem} {rng.choice(_KINDS)} {rng.choice(_FORMS)}"


def _aliases(rng: random.Random, name: str) -> list[str]:
    stem = name.split(" ")[0]
    choices = [
        name.upper(),
        f"OOO {stem}",
        f"ООО «{stem.translate(_CYRILLIC)}»",
        f"{stem} Technologies",
        f"{_company(rng)} (formerly {stem})",
    ]
    return rng.sample(choices, rng.randint(0, 3))


def synthetic_notice(rng: random.Random, number: int) -> dict[str, Any]:
    """One invented notice; valid input for `denex notice import` and POST /api/v1/notices."""
    decided = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(1050))
    destination = rng.choice(_DESTINATIONS)
    items = []
    for entry, description, _family in rng.sample(_ITEMS, rng.randint(1, 2)):
        item: dict[str, Any] = {"control_entry": entry, "description": description}
        if rng.random() < 0.7:
            item["quantity"] = str(rng.randint(1, 12))
            item["value"] = {"amount": f"{rng.randint(20, 4000) * 1000}.00", "currency": "EUR"}
        items.append(item)
    catch_all = any(i["control_entry"] == "catch-all" for i in items)
    parties = []
    for role in ["end_user", *rng.sample(_ROLES[1:], rng.randint(0, 2))]:
        name = _company(rng)
        party: dict[str, Any] = {
            "role": role,
            "name": name,
            "aliases": _aliases(rng, name),
            "country": destination if role == "end_user" else rng.choice(_DESTINATIONS),
        }
        if rng.random() < 0.5:
            party["identifiers"] = [{"scheme": "SYN-REG", "value": f"{number:07d}-{role[:2]}"}]
        if rng.random() < 0.4:
            party["address"] = {
                "street": f"{rng.randint(1, 99)} Invented Street",
                "city": "Nowhere",
            }
        parties.append(party)
    code, ref, text = rng.choice(_GROUNDS)
    return {
        "reference": f"SYN-{decided.year}-{number:07d}",
        "decision": "catch_all_requirement" if catch_all and rng.random() < 0.5 else "refusal",
        "decided_on": decided.isoformat(),
        "regimes": sorted(rng.sample(["WA", "EU", "HRI"], rng.randint(1, 3))),
        "destination": destination,
        "items": items,
        "parties": parties,
        "end_use": "synthetic benchmark record: monitoring of communications",
        "grounds": [{"code": code, "ref": ref, "text": text}],
    }


def write_notices(path: Path, count: int, seed: int = 20261128) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    notices = [synthetic_notice(rng, n) for n in range(count)]
    with path.open("w", encoding="utf-8") as out:
        for notice in notices:
            out.write(json.dumps(notice, ensure_ascii=False, separators=(",", ":")) + "\n")
    return notices


# ---------------------------------------------------------------------------------------------
# The denex CLI
# ---------------------------------------------------------------------------------------------


def denex_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DENEX_")}
    env.update(
        DENEX_DATA_DIR=str(data_dir),
        DENEX_INSECURE_DEV_KEYS="1",
        DENEX_INSECURE_DEV_HTTP="1",
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    )
    return env


def denex(data_dir: Path, *args: str) -> str:
    """Run one `denex` command; its stdout, or exit with its stderr."""
    done = subprocess.run(
        [*denex_command(), *args],
        env=denex_env(data_dir),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"denex {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout.strip()


PUBLISHED_URL = "http://127.0.0.1:8000"  # the node's card URL: what peers sign requests for


def init_node(data_dir: Path) -> None:
    denex(
        data_dir,
        "init",
        "--node-id", NODE_ID,
        "--country", "DE",
        "--name", "Synthetic benchmark authority",
        "--url", PUBLISHED_URL,
        "--regimes", "WA,EU,HRI",
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# 1. Bulk import
# ---------------------------------------------------------------------------------------------


@dataclass
class ImportResult:
    notices: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.notices / self.seconds


def bench_import(data_dir: Path, file: Path, count: int) -> ImportResult:
    started = time.perf_counter()
    denex(data_dir, "notice", "import", str(file))
    return ImportResult(count, time.perf_counter() - started)


# ---------------------------------------------------------------------------------------------
# 2. Raw Ed25519 signing
# ---------------------------------------------------------------------------------------------


def _messages() -> list[bytes]:
    return [os.urandom(MESSAGE_BYTES) for _ in range(64)]


def _sign_count(count: int) -> float:
    """Sign `count` messages; the seconds it took (runs in a worker process too)."""
    key = Ed25519PrivateKey.generate()
    messages = _messages()
    started = time.perf_counter()
    for n in range(count):
        key.sign(messages[n & 63])
    return time.perf_counter() - started


def _noop(_n: int) -> int:
    return os.getpid()


@dataclass
class SignResult:
    one_core: float  # signatures/s, median of rounds
    all_cores: float
    cores: int


def bench_sign(rounds: int = 5) -> SignResult:
    probe = 2_000
    per_second = probe / _sign_count(probe)
    count = max(2_000, int(per_second * 0.5))  # about half a second a round
    one_core = statistics.median(count / _sign_count(count) for _ in range(rounds))
    cores = os.cpu_count() or 1
    rates = []
    with ProcessPoolExecutor(max_workers=cores) as pool:
        list(pool.map(_noop, range(cores * 4)))  # start every worker before timing
        for _ in range(max(3, rounds // 2)):
            started = time.perf_counter()
            list(pool.map(_sign_count, [count] * cores))
            rates.append(count * cores / (time.perf_counter() - started))
    return SignResult(one_core, statistics.median(rates), cores)


# ---------------------------------------------------------------------------------------------
# 3. Concurrent publishing over HTTP
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def serving(data_dir: Path, log: Path) -> Any:
    """`denex serve` on a free port until the block ends, then SIGTERM (and a wait)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("w") as log_file:
        server = harness.start_serve(
            port=port, env=denex_env(data_dir), stdout=log_file, stderr=subprocess.STDOUT
        )
        try:
            if not harness.wait_answering(server, base, timeout=60, paths=("/readyz",)):
                sys.exit(f"denex serve not ready after 60 s:\n{log.read_text()}")
            yield base
        finally:
            harness.stop(server, timeout=30)


def wait_for_line(log: Path, text: str, *, timeout: float, after: int = 0) -> None:
    """Wait until `text` is in `log` past its first `after` bytes (an appended log)."""
    deadline = time.monotonic() + timeout
    while text.encode() not in log.read_bytes()[after:]:
        if time.monotonic() > deadline:
            sys.exit(f"{text!r} not in {log} after {timeout:.0f} s")
        time.sleep(0.2)


@dataclass
class HttpResult:
    latencies_ms: list[float]
    seconds: float
    errors: dict[int, int]
    clients: int
    index_seconds: float = 0.0  # the screening index's load at serve start, waited for
    keyed: bool = False  # every POST carried an Idempotency-Key

    def percentile(self, p: int) -> float:
        if p == 50:
            return statistics.median(self.latencies_ms)
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[p - 1]

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.seconds


class _Connection:
    """A minimal HTTP/1.1 keep-alive client for the load: httpx costs ~2.3 ms of CPU per
    request, which on a 2-core machine starves the server being measured. Requests are
    encoded before the clock starts; a response is read by its Content-Length."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, base: str) -> "_Connection":
        host, port = base.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        return cls(reader, writer)

    async def send(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


def _encode_post(base: str, token: str, body: dict[str, Any], key: str | None = None) -> bytes:
    payload = json.dumps(body).encode()
    host = base.removeprefix("http://")
    keyed = f'Idempotency-Key: "{key}"\r\n' if key is not None else ""
    return (
        f"POST /api/v1/notices HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n{keyed}"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload


async def _post_all(
    base: str, token: str, bodies: list[dict[str, Any]], clients: int, warmup: int, keys: bool
) -> HttpResult:
    """`clients` clients, each with its own keep-alive connection, share one stream of
    requests (closed loop: each sends its next request when the previous one answered)."""
    latencies: list[float] = []
    errors: dict[int, int] = {}
    requests = [
        _encode_post(base, token, body, f"bench-{n}" if keys else None)
        for n, body in enumerate(bodies)
    ]

    async def client(connection: _Connection, stream: Iterator[bytes], record: bool) -> None:
        for request in stream:
            started = time.perf_counter()
            status = await connection.send(request)
            elapsed = (time.perf_counter() - started) * 1000
            if status != 201:
                errors[status] = errors.get(status, 0) + 1
            elif record:
                latencies.append(elapsed)

    connections = [await _Connection.open(base) for _ in range(clients)]
    try:
        warm = iter(requests[:warmup])
        await asyncio.gather(*(client(c, warm, record=False) for c in connections))
        measured = iter(requests[warmup:])
        started = time.perf_counter()
        await asyncio.gather(*(client(c, measured, record=True) for c in connections))
        seconds = time.perf_counter() - started
    finally:
        for connection in connections:
            await connection.close()
    return HttpResult(latencies, seconds, errors, clients, keyed=keys)


def bench_http(
    data_dir: Path, work: Path, requests: int, clients: int, keys: bool = False
) -> HttpResult:
    token = denex(data_dir, "token", "create", "--role", "officer", "--name", "bench-officer")
    rng = random.Random(7)
    warmup = min(50, max(clients * 2, requests // 20))
    bodies = [synthetic_notice(rng, 9_000_000 + n) for n in range(warmup + requests)]
    log = work / "serve.log"
    with serving(data_dir, log) as base:
        # steady state: the node loads its screening index once at start (CPU on the same
        # loop); publishing during that load is slower, so the load is timed on its own
        started = time.perf_counter()
        wait_for_line(log, "screening index loaded", timeout=1800)
        index_seconds = time.perf_counter() - started
        result = asyncio.run(_post_all(base, token, bodies, clients, warmup, keys))
    result.index_seconds = index_seconds
    if len(result.latencies_ms) < 2:
        sys.exit(f"too few POSTs succeeded to measure latency; other answers: {result.errors}")
    return result


# ---------------------------------------------------------------------------------------------
# Profile
# ---------------------------------------------------------------------------------------------


def profile_import(work: Path, file: Path, count: int, top: int = 25) -> str:
    """cProfile over the CLI's own import path, in this process; the hotspot listing."""
    sys.path.insert(0, str(ROOT))
    from service.cli.main import main as denex_main  # the same code `denex notice import` runs

    data_dir = work / "profile-node"
    init_node(data_dir)
    subset = work / "profile.jsonl"
    with file.open(encoding="utf-8") as src, subset.open("w", encoding="utf-8") as dst:
        for _ in range(count):
            dst.write(src.readline())
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in denex_env(data_dir).items() if k.startswith("DENEX_")})
    profiler = cProfile.Profile()
    try:
        started = time.perf_counter()
        profiler.enable()
        status = denex_main(["notice", "import", str(subset), "--data-dir", str(data_dir)])
        profiler.disable()
        seconds = time.perf_counter() - started
    finally:
        os.environ.clear()
        os.environ.update(saved)
    if status != 0:
        sys.exit(f"in-process import for profiling failed ({status})")
    out = io.StringIO()
    out.write(
        f"cProfile: in-process `denex notice import` of {count} notices: {seconds:.2f} s "
        f"({count / seconds:,.0f} notices/s under the profiler)\n"
    )
    out.write("\n--- denex's own functions (service, federation, keys), by cumulative time ---\n")
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(
        r"/(service|federation|keys)/", top
    )
    out.write(f"\n--- top {top} by internal time (all code) ---\n")
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime").print_stats(top)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


@dataclass
class Row:
    measure: str
    figure: str
    target: str
    verdict: str  # "ok", "MISSED" or "" (no target)


def rows_for(imp: ImportResult, sign: SignResult, http: HttpResult) -> list[Row]:
    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    p95 = http.percentile(95)
    errors = sum(http.errors.values())
    post = "POST /api/v1/notices" + (" with Idempotency-Key" if http.keyed else "")
    return [
        Row(
            f"bulk import, `denex notice import` end to end ({imp.notices:,} notices)",
            f"{imp.rate:,.0f} notices/s ({imp.seconds:.1f} s)",
            f">= {IMPORT_TARGET:,.0f} notices/s",
            verdict(imp.rate >= IMPORT_TARGET),
        ),
        Row(
            f"raw Ed25519 sign, {MESSAGE_BYTES}-byte messages, 1 core",
            f"{sign.one_core:,.0f} signatures/s",
            "(reference)",
            "",
        ),
        Row(
            f"raw Ed25519 sign, all {sign.cores} cores (process pool)",
            f"{sign.all_cores:,.0f} signatures/s",
            "(reference)",
            "",
        ),
        Row(
            "import rate / raw sign rate (1 core; all cores)",
            f"{imp.rate / sign.one_core:.3f}; {imp.rate / sign.all_cores:.3f}",
            "(1.0 = signing-bound)",
            "",
        ),
        Row(
            "screening index load at serve start (waited for before the POSTs)",
            f"{http.index_seconds:.1f} s",
            "(reference)",
            "",
        ),
        Row(
            f"{post}, {http.clients} clients: latency p50",
            f"{http.percentile(50):.1f} ms",
            "",
            "",
        ),
        Row(
            f"{post}, {http.clients} clients: latency p95",
            f"{p95:.1f} ms",
            f"< {P95_TARGET_MS:.0f} ms",
            verdict(p95 < P95_TARGET_MS),
        ),
        Row(
            f"{post}, {http.clients} clients: latency p99",
            f"{http.percentile(99):.1f} ms",
            "",
            "",
        ),
        Row(
            f"{post}, {http.clients} clients: throughput",
            f"{http.throughput:,.0f} requests/s ({len(http.latencies_ms):,} in {http.seconds:.1f} s)",
            "",
            "",
        ),
        Row(
            "POST /api/v1/notices: responses other than 201",
            f"{errors}" + (f" {http.errors}" if errors else ""),
            "0",
            verdict(errors == 0),
        ),
    ]


def text_table(rows: list[Row]) -> str:
    header = Row("measure", "figure", "target", "")
    widths = [
        max(len(getattr(r, f)) for r in [header, *rows]) for f in ("measure", "figure", "target")
    ]
    lines = []
    for row in [header, *rows]:
        lines.append(
            f"{row.measure:<{widths[0]}}  {row.figure:>{widths[1]}}  {row.target:<{widths[2]}}  "
            f"{row.verdict}".rstrip()
        )
        if row is header:
            lines.append("-" * (sum(widths) + 12))
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = ""
    with contextlib.suppress(OSError, AttributeError):
        load = ", load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    return (
        f"nproc {os.cpu_count()}, {cpu}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}{load}"
    )


def markdown(rows: list[Row], args: argparse.Namespace, started: dt.datetime, host: str) -> str:
    lines = [
        f"## Publishing (bench/publish.py), {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {host} (at the start of the run).  ",
        f"Run: `python bench/publish.py --notices {args.notices} --clients {args.clients} "
        f"--requests {args.requests}`; SQLite, one `denex serve` worker; synthetic notices.",
        "",
        "| measure | figure | target | |",
        "|---|---:|---|---|",
    ]
    lines += [f"| {r.measure} | {r.figure} | {r.target} | {r.verdict} |" for r in rows]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notices", type=int, default=100_000, help="notices to bulk-import")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument("--requests", type=int, default=2_000, help="POSTs in all (measured)")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 5,000 notices, 400 requests"
    )
    parser.add_argument(
        "--idempotency-keys",
        action="store_true",
        help="send every POST with its own Idempotency-Key (a claim and a kept answer each)",
    )
    parser.add_argument("--markdown", type=Path, help="append a results section to this file")
    parser.add_argument(
        "--profile",
        action="store_true",
        help=f"also cProfile an in-process import of {PROFILE_NOTICES:,} notices",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    if args.quick:
        args.notices, args.requests = 5_000, 400
    if args.notices < 1 or args.requests < 1 or args.clients < 1:
        parser.error("--notices, --requests and --clients must be positive")
    return args


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started, host = dt.datetime.now(dt.UTC), machine()
    work = Path(tempfile.mkdtemp(prefix="denex-bench-"))
    try:
        file = work / "notices.jsonl"
        say(f"generating {args.notices:,} synthetic notices into {file}")
        write_notices(file, args.notices)
        data_dir = work / "node"
        init_node(data_dir)
        say(f"importing them: denex notice import ({file.stat().st_size / 1e6:.1f} MB)")
        imp = bench_import(data_dir, file, args.notices)
        say("measuring raw Ed25519 signing")
        sign = bench_sign()
        say(f"POSTing {args.requests:,} notices with {args.clients} clients to denex serve")
        http = bench_http(data_dir, work, args.requests, args.clients, args.idempotency_keys)
        rows = rows_for(imp, sign, http)
        print(f"\ndenex publishing benchmark ({host})\n")
        print(text_table(rows))
        if args.markdown:
            with args.markdown.open("a", encoding="utf-8") as out:
                out.write("\n" + markdown(rows, args, started, host))
            say(f"appended the results to {args.markdown}")
        if args.profile:
            say(f"profiling an in-process import of {min(PROFILE_NOTICES, args.notices):,}")
            print()
            print(profile_import(work, file, min(PROFILE_NOTICES, args.notices)))
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
