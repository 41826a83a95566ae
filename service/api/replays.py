"""Each federation request signature is accepted once (DESIGN §5): the replay cache.

A verified signature's replay key (federation.httpsig.Verified.replay_key) is stored in the
node's database until its `created` window ends; storing it a second time fails, and that
request is refused as a replay. The database makes this hold across every worker process
of a node (and every host serving one PostgreSQL database). Rows past their window are
deleted as new ones come in, at most once a minute per process.

Bounded: only signatures that verified under an active peer's key are stored, and each
peer may have at most `PER_PEER` of them live in this process's window (an honest peer
sends a few hundred a minute while catching up); past that it gets 429 until some expire.
So the table holds at most about peers x processes x PER_PEER rows.
"""

import heapq
from dataclasses import dataclass, field

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from federation.httpsig import WINDOW_SECONDS, Verified
from service.errors import PeerAuthenticationError, TooManyRequests
from service.storage.database import Database
from service.storage.models import RequestSignatureRow

PER_PEER = 20_000  # live accepted signatures per peer and process
PRUNE_EVERY = 60  # seconds between two deletions of expired rows


@dataclass
class ReplayCache:
    """Per app: the peers' live signatures (expiry times, for the bound) and when expired
    rows were last pruned. What was accepted is in the database, not here."""

    window: int = WINDOW_SECONDS
    per_peer: int = PER_PEER
    _live: dict[str, list[int]] = field(default_factory=dict)
    _pruned_at: int = 0

    async def admit(self, db: Database, verified: Verified, *, peer: str, now: int) -> None:
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
        async with db.write() as session:
            if now - self._pruned_at >= PRUNE_EVERY:
                self._pruned_at = now
                await session.execute(
                    delete(RequestSignatureRow).where(RequestSignatureRow.expires_at < now)
                )
            values = {"digest": verified.replay_key, "peer": peer, "expires_at": expires}
            stored = await session.execute(_insert_once(db.dialect).values(**values))
        if not stored.rowcount:  # type: ignore[attr-defined]
            raise PeerAuthenticationError(
                "this request signature was already used: each is accepted once (a replay?)"
            )
        heapq.heappush(live, expires)


def _insert_once(dialect: str) -> Insert:
    """INSERT that stores nothing (row count 0) when the digest is already there."""
    if dialect == "postgresql":
        return postgresql.insert(RequestSignatureRow).on_conflict_do_nothing()
    return sqlite.insert(RequestSignatureRow).on_conflict_do_nothing()
