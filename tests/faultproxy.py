"""A small fault-injecting TCP proxy for system tests, between real node processes.

It listens on 127.0.0.1, forwards every connection to one upstream port, and applies the
current `mode` to what the upstream answers: pass it, delay it, drop the connection, cut it
short, flip one byte past the HTTP headers of large answers, inflate large answers with
whitespace inside their JSON (Content-Length rewritten, so only the size is wrong), or
rewrite the JSON of entry pages (`edit`: forge them as a lying peer would, tests/forgery.py). The mode
can change while it runs (`proxy.mode = Fault("corrupt")`). It runs its own event loop on a
thread.
"""

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Fault:
    kind: str = "pass"  # pass | delay | drop | truncate | corrupt | inflate | rewrite
    seconds: float = 0.0  # delay: before each answer is passed on
    keep: int = 200  # truncate: bytes of each answer passed before the connection is cut
    larger_than: int = 2000  # corrupt, inflate: only answers at least this big (entry pages)
    to: int = 9 * 1024 * 1024  # inflate: the body size it is padded to
    edit: Callable[[Any], None] | None = None  # rewrite: changes an entry page in place


class FaultProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.mode = Fault()
        self.port = _free_port()
        self.connections = 0
        self.page_requests = 0  # requests for entry pages passed upstream
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.base_events.Server | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "FaultProxy":
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", self.port)
        )
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            with contextlib.suppress(Exception):
                self._loop.run_until_complete(self._server.wait_closed())
            self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        mode = self.mode
        if mode.kind == "drop":
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return

        async def upstream() -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await reader.read(65536):
                    self.page_requests += data.count(b"/entries?")
                    up_writer.write(data)
                    await up_writer.drain()
            up_writer.close()

        async def downstream() -> None:
            if self.mode.kind in ("inflate", "rewrite"):
                await _framed(up_reader, writer, self.mode)
                return
            sent = 0
            answer = bytearray()
            with contextlib.suppress(OSError, ConnectionError):
                while data := await up_reader.read(65536):
                    current = self.mode
                    if current.kind == "delay":
                        await asyncio.sleep(current.seconds)
                    if current.kind == "truncate":
                        allowed = max(0, current.keep - sent)
                        writer.write(data[:allowed])
                        await writer.drain()
                        sent += min(allowed, len(data))
                        if sent >= current.keep:
                            break
                        continue
                    if current.kind == "corrupt":
                        answer.extend(data)
                        data = bytes(_corrupt(answer, len(data), current.larger_than))
                    writer.write(data)
                    await writer.drain()
            writer.close()

        await asyncio.gather(upstream(), downstream())


def _changed(body: bytes, mode: Fault) -> bytes:
    if mode.kind == "inflate":
        if len(body) < mode.larger_than:
            return body
        return body[:-1] + b" " * (mode.to - len(body)) + body[-1:]
    if mode.edit is None:
        return body
    try:
        doc = json.loads(body)
    except ValueError:
        return body
    if not isinstance(doc, dict) or not doc.get("entries"):
        return body  # only pages of entries are forged
    mode.edit(doc)
    return json.dumps(doc).encode()


async def _framed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, mode: Fault) -> None:
    """Pass answers one by one (Content-Length framed, as uvicorn sends JSON), each body
    changed by `mode` (inflated, or its entry page rewritten) and its Content-Length fixed."""
    with contextlib.suppress(OSError, ConnectionError, asyncio.IncompleteReadError):
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in lines
                if line.lower().startswith(b"content-length:")
            )
            body = await reader.readexactly(length)
            changed = _changed(body, mode)
            if changed is not body:
                body = changed
                lines = [
                    b"content-length: %d" % len(body)
                    if line.lower().startswith(b"content-length:")
                    else line
                    for line in lines
                ]
                head = b"\r\n".join(lines)
            writer.write(head + body)
            await writer.drain()
    writer.close()


def _corrupt(answer: bytearray, chunk: int, larger_than: int) -> bytes:
    """The last `chunk` bytes of `answer`, with one byte flipped in the body of a large
    answer (the middle of what arrived so far, past the headers)."""
    start = len(answer) - chunk
    body_at = answer.find(b"\r\n\r\n") + 4
    if len(answer) >= larger_than and body_at > 3:
        target = body_at + (len(answer) - body_at) // 2
        if target >= start and answer[target] not in b'"\\':
            answer[target] ^= 0x01
    return bytes(answer[start:])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def proxy(upstream_port: int) -> Iterator[FaultProxy]:
    with FaultProxy(upstream_port) as running:
        yield running
