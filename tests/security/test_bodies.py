"""Bodies are refused before they are buffered (issue 11 item 5), against a real `denex serve`:
a chunked 300 MB body with fake signature headers to `POST /federation/v1/hint`, the same
to an officer endpoint, and a declared 300 MB length, each get 413 after at most the cap is
read, and the server's peak memory does not move."""

from __future__ import annotations

import select
import socket
import time
from pathlib import Path

import pytest

from tests.security.conftest import RingFactory
from tests.system.test_federation import Member

pytestmark = pytest.mark.system

HUGE = 300 * 1024 * 1024
CHUNK = 256 * 1024


def peak_rss_mb(member: Member) -> float:
    """The server process's peak resident memory (VmHWM), in MiB."""
    assert member.process is not None
    status = Path(f"/proc/{member.process.pid}/status").read_text()
    [line] = [ln for ln in status.splitlines() if ln.startswith("VmHWM:")]
    return int(line.split()[1]) / 1024


def _answer(sock: socket.socket) -> bytes:
    sock.settimeout(30)
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        if not more:
            break
        data += more
    return data


def send_chunked(port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes, int]:
    """POST `path` with a chunked body of up to HUGE bytes, stopping as soon as the server
    answers; returns (status, answer head, bytes of body sent)."""
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Transfer-Encoding: chunked"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    sock = socket.create_connection(("127.0.0.1", port))
    with sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        chunk = f"{CHUNK:x}\r\n".encode() + b" " * CHUNK + b"\r\n"
        sent = 0
        while sent < HUGE:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += CHUNK
        head = _answer(sock)
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1 ") else 0
    return status, head, sent


def test_huge_bodies_are_refused_without_being_buffered(ring: RingFactory) -> None:
    net = ring("de-bafa")
    de = net["de-bafa"]
    net.serve("de-bafa")
    time.sleep(1)  # settle: the start-up check and first round are done
    before = peak_rss_mb(de)
    fake_signature = {
        "Content-Type": "application/json",
        "Signature-Input": 'sig1=("@method" "@authority" "@path" "@query");created=1;keyid="x"',
        "Signature": "sig1=:AAAA:",
    }
    status, head, sent = send_chunked(de.port, "/federation/v1/hint", fake_signature)
    assert status == 413, head
    assert sent < 64 * 1024 * 1024, sent  # refused long before the end of the body
    officer = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {de.node.tokens['officer']}",
    }
    status, head, sent = send_chunked(de.port, "/api/v1/notices", officer)
    assert status == 413, head
    assert sent < 64 * 1024 * 1024, sent

    # a declared length over the cap: refused at once, before any body is sent
    with socket.create_connection(("127.0.0.1", de.port)) as sock:
        sock.sendall(
            (
                "POST /federation/v1/hint HTTP/1.1\r\nHost: x\r\n"
                f"Content-Type: application/json\r\nContent-Length: {HUGE}\r\n\r\n"
            ).encode()
        )
        assert _answer(sock).startswith(b"HTTP/1.1 413 ")

    assert peak_rss_mb(de) - before < 40, (before, peak_rss_mb(de))
    notices = de.officer("GET", "/api/v1/notices").json()["items"]
    assert notices == []
    assert de.officer("GET", "/api/v1/notices").status_code == 200  # still serving
