"""Checking a page of a followed log on every core: `Follower.check`, split across worker
processes (`workers.pool`). Owns nothing but the split; what is checked, and the result,
are exactly `federation.core.follow`'s. The workers run `check_chunk` and so import this
module and the federation core, never the service.

Each worker checks one contiguous chunk of the page with the key state the follower has at
the page's start. Key state only changes at key statements (rare), so that is almost always
the right state; when a chunk turns out to hold a key statement, the chunks after it are
checked again here, in order, with the state it produced. The first entry that fails, in seq
order, is the one reported, and nothing of a failing page is accepted. A worker that fails
or dies costs nothing but time: the page is checked in this process instead.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from federation.core import keystate
from federation.core.entry import KEY_TYPES
from federation.core.follow import Accepted, Follower, PageError, WireEntry
from workers import pool

MIN_PARALLEL_ENTRIES = 200  # below this, a page is checked in this process (no hand-off)

_Wire = tuple[int, bytes, bytes, bytes | None, bytes | None]
_Verdict = tuple[str, datetime, tuple[str, ...], str, str | None, bool, bytes | None]


@dataclass(frozen=True)
class Chunk:
    federation: str
    origin: str
    me: str
    root_key: bytes
    size: int
    state: keystate.KeyState
    wires: list[_Wire]


@dataclass(frozen=True)
class Checked:
    verdicts: list[_Verdict]  # the entries accepted, in order, until `error`
    error: str | None
    state: keystate.KeyState
    key_statements: bool


def check_chunk(chunk: Chunk) -> Checked:
    """In a worker: `Follower.check` of one chunk; compact verdicts, not the entries."""
    follower = Follower(
        federation=chunk.federation,
        origin=chunk.origin,
        root_key=chunk.root_key,
        me=chunk.me,
        size=chunk.size,
        state=chunk.state,
    )
    try:
        accepted = follower.check([WireEntry(*wire) for wire in chunk.wires])
    except PageError as exc:
        return Checked([], str(exc), chunk.state, False)
    return Checked(
        [
            (a.type, a.issued_at, a.audience, a.key_id, a.flag, a.withheld, a.subject)
            for a in accepted
        ],
        None,
        follower.state,
        any(a.type in KEY_TYPES for a in accepted),
    )


class VerifyPool:
    """`Follower.check` of a page on the worker processes of `workers` (this process's shared
    pool unless one is given)."""

    def __init__(self, workers: pool.Pool | None = None) -> None:
        self._pool = workers

    @property
    def pool(self) -> pool.Pool:
        return self._pool or pool.shared()

    def close(self) -> None:
        self.pool.close()

    async def check(self, follower: Follower, page: Sequence[WireEntry]) -> list[Accepted]:
        """`follower.check(page)`, the work shared by the workers; the event loop runs on
        meanwhile (the next page keeps downloading)."""
        workers = self.pool.workers
        if workers < 2 or len(page) < MIN_PARALLEL_ENTRIES:
            return follower.check(page)
        step = -(-len(page) // workers)
        bounds = [(lo, min(lo + step, len(page))) for lo in range(0, len(page), step)]
        chunks = [
            Chunk(
                follower.federation,
                follower.origin,
                follower.me,
                follower.root_key,
                follower.size + lo,
                follower.state,
                [(w.seq, w.leaf_hash, w.envelope, w.salt, w.body) for w in page[lo:hi]],
            )
            for lo, hi in bounds
        ]
        try:
            results = await self.pool.run(check_chunk, chunks)
        except pool.WorkerFailed:
            return follower.check(page)
        accepted: list[Accepted] = []
        state, stale = follower.state, False
        for (lo, hi), checked in zip(bounds, results, strict=True):
            if stale:  # an earlier chunk changed the key state: check this one again, here
                again = Follower(
                    follower.federation,
                    follower.origin,
                    follower.root_key,
                    follower.me,
                    size=follower.size + lo,
                    state=state,
                )
                accepted += again.check(page[lo:hi])
                state = again.state
                continue
            if checked.error is not None:
                raise PageError(checked.error)
            accepted += [
                Accepted(page[lo + n], *verdict) for n, verdict in enumerate(checked.verdicts)
            ]
            state, stale = checked.state, checked.key_statements
        follower.state, follower.size = state, follower.size + len(accepted)
        return accepted


_shared: VerifyPool | None = None


def shared() -> VerifyPool:
    """This process's verify pool, on this process's shared workers."""
    global _shared
    if _shared is None:
        _shared = VerifyPool()
    return _shared
