"""Checking a page of a followed log on every core: `Follower.check`, split across worker
processes. Owns nothing but the split and the pool; what is checked, and the result, are
exactly `federation.core.follow`'s.

Each worker checks one contiguous chunk of the page with the key state the follower has at
the page's start. Key state only changes at key statements (rare), so that is almost always
the right state; when a chunk turns out to hold a key statement, the chunks after it are
checked again here, in order, with the state it produced. The first entry that fails, in seq
order, is the one reported, and nothing of a failing page is accepted.

The workers are plain `python -m federation.network.verify_pool` processes fed pickled chunks over
their standard input (ours, so trusted): unlike a multiprocessing pool they do not import the
parent's main module (the whole CLI), so they start in a fraction of a second with ~30 MB.
A worker that fails or dies is dropped and the page is checked in this process instead.
Workers die with this process, even by SIGKILL (`federation.network.lifeline`): they are started
from the thread that runs the event loop.
"""

import asyncio
import atexit
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from federation.core import keystate
from federation.core.entry import KEY_TYPES
from federation.core.follow import Accepted, Follower, PageError, WireEntry

MIN_PARALLEL_ENTRIES = 200  # below this, a page is checked in this process (no hand-off)

_Wire = tuple[int, bytes, bytes, bytes | None, bytes | None]
_Verdict = tuple[str, datetime, tuple[str, ...], str, str | None, bool]


Prepare = Callable[[str, list[Accepted]], Any]  # a module-level function: sent by reference


@dataclass(frozen=True)
class _Chunk:
    federation: str
    origin: str
    me: str
    root_key: bytes
    size: int
    state: keystate.KeyState
    wires: list[_Wire]
    prepare: Prepare | None = None


@dataclass(frozen=True)
class _Checked:
    verdicts: list[_Verdict]  # the entries accepted, in order, until `error`
    error: str | None
    state: keystate.KeyState
    key_statements: bool
    prepared: Any = None  # `prepare(origin, accepted)`, when asked for


def _check_chunk(chunk: _Chunk) -> _Checked:
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
        return _Checked([], str(exc), chunk.state, False)
    return _Checked(
        [(a.type, a.issued_at, a.audience, a.key_id, a.flag, a.withheld) for a in accepted],
        None,
        follower.state,
        any(a.type in KEY_TYPES for a in accepted),
        None if chunk.prepare is None else chunk.prepare(chunk.origin, accepted),
    )


def _send(stream: IO[bytes], value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(data).to_bytes(8, "big") + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> object:
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError
    data = stream.read(int.from_bytes(head, "big"))
    return pickle.loads(data)  # noqa: S301 (between this process and its own worker)


def _serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """A worker's loop: chunks in, verdicts out, until its input closes."""
    while True:
        try:
            chunk = _receive(requests)
        except EOFError:
            return
        if not isinstance(chunk, _Chunk):
            raise TypeError("a verify worker takes _Chunk requests")
        _send(answers, _check_chunk(chunk))


class _Worker:
    """One worker process, used by one thread at a time."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "federation.network.verify_pool", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        self.lock = threading.Lock()

    def call(self, chunk: _Chunk) -> _Checked:
        assert self.process.stdin is not None and self.process.stdout is not None
        with self.lock:
            _send(self.process.stdin, chunk)
            checked = _receive(self.process.stdout)
        if not isinstance(checked, _Checked):
            raise TypeError("a verify worker answered something else")
        return checked

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()  # the worker's loop ends
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


class VerifyPool:
    """Worker processes that check pages for `Follower`s, started on first use. Usable from
    any event loop (the hand-off runs on the loop's default thread pool); `close` ends them."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._started: list[_Worker] = []
        self._lock = threading.Lock()

    def _get(self) -> list[_Worker]:
        with self._lock:
            if not self._started:
                self._started = [_Worker() for _ in range(self.workers)]
            return list(self._started)

    def close(self) -> None:
        with self._lock:
            started, self._started = self._started, []
        for worker in started:
            worker.close()

    async def check(self, follower: Follower, page: Sequence[WireEntry]) -> list[Accepted]:
        """`follower.check(page)`, the work shared by the workers; the event loop runs on
        meanwhile (the next page keeps downloading)."""
        accepted, _prepared = await self.check_and_prepare(follower, page)
        return accepted

    async def check_and_prepare(
        self, follower: Follower, page: Sequence[WireEntry], prepare: Prepare | None = None
    ) -> tuple[list[Accepted], list[Any]]:
        """`check`, and in each worker `prepare(origin, accepted)` on the entries it accepted
        (work of the caller's that needs only them, done beside this process): one result
        per chunk, in page order. None stands for a chunk checked in this process (a small
        page, a failed worker, a chunk after a key statement): the caller does that work."""
        if self.workers < 2 or len(page) < MIN_PARALLEL_ENTRIES:
            return follower.check(page), []
        loop = asyncio.get_running_loop()
        step = -(-len(page) // self.workers)
        bounds = [(lo, min(lo + step, len(page))) for lo in range(0, len(page), step)]
        chunks = [
            _Chunk(
                follower.federation,
                follower.origin,
                follower.me,
                follower.root_key,
                follower.size + lo,
                follower.state,
                [(w.seq, w.leaf_hash, w.envelope, w.salt, w.body) for w in page[lo:hi]],
                prepare,
            )
            for lo, hi in bounds
        ]
        try:
            workers = self._get()  # handed over at once: the caller may not yield for a while
            results = await asyncio.gather(
                *(
                    loop.run_in_executor(None, worker.call, chunk)
                    for worker, chunk in zip(workers, chunks, strict=False)
                )
            )
        except (OSError, EOFError, TypeError, pickle.PickleError):  # a worker failed or died
            await loop.run_in_executor(None, self.close)
            return follower.check(page), []
        accepted: list[Accepted] = []
        prepared: list[Any] = []
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
                prepared.append(None)
                state = again.state
                continue
            if checked.error is not None:
                raise PageError(checked.error)
            accepted += [
                Accepted(page[lo + n], *verdict) for n, verdict in enumerate(checked.verdicts)
            ]
            prepared.append(checked.prepared)
            state, stale = checked.state, checked.key_statements
        follower.state, follower.size = state, follower.size + len(accepted)
        return accepted, prepared


_shared: VerifyPool | None = None


def shared() -> VerifyPool:
    """This process's pool, made on first use and closed at exit."""
    global _shared
    if _shared is None:
        _shared = VerifyPool()
        atexit.register(_shared.close)
    return _shared


if __name__ == "__main__":  # run as `python -m federation.network.verify_pool PARENT_PID`: the
    from federation.network import verify_pool  # module's own classes, not this `__main__` copy's,
    from federation.network.lifeline import die_with_parent  # so that pickles match

    die_with_parent(int(sys.argv[1]))  # a killed parent leaves no worker, even mid-chunk
    verify_pool._serve(sys.stdin.buffer, sys.stdout.buffer)
