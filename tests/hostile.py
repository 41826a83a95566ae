"""A hostile roster member, for the security tests: what a partner that turned adversary has.

`Hostile.make("aq-rogue", federation=...)` holds real keys (root and signing), a root-signed
card naming its own HTTP server on 127.0.0.1 (so honest nodes add it with `denex peer add`
like any partner), and a log it writes itself: entries sealed with its real keys, so honest
nodes verify them. Its server (`with hostile:` starts it) answers the federation protocol
honestly from that log by default; a test replaces any answer (`hostile.answer(path, fn)`)
to lie about sizes, serve forged pages, or cosign what it likes. Every request it receives is
kept (`hostile.received`): the signed requests honest peers send it are exactly what such a
member would replay. `hostile.client()` signs requests as this member (RFC 9421).

Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from federation.core import merkle
from federation.core.checkpoint import Checkpoint, origin_line, sign_checkpoint
from federation.core.entry import (
    SALT_BYTES,
    SUBJECT_TYPES,
    Draft,
    SealedEntry,
    content_hash,
    format_time,
    seal,
)
from federation.network.client import PeerAuth
from keys.canonical import canonical_bytes
from keys.card import card_body, make_card
from keys.dsse import ENTRY_TYPE, sign_envelope
from keys.ed25519 import KeyPair, b64

HOST = "127.0.0.1"
Answer = Callable[[Request], Response]


@dataclass(frozen=True)
class Received:
    """One request the hostile server got, as it arrived."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)

    @property
    def target(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Hostile:
    node_id: str
    federation: str
    root: KeyPair
    signing: KeyPair
    port: int
    country: str = "AQ"
    regimes: tuple[str, ...] = ("EU", "HRI", "WA")
    entries: list[SealedEntry] = field(default_factory=list)
    withheld: set[int] = field(default_factory=set)  # seqs served without their content
    received: list[Received] = field(default_factory=list)
    answers: dict[str, Answer] = field(default_factory=dict)
    _server: uvicorn.Server | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    @classmethod
    def make(cls, node_id: str = "aq-rogue", *, federation: str, country: str = "AQ") -> Hostile:
        """A member with fresh keys and a log holding entry 0 (root-signed `key.added`)."""
        member = cls(node_id, federation, KeyPair.generate(), KeyPair.generate(), _free_port())
        member.country = country
        body = {"key": b64(member.signing.public), "key_id": member.signing.key_id}
        member.append("key.added", {**body, "purpose": "signing"}, ("*",), key=member.root)
        return member

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def origin_line(self) -> str:
        return origin_line(self.federation, self.node_id)

    def card(self, *, version: int = 1) -> bytes:
        body = card_body(
            federation=self.federation,
            node_id=self.node_id,
            country=self.country,
            name=f"Hostile authority {self.node_id}",
            url=self.url,
            root_key=self.root.public,
            signing_keys=[self.signing.public],
            regimes=list(self.regimes),
            card_version=version,
            issued_at=format_time(datetime.now(UTC)),
        )
        return make_card(body, self.root)

    def write_card(self, path: Path) -> Path:
        path.write_bytes(self.card())
        return path

    # --- its own log -------------------------------------------------------------------------

    def append(
        self,
        entry_type: str,
        body: dict[str, Any],
        audience: tuple[str, ...],
        *,
        key: KeyPair | None = None,
    ) -> SealedEntry:
        """Seal the next entry of this member's log (signing key unless `key` is given)."""
        entry = seal(
            federation=self.federation,
            origin=self.node_id,
            seq=len(self.entries),
            draft=Draft(
                entry_type,
                canonical_bytes(body),
                audience,
                datetime.now(UTC),
                self._subject(entry_type, body),
            ),
            key=key or self.signing,
        )
        self.entries.append(entry)
        return entry

    def _subject(self, entry_type: str, body: dict[str, Any]) -> bytes | None:
        """What an amendment or revocation names (decision 0032): the leaf hash of its
        notice's publication in this log, or a hash no entry has when there is none."""
        if entry_type not in SUBJECT_TYPES:
            return None
        for entry in self.entries:
            if entry.type == "notice.published" and entry.body is not None:
                if orjson.loads(entry.body).get("notice_id") == body.get("notice_id"):
                    return entry.leaf_hash
        return bytes(32)

    def append_header(self, header: dict[str, Any], body: bytes) -> SealedEntry:
        """Sign `header` as it is (whatever it says or lacks) as the next entry, with `body`
        as its content: what no honest origin would write."""
        salt = os.urandom(SALT_BYTES)
        header = {**header}
        header.setdefault("content_hash", content_hash(salt, body))
        envelope = sign_envelope(ENTRY_TYPE, canonical_bytes(header), self.signing)
        entry = SealedEntry(
            origin=self.node_id,
            seq=len(self.entries),
            type=str(header.get("type", "")),
            issued_at=datetime.now(UTC),
            audience=tuple(header.get("audience") or ()),
            key_id=self.signing.key_id,
            envelope=envelope,
            leaf_hash=merkle.leaf(envelope),
            salt=salt,
            body=body,
        )
        self.entries.append(entry)
        return entry

    def header(self, **fields: Any) -> dict[str, Any]:
        """A well-formed header for the next entry, with `fields` replacing (None: dropping)."""
        header: dict[str, Any] = {
            "v": 1,
            "federation": self.federation,
            "origin": self.node_id,
            "seq": len(self.entries),
            "type": "notice.published",
            "issued_at": format_time(datetime.now(UTC)),
            "audience": [self.node_id],
        }
        header.update(fields)
        return {k: v for k, v in header.items() if v is not None}

    def publish(
        self, notice: dict[str, Any], *, audience: tuple[str, ...], notice_id: str | None = None
    ) -> str:
        """A `notice.published` in this member's log; returns its notice id (any it likes)."""
        notice_id = notice_id or str(uuid.uuid4())
        body = {
            "notice_id": notice_id,
            "version": 1,
            "valid_until": "2029-11-20",
            "supersedes": None,
            **notice,
        }
        body["notice_id"] = notice_id
        self.append("notice.published", body, tuple(sorted({*audience, self.node_id})))
        return notice_id

    def checkpoint(self, size: int | None = None) -> str:
        """This member's signed checkpoint of its log (at `size`, default: all of it)."""
        size = len(self.entries) if size is None else size
        root = merkle.root_of([e.leaf_hash for e in self.entries[:size]])
        return sign_checkpoint(Checkpoint(self.origin_line, size, root), self.signing)

    # --- signing as this member ----------------------------------------------------------------

    def auth(self) -> PeerAuth:
        return PeerAuth(self.signing)

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(auth=self.auth(), timeout=30.0, **kwargs)

    # --- its server --------------------------------------------------------------------------

    def answer(self, path: str, fn: Answer) -> None:
        """Answer requests whose path matches the regular expression `path` with `fn`."""
        self.answers[path] = fn

    def requests_to(self, path: str) -> list[Received]:
        return [r for r in self.received if re.fullmatch(path, r.path)]

    def wait_for_request(self, path: str, timeout: float = 30.0) -> Received:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.requests_to(path)
            if found:
                return found[-1]
            time.sleep(0.05)
        raise AssertionError(f"no request to {path} within {timeout} s")

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        self.received.append(
            Received(
                request.method,
                request.url.path,
                request.url.query,
                [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw],
                body,
            )
        )
        for pattern, fn in list(self.answers.items()):
            if re.fullmatch(pattern, request.url.path):
                return fn(request)
        return self._honest(request)

    def _honest(self, request: Request) -> Response:
        path = request.url.path
        prefix = f"/federation/v1/logs/{self.node_id}"
        if path == "/federation/v1/logs":
            return self.logs_answer()
        if path == f"{prefix}/checkpoint":
            return PlainTextResponse(self.checkpoint(), media_type="text/plain; charset=utf-8")
        if path == f"{prefix}/entries":
            start = int(request.query_params.get("start", "0"))
            limit = int(request.query_params.get("limit", "1000"))
            return self.page_answer(start, limit)
        if path == "/federation/v1/hint" and request.method == "POST":
            return JSONResponse({"peer": self.node_id}, status_code=202)
        return JSONResponse({"title": "not found"}, status_code=404)

    def logs_answer(self, extra: list[dict[str, Any]] | None = None) -> Response:
        """`GET /logs`: its own log, plus any `extra` heads (claims about other logs)."""
        own = {
            "origin": self.node_id,
            "size": len(self.entries),
            "root": b64(merkle.root_of([e.leaf_hash for e in self.entries])),
            "checkpoint": self.checkpoint(),
        }
        return Response(orjson.dumps([own, *(extra or [])]), media_type="application/json")

    def page_answer(self, start: int, limit: int) -> Response:
        page = [
            {
                "seq": e.seq,
                "leaf_hash": b64(e.leaf_hash),
                "envelope": e.envelope.decode(),
                "content": None
                if e.salt is None or e.body is None or e.seq in self.withheld
                else {"salt": b64(e.salt), "body": b64(e.body)},
            }
            for e in self.entries[start : start + limit]
        ]
        doc = {"entries": page, "next": start + len(page)}
        return Response(orjson.dumps(doc), media_type="application/json")

    def __enter__(self) -> Hostile:
        app = Starlette(
            routes=[Route("/{path:path}", self._handle, methods=["GET", "POST", "PUT", "DELETE"])]
        )
        config = uvicorn.Config(app, host=HOST, port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the hostile server on {self.url} did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
