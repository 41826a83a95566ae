"""A real node for the HTTP part of bench/screening.py: the synthetic notices of 40 origins
stored as signed entries, then screened through `denex serve`.

`populate` initialises a node (`denex init`) and stores every notice the way sync stores a
partner's entries: each origin has its own Ed25519 key; its notices become consecutive
`notice.published` entries of its log (Merkle tree and a signed checkpoint per batch), with
the derived notice tables, in one transaction per batch and origin. `http_latency` starts
`denex serve` on it, times the first screening (which waits for the live index to load from
the database) and then each application over one keep-alive HTTP/1.1 connection.
"""

import asyncio
import datetime as dt
import http.client
import json
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.publish import denex, init_node, serving
from federation.core.entry import Draft
from federation.storage.log import append_own
from keys.canonical import canonical_bytes
from keys.ed25519 import KeyPair
from service.derivation import derive
from service.runtime import open_node
from service.settings import Settings

NODE_ID = "de-bench"  # bench/publish.py's node id
BATCH = 20_000


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, insecure_dev_keys=True, insecure_dev_http=True)


async def _store(
    data_dir: Path, bodies: Iterable[tuple[str, dict[str, Any]]], now: dt.datetime
) -> int:
    db, node = await open_node(_settings(data_dir), upgrade=False)
    keys: dict[str, KeyPair] = {}
    stored = 0
    try:
        batch: dict[str, list[Draft]] = defaultdict(list)

        async def flush() -> int:
            count = 0
            for origin, drafts in sorted(batch.items()):
                key = keys.setdefault(origin, KeyPair.generate())
                async with db.write() as session:
                    sealed = await append_own(
                        session,
                        federation=node.identity.federation,
                        origin=origin,
                        drafts=drafts,
                        signer=lambda _type, key=key: key,
                        checkpoint_key=key,
                        now=now,
                    )
                    await derive(session, sealed)
                count += len(drafts)
            batch.clear()
            return count

        pending = 0
        for origin, body in bodies:
            audience = tuple(sorted({origin, NODE_ID}))
            batch[origin].append(Draft("notice.published", canonical_bytes(body), audience, now))
            pending += 1
            if pending >= BATCH:
                stored += await flush()
                pending = 0
                print(f"  stored {stored:,} notices", flush=True)
        stored += await flush()
    finally:
        await db.dispose()
    return stored


def populate(data_dir: Path, bodies: Iterable[tuple[str, dict[str, Any]]]) -> tuple[int, float]:
    """A fresh node in `data_dir` holding `bodies`; (count, seconds)."""
    init_node(data_dir)
    started = time.perf_counter()
    count = asyncio.run(_store(data_dir, bodies, dt.datetime.now(dt.UTC)))
    return count, time.perf_counter() - started


_LOADED = re.compile(r"screening index loaded: (\d+) notices in ([0-9.]+) s")


@dataclass
class HttpLatency:
    first_ms: float  # the first screening: waits for the index to load from the database
    load_seconds: float | None  # the index load as `denex serve` logged it
    latencies_ms: list[float]
    matches: list[int]
    errors: int


def _post(conn: http.client.HTTPConnection, token: str, body: bytes) -> tuple[int, bytes]:
    conn.request(
        "POST",
        "/api/v1/screenings",
        body=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    response = conn.getresponse()
    return response.status, response.read()


def http_latency(data_dir: Path, applications: Sequence[dict[str, Any]], log: Path) -> HttpLatency:
    """Screen each application once through `denex serve` (one client, one connection)."""
    token = denex(data_dir, "token", "create", "--role", "officer", "--name", "bench-screening")
    bodies = [json.dumps(app).encode() for app in applications]
    with serving(data_dir, log) as base:
        host, port = base.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=600)
        started = time.perf_counter()
        status, _ = _post(conn, token, bodies[0])
        first = (time.perf_counter() - started) * 1000
        latencies, matches, errors = [], [], 0 if status == 201 else 1
        for body in bodies:
            started = time.perf_counter()
            status, answer = _post(conn, token, body)
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 201:
                errors += 1
            else:
                matches.append(len(json.loads(answer)["matches"]))
        conn.close()
    loaded = _LOADED.search(log.read_text(encoding="utf-8", errors="replace"))
    return HttpLatency(
        first, float(loaded.group(2)) if loaded else None, latencies, matches, errors
    )
