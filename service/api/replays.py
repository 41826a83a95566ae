"""Each federation request signature is accepted once (DESIGN §5): the replay cache.

A verified signature's replay key (federation.core.httpsig.Verified.replay_key) is stored until
its `created` window ends; storing it a second time fails, and that request is refused as a
replay. The store is a small SQLite file in the node's data directory
(`request-signatures.sqlite`, mode 0600), shared by every worker process of the node (they
share the data directory, as they share its keys and `sync.lock`), and kept apart from the
node's database: one write per request there would make every reader of `node.db` drop its
page cache (a proof over HTTP went from 2 to 7 ms). It holds nothing but digests of recent
signatures, so it needs no migrations: the table is created if missing.

Bounded: only signatures that verified under an active peer's key are stored, and each peer
may have at most `PER_PEER` of them live in this process's window (an honest peer sends a
few hundred a minute while catching up); past that it gets 429 until some expire. So the
file holds at most about peers x processes x PER_PEER rows. Expired rows are deleted at most
once a minute per process.
"""

import asyncio
import heapq
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from federation.core.httpsig import WINDOW_SECONDS, Verified
from service.errors import PeerAuthenticationError, TooManyRequests

FILE = "request-signatures.sqlite"
PER_PEER = 20_000  # live accepted signatures per peer and process
PRUNE_EVERY = 60  # seconds between two deletions of expired rows
BUSY_TIMEOUT_MS = 10_000  # another worker's insert holds the lock for microseconds

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS request_signatures (digest BLOB PRIMARY KEY, "
    "peer TEXT NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS ix_request_signatures_expires_at "
    "ON request_signatures (expires_at)",
)
INSERT_ONCE = (
    "INSERT INTO request_signatures (digest, peer, expires_at) VALUES (?, ?, ?) "
    "ON CONFLICT (digest) DO NOTHING"
)
PRUNE = "DELETE FROM request_signatures WHERE expires_at < ?"


@dataclass
class ReplayCache:
    """One per app: the store's connection, the peers' live signatures (their expiry times,
    for the bound) and when expired rows were last pruned."""

    path: Path
    window: int = WINDOW_SECONDS
    per_peer: int = PER_PEER
    _live: dict[str, list[int]] = field(default_factory=dict)
    _pruned_at: int = 0
    _connection: sqlite3.Connection | None = None
    _turn: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def in_dir(cls, data_dir: Path) -> "ReplayCache":
        return cls(data_dir / FILE)

    async def admit(self, verified: Verified, *, peer: str, now: int) -> None:
        """Record `verified` as used now. Raise PeerAuthenticationError if it was used
        before, TooManyRequests if `peer` is past its bound."""
        live = self._live.setdefault(peer, [])
        while live and live[0] <= now:
            heapq.heappop(live)
        if len(live) >= self.per_peer:
            raise TooManyRequests(
                f"{peer} sent more than {self.per_peer} signed requests in {self.window} s"
            )
        expires = max(verified.created, now) + self.window
        async with self._turn:  # one statement at a time on the connection
            if now - self._pruned_at >= PRUNE_EVERY:
                self._pruned_at = now
                await self._run(PRUNE, (now,))
            stored = await self._run(INSERT_ONCE, (verified.replay_key, peer, expires))
        if not stored:
            raise PeerAuthenticationError(
                "this request signature was already used: each is accepted once (a replay?)"
            )
        heapq.heappush(live, expires)

    async def _run(self, sql: str, params: tuple[object, ...]) -> int:
        """One autocommit statement, on the loop (microseconds); if another worker holds
        the file's lock, waited for on a worker thread."""
        connection = self._connect()
        try:
            return int(connection.execute(sql, params).rowcount)
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF != sqlite3.SQLITE_BUSY:
                raise
        return await asyncio.to_thread(_patiently, connection, sql, params)

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)  # private from the start
            os.close(fd)
            connection = sqlite3.connect(
                self.path, timeout=0, isolation_level=None, check_same_thread=False
            )
            connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            for statement in SCHEMA:
                connection.execute(statement)
            connection.execute("PRAGMA busy_timeout=0")
            self._connection = connection
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _patiently(connection: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> int:
    connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    try:
        return int(connection.execute(sql, params).rowcount)
    finally:
        connection.execute("PRAGMA busy_timeout=0")
