"""A pool of worker processes that run jobs: `Pool.run(function, arguments)` calls a
module-level `function` on each argument in a worker, concurrently, and returns the results
in order. The function travels by reference (its module and name), so a worker imports that
module and nothing else of the caller's: a plain `python -m workers.pool` process fed over its
standard input (ours, so trusted), not a multiprocessing pool that imports the parent's main
module (the whole CLI). It starts in a fraction of a second with ~30 MB.

Workers die with this process, even by SIGKILL (`workers.lifeline`): they are started from
the thread that runs the event loop. A worker that fails or dies raises `WorkerFailed` and
the pool is closed (restarted on next use); the caller does the work itself instead.
"""

import asyncio
import atexit
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import IO, Any, TypeVar, cast

T = TypeVar("T")
R = TypeVar("R")


class WorkerFailed(Exception):
    """A worker died, or its job raised: the caller does that work in its own process."""


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
    """A worker's loop: (function, argument) in, ("ok", result) or ("failed", why) out,
    until its input closes."""
    while True:
        try:
            request = _receive(requests)
        except EOFError:
            return
        function, argument = cast(tuple[Callable[[Any], Any], Any], request)
        try:
            answer: tuple[str, Any] = ("ok", function(argument))
        except Exception as exc:  # reported to the caller, which does the job itself
            answer = ("failed", f"{type(exc).__name__}: {exc}")
        _send(answers, answer)


class _Worker:
    """One worker process, used by one thread at a time."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "workers.pool", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        self.lock = threading.Lock()

    def call(self, function: Callable[[Any], Any], argument: Any) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            with self.lock:
                _send(self.process.stdin, (function, argument))
                answer = _receive(self.process.stdout)
        except (OSError, EOFError, pickle.PickleError) as exc:
            raise WorkerFailed(f"a worker process failed: {exc}") from exc
        if not isinstance(answer, tuple) or len(answer) != 2 or answer[0] != "ok":
            raise WorkerFailed(f"a job failed in a worker: {answer!r:.200}")
        return answer[1]

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


class Pool:
    """Worker processes, started on first use. Usable from any event loop (the hand-off runs
    on the loop's default thread pool); `close` ends them."""

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

    async def run(self, function: Callable[[T], R], arguments: Sequence[T]) -> list[R]:
        """`[function(a) for a in arguments]`, at most one argument a worker at a time (so
        give at most `workers` of them for all to run at once). Raises WorkerFailed (the
        pool is closed; the next call starts new workers)."""
        loop = asyncio.get_running_loop()
        workers = self._get()  # started from the loop's thread (`workers.lifeline`)
        try:
            return list(
                await asyncio.gather(
                    *(
                        loop.run_in_executor(None, workers[n % len(workers)].call, function, a)
                        for n, a in enumerate(arguments)
                    )
                )
            )
        except WorkerFailed:
            await loop.run_in_executor(None, self.close)
            raise


_shared: Pool | None = None


def shared() -> Pool:
    """This process's pool, made on first use and closed at exit."""
    global _shared
    if _shared is None:
        _shared = Pool()
        atexit.register(_shared.close)
    return _shared


if __name__ == "__main__":  # `python -m workers.pool PARENT_PID`: a worker
    from workers import pool  # the module's own functions, not this `__main__` copy's
    from workers.lifeline import die_with_parent

    die_with_parent(int(sys.argv[1]))  # a killed parent leaves no worker, even mid-job
    pool._serve(sys.stdin.buffer, sys.stdout.buffer)
