"""Log benchmark: appends with the Merkle tree maintained, proof latency at size, evidence checks.

    python bench/log.py [--entries 1000000] [--baseline 200000] [--samples 2000]
                        [--requests 1000] [--budget 60] [--quick] [--markdown FILE] [--keep]

1. Runs `denex init` in a temporary directory (SQLite) and appends `--entries` synthetic
   `notice.published` entries (~300-byte canonical JSON bodies, audience = the node) to the
   node's own log, in batches of 1,000, through `federation.storage.log.append_own` in this process:
   sealing, the bulk entry insert, `tree.extend` and a signed checkpoint per batch -> entries/s.
   The baseline runs on a second fresh node: the same sealing (`federation.core.entry.seal`), the
   same bulk insert (`federation.storage.bulk.insert_rows` with `entry_values`, as `append_own`
   does) and log-size update, but no tree and no checkpoint, for `--baseline` entries. The baseline batches are interleaved with the
   first with-tree batches, so both meet the same machine conditions -> ratio tree / baseline.
2. At the full size: inclusion and consistency proof latency in-process
   (`federation.storage.tree.inclusion_proof` / `consistency_proof`, each through its own
   `Database.rows()` as the proof routes do: on SQLite the point-read connection; random
   indexes and pairs, with a `tree.SubtreeCache` as the proof routes use, warmed only by
   the proofs of the run), and over HTTP against `denex serve` on 127.0.0.1 (signed as a
   roster peer, RFC 9421, as federation requests are; one httpx client, sequential). Every proof is checked with `merkle.verify_*` against roots
   computed here from the entries' leaf hashes alone (not from the stored tree), and the
   stored root against the signed checkpoint. Each latency series stops after `--budget`
   seconds once 100 were measured (the table says so), so slow proofs keep the run bounded;
   the same proofs at size <= 1,000 in the same database show whether cost follows the
   proof (O(log n)) or the table. The SQL plan and the "subtree hashes one proof asks the
   database for" row describe a proof without the cache.
3. Publishes one notice through the API (officer token), fetches its evidence bundle
   (`GET /api/v1/evidence/{id}`, auditor token) and times `service.evidence.verify.verify_bundle`
   over it (median of 50 runs). The server gets SIGTERM at the end.

Every figure is printed beside its target in one table; `--markdown FILE` appends that table
with the date and the machine (nproc, CPU, Python) to FILE. All data is synthetic.
"""

import argparse
import asyncio
import base64
import datetime as dt
import http.client
import json
import random
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, func, select

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.publish import (  # noqa: E402 (after the path set-up)
    NODE_ID,
    PUBLISHED_URL,
    Row,
    denex,
    init_node,
    machine,
    say,
    serving,
    text_table,
)
from federation.core import checkpoint as cp  # noqa: E402
from federation.core import httpsig, merkle  # noqa: E402
from federation.core.entry import Draft, format_time, seal  # noqa: E402
from federation.network.client import PeerAuth  # noqa: E402
from federation.storage import tree  # noqa: E402
from federation.storage.bulk import insert_rows  # noqa: E402
from federation.storage.log import append_own, entry_values, lock_log, log_size  # noqa: E402
from federation.storage.tables import EntryRow, LogRow  # noqa: E402
from keys.canonical import canonical_bytes  # noqa: E402
from keys.card import card_body, make_card  # noqa: E402
from keys.ed25519 import KeyPair  # noqa: E402
from service.evidence.verify import verify_bundle  # noqa: E402
from service.node import Node  # noqa: E402
from service.runtime import open_node  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.storage.database import Database  # noqa: E402

RATIO_TARGET = 0.80  # appends/s with the tree >= 80% of the rate without it
PROOF_P95_MS = 0.5  # in-process proof generation at size
HTTP_P95_MS = 5.0  # GET /federation/v1/logs/{origin}/proof/... at size
VERIFY_MS = 20.0  # service.evidence.verify.verify_bundle, median
BATCH = 1_000
SMALL_SIZE = 1_000  # proofs in a small tree of the same database, for the O(log n) comparison
MIN_SAMPLES = 100  # a latency series stops at its time budget only after this many
WARMUP = 10

# ---------------------------------------------------------------------------------------------
# Synthetic entries
# ---------------------------------------------------------------------------------------------

_DESTINATIONS = ("BY", "RU", "IR", "MM", "VE", "SY", "KP", "AE", "TR", "KZ", "UZ", "EG", "NI")
_ITEMS = ("5A001.j", "4A005", "catch-all")


def synthetic_body(rng: random.Random, number: int) -> bytes:
    """A ~300-byte canonical JSON body shaped like a small notice (invented values)."""
    return canonical_bytes(
        {
            "notice_id": f"0193{number:012x}-7000-8000-{rng.getrandbits(48):012x}",
            "version": 1,
            "reference": f"SYN-2026-{number:07d}",
            "decision": "refusal",
            "decided_on": f"2026-{1 + number % 12:02d}-{1 + number % 28:02d}",
            "regimes": ["EU", "WA"],
            "destination": rng.choice(_DESTINATIONS),
            "items": [{"control_entry": rng.choice(_ITEMS)}],
            "parties": [{"role": "end_user", "name": f"Party {number}", "country": "BY"}],
            "end_use": "synthetic",
        }
    )


def drafts_for(rng: random.Random, start: int, count: int, origin: str) -> list[Draft]:
    now = dt.datetime.now(dt.UTC)
    return [
        Draft("notice.published", synthetic_body(rng, start + n), (origin,), now)
        for n in range(count)
    ]


def notice_input() -> dict[str, Any]:
    """A notice for POST /api/v1/notices, shaped like tests/service/notice_data.py `notice()`."""
    return {
        "reference": "SYN-2026-0117",
        "decision": "refusal",
        "decided_on": "2026-11-20",
        "regimes": ["WA", "EU", "HRI"],
        "destination": "BY",
        "items": [
            {
                "control_entry": "5.A.1.j",
                "description": "IP network communications surveillance system (synthetic)",
                "quantity": "1",
                "value": {"amount": "1200000.00", "currency": "EUR"},
            }
        ],
        "parties": [
            {
                "role": "end_user",
                "name": "Severny Signal LLC",
                "aliases": ["ООО «Северный сигнал»", "Severnyi Signal OOO"],
                "country": "BY",
                "address": {"street": "1 Example Street", "city": "Minsk", "postal_code": "220000"},
                "identifiers": [{"scheme": "LEI", "value": "5493001KJTIIGC8Y1R12"}],
            }
        ],
        "end_use": "monitoring of political opposition (synthetic)",
        "grounds": [
            {
                "code": "human-rights",
                "ref": "EU CP 2008/944 criterion 2(a)",
                "text": "clear risk of use for internal repression",
            }
        ],
        "public_listings": [],
    }


def settings_for(data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=None,
        key_passphrase=None,
        key_passphrase_file=None,
        insecure_dev_keys=True,
        insecure_dev_http=True,
    )


# ---------------------------------------------------------------------------------------------
# 1. Appends, with and without the tree
# ---------------------------------------------------------------------------------------------


@dataclass
class AppendResult:
    entries: int
    seconds: float  # inside the write transactions only (drafts are built outside)
    batch_seconds: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.entries / self.seconds

    def rate_of(self, batches: slice) -> tuple[int, float]:
        """(entries, entries/s) over a slice of the batches (all but the last are full)."""
        chosen = self.batch_seconds[batches]
        return len(chosen) * BATCH, len(chosen) * BATCH / sum(chosen)


async def append_batch_with_tree(db: Database, node: Node, drafts: list[Draft]) -> float:
    ident = node.identity
    started = time.perf_counter()
    async with db.write() as session:
        await append_own(
            session,
            federation=ident.federation,
            origin=ident.node_id,
            drafts=drafts,
            signer=node.signer,
            checkpoint_key=node.signing,
            now=dt.datetime.now(dt.UTC),
        )
    return time.perf_counter() - started


async def append_batch_baseline(db: Database, node: Node, drafts: list[Draft]) -> float:
    """What append_own does minus the tree and the checkpoint: seal, bulk insert, log size."""
    ident = node.identity
    started = time.perf_counter()
    async with db.write() as session:
        now = dt.datetime.now(dt.UTC)
        log = await lock_log(session, ident.node_id)
        sealed = [
            seal(
                federation=ident.federation,
                origin=ident.node_id,
                seq=log.size + offset,
                draft=draft,
                key=node.signer(draft.type),
            )
            for offset, draft in enumerate(drafts)
        ]
        await insert_rows(session, EntryRow, [entry_values(e, stored_at=now) for e in sealed])
        log.size += len(sealed)
        log.updated_at = now
        await session.flush()
    return time.perf_counter() - started


async def bench_appends(
    tree_dir: Path, base_dir: Path, entries: int, baseline: int
) -> tuple[AppendResult, AppendResult]:
    """Append `entries` with the tree to one node and `baseline` without it to another,
    alternating batch by batch while both run."""
    rng = random.Random(20261128)
    tree_db, tree_node = await open_node(settings_for(tree_dir), upgrade=False)
    base_db, base_node = await open_node(settings_for(base_dir), upgrade=False)
    with_tree, without = AppendResult(0, 0.0), AppendResult(0, 0.0)
    origin = tree_node.identity.node_id
    report_every = max(BATCH, (entries // 10) // BATCH * BATCH)
    try:
        done = 0
        while done < entries:
            count = min(BATCH, entries - done)
            if without.entries < baseline:
                base_count = min(BATCH, baseline - without.entries)
                drafts = drafts_for(rng, without.entries, base_count, origin)
                seconds = await append_batch_baseline(base_db, base_node, drafts)
                without.entries += base_count
                without.seconds += seconds
                without.batch_seconds.append(seconds)
            drafts = drafts_for(rng, done, count, origin)
            seconds = await append_batch_with_tree(tree_db, tree_node, drafts)
            done += count
            with_tree.entries, with_tree.seconds = done, with_tree.seconds + seconds
            with_tree.batch_seconds.append(seconds)
            if done % report_every == 0 or done == entries:
                say(
                    f"  {done:>10,} entries with the tree: {with_tree.rate:,.0f}/s so far"
                    + (
                        f"; baseline {without.entries:,}: {without.rate:,.0f}/s"
                        if without.entries
                        else ""
                    )
                )
        while without.entries < baseline:  # only if --baseline > --entries
            base_count = min(BATCH, baseline - without.entries)
            drafts = drafts_for(rng, without.entries, base_count, origin)
            seconds = await append_batch_baseline(base_db, base_node, drafts)
            without.entries += base_count
            without.seconds += seconds
            without.batch_seconds.append(seconds)
    finally:
        await tree_db.dispose()
        await base_db.dispose()
    return with_tree, without


# ---------------------------------------------------------------------------------------------
# Reference tree: every complete subtree hash, computed here from the entries' leaf hashes
# ---------------------------------------------------------------------------------------------


class ReferenceTree:
    """RFC 9162 hashes computed in memory from the leaf hashes in `entries`, independent of
    the stored `tree_nodes`; roots at any size through merkle.range_hash."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.levels = [leaves]
        while len(self.levels[-1]) > 1:
            prev = self.levels[-1]
            self.levels.append(
                [merkle.node(prev[i], prev[i + 1]) for i in range(0, len(prev) - 1, 2)]
            )

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def leaf(self, index: int) -> bytes:
        return self.levels[0][index]

    def root(self, size: int) -> bytes:
        return merkle.range_hash(0, size, lambda key: self.levels[key[0]][key[1]])


async def reference_tree(db: Database, origin: str) -> ReferenceTree:
    async with db.read() as session:
        connection = await session.connection()
        result = await connection.exec_driver_sql(
            "SELECT seq, leaf_hash FROM entries WHERE origin = ? ORDER BY seq", (origin,)
        )
        rows = result.fetchall()
    if [r[0] for r in rows[:1]] != [0] or rows[-1][0] != len(rows) - 1:
        sys.exit(f"entries of {origin} are not contiguous from seq 0")
    return ReferenceTree([bytes(r[1]) for r in rows])


# ---------------------------------------------------------------------------------------------
# 2. Proofs
# ---------------------------------------------------------------------------------------------


def percentile(values: list[float], p: int) -> float:
    if p == 50:
        return statistics.median(values)
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


@dataclass
class Latencies:
    wanted: int
    ms: list[float] = field(default_factory=list)

    def p(self, q: int) -> float:
        return percentile(self.ms, q)

    def count(self) -> str:
        """How many were measured, and whether the time budget cut the series short."""
        if len(self.ms) >= self.wanted:
            return f"{len(self.ms):,}"
        return f"{len(self.ms):,} of {self.wanted:,} (time budget)"


class Budget:
    """Stops a latency series after `seconds`, once at least MIN_SAMPLES were measured: proofs
    that cost far more than their target must not make the run unbounded."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def spent(self, measured: int) -> bool:
        return measured >= MIN_SAMPLES and time.monotonic() > self.deadline


@dataclass
class ProofResult:
    size: int
    inclusion: Latencies
    consistency: Latencies
    small_inclusion: Latencies
    small_consistency: Latencies
    max_keys: int  # most stored subtree hashes one proof needs (without the cache)
    cached: int  # subtree hashes in the cache at the end
    verified: int
    checked: int
    root_ok: bool
    plan: str  # SQLite's plan for the statement a proof runs against tree_nodes


async def proof_query_plan(session: Any, origin: str, size: int) -> str:
    """Capture the SQL one inclusion proof sends for tree_nodes and ask SQLite for its plan."""
    engine = session.get_bind()
    if engine.dialect.name != "sqlite":
        return "(not SQLite)"
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "tree_nodes" in statement:
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        await tree.inclusion_proof(session, origin, size // 3, size)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    if not seen:
        return "(no tree_nodes query seen)"
    statement, params = seen[0]
    connection = await session.connection()
    rows = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
    plans = [re.sub(r"USING INDEX \S+ ", "USING INDEX ", str(r[-1])) for r in rows]
    counts = Counter(p for p in plans if "tree_nodes" in p)  # an OR plans one search per term
    return "; ".join(f"{p} x{n}" if n > 1 else p for p, n in counts.items()) or "?"


def inclusion_pairs(rng: random.Random, size: int, count: int) -> list[tuple[int, int]]:
    """(index, tree size): half to the full size (evidence bundles), half to random sizes."""
    pairs = []
    for n in range(count):
        tree_size = size if n % 2 == 0 else rng.randint(1, size)
        pairs.append((rng.randrange(tree_size), tree_size))
    return pairs


def consistency_pairs(rng: random.Random, size: int, count: int) -> list[tuple[int, int]]:
    """(from, to) with 1 <= from < to <= size: half to the full size (sync), half random."""
    pairs = []
    for n in range(count):
        new = size if n % 2 == 0 else rng.randint(2, size)
        pairs.append((rng.randint(1, new - 1), new))
    return pairs


def check_inclusion(ref: ReferenceTree, index: int, size: int, proof: list[bytes]) -> bool:
    try:
        merkle.verify_inclusion(ref.leaf(index), index, size, proof, ref.root(size))
    except merkle.ProofError:
        return False
    return True


def check_consistency(ref: ReferenceTree, old: int, new: int, proof: list[bytes]) -> bool:
    try:
        merkle.verify_consistency(old, new, ref.root(old), ref.root(new), proof)
    except merkle.ProofError:
        return False
    return True


async def bench_proofs(
    data_dir: Path, ref: ReferenceTree, samples: int, budget_seconds: float
) -> ProofResult:
    rng = random.Random(4242)
    db, node = await open_node(settings_for(data_dir), upgrade=False)
    origin = node.identity.node_id
    verified = checked = 0
    cache = tree.SubtreeCache()
    try:
        async with db.read() as session:
            size = await log_size(session, origin)
            log = await session.get(LogRow, origin)
            assert log is not None and log.checkpoint is not None and log.root is not None
            signed = cp.verify_checkpoint(
                log.checkpoint, origin=node.identity.origin_line, keys=[node.signing.public]
            ).checkpoint
            stored_root = await tree.root_at(session, origin, size)
            root_ok = (
                size == ref.size
                and signed.size == size
                and signed.root == log.root == stored_root == ref.root(size)
            )
            plan = await proof_query_plan(session, origin, size)

            async def timed(
                make: Callable[[int, int], Any], pairs: list[tuple[int, int]]
            ) -> tuple[Latencies, list[list[bytes]]]:
                for a, b in pairs[:WARMUP]:
                    await make(a, b)
                out, proofs, budget = Latencies(len(pairs)), [], Budget(budget_seconds)
                for a, b in pairs:
                    if budget.spent(len(out.ms)):
                        break
                    started = time.perf_counter()
                    proof = await make(a, b)
                    out.ms.append((time.perf_counter() - started) * 1000)
                    proofs.append(proof)
                return out, proofs

            async def incl(index: int, tree_size: int) -> Any:
                async with db.rows() as rows:
                    return await tree.inclusion_proof(rows, origin, index, tree_size, cache=cache)

            async def cons(old: int, new: int) -> Any:
                async with db.rows() as rows:
                    return await tree.consistency_proof(rows, origin, old, new, cache=cache)

            ipairs = inclusion_pairs(rng, size, samples)
            cpairs = consistency_pairs(rng, size, samples)
            inclusion, iproofs = await timed(incl, ipairs)
            consistency, cproofs = await timed(cons, cpairs)
            small = min(SMALL_SIZE, size)
            small_inclusion, _ = await timed(incl, inclusion_pairs(rng, small, samples // 2))
            small_consistency, _ = await timed(cons, consistency_pairs(rng, small, samples // 2))
    finally:
        await db.dispose()
    for (index, tree_size), proof in zip(ipairs, iproofs, strict=False):
        checked += 1
        verified += check_inclusion(ref, index, tree_size, proof)
    for (old, new), proof in zip(cpairs, cproofs, strict=False):
        checked += 1
        verified += check_consistency(ref, old, new, proof)
    max_keys = max(
        [len(merkle.needed_keys(merkle.inclusion_ranges(i, s))) for i, s in ipairs]
        + [len(merkle.needed_keys(merkle.consistency_ranges(o, n))) for o, n in cpairs]
    )
    return ProofResult(
        size,
        inclusion,
        consistency,
        small_inclusion,
        small_consistency,
        max_keys,
        len(cache),
        verified,
        checked,
        root_ok,
        plan,
    )


@dataclass
class HttpProofResult:
    inclusion: Latencies
    consistency: Latencies
    errors: dict[int, int]
    verified: int
    checked: int


async def node_federation(data_dir: Path) -> str:
    db, node = await open_node(settings_for(data_dir), upgrade=False)
    await db.dispose()
    return node.identity.federation


def add_bench_peer(data_dir: Path, work: Path) -> PeerAuth:
    """Put an invented peer (keys and a root-signed card only) in the node's roster with
    `denex peer add --yes`; return the httpx auth that signs requests as it (RFC 9421)."""
    root, signing = KeyPair.generate(), KeyPair.generate()
    body = card_body(
        federation=asyncio.run(node_federation(data_dir)),
        node_id="xx-peer",
        country="FR",
        name="Synthetic benchmark peer",
        url="https://127.0.0.1:1",  # the serve loop's syncs from it fail at once, without DNS
        root_key=root.public,
        signing_keys=[signing.public],
        regimes=["WA", "EU", "HRI"],
        card_version=1,
        issued_at=format_time(dt.datetime.now(dt.UTC)),
    )
    card = work / "peer-card.json"
    card.write_bytes(make_card(body, root))
    denex(data_dir, "peer", "add", str(card), "--yes")
    return PeerAuth(signing)


def http_proofs(
    base: str,
    auth: httpx.Auth,
    origin: str,
    ref: ReferenceTree,
    size: int,
    requests: int,
    budget_seconds: float,
) -> HttpProofResult:
    rng = random.Random(777)
    ipairs = inclusion_pairs(rng, size, requests)
    cpairs = consistency_pairs(rng, size, requests)
    errors: dict[int, int] = {}
    result = HttpProofResult(Latencies(requests), Latencies(requests), errors, 0, 0)
    path = f"/federation/v1/logs/{origin}/proof"
    key = auth.key if isinstance(auth, PeerAuth) else None
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:  # one keep-alive connection; the stdlib client costs far less than httpx

        def get(url: str, params: dict[str, int], record: Latencies | None) -> Any:
            target = f"{url}?{urllib.parse.urlencode(params)}"
            # signing is the client's work, done before the clock starts: what is timed is
            # the server answering over loopback (addressed to the node's published URL,
            # with a nonce: every signature is accepted once)
            headers = (
                httpsig.sign_request(
                    "GET",
                    f"{PUBLISHED_URL}{target}",
                    body=b"",
                    key=key,
                    now=dt.datetime.now(dt.UTC),
                    nonce=secrets.token_urlsafe(12),
                )
                if key is not None
                else {}
            )
            started = time.perf_counter()
            connection.request("GET", target, headers=headers)
            response = connection.getresponse()
            body = response.read()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status != 200:
                errors[response.status] = errors.get(response.status, 0) + 1
                return None
            if record is not None:
                record.ms.append(elapsed)
            return json.loads(body)

        for index, tree_size in ipairs[:WARMUP]:
            get(f"{path}/inclusion", {"index": index, "size": tree_size}, None)
        budget = Budget(budget_seconds)
        for index, tree_size in ipairs:
            if budget.spent(len(result.inclusion.ms)):
                break
            answer = get(f"{path}/inclusion", {"index": index, "size": tree_size}, result.inclusion)
            result.checked += 1
            if answer is not None and (answer["index"], answer["size"]) == (index, tree_size):
                proof = [merkle_b64(h) for h in answer["hashes"]]
                result.verified += check_inclusion(ref, index, tree_size, proof)
        budget = Budget(budget_seconds)
        for old, new in cpairs:
            if budget.spent(len(result.consistency.ms)):
                break
            answer = get(f"{path}/consistency", {"from": old, "to": new}, result.consistency)
            result.checked += 1
            if answer is not None and (answer["from"], answer["to"]) == (old, new):
                proof = [merkle_b64(h) for h in answer["hashes"]]
                result.verified += check_consistency(ref, old, new, proof)
    finally:
        connection.close()
    return result


def merkle_b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


# ---------------------------------------------------------------------------------------------
# 3. Evidence bundle
# ---------------------------------------------------------------------------------------------


@dataclass
class EvidenceResult:
    bundle_bytes: int
    get_ms: float
    verify_ms: list[float]
    report_lines: int
    error: str | None


def bench_evidence(
    base: str, officer: str, auditor: str, runs: int, server_log: Path
) -> EvidenceResult:
    def failed(what: str, response: httpx.Response) -> EvidenceResult:
        say(f"{what}: {response.status_code} {response.text}\n--- denex serve log (tail) ---")
        say("\n".join(server_log.read_text(errors="replace").splitlines()[-40:]))
        return EvidenceResult(0, 0.0, [], 0, f"{what}: HTTP {response.status_code}")

    with httpx.Client(base_url=base, timeout=120) as http:
        response = http.post(
            "/api/v1/notices", json=notice_input(), headers={"Authorization": f"Bearer {officer}"}
        )
        if response.status_code != 201:
            return failed("POST /api/v1/notices", response)
        notice_id = response.json()["notice_id"]
        started = time.perf_counter()
        response = http.get(
            f"/api/v1/evidence/{notice_id}", headers={"Authorization": f"Bearer {auditor}"}
        )
        get_ms = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            return failed(f"GET /api/v1/evidence/{notice_id}", response)
    bundle = response.content
    error = None
    lines = 0
    try:
        lines = len(verify_bundle(bundle).lines)  # warm-up, and the check that it verifies
    except Exception as exc:  # report it in the table
        error = f"{type(exc).__name__}: {exc}"
    timings = []
    if error is None:
        for _ in range(runs):
            started = time.perf_counter()
            verify_bundle(bundle)
            timings.append((time.perf_counter() - started) * 1000)
    return EvidenceResult(len(bundle), get_ms, timings, lines, error)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def rows_for(
    with_tree: AppendResult,
    without: AppendResult,
    proofs: ProofResult,
    http: HttpProofResult,
    evidence: EvidenceResult,
) -> list[Row]:
    batches = len(without.batch_seconds)
    first_n, first_rate = with_tree.rate_of(slice(0, batches))
    last_n, last_rate = with_tree.rate_of(slice(-batches, None))
    ratio_all = with_tree.rate / without.rate
    ratio_first = first_rate / without.rate
    rows = [
        Row(
            f"append_own with tree + checkpoint, {with_tree.entries:,} entries, batches of {BATCH:,}",
            f"{with_tree.rate:,.0f} entries/s ({with_tree.seconds:.1f} s)",
            "(reference)",
            "",
        ),
        Row(
            f"baseline without tree (seal + bulk insert + log size), {without.entries:,} entries",
            f"{without.rate:,.0f} entries/s ({without.seconds:.1f} s)",
            "(reference)",
            "",
        ),
        Row(
            f"with tree: first {first_n:,} entries (interleaved with the baseline)",
            f"{first_rate:,.0f} entries/s",
            "(reference)",
            "",
        ),
        Row(
            f"with tree: last {last_n:,} entries (appends {with_tree.entries - last_n + 1:,}"
            f"-{with_tree.entries:,})",
            f"{last_rate:,.0f} entries/s",
            "(reference)",
            "",
        ),
        Row(
            f"ratio with tree / baseline: all {with_tree.entries:,} vs {without.entries:,}",
            f"{ratio_all:.3f}",
            f">= {RATIO_TARGET:.2f}",
            verdict(ratio_all >= RATIO_TARGET),
        ),
        Row(
            f"ratio with tree / baseline: first {first_n:,} each, same conditions",
            f"{ratio_first:.3f}",
            f">= {RATIO_TARGET:.2f}",
            verdict(ratio_first >= RATIO_TARGET),
        ),
    ]
    size = proofs.size
    for label, lat in (("inclusion", proofs.inclusion), ("consistency", proofs.consistency)):
        rows += [
            Row(
                f"{label} proof in-process, size {size:,}, {lat.count()} random: p50",
                f"{lat.p(50):.3f} ms",
                "",
                "",
            ),
            Row(
                f"{label} proof in-process, size {size:,}, {lat.count()} random: p95",
                f"{lat.p(95):.3f} ms",
                f"< {PROOF_P95_MS} ms",
                verdict(lat.p(95) < PROOF_P95_MS),
            ),
        ]
    small = min(SMALL_SIZE, size)
    bound = 2 * (size - 1).bit_length()
    rows += [
        Row(
            f"inclusion; consistency in-process at size <= {small:,}, same db "
            f"({len(proofs.small_inclusion.ms)}; {len(proofs.small_consistency.ms)}): p95",
            f"{proofs.small_inclusion.p(95):.3f}; {proofs.small_consistency.p(95):.3f} ms",
            "(O(log n) reference)",
            "",
        ),
        Row(
            "SQLite plan of a proof's tree_nodes query",
            proofs.plan,
            "SEARCH on (origin, level, idx)",
            verdict("level=" in proofs.plan and "idx=" in proofs.plan),
        ),
        Row(
            "subtree hashes one proof asks the database for, at most (without the cache)",
            f"{proofs.max_keys}",
            f"<= 2·log2(n) = {bound}",
            verdict(proofs.max_keys <= bound),
        ),
        Row(
            "subtree hashes in the in-process SubtreeCache at the end",
            f"{proofs.cached:,}",
            f"<= {tree.CACHE_ENTRIES:,}",
            verdict(proofs.cached <= tree.CACHE_ENTRIES),
        ),
    ]
    for label, lat in (("inclusion", http.inclusion), ("consistency", http.consistency)):
        if not lat.ms:
            rows.append(Row(f"GET .../proof/{label}", "no 200 answers", "", "MISSED"))
            continue
        rows += [
            Row(
                f"GET .../proof/{label}, size {size:,}, {lat.count()} sequential: p50",
                f"{lat.p(50):.2f} ms",
                "",
                "",
            ),
            Row(
                f"GET .../proof/{label}, size {size:,}, {lat.count()} sequential: p95",
                f"{lat.p(95):.2f} ms",
                f"< {HTTP_P95_MS:.0f} ms",
                verdict(lat.p(95) < HTTP_P95_MS),
            ),
        ]
    errors = sum(http.errors.values())
    checked = proofs.checked + http.checked
    verified = proofs.verified + http.verified
    rows += [
        Row(
            "GET .../proof/*: responses other than 200",
            f"{errors}" + (f" {http.errors}" if errors else ""),
            "0",
            verdict(errors == 0),
        ),
        Row(
            "proofs verified by merkle.verify_* against independently computed roots",
            f"{verified:,} of {checked:,}",
            "all",
            verdict(verified == checked),
        ),
        Row(
            "stored root = signed checkpoint root = root recomputed from the leaves",
            "yes" if proofs.root_ok else "NO",
            "yes",
            verdict(proofs.root_ok),
        ),
    ]
    if evidence.bundle_bytes:
        rows.append(
            Row(
                "evidence bundle: size; GET /api/v1/evidence/{id}",
                f"{evidence.bundle_bytes:,} bytes; {evidence.get_ms:.1f} ms",
                "(reference)",
                "",
            )
        )
    if evidence.error is not None:
        rows.append(
            Row(
                "evidence bundle: fetch and verify_bundle",
                evidence.error[:90],
                "verifies",
                "MISSED",
            )
        )
    else:
        median = statistics.median(evidence.verify_ms)
        rows.append(
            Row(
                f"verify_bundle offline, median of {len(evidence.verify_ms)}"
                f" ({evidence.report_lines} report lines)",
                f"{median:.2f} ms",
                f"< {VERIFY_MS:.0f} ms",
                verdict(median < VERIFY_MS),
            )
        )
    return rows


def markdown(
    rows: list[Row], args: argparse.Namespace, started: dt.datetime, host: str, wall: float
) -> str:
    lines = [
        f"## Log and proofs (bench/log.py), {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {host} (at the start of the run).  ",
        f"Run: `python bench/log.py --entries {args.entries} --baseline {args.baseline}`"
        f"{' (--quick)' if args.quick else ''}; SQLite, in-process appends in batches of "
        f"{BATCH:,} (baseline batches interleaved with the first with-tree batches), one "
        f"`denex serve` worker for HTTP; synthetic entries; {wall / 60:.1f} min in all.",
        "",
        "| measure | figure | target | |",
        "|---|---:|---|---|",
    ]
    lines += [f"| {r.measure} | {r.figure} | {r.target} | {r.verdict} |" for r in rows]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="entries to append")
    parser.add_argument(
        "--baseline", type=int, help="entries for the no-tree baseline (default min(200,000, N))"
    )
    parser.add_argument("--samples", type=int, default=2_000, help="in-process proofs of each kind")
    parser.add_argument("--requests", type=int, default=1_000, help="HTTP proofs of each kind")
    parser.add_argument("--runs", type=int, default=50, help="verify_bundle runs")
    parser.add_argument(
        "--budget",
        type=float,
        default=60.0,
        help=f"seconds per proof-latency series, once {MIN_SAMPLES} were measured",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 50,000 entries, 500 proofs, 300 requests"
    )
    parser.add_argument("--markdown", type=Path, help="append a results section to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    if args.quick:
        args.entries, args.samples, args.requests = 50_000, 500, 300
    if args.baseline is None:
        args.baseline = min(200_000, args.entries)
    if min(args.entries, args.baseline, args.samples, args.requests, args.runs) < 1:
        parser.error("counts must be positive")
    if args.entries < BATCH or args.baseline < BATCH:
        parser.error(f"--entries and --baseline must be at least {BATCH}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started, host = dt.datetime.now(dt.UTC), machine()
    clock = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="denex-bench-log-"))
    try:
        tree_dir, base_dir = work / "node", work / "baseline-node"
        init_node(tree_dir)
        init_node(base_dir)
        say(
            f"appending {args.entries:,} entries with the tree, {args.baseline:,} without "
            f"(batches of {BATCH:,}) in {work}"
        )
        with_tree, without = asyncio.run(
            bench_appends(tree_dir, base_dir, args.entries, args.baseline)
        )
        shutil.rmtree(base_dir, ignore_errors=True)
        say("recomputing the tree from the entries' leaf hashes (reference for verification)")
        ref = asyncio.run(_reference(tree_dir))
        say(f"timing {args.samples:,} inclusion and consistency proofs in-process")
        proofs = asyncio.run(bench_proofs(tree_dir, ref, args.samples, args.budget))
        auditor = denex(tree_dir, "token", "create", "--role", "auditor", "--name", "bench-audit")
        officer = denex(tree_dir, "token", "create", "--role", "officer", "--name", "bench-off")
        peer = add_bench_peer(tree_dir, work)
        with serving(tree_dir, work / "serve.log") as base:
            say(f"timing {args.requests:,} proofs of each kind over HTTP ({base}), as a peer")
            http = http_proofs(base, peer, NODE_ID, ref, proofs.size, args.requests, args.budget)
            say("publishing a notice, fetching and verifying its evidence bundle")
            evidence = bench_evidence(base, officer, auditor, args.runs, work / "serve.log")
        wall = time.perf_counter() - clock
        rows = rows_for(with_tree, without, proofs, http, evidence)
        print(f"\ndenex log benchmark ({host}); {wall / 60:.1f} min in all\n")
        print(text_table(rows))
        if args.markdown:
            with args.markdown.open("a", encoding="utf-8") as out:
                out.write("\n" + markdown(rows, args, started, host, wall))
            say(f"appended the results to {args.markdown}")
    finally:
        if args.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


async def _reference(data_dir: Path) -> ReferenceTree:
    db = Database(settings_for(data_dir).resolved_database_url)
    try:
        count = 0
        async with db.read() as session:
            count = int(
                await session.scalar(
                    select(func.count()).select_from(EntryRow).where(EntryRow.origin == NODE_ID)
                )
                or 0
            )
        ref = await reference_tree(db, NODE_ID)
        if ref.size != count:
            sys.exit(f"reference tree has {ref.size} leaves, entries table {count}")
        return ref
    finally:
        await db.dispose()


if __name__ == "__main__":
    sys.exit(main())
